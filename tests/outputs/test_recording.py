"""Recording during a show: record/start|stop|toggle actions, names kept inside the recordings
folder, and a real headless `liveart run` recorded over real OSC with its music in the file."""
from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from types import SimpleNamespace

import av
import numpy as np
import pytest
from pythonosc.osc_message import OscMessage
from pythonosc.udp_client import SimpleUDPClient

from liveart.control.actions import Actions
from liveart.errors import UserError
from liveart.outputs.recording import RecordControl, recordings_dir, safe_name
from liveart.params import ParamStore


def streams(path) -> dict:
    """{kind: {codec_name, duration (s, decoded), nb_frames}} for the file's first video and
    audio streams, read with PyAV."""
    out = {}
    for kind in ("video", "audio"):
        with av.open(str(path)) as c:
            found = [s for s in c.streams if s.type == kind]
            if not found:
                continue
            s = found[0]
            n = samples = 0
            for f in c.decode(s):
                n += 1
                samples += getattr(f, "samples", 0)
            duration = samples / s.codec_context.sample_rate if kind == "audio" else n / float(s.average_rate)
            out[kind] = {"codec_name": s.codec_context.name, "duration": duration, "nb_frames": n}
    return out


def sound(path) -> np.ndarray:
    """The file's sound, decoded with PyAV: (channels x samples) float."""
    with av.open(str(path)) as c:
        return np.concatenate([f.to_ndarray() for f in c.decode(audio=0)], axis=1)


def test_names_stay_inside_the_recordings_folder(tmp_path):
    folder = tmp_path / "rec"
    folder.mkdir()
    assert safe_name("take", folder) == folder / "take.mp4"
    assert safe_name("set 1/take.mov", folder) == folder / "set 1" / "take.mov"
    (folder / "take.mp4").write_bytes(b"")
    assert safe_name("take.mp4", folder) == folder / "take-2.mp4"  # never overwrites
    for bad in ("../escape.mp4", "a/../../b.mp4", "/tmp/x.mp4", "C:\\x.mp4", "..\\x.mp4", "",
                "take.exe"):
        with pytest.raises(UserError):
            safe_name(bad, folder)
    (folder / "out").symlink_to(tmp_path)
    with pytest.raises(UserError):
        safe_name("out/x.mp4", folder)


def test_a_name_too_long_for_the_file_system_is_one_sentence(tmp_path, monkeypatch, caplog):
    """/liveart/record/start with a 5000-character name: a UserError of one short sentence
    (it was an OSError traceback, 'File name too long'), and the show can still record."""
    import logging

    from liveart.control.osc import OscServer

    folder = tmp_path / "rec"
    folder.mkdir()
    for name in ("x" * 5000, "a/" * 2100 + "take", "y" * 300 + ".mp4"):
        with pytest.raises(UserError) as e:
            safe_name(name, folder)
        text = str(e.value)
        assert "too long" in text and len(text) < 200 and "\n" not in text, text
    monkeypatch.setenv("LIVEART_RECORDINGS_DIR", str(folder))
    store = ParamStore()
    actions = Actions(store)
    control = RecordControl(SimpleNamespace(sinks=[]), actions, None, fps=30.0, blocking=True)
    with caplog.at_level(logging.INFO), OscServer(store, actions, port=0) as server:
        SimpleUDPClient("127.0.0.1", server.port).send_message("/liveart/record/start", "s" * 5000)
        end = time.monotonic() + 10
        while server.stats["action_errors"] == 0:
            assert time.monotonic() < end, server.stats
            time.sleep(0.01)
    assert control.recording is None
    records = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(records) == 1 and not records[0].exc_info, records  # no traceback
    assert records[0].levelno == logging.WARNING and "too long" in records[0].getMessage()
    assert actions.run("record/start", "fine") == str(folder / "fine.mp4")
    control.stop()


def test_recordings_folder(monkeypatch, tmp_path, user_config):
    monkeypatch.delenv("LIVEART_RECORDINGS_DIR", raising=False)
    assert recordings_dir() == user_config / "recordings"
    monkeypatch.setenv("LIVEART_RECORDINGS_DIR", str(tmp_path / "r"))
    assert recordings_dir() == tmp_path / "r"


def test_actions_start_stop_toggle(tmp_path, monkeypatch):
    monkeypatch.setenv("LIVEART_RECORDINGS_DIR", str(tmp_path / "rec"))
    engine = SimpleNamespace(sinks=[])
    actions = Actions(ParamStore())
    with pytest.raises(UserError, match="can't record"):  # known before a show adds them
        actions.run("record/start")
    control = RecordControl(engine, actions, None, fps=30.0, blocking=True)
    frame = SimpleNamespace(image=np.zeros((36, 64, 3), np.uint8))

    path = actions.run("record/start")  # no name: a timestamped file
    assert re.fullmatch(r"liveart-\d{8}-\d{6}\.mp4", os.path.basename(path))
    assert control.recording == path
    with pytest.raises(UserError, match="Already recording"):
        actions.run("record/start", "other")
    for _ in range(12):
        control.sink(frame)
    assert actions.run("record/stop") == path
    with pytest.raises(UserError, match="Not recording"):
        actions.run("record/stop")
    with pytest.raises(UserError):
        actions.run("record/start", "../../escape")

    named = actions.run("record/toggle")  # C: starts ...
    assert control.recording == named
    assert actions.run("record/toggle") == named  # ... and stops
    assert actions.run("record/start", 7) == str(tmp_path / "rec" / "7.mp4")  # a number: its text
    for _ in range(5):
        control.sink(frame)
    control.stop()  # the show ends: the running recording is finished
    assert control.recording is None
    assert [r.written for r in control.done] == [12, 0, 5]
    assert int(streams(path)["video"]["nb_frames"]) == 12
    assert not os.path.exists(named)  # no frame came: no file


def test_a_midi_note_toggles_recording(tmp_path, monkeypatch):
    from liveart.control.midi import MidiHandler

    from ..control.midifakes import make_map, note_off, note_on

    monkeypatch.setenv("LIVEART_RECORDINGS_DIR", str(tmp_path / "rec"))
    store = ParamStore()
    actions = Actions(store)
    midi_map = make_map('[[note]]\nnote = 40\naction = "record/toggle"\n'
                        '[[note]]\nnote = 41\naction = "record/stop"\n'
                        '[[note]]\nnote = 42\naction = "record/start"\nargs = ["encore"]\n')
    control = RecordControl(SimpleNamespace(sinks=[]), actions, None, fps=30.0, blocking=True)
    h = MidiHandler(store, actions, midi_map)
    h.handle(note_on(40))
    h.handle(note_off(40))
    assert control.recording is not None
    control.sink(SimpleNamespace(image=np.zeros((36, 64, 3), np.uint8)))
    h.handle(note_on(41))
    assert control.recording is None
    h.handle(note_on(42))  # a pad that starts a take with its own name
    assert control.recording == str(tmp_path / "rec" / "encore.mp4")
    control.stop()
    assert control.done[0].written == 1 and os.path.isfile(control.done[0].path)


@pytest.mark.parametrize("entry, message", [
    ('action = "record/start"\nargs = ["a", "b"]', "takes 0 or 1 argument(s)"),
    ('action = "record/stop"\nargs = ["a"]', "takes 0 argument(s)"),
])
def test_a_map_with_too_many_args_is_refused(entry, message):
    from ..control.midifakes import make_map

    with pytest.raises(UserError, match=re.escape(message)):
        make_map(f"[[note]]\nnote = 40\n{entry}\n")


def free_port(kind=socket.SOCK_DGRAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_record_over_osc_in_a_running_show(tmp_path):
    """`liveart run --headless --record` with music on: stop it over OSC, start and stop a
    second take by name, refuse a name outside the folder; both files play, with sound."""
    osc, query = free_port(), free_port(socket.SOCK_STREAM)
    rec_dir = tmp_path / "rec"
    launch = tmp_path / "launch.mp4"
    # PASSIVE: torch's OpenMP threads sleep instead of spinning at their barriers; the
    # encoders and the offline audio beside the dream otherwise starve it on 2 cores (measured:
    # 0.6 fps with a busy process beside it; see docs/benchmarks.md, "Sharing the CPU")
    env = dict(os.environ, LIVEART_RECORDINGS_DIR=str(rec_dir), OMP_WAIT_POLICY="PASSIVE")
    listener = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)  # --osc-out: the music's notes
    listener.bind(("127.0.0.1", 0))
    listener.settimeout(0.1)
    proc = subprocess.Popen(
        [sys.executable, "-m", "liveart", "run", "--headless", "--source", "synthetic",
         "--size", "64x36", "--window", "128x72", "--seconds", "40", "--osc-port", str(osc),
         "--oscquery-port", str(query), "--set", "music.enabled=true", "--record", str(launch),
         "--osc-out", f"127.0.0.1:{listener.getsockname()[1]}"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    err: list[str] = []
    threading.Thread(target=lambda: err.extend(proc.stderr), daemon=True).start()

    def wait_log(text, timeout=20.0):
        end = time.monotonic() + timeout
        while not any(text in line for line in err):
            assert time.monotonic() < end and proc.poll() is None, f"no {text!r}:\n{''.join(err)}"
            time.sleep(0.05)

    def wait_show(notes=1, frames=10, timeout=30.0):
        """Until the music voice has played `notes` more notes and the show has made about
        `frames` frames after the last of them (its fps, sent 10 times a second, integrated):
        the note is then well inside a recording, whatever pace this machine's load allows."""
        end, made, last = time.monotonic() + timeout, 0.0, time.monotonic()
        while notes > 0 or made < frames:
            assert time.monotonic() < end and proc.poll() is None, f"stalled:\n{''.join(err)}"
            try:
                msg = OscMessage(listener.recv(65536))
            except (socket.timeout, ValueError):
                continue
            if msg.address == "/liveart/music/note":
                notes -= 1
                made = 0.0
            elif msg.address == "/liveart/stats/fps":
                now = time.monotonic()
                made += msg.params[0] * (now - last)
                last = now

    try:
        end = time.monotonic() + 30
        while True:  # wait for the show to come up
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{query}/?HOST_INFO", timeout=2).read()
                break
            except OSError:
                assert time.monotonic() < end and proc.poll() is None, "".join(err)
                time.sleep(0.2)
        client = SimpleUDPClient("127.0.0.1", osc)
        wait_show()  # the music's first notes come once the dream has run a little
        client.send_message("/liveart/record/start", "refused")  # already recording
        client.send_message("/liveart/record/stop", [])
        wait_log(f"to {launch}.")
        client.send_message("/liveart/record/start", "take")
        wait_show()
        client.send_message("/liveart/record/stop", [])
        client.send_message("/liveart/record/start", "../escape")  # refused
        wait_log(f"to {rec_dir / 'take.mp4'}.")
        time.sleep(0.5)  # frames would have come by now, had it started
    finally:
        listener.close()
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
    log = "".join(err)
    assert "Already recording" in log  # the first refusal, in one sentence
    assert sorted(p.name for p in rec_dir.iterdir()) == ["take.mp4"]
    assert not (tmp_path / "escape.mp4").exists()
    for path in (launch, rec_dir / "take.mp4"):
        s = streams(path)
        assert s["video"]["codec_name"] == "h264"
        assert "audio" in s and s["audio"]["codec_name"] == "aac", (path, log)
        assert float(s["video"]["duration"]) > 0
        assert abs(float(s["audio"]["duration"]) - float(s["video"]["duration"])) < 1 / 30


def test_an_extra_record_output_has_the_music_too(tmp_path):
    """`--record A --output record:B` with music on: B (an output of its own, not the show's
    recording) carries the sound as A does, as long as its picture."""
    a, b = tmp_path / "a.mp4", tmp_path / "b.mp4"
    out = subprocess.run(
        [sys.executable, "-m", "liveart", "run", "--headless", "--source", "synthetic",
         "--size", "64x36", "--window", "128x72", "--seconds", "5", "--no-osc", "--midi",
         "none", "--set", "music.enabled=true", "--record", str(a), "--output", f"record:{b}"],
        capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, out.stderr
    assert "recorded" in out.stdout and str(b) in out.stdout, out.stdout
    for path in (a, b):
        s = streams(path)
        assert s["video"]["codec_name"] == "h264"
        assert "audio" in s and s["audio"]["codec_name"] == "aac", (path, out.stderr)
        assert abs(float(s["audio"]["duration"]) - float(s["video"]["duration"])) < 1 / 30


class FakeSoundCard:
    """Stands in for sounddevice's OutputStream: calls the synth's callback in real time."""

    def __init__(self, synth, sr=48000, block=512):
        self.played = []
        self._stop = threading.Event()

        def run():
            out = np.zeros((block, 2), np.float32)
            t0, done = time.monotonic(), 0
            while not self._stop.wait(0.004):
                while done + block <= (time.monotonic() - t0) * sr:
                    synth.callback(out, block, None, None)
                    self.played.append(out.copy())
                    done += block

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()

    def stop(self):
        self._stop.set()
        self._thread.join()

    def close(self):
        pass


def test_live_recording_takes_what_the_synth_played(tmp_path, monkeypatch):
    from liveart.music.outputs import MusicVoice
    from liveart.music.summary import ActivationSummary
    from liveart.music.synth import Synth

    def start(self, quiet=False):
        self.stream = FakeSoundCard(self, self.core.sr, self.blocksize)
        return True

    monkeypatch.setattr(Synth, "start", start)
    store = ParamStore({"music.enabled": True, "music.density": 1.0, "music.tempo": 240.0,
                        "music.voice": "pluck"})
    s = ActivationSummary(np.ones(8, np.float32), [1, 2, 3], 1.0, 0.5, (0.5, 0.5), [("cat", 0.9)])
    voice = MusicVoice(store, lambda: s).start()
    engine = SimpleNamespace(sinks=[])
    control = RecordControl(engine, None, voice, fps=30.0, blocking=False)
    try:
        end = time.monotonic() + 5
        while voice.anchor is None:  # the synth opens when the music starts
            assert time.monotonic() < end
            time.sleep(0.01)
        path = control.start(str(tmp_path / "live.mp4"))
        frame = SimpleNamespace(image=np.zeros((36, 64, 3), np.uint8))
        t0 = time.monotonic()
        while time.monotonic() - t0 < 1.5:
            control.sink(frame)
            time.sleep(1 / 30)
        control.stop()
    finally:
        voice.stop()
    rec = control.done[0]
    assert rec.audio.played > 0.9 * 1.5 * 48000  # the tap, not the offline render
    assert voice.synth.tap.errors == 0 and voice.synth.core.errors == 0
    s = streams(path)
    assert s["audio"]["codec_name"] == "aac"
    assert abs(float(s["audio"]["duration"]) - float(s["video"]["duration"])) < 1 / 30
    assert np.abs(sound(path)).max() > 300 / 32768  # notes, not silence


def test_key_c_in_the_live_loop_starts_and_stops_a_recording(tmp_path, monkeypatch, caplog):
    """run_window's key dispatch with a stand-in window: C, frames, C and Esc; then C in a show
    that can't record is one sentence and the loop goes on."""
    import logging

    from liveart import live as live_mod
    from liveart.slots import LatestSlot

    monkeypatch.setenv("LIVEART_RECORDINGS_DIR", str(tmp_path / "rec"))
    store = ParamStore()
    actions = Actions(store)
    engine = SimpleNamespace(out_slot=LatestSlot(), store=store, frozen=False, sinks=[],
                             stats=SimpleNamespace(add=lambda *a: None, frames=0))
    control = RecordControl(engine, actions, None, fps=30.0, blocking=True)
    frame = SimpleNamespace(image=np.full((36, 64, 3), 99, np.uint8))

    class FakeWindow:
        hud_visible = False
        polls = [["record"]] + [[]] * 9 + [["record", "quit"]]

        def __init__(self, *a, **k):
            pass

        def poll(self):
            if control.recording:
                control.sink(frame)  # the engine's ticks, while the window runs
            return self.polls.pop(0) if self.polls else ["quit"]

        def show(self, frame, hud):
            pass

        def close(self):
            pass

    monkeypatch.setattr(live_mod, "Window", FakeWindow)
    monkeypatch.setattr(live_mod, "pygame", SimpleNamespace(
        display=SimpleNamespace(get_driver=lambda: "stand-in")))
    args = SimpleNamespace(install=True, fullscreen=False, display=0, seconds=None, frames=None,
                           scene="dream")
    live_mod.run_window(engine, args, (64, 36), actions)
    control.stop()
    assert [r.written for r in control.done] == [10]
    assert int(streams(control.done[0].path)["video"]["nb_frames"]) == 10

    FakeWindow.polls = [["record"], ["quit"]]
    with caplog.at_level(logging.WARNING, logger="liveart.live"):
        live_mod.run_window(engine, args, (64, 36), Actions(store))
    assert any("can't record" in r.getMessage() for r in caplog.records)
