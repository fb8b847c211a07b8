"""Numbers on the wire <-> positions and values: relative-encoder decoding, the response
curves of faders and knobs (and their inverses, for feedback and pickup), and the one
comparison of parameter values the handler, the feedback and the bindings share."""
from __future__ import annotations

import math
from typing import Any

CURVES = ("lin", "exp", "log", "center")
DEFAULT_SHAPE = {"lin": 1.0, "exp": 4.0, "log": 4.0, "center": 2.0}
_CENTER_DEADBAND = 1.0 / 127.0  # CC 63 and 64 both land on the middle of a "center" curve


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


def same_value(a: Any, b: Any) -> bool:
    """Equal parameter values: numbers up to float rounding, anything else exactly."""
    if isinstance(a, bool) or isinstance(b, bool) or not (
            isinstance(a, (int, float)) and isinstance(b, (int, float))):
        return a == b
    return abs(float(a) - float(b)) <= 1e-9 * max(1.0, abs(float(a)), abs(float(b)))
