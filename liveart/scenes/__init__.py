"""Scenes by name. Importing a scene module declares its parameters in the registry."""
from __future__ import annotations

import torch

from ..errors import UserError
from .base import Scene
from .dream import DreamScene

SCENES: dict[str, type[Scene]] = {"dream": DreamScene}


def create_scene(name: str, device: torch.device, half: bool = False, seed: int = 0) -> Scene:
    try:
        cls = SCENES[name]
    except KeyError:
        raise UserError(f"Unknown scene {name!r}; available scenes are: {', '.join(SCENES)}.") from None
    return cls(device, half=half, seed=seed)
