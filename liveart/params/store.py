"""ParamStore: the show's current values, written by every controller at any time (thread-safe),
read by the engine once per tick as a smoothed Snapshot; morphs between presets.

Every change of a target bumps a version counter: `changed_since(version)` is the one diff the
echo, LISTEN, MIDI feedback and last-state loops need, instead of each comparing copies;
trigger fires are counted the same way (`fired_since`).

An enum whose choices depend on another parameter (registry.ChoicesFrom: dream.layer on
dream.model) only ever holds a choice valid for that parameter's current value, whoever sets
either: a value it isn't valid for is refused, and a change of the other parameter moves it
to the fallback. Batches (`update`, `morph`, the constructor's values) are judged as a whole.
"""
from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from ..errors import UserError
from .mods import ModBank
from .registry import DEPENDENTS, REGISTRY, Param, get


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
        self._fires = 0                     # bumped by every trigger fire
        self._fired_at: dict[str, int] = {}
        self._changed: dict[str, float] = {}  # name -> monotonic time of last change, for the HUD
        self._last_snapshot = None
        self._morph: _Morph | None = None
        # modulators (liveart.params.mods) and what feeds them: `mod_sources(now)` gives the
        # tempo's and the audio's values (liveart.rhythm sets it); None: LFOs in Hz only
        self.mods = ModBank()
        self.mod_sources: Callable[[float], dict[str, float]] | None = None
        self.update(overrides or {}, immediate=True)

    def adopt_registry(self) -> tuple[list[str], list[str]]:
        """Follow the registry after a scene file declared or dropped parameters: new ones
        start at their defaults, gone ones leave. Returns (added, removed)."""
        with self._lock:
            added = [n for n, p in REGISTRY.items() if p.type != "trigger" and n not in self._target]
            removed = [n for n in self._target if n not in REGISTRY]
            for n in added:
                self._target[n] = self._current[n] = REGISTRY[n].default
                self._bump(n)
            for n in removed:
                self._target.pop(n, None)
                self._current.pop(n, None)
                self._changed.pop(n, None)
                self._changed_at.pop(n, None)
            return added, removed

    def set(self, name: str, value: Any, immediate: bool = False, remote: bool = False) -> Any:
        """Coerce, clamp and store; returns the stored value. Triggers fire on next tick.
        `remote`: the value came from the network (Param.remote_check applies).

        A value set by hand during a morph takes that parameter out of the morph: the
        performer wins.
        """
        p = get(name)
        v = self.coerce(name, value, remote=remote)
        with self._lock:
            if p.type == "trigger":
                self._triggers.add(name)
                self._fires += 1
                self._fired_at[name] = self._fires
                self._changed[name] = time.monotonic()
                return v
            if p.choices_from is not None:  # its other parameter may have changed meanwhile
                self._refuse_unless_valid(p, v, self._target[p.choices_from.param])
            self._assign(name, v, immediate)
            if self._morph is not None:
                self._morph.targets.pop(name, None)
        return v

    def coerce(self, name: str, value: Any, remote: bool = False,
               values: dict[str, Any] | None = None) -> Any:
        """`value` as set() would store it now (UserError if it would refuse it); an enum
        with ChoicesFrom is judged by its parameter's value in `values` when that holds it
        (a batch being set together), else by its current target."""
        p = get(name)
        dep = p.choices_from
        if dep is None:
            return p.coerce(value, remote=remote)
        if values is not None and dep.param in values:
            master = values[dep.param]
        else:
            with self._lock:
                master = self._target[dep.param]
        try:
            v = p.coerce(value, remote=remote, choices=dep.choices(master))
        except UserError:
            if str(value).strip() not in p.choices:
                raise
            v = str(value).strip()
        self._refuse_unless_valid(p, v, master)
        return v

    def choices(self, name: str) -> tuple[str, ...]:
        """The choices enum `name` has now (ChoicesFrom: those its parameter's value allows);
        () for a parameter that is no enum."""
        p = get(name)
        if p.choices_from is None:
            return p.choices
        with self._lock:
            return p.choices_from.choices(self._target[p.choices_from.param])

    @staticmethod
    def _refuse_unless_valid(p: Param, value: Any, master: Any) -> None:
        dep = p.choices_from
        allowed = dep.choices(master)
        if value not in allowed:
            raise UserError(f"{p.name} can't be {value!r} with {dep.param} {master}; choose "
                            f"one of {', '.join(allowed)}.")

    def _assign(self, name: str, v: Any, immediate: bool, now: float | None = None) -> None:
        # with the lock held
        p = REGISTRY[name]
        changed = self._target[name] != v
        if changed:
            self._bump(name)
        self._target[name] = v
        if immediate or p.smoothing <= 0 or p.type != "float":
            self._current[name] = v
        self._changed[name] = time.monotonic() if now is None else now
        if changed:
            self._fit_dependents(name)

    def _fit_dependents(self, name: str) -> None:  # with the lock held
        """Move the enums whose choices follow `name` to its fallback where they are no longer
        valid (dream.model -> vgg16 moves dream.layer blocks.10 to relu4_3)."""
        for dependent in DEPENDENTS.get(name, ()):
            dep = REGISTRY[dependent].choices_from
            if self._target[dependent] not in dep.choices(self._target[name]):
                self._assign(dependent, dep.fallback(self._target[name]), immediate=True)
            m = self._morph
            if m is not None and dependent in m.targets and \
                    m.targets[dependent] not in dep.choices(self._target[name]):
                del m.targets[dependent]  # a morph can't take it there any more

    def _coerce_batch(self, values: dict[str, Any]) -> dict[str, Any]:
        """Every value of a batch coerced, those that others' choices follow first, each
        dependent judged with its parameter's value in the batch; UserError before anything
        is set if one is refused."""
        ordered = sorted(values, key=lambda n: get(n).choices_from is not None)
        coerced: dict[str, Any] = {}
        for n in ordered:
            coerced[n] = self.coerce(n, values[n], values=coerced)
        return coerced

    def morph(self, values: dict[str, Any], seconds: float, now: float | None = None) -> None:
        """Glide to `values` over `seconds`: numbers move continuously, discrete parameters
        (choices, switches, text) switch at the midpoint. 0 seconds applies them at once."""
        targets = {n: v for n, v in self._coerce_batch(values).items()
                   if REGISTRY[n].type != "trigger"}
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
        """Set several values; {'dream.layer': 'relu4_3', 'dream.model': 'vgg16'} works in
        any order, and nothing is set when one of them is refused."""
        for k, v in self._coerce_batch(values).items():
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

    def fired_since(self, count: int) -> tuple[int, set[str]]:
        """(the fire count now, the triggers fired after `count`): the engine takes fires once
        per tick, this lets a listener see each of them too. Start with `fires`."""
        with self._lock:
            return self._fires, {n for n, c in self._fired_at.items() if c > count}

    def last_fired(self, name: str) -> float | None:
        """When trigger `name` last fired (time.monotonic()), None if never: a tap's own time,
        not the tick's that saw it."""
        with self._lock:
            return self._changed.get(name) if name in self._fired_at else None

    @property
    def fires(self) -> int:
        with self._lock:
            return self._fires

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
        # outside the lock: the tempo clock may write tempo.bpm (a tapped or measured tempo)
        sources = self.mod_sources(now) if self.mod_sources is not None else {}
        with self._lock:
            # max: a render's frame times (from 0) after a snapshot at the machine's time
            dt = 0.0 if self._last_snapshot is None else max(0.0, now - self._last_snapshot)
            self._last_snapshot = now
            if self._morph is not None:
                self._step_morph(now)
            for name, target in self._target.items():
                p = REGISTRY.get(name)  # None: a scene file's old version's, until adopt_registry
                if (p is not None and p.type == "float" and p.smoothing > 0
                        and self._current[name] != target):
                    a = 1.0 - math.exp(-dt / p.smoothing)
                    cur = self._current[name] + (target - self._current[name]) * a
                    if abs(cur - target) < 1e-4 * (p.max - p.min):
                        cur = target
                    self._current[name] = cur
            triggers = frozenset(self._triggers)
            self._triggers.clear()
            values = dict(self._current)
        levels = self.mods.apply(values, sources, now) if len(self.mods) else ()
        return Snapshot(values, triggers, levels, sources)

    def _step_morph(self, now: float) -> None:
        m = self._morph
        t = min(max((now - m.t0) / m.seconds, 0.0), 1.0)
        ease = t * t * (3.0 - 2.0 * t)  # smoothstep: no jolt at either end
        for name, target in list(m.targets.items()):  # _fit_dependents may take some out
            if name not in m.targets:
                continue
            p, start = REGISTRY[name], m.start[name]
            if p.type == "float":
                v = start + (target - start) * ease
            elif p.type == "int":
                v = int(round(start + (target - start) * ease))
            else:
                v = target if t >= 0.5 else start
            dep = p.choices_from
            if dep is not None and v not in dep.choices(self._target[dep.param]):
                continue  # its parameter was taken out of the morph by hand: it stays fitted
            self._assign(name, v, immediate=True, now=now)
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
    # (target, source, source value) of each modulator applied to `values` (the HUD's meters)
    mods: tuple[tuple[str, str, float], ...] = ()
    # the tempo's and the audio's values this tick (liveart.rhythm), for scenes and the HUD
    rhythm: dict[str, float] = field(default_factory=dict)

    def __getitem__(self, name: str) -> Any:
        return self.values[name]

    def fired(self, name: str) -> bool:
        return name in self.triggers
