"""`--output syphon[:NAME]` (macOS): publish the output as a Syphon server through
syphon-python (Metal).

The library is imported only when the output is used. `module` stands in for `syphon` (tests
pass a fake with its interface: `SyphonMetalServer(name)` with `device`,
`publish_frame_texture(texture)`, `stop()`; `utils.raw.create_mtl_texture(device, w, h)` and
`utils.numpy.copy_image_to_mtl_texture(image, texture)`).
"""
from __future__ import annotations

import sys
from typing import Any

import numpy as np

from ..errors import UserError
from ._util import RgbaBuffer

PACKAGE, IMPORT, EXTRA = "syphon-python", "syphon", "syphon"
PLATFORM_SENTENCE = "--output syphon needs macOS (Syphon is macOS-only; use spout on Windows or ndi anywhere)."


def _installed() -> bool:
    from importlib.util import find_spec

    return find_spec(IMPORT) is not None


def availability() -> tuple[bool, str, str]:
    if sys.platform != "darwin":
        return (False, "Syphon needs macOS (ndi works everywhere)",
                f"on macOS: pip install 'liveart[{EXTRA}]'")
    if not _installed():
        return False, f"the {PACKAGE} package is not installed", f"pip install 'liveart[{EXTRA}]'"
    return True, "Syphon Metal server (syphon-python)", ""


def check() -> None:
    from .registry import missing_package

    if sys.platform != "darwin":
        raise UserError(PLATFORM_SENTENCE)
    if not _installed():
        raise UserError(missing_package("--output syphon", PACKAGE, EXTRA))


def _library():
    import syphon
    import syphon.utils.numpy
    import syphon.utils.raw  # noqa: F401

    return syphon


class SyphonOutput:
    def __init__(self, name: str = "liveart", module: Any = None):
        self.name = name
        self._lib = module
        self.server = None
        self.texture = None
        self._size: tuple[int, int] | None = None
        self._rgba = RgbaBuffer()

    def send(self, image: np.ndarray) -> None:
        lib = self._lib or _library()
        if self.server is None:
            self.server = lib.SyphonMetalServer(self.name)
        h, w = image.shape[:2]
        if self.texture is None or self._size != (w, h):
            self.texture = lib.utils.raw.create_mtl_texture(self.server.device, w, h)
            self._size = (w, h)
        lib.utils.numpy.copy_image_to_mtl_texture(self._rgba.fill(image), self.texture)
        self.server.publish_frame_texture(self.texture)

    def close(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None
