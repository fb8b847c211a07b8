"""Sources that read files: a video (looped, at its own frame rate) and a still image."""
from __future__ import annotations

import logging
from pathlib import Path

import cv2
import numpy as np

from ..errors import UserError
from ..imagelimits import check_image_file
from .base import Pacer, Source

log = logging.getLogger(__name__)


def read_image(path: str) -> np.ndarray:
    """An image file as uint8 HxWx3 RGB; one sentence naming the file when it can't be read."""
    if not Path(path).is_file():
        raise UserError(f"Image file {path} does not exist.")
    check_image_file(path, "Image file")  # a decompression bomb is refused from its header
    img = cv2.imread(path, cv2.IMREAD_COLOR)
    if img is None:
        raise UserError(f"Image file {path} could not be read (not an image, or corrupt).")
    return np.ascontiguousarray(cv2.cvtColor(img, cv2.COLOR_BGR2RGB))


def open_video(path: str) -> tuple[cv2.VideoCapture, np.ndarray, float]:
    """Open a video and read its first frame: (capture, first RGB frame, fps)."""
    if not Path(path).is_file():
        raise UserError(f"Video file {path} does not exist.")
    cap = cv2.VideoCapture(path)
    ok, bgr = cap.read() if cap.isOpened() else (False, None)
    if not ok or bgr is None:
        cap.release()
        raise UserError(f"Video file {path} could not be read (not a video, or corrupt).")
    fps = cap.get(cv2.CAP_PROP_FPS)
    fps = fps if 1.0 <= fps <= 240.0 else 30.0
    return cap, cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), fps


class VideoSource(Source):
    """Plays a video file at its own frame rate, looping at the end."""

    name = "video"

    def __init__(self, path: str):
        super().__init__()
        self.path = path
        self.cap, first, self.fps = open_video(path)
        self.size = (first.shape[1], first.shape[0])
        self._publish(first)

    def _run(self) -> None:
        pacer = Pacer(self.fps)
        while not self._stop.is_set():
            pacer.wait(self._stop)
            ok, bgr = self.cap.read()
            if not ok:  # end of file: loop
                self.cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
                ok, bgr = self.cap.read()
                if not ok:
                    log.warning("Video file %s stopped giving frames; holding the last one.",
                                self.path)
                    self._stop.wait(1.0)
                    continue
            self._publish(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
        self.cap.release()


class ImageSource(Source):
    """A still image: one frame, held (the dream still moves on it)."""

    name = "image"

    def __init__(self, path: str):
        super().__init__()
        img = read_image(path)
        self.size = (img.shape[1], img.shape[0])
        self._publish(img)

    def _run(self) -> None:
        self._stop.wait()
