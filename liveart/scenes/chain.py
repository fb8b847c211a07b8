"""Scenes in a chain: `--scene dream+style` dreams, then paints the dream.

`scene.mix` crossfades between the first scene's picture (0) and the whole chain's (1), so a
performer can fade a style in over the dream on one fader.
"""
from __future__ import annotations

import torch

from ..guard import SceneGuard
from ..params import Snapshot
from .base import Scene

class ChainScene(Scene):
    def __init__(self, scenes: list[Scene]):
        super().__init__(scenes[0].device, scenes[0].half)
        self.scenes = scenes
        self.name = "+".join(s.name for s in scenes)
        # each stage guarded on its own: a failing stage passes its input on, the others go on
        self.guards = [SceneGuard(s.name) for s in scenes]

    @property
    def notice(self) -> str | None:
        return next((g.notice for g in self.guards if g.notice), None)

    def _stage(self, i: int, frame: torch.Tensor, snap: Snapshot, offline: bool) -> torch.Tensor:
        scene = self.scenes[i]
        if offline:  # a render has no show to keep going: errors are the user's to see
            return scene.render(frame, snap)
        return self.guards[i].run(scene, frame, lambda: scene.process(frame, snap))

    def _run(self, frame: torch.Tensor, snap: Snapshot, offline: bool) -> torch.Tensor:
        first = self._stage(0, frame, snap, offline)
        out = first
        for i in range(1, len(self.scenes)):
            out = self._stage(i, out, snap, offline)
        mix = snap["scene.mix"]
        return out if mix >= 1.0 else torch.lerp(first, out, mix)

    def process(self, frame: torch.Tensor, snap: Snapshot) -> torch.Tensor:
        return self._run(frame, snap, offline=False)

    def render(self, frame: torch.Tensor, snap: Snapshot) -> torch.Tensor:
        return self._run(frame, snap, offline=True)

    def prepare(self, snap: Snapshot) -> None:
        for scene in self.scenes:
            scene.prepare(snap)

    def frame_arrived(self, frame: torch.Tensor) -> None:
        self.scenes[0].frame_arrived(frame)  # only the first stage sees the camera

    def reset(self) -> None:
        for scene in self.scenes:
            scene.reset()

    @property
    def summary(self):
        """The first stage's activation summary (liveart.music), so a chain still sings."""
        for scene in self.scenes:
            if getattr(scene, "summary", None) is not None:
                return scene.summary
        return None

    def labels(self) -> list[tuple[str, float]]:
        for scene in self.scenes:
            if scene.labels():
                return scene.labels()
        return []
