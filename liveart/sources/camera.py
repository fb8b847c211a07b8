"""The camera source, built never to freeze the show.

A reader thread calls `read()` on the capture and publishes new frames. A supervisor thread
watches the time since the last *new* frame: a camera that errors, hangs inside read(), or
keeps returning the same frame all look the same to it. After `stale_after` seconds it gives up
on that capture (a hung reader is abandoned, not joined) and reopens in the background; the
engine keeps dreaming on the last good frame, and after `fallback_after` seconds the
supervisor publishes the synthetic scene instead, with a notice, until the camera is back.
"""
from __future__ import annotations

import logging
import os
import threading
import time
from contextlib import contextmanager
from typing import Callable, Iterator, Protocol

import cv2
import numpy as np

from .base import Source
from .synthetic import SyntheticScene

log = logging.getLogger(__name__)


class Capture(Protocol):
    """The part of cv2.VideoCapture the camera uses; test doubles implement the same."""

    def isOpened(self) -> bool: ...
    def read(self) -> tuple[bool, np.ndarray | None]: ...
    def release(self) -> None: ...


def open_cv2_camera(device: int | str, size: tuple[int, int]) -> Capture:
    """Open `device` (an index or a path). A path such as /dev/v4l/by-id/usb-...-video-index0 is
    resolved at every (re)open, so a camera replugged into another port (a new /dev/videoN) is
    found again, and a different camera never takes its place; a path that is not there now
    gives a closed capture, and the supervisor tries again later."""
    if isinstance(device, str) and os.path.isabs(device):
        if not os.path.exists(device):
            return _Closed()
        device = os.path.realpath(device)
    with opencv_quiet():
        cap = cv2.VideoCapture(device)
        if cap.isOpened():
            cap.set(cv2.CAP_PROP_FRAME_WIDTH, size[0])
            cap.set(cv2.CAP_PROP_FRAME_HEIGHT, size[1])
            cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)  # newest frame, not a backlog
    return cap


_quiet_lock = threading.Lock()
_quiet_depth = 0
_quiet_saved = 0


@contextmanager
def opencv_quiet() -> Iterator[None]:
    """OpenCV's own warnings off (errors still on) while a camera opens. OpenCV writes to
    stderr itself, not through Python logging, at every failed open ("can't open camera by
    index"), and the supervisor retries every 2 s: a show with no camera would print a line
    every 2 s. CameraSource says it once in its own words instead; with -v (liveart logging
    at DEBUG) OpenCV keeps its say. OpenCV's level is process-wide, so nested or concurrent
    opens (two cameras) restore it only when the last one is done."""
    global _quiet_depth, _quiet_saved
    cvlog = getattr(getattr(cv2, "utils", None), "logging", None)
    if cvlog is None or log.isEnabledFor(logging.DEBUG):
        yield
        return
    with _quiet_lock:
        if _quiet_depth == 0:
            _quiet_saved = cvlog.getLogLevel()
            cvlog.setLogLevel(min(_quiet_saved, cvlog.LOG_LEVEL_ERROR))
        _quiet_depth += 1
    try:
        yield
    finally:
        with _quiet_lock:
            _quiet_depth -= 1
            if _quiet_depth == 0:
                cvlog.setLogLevel(_quiet_saved)


class _Closed:
    """A capture that is not open (the device is not plugged in)."""

    def isOpened(self) -> bool:
        return False

    def read(self) -> tuple[bool, np.ndarray | None]:
        return False, None

    def release(self) -> None:
        pass


class CameraSource(Source):
    name = "camera"

    def __init__(self, device: int | str = 0, size: tuple[int, int] = (1280, 720),
                 opener: Callable[[int | str, tuple[int, int]], Capture] = open_cv2_camera,
                 stale_after: float = 1.0, fallback_after: float = 2.0,
                 retry_every: float = 2.0, fallback_fps: float = 30.0, seed: int = 0):
        super().__init__()
        self.device = device
        self.size = size
        self.opener = opener
        self.stale_after = stale_after
        self.fallback_after = fallback_after
        self.retry_every = retry_every
        self.fallback_fps = fallback_fps
        self.seed = seed
        self.label = f"camera:{device}" if isinstance(device, int) else str(device)
        self.opens = 0  # successful opens (tests and the log read it)
        self.live = False  # True while frames come from the camera
        self._gen = 0  # bumped to abandon a reader; a stale reader never publishes
        self._gen_lock = threading.Lock()
        self._last_new = 0.0  # monotonic time of the last new camera frame (0: none yet)
        self._opened_at = 0.0
        self._resumed_at = 0.0  # monotonic time of the last resume() taking effect
        self._last_probe: np.ndarray | None = None  # probe of the last published frame
        self._scene: SyntheticScene | None = None
        self._scene_size = (0, 0)

    # -- reader ------------------------------------------------------------------------------
    def _reader(self, cap: Capture, gen: int) -> None:
        # compare with the last frame of the previous capture too: a frozen driver that
        # repeats its frame after a reopen must not count as a new frame each time
        prev_probe = self._last_probe
        while not self._stop.is_set() and gen == self._gen:
            try:
                ok, bgr = cap.read()
            except Exception as e:  # a driver error must not kill the show
                log.warning("%s read failed: %s", self.label, e)
                ok, bgr = False, None
            if gen != self._gen:
                break  # abandoned while we were stuck in read()
            if not ok or bgr is None:
                self._stop.wait(0.02)
                continue
            probe = bgr[::17, ::17].copy()  # cheap check for a frozen driver repeating a frame
            if prev_probe is not None and np.array_equal(probe, prev_probe):
                self._stop.wait(0.005)
                continue
            prev_probe = probe
            rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
            with self._gen_lock:
                if gen != self._gen:
                    break
                self._last_new = time.monotonic()
                self._last_probe = probe
                self.size = (rgb.shape[1], rgb.shape[0])
                self._publish(rgb)

    def _abandon(self, cap: Capture) -> None:
        with self._gen_lock:
            self._gen += 1
        # release() on a hung capture can hang too: do it where nobody waits for it
        threading.Thread(target=_quiet_release, args=(cap,), daemon=True).start()

    def _try_open(self) -> Capture | None:
        try:
            cap = self.opener(self.device, self.size)
        except Exception as e:
            log.debug("%s open failed: %s", self.label, e)
            return None
        if cap is None or not cap.isOpened():
            if cap is not None:
                _quiet_release(cap)
            return None
        return cap

    # -- supervisor --------------------------------------------------------------------------
    def _run(self) -> None:
        cap: Capture | None = None
        next_try = 0.0
        lost_logged = False  # the loss was said (and not yet that the camera is back)
        opened_since_lost = False  # it opened at least once since frames last came
        period = 1.0 / self.fallback_fps
        t0 = time.monotonic()
        was_paused = False
        while not self._stop.is_set():
            now = time.monotonic()
            if self._paused.is_set():  # closed hours: let go of the device, publish nothing
                if cap is not None:
                    log.info("%s released while paused", self.label)
                    self._abandon(cap)
                    cap = None
                self.live, was_paused = False, True
                self._stop.wait(period)
                continue
            if was_paused:  # open at once; hold the last frame (not the stand-in) meanwhile
                was_paused, next_try, self._resumed_at = False, 0.0, now
            if cap is None and now >= next_try:
                cap = self._try_open()
                next_try = now + self.retry_every
                if cap is not None:
                    self.opens += 1
                    # once the loss was said, a device that opens but gives nothing would
                    # repeat this every retry: the next thing said is that it is back
                    log.log(logging.DEBUG if lost_logged else logging.INFO, "%s opened",
                            self.label)
                    opened_since_lost = True
                    with self._gen_lock:
                        gen = self._gen
                    self._opened_at = now  # grace period for the first frame
                    threading.Thread(target=self._reader, args=(cap, gen),
                                     name="camera-reader", daemon=True).start()
            since = now - self._last_new
            quiet = now - max(self._last_new, self._opened_at)
            if cap is not None and quiet > self.stale_after:
                log.log(logging.DEBUG if lost_logged else logging.WARNING,
                        "%s gave no new frame for %.1f s; reopening it", self.label, quiet)
                self._abandon(cap)
                cap = None
                next_try = now  # reopen straight away, then every retry_every
            self.live = cap is not None and since <= self.stale_after
            if self.live:
                self.notice = None
                if lost_logged:
                    log.info("%s is there now: showing the camera, not the synthetic scene.", self.label)
                lost_logged, opened_since_lost = False, False
            elif ((self._last_new == 0.0 or since > self.fallback_after)
                  and now - self._resumed_at > self.fallback_after):
                # said once per loss, again only when it comes back; not while a capture
                # that just opened has yet to give its first frame
                if not lost_logged and cap is None:
                    if opened_since_lost:
                        log.warning("No frames from %s: showing the synthetic scene and "
                                    "retrying in the background.", self.label)
                    else:
                        log.warning("No camera at %s (not connected, or in use by another "
                                    "program): showing the synthetic scene and trying again "
                                    "every %g s.", self.label, self.retry_every)
                    lost_logged = True
                self.notice = (f"No camera ({self.label}): showing the synthetic scene, "
                               "retrying in the background")
                self._publish(self._stand_in(now - t0))
            self._stop.wait(period)
        if cap is not None:
            self._abandon(cap)

    def _stand_in(self, t: float) -> np.ndarray:
        if self._scene is None or self._scene_size != self.size:
            self._scene_size = self.size
            self._scene = SyntheticScene(*self.size, self.seed)
        return self._scene.frame(t)


def _quiet_release(cap: Capture) -> None:
    try:
        cap.release()
    except Exception:
        pass
