"""MidiHandler: the one live path from incoming MIDI to the show. The port callback,
`--midi-file` playback and `liveart midi replay` all feed it mido messages; through the map it
sets parameters (absolute with pickup/soft takeover, relative encoders, 14-bit pairs, buttons
that set, hold or toggle a value), fires actions, loads presets on program change and passes
clock messages to the MidiClock. It never raises: a message it can't apply is logged and the
show goes on. Feedback to the controller's LEDs and motor faders is feedback.py's.
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable

from ... import params
from ...errors import UserError
from ...presets import list_presets
from .binding import Binding, MidiMap
from .curves import decode_relative, same_value
from .feedback import Feedback

log = logging.getLogger(__package__)  # one logger for the package: liveart.control.midi

CLOCK_TYPES = ("clock", "start", "stop", "continue", "songpos")


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


class MidiHandler:
    """Applies MIDI messages to a ParamStore and Actions through a MidiMap. Thread-safe."""

    def __init__(self, store, actions, midimap: MidiMap | None = None, clock=None):
        self.store = store
        self.actions = actions
        self.clock = clock
        self.learn = None  # a learn.MidiLearn attaches itself here; armed, it takes the messages
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
        self._feedback = Feedback(self.store, self.map)

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
            self._feedback.touched(b.control, raw, now)
            self._absolute(b, raw / b.full)

    def _absolute(self, b: Binding, x: float) -> None:
        st = self._st(b)
        p = params.REGISTRY[b.param]
        b.sync_choices(self.store)
        if b.pickup and p.type != "bool":
            cur = self.store.get(b.param)
            if st.engaged and not same_value(cur, st.last_set):
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
        b.sync_choices(self.store)
        if p.type == "bool":
            self._set(b, delta > 0)
            return
        if b.step is not None:
            self._set(b, float(cur) + delta * b.step)
            return
        if st.acc is None or not same_value(cur, st.last_set):
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
            elif same_value(cur, b.value):
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
        mine = same_value(self.store.get(p), self._held_set.get(p))  # else someone else changed it
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
            self._feedback.reset()

    def feedback(self, send: Callable[[Any], None], now: float | None = None) -> int:
        """Send (through `send(mido.Message)`) the LED/value feedback that changed; returns how
        many messages went out (see feedback.Feedback)."""
        with self._lock:
            return self._feedback.send(send, time.monotonic() if now is None else now)


def _short(msg) -> str:
    try:
        return str(msg)
    except Exception:  # pragma: no cover
        return repr(msg)

