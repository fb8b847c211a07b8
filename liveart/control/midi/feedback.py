"""LED and motor-fader feedback: what a map's controls should show, sent when it changes.

The loop (about 30 Hz, `midiports.PortWatch.send_feedback`) asks the store what changed since
its last pass (`store.changed_since(version)`, the change counter) instead of reading every
bound parameter each time: an idle show costs one look a pass. A control whose value changed is
due until it is sent: at most `feedback_rate` messages a second to one control, and none for
TOUCH_HOLD s after the hand last moved it, so a motor fader doesn't fight the hand; after that
it is sent where the value is (for a fader that hasn't picked the value up: back to the value).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from .binding import Binding, MidiMap
from .curves import same_value

TOUCH_HOLD = 0.3  # s: no value feedback to a control while it is being moved


@dataclass
class _Shown:
    sent: Any = None          # what the control shows: last sent to it, or where the hand left it
    time: float = -1e9        # when it was last sent
    touched: float = -1e9     # when the hand last moved it


class Feedback:
    """What the controls of one map show. Not locked on its own: the handler calls it under
    its lock."""

    def __init__(self, store, midimap: MidiMap):
        self.store, self.map = store, midimap
        self._bindings: dict[tuple, Binding] = {}  # control -> the binding it shows (its first)
        seen: set = set()
        for b in midimap.bindings:
            if b.control not in seen and b.feedback and b.mode != "trigger":
                self._bindings[b.control] = b
            seen.add(b.control)
        self._controls: dict[str, list[tuple]] = {}  # parameter -> the controls showing it
        for control, b in self._bindings.items():
            self._controls.setdefault(b.param, []).append(control)
        self.reset()

    def reset(self) -> None:
        """Forget what the controller shows: the next send() sends every value."""
        self._version: int | None = None  # the store's version the values are from; None: none
        self._values: dict[str, Any] = {}
        self._shown: dict[tuple, _Shown] = {}
        self._due: set[tuple] = set(self._bindings)

    def touched(self, control: tuple, raw: int, now: float) -> None:
        """The hand moved `control` to `raw`: that is what it shows now."""
        shown = self._shown_on(control)
        shown.touched, shown.sent = now, raw
        if control in self._bindings:
            self._due.add(control)  # after the hold: where the value is, if that is elsewhere

    def send(self, send: Callable[[Any], None], now: float) -> int:
        """Send (through `send(mido.Message)`) what is due and allowed now; how many messages."""
        if not self.map.feedback:
            return 0
        self._catch_up()
        if not self._due:
            return 0
        import mido

        count = 0
        min_gap = 1.0 / self.map.feedback_rate
        for control, b in self._bindings.items():
            if control not in self._due:
                continue
            shown = self._shown_on(control)
            want = self._wanted(b)
            if want is None or want == shown.sent:
                self._due.discard(control)
                continue
            if now - shown.touched < TOUCH_HOLD or now - shown.time < min_gap:
                continue
            msgs = _messages(mido, b, want, self.map.channel)
            for m in msgs:
                send(m)
            count += len(msgs)
            shown.sent, shown.time = want, now
            self._due.discard(control)
        return count

    def _catch_up(self) -> None:
        """Take in the store's changes since the last pass (everything after a reset)."""
        if self._version is None:
            self._version = self.store.version  # first, so no change between the two is missed
            targets = self.store.targets()
            self._values = {name: targets[name] for name in self._controls}
            return
        self._version, changed = self.store.changed_since(self._version)
        for name, value in changed.items():
            controls = self._controls.get(name)
            if controls:
                self._values[name] = value
                self._due.update(controls)

    def _shown_on(self, control: tuple) -> _Shown:
        shown = self._shown.get(control)
        if shown is None:
            shown = self._shown[control] = _Shown()
        return shown

    def _wanted(self, b: Binding) -> int | None:
        """The LED velocity or control value that shows b's parameter (None: it can't)."""
        cur = self._values[b.param]
        if b.is_press:
            on = bool(cur) if b.value is None else same_value(cur, b.value)
            return b.led_on if on else b.led_off
        b.sync_choices(self.store)
        x = b.to_x(cur)
        return None if x is None else int(round(x * b.full))


def _messages(mido, b: Binding, want: int, map_channel: int | None) -> list:
    ch = b.led_channel if b.led_channel is not None else (
        b.channel if b.channel is not None else (map_channel or 0))
    if b.kind == "note":
        return [mido.Message("note_on", channel=ch, note=b.number, velocity=want)]
    if b.hires:
        return [mido.Message("control_change", channel=ch, control=b.number, value=want >> 7),
                mido.Message("control_change", channel=ch, control=b.number + 32, value=want & 0x7F)]
    return [mido.Message("control_change", channel=ch, control=b.number, value=want)]
