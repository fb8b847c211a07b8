"""The dream's gradient as one ONNX Runtime graph: the numbers torch's autograd gives."""
import copy
import logging

import pytest
import torch

from liveart.models import gradient_graph, load_backbone
from liveart.models.gradient_graph import GradientGraphs, OnnxDreamGradient, supported


@pytest.fixture(scope="module")
def lite0():
    return load_backbone("efficientnet_lite0", torch.device("cpu"))


@pytest.fixture(scope="module")
def lite0_f64(lite0):
    return copy.deepcopy(lite0).double()


def autograd(model, x, layer, channel=None):
    x = x.detach().clone().requires_grad_(True)
    act = model.forward_taps(x, {layer})[layer]
    loss = (act[:, channel] if channel is not None else act).pow(2).mean()
    (grad,) = torch.autograd.grad(loss, x)
    return grad, act.detach(), loss.detach()


def relative_error(grad, exact):
    return float((grad.double() - exact).norm() / exact.norm())


def check_against_float64(model, model_f64, x, layer, channel=None):
    """The graph's fp32 gradient is as close to the float64 one as torch's own fp32 is. Both
    may differ from float64 where a ReLU6 input sits within rounding of 0 or 6 (its mask flips):
    then by up to ~1e-2; elsewhere by ~1e-6."""
    exact, act64, loss64 = autograd(model_f64, x.double(), layer, channel)
    ours, act, loss = OnnxDreamGradient(model, layer)(x, channel)
    theirs = autograd(model, x.contiguous(memory_format=torch.channels_last), layer, channel)[0]
    assert ours.shape == x.shape and ours.dtype == torch.float32
    err, torch_err = relative_error(ours, exact), relative_error(theirs, exact)
    assert err < max(3 * torch_err, 1e-4) or err < 2e-2, (layer, tuple(x.shape), err, torch_err)
    assert float(torch.nn.functional.cosine_similarity(ours.double().flatten(), exact.flatten(), dim=0)) > 0.9999
    assert act.shape == act64.shape and float((act.double() - act64).abs().max()) < 1e-3
    assert abs(float(loss) - float(loss64)) < 1e-4 * max(1.0, abs(float(loss64)))
    return err


@pytest.mark.parametrize("layer", ["blocks.0", "blocks.1", "blocks.3", "blocks.5", "blocks.10",
                                   "blocks.15", "head"])
def test_every_layer_gives_autograds_gradient(lite0, lite0_f64, cat, to_x, layer):
    check_against_float64(lite0, lite0_f64, to_x(cat, (93, 52)), layer)


@pytest.mark.parametrize("size", [(256, 144), (257, 145), (131, 73), (93, 52), (47, 33)])
def test_odd_and_even_sizes_crop_the_same_padding(lite0, lite0_f64, cat, to_x, size):
    # the stride-2 layers' adjoint crops by a pad that depends on each input's parity; a crop
    # one pixel off would shift the gradient, far below the cosine of 0.9999 checked
    for dy, dx in ((0, 0), (7, 11)):
        check_against_float64(lite0, lite0_f64, to_x(cat[dy:, dx:], size), "blocks.10")


def test_the_channel_guide_weighs_one_channel(lite0, lite0_f64, cat, to_x):
    x = to_x(cat, (93, 52))
    check_against_float64(lite0, lite0_f64, x, "blocks.6", channel=5)
    graph = OnnxDreamGradient(lite0, "blocks.6")
    # a channel past the layer's count wraps, as the torch path's guide does
    assert torch.equal(graph(x, 5)[0], graph(x, 5 + graph.channels)[0])


def test_only_the_folded_lite0_is_covered(lite0):
    from liveart.bench_reference import plain_lite0

    assert supported(lite0)
    assert not supported(plain_lite0())  # BatchNorms still in it

    class Other(type(lite0)):
        pass

    assert not supported(Other())


def test_graphs_build_in_the_background_and_the_switch_turns_them_off(lite0, monkeypatch):
    graphs = GradientGraphs()
    first = graphs.get(lite0, "blocks.4")  # not built yet: the caller uses torch meanwhile
    built = graphs.get(lite0, "blocks.4", wait=True)
    assert isinstance(built, OnnxDreamGradient) and built.layer == "blocks.4"
    assert first is None or first is built
    assert graphs.get(lite0, "blocks.4") is built  # built once
    monkeypatch.setenv(gradient_graph.ENV, "torch")
    assert GradientGraphs().get(lite0, "blocks.4", wait=True) is None


def test_a_graph_that_can_not_be_built_leaves_the_dream_on_torch(lite0, monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise RuntimeError("no such provider")

    monkeypatch.setattr(gradient_graph, "OnnxDreamGradient", broken)
    graphs = GradientGraphs()
    with caplog.at_level(logging.WARNING):
        assert graphs.get(lite0, "blocks.10", wait=True) is None
        assert graphs.get(lite0, "blocks.10", wait=True) is None  # said once, not retried
    assert [r.getMessage() for r in caplog.records].count(caplog.records[0].getMessage()) == 1
    assert "no such provider" in caplog.text and "torch's autograd" in caplog.text


def test_the_classifier_gives_the_networks_logits(lite0, cat, to_x):
    from liveart.models.gradient_graph import OnnxClassifier

    classifier = OnnxClassifier(lite0)
    for size in ((224, 224), (256, 144), (131, 73)):
        x = to_x(cat, size)
        with torch.no_grad():
            theirs = lite0.forward_taps(x, set(), logits=True)["logits"]
        ours = classifier(x)
        assert ours.shape == (1, 1000) and float((ours - theirs).abs().max()) < 1e-3
        assert int(ours.argmax()) == int(theirs.argmax())


def test_only_the_most_recently_used_graphs_are_kept(lite0):
    graphs = GradientGraphs()
    layers = [f"blocks.{i}" for i in range(GradientGraphs.KEEP + 2)]
    for layer in layers:
        assert graphs.get(lite0, layer, wait=True) is not None
        graphs.get(lite0, layers[0], wait=True)  # used every time: stays
    kept = [layer for (_, layer) in graphs._ready]
    assert len(kept) == GradientGraphs.KEEP and layers[0] in kept and layers[1] not in kept
    assert graphs.get(lite0, layers[1], wait=True).layer == layers[1]  # built again when asked


@pytest.mark.parametrize("phase_major", [True, False])
def test_the_interleave_puts_each_phase_at_its_pixels(phase_major):
    """The stride-2 adjoints' four phases, interleaved by a one-hot ConvTranspose, land where
    DepthToSpace would put them, exactly."""
    import numpy as np
    import onnxruntime as ort

    channels, h, w = 5, 3, 4
    g = gradient_graph._Graph()
    gradient_graph._interleave(g, "x", channels, phase_major)
    g.nodes[-1].output[0] = "y"
    model = gradient_graph._model(g, "interleave", [gradient_graph._io("x", [1, 4 * channels, h, w])],
                                  [gradient_graph._io("y", None)])
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    x = np.random.default_rng(0).standard_normal((1, 4 * channels, h, w)).astype(np.float32)
    (y,) = session.run(None, {"x": x})
    # phase p = 2 ry + rx of channel c: at index p * C + c (phase-major) or c * 4 + p
    phases = x.reshape(4, channels, h, w) if phase_major else x.reshape(channels, 4, h, w).transpose(1, 0, 2, 3)
    expected = np.zeros((1, channels, 2 * h, 2 * w), np.float32)
    for ry in (0, 1):
        for rx in (0, 1):
            expected[0, :, ry::2, rx::2] = phases[2 * ry + rx]
    assert np.array_equal(y, expected)
