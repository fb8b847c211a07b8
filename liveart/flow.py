"""Camera motion between ticks, so state carried from the last tick can move with the picture.

OpenCV's DIS optical flow (ultrafast preset) takes about a millisecond at the internal size on
a CPU; it runs on the small frames the scene already has, never at full resolution.
"""
from __future__ import annotations

import threading

import cv2
import numpy as np
import torch
import torch.nn.functional as F


def to_gray(x: torch.Tensor) -> np.ndarray:
    """1x3xhxw RGB 0..1 tensor -> uint8 hxw grey on the host (what DIS wants)."""
    if x.device.type == "cpu" and x.dtype == torch.float32 and x[0].permute(1, 2, 0).is_contiguous():
        # the engine's frames are channels_last: OpenCV reads them in place (13 us, not 170)
        g = cv2.cvtColor(x[0].permute(1, 2, 0).numpy(), cv2.COLOR_RGB2GRAY)
        return np.clip(g * 255.0, 0, 255).astype(np.uint8)
    g = (x[0, 0] * 0.299 + x[0, 1] * 0.587 + x[0, 2] * 0.114).mul(255.0)
    return g.clamp_(0, 255).to(torch.uint8).cpu().numpy()


class MotionFollower:
    """Tracks the newest frame; `warp(t)` moves a tensor aligned with the previous frame onto the
    current one. Before the first motion estimate, or after a cut, it returns `t` unchanged."""

    def __init__(self):
        self._dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST)
        self._prev: np.ndarray | None = None
        self._last: torch.Tensor | None = None  # the frame tensor of the last update
        self._grid: torch.Tensor | None = None
        self._base: torch.Tensor | None = None
        # ahead(): frames as they arrive, in the source's thread, with their own DIS instance
        self._ahead_dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST)
        self._ahead_lock = threading.Lock()
        self._arrived: tuple | None = None  # (frame, grey) of the newest frame seen ahead
        self._ahead: tuple | None = None  # (previous frame, frame, grey, grid between them)
        self._working: tuple | None = None  # (frame, Event set when its flow is in _ahead)
        # a source may publish from two threads (a camera and its stand-in): one at a time here
        self._one_ahead = threading.Lock()

    def reset(self) -> None:
        self._prev, self._grid, self._last = None, None, None

    def ahead(self, frame: torch.Tensor) -> None:
        """A new camera frame as it arrives (another thread, while a tick runs): its grey and
        its flow (as a sampling grid) from the frame that arrived before it, so that
        update(frame) finds them ready when the previous frame is also the one the last tick
        saw (the loop keeps up with the camera); otherwise update() computes them itself, as
        it would anyway."""
        with self._one_ahead:
            self._ahead_of(frame)

    def _ahead_of(self, frame: torch.Tensor) -> None:
        done = threading.Event()
        with self._ahead_lock:
            self._working = (frame, done)
        try:
            gray = to_gray(frame)
            with self._ahead_lock:
                before, self._arrived = self._arrived, (frame, gray)
            if before is None or before[1].shape != gray.shape:
                return
            flow = self._ahead_dis.calc(gray, before[1], None)  # DIS keeps nothing between calls
            grid = self._grid_of(flow, frame.device)
            with self._ahead_lock:
                self._ahead = (before[0], frame, gray, grid)
        finally:
            done.set()

    def update(self, frame: torch.Tensor) -> None:
        """Estimate the motion from the previous frame to `frame` (call once per tick)."""
        if frame is self._last and self._prev is not None:
            # the engine hands out a camera frame again when the loop outruns the camera:
            # nothing moved, and warping by a flow of ~0 would only soften what is carried
            self._grid = None
            return
        previous, self._last = self._last, frame
        with self._ahead_lock:
            working = self._working
        if working is not None and working[0] is frame:
            working[1].wait(0.05)  # under way: waiting costs less than doing it again
        with self._ahead_lock:
            ahead = self._ahead
        if (ahead is not None and ahead[1] is frame and ahead[0] is previous
                and self._prev is not None):
            self._prev, self._grid = ahead[2], ahead[3]  # done as it arrived: the same numbers
            return
        gray = to_gray(frame)
        if self._prev is None or self._prev.shape != gray.shape:
            self._prev, self._grid = gray, None
            return
        # flow from the current frame back to the previous: cur(p) ~ prev(p + flow(p))
        flow = self._dis.calc(gray, self._prev, None)
        self._prev = gray
        self._grid = self._grid_of(flow, frame.device)

    def _grid_of(self, flow: np.ndarray, device: torch.device) -> torch.Tensor:
        """grid_sample's sampling grid for a DIS flow (h x w x 2 pixels)."""
        h, w = flow.shape[:2]
        base = self._base  # shared by update() and ahead(): replaced whole, never changed
        if base is None or base.shape[1:3] != (h, w) or base.device != device:
            ys, xs = torch.meshgrid(torch.linspace(-1 + 1 / h, 1 - 1 / h, h),
                                    torch.linspace(-1 + 1 / w, 1 - 1 / w, w), indexing="ij")
            self._base = base = torch.stack((xs, ys), dim=-1)[None].to(device)
        scale = torch.tensor([2.0 / w, 2.0 / h], device=device)
        return base + torch.from_numpy(flow).to(device)[None] * scale

    def warp(self, t: torch.Tensor) -> torch.Tensor:
        if self._grid is None or self._grid.shape[1:3] != t.shape[-2:]:
            return t
        return F.grid_sample(t, self._grid.to(t.dtype), mode="bilinear", padding_mode="border",
                             align_corners=False)
