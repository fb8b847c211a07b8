"""Modulators: any numeric parameter moved by an LFO, the beat or the music.

    target = base + amount x source, clamped to the parameter's range

The store keeps the base (what controllers, presets and the echo see; a fader on a modulated
parameter moves its base) and each tick's snapshot carries the modulated value. Sources:

- `lfo`: `shape` sine | triangle | saw | square | random (sample and hold), -1..1; `rate` in Hz
  (`0.5`) or as a period in beats (`1/4`, `2b`), `phase` 0..1 added to its position;
- `beat`: 1 on each beat of the show's tempo (liveart.rhythm.tempo), decaying over 0.1 s;
- `onset`, `audio.level`, `audio.low`, `audio.mid`, `audio.high`, `audio.beat`: the audio
  input's features, 0..1 (liveart.rhythm.analysis; `onset` is `audio.onset`);
- `env`: an envelope follower with `attack` and `release` (s) on another source (`of`).

One modulator per target. Written in presets as TOML tables

    [[mod]]
    target = "dream.zoom"
    source = "audio.low"
    amount = 0.02

and over OSC as `/liveart/mod/set s target s source f amount [s "shape=saw rate=1/4"]`.
Pure Python (no numpy): it belongs to the registry, which loads without either.
"""
from __future__ import annotations

import math
import random
import threading
from dataclasses import dataclass, field
from typing import Any

from ..errors import UserError
from .registry import REGISTRY, did_you_mean

AUDIO_SOURCES = ("audio.level", "audio.low", "audio.mid", "audio.high", "audio.onset",
                 "audio.beat")
SOURCES = ("lfo", "beat", "onset") + AUDIO_SOURCES + ("env",)
SHAPES = ("sine", "triangle", "saw", "square", "random")
OPTIONS = ("shape", "rate", "phase", "of", "attack", "release")


def parse_rate(rate: Any) -> tuple[float, bool]:
    """(value, in_beats): `0.5` -> 0.5 Hz; `1/4`, `2b`, `1/4b` -> a period of that many beats."""
    text = str(rate).strip().lower()
    try:
        if text.endswith("b") or "/" in text:
            body = text[:-1] if text.endswith("b") else text
            num, _, den = body.partition("/")
            beats = float(num) / (float(den) if den else 1.0)
            if not (beats > 0 and math.isfinite(beats)):
                raise ValueError
            return beats, True
        hz = float(text)
        if not (hz > 0 and math.isfinite(hz)):
            raise ValueError
        return hz, False
    except (ValueError, ZeroDivisionError):
        raise UserError(f"A modulator's rate is Hz (e.g. 0.5) or a period in beats (e.g. 1/4 "
                        f"or 2b), not {rate!r}.") from None


@dataclass
class Modulator:
    target: str
    source: str
    amount: float
    shape: str = "sine"
    rate: str = "1"
    phase: float = 0.0
    of: str = "audio.level"
    attack: float = 0.01
    release: float = 0.2
    _env: float = field(default=0.0, repr=False, compare=False)
    _env_t: float | None = field(default=None, repr=False, compare=False)

    def as_dict(self) -> dict[str, Any]:
        """The settings that matter for its source (what presets and snapshots write)."""
        d = {"target": self.target, "source": self.source, "amount": self.amount}
        if self.source == "lfo":
            d.update(shape=self.shape, rate=self.rate, phase=self.phase)
        elif self.source == "env":
            d.update(of=self.of, attack=self.attack, release=self.release)
        return d

    # -- the source's value now ----------------------------------------------------------------
    def value(self, sources: dict[str, float], now: float) -> float:
        if self.source == "lfo":
            return self._lfo(sources, now)
        if self.source == "env":
            return self._follow(self._plain(self.of, sources), now)
        return self._plain(self.source, sources)

    @staticmethod
    def _plain(name: str, sources: dict[str, float]) -> float:
        return float(sources.get("audio.onset" if name == "onset" else name, 0.0))

    def _lfo(self, sources: dict[str, float], now: float) -> float:
        rate, in_beats = parse_rate(self.rate)
        if in_beats:
            pos = sources.get("beat_position", now * 2.0) / rate  # 120 bpm without a clock
        else:
            pos = now * rate
        pos += self.phase
        f = pos % 1.0
        if self.shape == "sine":
            return math.sin(2.0 * math.pi * f)
        if self.shape == "triangle":
            return 1.0 - 4.0 * abs(f - 0.5)
        if self.shape == "saw":
            return 2.0 * f - 1.0
        if self.shape == "square":
            return 1.0 if f < 0.5 else -1.0
        # random: a new value each period, the same for the same period every run
        return random.Random(int(math.floor(pos)) * 7919 + len(self.target)).uniform(-1.0, 1.0)

    def _follow(self, x: float, now: float) -> float:
        dt = 0.0 if self._env_t is None else max(0.0, now - self._env_t)
        self._env_t = now
        tau = self.attack if x > self._env else self.release
        a = 1.0 if tau <= 0 else 1.0 - math.exp(-dt / tau)
        self._env += (x - self._env) * a
        return self._env


def make_modulator(target: Any, source: Any, amount: Any, **options: Any) -> Modulator:
    """A checked Modulator; UserError (one sentence) for anything a user could get wrong."""
    target, source = str(target).strip(), str(source).strip()
    if target not in REGISTRY:
        raise UserError(f"Can't modulate unknown parameter {target!r}{did_you_mean(target, REGISTRY)}.")
    if REGISTRY[target].type not in ("float", "int"):
        raise UserError(f"{target} is a {REGISTRY[target].type}, not a number: only numeric "
                        "parameters can be modulated.")
    if source not in SOURCES:
        raise UserError(f"Unknown modulator source {source!r}; sources are: {', '.join(SOURCES)}.")
    try:
        amount = float(amount)
    except (TypeError, ValueError):
        raise UserError(f"A modulator's amount is a number, not {amount!r}.") from None
    if not math.isfinite(amount):
        raise UserError(f"A modulator's amount is a finite number, not {amount!r}.")
    unknown = set(options) - set(OPTIONS)
    if unknown:
        raise UserError(f"Unknown modulator option {sorted(unknown)[0]!r}; options are: "
                        f"{', '.join(OPTIONS)}.")
    mod = Modulator(target, source, amount)
    if "shape" in options:
        mod.shape = str(options["shape"]).strip()
        if mod.shape not in SHAPES:
            raise UserError(f"Unknown LFO shape {mod.shape!r}; shapes are: {', '.join(SHAPES)}.")
    if "rate" in options:
        parse_rate(options["rate"])
        mod.rate = str(options["rate"]).strip()
    if "of" in options:
        mod.of = str(options["of"]).strip()
        if mod.of not in SOURCES or mod.of in ("env", "lfo"):
            raise UserError(f"An envelope follows beat, onset or an audio feature, not {mod.of!r}.")
    for key in ("phase", "attack", "release"):
        if key in options:
            try:
                v = float(options[key])
            except (TypeError, ValueError):
                raise UserError(f"A modulator's {key} is a number, not {options[key]!r}.") from None
            if not math.isfinite(v) or v < 0 or (key == "phase" and v > 1):
                raise UserError(f"A modulator's {key} is a number "
                                f"{'from 0 to 1' if key == 'phase' else 'of seconds, 0 or more'}, not {v}.")
            setattr(mod, key, v)
    return mod


def parse_options(text: Any) -> dict[str, str]:
    """'shape=saw rate=1/4' -> {'shape': 'saw', 'rate': '1/4'} (OSC's optional argument)."""
    out: dict[str, str] = {}
    for part in str(text or "").replace(",", " ").split():
        key, eq, value = part.partition("=")
        if not eq or not key:
            raise UserError(f"Modulator options are key=value pairs (e.g. 'shape=saw rate=1/4'), "
                            f"not {part!r}.")
        out[key.strip()] = value.strip()
    return out


class ModBank:
    """The show's modulators, one per target; thread-safe (controllers set, the tick applies)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._mods: dict[str, Modulator] = {}
        self.version = 0  # bumped by every change, for the last-state saver and OSCQuery

    def set(self, mod: Modulator) -> None:
        with self._lock:
            self._mods[mod.target] = mod
            self.version += 1

    def clear(self, target: str = "*") -> int:
        """Remove the modulator on `target` ('*': all); returns how many went."""
        with self._lock:
            if target == "*":
                n = len(self._mods)
                self._mods.clear()
            else:
                n = 1 if self._mods.pop(target, None) is not None else 0
            self.version += 1
            return n

    def replace(self, mods: list[Modulator]) -> None:
        with self._lock:
            self._mods = {m.target: m for m in mods}
            self.version += 1

    def as_dicts(self) -> list[dict[str, Any]]:
        with self._lock:
            return [m.as_dict() for m in self._mods.values()]

    def __len__(self) -> int:
        with self._lock:
            return len(self._mods)

    def apply(self, values: dict[str, Any], sources: dict[str, float], now: float
              ) -> tuple[tuple[str, str, float], ...]:
        """Modulate `values` in place; returns (target, source, source value) of each, for the
        HUD's meters."""
        with self._lock:
            mods = list(self._mods.values())
        levels = []
        for m in mods:
            p = REGISTRY[m.target]
            s = m.value(sources, now)
            v = float(values[m.target]) + m.amount * s
            v = min(p.max, max(p.min, v))
            values[m.target] = int(round(v)) if p.type == "int" else v
            levels.append((m.target, m.source, s))
        return tuple(levels)


def mods_from_table(entries: Any, where: str) -> list[Modulator]:
    """The `[[mod]]` tables of a preset (a list of dicts) as Modulators; UserError naming `where`."""
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise UserError(f"{where}: mod is a list of tables ([[mod]] with target, source, amount).")
    mods = []
    for e in entries:
        missing = [k for k in ("target", "source", "amount") if k not in e]
        if missing:
            raise UserError(f"{where}: a [[mod]] table needs {', '.join(missing)}.")
        rest = {k: v for k, v in e.items() if k not in ("target", "source", "amount")}
        try:
            mods.append(make_modulator(e["target"], e["source"], e["amount"], **rest))
        except UserError as err:
            raise UserError(f"{where}: {err}") from None
    return mods
