"""ParamStore: the show's current values, written by every controller at any time (thread-safe),
read by the engine once per tick as a smoothed Snapshot; morphs between presets.

Every change of a target bumps a version counter: `changed_since(version)` is the one diff the
echo, LISTEN, MIDI feedback and last-state loops need, instead of each comparing copies.
"""
from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from .registry import REGISTRY, get


class ParamStore:
    """Thread-safe current values. Controllers write at any time; the engine takes one
    smoothed snapshot per tick.

    `set()` records a target; `snapshot()` moves each smoothed value toward its target by the
    time elapsed since the last snapshot, so a MIDI fader's steps become a glide.
    """

    def __init__(self, overrides: dict[str, Any] | None = None):
        self._lock = threading.Lock()
        self._version = 0                   # bumped by every change of a target
        self._changed_at: dict[str, int] = {}  # name -> the version that last changed it
        self._target = {n: p.default for n, p in REGISTRY.items() if p.type != "trigger"}
        self._current = dict(self._target)
        self._triggers: set[str] = set()
        self._changed: dict[str, float] = {}  # name -> monotonic time of last change, for the HUD
        self._last_snapshot = None
        self._morph: _Morph | None = None
        for name, value in (overrides or {}).items():
            self.set(name, value, immediate=True)

    def set(self, name: str, value: Any, immediate: bool = False) -> Any:
        """Coerce, clamp and store; returns the stored value. Triggers fire on next tick.

        A value set by hand during a morph takes that parameter out of the morph: the
        performer wins.
        """
        p = get(name)
        v = p.coerce(value)
        with self._lock:
            if p.type == "trigger":
                self._triggers.add(name)
            else:
                if self._target[name] != v:
                    self._bump(name)
                self._target[name] = v
                if immediate or p.smoothing <= 0 or p.type != "float":
                    self._current[name] = v
                if self._morph is not None:
                    self._morph.targets.pop(name, None)
            self._changed[name] = time.monotonic()
        return v

    def morph(self, values: dict[str, Any], seconds: float, now: float | None = None) -> None:
        """Glide to `values` over `seconds`: numbers move continuously, discrete parameters
        (choices, switches, text) switch at the midpoint. 0 seconds applies them at once."""
        targets = {n: get(n).coerce(v) for n, v in values.items() if get(n).type != "trigger"}
        if seconds <= 0:
            self.update(targets, immediate=True)
            return
        now = time.monotonic() if now is None else now
        with self._lock:
            self._morph = _Morph({n: self._current[n] for n in targets}, targets, now, seconds)

    def morphing(self) -> bool:
        with self._lock:
            return self._morph is not None

    def update(self, values: dict[str, Any], immediate: bool = False) -> None:
        for k, v in values.items():
            self.set(k, v, immediate=immediate)

    def get(self, name: str) -> Any:
        with self._lock:
            return self._target[name]

    def targets(self) -> dict[str, Any]:
        with self._lock:
            return dict(self._target)

    def _bump(self, name: str) -> None:  # with the lock held
        self._version += 1
        self._changed_at[name] = self._version

    @property
    def version(self) -> int:
        """The change counter: the number of target changes so far."""
        with self._lock:
            return self._version

    def changed_since(self, version: int) -> tuple[int, dict[str, Any]]:
        """(the version now, {name: target} of every value whose target changed after
        `version`). Start with version 0 to get everything changed since the store was made."""
        with self._lock:
            return self._version, {n: self._target[n] for n, v in self._changed_at.items()
                                   if v > version}

    def recently_changed(self, seconds: float = 2.0) -> list[str]:
        now = time.monotonic()
        with self._lock:
            return [n for n, t in self._changed.items() if now - t < seconds]

    def last_changed(self) -> str | None:
        """The parameter changed most recently (by anyone), if any."""
        with self._lock:
            live = {n: t for n, t in self._changed.items() if REGISTRY[n].type != "trigger"}
        return max(live, key=live.get) if live else None

    def snapshot(self, now: float | None = None) -> "Snapshot":
        now = time.monotonic() if now is None else now
        with self._lock:
            dt = 0.0 if self._last_snapshot is None else now - self._last_snapshot
            self._last_snapshot = now
            if self._morph is not None:
                self._step_morph(now)
            for name, target in self._target.items():
                p = REGISTRY[name]
                if p.type == "float" and p.smoothing > 0 and self._current[name] != target:
                    a = 1.0 - math.exp(-dt / p.smoothing)
                    cur = self._current[name] + (target - self._current[name]) * a
                    if abs(cur - target) < 1e-4 * (p.max - p.min):
                        cur = target
                    self._current[name] = cur
            triggers = frozenset(self._triggers)
            self._triggers.clear()
            return Snapshot(dict(self._current), triggers)

    def _step_morph(self, now: float) -> None:
        m = self._morph
        t = min(max((now - m.t0) / m.seconds, 0.0), 1.0)
        ease = t * t * (3.0 - 2.0 * t)  # smoothstep: no jolt at either end
        for name, target in m.targets.items():
            p, start = REGISTRY[name], m.start[name]
            if p.type == "float":
                v = start + (target - start) * ease
            elif p.type == "int":
                v = int(round(start + (target - start) * ease))
            else:
                v = target if t >= 0.5 else start
            if self._target[name] != v:
                self._bump(name)
            self._target[name] = self._current[name] = v
            self._changed[name] = now
        if t >= 1.0:
            self._morph = None


@dataclass
class _Morph:
    start: dict[str, Any]
    targets: dict[str, Any]
    t0: float
    seconds: float


@dataclass(frozen=True)
class Snapshot:
    """One tick's view of every parameter: read with snap['dream.octaves']."""

    values: dict[str, Any]
    triggers: frozenset[str] = field(default_factory=frozenset)

    def __getitem__(self, name: str) -> Any:
        return self.values[name]

    def fired(self, name: str) -> bool:
        return name in self.triggers
