"""The one table of actions: what a controller can do besides setting a parameter.

OSC routes, OSCQuery nodes, MIDI map checks, the window's keys and `liveart params --markdown`
all read this table; liveart/control/actions.py binds each name to what it does in a running
show. Trigger parameters (dream.reset, ...) are actions too, declared in the registry.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from ..errors import UserError


@dataclass(frozen=True)
class Action:
    name: str                               # the OSC address below /liveart/, e.g. "preset/load"
    args: tuple[tuple[str, str], ...]       # required arguments: (OSC type tag, name)
    optional: tuple[tuple[str, str], ...]   # arguments that may follow them
    description: str

    @property
    def address(self) -> str:
        return "/liveart/" + self.name

    @property
    def nargs(self) -> int:
        return len(self.args)

    @property
    def arguments_text(self) -> str:
        """'s name, f seconds', 'none, or s name', 'none'."""
        need = ", ".join(f"{tag} {name}" for tag, name in self.args)
        more = ", ".join(f"{tag} {name}" for tag, name in self.optional)
        if not need:
            return f"none, or {more}" if more else "none"
        return f"{need}, or also {more}" if more else need


ACTIONS: dict[str, Action] = {a.name: a for a in (
    Action("preset/load", (("s", "name"),), (), "load a preset"),
    Action("preset/save", (("s", "name"),), (), "save the current state as a user preset"),
    Action("preset/morph", (("s", "name"), ("f", "seconds")), (), "glide to a preset"),
    Action("scene", (("s", "spec"),), (), "change scene (e.g. `dream`, `dream+style`)"),
    Action("snapshot", (), (("s", "name"),), "save the output picture, full size, as a PNG "
           "carrying every parameter (in the snapshots folder)"),
    Action("record/start", (), (("s", "name"),), "record the output (and the music) to a video "
           "in the recordings folder (no name: `liveart-YYYYmmdd-HHMMSS.mp4`)"),
    Action("record/stop", (), (), "stop recording"),
    Action("record/toggle", (), (), "start or stop recording (key C)"),
    Action("mod/set", (("s", "target"), ("s", "source"), ("f", "amount")), (("s", "options"),),
           "modulate a numeric parameter: target = base + amount x source (lfo, beat, onset, "
           "audio.level, audio.low, audio.mid, audio.high, audio.beat, env); options as "
           "`key=value` pairs: `shape=sine|triangle|saw|square|random rate=0.5|1/4|2b phase=0.25` "
           "for lfo, `of=audio.low attack=0.01 release=0.2` for env (docs/rhythm.md)"),
    Action("mod/clear", (("s", "target"),), (), "remove the modulator on a parameter (`*`: all)"),
)}


@dataclass(frozen=True)
class Readout:
    """A value liveart sends (to every --osc-out target, and to OSCQuery LISTEN clients)."""
    address: str
    arguments: str      # the type tags and what they mean, for people


READOUTS: tuple[Readout, ...] = (
    Readout("/liveart/stats/fps", "f, about 10 times a second"),
    Readout("/liveart/health/fps", "f: frames per second, once a second"),
    Readout("/liveart/health/rss_mb", "f: the process's resident memory in MB, once a second"),
    Readout("/liveart/health/temp_c", "f: the hottest temperature sensor in degrees C, once a "
            "second (where one can be read)"),
    Readout("/liveart/health/error", "s: the last error logged, `\"\"` if none, once a second"),
    Readout("/liveart/net/labels", "s s s: the network's top-3 ImageNet labels"),
    Readout("/liveart/net/energy", "f...: the layer's overall energy, then its strongest channels'"),
    Readout("/liveart/net/channels", "i...: the strongest channels' numbers"),
    Readout("/liveart/net/novelty", "f: 0..1, change since the last tick"),
    Readout("/liveart/net/centroid", "f f: where the energy sits, 0..1"),
    Readout("/liveart/audio/level", "f: the audio input's level, 0..1 (-60..0 dBFS), about 10 "
            "times a second (with --audio-in)"),
    Readout("/liveart/audio/low", "f: energy below 250 Hz, 0..1 (with --audio-in)"),
    Readout("/liveart/audio/mid", "f: energy of 250-2000 Hz, 0..1 (with --audio-in)"),
    Readout("/liveart/audio/high", "f: energy above 2 kHz, 0..1 (with --audio-in)"),
    Readout("/liveart/audio/onset", "f: 1 at each onset, decaying over 0.1 s (with --audio-in)"),
    Readout("/liveart/audio/beat", "f: 1 on each beat tracked in the audio, decaying (with "
            "--audio-in)"),
    Readout("/liveart/tempo/beat", "i f: the beat number and the tempo in bpm, on each beat"),
    Readout("/liveart/music/note", "i i f: pitch, velocity, seconds (while music plays)"),
    Readout("/liveart/music/chord", "i i i: a chord change (while music plays)"),
)


def morph_seconds(length: Any, beats_to_seconds: Callable[[float], float] | None = None) -> float:
    """A morph's length: seconds (e.g. 4) or beats (e.g. '8b', at the clock's tempo, else 120 bpm)."""
    text = str(length).strip().lower()
    try:
        if text.endswith("b"):
            beats = float(text[:-1])
            if beats_to_seconds is None:
                return beats * 0.5  # 120 bpm when no clock is known
            return beats_to_seconds(beats)
        seconds = float(text)
    except ValueError:
        raise UserError(f"A morph length is seconds (e.g. 4) or beats (e.g. 8b), not {length!r}.") from None
    if not 0 <= seconds <= 3600:
        raise UserError(f"A morph length must be 0 to 3600 seconds, not {length!r}.")
    return seconds
