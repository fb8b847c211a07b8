"""Scenes by name (their parameters are declared in liveart/params).

`create_scene("dream+style", ...)` chains scenes: each one works on the previous one's picture.
"""
from __future__ import annotations

import torch

from ..params.scene import SCENE_NAMES, check_scene_spec  # noqa: F401  (re-exported)
from .adversary import AdversaryScene
from .base import Scene
from .chain import ChainScene
from .dream import DreamScene
from .paint import PaintScene
from .style import StyleScene
from .visualize import VisualizeScene
from .xray import XrayScene

SCENES: dict[str, type[Scene]] = {"dream": DreamScene, "style": StyleScene, "paint": PaintScene,
                                   "xray": XrayScene, "adversary": AdversaryScene,
                                   "visualize": VisualizeScene}
assert tuple(SCENES) == SCENE_NAMES, "liveart/params/scene.py names the scenes"


def scene_class(name: str) -> type[Scene]:
    """A built-in scene, or the newest version of scene file `name` (liveart/userscenes.py)."""
    if name in SCENES:
        return SCENES[name]
    from ..userscenes import load_scene_class

    return load_scene_class(name)


def create_scene(spec: str, device: torch.device, half: bool = False, seed: int = 0) -> Scene:
    scenes = [scene_class(n)(device, half=half, seed=seed) for n in check_scene_spec(spec)]
    return scenes[0] if len(scenes) == 1 else ChainScene(scenes)
