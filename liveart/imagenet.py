"""The 1000 ImageNet-1k class names and lookup by name or index (torch-free: `dream.guide` is
checked with it when a value comes in, before any network is loaded)."""
from __future__ import annotations

import functools
import json
from pathlib import Path

from .errors import UserError

_CLASSES_FILE = Path(__file__).with_name("models") / "imagenet_classes.json"


@functools.lru_cache(maxsize=1)
def imagenet_labels() -> list[str]:
    """The 1000 ImageNet-1k class names (from the MIT-licensed imagenet-classes project)."""
    return json.loads(_CLASSES_FILE.read_text())


def imagenet_class_index(text: str) -> int:
    """An ImageNet class from its index or its name (case-insensitive, exact or unique prefix)."""
    labels = imagenet_labels()
    text = text.strip()
    if text.isdigit():
        idx = int(text)
        if 0 <= idx < len(labels):
            return idx
        raise UserError(f"ImageNet class index must be 0..{len(labels) - 1}, not {idx}.")
    low = text.lower()
    exact = [i for i, n in enumerate(labels) if n.lower() == low]
    if exact:
        return exact[0]
    partial = [i for i, n in enumerate(labels) if low in n.lower()]
    if len(partial) == 1:
        return partial[0]
    if partial:
        names = ", ".join(labels[i] for i in partial[:8])
        raise UserError(f"ImageNet class {text!r} is ambiguous; did you mean one of: {names}?")
    raise UserError(f"Unknown ImageNet class {text!r}; run 'liveart models classes' for the list.")
