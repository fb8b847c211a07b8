"""Scenes by name. Importing a scene module declares its parameters in the registry.

`create_scene("dream+style", ...)` chains scenes: each one works on the previous one's picture.
"""
from __future__ import annotations

import torch

from ..errors import UserError
from .base import Scene
from .chain import ChainScene
from .dream import DreamScene
from .paint import PaintScene
from .style import StyleScene

SCENES: dict[str, type[Scene]] = {"dream": DreamScene, "style": StyleScene, "paint": PaintScene}


def check_scene_spec(spec: str) -> list[str]:
    """The scene names in `spec` ('dream', 'dream+style'); UserError for an unknown one."""
    names = [n.strip() for n in spec.split("+")]
    for name in names:
        if name not in SCENES:
            raise UserError(f"Unknown scene {name!r}; available scenes are: {', '.join(SCENES)} "
                            "(chain them with +, e.g. dream+style).")
    return names


def create_scene(spec: str, device: torch.device, half: bool = False, seed: int = 0) -> Scene:
    scenes = [SCENES[n](device, half=half, seed=seed) for n in check_scene_spec(spec)]
    return scenes[0] if len(scenes) == 1 else ChainScene(scenes)
