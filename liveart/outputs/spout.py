"""`--output spout[:NAME]` (Windows): share the output as a Spout texture through SpoutGL.

The library is imported only when the output is used. `module` stands in for `SpoutGL` (tests
pass a fake with its interface: `SpoutSender()` with `setSenderName`,
`sendImage(buffer, width, height, glFormat, invert, hostFbo)`, `setFrameSync`,
`releaseSender`; `enums.GL_RGBA`).
"""
from __future__ import annotations

import sys
from typing import Any

import numpy as np

from ..errors import UserError
from ._util import RgbaBuffer

PACKAGE, IMPORT, EXTRA = "SpoutGL", "SpoutGL", "spout"
GL_RGBA = 0x1908
PLATFORM_SENTENCE = "--output spout needs Windows (Spout is Windows-only; use syphon on macOS or ndi anywhere)."


def _installed() -> bool:
    from importlib.util import find_spec

    return find_spec(IMPORT) is not None


def availability() -> tuple[bool, str, str]:
    if sys.platform != "win32":
        return (False, "Spout needs Windows (ndi works everywhere)",
                f"on Windows: pip install 'liveart[{EXTRA}]'")
    if not _installed():
        return False, f"the {PACKAGE} package is not installed", f"pip install 'liveart[{EXTRA}]'"
    return True, "Spout sender (SpoutGL)", ""


def check() -> None:
    from .registry import missing_package

    if sys.platform != "win32":
        raise UserError(PLATFORM_SENTENCE)
    if not _installed():
        raise UserError(missing_package("--output spout", PACKAGE, EXTRA))


class SpoutOutput:
    def __init__(self, name: str = "liveart", module: Any = None):
        self.name = name
        self._lib = module
        self.sender = None
        self._rgba = RgbaBuffer()

    def send(self, image: np.ndarray) -> None:
        if self.sender is None:
            lib = self._lib
            if lib is None:
                import SpoutGL as lib  # noqa: N813
            self._gl_rgba = getattr(getattr(lib, "enums", None), "GL_RGBA", GL_RGBA)
            self.sender = lib.SpoutSender()
            self.sender.setSenderName(self.name)
        h, w = image.shape[:2]
        if not self.sender.sendImage(self._rgba.fill(image), w, h, self._gl_rgba, False, 0):
            raise RuntimeError("Spout could not send the frame")
        self.sender.setFrameSync(self.name)

    def close(self) -> None:
        if self.sender is not None:
            self.sender.releaseSender()
            self.sender = None
