"""X-ray: what the network sees, as a picture: the chosen layer's feature maps, live.

Each tick runs the network (dream.model's, the dream's loaded copy when one is loaded) forward
only, and only as deep as `xray.layer`, on the frame.

- `mosaic`: the `xray.channels` strongest channels (mean squared activation) side by side,
  strongest top left, on a grid of tiles shaped like the frame that fills it; each map is
  normalised to its own 99th percentile (so a weak channel is as legible as a strong one) and
  coloured with OpenCV's inferno map, times `xray.gain`.
- `overlay`: one channel (`xray.channel`, or the strongest now) over the camera, coloured,
  its brightness the blend.

Which channels the mosaic shows is re-chosen every RECHOOSE ticks, not every tick, so tiles
don't jump around with every flicker of the ranking.
"""
from __future__ import annotations

import math

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from ..models import load_backbone
from ..params import Snapshot
from ..params.dream import DEFAULT_MODEL
from .base import Scene

RECHOOSE = 15  # ticks between re-rankings of the mosaic's channels


def inferno_lut(device: torch.device) -> torch.Tensor:
    """256x3 RGB 0..1: OpenCV's COLORMAP_INFERNO."""
    ramp = np.arange(256, dtype=np.uint8).reshape(256, 1)
    bgr = cv2.applyColorMap(ramp, cv2.COLORMAP_INFERNO).reshape(256, 3)
    return torch.from_numpy(bgr[:, ::-1].copy()).float().div(255.0).to(device)


def grid_for(n: int, h: int, w: int) -> tuple[int, int]:
    """(rows, cols) of n tiles shaped like an h x w frame that fill it best."""
    best = (n, 1)
    best_score = -1.0
    for cols in range(1, n + 1):
        rows = math.ceil(n / cols)
        tile = min(w / cols / w, h / rows / h)  # the tile's scale against the frame
        score = tile - 1e-3 * (rows * cols - n)  # bigger tiles, then fewer empty ones
        if score > best_score:
            best, best_score = (rows, cols), score
    return best


class XrayScene(Scene):
    name = "xray"

    def __init__(self, device: torch.device, half: bool = False, seed: int = 0):
        super().__init__(device, half)
        self.model_name = DEFAULT_MODEL
        self.model = load_backbone(DEFAULT_MODEL, device, half=half)
        self.lut = inferno_lut(device)
        self.tick = 0
        self.chosen: list[int] = []
        self._chosen_for: tuple | None = None
        self.last_energy: torch.Tensor | None = None  # per-channel energy of the last tick

    def prepare(self, snap: Snapshot) -> None:
        if snap["dream.model"] != self.model_name:
            self.model_name = snap["dream.model"]
            self.model = load_backbone(self.model_name, self.device, self.half)
            self.reset()

    def reset(self) -> None:
        self.chosen, self._chosen_for, self.tick = [], None, 0

    def features(self, frame: torch.Tensor, layer: str) -> torch.Tensor:
        """1xCxhxw activation of `layer` (float32), the network run only that deep."""
        with torch.inference_mode():
            x = frame.contiguous(memory_format=torch.channels_last)  # as the dream runs it
            if self.half:
                x = x.half()
            return self.model.forward_taps(x, {layer})[layer].float()

    def _colour(self, maps: torch.Tensor, gain: float) -> torch.Tensor:
        """Kx h x w activations -> Kx3xhxw colours, each map normalised to its 99th percentile."""
        k = maps.shape[0]
        flat = maps.reshape(k, -1).clamp_min(0.0)
        top = torch.quantile(flat, 0.99, dim=1).clamp_min(1e-6)
        level = (flat / top[:, None] * gain).clamp_(0.0, 1.0)
        idx = (level * 255.0).round_().long()
        return self.lut[idx].reshape(k, *maps.shape[1:], 3).permute(0, 3, 1, 2)

    def process(self, frame: torch.Tensor, snap: Snapshot) -> torch.Tensor:
        if snap["dream.model"] != self.model_name:
            self.prepare(snap)
        layer, gain = snap["xray.layer"], snap["xray.gain"]
        act = self.features(frame, layer)[0]
        energy = act.pow(2).mean(dim=(1, 2))
        self.last_energy = energy
        h, w = frame.shape[-2:]
        if snap["xray.mode"] == "overlay":
            c = snap["xray.channel"]
            c = int(energy.argmax()) if c < 0 else c % act.shape[0]
            colour = self._colour(act[c:c + 1], gain)
            colour = F.interpolate(colour, size=(h, w), mode="bilinear", align_corners=False)
            alpha = colour.amax(dim=1, keepdim=True)  # bright where the channel fires
            return torch.lerp(frame, colour.to(frame.dtype), alpha.to(frame.dtype))
        return self._mosaic(act, energy, snap, h, w, gain)

    def _mosaic(self, act, energy, snap, h, w, gain) -> torch.Tensor:
        k = min(int(snap["xray.channels"]), act.shape[0])
        key = (self.model_name, snap["xray.layer"], k)
        if key != self._chosen_for or self.tick % RECHOOSE == 0 or len(self.chosen) != k:
            self.chosen = [int(i) for i in torch.topk(energy, k).indices]
            self._chosen_for = key
        self.tick += 1
        rows, cols = grid_for(k, h, w)
        th, tw = h // rows, w // cols
        tiles = self._colour(act[self.chosen], gain)
        tiles = F.interpolate(tiles, size=(th, tw), mode="bilinear", align_corners=False)
        canvas = torch.zeros(1, 3, h, w, device=act.device)
        oy, ox = (h - rows * th) // 2, (w - cols * tw) // 2
        for i in range(k):
            r, c = divmod(i, cols)
            canvas[0, :, oy + r * th:oy + (r + 1) * th, ox + c * tw:ox + (c + 1) * tw] = tiles[i]
        return canvas
