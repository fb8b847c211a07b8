"""Temporal smoothing of frame-by-frame stylisation, measured on a real moving picture.

The sequence is a slow pan + zoom over skimage's cat photo (12 frames at 256x144, with a little
camera noise), so the TRUE motion between frames is known exactly. The stand-in "style network"
is a fixed stylising op (strong unsharp mask + posterise + a colour twist) plus a texture that is
re-drawn every frame (band-pass noise and random-phase strokes, both following the picture's
edges): the shimmer of frame-by-frame style transfer, which no motion explains. The same
measure is also taken on the real 26-style network (three styles), whose shimmer comes from
the camera's noise and the motion.

Metric: mean |out_t - W(out_{t-1})| over the inner region, with W the true motion of the synthetic
camera (not the optical flow: the flow is what is being tested, so it must not grade itself).
"""
from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from liveart.temporal import TemporalSmoother

W, H = 256, 144
N = 12
BORDER = 16  # the metric ignores this many pixels at each edge (content coming into view)
DEFAULT = 0.5  # the planned default of style.smooth


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """The tensors here are tiny: one thread is faster, and immune to the 10-100x slow-downs
    two OpenMP threads suffer when the machine's two cores are busy with other work."""
    saved = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(saved)


# -- the moving sequence ----------------------------------------------------------------------
def _pose(t: int) -> tuple[float, float, float]:
    """Scale (photo px per frame px) and centre in the photo of frame t: a slow pan + zoom in."""
    return 1.25 - 0.01 * t, 190.0 + 4.5 * t, 150.0 - 1.0 * t


def _to_photo(t: int) -> np.ndarray:
    """2x3 affine: frame-t pixel -> photo pixel."""
    s, cx, cy = _pose(t)
    return np.array([[s, 0, cx - s * (W - 1) / 2], [0, s, cy - s * (H - 1) / 2]], np.float64)


def camera(photo: np.ndarray, t: int, noise: float = 1.0) -> np.ndarray:
    """Frame t of the pan/zoom, uint8 HxWx3, with a little sensor noise (std `noise`/255)."""
    soft = cv2.GaussianBlur(photo, (0, 0), 0.6)  # the lens: no aliasing from the 1.25x shrink
    frame = cv2.warpAffine(soft, _to_photo(t), (W, H), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP)
    if noise:
        rng = np.random.default_rng(1000 + t)
        frame = np.clip(frame + rng.normal(0, noise, frame.shape), 0, 255).astype(np.uint8)
    return frame


def true_warp(prev: torch.Tensor, t: int) -> torch.Tensor:
    """Move a 1x3xHxW image aligned with frame t-1 onto frame t along the known camera motion."""
    ys, xs = np.mgrid[0:H, 0:W].astype(np.float64)
    a, b = _to_photo(t), _to_photo(t - 1)
    u = a[0, 0] * xs + a[0, 2]  # frame t -> photo
    v = a[1, 1] * ys + a[1, 2]
    mx = ((u - b[0, 2]) / b[0, 0]).astype(np.float32)  # photo -> frame t-1
    my = ((v - b[1, 2]) / b[1, 1]).astype(np.float32)
    img = np.ascontiguousarray(prev[0].permute(1, 2, 0).numpy())
    out = cv2.remap(img, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return torch.from_numpy(out).permute(2, 0, 1)[None]


# -- the stand-in style network ---------------------------------------------------------------
def _blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    r = int(3 * sigma + 0.5)
    k = torch.exp(-torch.arange(-r, r + 1, dtype=x.dtype) ** 2 / (2 * sigma * sigma))
    k = k / k.sum()
    c = x.shape[1]
    x = F.conv2d(F.pad(x, (r, r, 0, 0), mode="replicate"), k.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)
    return F.conv2d(F.pad(x, (0, 0, r, r), mode="replicate"), k.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)


def stylise(x: torch.Tensor, t: int | None = None, shimmer: float = 0.06) -> torch.Tensor:
    """Deterministic stylising op; with `t`, plus a texture drawn afresh for frame t."""
    x = x.contiguous()
    sharp = (x + 2.0 * (x - _blur(x, 2.0))).clamp(0, 1)  # strong edge enhance
    levels = 5
    poster = torch.round(sharp * levels) / levels  # posterise
    twist = torch.tensor([[0.9, 0.3, -0.1], [-0.1, 0.8, 0.4], [0.3, -0.2, 0.9]], dtype=x.dtype)
    styled = torch.einsum("ij,njhw->nihw", twist, 0.6 * poster + 0.4 * sharp)
    if t is None or shimmer <= 0:
        return styled.clamp(0, 1)
    g = torch.Generator().manual_seed(7919 * t + 1)
    # band-pass noise (1-4 px grains), coloured, re-drawn every frame
    white = torch.randn(1, 3, H, W, generator=g, dtype=x.dtype)
    grain = _blur(white, 0.8) - _blur(white, 3.0)
    grain = grain / grain.std()
    # "brush strokes": oriented gratings with a random phase each frame, stronger on edges
    ys, xs = torch.meshgrid(torch.arange(H, dtype=x.dtype), torch.arange(W, dtype=x.dtype), indexing="ij")
    strokes = torch.zeros(H, W, dtype=x.dtype)
    for angle, period in ((0.3, 7.0), (1.9, 5.0)):
        phase = float(torch.rand(1, generator=g)) * 2 * np.pi
        strokes += torch.sin((xs * np.cos(angle) + ys * np.sin(angle)) * 2 * np.pi / period + phase)
    lum = x.mean(dim=1, keepdim=True)
    edges = (lum - _blur(lum, 1.5)).abs()
    edges = (edges / (edges.mean() * 3)).clamp(0, 1)
    texture = shimmer * (grain + (0.5 + edges) * strokes[None, None] * 0.5)
    return (styled + texture).clamp(0, 1)


# -- the metric -------------------------------------------------------------------------------
INNER = (slice(None), slice(None), slice(BORDER, -BORDER), slice(BORDER, -BORDER))


def run_sequence(photo, to_x, amount: float, net=None, smoother=None):
    """Camera frames, fresh results and smoothed outputs of the whole sequence."""
    smoother = smoother or TemporalSmoother()
    frames, fresh, outs = [], [], []
    for t in range(N):
        x = to_x(camera(photo, t))
        y = net(x) if net is not None else stylise(x, t)
        frames.append(x)
        fresh.append(y)
        outs.append(smoother(x, y, amount))
    return frames, fresh, outs


def flicker(outs) -> float:
    """Mean |out_t - out_{t-1} moved along the true motion| over the inner region."""
    return float(np.mean([(outs[t] - true_warp(outs[t - 1], t))[INNER].abs().mean()
                          for t in range(1, len(outs))]))


def drop(photo, to_x, amount: float, net=None) -> tuple[float, float, float]:
    _, fresh, outs = run_sequence(photo, to_x, amount, net)
    before, after = flicker(fresh), flicker(outs)
    return before, after, 1.0 - after / before


# -- tests ------------------------------------------------------------------------------------
def test_true_motion_explains_the_camera(cat, to_x):
    """The reference warp is right: it lines consecutive camera frames up far better than none."""
    for t in (1, 6, 11):
        a, b = to_x(camera(cat, t - 1, noise=0)), to_x(camera(cat, t, noise=0))
        moved = float((true_warp(a, t) - b)[INNER].abs().mean())
        still = float((a - b)[INNER].abs().mean())
        assert moved < 0.15 * still, (t, moved, still)


def test_stand_in_shimmers_like_frame_by_frame_style_transfer(cat, to_x):
    """The fresh results flicker (texture changes every frame), more than the motion-compensated
    deterministic part does: it is the flicker the smoother has to remove."""
    _, fresh, _ = run_sequence(cat, to_x, 0.0)
    steady = [stylise(to_x(camera(cat, t))) for t in range(N)]
    assert 0.03 < flicker(fresh) < 0.12
    assert flicker(fresh) > 2 * flicker(steady)


def test_smoothing_cuts_motion_compensated_flicker(cat, to_x):
    before, after, gain = drop(cat, to_x, DEFAULT)
    assert gain >= 0.40, f"flicker {before:.4f} -> {after:.4f}: only {gain:.0%} less at {DEFAULT}"
    # and more smoothing, less flicker
    assert drop(cat, to_x, 0.25)[2] < gain < drop(cat, to_x, 0.75)[2]


@pytest.fixture(scope="module")
def real_style():
    """The real 26-style network (fp32, as on a CPU without bf16), one style at a time."""
    from liveart.models.multistyle import load_multistyle

    net = load_multistyle("cpu")

    def one(style: int):
        w = torch.zeros(26)
        w[style] = 1.0
        return lambda x: net(x, w).float()

    return one


@pytest.mark.parametrize("style", [0, 7, 19])
def test_smoothing_cuts_the_real_networks_flicker(cat, to_x, real_style, style):
    """The same measure on the real network's output (its shimmer comes from the camera's
    noise and the motion, not from a stand-in): measured 44-53% less at the default."""
    before, after, gain = drop(cat, to_x, DEFAULT, net=real_style(style))
    assert gain >= 0.40, f"style {style}: flicker {before:.4f} -> {after:.4f}, only {gain:.0%} less"


def test_a_still_frame_of_the_real_network_looks_the_same(cat, to_x, real_style):
    x = to_x(camera(cat, 3, noise=0))
    y = real_style(19)(x)
    smoother = TemporalSmoother()
    for _ in range(6):
        out = smoother(x, y.clone(), DEFAULT)
    assert float((out - y).abs().mean()) < 0.005 and float((out - y).abs().max()) < 0.02


def test_smoothing_keeps_the_picture_aligned(cat, to_x):
    """The smoothed output follows the camera: it stays close to this frame's deterministic
    stylisation (no smearing, no lag behind the pan) -- closer than the shimmering fresh result."""
    frames, fresh, outs = run_sequence(cat, to_x, DEFAULT)
    for t in range(3, N):
        clean = stylise(frames[t])
        error = float((outs[t] - clean)[INNER].abs().mean())  # ~0.033 (fresh: ~0.050)
        assert error < 0.8 * float((fresh[t] - clean)[INNER].abs().mean())
        # a lag of one frame would be ~0.12 off
        assert error < 0.4 * float((stylise(frames[t - 1]) - clean)[INNER].abs().mean())


def test_amount_zero_returns_fresh(cat, to_x):
    _, fresh, outs = run_sequence(cat, to_x, 0.0)
    for y, o in zip(fresh, outs):
        assert torch.equal(y, o)


def test_still_frame_looks_the_same(cat, to_x):
    x = to_x(camera(cat, 3, noise=0))
    y = stylise(x)
    smoother = TemporalSmoother()
    for _ in range(6):
        out = smoother(x, y.clone(), DEFAULT)
        assert float((out - y).abs().mean()) < 0.005
    assert float((out - y).abs().max()) < 0.02


def test_first_frame_and_size_change_return_fresh(cat, to_x):
    smoother = TemporalSmoother()
    x = to_x(camera(cat, 0))
    y = stylise(x, 0)
    assert torch.equal(smoother(x, y, 1.0), y)
    small = to_x(camera(cat, 1), (128, 72))
    ys = torch.rand(1, 3, 72, 128)
    assert torch.equal(smoother(small, ys, 1.0), ys)
    smoother.reset()
    assert torch.equal(smoother(x, y, 1.0), y)


def test_cut_shows_the_fresh_result(cat, to_x):
    """After a hard cut to a different picture, no ghost of the old one remains."""
    import skimage.data

    other = cv2.resize(skimage.data.astronaut(), (W, H), interpolation=cv2.INTER_AREA)
    smoother = TemporalSmoother()
    for t in range(4):
        x = to_x(camera(cat, t))
        smoother(x, stylise(x, t), 0.9)
    x = to_x(other)
    y = stylise(x, 4)
    out = smoother(x, y, 0.9)
    assert smoother.cuts == 1
    assert float((out - y).abs().max()) == 0.0
    # and the next frame of the new scene smooths again
    out = smoother(x, stylise(x, 5), 0.9)
    assert smoother.cuts == 1 and float((out - stylise(x, 5)).abs().mean()) > 0.01


def test_object_appearing_falls_back_to_fresh(cat, to_x):
    """Something that was not there before (a card held into view) shows the fresh result,
    while the rest of the picture is still smoothed."""
    import skimage.data

    card = cv2.resize(skimage.data.coffee(), (70, 60), interpolation=cv2.INTER_AREA)
    core = (slice(None), slice(None), slice(44, 96), slice(124, 186))  # inside, off its edges
    smoother = TemporalSmoother()
    for t in range(4):
        x = to_x(camera(cat, t))
        smoother(x, stylise(x, t), DEFAULT)
    frame = camera(cat, 4)
    frame[40:100, 120:190] = card
    x = to_x(frame)
    y = stylise(x, 4)
    out = smoother(x, y, DEFAULT)
    mask = smoother.last_mask
    # no trust where the card is: the odd pixel whose colour and flow both match the old
    # picture (brown wood grain vs tabby fur) may keep a little
    assert float(mask[core].mean()) < 0.01
    assert float((mask[core] > 0.1).float().mean()) < 0.02
    assert float((out - y)[core].abs().mean()) < 0.002  # the card is the fresh result
    outside = torch.ones_like(mask, dtype=torch.bool)
    outside[:, :, 30:110, 110:200] = False
    outside[:, :, :BORDER] = outside[:, :, -BORDER:] = False
    outside[:, :, :, :BORDER] = outside[:, :, :, -BORDER:] = False
    assert float(mask[outside].mean()) > 0.8  # the cat is still trusted
    cat_part = (slice(None), slice(None), slice(BORDER, -BORDER), slice(BORDER, 100))
    assert float((out - y)[cat_part].abs().mean()) > 0.01  # and smoothed


def test_torch_mask_path_matches_the_opencv_one(cat, to_x):
    """Off the CPU (or in another dtype) the mask is softened with torch pooling instead of
    OpenCV: same result, up to rounding and the outermost 3 pixels."""
    a, b = TemporalSmoother(), TemporalSmoother()
    for t in range(4):
        x = to_x(camera(cat, t))
        y = stylise(x, t)
        out32 = a(x, y, DEFAULT)
        out64 = b(x.double(), y.double(), DEFAULT)
        assert out64.dtype == torch.float64
        assert float((out64 - out32)[:, :, 3:-3, 3:-3].abs().max()) < 1e-3
    assert float((a.last_mask - b.last_mask)[:, :, 3:-3, 3:-3].abs().max()) < 1e-3


def test_begun_flow_runs_in_its_own_thread_and_gives_the_same_picture(cat, to_x, monkeypatch):
    """begin() computes the flow beside the network (the style scene calls it first); the
    blend that picks it up is the one computed in line."""
    import threading

    threads = []
    motion = TemporalSmoother._motion

    def watched(self, gray, prev_gray):
        threads.append(threading.current_thread())
        return motion(self, gray, prev_gray)

    monkeypatch.setattr(TemporalSmoother, "_motion", watched)
    inline, begun = TemporalSmoother(), TemporalSmoother()
    for t in range(5):
        x = to_x(camera(cat, t))
        y = stylise(x, t)
        a = inline(x, y, DEFAULT)
        begun.begin(x)
        b = begun(x, y, DEFAULT)
        assert torch.equal(a, b), f"frame {t}: the begun flow gave another picture"
    ours = threading.current_thread()
    assert len(threads) == 8  # frames 1..4, in line and begun
    assert sum(th is not ours for th in threads) == 4


def test_a_begun_flow_for_another_frame_is_not_used(cat, to_x):
    smoother = TemporalSmoother()
    x0, x1, x2 = (to_x(camera(cat, t)) for t in range(3))
    smoother(x0, stylise(x0, 0), DEFAULT)
    smoother.begin(x1)  # then the caller blends a different frame
    ref = TemporalSmoother()
    ref(x0, stylise(x0, 0), DEFAULT)
    assert torch.equal(smoother(x2, stylise(x2, 2), DEFAULT), ref(x2, stylise(x2, 2), DEFAULT))
