"""The music voice's parameters (liveart/music reads them), with the scales and voices they name."""
from __future__ import annotations

import re

from ..errors import UserError
from .registry import declare

SCALES: dict[str, tuple[int, ...]] = {
    "major": (0, 2, 4, 5, 7, 9, 11),
    "minor": (0, 2, 3, 5, 7, 8, 10),
    "dorian": (0, 2, 3, 5, 7, 9, 10),
    "phrygian": (0, 1, 3, 5, 7, 8, 10),
    "lydian": (0, 2, 4, 6, 7, 9, 11),
    "mixolydian": (0, 2, 4, 5, 7, 9, 10),
    "locrian": (0, 1, 3, 5, 6, 8, 10),
    "harmonic-minor": (0, 2, 3, 5, 7, 8, 11),
    "pentatonic": (0, 2, 4, 7, 9),
    "minor-pentatonic": (0, 3, 5, 7, 10),
    "blues": (0, 3, 5, 6, 7, 10),
    "whole-tone": (0, 2, 4, 6, 8, 10),
    "chromatic": tuple(range(12)),
}
VOICES = ("pad", "pluck", "bell")
_NOTE_RE = re.compile(r"^([A-Ga-g])([#b♯♭]?)$")
_PC = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}


def root_pitch_class(text: str) -> int:
    """'C', 'F#', 'Bb' or a MIDI number 0-127 (its pitch class: 61 -> C#) -> 0..11."""
    text = str(text).strip()
    m = _NOTE_RE.match(text)
    if m:
        acc = {"#": 1, "♯": 1, "b": -1, "♭": -1}.get(m.group(2), 0)
        return (_PC[m.group(1).upper()] + acc) % 12
    try:
        n = float(text)
    except ValueError:
        n = None
    if n is not None and n.is_integer() and 0 <= n <= 127:
        return int(n) % 12
    raise UserError(f"music.root takes a note name (C, F#, Bb...) or a MIDI number 0-127, "
                    f"not {text!r}.")


def _check_root(text: str) -> None:
    root_pitch_class(text)


declare("music.enabled", "bool", False, "Let the network's activations play music.")
declare("music.scale", "enum", "minor-pentatonic", "Scale the notes are drawn from.",
        choices=tuple(SCALES))
declare("music.root", "str", "A", "Key of the music: a note name (C, F#, Bb) or a MIDI "
        "number 0-127 (its pitch class; music.octave sets the register).", check=_check_root)
declare("music.tempo", "float", 96.0, "The music's tempo when no MIDI clock is received and "
        "tempo.source is internal (else it follows the show's tempo).",
        min=40.0, max=240.0, unit="bpm")
declare("music.density", "float", 0.5, "How many notes: 0 = silence, 1 = busy.",
        min=0.0, max=1.0)
declare("music.octave", "int", 4, "Register of the melody (4: the root is in the octave "
        "of middle C).", min=1, max=7)
declare("music.voice", "enum", "pluck", "Built-in synth voice.", choices=VOICES)
declare("music.volume", "float", 0.7, "Output level of the built-in synth.",
        min=0.0, max=1.0, smoothing=0.1)
declare("music.swing", "float", 0.0, "Delay of every second sixteenth, as a fraction of "
        "a sixteenth.", min=0.0, max=0.5)
