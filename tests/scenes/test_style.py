"""The style scene on a real photo: faders, strength, colour keeping, stroke scale, smoothing, sheet."""
from __future__ import annotations

import re

import cv2
import numpy as np
import pytest
import torch

from liveart import params
from liveart.errors import UserError
from liveart.frames import compose
from liveart.params import ParamStore
from liveart.scenes.style import WEIGHT_PARAMS, StyleScene, keep_color, net_size
from liveart.styles import (DEFAULT_STYLE, NUM_STYLES, STYLE_NAMES, cmd_styles, sheet_shape,
                            style_index)

SIZE = (192, 128)  # (w, h): small, so the scene runs in a few ms


@pytest.fixture(scope="module")
def scene(cpu) -> StyleScene:
    return StyleScene(cpu)


@pytest.fixture
def x(cat, to_x) -> torch.Tensor:
    return to_x(cat, SIZE)


def run(scene: StyleScene, frame: torch.Tensor, **values) -> torch.Tensor:
    """One tick with the given parameters (names with _ for ., weights as {index: value})."""
    weights = values.pop("weights", None)
    overrides = {"style.smooth": 0.0}
    if weights is not None:
        overrides.update({n: 0.0 for n in WEIGHT_PARAMS})
        overrides.update({f"style.w{i}": v for i, v in weights.items()})
    overrides.update({"style." + k: v for k, v in values.items()})
    scene.reset()
    return scene.process(frame, ParamStore(overrides).snapshot())


def mad(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).abs().mean())


def chroma(rgb: torch.Tensor) -> torch.Tensor:
    """Cb and Cr (BT.601, 0..1 scale around 0) of a 1x3xhxw RGB tensor."""
    r, g, b = rgb[:, 0], rgb[:, 1], rgb[:, 2]
    y = 0.299 * r + 0.587 * g + 0.114 * b
    return torch.stack([(b - y) * 0.564, (r - y) * 0.713], 1)


def test_params_declared():
    for i, name in enumerate(STYLE_NAMES):
        p = params.get(f"style.w{i}")
        assert name in p.description and p.smoothing > 0 and (p.min, p.max) == (0.0, 1.0)
        assert p.default == (1.0 if i == DEFAULT_STYLE else 0.0)
    for name in ("style.strength", "style.preserve_color", "style.scale", "style.smooth"):
        params.get(name)
    assert params.get("style.scale").min == 0.25 and params.get("style.scale").max == 2.0


def test_default_stylises(scene, x):
    y = scene.process(x, ParamStore({"style.smooth": 0.0}).snapshot())
    assert y.shape == x.shape and y.dtype == torch.float32
    assert 0.0 <= float(y.min()) and float(y.max()) <= 1.0
    assert mad(y, x) > 0.05
    # the engine's upscale step works on the result outside inference mode
    image = (x[0].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
    assert compose(image, x, y).shape == image.shape


def test_half_precision_path(cpu, x):
    """What runs on CUDA (fp16 network, float32 in and out), checked on the CPU."""
    half = StyleScene(cpu, half=True)
    assert half.dtype == half.net.w0.dtype == torch.float16
    snap = ParamStore({"style.smooth": 0.0}).snapshot()
    y16 = half.process(x, snap)
    y32 = StyleScene(cpu, dtype=torch.float32).process(x, snap)
    assert y16.dtype == torch.float32 and mad(y16, y32) < 0.002


def test_precision_choice(cpu, x, monkeypatch):
    from liveart.models import multistyle

    monkeypatch.setattr(multistyle, "native_bf16", lambda: True)
    assert multistyle.default_dtype(cpu) == torch.bfloat16
    assert multistyle.default_dtype(cpu, half=True) == torch.float16
    assert multistyle.default_dtype(torch.device("cuda")) == torch.float32
    monkeypatch.setenv("LIVEART_STYLE_FP32", "1")
    assert multistyle.default_dtype(cpu) == torch.float32
    monkeypatch.setattr(multistyle, "native_bf16", lambda: False)
    monkeypatch.delenv("LIVEART_STYLE_FP32")
    assert multistyle.default_dtype(cpu) == torch.float32
    # bf16 (where the CPU has it natively, ~2x faster) stays within an 8-bit level of fp32
    snap = ParamStore({"style.smooth": 0.0}).snapshot()
    y16 = StyleScene(cpu, dtype=torch.bfloat16).process(x, snap)
    y32 = StyleScene(cpu, dtype=torch.float32).process(x, snap)
    assert y16.dtype == torch.float32 and mad(y16, y32) < 0.005


def test_strength_zero_and_all_zero_weights_pass_the_frame(scene, x):
    assert torch.equal(run(scene, x, strength=0.0), x)
    assert torch.equal(run(scene, x, weights={}), x)
    half = run(scene, x, strength=0.5)
    full = run(scene, x)
    assert torch.allclose(half, torch.lerp(x, full, 0.5), atol=1e-6)


def test_weights_are_normalised(scene, x):
    assert torch.allclose(run(scene, x, weights={7: 0.3}), run(scene, x, weights={7: 1.0}), atol=1e-6)
    assert torch.allclose(run(scene, x, weights={3: 0.2, 19: 0.2}),
                          run(scene, x, weights={3: 1.0, 19: 1.0}), atol=1e-6)


def test_faders_blend_between_styles_monotonically(scene, x):
    a, b = 3, 19
    pure_a, pure_b = run(scene, x, weights={a: 1.0}), run(scene, x, weights={b: 1.0})
    gap = mad(pure_a, pure_b)
    assert gap > 0.05
    mixes = [0.0, 0.25, 0.5, 0.75, 1.0]
    outs = [run(scene, x, weights={a: 1.0 - m, b: m}) for m in mixes]
    to_a = [mad(o, pure_a) for o in outs]
    to_b = [mad(o, pure_b) for o in outs]
    assert to_a[0] < 1e-6 and to_b[-1] < 1e-6
    assert all(p < q for p, q in zip(to_a, to_a[1:])), to_a  # moves away from a ...
    assert all(p > q for p, q in zip(to_b, to_b[1:])), to_b  # ... toward b
    for o, da, db in zip(outs[1:-1], to_a[1:-1], to_b[1:-1]):  # in between, not elsewhere
        assert da < gap and db < gap


def test_fader_moves_glide(scene, x):
    """A fader jump is smoothed by the parameter store: a tick 50 ms later is part-way."""
    store = ParamStore({"style.smooth": 0.0})
    store.snapshot(now=0.0)
    store.update({"style.w19": 0.0, "style.w3": 1.0})
    snap = store.snapshot(now=0.05)
    assert 0.0 < snap["style.w3"] < 1.0 and 0.0 < snap["style.w19"] < 1.0
    mid = scene.process(x, snap)
    pure3, pure19 = run(scene, x, weights={3: 1.0}), run(scene, x, weights={19: 1.0})
    assert 0.0 < mad(mid, pure19) < mad(pure3, pure19)


def test_preserve_color_keeps_the_frames_chroma(scene, x):
    styled = run(scene, x, weights={7: 1.0})
    kept = run(scene, x, weights={7: 1.0}, preserve_color=1.0)
    err_styled = mad(chroma(styled), chroma(x))
    err_kept = mad(chroma(kept), chroma(x))
    assert err_kept < 0.1 * err_styled, (err_kept, err_styled)
    # ... and takes the style's brightness
    luma = torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)
    y = lambda t: (t * luma).sum(1)  # noqa: E731
    assert mad(y(kept), y(styled)) < 0.2 * mad(y(x), y(styled))
    halfway = run(scene, x, weights={7: 1.0}, preserve_color=0.5)
    assert err_kept < mad(chroma(halfway), chroma(x)) < err_styled


def test_keep_color_is_the_ycbcr_swap():
    """frame + (Y(styled) - Y(frame)) equals taking the styled Y with the frame's Cb/Cr."""
    from skimage.color import rgb2ycbcr, ycbcr2rgb

    rng = np.random.default_rng(0)
    frame = torch.from_numpy(rng.uniform(0.2, 0.8, (1, 3, 8, 8)).astype(np.float32))
    styled = torch.from_numpy(rng.uniform(0.3, 0.7, (1, 3, 8, 8)).astype(np.float32))
    luma = torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)
    got = keep_color(styled, frame, 1.0, luma)[0].permute(1, 2, 0).numpy()
    f, s = (t[0].permute(1, 2, 0).numpy().astype(np.float64) for t in (frame, styled))
    ycc = rgb2ycbcr(f)
    ycc[..., 0] = rgb2ycbcr(s)[..., 0]
    want = np.clip(ycbcr2rgb(ycc), 0, 1)
    assert np.abs(got - want).max() < 2e-3


def _spectral_centroid(t: torch.Tensor) -> float:
    """Mean spatial frequency (cycles per pixel) of the brightness: smaller for bigger strokes."""
    g = (t[0] * torch.tensor([0.299, 0.587, 0.114]).view(3, 1, 1)).sum(0).double().numpy()
    power = np.abs(np.fft.fft2(g - g.mean())) ** 2
    fy, fx = np.fft.fftfreq(g.shape[0])[:, None], np.fft.fftfreq(g.shape[1])[None, :]
    return float((power * np.sqrt(fy ** 2 + fx ** 2)).sum() / power.sum())


def test_scale_sets_stroke_size(scene, x):
    assert net_size(144, 256, 1.0) == (144, 256)
    assert net_size(144, 256, 2.0) == (72, 128)
    assert net_size(144, 256, 0.5) == (288, 512)
    # fauve-ribbons: its ribbons are the clearest strokes of the 26
    fine, normal, coarse = (run(scene, x, weights={3: 1.0}, scale=s) for s in (0.5, 1.0, 2.0))
    assert fine.shape == normal.shape == coarse.shape == x.shape
    f = [_spectral_centroid(t) for t in (fine, normal, coarse)]
    assert f[0] > 1.2 * f[1] > 1.44 * f[2], f  # bigger strokes: lower frequencies


def test_smoothing_calls_the_temporal_smoother(scene, x, monkeypatch):
    calls = []

    begun = []

    class Fake:
        def begin(self, frame):  # the flow starts before the network runs
            begun.append((frame, len(calls)))

        def __call__(self, frame, fresh, amount):
            calls.append((frame, fresh.clone(), amount))
            return fresh * 0.5

        def reset(self):
            pass

    monkeypatch.setattr(scene, "_smoother", Fake())
    snap = ParamStore({"style.smooth": 0.7}).snapshot()
    out = scene.process(x, snap)
    assert len(calls) == 1
    frame, fresh, amount = calls[0]
    assert frame is x and amount == pytest.approx(0.7) and fresh.shape == x.shape
    assert begun == [(x, 0)]
    assert torch.allclose(out, fresh * 0.5)
    scene.process(x, ParamStore({"style.smooth": 0.0}).snapshot())
    assert len(calls) == 1  # smooth 0: not called


def test_smoothing_with_the_real_smoother(cpu, cat, to_x):
    pytest.importorskip("liveart.temporal")
    scene = StyleScene(cpu)
    store = ParamStore({"style.smooth": 1.0})
    a = to_x(cat, SIZE)
    b = to_x(np.ascontiguousarray(np.roll(cat, 3, axis=1)), SIZE)  # the camera pans a little
    scene.process(a, store.snapshot())
    out = scene.process(b, store.snapshot())
    fresh = run(StyleScene(cpu), b)
    assert out.shape == b.shape and mad(out, fresh) > 1e-4  # the previous output carried over


def test_style_names_and_index():
    assert len(STYLE_NAMES) == NUM_STYLES == 26 and len(set(STYLE_NAMES)) == 26
    assert all(re.fullmatch(r"[a-z]+(-[a-z]+)*", n) for n in STYLE_NAMES)
    assert style_index(19) == style_index("19") == style_index("starry-swirls") == 19
    assert style_index("Starry") == 19  # a unique prefix, any case
    for bad in ("nope", 26, "-1"):
        with pytest.raises(UserError, match="starry-swirls"):
            style_index(bad)


def test_styles_list(capsys):
    import argparse

    assert cmd_styles(argparse.Namespace(styles_command="list")) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 26 and lines[19].split() == ["19", "starry-swirls"]


def test_styles_sheet_command(tmp_path, capsys):
    import argparse

    from liveart.styles import add_styles_parser

    parser = argparse.ArgumentParser()
    add_styles_parser(parser.add_subparsers(dest="command"))
    out = tmp_path / "sheet.png"
    args = parser.parse_args(["styles", "sheet", str(out), "--size", "64x36", "--device", "cpu"])
    assert cmd_styles(args) == 0
    img = cv2.imread(str(out))
    assert img is not None and img.shape[:2] == sheet_shape(64, 36)
    # 4 rows of 7 tiles: the input and 26 styles
    assert sheet_shape(64, 36) == (6 + 4 * (20 + 36 + 6), 6 + 7 * (64 + 6))
    # an input picture of its own
    photo = tmp_path / "in.png"
    cv2.imwrite(str(photo), np.full((50, 80, 3), 120, np.uint8))
    args = parser.parse_args(["styles", "sheet", str(tmp_path / "b.jpg"), "--input", str(photo),
                              "--device", "cpu"])
    assert cmd_styles(args) == 0
    assert cv2.imread(str(tmp_path / "b.jpg")).shape[:2] == sheet_shape(80, 50)
    with pytest.raises(UserError, match="does not exist"):
        cmd_styles(parser.parse_args(["styles", "sheet", str(tmp_path / "c.png"),
                                      "--input", str(tmp_path / "missing.png")]))
    with pytest.raises(UserError, match="does not exist"):
        cmd_styles(parser.parse_args(["styles", "sheet", str(tmp_path / "no" / "c.png"),
                                      "--size", "32x32", "--device", "cpu"]))
