"""What a scene is: it declares its parameters in the registry and transforms a frame tensor."""
from __future__ import annotations

import torch

from ..params import Snapshot


class Scene:
    """A scene takes the live frame (1x3xhxw RGB 0..1 on the engine's device) every tick and
    returns the picture to show at the same size.

    `process` is the live path (a tick's worth of work); `render` is the offline path (full
    quality per frame). Both keep whatever state the scene carries between frames.
    """

    name = "scene"

    def __init__(self, device: torch.device, half: bool = False, seed: int = 0):
        self.device = device
        self.half = half
        self.seed = seed

    def process(self, frame: torch.Tensor, snap: Snapshot) -> torch.Tensor:  # pragma: no cover
        raise NotImplementedError

    def render(self, frame: torch.Tensor, snap: Snapshot) -> torch.Tensor:
        return self.process(frame, snap)

    def prepare(self, snap: Snapshot) -> None:
        """Before the show: load what the starting parameters need; UserError if it can't."""

    def frame_arrived(self, frame: torch.Tensor) -> None:
        """A new camera frame, as a coming tick will get it, as it arrives: called in the
        source's thread, possibly while a tick runs, so work that depends on the frame alone
        can be done ahead. It must not touch what process() uses without a lock."""

    def reset(self) -> None:
        pass

    def labels(self) -> list[tuple[str, float]]:
        """Top ImageNet labels of the live frame, where the scene computes them."""
        return []
