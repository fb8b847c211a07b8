"""Recording the output to a video file, in its own thread so a slow disk never holds a tick."""
from __future__ import annotations

import logging
import queue
import threading
from pathlib import Path

import cv2
import numpy as np

from ..errors import UserError

log = logging.getLogger(__name__)

_FOURCC = {".mp4": "mp4v", ".m4v": "mp4v", ".mov": "mp4v", ".avi": "MJPG", ".mkv": "MJPG"}


def open_writer(path: str, fps: float, size: tuple[int, int]) -> cv2.VideoWriter:
    """An OpenCV writer for `path` (codec from the extension); one sentence when it can't open."""
    ext = Path(path).suffix.lower()
    if ext not in _FOURCC:
        raise UserError(f"Cannot record to {path}: use one of {', '.join(_FOURCC)}.")
    parent = Path(path).resolve().parent
    if not parent.is_dir():
        raise UserError(f"Cannot record to {path}: folder {parent} does not exist.")
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*_FOURCC[ext]), fps, size)
    if not writer.isOpened():
        raise UserError(f"Cannot record to {path}: OpenCV could not open a video writer there.")
    return writer


class Recorder:
    """Writes RGB frames to a video file from a worker thread.

    blocking=True (headless runs, renders): every frame is written; `write` waits when the
    small queue is full. blocking=False (live): a full queue drops the frame instead, so the
    show never waits for the disk; `dropped` counts them.
    """

    def __init__(self, path: str, fps: float, blocking: bool = False, max_pending: int = 8):
        self.path = path
        self.fps = fps
        self.blocking = blocking
        self.written = 0
        self.dropped = 0
        self._queue: queue.Queue = queue.Queue(maxsize=max_pending)
        self._writer: cv2.VideoWriter | None = None
        self._size: tuple[int, int] | None = None
        self._thread = threading.Thread(target=self._run, name="recorder", daemon=True)
        self._thread.start()

    def write(self, image: np.ndarray) -> None:
        if self._writer is None:  # open on the first frame: its size is the video's size
            self._size = (image.shape[1], image.shape[0])
            self._writer = open_writer(self.path, self.fps, self._size)
        try:
            self._queue.put(image, block=self.blocking)
        except queue.Full:
            self.dropped += 1

    def _run(self) -> None:
        while True:
            image = self._queue.get()
            if image is None:
                return
            if (image.shape[1], image.shape[0]) != self._size:
                image = cv2.resize(image, self._size, interpolation=cv2.INTER_AREA)
            self._writer.write(cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
            self.written += 1

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join()
        if self._writer is not None:
            self._writer.release()
        if self.dropped:
            log.warning("Recording %s dropped %d frames (disk too slow).", self.path, self.dropped)
