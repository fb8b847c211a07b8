"""Ports by prefix, and a controller that disappears and comes back (fake ports, no hardware)."""
from __future__ import annotations

import argparse
import logging

import mido
import pytest

from liveart.control.actions import Actions
from liveart.control.midi import MidiHandler, load_map
from liveart.control.midicli import start_midi
from liveart.control.midiports import PortWatch, find_port, pick_input

from ..conftest import wait_for
from .midifakes import FakeBackend, cc, make_map, note_on

NANO = "nanoKONTROL2:nanoKONTROL2 MIDI 1 24:0"
NANO_REPLUGGED = "nanoKONTROL2:nanoKONTROL2 MIDI 1 28:0"
THROUGH = "Midi Through:Midi Through Port-0 14:0"
MAP = 'channel = 1\n[[cc]]\ncc = 0\nparam = "dream.mix"\npickup = false\n' \
      '[[note]]\nnote = 1\nparam = "dream.guide"\nvalue = "goldfish"\n'


@pytest.fixture
def handler(store):
    return MidiHandler(store, Actions(store), make_map(MAP))


def test_find_port_by_prefix_ignores_alsa_numbers_and_case():
    names = [THROUGH, NANO]
    assert find_port(names, "nanokontrol2") == NANO
    assert find_port(names, NANO) == NANO
    assert find_port(names, "Launch") is None
    maps = [load_map("midimix"), load_map("nanokontrol2")]
    name, m = pick_input(names, "auto", maps)
    assert name == NANO and m.name == "Korg nanoKONTROL2"
    assert pick_input([THROUGH], "auto", maps) == (THROUGH, None)  # no known controller: the first
    assert pick_input([], "auto", maps) == (None, None)


def test_a_controller_that_disappears_and_returns_is_reopened(handler, store, caplog):
    caplog.set_level(logging.INFO)
    backend = FakeBackend([THROUGH, NANO])
    watch = PortWatch("nanoKONTROL2", handler, **backend.functions())
    watch.poll()
    assert watch.port_name == NANO and watch.opens == 1
    backend.port.feed(cc(0, 0))
    assert store.get("dream.mix") == 0.0
    backend.port.feed(note_on(1))
    assert store.get("dream.guide") == "goldfish"
    # unplugged: the port vanishes from the list; rtmidi doesn't tell, the poll notices
    old = backend.port
    backend.inputs = [THROUGH]
    old.closed = False  # a dead rtmidi port still looks open
    watch.poll()
    assert watch.port is None and old.closed
    assert store.get("dream.guide") == "none"  # the held pad was let go
    assert "is gone" in caplog.text
    watch.poll()  # still away: no error, no new port
    assert watch.port is None
    store.set("dream.mix", 0.3)  # the show goes on meanwhile (OSC, presets)
    # plugged back in: new ALSA numbers
    backend.inputs = [THROUGH, NANO_REPLUGGED]
    watch.poll()
    assert watch.port_name == NANO_REPLUGGED and watch.opens == 2
    backend.port.feed(cc(0, 127))
    assert store.get("dream.mix") == 1.0
    watch.stop()
    assert backend.port.closed


def test_a_port_that_reports_closed_is_reopened(handler, store):
    backend = FakeBackend([NANO])
    watch = PortWatch("auto", handler, **backend.functions())
    watch.poll()
    backend.port.close()
    watch.poll()  # notices .closed and reopens in the same round
    assert watch.opens == 2 and not backend.port.closed
    backend.port.feed(cc(0, 64))
    assert store.get("dream.mix") == pytest.approx(64 / 127)


def test_poll_mode_drains_pending_messages(handler, store):
    backend = FakeBackend([NANO])
    watch = PortWatch("nano", handler, use_callback=False, **backend.functions())
    watch.poll()
    assert backend.port.callback is None
    backend.port.feed(cc(0, 0))
    backend.port.feed(cc(0, 127))
    assert watch.drain() == 2
    assert store.get("dream.mix") == 1.0


def test_feedback_goes_to_the_output_and_survives_its_loss(handler, store):
    backend = FakeBackend([NANO])
    watch = PortWatch("nano", handler, **backend.functions())
    watch.poll()
    out = backend.opened_out[-1]
    assert watch.output_name == NANO
    assert watch.send_feedback(now=100.0) == 2  # CC 0 and the pad's LED
    store.set("dream.mix", 0.5)
    out.fail = True  # unplugged mid-show
    assert watch.send_feedback(now=101.0) == 0
    assert watch.out is None
    watch.poll()  # the input is still listed: the output is opened again and resent
    assert watch.out is not None and watch.out is not out
    assert watch.send_feedback(now=102.0) == 2


def test_no_backend_logs_one_sentence_and_the_show_goes_on(handler, caplog):
    backend = FakeBackend([NANO])
    backend.broken = True
    watch = PortWatch("auto", handler, interval=0.01, **backend.functions())
    watch.start()
    wait_for(lambda: not watch.available, what="the watch to give up")
    watch.stop()
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1
    assert warnings[0].getMessage() == ("MIDI is unavailable (MidiInAlsa::initialize: error creating "
                                        "ALSA sequencer client object); the show goes on without a "
                                        "MIDI controller.")


def test_the_thread_reopens_while_messages_keep_working(handler, store):
    backend = FakeBackend([])
    watch = PortWatch("nanoKONTROL2", handler, interval=0.02, **backend.functions()).start()
    try:
        backend.inputs = [NANO]
        wait_for(lambda: watch.port is not None, what="the port to open")
        backend.port.feed(cc(0, 0))
        assert store.get("dream.mix") == 0.0
        backend.inputs = []
        wait_for(lambda: watch.port is None, what="the port to close")
        backend.inputs = [NANO_REPLUGGED]
        wait_for(lambda: watch.port_name == NANO_REPLUGGED, what="the port to reopen")
        backend.port.feed(cc(0, 127))
        assert store.get("dream.mix") == 1.0
        wait_for(lambda: backend.opened_out and backend.opened_out[-1].sent, what="feedback")
    finally:
        watch.stop()


def test_open_failures_are_retried_quietly(handler, store, caplog):
    backend = FakeBackend([NANO])
    real_open = backend.open_input
    tries = []

    def flaky(name, callback=None):
        tries.append(name)
        if len(tries) < 3:
            raise OSError("port busy")
        return real_open(name, callback)

    watch = PortWatch("nano", handler, open_input=flaky, list_inputs=backend.list_inputs,
                      list_outputs=None, open_output=None)
    for _ in range(3):
        watch.poll()
    assert watch.port is not None and len(tries) == 3
    assert caplog.text.count("can't be opened") == 1


def test_start_midi_auto_picks_the_map_of_the_controller_found(store):
    backend = FakeBackend([THROUGH, NANO])
    args = argparse.Namespace(midi="auto", midi_map=None, midi_file=None, midi_file_loop=False)
    session = start_midi(store, Actions(store), args, **backend.functions())
    try:
        wait_for(lambda: session.watch.port is not None, what="the port to open")
        assert session.handler.map.name == "Korg nanoKONTROL2"
        backend.port.feed(cc(39, 127))  # S8: dream.reset
        assert store.snapshot().fired("dream.reset")
        backend.port.feed(mido.Message("clock"))  # MIDI clock on the same port
        assert session.clock.running
    finally:
        session.stop()


def test_start_midi_with_nothing_asked_starts_nothing(store):
    session = start_midi(store, Actions(store), argparse.Namespace())
    assert session.watch is None and session.player is None
    assert session.clock.beats_to_seconds(2) == 1.0
    session.stop()


def test_learning_in_the_show_saves_a_copy_of_a_shipped_map(store, tmp_path, monkeypatch):
    monkeypatch.setenv("LIVEART_CONFIG_DIR", str(tmp_path / "cfg"))
    backend = FakeBackend([NANO])
    args = argparse.Namespace(midi="nano", midi_map="nanokontrol2")
    session = start_midi(store, Actions(store), args, **backend.functions())
    try:
        wait_for(lambda: session.watch.port is not None, what="the port to open")
        session.learn.arm("dream.smooth")
        backend.port.feed(cc(0, 3))  # fader 1, moved twice
        backend.port.feed(cc(0, 4))
        assert session.learn.assigned is not None and session.learn.armed is None
        copy = tmp_path / "cfg" / "midi" / "nanokontrol2.toml"
        assert "saved to" in session.learn.message and copy.is_file()
        learned = load_map("nanokontrol2")  # your copy wins over the shipped map
        assert learned.path == copy
        assert [b.param for b in learned.bindings if b.kind == "cc" and b.number == 0] == ["dream.smooth"]
        from liveart.control.midi import SHIPPED

        assert len(learned.bindings) == len(load_map(SHIPPED / "nanokontrol2.toml").bindings)
        store.set("dream.smooth", 0.0)
        backend.port.feed(cc(0, 0))
        backend.port.feed(cc(0, 127))
        assert store.get("dream.smooth") == 4.0  # live at once
    finally:
        session.stop()
