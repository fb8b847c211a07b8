"""Per-stage timings and frame rate over a sliding window, for the HUD, bench and OSC."""
from __future__ import annotations

import threading
import time
from collections import deque

import numpy as np

STAGES = ("capture", "to_device", "scene", "upscale", "present")


class StageStats:
    def __init__(self, window: int = 300):
        self._lock = threading.Lock()
        self._ms: dict[str, deque] = {s: deque(maxlen=window) for s in STAGES}
        self._ticks: deque = deque(maxlen=window)
        self.frames = 0

    def add(self, stage: str, ms: float) -> None:
        with self._lock:
            self._ms.setdefault(stage, deque(maxlen=self._ticks.maxlen)).append(ms)

    def tick(self) -> None:
        with self._lock:
            self._ticks.append(time.monotonic())
            self.frames += 1

    def fps(self, live: bool = True) -> float:
        """Frames per second over the window. `live` (the HUD, OSC, the status page): a tick
        that is late pulls the rate down, so a stalled loop reads as slowing towards 0, not as
        its last rate for ever. `live=False`: the rate of the ticks that happened (the end of
        a run's summary, printed after the loop stopped)."""
        with self._lock:
            n = len(self._ticks)
            if n < 2:
                return 0.0
            span = self._ticks[-1] - self._ticks[0]
            if live:  # exceeds span only once the next tick is later than one mean interval
                span = max(span, time.monotonic() - self._ticks[1])
            return (n - 1) / span if span > 0 else 0.0

    def latest_ms(self) -> dict[str, float]:
        with self._lock:
            return {s: v[-1] for s, v in self._ms.items() if v}

    def percentiles(self) -> dict[str, dict[str, float]]:
        with self._lock:
            data = {s: np.asarray(v) for s, v in self._ms.items() if v}
        return {s: {"p50_ms": round(float(np.percentile(a, 50)), 2),
                    "p95_ms": round(float(np.percentile(a, 95)), 2),
                    "mean_ms": round(float(a.mean()), 2)} for s, a in data.items()}
