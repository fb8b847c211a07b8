"""Choosing the torch device and the defaults that go with it."""
from __future__ import annotations

import torch

from .errors import UserError

DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")
# Internal (processing) size per device: what keeps the dream live at about 25 fps or more.
DEFAULT_SIZE = {"cpu": (256, 144), "mps": (384, 216), "cuda": (640, 360)}


def _mps_available() -> bool:
    return bool(getattr(torch.backends, "mps", None) and torch.backends.mps.is_available())


def pick_device(name: str = "auto") -> torch.device:
    if name not in DEVICE_CHOICES and not name.startswith("cuda:"):
        raise UserError(f"--device must be one of {', '.join(DEVICE_CHOICES)}, not {name!r}.")
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        return torch.device("mps") if _mps_available() else torch.device("cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise UserError(f"--device {name} was asked for but this torch sees no CUDA device; "
                        "use --device cpu or auto.")
    if name == "mps" and not _mps_available():
        raise UserError("--device mps was asked for but MPS is not available here; "
                        "use --device cpu or auto.")
    return torch.device(name)


def use_half(device: torch.device) -> bool:
    """Half precision where it helps: CUDA (tensor cores). On CPU and MPS fp32 is as fast or faster."""
    return device.type == "cuda"


def default_size(device: torch.device) -> tuple[int, int]:
    return DEFAULT_SIZE.get(device.type, DEFAULT_SIZE["cpu"])


def available_devices() -> list[dict]:
    out = [{"name": "cpu", "description": f"CPU, {torch.get_num_threads()} torch threads"}]
    for i in range(torch.cuda.device_count() if torch.cuda.is_available() else 0):
        out.append({"name": f"cuda:{i}", "description": torch.cuda.get_device_name(i)})
    if _mps_available():
        out.append({"name": "mps", "description": "Apple Metal"})
    return out


def parse_size(text: str, flag: str = "--size") -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise UserError(f"{flag} takes WIDTHxHEIGHT such as 256x144, not {text!r}.") from None
    if not (32 <= w <= 7680 and 32 <= h <= 4320):
        raise UserError(f"{flag} must be between 32x32 and 7680x4320, not {text!r}.")
    return w, h
