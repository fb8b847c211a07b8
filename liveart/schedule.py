"""Opening hours for installations: `--schedule 09:00-20:00`, or several windows
(`09:00-12:00,14:00-20:00`).

`Schedule.level(now)` is 1.0 inside a window, 0.0 outside, and ramps linearly over `fade`
seconds after a window opens and before it closes, so the picture fades in and out instead of
cutting. A window whose end is earlier than its start crosses midnight (`20:00-02:00`). Times are
the machine's local wall clock (a clock change at DST moves the edges with it). The engine asks
the level every tick (`Engine.dimmer`): at 0 it outputs black without running the scene.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Callable

from .errors import UserError

DAY = 24 * 3600
DEFAULT_FADE_S = 5.0
_WINDOW = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")
_FORM = "HH:MM-HH:MM, several separated by commas (for example 09:00-20:00 or 20:00-02:00)"


@dataclass(frozen=True)
class Schedule:
    windows: tuple[tuple[int, int], ...]  # (start, length) in seconds after midnight
    fade: float = DEFAULT_FADE_S
    text: str = ""

    def level(self, now: datetime) -> float:
        """How much of the picture to show at `now` (local time): 0.0 .. 1.0."""
        t = now.hour * 3600 + now.minute * 60 + now.second + now.microsecond / 1e6
        best = 0.0
        for start, length in self.windows:
            into = (t - start) % DAY  # seconds since this window last opened
            if into >= length:
                continue
            if self.fade <= 0:
                return 1.0
            best = max(best, min(1.0, into / self.fade, (length - into) / self.fade))
        return best

    def dimmer(self, clock: Callable[[], datetime] = datetime.now) -> Callable[[], float]:
        """A callable for `Engine.dimmer`: the level at the clock's current time."""
        return lambda: self.level(clock())


def parse_schedule(text: str, fade: float = DEFAULT_FADE_S) -> Schedule:
    """`09:00-20:00[,HH:MM-HH:MM...]` -> Schedule; UserError (one sentence) on anything else."""
    if not fade >= 0:
        raise UserError(f"--schedule-fade must be 0 or more seconds, not {fade}.")
    windows = []
    for part in str(text).split(","):
        m = _WINDOW.match(part)
        if not m:
            raise UserError(f"--schedule takes {_FORM}, not {text!r}.")
        h1, m1, h2, m2 = map(int, m.groups())
        if h1 > 23 or h2 > 24 or m1 > 59 or m2 > 59 or (h2 == 24 and m2):
            raise UserError(f"--schedule has an impossible time in {part.strip()!r}; "
                            f"it takes {_FORM}.")
        start, end = h1 * 3600 + m1 * 60, h2 * 3600 + m2 * 60
        length = (end - start) % DAY
        if length == 0:
            raise UserError(f"--schedule window {part.strip()!r} opens and closes at the same "
                            "time; to run all day, leave --schedule out.")
        windows.append((start, length))
    return Schedule(tuple(windows), float(fade), str(text))
