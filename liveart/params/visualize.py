"""The visualize scene's parameters (liveart/scenes/visualize.py reads them)."""
from __future__ import annotations

from .dream import parse_guide
from .registry import declare


def _check_target(text: str) -> None:
    if parse_guide(text) is None:
        from ..errors import UserError

        raise UserError("visualize.target takes an ImageNet class by name or index, or "
                        "channel:N of blocks.10, not none.")


declare("visualize.target", "str", "goldfish", "What the picture grows toward: an ImageNet "
        "class by name or index (e.g. 'goldfish', 1), or channel:N of blocks.10.",
        check=_check_target)
declare("visualize.start", "enum", "camera", "What it grows from: camera (the live frame, "
        "which keeps flowing in) or noise.", choices=("camera", "noise"))
declare("visualize.strength", "float", 0.03, "How far each tick's step moves the picture.",
        min=0.0, max=0.2, smoothing=0.15)
declare("visualize.reset", "trigger", None, "Start growing again from the start picture.")
