"""`--output ndi[:NAME]`: an NDI sender on the network, through cyndilib (which bundles the NDI
runtime). NAME (default `liveart`) is the stream name; receivers see it as `HOST (NAME)`.

The library is imported only when the output is used. `module` stands in for `cyndilib`
(tests pass a fake with its interface: `Sender(ndi_name, clock_video=...)` with
`set_video_frame`, `open`, `write_video`, `close`; `VideoSendFrame` with `set_resolution`,
`set_frame_rate`, `set_fourcc`; `FourCC.RGBA`).

NDI finds sources with mDNS. Where multicast is blocked (some containers, VPNs), point NDI at
the sender's address instead: an `ndi-config.v1.json` holding
`{"ndi": {"networks": {"ips": "127.0.0.1"}}}` in the folder named by `$NDI_CONFIG_DIR` (or
`~/.ndi/`).
"""
from __future__ import annotations

from fractions import Fraction
from typing import Any

import numpy as np

from ..errors import UserError
from ._util import RgbaBuffer

PACKAGE, EXTRA = "cyndilib", "ndi"


def _installed() -> bool:
    from importlib.util import find_spec

    return find_spec(PACKAGE) is not None


def availability() -> tuple[bool, str, str]:
    if not _installed():
        return False, f"the {PACKAGE} package is not installed", f"pip install 'liveart[{EXTRA}]'"
    return True, "NDI sender (cyndilib); also --source ndi:NAME", ""


def check() -> None:
    from .registry import missing_package

    if not _installed():
        raise UserError(missing_package("--output ndi", PACKAGE, EXTRA))


def load_library(module: Any = None, what: str = "--output ndi"):
    """`module` if given (a fake), else cyndilib; UserError with the pip command if missing."""
    if module is not None:
        return module
    try:
        import cyndilib
    except ImportError as e:
        from .registry import missing_package

        raise UserError(missing_package(what, PACKAGE, EXTRA)) from e
    return cyndilib


class NdiOutput:
    """Opens the sender at the first frame (its size is the stream's) and sends opaque RGBA.

    The sender is not clocked: frames go out as the engine makes them (the worker thread
    already drops what it can't send)."""

    def __init__(self, name: str = "liveart", fps: float = 30.0, module: Any = None):
        self.name = name
        self.fps = fps
        self._lib = module
        self.sender = None
        self.size: tuple[int, int] | None = None
        self._rgba = RgbaBuffer()

    def _open(self, width: int, height: int) -> None:
        lib = load_library(self._lib)
        frame = lib.VideoSendFrame()
        frame.set_resolution(width, height)
        frame.set_frame_rate(Fraction(self.fps).limit_denominator(1001))
        frame.set_fourcc(lib.FourCC.RGBA)
        sender = lib.Sender(self.name, clock_video=False)
        sender.set_video_frame(frame)
        sender.open()
        self.sender, self.size = sender, (width, height)

    def send(self, image: np.ndarray) -> None:
        h, w = image.shape[:2]
        if self.sender is not None and self.size != (w, h):
            self.close()
        if self.sender is None:
            self._open(w, h)
        self.sender.write_video(self._rgba.fill(image).reshape(-1))

    def close(self) -> None:
        if self.sender is not None:
            self.sender.close()
            self.sender = None
