"""Each ReLU6 mask of the dream's gradient runs just before the Mul it feeds, not all of them
right after the forward pass, and the gradient stays the same."""
import json

import numpy as np
import pytest
import torch

from liveart.models import blocked_masks, gradient_graph, load_backbone
from liveart.models.mask_schedule import masks_wait_for_gradients


@pytest.fixture(scope="module")
def lite0():
    return load_backbone("efficientnet_lite0", torch.device("cpu"))


def optimized_graph(lite0, tmp_path, layer="blocks.10"):
    import onnx
    import onnxruntime as ort

    options = gradient_graph._options(1)
    options.optimized_model_filepath = str(tmp_path / "planned.onnx")
    ort.InferenceSession(gradient_graph.build_graph(lite0, layer).SerializeToString(), options,
                         providers=["CPUExecutionProvider"])
    model = onnx.load(options.optimized_model_filepath)
    assert blocked_masks.keep_masks_blocked(model.graph)
    for i, node in enumerate(model.graph.node):  # names, to find each in the profile
        node.name = node.name or f"{node.op_type}_{i}"
    return model


def execution_order(model, tmp_path, size=(73, 131)):
    """(the node names in the order ONNX Runtime ran them, its gradient) on a random image."""
    import onnxruntime as ort

    options = gradient_graph._options(1)
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    options.enable_profiling = True
    options.profile_file_prefix = str(tmp_path / "order")
    session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    feed = {"image": np.random.default_rng(3).random((1, 3, *size), dtype=np.float32),
            "weights": np.full((1, 112, 1, 1), 1 / 112, np.float32)}
    (grad,) = session.run(["grad"], feed)
    with open(session.end_profiling()) as f:
        events = json.load(f)
    names = [e["name"][: -len("_kernel_time")] for e in events
             if e.get("cat") == "Node" and e["name"].endswith("_kernel_time")]
    return names, grad


def test_every_mask_waits_for_the_gradient_it_multiplies(lite0, tmp_path):
    import onnx

    model = optimized_graph(lite0, tmp_path)
    planned = onnx.ModelProto()
    planned.CopyFrom(model)
    # the stem, block 0 (no expansion), and 2 in each of blocks 1-10
    assert masks_wait_for_gradients(model.graph) == 22
    for i, node in enumerate(model.graph.node):
        node.name = node.name or f"added_{i}"
    order, grad = execution_order(model, tmp_path)
    _, planned_grad = execution_order(planned, tmp_path)
    assert np.array_equal(grad, planned_grad)

    position = {name: i for i, name in enumerate(order)}
    nodes = {n.name: n for n in model.graph.node}
    made_by = {out: n for n in model.graph.node for out in n.output}
    users = {}
    for n in model.graph.node:
        for name in n.input:
            users.setdefault(name, []).append(n)
    masks = [n for n in model.graph.node if n.op_type == "Cast" and made_by[n.input[0]].op_type == "And"]
    assert len(masks) == 22
    for cast in masks:
        (mul,) = users[cast.output[0]]
        gradient = next(i for i in mul.input if i != cast.output[0])
        compare = [made_by[i] for i in made_by[cast.input[0]].input]
        for c in compare:  # after the gradient is made, and the Mul is the next but a few
            assert position[c.name] > position[made_by[gradient].name], c.name
            assert position[mul.name] - position[c.name] <= 5, (c.name, mul.name)
    assert set(nodes) >= set(order)


def test_a_graph_without_masks_is_left_alone():
    from onnx import TensorProto, helper

    node = helper.make_node("Mul", ["x", "x"], ["y"])
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])])
    assert masks_wait_for_gradients(graph) == 0
    assert [n.op_type for n in graph.node] == ["Mul"]
