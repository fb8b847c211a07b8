"""Kaleidoscope: mirror the picture into N-fold symmetry around the centre, spinning, with
feedback. Chain it on top of the dream: `liveart run --scene dream+kaleidoscope`.
"""
import math

import torch
import torch.nn.functional as F

from liveart import params
from liveart.scenes.base import Scene

params.declare("kaleidoscope.segments", "int", 6, "Mirror segments around the centre.",
               min=2, max=16)
params.declare("kaleidoscope.spin", "float", 0.5, "Rotation per tick, in degrees.",
               min=-10.0, max=10.0)
params.declare("kaleidoscope.feedback", "float", 0.5, "How much of the last output is mixed "
               "back in before mirroring.", min=0.0, max=0.95)


class Kaleidoscope(Scene):
    def __init__(self, device, half=False, seed=0):
        super().__init__(device, half)
        self.angle, self.last, self._grid_key, self._polar = 0.0, None, None, None

    def reset(self):
        self.last = None

    def _coords(self, h, w, device):
        if self._grid_key != (h, w, device):
            ys, xs = torch.meshgrid(torch.linspace(-1, 1, h, device=device),
                                    torch.linspace(-1, 1, w, device=device), indexing="ij")
            xs = xs * (w / h)  # round, not stretched
            self._polar = (torch.sqrt(xs * xs + ys * ys), torch.atan2(ys, xs))
            self._grid_key = (h, w, device)
        return self._polar

    def process(self, frame, snap):
        h, w = frame.shape[-2:]
        src = frame if self.last is None or self.last.shape != frame.shape else \
            torch.lerp(frame, self.last, snap["kaleidoscope.feedback"])
        r, a = self._coords(h, w, frame.device)
        self.angle += math.radians(snap["kaleidoscope.spin"])
        seg = 2 * math.pi / snap["kaleidoscope.segments"]
        a = torch.remainder(a + self.angle, seg)
        a = torch.where(a > seg / 2, seg - a, a)  # mirror every other half-segment
        grid = torch.stack((r * torch.cos(a) * (h / w), r * torch.sin(a)), dim=-1)[None]
        out = F.grid_sample(src, grid.to(src.dtype), mode="bilinear", padding_mode="reflection",
                            align_corners=False)
        self.last = out
        return out
