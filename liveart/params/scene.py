"""Parameters of the scene chain (`--scene dream+style`: liveart/scenes/chain.py)."""
from __future__ import annotations

from ..errors import UserError
from .registry import declare

declare("scene.mix", "float", 1.0, "In a chain of scenes (e.g. dream+style): crossfade "
        "from the first scene's picture (0) to the whole chain's (1).", min=0.0, max=1.0,
        smoothing=0.15)

# The built-in scenes by name (liveart/scenes maps each to its class); named here so that a
# preset, a MIDI map or an OSC message naming a scene is checked without loading torch.
SCENE_NAMES = ("dream", "style", "paint", "xray", "adversary", "visualize")


BUILTIN_SCENES = SCENE_NAMES


def check_scene_spec(spec: str) -> list[str]:
    """The scene names in `spec` ('dream', 'dream+style', 'dream+mine' with mine.py in the
    scenes folder, liveart/userscenes.py); UserError for an unknown one."""
    names = [n.strip() for n in spec.split("+")]
    user: dict | None = None
    for name in names:
        if name in SCENE_NAMES:
            continue
        if user is None:
            from .scenefiles import list_scene_files

            user = list_scene_files(SCENE_NAMES)
        if name not in user:
            known = ", ".join(list(SCENE_NAMES) + sorted(user))
            raise UserError(f"Unknown scene {name!r}; available scenes are: {known} "
                            "(chain them with +, e.g. dream+style).")
    return names
