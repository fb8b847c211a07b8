import os
import subprocess
import sys
import textwrap
import tracemalloc
import time

import numpy as np
import pytest

from liveart.music.composer import NoteEvent
from liveart.music.synth import BLOCK, CEILING, Synth, SynthCore, render


def test_render_length_and_sound():
    a = render([NoteEvent(0.1, 69, 100, 0.5, 0.0, "pluck")], 1.0, 48000)
    assert a.shape == (48000, 2) and a.dtype == np.float32
    assert np.abs(a[:4000]).max() == 0.0 and np.sqrt((a ** 2).mean()) > 0.01
    spec = np.abs(np.fft.rfft(a[:, 0]))
    assert np.fft.rfftfreq(48000, 1 / 48000)[spec.argmax()] == pytest.approx(440.0, abs=2)


def test_32_loud_notes_never_clip():
    for voice in ("pad", "pluck", "bell"):
        loud = [NoteEvent(0.0, 36 + i, 127, 2.0, (i % 3) - 1.0, voice) for i in range(32)]
        a = render(loud, 2.5, 48000, volume=1.0)
        assert np.abs(a).max() <= CEILING + 1e-6
        assert np.sqrt((a ** 2).mean()) > 0.05  # limited, not muted


def test_voice_stealing_keeps_16_voices_and_the_newest_notes():
    core = SynthCore(48000, voices=16)
    out = np.zeros((BLOCK, 2), np.float32)
    for i in range(20):
        core.push_note(i * 10, 40 + i, 100, 1.0, 0.0, "pad")
    core.process(out)
    assert core.stolen == 4 and core.active.sum() == 16
    assert set(core.pitch.astype(int)) == set(range(44, 60)), "the oldest four were stolen"


def test_a_bad_event_does_not_raise_and_gives_silence():
    s = Synth(48000, blocksize=512)
    s.core.ring.push(0, 60.0, 100.0, 1000, 0.0, 99)  # voice 99 does not exist
    out = np.full((512, 2), 0.5, np.float32)
    s.callback(out, 512, None, None)
    assert s.core.errors >= 1 and not out.any()
    s.core.push_note(s.core.frame, 60, 100, 0.5, 0.0, "bell")  # and it plays on afterwards
    s.callback(out, 512, None, None)
    s.callback(out, 512, None, None)
    assert np.abs(out).max() > 0.01

    def boom(*a):
        raise RuntimeError("boom")
    s.core.process = boom
    out.fill(0.5)
    s.callback(out, 512, None, None)  # even a failure outside the DSP
    assert not out.any()


def test_callback_does_not_allocate():
    s = Synth(48000, blocksize=512)
    out = np.zeros((512, 2), np.float32)
    for i in range(16):
        s.core.push_note(i * 100, 50 + i, 110, 0.2 + 0.05 * i, 0.0, ("pad", "pluck", "bell")[i % 3])
    for _ in range(20):
        s.callback(out, 512, None, None)
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        for i in range(1000):
            if i % 10 == 0:  # notes keep arriving (and stealing) while it runs
                s.core.push_note(s.core.frame + 100, 60 + i % 12, 100, 0.3, 0.0, "pluck")
            s.callback(out, 512, None, None)
        grown = tracemalloc.get_traced_memory()[0] - base
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    # a few kB come and go in numpy's own caches; a leak of even 8 bytes per callback would
    # hold 8 kB after these 1000 callbacks
    assert grown < 8192, f"memory grew by {grown} bytes"
    assert peak < 16384, f"a callback allocated {peak} bytes at once (a work buffer?)"
    assert s.core.errors == 0


STREAM_SCRIPT = textwrap.dedent("""
    import time, numpy as np
    import sounddevice as sd
    from liveart.music.synth import Synth
    s = Synth(48000, blocksize=512)
    assert s.start(), "no stream"
    s.core.push_note(s.core.frame, 69, 100, 0.5, 0.0, "bell")
    time.sleep(1.0)
    s.stop()
    print("RESULT", s.callbacks, s.xruns, s.core.errors, s.core.frame)
""")


def test_a_real_output_stream_on_the_alsa_null_device(tmp_path):
    """PortAudio (ALSA host API) opens a real stream on `pcm.!default {type null}` (no sound
    card needed) and runs the callback. The null PCM is not paced by a clock: unpaced, the
    callback would run as often as the CPU allows (many seconds of audio per second, a whole
    core); the synth paces it to the wall clock. We check it ran, delivered about a second of
    audio in the second it played, and never failed."""
    try:
        import sounddevice  # noqa: F401
    except OSError:
        pytest.skip("PortAudio is not installed")
    (tmp_path / ".asoundrc").write_text("pcm.!default {\n  type null\n}\n")
    env = dict(os.environ, HOME=str(tmp_path))
    env.pop("ALSA_CONFIG_PATH", None)
    r = subprocess.run([sys.executable, "-c", STREAM_SCRIPT], env=env, capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0, r.stderr[-2000:]
    line = [ln for ln in r.stdout.splitlines() if ln.startswith("RESULT")][0]
    callbacks, xruns, errors, frames = map(int, line.split()[1:])
    assert callbacks >= 50 and frames >= 48000 * 0.5
    assert frames <= 48000 * (1.0 + Synth.AHEAD_S + 0.3), f"{frames} frames in 1 s: not paced"
    assert xruns == 0 and errors == 0


def test_no_sound_device_is_one_warning(monkeypatch, caplog):
    import sounddevice as sd

    def fail(*a, **k):
        raise sd.PortAudioError("Error querying device -1")
    monkeypatch.setattr(sd, "OutputStream", fail)
    s = Synth()
    assert s.start() is False
    assert "visuals go on" in caplog.text
    s.stop()


@pytest.fixture
def fake_sd(monkeypatch):
    from .fake_sounddevice import FakeSoundDevice

    sd = FakeSoundDevice()
    monkeypatch.setitem(sys.modules, "sounddevice", sd)
    monkeypatch.setattr(Synth, "STALL_S", 0.3)
    monkeypatch.setattr(Synth, "RETRY_S", 0.1)
    return sd


def watch_until(s, condition, seconds=5.0):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        s.watch(time.monotonic())
        if condition():
            return True
        time.sleep(0.01)
    return False


def test_a_callback_error_is_counted_and_the_stream_restarted(fake_sd, monkeypatch, caplog):
    s = Synth(48000, blocksize=512)
    assert s.start()
    first = s.stream
    assert watch_until(s, lambda: s.callbacks > 3)
    real = s.core.process
    calls = {"n": 0}

    def process_once_broken(out):
        calls["n"] += 1
        if calls["n"] == 1:
            raise FloatingPointError("a bug in the DSP")
        return real(out)

    monkeypatch.setattr(s.core, "process", process_once_broken)
    assert watch_until(s, lambda: s.restarts == 1)
    assert s.core.errors == 1 and s.stream is not first and s.stream.active
    n = s.callbacks
    assert watch_until(s, lambda: s.callbacks > n + 3)  # the new stream plays
    assert "audio callback failed (1 so far" in caplog.text
    s.stop()


def test_an_unplugged_device_is_reopened_when_it_returns(fake_sd):
    s = Synth(48000, blocksize=512)
    assert s.start()
    assert watch_until(s, lambda: s.callbacks > 3)
    fake_sd.present = False  # unplugged: callbacks stop, opening fails
    assert watch_until(s, lambda: s.restarts >= 2 and s.stream is None)
    fake_sd.present = True
    assert watch_until(s, lambda: s.stream is not None)
    n = s.callbacks
    assert watch_until(s, lambda: s.callbacks > n + 3)
    assert fake_sd.opened == 2  # the first stream and the one after the return
    s.stop()


def test_a_show_initialises_portaudio_before_it_starts_threads(tmp_path):
    """sounddevice's import points fd 2 at /dev/null while PortAudio starts: if that happened
    on the music thread, log lines other threads wrote meanwhile were lost (a scene switch's
    "ready" vanished under load). A real `liveart run` must import it alone, on the main
    thread, before any other thread exists."""
    import subprocess
    import sys
    import textwrap

    probe = textwrap.dedent("""
        import sys, threading
        seen = []
        class Probe:
            def find_spec(self, name, path=None, target=None):
                if name == "sounddevice":
                    seen.append((threading.current_thread().name, threading.active_count()))
                return None
        sys.meta_path.insert(0, Probe())
        from liveart.cli import main
        rc = main(["run", "--headless", "--source", "synthetic", "--size", "64x36",
                   "--window", "128x72", "--frames", "2", "--no-osc", "--midi", "none"])
        print("SEEN", seen, rc)
    """)
    env = dict(__import__("os").environ, LIVEART_CONFIG_DIR=str(tmp_path))
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "SEEN [('MainThread', 1)] 0" in out.stdout, out.stdout + out.stderr
