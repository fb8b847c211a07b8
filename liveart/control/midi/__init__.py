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

One job a module; this file only gathers their names:

    curves.py    relative encoders, response curves and their inverses
    binding.py   Binding, ProgramMap, MidiMap: what a map is
    parse.py     TOML data -> a validated MidiMap
    maps.py      map files: shipped and your own, find, load, save a learned binding
    handler.py   MidiHandler: messages -> parameters and actions
    feedback.py  LED / motor-fader feedback from the store's change counter
    learn.py     MidiLearn

Ports, clock and the `liveart midi` commands are `control/midiports.py`, `midiclock.py` and
`midicli.py`.
"""
from __future__ import annotations

from .binding import CC_MODES, NOTE_MODES, PRESS_MODES, RELATIVE_MODES, Binding, MidiMap, ProgramMap
from .curves import CURVES, DEFAULT_SHAPE, curve_apply, curve_invert, decode_relative
from .feedback import TOUCH_HOLD
from .handler import CLOCK_TYPES, MidiHandler
from .learn import MidiLearn
from .maps import SHIPPED, find_map, list_maps, load_map, save_binding, user_maps_dir
from .parse import parse_binding, parse_map

__all__ = [
    "CC_MODES", "CLOCK_TYPES", "CURVES", "DEFAULT_SHAPE", "NOTE_MODES", "PRESS_MODES",
    "RELATIVE_MODES", "SHIPPED", "TOUCH_HOLD", "Binding", "MidiHandler", "MidiLearn", "MidiMap",
    "ProgramMap", "curve_apply", "curve_invert", "decode_relative", "find_map", "list_maps",
    "load_map", "parse_binding", "parse_map", "save_binding", "user_maps_dir",
]
