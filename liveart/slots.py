"""Latest-only hand-over between threads: a writer never waits, a reader gets the newest item.

Holding just the newest item is what keeps latency flat: a slow consumer drops stale frames
instead of building a queue.
"""
from __future__ import annotations

import threading
import time
from typing import Generic, Optional, TypeVar

T = TypeVar("T")


class LatestSlot(Generic[T]):
    def __init__(self):
        self._cond = threading.Condition()
        self._item: Optional[T] = None
        self._seq = 0
        self._time = 0.0

    def put(self, item: T) -> None:
        with self._cond:
            self._item = item
            self._seq += 1
            self._time = time.monotonic()
            self._cond.notify_all()

    def get(self) -> tuple[Optional[T], int, float]:
        """(item, sequence number, monotonic time it was put); (None, 0, 0.0) before the first."""
        with self._cond:
            return self._item, self._seq, self._time

    def wait_newer(self, seq: int, timeout: float) -> tuple[Optional[T], int, float]:
        """Wait up to `timeout` s for an item newer than `seq`; returns what is there then."""
        with self._cond:
            self._cond.wait_for(lambda: self._seq > seq, timeout=timeout)
            return self._item, self._seq, self._time
