"""A MIDI map's TOML data -> a validated MidiMap: every key, range, mode, curve, parameter,
action (from `params.actions.ACTIONS`) and preset is checked, and a mistake is one UserError
naming the file, the entry, the line and the problem."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from ... import params
from ...errors import UserError
from ...params.actions import ACTIONS, morph_seconds
from ...params.scene import check_scene_spec
from ...presets import find_preset
from ...tomlpos import Positions, at_line
from .binding import CC_MODES, NOTE_MODES, PRESS_MODES, RELATIVE_MODES, Binding, MidiMap, ProgramMap
from .curves import CURVES, DEFAULT_SHAPE

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
    channel = parse_channel(data.get("channel", 0), fail, "channel")
    rate = data.get("feedback_rate", 30.0)
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 < rate <= 1000:
        raise fail(f"feedback_rate must be messages per second (1 to 1000), not {rate!r}.")
    defaults = {
        "pickup": _bool(data.get("pickup", True), fail, "pickup"),
        "feedback": _bool(data.get("feedback", True), fail, "feedback"),
        "led_on": _byte(data.get("led_on", 127), fail, "led_on"),
        "led_off": _byte(data.get("led_off", 0), fail, "led_off"),
        "led_channel": parse_channel(data.get("led_channel", 0), fail, "led_channel"),
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
    b = Binding(kind, number, parse_channel(e["channel"], fail, "channel") if "channel" in e else map_channel,
                where=where, pickup=defaults.get("pickup", True),
                feedback=_bool(e.get("feedback", defaults.get("feedback", True)), fail, "feedback"),
                led_on=_byte(e.get("led_on", defaults.get("led_on", 127)), fail, "led_on"),
                led_off=_byte(e.get("led_off", defaults.get("led_off", 0)), fail, "led_off"))
    led_ch = parse_channel(e["led_channel"], fail, "led_channel") if "led_channel" in e else defaults.get("led_channel")
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
        b.follows_choices = p.choices_from is not None
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
    pm = ProgramMap(channel=parse_channel(t["channel"], fail, "channel") if "channel" in t else map_channel)
    presets = t.get("presets", [])
    if not isinstance(presets, list) or not all(isinstance(s, str) for s in presets) or len(presets) > 128:
        raise fail("program: presets must be a list of up to 128 preset names.")
    for name in presets:
        _checked(find_preset, name, fail, "program: ")
    pm.presets = tuple(presets)
    if "morph" in t:
        pm.morph = str(t["morph"])
        _checked(morph_seconds, pm.morph, fail)
    return pm


def _checked(check: Callable[[Any], Any], value: Any, fail, prefix: str = "") -> Any:
    """check(value), its UserError told as this map's (prefix + the sentence)."""
    try:
        return check(value)
    except UserError as e:
        raise fail(prefix + str(e)) from None


def _check_action(name: Any, args: Any, fail) -> tuple[str, tuple]:
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
        _checked(find_preset, str(args[0]), fail)
        if name == "preset/morph":
            _checked(morph_seconds, args[1], fail)
    elif name == "scene":
        _checked(check_scene_spec, str(args[0]), fail)
    return name, tuple(args)


def _coerce(p: params.Param, raw: Any, fail) -> Any:
    value = _checked(p.coerce, raw, fail)
    if isinstance(raw, (int, float)) and p.outside_range(raw):
        raise fail(f"{raw} is outside {p.name}'s range {p.range_text}.")
    return value


def parse_channel(v: Any, fail, key: str) -> int | None:
    """A map's channel 1-16 -> 0-15; 0 or "any" -> None (every channel)."""
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

