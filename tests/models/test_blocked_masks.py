"""The ReLU6 masks kept in ONNX Runtime's blocked layout: fewer conversions, the same gradient."""
import collections

import numpy as np
import pytest
import torch

from liveart.models import blocked_masks, gradient_graph, load_backbone
from liveart.models.gradient_graph import OnnxDreamGradient


@pytest.fixture(scope="module")
def lite0():
    return load_backbone("efficientnet_lite0", torch.device("cpu"))


def planned_session(lite0, layer, monkeypatch):
    """The same graph as ONNX Runtime plans it, without the rewrite."""
    with monkeypatch.context() as m:
        m.setattr(blocked_masks, "keep_masks_blocked", lambda graph: 0)
        graph = OnnxDreamGradient(lite0, layer)
    assert not graph.blocked_masks
    return graph


@pytest.mark.parametrize("layer", ["blocks.1", "blocks.10", "head"])
def test_the_rewritten_masks_give_the_planned_gradient_at_even_and_odd_sizes(lite0, layer, monkeypatch):
    ours, planned = OnnxDreamGradient(lite0, layer), planned_session(lite0, layer, monkeypatch)
    assert ours.blocked_masks  # the rewrite applies to this ONNX Runtime on this CPU
    rng = torch.Generator().manual_seed(1)
    for h, w in ((52, 93), (73, 131), (51, 91), (33, 47)):
        x = torch.rand(1, 3, h, w, generator=rng)
        (g1, a1, l1), (g2, a2, l2) = ours(x), planned(x)
        assert float((g1 - g2).abs().max()) <= 1e-5 * float(g2.abs().max()), (layer, h, w)
        assert torch.equal(a1, a2) and float(l1) == pytest.approx(float(l2), rel=1e-6)


def test_the_rewrite_removes_the_conversions_around_the_masks(lite0, tmp_path):
    import onnx
    import onnxruntime as ort

    options = gradient_graph._options(1)
    options.optimized_model_filepath = str(tmp_path / "planned.onnx")
    ort.InferenceSession(gradient_graph.build_graph(lite0, "blocks.10").SerializeToString(), options,
                         providers=["CPUExecutionProvider"])
    graph = onnx.load(options.optimized_model_filepath).graph
    before = collections.Counter(n.op_type for n in graph.node)
    assert blocked_masks.keep_masks_blocked(graph) > 50  # the masks and the gradient's sums
    after = collections.Counter(n.op_type for n in graph.node)
    assert after["ReorderOutput"] < before["ReorderOutput"] / 2
    assert after["ReorderInput"] < before["ReorderInput"] / 2
    assert after["Conv"] == before["Conv"] and after["Less"] == before["Less"]
    # the stride-2 adjoints stack their phases along the batch axis in the blocked layout too
    made_by = {out: n for n in graph.node for out in n.output}
    stacks = [n for n in graph.node if n.op_type == "Concat" and blocked_masks._attr(n, "axis") == 0
              and any(made_by[i].op_type == "Conv" for i in n.input if i in made_by)]
    assert len(stacks) == 3  # blocks 1, 3 and 5
    assert all(made_by[i].domain == blocked_masks.NCHWC for n in stacks for i in n.input)


def test_a_rewrite_that_changes_the_gradient_is_refused(lite0, monkeypatch):
    """If the rewrite ever gave other numbers (another ONNX Runtime, another CPU), the graph
    runs as ONNX Runtime planned it, with the right gradient."""
    real = blocked_masks.keep_masks_blocked

    def wrong(graph):  # the rewrite, then one mask's bounds swapped
        count = real(graph)
        node = next(n for n in graph.node if n.op_type == "Less")
        node.op_type = "Greater"
        return count

    monkeypatch.setattr(blocked_masks, "keep_masks_blocked", wrong)
    graph = OnnxDreamGradient(lite0, "blocks.10")
    monkeypatch.undo()
    assert not graph.blocked_masks
    x = torch.rand(1, 3, 52, 93, generator=torch.Generator().manual_seed(2))
    expected = OnnxDreamGradient(lite0, "blocks.10")(x)[0]
    assert np.allclose(graph(x)[0].numpy(), expected.numpy(), rtol=0, atol=1e-5 * float(expected.abs().max()))


def test_a_graph_without_blocked_tensors_is_left_alone():
    from onnx import TensorProto, helper

    node = helper.make_node("Mul", ["x", "x"], ["y"])
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])])
    assert blocked_masks.keep_masks_blocked(graph) == 0
    assert [n.op_type for n in graph.node] == ["Mul"]
