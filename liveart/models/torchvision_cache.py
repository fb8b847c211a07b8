"""torchvision's pretrained downloads in the torch hub cache (`$TORCH_HOME/hub/checkpoints`).

liveart does not depend on torchvision (its wheels are built against one exact torch), but a
user who has used torchvision already has its ImageNet weights on disk; liveart finds them by
torchvision's file names and reads them with `weights_only=True`.
"""
from __future__ import annotations

from pathlib import Path

import torch

# torchvision's file names (the hash suffix is part of the name); *_bn variants don't match
PATTERNS = {
    "vgg16": "vgg16-*.pth",
    "vgg19": "vgg19-*.pth",
    "googlenet": "googlenet-*.pth",
    "inception_v3": "inception_v3_google-*.pth",
}
BUILDERS = {"vgg16": "vgg16", "vgg19": "vgg19", "googlenet": "googlenet",
            "inception_v3": "inception_v3"}


def checkpoints_dir() -> Path:
    return Path(torch.hub.get_dir()) / "checkpoints"


def cached_checkpoint(name: str) -> Path | None:
    """The cached torchvision checkpoint of `name` (a key of PATTERNS), or None."""
    folder = checkpoints_dir()
    found = sorted(folder.glob(PATTERNS[name])) if folder.is_dir() else []
    return found[0] if found else None


def how_to_get(name: str) -> str:
    """The command that puts torchvision's weights for `name` into the cache."""
    return (f"pip install torchvision, then python -c \"import torchvision; "
            f"torchvision.models.{BUILDERS[name]}(weights='DEFAULT')\" (downloads into "
            f"{checkpoints_dir()})")


def cached_files(name: str):
    """For the zoo: a function returning [checkpoint] when cached, else []."""
    def find() -> list[Path]:
        path = cached_checkpoint(name)
        return [path] if path else []
    return find
