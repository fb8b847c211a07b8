"""Parameters of the show's tempo (liveart/rhythm/tempo.py follows them)."""
from __future__ import annotations

from .registry import declare

TEMPO_SOURCES = ("internal", "tap", "midi", "link", "audio")

declare("tempo.source", "enum", "internal", "Where the show's tempo and beat come from: "
        "internal (tempo.bpm as set), tap (tempo.tap), midi (MIDI clock in), link (Ableton Link, "
        "with --link) or audio (the beat tracked in --audio-in).", choices=TEMPO_SOURCES)
declare("tempo.bpm", "float", 120.0, "The show's tempo. Set it for internal (on Link it sets "
        "the session's tempo); tap, midi, link and audio report theirs here.", min=20.0,
        max=300.0, unit="bpm")
declare("tempo.tap", "trigger", None, "Tap the tempo (a MIDI button, the T key or OSC): the "
        "average of the last taps, forgotten after 2 s without one; the beat lands on the taps.")
declare("tempo.nudge", "float", 0.0, "Shift the beat by a fraction of a beat, to line the "
        "pulses up with the music.", min=-0.5, max=0.5, unit="beats")
