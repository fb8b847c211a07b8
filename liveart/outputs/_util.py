"""Small helpers shared by the live outputs."""
from __future__ import annotations

import numpy as np


class RgbaBuffer:
    """A reused HxWx4 uint8 buffer: RGB frames in, opaque RGBA (or BGRA) out, no allocation
    per frame."""

    def __init__(self, bgra: bool = False):
        self.bgra = bgra
        self._buf: np.ndarray | None = None

    def fill(self, image: np.ndarray) -> np.ndarray:
        h, w = image.shape[:2]
        if self._buf is None or self._buf.shape[:2] != (h, w):
            self._buf = np.empty((h, w, 4), np.uint8)
            self._buf[..., 3] = 255
        if self.bgra:
            self._buf[..., 0] = image[..., 2]
            self._buf[..., 1] = image[..., 1]
            self._buf[..., 2] = image[..., 0]
        else:
            self._buf[..., :3] = image
        return self._buf
