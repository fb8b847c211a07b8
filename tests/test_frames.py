"""The edge conversions: compose() (upscale the scene's change on the CPU) and
compose_on_device() (the same on the scene's device) give the same picture.

Here both run on the CPU; tests/test_cuda.py checks compose_on_device on a GPU.
"""
from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from liveart.frames import compose, compose_on_device, to_tensor

CPU = torch.device("cpu")


def changed(x: torch.Tensor, seed: int = 0, amount: float = 0.2) -> torch.Tensor:
    """`x` plus gaussian noise, clamped to 0..1: a change at every pixel, both signs."""
    g = torch.Generator().manual_seed(seed)
    return (x + amount * torch.randn(x.shape, generator=g)).clamp(0.0, 1.0)


def compare(a: np.ndarray, b: np.ndarray) -> tuple[int, float]:
    """(largest difference in levels, fraction of values that differ)."""
    d = np.abs(a.astype(np.int16) - b.astype(np.int16))
    return int(d.max()), float((d > 0).mean())


@pytest.mark.parametrize("out_size, size", [
    ((1280, 720), (640, 360)),    # the CUDA default: 2x up
    ((451, 300), (256, 144)),     # the cat at the CPU default: a non-integer factor
    ((1920, 1080), (640, 360)),   # 3x up
    ((451, 300), (128, 72)),
    ((640, 360), (640, 360)),     # same size: no resize at all
    ((640, 360), (1280, 720)),    # output smaller than the internal size
], ids=lambda s: f"{s[0]}x{s[1]}")
def test_compose_on_device_matches_compose(cat, out_size, size):
    image = cv2.resize(cat, out_size, interpolation=cv2.INTER_AREA)
    x = to_tensor(image, size, CPU)
    y = changed(x)
    x0, y0, image0 = x.clone(), y.clone(), image.copy()
    a = compose(image, x, y)
    b = compose_on_device(image, x, y)
    assert b.shape == a.shape == image.shape and b.dtype == np.uint8 and b.flags.c_contiguous
    worst, share = compare(a, b)
    # within one level (float rounding of the two bilinear kernels), and only rarely off by
    # one: a systematic difference (truncating, another pixel-centre convention) would be
    # off at a large share of the pixels
    assert worst <= 1 and share < 0.01, f"{size}->{out_size}: max {worst} levels, {share:.2%} differ"
    assert torch.equal(x, x0) and torch.equal(y, y0) and np.array_equal(image, image0)
    assert compare(b, image)[0] > 10  # the change is there at all


def test_compose_on_device_no_change_and_saturation(cat):
    image = cv2.resize(cat, (640, 360), interpolation=cv2.INTER_AREA)
    x = to_tensor(image, (320, 180), CPU)
    assert np.array_equal(compose_on_device(image, x, x.clone()), image)
    # +1 everywhere saturates at 255, -1 at 0 (no wrap-around in uint8)
    up = compose_on_device(image, torch.zeros_like(x), torch.ones_like(x))
    down = compose_on_device(image, torch.ones_like(x), torch.zeros_like(x))
    assert (up == 255).all() and (down == 0).all()
    assert np.array_equal(up, compose(image, torch.zeros_like(x), torch.ones_like(x)))
    assert np.array_equal(down, compose(image, torch.ones_like(x), torch.zeros_like(x)))


def test_compose_on_device_takes_an_inference_tensor(cat):
    """The style scene returns its picture from inside torch.inference_mode()."""
    image = cv2.resize(cat, (640, 360), interpolation=cv2.INTER_AREA)
    x = to_tensor(image, (320, 180), CPU)
    with torch.inference_mode():
        y = changed(x, seed=3)
    worst, share = compare(compose_on_device(image, x, y), compose(image, x, y))
    assert worst <= 1 and share < 0.01, (worst, share)


def test_all_finite_finds_one_nan_or_inf_and_survives_an_overflowing_sum():
    from liveart.frames import all_finite

    x = torch.rand(1, 3, 36, 64)
    assert all_finite(x)
    for bad in (float("nan"), float("inf"), float("-inf")):
        y = x.clone()
        y[0, 2, 30, 60] = bad
        assert not all_finite(y)
    assert all_finite(torch.full((1, 3, 100, 100), 3e38))  # the sum overflows; no element does
    assert all_finite(torch.rand(1, 3, 720, 1280).half())  # summed in fp32
