"""The synthetic scene (the no-camera stand-in and benchmark input) and its source thread."""
from __future__ import annotations

import time

import cv2
import numpy as np
import pytest

from liveart.sources.synthetic import SyntheticScene, SyntheticSource


def _mad(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())


def _laplacian_stds(img: np.ndarray, levels: int = 3) -> list[float]:
    """Edge energy at full, half and quarter resolution."""
    g = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY).astype(np.float32)
    out = []
    for _ in range(levels):
        out.append(float(cv2.Laplacian(g, cv2.CV_32F).std()))
        g = cv2.pyrDown(g)
    return out


def _neighbour_corr(img: np.ndarray) -> float:
    g = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY).astype(np.float64)
    return float(np.corrcoef(g[:, :-1].ravel(), g[:, 1:].ravel())[0, 1])


def _colour_bins(img: np.ndarray) -> int:
    q = (img // 32).reshape(-1, 3).astype(np.int32)
    return len(np.unique(q[:, 0] * 64 + q[:, 1] * 8 + q[:, 2]))


def _photo_like(img: np.ndarray) -> list[str]:
    """Why `img` does not look like a natural photo (empty list: it does)."""
    problems = []
    lap = _laplacian_stds(img)
    if min(lap) < 8.0:
        problems.append(f"too little structure at some scale: Laplacian std per octave {lap}")
    if lap[0] > 80.0:
        problems.append(f"harsh pixel noise: Laplacian std {lap[0]:.1f}")
    corr = _neighbour_corr(img)
    if corr < 0.9:
        problems.append(f"neighbouring pixels barely correlate ({corr:.3f}): noise, not a scene")
    bins = _colour_bins(img)
    if bins < 40:
        problems.append(f"only {bins} coarse colours")
    hsv = cv2.cvtColor(img, cv2.COLOR_RGB2HSV)
    if hsv[..., 0].std() < 12.0 or hsv[..., 1].std() < 25.0:
        problems.append("little variety of hue or saturation (flat/grey)")
    return problems


@pytest.fixture(scope="module")
def scene() -> SyntheticScene:
    return SyntheticScene(320, 180, seed=0)


def test_same_seed_size_and_time_give_identical_frames(scene):
    a = scene.frame(1.5)
    b = SyntheticScene(320, 180, seed=0).frame(1.5)
    assert np.array_equal(a, b), "a fresh scene with the same seed must draw the same frame"
    assert np.array_equal(scene.frame(1.5), a), "drawing other frames in between must not matter"
    scene.frame(7.0)
    assert np.array_equal(scene.frame(1.5), a)


def test_different_seeds_give_different_scenes(scene):
    base = scene.frame(0.0)
    for seed in (1, 2, 3):
        other = SyntheticScene(320, 180, seed=seed).frame(0.0)
        assert _mad(base, other) > 12.0, f"seed {seed} looks too much like seed 0"
    # layout differs, not just the colours: edges are in different places
    e0 = cv2.Canny(cv2.cvtColor(base, cv2.COLOR_RGB2GRAY), 80, 160) > 0
    e1 = cv2.Canny(cv2.cvtColor(SyntheticScene(320, 180, seed=1).frame(0.0), cv2.COLOR_RGB2GRAY), 80, 160) > 0
    overlap = (e0 & e1).sum() / max(min(e0.sum(), e1.sum()), 1)
    assert overlap < 0.5, f"edges of seeds 0 and 1 overlap {overlap:.2f}: same layout?"


@pytest.mark.parametrize("size", [(64, 36), (65, 37), (101, 57), (160, 90), (333, 201), (1279, 719)])
def test_frames_are_rgb_uint8_contiguous_of_the_requested_size(size):
    w, h = size
    scn = SyntheticScene(w, h, seed=5)
    for t in (0.0, 3.7, 1234.5):
        f = scn.frame(t)
        assert f.shape == (h, w, 3)
        assert f.dtype == np.uint8
        assert f.flags["C_CONTIGUOUS"]
        assert 20 < f.mean() < 235 and f.std() > 10, "blank or saturated frame"


def test_each_frame_is_a_new_array(scene):
    a = scene.frame(0.0)
    keep = a.copy()
    b = scene.frame(3.0)
    assert not np.shares_memory(a, b)
    assert np.array_equal(a, keep), "drawing the next frame overwrote the one handed out"


def test_scene_moves_gently_over_time(scene):
    f0, f1, f5 = scene.frame(0.0), scene.frame(1.0), scene.frame(5.0)
    d1, d5 = _mad(f0, f1), _mad(f0, f5)
    assert d1 > 1.5, f"frames 1 s apart are nearly identical ({d1:.2f}): the scene is not moving"
    assert d1 < 40.0, f"frames 1 s apart differ by {d1:.1f}: chaos, not gentle motion"
    assert d5 > d1 * 0.8, "motion should accumulate over seconds"
    # consecutive video frames are close: smooth motion, no flicker
    assert _mad(scene.frame(2.0), scene.frame(2.0 + 1 / 30)) < 8.0


def test_sky_on_top_ground_below(scene):
    f = scene.frame(0.0).astype(np.float32)
    h = f.shape[0]
    top, bottom = f[: h // 6], f[-h // 4:]
    assert top[..., 2].mean() > top[..., 1].mean() - 5 and top.mean() > bottom.mean(), "sky is bright/blue"
    assert bottom[..., 1].mean() > bottom[..., 2].mean(), "ground is green/brown, not blue"


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_scene_has_photo_like_structure(seed):
    img = SyntheticScene(320, 180, seed=seed).frame(2.0)
    assert _photo_like(img) == []


def test_photo_check_rejects_noise_and_flat_images():
    """The structure check above must be able to fail."""
    rng = np.random.default_rng(0)
    noise = rng.integers(0, 256, (180, 320, 3), dtype=np.uint8)
    flat = np.zeros((180, 320, 3), np.uint8)
    flat[:] = np.linspace(40, 220, 320, dtype=np.float32)[None, :, None].astype(np.uint8)
    assert _photo_like(noise) and _photo_like(flat)


def test_frame_is_fast_enough():
    scn = SyntheticScene(640, 360, seed=0)
    scn.frame(0.0)
    times = []
    for i in range(20):
        t0 = time.perf_counter()
        scn.frame(i / 30)
        times.append(time.perf_counter() - t0)
    # the budget is ~4 ms on two cores; allow plenty of slack for busy CI machines
    assert sorted(times)[len(times) // 2] < 0.025


def test_invalid_sizes_are_refused():
    with pytest.raises(ValueError):
        SyntheticScene(0, 36)


def test_source_publishes_frames_at_its_fps_and_stops():
    fps = 40.0
    src = SyntheticSource(160, 90, seed=3, fps=fps)
    assert src.name == "synthetic" and src.size == (160, 90)
    assert src.latest() is None
    src.start()
    try:
        item, seq, _ = src.slot.wait_newer(0, timeout=3.0)
        assert item is not None, "no frame published"
        first = item
        keep = first.image.copy()
        seen = [first.seq]
        t0 = time.monotonic()
        last_seq = seq
        while time.monotonic() - t0 < 0.75:
            item, last_seq, _ = src.slot.wait_newer(last_seq, timeout=1.0)
            seen.append(item.seq)
        elapsed = time.monotonic() - t0
        assert all(b > a for a, b in zip(seen, seen[1:])), "seq must increase with every frame"
        rate = (seen[-1] - seen[0]) / elapsed
        assert 0.5 * fps < rate < 1.3 * fps, f"published {rate:.1f} frames/s, expected about {fps}"
        latest = src.latest()
        assert latest.image.shape == (90, 160, 3) and latest.image.dtype == np.uint8
        assert latest.time >= first.time
        assert _mad(latest.image, first.image) > 0.3, "the published scene does not move"
        assert np.array_equal(first.image, keep), "a published frame was modified afterwards"
    finally:
        src.stop()
    assert src._thread is not None and not src._thread.is_alive(), "thread still running after stop()"
    after = src.latest().seq
    time.sleep(0.15)
    assert src.latest().seq == after, "frames still published after stop()"


def test_frame_at_is_the_scene_at_that_time():
    src = SyntheticSource(96, 54, seed=4)
    f = src.frame_at(2.5)
    assert f.shape == (54, 96, 3) and f.dtype == np.uint8
    assert np.array_equal(f, SyntheticScene(96, 54, seed=4).frame(2.5))
    assert not np.array_equal(f, src.frame_at(6.0))
