"""Limits on the pictures liveart reads: a file's header is read first, so a decompression
bomb (a 2.6 MB PNG of 30000x30000 pixels decodes to 2.7 GB) or a huge file named as a style
picture is refused with one sentence instead of exhausting memory.

LIVEART_MAX_IMAGE_MP sets the limit in megapixels (default 64: an 8K frame is 33).
"""
from __future__ import annotations

import os
from pathlib import Path

from .errors import UserError

DEFAULT_MAX_MP = 64.0
MAX_FILE_BYTES = 512 << 20  # no picture liveart can use is larger than this on disk


def max_pixels() -> int:
    try:
        mp = float(os.environ.get("LIVEART_MAX_IMAGE_MP", DEFAULT_MAX_MP))
    except ValueError:
        mp = DEFAULT_MAX_MP
    return int(max(mp, 0.01) * 1_000_000)


def check_image_file(path: str | Path, what: str = "Image") -> None:
    """UserError when `path` is not a regular file, is larger than MAX_FILE_BYTES, or its
    header says it has more than max_pixels() pixels. Reading the header only (Pillow opens
    lazily); a file Pillow does not know is left for OpenCV to judge."""
    path = Path(path)
    try:
        st = path.stat()
    except OSError:
        return  # the caller says the file is missing, in its own words
    if not path.is_file():
        raise UserError(f"{what} {path} is not a regular file.")
    if st.st_size > MAX_FILE_BYTES:
        raise UserError(f"{what} {path} is {st.st_size >> 20} MB; liveart reads pictures up to "
                        f"{MAX_FILE_BYTES >> 20} MB.")
    from PIL import Image

    Image.MAX_IMAGE_PIXELS = None  # our limit, below, with our sentence
    try:
        with Image.open(path) as im:
            w, h = im.size
    except Exception:  # noqa: BLE001 - not a format Pillow reads: OpenCV decides
        return
    limit = max_pixels()
    if w * h > limit:
        raise UserError(f"{what} {path} is {w}x{h} ({w * h / 1e6:.0f} megapixels); liveart "
                        f"reads pictures up to {limit / 1e6:.0f} megapixels "
                        "(LIVEART_MAX_IMAGE_MP).")
