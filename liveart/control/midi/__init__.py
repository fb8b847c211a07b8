"""MIDI mapping: controller maps (TOML) and the handler that applies messages to the show.

A map (`patches/midi/*.toml`, format in `patches/midi/README.md`) binds controls to parameters
and actions:

* `[[cc]]` entries: absolute faders/knobs (range, curve, soft takeover), relative encoders
  (signed-bit, signed-bit-2, bin-offset, twos-complement), 14-bit pairs (MSB 0-31 with LSB
  32-63) and CC buttons;
* `[[note]]` entries: triggers and actions, values that are set, held while the note is down,
  or toggled;
* `[program]`: program change N loads (or morphs to) a preset.

`MidiHandler.handle(msg)` is the one live path: the port callback, `--midi-file` playback and
`liveart midi replay` all feed it mido messages. It never raises: a message it can't apply is
logged and the show goes on. `MidiHandler.feedback(send)` sends the LED/value feedback that
changed since the last call (rate-limited per control). `MidiLearn` assigns a control to a
parameter from the next control moved (two consecutive messages from it, so one stray CC is
ignored).
"""
from __future__ import annotations

import json
import logging
import math
import re
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from ... import params
from ...errors import UserError
from ...tomlpos import Positions, at_line, read_toml
from ...userdirs import config_dir

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

log = logging.getLogger(__name__)

RELATIVE_MODES = ("signed-bit", "signed-bit-2", "bin-offset", "twos-complement")
PRESS_MODES = ("set", "held", "toggle")
CC_MODES = ("absolute",) + RELATIVE_MODES + PRESS_MODES
NOTE_MODES = PRESS_MODES
CURVES = ("lin", "exp", "log", "center")
DEFAULT_SHAPE = {"lin": 1.0, "exp": 4.0, "log": 4.0, "center": 2.0}
CLOCK_TYPES = ("clock", "start", "stop", "continue", "songpos")
TOUCH_HOLD = 0.3  # s: no value feedback to a control while it is being moved
_CENTER_DEADBAND = 1.0 / 127.0  # CC 63 and 64 both land on the middle of a "center" curve


# -- relative encoders and curves ----------------------------------------------------------------
def decode_relative(mode: str, value: int) -> int:
    """Encoder ticks (+ clockwise) from one relative CC value, as Ableton, Bitwig and Reaper read them.

    * twos-complement (Ableton "2's Comp.", Reaper "Relative 1"): 1..64 = +1..+64, 127..65 = -1..-63
    * bin-offset (Ableton "Bin Offset", Reaper "Relative 2"): value - 64, so 65 = +1, 63 = -1
    * signed-bit (Ableton "Signed Bit", Reaper "Relative 3"): bit 6 is the sign: 1..63 = +1..+63,
      65..127 = -1..-63
    * signed-bit-2 (Ableton "Signed Bit 2"): the opposite sign: 65..127 = +1..+63, 1..63 = -1..-63

    0 (and 64 in the signed-bit modes, a "negative zero") is no movement.
    """
    v = int(value) & 0x7F
    if mode == "twos-complement":
        return v if v <= 64 else v - 128
    if mode == "bin-offset":
        return v - 64
    if mode == "signed-bit":
        return -(v & 0x3F) if v & 0x40 else v
    if mode == "signed-bit-2":
        return (v & 0x3F) if v & 0x40 else -v
    raise ValueError(f"unknown relative mode {mode}")


def curve_apply(curve: str, shape: float, x: float) -> float:
    """Control position x (0..1) -> fraction y (0..1) of the mapped range."""
    x = min(max(float(x), 0.0), 1.0)
    if curve == "exp":
        return math.expm1(shape * x) / math.expm1(shape)
    if curve == "log":
        return math.log1p(math.expm1(shape) * x) / shape
    if curve == "center":
        u = 2.0 * x - 1.0
        a = max(abs(u) - _CENTER_DEADBAND, 0.0) / (1.0 - _CENTER_DEADBAND)
        return 0.5 + 0.5 * math.copysign(a ** shape, u) if a > 0 else 0.5
    return x


def curve_invert(curve: str, shape: float, y: float) -> float:
    """Fraction y (0..1) of the mapped range -> control position x (0..1): feedback and pickup."""
    y = min(max(float(y), 0.0), 1.0)
    if curve == "exp":
        return math.log1p(y * math.expm1(shape)) / shape
    if curve == "log":
        return math.expm1(shape * y) / math.expm1(shape)
    if curve == "center":
        w = 2.0 * y - 1.0
        a = abs(w) ** (1.0 / shape)
        if a == 0:
            return 0.5
        u = a * (1.0 - _CENTER_DEADBAND) + _CENTER_DEADBAND
        return (1.0 + math.copysign(u, w)) / 2.0
    return y


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool) or not (
            isinstance(a, (int, float)) and isinstance(b, (int, float))):
        return a == b
    return abs(float(a) - float(b)) <= 1e-9 * max(1.0, abs(float(a)), abs(float(b)))


# -- the map -------------------------------------------------------------------------------------
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
                if _same(v, value):
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
            lines.append(f"action = {_toml(self.action)}")
            if self.args:
                lines.append(f"args = {_toml(list(self.args))}")
            return "\n".join(lines) + "\n"
        lines.append(f"param = {_toml(self.param)}")
        if not (self.kind == "cc" and self.mode == "absolute"):
            lines.append(f"mode = {_toml(self.mode)}")
        if self.value is not None:
            lines.append(f"value = {_toml(self.value)}")
        if self.hires:
            lines.append("hires = true")
        if self.step is not None:
            lines.append(f"step = {_toml(self.step)}")
        return "\n".join(lines) + "\n"


def _toml(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml(x) for x in v) + "]"
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


# -- finding and loading maps ------------------------------------------------------------------
def _shipped_dir() -> Path:
    """The shipped maps: package data (`patches/midi/` of the source tree, packaged as
    liveart.midimaps); the source tree's folder when run uninstalled."""
    try:
        from importlib.resources import files

        return Path(str(files("liveart.midimaps")))
    except ModuleNotFoundError:  # run from a checkout without installing
        return Path(__file__).resolve().parents[3] / "patches" / "midi"


SHIPPED = _shipped_dir()


def user_maps_dir() -> Path:
    return config_dir() / "midi"


def list_maps() -> dict[str, Path]:
    """name -> file; your maps (config dir/midi) win over the shipped ones of the same name."""
    found: dict[str, Path] = {}
    for folder in (SHIPPED, user_maps_dir()):
        if folder.is_dir():
            for f in sorted(folder.glob("*.toml")):
                found[f.stem] = f
    return dict(sorted(found.items()))


def find_map(name_or_path: str | Path) -> Path:
    text = str(name_or_path)
    path = Path(text).expanduser()
    if path.suffix == ".toml" or path.exists():
        if not path.is_file():
            raise UserError(f"MIDI map {text} does not exist.")
        return path
    maps = list_maps()
    if text in maps:
        return maps[text]
    raise UserError(f"Unknown MIDI map {text!r}; available maps are: {', '.join(maps) or 'none'} "
                    "(or give a .toml file).")


def load_map(name_or_path: str | Path) -> MidiMap:
    """Load and validate a map; UserError naming the file, the entry and the problem."""
    path = find_map(name_or_path)
    text, data = read_toml(path, "MIDI map")
    m = parse_map(data, str(path), Positions(text))
    m.path = path
    return m


_MAP_KEYS = {"name", "description", "match", "output", "channel", "pickup", "feedback",
             "feedback_rate", "led_on", "led_off", "led_channel", "cc", "note", "program"}
_COMMON_KEYS = {"channel", "param", "action", "args", "mode", "value", "feedback", "led_on",
                "led_off", "led_channel"}
_CC_KEYS = _COMMON_KEYS | {"cc", "range", "values", "curve", "shape", "hires", "pickup", "step",
                           "ticks"}
_NOTE_KEYS = _COMMON_KEYS | {"note"}
_PROGRAM_KEYS = {"channel", "presets", "morph"}


def parse_map(data: dict, source: str = "<map>", positions: Positions | None = None) -> MidiMap:
    """`positions` (of the file's text) lets errors name the line."""

    name = Path(source).name
    pos = positions or Positions("")

    def fail(msg: str, line: int | None = None) -> UserError:
        return UserError(f"MIDI map {source}{at_line(line)}: {msg}")

    unknown = sorted(set(data) - _MAP_KEYS)
    if unknown:
        raise fail(f"unknown setting {unknown[0]!r}; settings are {', '.join(sorted(_MAP_KEYS))}.",
                   pos.key(unknown[0]))
    match = data.get("match", [])
    if isinstance(match, str):
        match = [match]
    if not isinstance(match, list) or not all(isinstance(s, str) and s for s in match):
        raise fail("match must be a list of port name prefixes, e.g. [\"nanoKONTROL2\"].")
    output = data.get("output")
    if output is not None and not isinstance(output, str):
        raise fail("output must be a port name prefix.")
    channel = _channel(data.get("channel", 0), fail, "channel")
    rate = data.get("feedback_rate", 30.0)
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 < rate <= 1000:
        raise fail(f"feedback_rate must be messages per second (1 to 1000), not {rate!r}.")
    defaults = {
        "pickup": _bool(data.get("pickup", True), fail, "pickup"),
        "feedback": _bool(data.get("feedback", True), fail, "feedback"),
        "led_on": _byte(data.get("led_on", 127), fail, "led_on"),
        "led_off": _byte(data.get("led_off", 0), fail, "led_off"),
        "led_channel": _channel(data.get("led_channel", 0), fail, "led_channel"),
    }
    m = MidiMap(name=str(data.get("name", Path(source).stem)),
                description=str(data.get("description", "")), match=tuple(match), output=output,
                channel=channel, feedback=defaults["feedback"], feedback_rate=float(rate))
    for kind in ("cc", "note"):
        entries = data.get(kind, [])
        if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
            raise fail(f"{kind} entries are written [[{kind}]] tables.")
        for i, entry in enumerate(entries, 1):
            where = f"{kind} entry {i}"
            line = pos.entry(kind, i)
            m.bindings.append(parse_binding(kind, entry, channel, defaults,
                                            lambda msg, w=where, n=line: fail(f"{w}: {msg}", n),
                                            f"{name}, {where}"))
    _check_hires(m, fail)
    if "program" in data:
        m.program = _parse_program(data["program"], channel, fail)
    return m


def parse_binding(kind: str, e: dict, map_channel: int | None, defaults: dict,
                  fail: Callable[[str], UserError], where: str = "") -> Binding:
    """One `[[cc]]`/`[[note]]` table -> a validated Binding."""
    allowed = _CC_KEYS if kind == "cc" else _NOTE_KEYS
    unknown = sorted(set(e) - allowed)
    if unknown:
        raise fail(f"unknown key {unknown[0]!r}; keys are {', '.join(sorted(allowed))}.")
    if kind not in e:
        raise fail(f"needs {kind} = NUMBER (0-127).")
    number = _byte(e[kind], fail, kind)
    b = Binding(kind, number, _channel(e["channel"], fail, "channel") if "channel" in e else map_channel,
                where=where, pickup=defaults.get("pickup", True),
                feedback=_bool(e.get("feedback", defaults.get("feedback", True)), fail, "feedback"),
                led_on=_byte(e.get("led_on", defaults.get("led_on", 127)), fail, "led_on"),
                led_off=_byte(e.get("led_off", defaults.get("led_off", 0)), fail, "led_off"))
    led_ch = _channel(e["led_channel"], fail, "led_channel") if "led_channel" in e else defaults.get("led_channel")
    b.led_channel = led_ch
    has_param, has_action = "param" in e, "action" in e
    if has_param == has_action:
        raise fail("needs either param = NAME or action = NAME (see 'liveart params').")
    if has_action:
        b.action, b.args = _check_action(e["action"], e.get("args", []), fail)
        b.mode = "trigger"
        if "mode" in e and e["mode"] != "trigger":
            raise fail("an action fires when the control is pressed; it takes no mode.")
        return b
    pname = e["param"]
    if not isinstance(pname, str) or pname not in params.REGISTRY:
        raise fail(f"unknown parameter {pname!r}; see 'liveart params' for the valid names.")
    p = params.REGISTRY[pname]
    if "args" in e:
        raise fail("args go with action, not param.")
    if p.type == "trigger":  # a trigger parameter is fired like an action
        if "mode" in e or "value" in e:
            raise fail(f"{pname} is a trigger: it fires on press and takes no mode or value.")
        b.action, b.mode = pname, "trigger"
        return b
    b.param = pname
    modes = CC_MODES if kind == "cc" else NOTE_MODES
    if "mode" in e:
        mode = e["mode"]
        if mode not in modes:
            raise fail(f"mode must be one of {', '.join(modes)}, not {mode!r}.")
    elif "value" in e:
        mode = "held"
    elif kind == "note":
        if p.type != "bool":
            raise fail(f"a note on {pname} needs value = V (held while the note is down) "
                       "and optionally mode = \"set\" or \"toggle\".")
        mode = "toggle"
    else:
        mode = "absolute"
    b.mode = mode
    if mode in PRESS_MODES:
        for key in ("range", "values", "curve", "shape", "hires", "step", "ticks"):
            if key in e:
                raise fail(f"{key} is for faders, knobs and encoders, not mode {mode!r}.")
        if "value" in e:
            b.value = _coerce(p, e["value"], fail)
        elif not (mode == "toggle" and p.type == "bool"):
            raise fail(f"mode {mode!r} needs value = V for {pname}.")
        return b
    # a continuous control: absolute or relative
    if "value" in e:
        raise fail(f"value is for buttons (mode set/held/toggle), not mode {mode!r}.")
    curve = e.get("curve", "lin")
    if curve not in CURVES:
        raise fail(f"curve must be one of {', '.join(CURVES)}, not {curve!r}.")
    b.curve = curve
    shape = e.get("shape", DEFAULT_SHAPE[curve])
    if isinstance(shape, bool) or not isinstance(shape, (int, float)) or not 0.1 <= shape <= 20:
        raise fail(f"shape must be a number from 0.1 to 20, not {shape!r}.")
    b.shape = float(shape)
    b.pickup = _bool(e.get("pickup", b.pickup), fail, "pickup")
    b.hires = _bool(e.get("hires", False), fail, "hires")
    if b.hires and (kind != "cc" or number > 31):
        raise fail("hires (14-bit) takes an MSB controller 0-31; its LSB is that number + 32.")
    if b.hires and mode != "absolute":
        raise fail("hires (14-bit) is for absolute controls, not relative encoders.")
    if "values" in e:
        vals = e["values"]
        if not isinstance(vals, list) or not vals:
            raise fail("values must be a non-empty list.")
        if "range" in e:
            raise fail("give range or values, not both.")
        b.values = tuple(_coerce(p, v, fail) for v in vals)
    elif p.type == "enum":
        b.values = p.choices
    elif p.type == "str":
        raise fail(f"{pname} is text: a fader or knob needs values = [...] to step through.")
    elif p.type in ("float", "int"):
        lo, hi = p.min, p.max
        if "range" in e:
            r = e["range"]
            if (not isinstance(r, list) or len(r) != 2 or
                    not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in r)):
                raise fail("range must be [low, high] in the parameter's units.")
            if not all(p.min <= x <= p.max for x in r):
                raise fail(f"range {r} is outside {pname}'s range {p.range_text}.")
            lo, hi = r
        b.lo, b.hi = float(lo), float(hi)
    if "step" in e:
        step = e["step"]
        if mode not in RELATIVE_MODES:
            raise fail("step is for relative encoders.")
        if (isinstance(step, bool) or not isinstance(step, (int, float)) or step <= 0
                or p.type not in ("float", "int") or "values" in e):
            raise fail("step must be a positive number of parameter units per encoder tick.")
        b.step = float(step)
    if "ticks" in e:
        ticks = e["ticks"]
        if isinstance(ticks, bool) or not isinstance(ticks, (int, float)) or not 1 <= ticks <= 100000:
            raise fail("ticks must be the number of encoder ticks for the whole range (1 or more).")
        if mode not in RELATIVE_MODES:
            raise fail("ticks is for relative encoders.")
        b.ticks = float(ticks)
    return b


def _check_hires(m: MidiMap, fail) -> None:
    hires = [b for b in m.bindings if b.hires]
    for b in m.bindings:
        if b.kind != "cc" or b.hires:
            continue
        for h in hires:
            if b.number == h.number + 32 and (b.channel == h.channel or None in (b.channel, h.channel)):
                raise fail(f"cc {b.number} is the LSB of 14-bit cc {h.number}; it can't be "
                           "bound on its own.")


def _parse_program(t: Any, map_channel, fail) -> ProgramMap:
    if not isinstance(t, dict):
        raise fail("program is a table: [program] presets = [...].")
    unknown = sorted(set(t) - _PROGRAM_KEYS)
    if unknown:
        raise fail(f"program: unknown key {unknown[0]!r}; keys are {', '.join(sorted(_PROGRAM_KEYS))}.")
    pm = ProgramMap(channel=_channel(t["channel"], fail, "channel") if "channel" in t else map_channel)
    presets = t.get("presets", [])
    if not isinstance(presets, list) or not all(isinstance(s, str) for s in presets) or len(presets) > 128:
        raise fail("program: presets must be a list of up to 128 preset names.")
    from ...presets import find_preset

    for name in presets:
        try:
            find_preset(name)
        except UserError as e:
            raise fail(f"program: {e}") from None
    pm.presets = tuple(presets)
    if "morph" in t:
        pm.morph = str(t["morph"])
        _seconds(pm.morph, fail)
    return pm


def _seconds(length: Any, fail) -> float:
    from ...params.actions import morph_seconds

    try:
        return morph_seconds(length)
    except UserError as e:
        raise fail(str(e)) from None


def _check_action(name: Any, args: Any, fail) -> tuple[str, tuple]:
    from ...params.actions import ACTIONS

    if not isinstance(args, list):
        args = [args]
    triggers = sorted(n for n, p in params.REGISTRY.items() if p.type == "trigger")
    if name in params.REGISTRY and params.REGISTRY[name].type == "trigger":
        if args:
            raise fail(f"{name} is a trigger and takes no args.")
        return name, ()
    if name not in ACTIONS:
        raise fail(f"unknown action {name!r}; actions are {', '.join(sorted(ACTIONS) + triggers)}.")
    nargs = ACTIONS[name].nargs
    optional = len(ACTIONS[name].optional)  # record/start, snapshot: a name, or none
    if not nargs <= len(args) <= nargs + optional:
        wanted = f"{nargs} or {nargs + optional}" if optional else f"{nargs}"
        raise fail(f"action {name} takes {wanted} argument(s) in args = [...], got {len(args)}.")
    args = [str(a) if not isinstance(a, (int, float)) or isinstance(a, bool) else a for a in args]
    if name in ("preset/load", "preset/morph"):
        from ...presets import find_preset

        try:
            find_preset(str(args[0]))
        except UserError as e:
            raise fail(str(e)) from None
        if name == "preset/morph":
            _seconds(args[1], fail)
    elif name == "scene":
        from ...params.scene import check_scene_spec

        try:
            check_scene_spec(str(args[0]))
        except UserError as e:
            raise fail(str(e)) from None
    return name, tuple(args)


def _coerce(p: params.Param, raw: Any, fail) -> Any:
    try:
        value = p.coerce(raw)
    except UserError as e:
        raise fail(str(e)) from None
    if isinstance(raw, (int, float)) and p.outside_range(raw):
        raise fail(f"{raw} is outside {p.name}'s range {p.range_text}.")
    return value


def _channel(v: Any, fail, key: str) -> int | None:
    if v == "any" or v == 0:
        return None
    if isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= 16:
        raise fail(f"{key} must be a MIDI channel 1-16 (0 or \"any\" for every channel), not {v!r}.")
    return v - 1


def _byte(v: Any, fail, key: str) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= 127:
        raise fail(f"{key} must be a number from 0 to 127, not {v!r}.")
    return v


def _bool(v: Any, fail, key: str) -> bool:
    if not isinstance(v, bool):
        raise fail(f"{key} must be true or false, not {v!r}.")
    return v


# -- saving a learned binding ----------------------------------------------------------------
_HEADER_RE = re.compile(r"^\s*\[\[?\s*([A-Za-z0-9_.\-]+)\s*\]\]?\s*(#.*)?$")


def save_binding(path: str | Path, binding: Binding) -> Path:
    """Add `binding` to the map file `path` (created if missing), replacing the entries of the
    same control. Everything else in the file, comments included, is kept."""
    path = Path(path).expanduser()
    if path.exists():
        text, top = read_toml(path, "MIDI map")
        map_channel = _channel(top.get("channel", 0), lambda m: UserError(f"MIDI map {path}: {m}"),
                               "channel")
        text = _drop_control(text, binding, map_channel)
    else:
        if not path.parent.is_dir():
            raise UserError(f"Cannot write MIDI map {path}: folder {path.parent} does not exist.")
        map_channel = None
        text = (f"# liveart MIDI map, written by 'liveart midi learn'; format: patches/midi/README.md\n"
                f"name = {_toml(path.stem)}\nmatch = []\n")
    if not text.endswith("\n"):
        text += "\n"
    text += "\n" + binding.to_toml(map_channel)
    try:
        parse_map(tomllib.loads(text), str(path))  # never write a map that won't load
    except tomllib.TOMLDecodeError as e:  # pragma: no cover
        raise UserError(f"MIDI map {path} would not be valid TOML after learning: {e}.") from None
    from ...atomic import write_atomic

    try:  # atomic: a kill mid-save leaves the old map, never half of one
        return write_atomic(path, text)
    except OSError as e:
        raise UserError(f"Could not save MIDI map {path}: {e.strerror or e}.") from None


def _drop_control(text: str, binding: Binding, map_channel: int | None) -> str:
    lines = text.splitlines(keepends=True)
    starts = [i for i, line in enumerate(lines) if _HEADER_RE.match(line)]
    keep = list(lines[:starts[0]] if starts else lines)
    for j, start in enumerate(starts):
        end = starts[j + 1] if j + 1 < len(starts) else len(lines)
        block = lines[start:end]
        header = _HEADER_RE.match(block[0]).group(1)
        if block[0].lstrip().startswith("[[") and header == binding.kind:
            try:
                entry = tomllib.loads("".join(block))[header][0]
                ch = _channel(entry["channel"], lambda m: UserError(m), "channel") \
                    if "channel" in entry else map_channel
                if entry.get(header) == binding.number and ch == binding.channel:
                    continue
            except (tomllib.TOMLDecodeError, UserError, KeyError, IndexError, TypeError):
                pass
        keep.extend(block)
    return "".join(keep)


# -- the handler -------------------------------------------------------------------------------
@dataclass
class _State:
    last_x: float | None = None     # last physical position (absolute)
    engaged: bool = False           # pickup: the control has caught the value
    last_set: Any = None            # what this binding last stored
    acc: float | None = None        # relative: position in control space
    msb: int | None = None          # 14-bit
    seen_lsb: bool = False
    down: bool = False              # buttons
    base: Any = None                # toggle: the value to go back to


@dataclass
class _Feedback:
    sent: Any = None
    time: float = -1e9
    touched: float = -1e9


class MidiHandler:
    """Applies MIDI messages to a ParamStore and Actions through a MidiMap. Thread-safe."""

    def __init__(self, store, actions, midimap: MidiMap | None = None, clock=None):
        self.store = store
        self.actions = actions
        self.clock = clock
        self.learn: MidiLearn | None = None
        self._lock = threading.RLock()
        self.set_map(midimap or MidiMap())

    # -- map ------------------------------------------------------------------------------
    def set_map(self, midimap: MidiMap) -> None:
        with self._lock:
            self.map = midimap
            self._state: dict[int, _State] = {}
            self._held: dict[str, list[tuple[int, Any]]] = {}
            self._held_base: dict[str, Any] = {}
            self._held_set: dict[str, Any] = {}
            self._reindex()

    def add_binding(self, binding: Binding) -> None:
        """Add `binding`, replacing what the same control did (MIDI learn)."""
        with self._lock:
            self.map.bindings = [b for b in self.map.bindings if b.control != binding.control] + [binding]
            self._reindex()

    def _reindex(self) -> None:
        self._index: dict[tuple, list[tuple[Binding, str]]] = {}
        for b in self.map.bindings:
            self._index.setdefault(b.control, []).append((b, "main"))
            if b.hires:
                self._index.setdefault(("cc", b.channel, b.number + 32), []).append((b, "lsb"))
        seen: set = set()
        self._fb_bindings: list[Binding] = []
        for b in self.map.bindings:
            if b.control not in seen and b.feedback and b.mode != "trigger":
                self._fb_bindings.append(b)
            seen.add(b.control)
        self._fb: dict[tuple, _Feedback] = {}

    def _lookup(self, kind: str, channel: int, number: int) -> list[tuple[Binding, str]]:
        return self._index.get((kind, channel, number), []) + self._index.get((kind, None, number), [])

    def _st(self, b: Binding) -> _State:
        st = self._state.get(id(b))
        if st is None:
            st = self._state[id(b)] = _State()
        return st

    # -- messages -------------------------------------------------------------------------
    def handle(self, msg, now: float | None = None) -> None:
        """Apply one mido message. Never raises: problems are logged, the show goes on."""
        try:
            with self._lock:
                self._handle(msg, time.monotonic() if now is None else now)
        except UserError as e:
            log.warning("MIDI %s: %s", _short(msg), e)
        except Exception:
            log.exception("MIDI message %s could not be applied", _short(msg))

    def _handle(self, msg, now: float) -> None:
        t = msg.type
        if t in CLOCK_TYPES:
            if self.clock is not None:
                self.clock.handle(msg, now)
            return
        if t not in ("control_change", "note_on", "note_off", "program_change"):
            return
        if self.learn is not None and self.learn.armed and t != "program_change":
            self.learn.feed(msg)
            return
        if t == "control_change":
            self._cc(msg.channel, msg.control, msg.value, now)
        elif t == "program_change":
            self._program(msg.channel, msg.program)
        else:
            down = t == "note_on" and msg.velocity > 0
            for b, _ in self._lookup("note", msg.channel, msg.note):
                self._button(b, down, note=True)

    def _cc(self, channel: int, control: int, value: int, now: float) -> None:
        for b, role in self._lookup("cc", channel, control):
            if b.is_press:
                self._button(b, value >= 64)
                continue
            if b.is_relative:
                self._relative(b, decode_relative(b.mode, value))
                continue
            st = self._st(b)
            if b.hires:
                if role == "lsb":
                    if st.msb is None:
                        continue
                    st.seen_lsb = True
                    raw = (st.msb << 7) | value
                else:
                    st.msb = value
                    if st.seen_lsb:
                        continue  # the LSB that follows completes the value
                    raw = round(value / 127 * 16383)  # no LSB from this control (yet)
            else:
                raw = value
            fb = self._fb.get(b.control)
            if fb is None:
                fb = self._fb[b.control] = _Feedback()
            fb.touched, fb.sent = now, raw
            self._absolute(b, raw / b.full)

    def _absolute(self, b: Binding, x: float) -> None:
        st = self._st(b)
        p = params.REGISTRY[b.param]
        if b.pickup and p.type != "bool":
            cur = self.store.get(b.param)
            if st.engaged and not _same(cur, st.last_set):
                st.engaged = False  # changed meanwhile by another control, OSC, a preset or a morph
            if not st.engaged:
                xc = b.to_x(cur)
                prev, tol = st.last_x, b.tolerance
                if (xc is None or abs(x - xc) <= tol or
                        (prev is not None and min(prev, x) - 1e-9 <= xc <= max(prev, x) + 1e-9)):
                    st.engaged = True
                st.last_x = x
                if not st.engaged:
                    return
        st.last_x = x
        self._set(b, b.from_x(x))

    def _relative(self, b: Binding, delta: int) -> None:
        if delta == 0:
            return
        st = self._st(b)
        p = params.REGISTRY[b.param]
        cur = self.store.get(b.param)
        if p.type == "bool":
            self._set(b, delta > 0)
            return
        if b.step is not None:
            self._set(b, float(cur) + delta * b.step)
            return
        if st.acc is None or not _same(cur, st.last_set):
            x = b.to_x(cur)
            st.acc = 0.5 if x is None else x
        st.acc = min(max(st.acc + delta / b.ticks, 0.0), 1.0)
        self._set(b, b.from_x(st.acc))

    def _button(self, b: Binding, down: bool, note: bool = False) -> None:
        st = self._st(b)
        if b.mode == "trigger":
            # a note-on always fires (pads retrigger); a CC button fires on its press edge
            fire = down and (note or not st.down)
            st.down = down
            if fire:
                self.actions.run(b.action, *b.args)
            return
        if down == st.down:
            return
        st.down = down
        p = b.param
        if b.mode == "set":
            if down:
                self._set(b, b.value)
        elif b.mode == "toggle":
            if not down:
                return
            cur = self.store.get(p)
            if b.value is None:
                self._set(b, not cur)
            elif _same(cur, b.value):
                self._set(b, params.REGISTRY[p].default if st.base is None else st.base)
            else:
                st.base = cur
                self._set(b, b.value)
        elif b.mode == "held":
            stack = self._held.setdefault(p, [])
            if down:
                if not stack:
                    self._held_base[p] = self.store.get(p)
                stack.append((id(b), b.value))
                self._held_set[p] = self._set(b, b.value)
            else:
                self._release(p, id(b))

    def _release(self, p: str, key: int | None) -> None:
        stack = self._held.get(p, [])
        if key is not None:
            if not any(k == key for k, _ in stack):
                return
            stack[:] = [(k, v) for k, v in stack if k != key]
        else:
            stack.clear()
        mine = _same(self.store.get(p), self._held_set.get(p))  # else someone else changed it
        if stack:
            if mine:
                self._held_set[p] = self.store.set(p, stack[-1][1])
        else:
            base = self._held_base.pop(p, None)
            self._held_set.pop(p, None)
            if mine and base is not None:
                self.store.set(p, base)

    def release_all(self) -> None:
        """Let go of every held note/button (end of a MIDI file, a controller unplugged)."""
        with self._lock:
            for p in list(self._held):
                if self._held[p]:
                    self._release(p, None)
            for st in self._state.values():
                st.down = False

    def _program(self, channel: int, program: int) -> None:
        pm = self.map.program
        if pm is None or (pm.channel is not None and pm.channel != channel):
            return
        if pm.presets:
            names = list(pm.presets)
        else:
            from ...presets import list_presets

            names = list(list_presets())
        if program >= len(names):
            log.info("MIDI program change %d has no preset (there are %d)", program + 1, len(names))
            return
        if pm.morph:
            self.actions.run("preset/morph", names[program], pm.morph)
        else:
            self.actions.run("preset/load", names[program])

    def _set(self, b: Binding, value: Any) -> Any:
        v = self.store.set(b.param, value)
        self._st(b).last_set = v
        return v

    # -- feedback -------------------------------------------------------------------------
    def reset_feedback(self) -> None:
        """Forget what the controller shows, so the next feedback() sends every value."""
        with self._lock:
            self._fb = {}

    def feedback(self, send: Callable[[Any], None], now: float | None = None) -> int:
        """Send (through `send(mido.Message)`) the LED/value feedback that changed; returns how
        many messages went out. At most `feedback_rate` per second per control; a control being
        moved gets none (for TOUCH_HOLD s) so a motor fader doesn't fight the hand."""
        if not self.map.feedback:
            return 0
        import mido

        now = time.monotonic() if now is None else now
        count = 0
        with self._lock:
            min_gap = 1.0 / self.map.feedback_rate
            for b in self._fb_bindings:
                fb = self._fb.get(b.control)
                if fb is None:
                    fb = self._fb[b.control] = _Feedback()
                want = self._feedback_value(b)
                if want is None or want == fb.sent:
                    continue
                if now - fb.touched < TOUCH_HOLD or now - fb.time < min_gap:
                    continue
                ch = b.led_channel if b.led_channel is not None else (
                    b.channel if b.channel is not None else (self.map.channel or 0))
                if b.kind == "note":
                    msgs = [mido.Message("note_on", channel=ch, note=b.number, velocity=want)]
                elif b.hires:
                    msgs = [mido.Message("control_change", channel=ch, control=b.number, value=want >> 7),
                            mido.Message("control_change", channel=ch, control=b.number + 32,
                                         value=want & 0x7F)]
                else:
                    msgs = [mido.Message("control_change", channel=ch, control=b.number, value=want)]
                for m in msgs:
                    send(m)
                count += len(msgs)
                fb.sent, fb.time = want, now
        return count

    def _feedback_value(self, b: Binding) -> int | None:
        cur = self.store.get(b.param)
        if b.is_press:
            on = bool(cur) if b.value is None else _same(cur, b.value)
            return b.led_on if on else b.led_off
        x = b.to_x(cur)
        return None if x is None else int(round(x * b.full))


def _short(msg) -> str:
    try:
        return str(msg)
    except Exception:  # pragma: no cover
        return repr(msg)


# -- MIDI learn ---------------------------------------------------------------------------------
class MidiLearn:
    """Assign the next control moved to a parameter.

        learn = MidiLearn(handler, path="my.toml")   # or handler=None and read .assigned
        learn.arm("dream.mix")
        ... messages arrive (handler.handle routes them here while armed) ...
        learn.assigned  # -> Binding, added to the handler's map and saved to `path`

    A control is assigned after two consecutive messages from it (a press and release, or two
    steps of a fader), so a single stray CC from another control is ignored. A 14-bit fader
    (MSB 0-31 with its LSB 32-63 in between) is learned as one 14-bit control.
    """

    def __init__(self, handler: MidiHandler | None = None, path: str | Path | None = None,
                 mode: str = "absolute", note_mode: str = "held", copy_from: str | Path | None = None):
        if mode not in ("absolute",) + RELATIVE_MODES:
            raise UserError(f"MIDI learn mode must be absolute or one of {', '.join(RELATIVE_MODES)}, "
                            f"not {mode!r}.")
        if note_mode not in NOTE_MODES:
            raise UserError(f"MIDI learn note mode must be one of {', '.join(NOTE_MODES)}, not {note_mode!r}.")
        self.handler = handler
        self.path = Path(path) if path else None
        self.copy_from = Path(copy_from) if copy_from else None  # start a missing `path` as a copy
        self.mode, self.note_mode = mode, note_mode
        self._lock = threading.Lock()
        self._armed: str | None = None
        self._value: Any = None
        self._last: tuple | None = None
        self._count = 0
        self._lsb_seen = False
        self.assigned: Binding | None = None
        self.message = ""
        if handler is not None:
            handler.learn = self

    @property
    def armed(self) -> str | None:
        return self._armed

    def arm(self, param: str, value: Any = None, mode: str | None = None,
            note_mode: str | None = None) -> None:
        """Wait for a control for `param` (UserError for an unknown name). `value` is what a
        note/button sets (default: the parameter's current value)."""

        p = params.get(param)
        if value is not None and p.type != "trigger":
            value = p.coerce(value)
        with self._lock:
            if mode is not None:
                self.mode = mode
            if note_mode is not None:
                self.note_mode = note_mode
            self._armed, self._value = param, value
            self._last, self._count, self._lsb_seen = None, 0, False
            self.assigned = None
            self.message = f"move a control for {param}"

    def cancel(self) -> None:
        with self._lock:
            self._armed = None

    def feed(self, msg) -> Binding | None:
        """Offer one message; returns the Binding when this message completes an assignment."""
        with self._lock:
            if self._armed is None:
                return None
            if msg.type == "control_change":
                key = ("cc", msg.channel, msg.control)
                if (32 <= msg.control < 64 and self._last == ("cc", msg.channel, msg.control - 32)):
                    self._lsb_seen = True  # the LSB of a 14-bit pair: same control
                    return None
            elif msg.type in ("note_on", "note_off"):
                key = ("note", msg.channel, msg.note)
            else:
                return None
            if key == self._last:
                self._count += 1
            else:
                self._last, self._count, self._lsb_seen = key, 1, False
            if self._count < 2:
                return None
            binding = self._binding(key)
            param = self._armed
            self._armed = None
        if self.handler is not None:
            self.handler.add_binding(binding)
        saved = ""
        if self.path is not None:
            try:
                if not self.path.exists():
                    self.path.parent.mkdir(parents=True, exist_ok=True)
                    if self.copy_from is not None and self.copy_from.is_file():
                        self.path.write_bytes(self.copy_from.read_bytes())
                save_binding(self.path, binding)
                saved = f"; saved to {self.path}"
            except (UserError, OSError) as e:
                saved = f"; not saved: {e}"
                log.warning("MIDI learn: %s", e)
        self.assigned = binding
        self.message = f"{param} <- {binding.describe()}{saved}"
        log.info("MIDI learn: %s", self.message)
        return binding

    def _binding(self, key: tuple) -> Binding:
        kind, channel, number = key
        p = params.get(self._armed)
        b = Binding(kind, number, channel, where="learned")
        if p.type == "trigger":
            b.action, b.mode = p.name, "trigger"
            return b
        b.param = p.name
        if p.type == "bool" and self._value is None:
            b.mode = "toggle"
            return b
        if kind == "note" or p.type in ("str", "bool") or self._value is not None:
            b.mode = self.note_mode
            value = self._value
            if value is None:
                value = self.handler.store.get(p.name) if self.handler is not None else p.default
            b.value = value
            return b
        b.mode = self.mode
        if p.type == "enum":
            b.values = p.choices
        else:
            b.lo, b.hi = float(p.min), float(p.max)
        b.hires = self.mode == "absolute" and self._lsb_seen and number < 32
        return b
