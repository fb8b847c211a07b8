"""Resizing the dream's working image between octaves.

Shrinking is torch's antialiased bilinear (a triangle filter) everywhere: OpenCV's area
average would be 2-3x faster on the CPU, but it keeps more of the high frequencies the dream
then amplifies, and the live dream's picture drifted from torch's autograd picture past one
8-bit level (tests/scenes/test_dream.py). Growing is bilinear with half-pixel centres either
way; on the CPU OpenCV does it, 0.03-0.07 ms where torch took 0.25 ms at the live octave
sizes (the two agree to 2e-5; docs/benchmarks.md), and it releases the interpreter meanwhile.
"""
from __future__ import annotations

import cv2
import numpy as np
import torch
import torch.nn.functional as F


def resize(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """`x` (1xCxhxw float) at `size` (h, w)."""
    h, w = x.shape[-2:]
    if (h, w) == tuple(size):
        return x
    shrink = size[0] <= h and size[1] <= w
    if (shrink or x.device.type != "cpu" or x.dtype != torch.float32 or x.shape[0] != 1
            or x.requires_grad):
        return F.interpolate(x, size=size, mode="bilinear", align_corners=False, antialias=shrink)
    # height x width x channels: a view, without a copy, of a channels_last tensor (the frames)
    hwc = np.ascontiguousarray(x[0].permute(1, 2, 0).numpy())
    out = cv2.resize(hwc, (size[1], size[0]), interpolation=cv2.INTER_LINEAR)
    if out.ndim == 2:  # OpenCV drops a single channel's axis
        out = out[:, :, None]
    return torch.from_numpy(out).permute(2, 0, 1)[None]
