"""MIDI learn: the next control moved is bound to a parameter, added to the running handler's
map and saved to a map file (a copy of the shipped map it started from, when that file is new)."""
from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

from ... import params
from ...errors import UserError
from .binding import NOTE_MODES, RELATIVE_MODES, Binding
from .handler import MidiHandler
from .maps import save_binding

log = logging.getLogger(__package__)  # one logger for the package: liveart.control.midi


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
                save_binding(self.path, binding, template=self.copy_from)  # one atomic write
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
            b.follows_choices = p.choices_from is not None
        else:
            b.lo, b.hi = float(p.min), float(p.max)
        b.hires = self.mode == "absolute" and self._lsb_seen and number < 32
        return b
