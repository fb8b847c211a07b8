"""What every source is: a thread that puts its newest frame in a latest-only slot."""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..slots import LatestSlot


@dataclass(frozen=True)
class Frame:
    image: np.ndarray  # uint8 HxWx3 RGB
    seq: int  # increases with every new frame from this source
    time: float  # monotonic time of capture


class Source:
    """Base: subclasses implement `_run()` (the thread body) and set `self.size`.

    `latest()` never blocks. `notice` is a one-line message for the HUD when the source is
    degraded (e.g. camera lost, synthetic stand-in) and None otherwise.
    """

    name = "source"

    def __init__(self):
        self.slot: LatestSlot[Frame] = LatestSlot()
        self.size: tuple[int, int] = (0, 0)  # (width, height)
        self.notice: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._seq = 0
        self._pub_lock = threading.Lock()  # a source may publish from two threads (camera + stand-in)
        self._paused = threading.Event()
        # called with each new frame, in the publishing thread (the engine converts it ahead)
        self.on_frame: Callable[[Frame], None] | None = None

    def start(self) -> "Source":
        self._thread = threading.Thread(target=self._run, name=f"source-{self.name}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2.0)

    def pause(self) -> None:
        """Stop capturing for now (outside an installation's opening hours: the engine shows
        black and asks for nothing). A camera lets go of its device, so its light goes off;
        `latest()` keeps returning the last frame. Sources that cost little ignore it."""
        self._paused.set()

    def resume(self) -> None:
        self._paused.clear()

    @property
    def paused(self) -> bool:
        return self._paused.is_set()

    def latest(self) -> Frame | None:
        return self.slot.get()[0]

    def _publish(self, image: np.ndarray) -> None:
        with self._pub_lock:
            self._seq += 1
            frame = Frame(image, self._seq, time.monotonic())
            self.slot.put(frame)
        hook = self.on_frame
        if hook is not None:
            hook(frame)

    def _run(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError


class Pacer:
    """Sleeps so a loop runs at `fps`, without drifting and without catching up in bursts."""

    def __init__(self, fps: float):
        self.period = 1.0 / fps
        self.next = time.monotonic()

    def wait(self, stop: threading.Event) -> None:
        self.next += self.period
        delay = self.next - time.monotonic()
        if delay < -self.period:  # fell behind (e.g. machine busy): restart the schedule
            self.next = time.monotonic()
        elif delay > 0:
            stop.wait(delay)
