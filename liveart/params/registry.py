"""The parameter registry: every controllable value is declared once, with `declare()`.

From a declaration come the OSC address, the `liveart params` table, `--set` and preset
validation, smoothing and the HUD. The declarations themselves are in this package, one module
per area (dream.py, style.py, ...), so the registry is complete after `import liveart.params`
and loads neither torch nor numpy.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from ..errors import UserError

OSC_PREFIX = "/liveart/"

TYPES = ("float", "int", "bool", "enum", "str", "trigger")
MAX_STR = 4096


@dataclass(frozen=True)
class ChoicesFrom:
    """An enum whose valid choices depend on another parameter's value: dream.layer's on
    dream.model. The enum's own `choices` list them all (docs, `liveart params`); the store
    keeps its value among `choices(value of param)` and, when that parameter changes to one
    the value isn't valid for, moves it to `fallback(new value)`."""
    param: str
    choices: Callable[[Any], tuple[str, ...]]
    fallback: Callable[[Any], str]


@dataclass(frozen=True)
class Param:
    name: str
    type: str
    default: Any
    description: str
    min: float | None = None
    max: float | None = None
    unit: str = ""
    smoothing: float = 0.0  # seconds to cover ~63% of a jump; 0 = immediate
    choices: tuple[str, ...] = ()
    check: Callable[[str], None] | None = None  # extra validation for str params (raises UserError)
    # stricter validation for values from the network (OSC, OSCQuery): e.g. style pictures by
    # name from their folder only, never a path
    remote_check: Callable[[str], None] | None = None
    choices_from: ChoicesFrom | None = None

    @property
    def address(self) -> str:
        return OSC_PREFIX + self.name.replace(".", "/")

    @property
    def range_text(self) -> str:
        if self.type == "enum":
            return choices_text(self.choices)
        if self.type == "bool":
            return "0|1"
        if self.min is not None:
            return f"{_fmt(self.min)}..{_fmt(self.max)}"
        return ""

    def coerce(self, value: Any, remote: bool = False, choices: Sequence[str] | None = None) -> Any:
        """Return `value` converted to this parameter's type and clamped to its range.

        Strings are accepted for every type (command line, presets, OSC 's'). Raises
        UserError with one sentence naming the valid choices when it can't be understood.
        An enum picks from `choices` when given (those it has now, see ChoicesFrom), else
        from all of its own.
        """
        if self.type == "trigger":
            return True
        if self.type == "bool":
            if isinstance(value, str):
                low = value.strip().lower()
                if low in ("1", "true", "on", "yes"):
                    return True
                if low in ("0", "false", "off", "no"):
                    return False
                raise UserError(f"{self.name} takes a boolean (1/0, true/false, on/off), not {_short(value)}.")
            return bool(value)
        if self.type == "enum":
            choices = self.choices if choices is None else choices
            text = str(value).strip()
            if text in choices:
                return text
            # An index is accepted too, so a fader or a note number can pick a choice.
            try:
                idx = int(float(text))
            except (ValueError, OverflowError):  # "x", "nan", "inf"
                raise UserError(f"{self.name} must be one of {', '.join(choices)}, "
                                f"not {_short(text)}.") from None
            return choices[min(max(idx, 0), len(choices) - 1)]
        if self.type == "str":
            text = str(value).strip()
            if len(text) > MAX_STR:  # a controller can't make us hold (or log) megabytes
                raise UserError(f"{self.name} takes at most {MAX_STR} characters, not {len(text)}.")
            if remote and self.remote_check is not None:
                self.remote_check(text)
            elif self.check is not None:
                self.check(text)
            return text
        try:
            num = float(value)
        except (TypeError, ValueError):
            raise UserError(
                f"{self.name} takes a number from {_fmt(self.min)} to {_fmt(self.max)}, "
                f"not {_short(value)}.") from None
        if not math.isfinite(num):
            raise UserError(f"{self.name} takes a finite number, not {_short(value)}.")
        num = min(max(num, self.min), self.max)
        return int(round(num)) if self.type == "int" else num

    def outside_range(self, raw: Any) -> bool:
        """True when `raw` (as typed in a preset or on the command line) is a number outside
        this numeric parameter's range; coerce() would clamp it."""
        if self.type not in ("float", "int") or isinstance(raw, bool):
            return False
        try:
            num = float(raw)
        except (TypeError, ValueError, OverflowError):
            return False
        return math.isfinite(num) and not (self.min <= num <= self.max)

    def to_json(self) -> dict:
        return {
            "name": self.name, "type": self.type, "min": self.min, "max": self.max,
            "default": self.default, "unit": self.unit, "smoothing": self.smoothing,
            "choices": list(self.choices), "address": self.address,
            "description": self.description,
        }


def choices_text(choices: Sequence[str]) -> str:
    """'a|b|c', or 'first..last (N choices)' for a long list."""
    return "|".join(choices) if len(choices) <= 6 else (
        f"{choices[0]}..{choices[-1]} ({len(choices)} choices)")


def _short(value: Any, limit: int = 60) -> str:
    """repr() cut to `limit` characters: an error about a 10 kB string must not carry it."""
    r = repr(value)
    return r if len(r) <= limit else r[:limit - 4] + "...'"


def _fmt(x: float | None) -> str:
    if x is None:
        return ""
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


REGISTRY: dict[str, Param] = {}
DEPENDENTS: dict[str, tuple[str, ...]] = {}  # name -> the enums whose choices follow its value


def declare(name: str, type: str, default: Any, description: str, *, min: float | None = None,
            max: float | None = None, unit: str = "", smoothing: float = 0.0,
            choices: Sequence[str] = (), check: Callable[[str], None] | None = None,
            remote_check: Callable[[str], None] | None = None,
            choices_from: ChoicesFrom | None = None) -> Param:
    """Declare a parameter once; declaring the same name twice is a programming error."""
    if name in REGISTRY:
        raise ValueError(f"parameter {name} declared twice")
    if type not in TYPES:
        raise ValueError(f"unknown parameter type {type}")
    if type in ("float", "int") and (min is None or max is None):
        raise ValueError(f"numeric parameter {name} needs min and max")
    if choices_from is not None and (type != "enum" or choices_from.param not in REGISTRY):
        raise ValueError(f"{name}: choices_from takes an enum and a parameter declared before it")
    p = Param(name, type, default, description, min, max, unit, smoothing, tuple(choices), check,
              remote_check, choices_from)
    if type != "trigger":
        p.coerce(default)  # a default outside its own range is a bug
    if choices_from is not None:
        master = REGISTRY[choices_from.param].default
        if default not in choices_from.choices(master):
            raise ValueError(f"{name}'s default is not a choice for {choices_from.param}'s")
        DEPENDENTS[choices_from.param] = DEPENDENTS.get(choices_from.param, ()) + (name,)
    REGISTRY[name] = p
    return p


def get(name: str) -> Param:
    try:
        return REGISTRY[name]
    except KeyError:
        raise UserError(f"Unknown parameter {_short(name)}{did_you_mean(str(name), REGISTRY)}; "
                        "'liveart params' lists them all.") from None


def did_you_mean(name: str, known) -> str:
    """' (did you mean dream.octaves?)' for the closest known names, or '' when none is close.
    A name without a dot is compared with the last parts ("octaves" is close to dream.octaves); only
    the names nearly as close as the best one are offered."""
    from difflib import SequenceMatcher

    def score(k: str) -> float:
        if "." in name:
            return SequenceMatcher(None, name, k).ratio()
        return SequenceMatcher(None, name, k.rsplit(".", 1)[-1]).ratio()

    scored = sorted(((score(k), k) for k in known), reverse=True)
    best = scored[0][0] if scored else 0.0
    close = [k for score, k in scored[:3] if score >= 0.8 and score >= best - 0.05]
    return f" (did you mean {' or '.join(close)}?)" if close else ""


def parse_assignment(text: str) -> tuple[str, Any]:
    """Parse `name=value` from `--set` into (name, coerced value)."""
    if "=" not in text:
        raise UserError(f"--set takes name=value (for example dream.octaves=3), not {_short(text)}.")
    name, value = (s.strip() for s in text.split("=", 1))
    p = get(name)
    if p.choices_from is not None:
        # dream.layer=3 or =relu4_3 means one of dream.model's layers, and that model may be
        # set in the same command line: the store judges it with the rest of the batch
        p.coerce(value)  # refuses what is no choice or index of any model
        return name, value
    coerced = p.coerce(value)
    # what the user typed is refused when out of range (exit 2), as in a preset file; live
    # controllers (OSC, MIDI) keep clamping
    if p.outside_range(value):
        raise UserError(f"--set {name}={value} is outside its range {p.range_text}.")
    return name, coerced
