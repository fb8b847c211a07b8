"""What a map is: `Binding` (one control bound to a parameter or an action, with its range,
curve, mode and LED settings; control position <-> value), `ProgramMap` and `MidiMap`.
Building them from TOML, with the checks, is parse.py; files are maps.py."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ... import params
from .curves import curve_apply, curve_invert, same_value

RELATIVE_MODES = ("signed-bit", "signed-bit-2", "bin-offset", "twos-complement")
PRESS_MODES = ("set", "held", "toggle")
CC_MODES = ("absolute",) + RELATIVE_MODES + PRESS_MODES
NOTE_MODES = PRESS_MODES


@dataclass
class Binding:
    """One control (a CC or a note on a channel) bound to a parameter or an action."""

    kind: str                     # "cc" or "note"
    number: int                   # controller or note number, 0-127
    channel: int | None           # 0-15; None listens on every channel
    param: str | None = None
    action: str | None = None     # Actions.run name (preset/load, scene, a trigger parameter)
    args: tuple = ()
    mode: str = "absolute"        # absolute | a relative mode | trigger | set | held | toggle
    value: Any = None             # for set / held / toggle
    lo: float | None = None       # numeric range the control covers (may be reversed)
    hi: float | None = None
    values: tuple = ()            # discrete values the control steps through
    follows_choices: bool = False # values are the store's choices for param now (dream.layer)
    curve: str = "lin"
    shape: float = 1.0
    hires: bool = False           # 14-bit: this CC is the MSB, CC+32 the LSB
    pickup: bool = True
    step: float | None = None     # relative: parameter units per encoder tick
    ticks: float = 128.0          # relative: encoder ticks for the whole range (when no step)
    feedback: bool = True
    led_on: int = 127
    led_off: int = 0
    led_channel: int | None = None
    where: str = ""               # "nanokontrol2.toml, cc entry 3" for messages

    # derived --------------------------------------------------------------------------------
    @property
    def control(self) -> tuple[str, int | None, int]:
        return (self.kind, self.channel, self.number)

    @property
    def is_press(self) -> bool:
        return self.mode in ("trigger",) + PRESS_MODES

    @property
    def is_relative(self) -> bool:
        return self.mode in RELATIVE_MODES

    @property
    def full(self) -> int:
        return 16383 if self.hires else 127

    @property
    def tolerance(self) -> float:
        """How close (in control travel, 0..1) a control must come to the value to pick it up."""
        tol = 1.5 / 127.0
        n = self._steps()
        if n and n > 1:
            tol = max(tol, 0.5 / (n - 1))
        return tol

    def _steps(self) -> int | None:
        if self.values:
            return len(self.values)
        p = params.REGISTRY.get(self.param or "")
        if p is not None and p.type == "int" and self.lo is not None:
            return int(abs(self.hi - self.lo)) + 1
        return None

    def describe(self) -> str:
        ch = "any channel" if self.channel is None else f"channel {self.channel + 1}"
        ctl = f"{self.kind} {self.number}" + (" (14-bit)" if self.hires else "")
        target = self.action if self.mode == "trigger" else self.param
        extra = "" if self.mode in ("absolute", "trigger") else f" ({self.mode})"
        return f"{ctl} on {ch} -> {target}{extra}"

    def sync_choices(self, store) -> None:
        """For an enum whose choices depend on another parameter (dream.layer on dream.model):
        step through the choices it has now, not every network's layers."""
        if self.follows_choices:
            self.values = store.choices(self.param)

    def from_x(self, x: float) -> Any:
        """Control position 0..1 -> parameter value."""
        y = curve_apply(self.curve, self.shape, x)
        if self.values:
            n = len(self.values)
            return self.values[min(int(round(y * (n - 1))), n - 1)]
        p = params.REGISTRY[self.param]
        if p.type == "bool":
            return y >= 0.5
        v = self.lo + y * (self.hi - self.lo)
        return int(round(v)) if p.type == "int" else v

    def to_x(self, value: Any) -> float | None:
        """Parameter value -> control position 0..1 (None when the control can't show it)."""
        if self.values:
            for i, v in enumerate(self.values):
                if same_value(v, value):
                    y = i / (len(self.values) - 1) if len(self.values) > 1 else 0.5
                    break
            else:
                return None
        else:
            p = params.REGISTRY[self.param]
            if p.type == "bool":
                y = 1.0 if value else 0.0
            else:
                try:
                    y = 0.0 if self.hi == self.lo else (float(value) - self.lo) / (self.hi - self.lo)
                except (TypeError, ValueError):
                    return None
        return curve_invert(self.curve, self.shape, y)

    def to_toml(self, map_channel: int | None = None) -> str:
        """This binding as a `[[cc]]`/`[[note]]` block (what `midi learn` writes)."""
        lines = [f"[[{self.kind}]]", f"{self.kind} = {self.number}"]
        if self.channel != map_channel:
            lines.append(f"channel = {0 if self.channel is None else self.channel + 1}")
        if self.mode == "trigger":
            lines.append(f"action = {toml_value(self.action)}")
            if self.args:
                lines.append(f"args = {toml_value(list(self.args))}")
            return "\n".join(lines) + "\n"
        lines.append(f"param = {toml_value(self.param)}")
        if not (self.kind == "cc" and self.mode == "absolute"):
            lines.append(f"mode = {toml_value(self.mode)}")
        if self.value is not None:
            lines.append(f"value = {toml_value(self.value)}")
        if self.hires:
            lines.append("hires = true")
        if self.step is not None:
            lines.append(f"step = {toml_value(self.step)}")
        return "\n".join(lines) + "\n"


def toml_value(v: Any) -> str:
    """A value as TOML."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    return json.dumps(str(v))  # a JSON string is a valid TOML basic string


@dataclass
class ProgramMap:
    channel: int | None = None
    presets: tuple[str, ...] = ()   # program 0 -> presets[0]; empty: the `liveart presets` list
    morph: str | None = None        # morph length ("4" seconds, "8b" beats) instead of loading


@dataclass
class MidiMap:
    name: str = "empty"
    description: str = ""
    match: tuple[str, ...] = ()     # input port name prefixes this map is for (--midi auto)
    output: str | None = None       # output port name prefix for feedback
    channel: int | None = None      # the map's default channel
    feedback: bool = True
    feedback_rate: float = 30.0     # messages per second per control at most
    bindings: list[Binding] = field(default_factory=list)
    program: ProgramMap | None = None
    path: Path | None = None

    def matches(self, port_name: str) -> str | None:
        """The prefix of `match` that `port_name` starts with (case-insensitive), or None."""
        low = port_name.lower()
        for prefix in self.match:
            if low.startswith(prefix.lower()):
                return prefix
        return None

    def summary(self) -> str:
        n_cc = sum(b.kind == "cc" for b in self.bindings)
        n_note = sum(b.kind == "note" for b in self.bindings)
        prog = ", program change -> presets" if self.program else ""
        return f"{n_cc} CC and {n_note} note bindings{prog}"

