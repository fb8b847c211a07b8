"""A real standard MIDI file through the live path: `liveart midi replay`, `--midi-file`, and the
`liveart midi` commands (learn with a fake port)."""
from __future__ import annotations

import argparse
import json
import threading

import mido
import pytest

from liveart.cli import _Parser
from liveart.control import midicli, midiports
from liveart.control.actions import Actions
from liveart.control.midicli import add_midi_parser, cmd_midi, start_midi
from liveart.errors import UserError

from ..conftest import wait_for
from .midifakes import FakeBackend, cc, note_off, note_on

MAP = """# test controller
name = "test"
channel = 1
pickup = false
[[cc]]
cc = 0
param = "dream.mix"
[[cc]]
cc = 1
param = "dream.zoom"
mode = "twos-complement"
step = 0.001
[[note]]
note = 36
param = "dream.guide"
value = "tabby cat"
[[note]]
note = 37
action = "dream.reset"
[[note]]
note = 38
action = "scene"
args = ["dream"]
[program]
presets = ["gentle"]
"""


@pytest.fixture
def map_file(tmp_path):
    path = tmp_path / "test.toml"
    path.write_text(MAP)
    return path


def write_song(path, loop_length: float | None = None):
    """120 bpm, 480 ticks per beat: events at 0, 0.5, 1.0, 1.25, 1.5, 2.0 s."""
    mid = mido.MidiFile(ticks_per_beat=480)
    track = mido.MidiTrack()
    mid.tracks.append(track)
    track.append(mido.MetaMessage("set_tempo", tempo=500000, time=0))
    track.append(mido.Message("control_change", control=0, value=0, time=0))
    track.append(mido.Message("note_on", note=36, velocity=100, time=480))     # 0.5 s
    track.append(mido.Message("control_change", control=1, value=3, time=480))  # 1.0 s
    track.append(mido.Message("note_off", note=36, velocity=0, time=240))     # 1.25 s
    track.append(mido.Message("note_on", note=37, velocity=90, time=240))     # 1.5 s
    track.append(mido.Message("note_on", note=38, velocity=90, time=0))       # 1.5 s: scene
    track.append(mido.Message("control_change", control=0, value=127, time=480))  # 2.0 s
    track.append(mido.Message("program_change", program=0, time=0))           # 2.0 s
    track.append(mido.Message("control_change", channel=5, control=0, value=64, time=0))  # other channel
    mid.save(str(path))
    return path


def midi_cli(argv):
    parser = _Parser(prog="liveart")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)
    add_midi_parser(sub)
    return cmd_midi(parser.parse_args(argv))


def test_replay_prints_the_parameter_changes(tmp_path, map_file, capsys):
    song = write_song(tmp_path / "song.mid")
    assert midi_cli(["midi", "replay", str(song), "--map", str(map_file), "--fast"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[:6] == [
        "    0.000 s  dream.mix = 0",
        "    0.500 s  dream.guide = tabby cat",
        "    1.000 s  dream.zoom = 0.003",
        "    1.250 s  dream.guide = none",
        "    1.500 s  dream.reset = True",
        "    1.500 s  scene = dream",
    ]
    assert "    2.000 s  dream.mix = 1" in lines
    assert "    2.000 s  dream.layer = blocks.5" in lines  # program 0: the preset gentle


def test_replay_json(tmp_path, map_file, capsys):
    song = write_song(tmp_path / "song.mid")
    assert midi_cli(["midi", "replay", str(song), "--map", str(map_file), "--fast", "--json"]) == 0
    changes = json.loads(capsys.readouterr().out)
    assert changes[:3] == [{"time": 0.0, "name": "dream.mix", "value": 0.0},
                           {"time": 0.5, "name": "dream.guide", "value": "tabby cat"},
                           {"time": 1.0, "name": "dream.zoom", "value": pytest.approx(0.003)}]
    assert {"time": 1.5, "name": "dream.reset", "value": True} in changes
    assert all(set(c) == {"time", "name", "value"} for c in changes)
    assert [c["time"] for c in changes] == sorted(c["time"] for c in changes)


def test_replay_in_real_time_keeps_the_files_timing(tmp_path, map_file, capsys):
    mid = mido.MidiFile(ticks_per_beat=480)
    track = mido.MidiTrack()
    mid.tracks.append(track)
    track.append(mido.Message("control_change", control=0, value=0, time=0))
    track.append(mido.Message("control_change", control=0, value=127, time=96))  # 0.1 s at 120 bpm
    mid.save(str(tmp_path / "short.mid"))
    import time

    t0 = time.monotonic()
    assert midi_cli(["midi", "replay", str(tmp_path / "short.mid"), "--map", str(map_file), "--json"]) == 0
    assert time.monotonic() - t0 >= 0.09
    assert [c["value"] for c in json.loads(capsys.readouterr().out)] == [0.0, 1.0]


def test_replay_refuses_a_file_that_is_not_midi(tmp_path, map_file):
    bad = tmp_path / "bad.mid"
    bad.write_bytes(b"not a midi file at all")
    with pytest.raises(UserError, match="is not a standard MIDI file"):
        midi_cli(["midi", "replay", str(bad), "--map", str(map_file), "--fast"])
    with pytest.raises(UserError, match="does not exist"):
        midi_cli(["midi", "replay", str(tmp_path / "none.mid"), "--map", str(map_file)])


def test_run_midi_file_loops_into_the_running_show(tmp_path, map_file, store, monkeypatch):
    mid = mido.MidiFile(ticks_per_beat=480)
    track = mido.MidiTrack()
    mid.tracks.append(track)
    track.append(mido.Message("note_on", note=37, velocity=90, time=0))
    track.append(mido.Message("control_change", control=0, value=10, time=0))
    track.append(mido.Message("control_change", control=0, value=100, time=48))  # 0.05 s
    mid.save(str(tmp_path / "loop.mid"))
    monkeypatch.setattr(midicli.MidiFilePlayer, "MIN_LOOP", 0.1)
    args = argparse.Namespace(midi="none", midi_map=str(map_file), midi_file=str(tmp_path / "loop.mid"),
                              midi_file_loop=True)
    session = start_midi(store, Actions(store), args)
    try:
        wait_for(lambda: session.player.passes >= 3, what="three passes")
        assert store.get("dream.mix") in (pytest.approx(10 / 127), pytest.approx(100 / 127))
        assert store.snapshot().fired("dream.reset")
    finally:
        session.stop()
    assert not session.player._thread.is_alive()


def test_run_midi_file_needs_a_map(tmp_path, store):
    song = write_song(tmp_path / "song.mid")
    with pytest.raises(UserError, match="--midi-file needs --midi-map"):
        start_midi(store, Actions(store), argparse.Namespace(midi="none", midi_file=str(song)))


def test_midi_list_and_check(capsys, monkeypatch):
    backend = FakeBackend(["nanoKONTROL2:nanoKONTROL2 MIDI 1 24:0"])
    monkeypatch.setattr(midiports, "list_inputs", backend.list_inputs)
    monkeypatch.setattr(midiports, "list_outputs", backend.list_outputs)
    assert midi_cli(["midi", "list"]) == 0
    out = capsys.readouterr().out
    assert "nanokontrol2" in out and "<- nanoKONTROL2:nanoKONTROL2 MIDI 1 24:0" in out
    assert midi_cli(["midi", "list", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert {m["name"] for m in data["maps"]} >= {"nanokontrol2", "midimix", "launchcontrol-xl", "apc-mini-mk2"}
    assert midi_cli(["midi", "check", "apc-mini-mk2"]) == 0
    assert "Akai APC mini mk2" in capsys.readouterr().out


def test_midi_list_without_a_backend(capsys, monkeypatch):
    backend = FakeBackend()
    backend.broken = True
    monkeypatch.setattr(midiports, "list_inputs", backend.list_inputs)
    assert midi_cli(["midi", "list"]) == 0
    assert capsys.readouterr().out.startswith("MIDI is unavailable: MidiInAlsa::initialize")


def test_learn_from_the_command_line_with_a_fake_port(tmp_path, monkeypatch, capsys):
    backend = FakeBackend(["nanoKONTROL2:nanoKONTROL2 MIDI 1 24:0"])
    monkeypatch.setattr(midiports, "list_inputs", backend.list_inputs)
    monkeypatch.setattr(midiports, "open_input", backend.open_input)
    arm = midicli.MidiLearn.arm

    def arm_then_move(self, param, **kw):
        arm(self, param, **kw)
        moves = {"dream.mix": [cc(99, 1), cc(5, 10), cc(5, 12)], "dream.reset": [note_on(40), note_off(40)]}
        threading.Timer(0.1, lambda: [backend.port.feed(m) for m in moves[param]]).start()

    monkeypatch.setattr(midicli.MidiLearn, "arm", arm_then_move)
    path = tmp_path / "mine.toml"
    assert midi_cli(["midi", "learn", "--map", str(path), "--param", "dream.mix",
                     "--param", "dream.reset", "--timeout", "5"]) == 0
    out = capsys.readouterr().out
    assert "dream.mix <- cc 5 on channel 1" in out and "dream.reset <- note 40" in out
    from liveart.control.midi import load_map

    m = load_map(path)
    assert [(b.kind, b.number, b.param or b.action) for b in m.bindings] == \
        [("cc", 5, "dream.mix"), ("note", 40, "dream.reset")]
    assert backend.port.closed


def test_learn_without_midi_says_so(tmp_path, monkeypatch):
    backend = FakeBackend()
    backend.broken = True
    monkeypatch.setattr(midiports, "list_inputs", backend.list_inputs)
    with pytest.raises(UserError, match="MIDI is unavailable"):
        midi_cli(["midi", "learn", "--map", str(tmp_path / "x.toml"), "--param", "dream.mix"])
    with pytest.raises(UserError, match="Unknown parameter"):
        midi_cli(["midi", "learn", "--map", str(tmp_path / "x.toml"), "--param", "dream.nope"])
