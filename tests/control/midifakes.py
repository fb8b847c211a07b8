"""Stand-ins for MIDI ports with mido's interface: there is no MIDI hardware on the test machines."""
from __future__ import annotations

import threading
import tomllib

import mido

from liveart.control.midi import parse_map


def make_map(text: str, source: str = "test.toml"):
    return parse_map(tomllib.loads(text), source)


def cc(control: int, value: int, channel: int = 0) -> mido.Message:
    return mido.Message("control_change", channel=channel, control=control, value=value)


def note_on(note: int, velocity: int = 100, channel: int = 0) -> mido.Message:
    return mido.Message("note_on", channel=channel, note=note, velocity=velocity)


def note_off(note: int, channel: int = 0) -> mido.Message:
    return mido.Message("note_off", channel=channel, note=note, velocity=0)


class FakeInput:
    """A mido input port: .name, .closed, .close(), .receive(), .poll(), .iter_pending(), or a
    callback given at open. `feed()` is the controller sending a message."""

    def __init__(self, name: str, callback=None):
        self.name = name
        self.callback = callback
        self.closed = False
        self._pending: list = []
        self._lock = threading.Lock()

    def feed(self, msg) -> None:
        if self.closed:
            return  # an unplugged device's port delivers nothing
        if self.callback is not None:
            self.callback(msg)
        else:
            with self._lock:
                self._pending.append(msg)

    def poll(self):
        with self._lock:
            return self._pending.pop(0) if self._pending else None

    def receive(self, block: bool = True):
        return self.poll()

    def iter_pending(self):
        while True:
            msg = self.poll()
            if msg is None:
                return
            yield msg

    def close(self) -> None:
        self.closed = True


class FakeOutput:
    def __init__(self, name: str):
        self.name = name
        self.sent: list = []
        self.closed = False
        self.fail = False

    def send(self, msg) -> None:
        if self.fail or self.closed:
            raise OSError("device gone")
        self.sent.append(msg)

    def close(self) -> None:
        self.closed = True


class FakeBackend:
    """The port list and open functions, with ports that can be plugged and unplugged."""

    def __init__(self, inputs=(), outputs=None):
        self.inputs = list(inputs)
        self.outputs = None if outputs is None else list(outputs)  # None: the same as the inputs
        self.opened: list[FakeInput] = []
        self.opened_out: list[FakeOutput] = []
        self.broken = False

    def list_inputs(self):
        if self.broken:
            raise RuntimeError("MidiInAlsa::initialize: error creating ALSA sequencer client object.")
        return list(self.inputs)

    def list_outputs(self):
        return list(self.inputs if self.outputs is None else self.outputs)

    def open_input(self, name, callback=None):
        if name not in self.inputs:
            raise OSError(f"unknown port {name!r}")
        port = FakeInput(name, callback)
        self.opened.append(port)
        return port

    def open_output(self, name):
        port = FakeOutput(name)
        self.opened_out.append(port)
        return port

    def functions(self) -> dict:
        return {"list_inputs": self.list_inputs, "open_input": self.open_input,
                "list_outputs": self.list_outputs, "open_output": self.open_output}

    @property
    def port(self) -> FakeInput:
        return self.opened[-1]
