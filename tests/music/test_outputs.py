import socket
import time

import numpy as np
from pythonosc.osc_message import OscMessage

from liveart.music.outputs import MidiOut, MusicVoice
from liveart.music.summary import ActivationSummary
from liveart.params import ParamStore


def test_music_voice_sends_notes_and_chords_over_osc_and_survives_missing_midi(caplog):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.05)
    store = ParamStore({"music.enabled": True, "music.density": 1.0, "music.tempo": 240.0})
    s = ActivationSummary(np.ones(8, np.float32), [1, 2, 3], 1.0, 0.5, (0.5, 0.5), [("cat", 0.9)])
    voice = MusicVoice(store, lambda: s, synth=False, midi_out="no such port",
                       osc_targets=[("127.0.0.1", sock.getsockname()[1])]).start()
    got = []
    try:
        end = time.monotonic() + 1.5
        while time.monotonic() < end and not ({"/liveart/music/note", "/liveart/music/chord"}
                                              <= {m.address for m in got}):
            try:
                got.append(OscMessage(sock.recv(4096)))
            except socket.timeout:
                pass
    finally:
        voice.stop()
        sock.close()
    note = next(m for m in got if m.address == "/liveart/music/note")
    assert [type(x) for x in note.params] == [int, int, float]
    assert len(next(m for m in got if m.address == "/liveart/music/chord").params) == 3
    assert voice.midi is None and "not available" in caplog.text


def test_virtual_midi_port_fails_soft_or_works():
    port = MidiOut.open("virtual")
    if port is not None:
        port.close()


def test_a_closed_gate_silences_the_voice_whatever_music_enabled_says():
    """An installation outside its schedule: music.enabled stays on, the voice stays quiet,
    and it plays again when the gate opens."""
    store = ParamStore({"music.enabled": True, "music.density": 1.0, "music.tempo": 240.0})
    s = ActivationSummary(np.ones(8, np.float32), [1, 2, 3], 1.0, 0.5, (0.5, 0.5), [("cat", 0.9)])
    open_ = {"now": False}
    voice = MusicVoice(store, lambda: s, synth=False, gate=lambda: open_["now"]).start()
    try:
        time.sleep(0.6)
        assert voice.notes_played == 0
        open_["now"] = True
        end = time.monotonic() + 3
        while time.monotonic() < end and voice.notes_played == 0:
            time.sleep(0.02)
        assert voice.notes_played > 0
    finally:
        voice.stop()
