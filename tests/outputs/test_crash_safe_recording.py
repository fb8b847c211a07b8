"""A recording cut short by SIGKILL still plays, with its sound, up to about its last second:
fragmented MP4 (Matroska, AVI) written and interleaved as it goes, read back with PyAV and
OpenCV. Without the fragmenting these fail: an MP4 killed before its end has no moov box."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
import urllib.request

import av
import cv2
import numpy as np
import pytest

FPS = 30


def read_back(path) -> dict:
    """What PyAV and OpenCV find in a (possibly cut) file. A torn last packet, if the kill
    came while a fragment was being written, ends the decoding, it does not fail it."""
    out = {"video": 0, "audio_s": 0.0, "codecs": (), "cv2": 0, "sound": np.zeros((2, 0))}
    with av.open(str(path)) as c:
        out["codecs"] = tuple(s.codec_context.name for s in c.streams)
        try:
            for _ in c.decode(video=0):
                out["video"] += 1
        except av.InvalidDataError:
            pass
    with av.open(str(path)) as c:
        if c.streams.audio:
            parts = []
            try:
                for f in c.decode(audio=0):
                    x = f.to_ndarray()
                    if not f.format.is_planar:
                        x = x.reshape(-1, 2).T.astype(np.float64) / 32768.0
                    parts.append(x)
            except av.InvalidDataError:
                pass
            sound = np.concatenate(parts, axis=1) if parts else np.zeros((2, 0))
            out["sound"] = sound
            out["audio_s"] = sound.shape[1] / c.streams.audio[0].codec_context.sample_rate
    cap = cv2.VideoCapture(str(path))
    while cap.read()[0]:
        out["cv2"] += 1
    cap.release()
    return out


# -- the recorder alone, killed at a known frame -------------------------------------------------
KILLED = textwrap.dedent("""
    import os, signal, sys, time
    import numpy as np
    from liveart.music.composer import NoteEvent
    from liveart.outputs.recorder import Recorder
    from liveart.outputs.recording import VoiceAudio

    class Voice:  # the music voice as a headless show has it: events, no sound device
        event_listeners, recent_events, synth = [], [], None

    path, n = sys.argv[1], int(sys.argv[2])
    voice = Voice()
    rec = Recorder(path, 30.0, blocking=True, audio=VoiceAudio(voice, blocking=True))
    base = time.monotonic()
    for i in range(n):
        t = base + i / 30
        if i % 15 == 0:  # a note every half second
            for listener in voice.event_listeners:
                listener(t, NoteEvent(time_s=0.0, pitch=60 + i % 12, velocity=110,
                                      duration_s=0.2, pan=0.0, voice="pluck"))
        rec.write(np.full((36, 64, 3), i % 250, np.uint8), t)
    while not rec._queue.empty():  # the worker has taken every frame ...
        time.sleep(0.01)
    time.sleep(0.3)  # ... and encoded it
    print(rec.written, flush=True)
    os.kill(os.getpid(), signal.SIGKILL)  # no close(): what a crash leaves
""")


@pytest.mark.parametrize("ext", [".mp4", ".mov", ".mkv", ".avi"])
def test_a_recorder_killed_mid_file_leaves_what_it_wrote_playable(tmp_path, ext):
    path, n = tmp_path / f"killed{ext}", 150  # 5 s of video
    out = subprocess.run([sys.executable, "-c", KILLED, str(path), str(n)], capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == -signal.SIGKILL, out.stderr
    got = read_back(path)
    print(ext, got["video"], "frames of", n, f"{got['audio_s']:.2f} s of sound")
    # lost at most: the encoder's lookahead and the fragment being filled (1 s of video)
    assert got["video"] >= n - 2 * FPS, got
    assert got["cv2"] == got["video"]
    assert got["codecs"] in (("h264", "aac"), ("mpeg4", "pcm_s16le"))
    assert abs(got["audio_s"] - got["video"] / FPS) < 0.5, got  # the sound went in with it
    assert np.abs(got["sound"]).max() > 0.05  # the notes, not silence


def test_a_slow_headless_show_still_gets_a_keyframe_every_second(tmp_path):
    """Blocking mode at 2.5 fps of wall clock into a 30 fps file: a keyframe (a fragment on
    disk) every wall-clock second, not only every 30 frames (12 s of such a show)."""
    from liveart.outputs.recorder import Recorder

    path = tmp_path / "slow.mp4"
    rec = Recorder(str(path), FPS, blocking=True)
    for i in range(20):
        rec.write(np.full((36, 64, 3), i * 10, np.uint8), t=100.0 + i * 0.4)
    rec.close()
    with av.open(str(path)) as c:
        keys = [i for i, p in enumerate(c.demux(video=0)) if p.is_keyframe]
    assert keys[0] == 0 and max(np.diff(keys + [20])) <= 3, keys  # 1.2 s at most


# -- a real show, killed -------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_killed_headless_show_leaves_a_playable_recording_with_its_music(tmp_path):
    """`liveart run --headless --record k.mp4` with the music on, SIGKILLed a few seconds
    after its first frame. Headless, every frame the show makes is recorded (at 1/fps in the
    file, however fast the show ticks), so the measure is the show's own frame counter (its
    status page) just before the kill: the file holds all of those frames but at most the
    recorder's queue (8) and 2 s of video (the encoder's lookahead, the fragment being filled,
    the sound's lag), with the sound up to the same point."""
    path, port = tmp_path / "k.mp4", free_port()
    env = dict(os.environ, OMP_WAIT_POLICY="PASSIVE")  # see test_recording: 2 cores, 3 encoders
    log = open(tmp_path / "run.log", "w+")
    proc = subprocess.Popen(
        [sys.executable, "-m", "liveart", "run", "--headless", "--source", "synthetic",
         "--size", "64x36", "--window", "128x72", "--seconds", "60", "--no-osc", "--midi",
         "none", "--set", "music.enabled=true", "--status-port", str(port), "--record",
         str(path)], env=env, stdout=subprocess.DEVNULL, stderr=log)

    def frames() -> int | None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health.json", timeout=2) as r:
                return int(json.load(r)["frames"])
        except OSError:
            return None

    try:
        end = time.monotonic() + 60
        first = None
        while True:  # until the show has made frames for 4 s (and its file has fragments)
            assert proc.poll() is None and time.monotonic() < end, log.seek(0) or log.read()
            n = frames()
            now = time.monotonic()
            if n and first is None:
                first = (now, n)
            if first and now - first[0] >= 4.0 and n >= 3 * FPS:
                break
            time.sleep(0.1)
        produced = frames()
        t_kill = time.monotonic()
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    log.seek(0)
    text = log.read()
    assert "libx264 + aac" in text, text  # the recording opened, with its sound track
    rate = (produced - first[1]) / (t_kill - first[0])
    got = read_back(path)
    lost = produced - got["video"]
    print(f"show made {produced} frames ({rate:.1f} a second of wall clock); the killed file "
          f"has {got['video']} (lost {lost}, {lost / FPS:.2f} s of video, "
          f"{lost / max(rate, 1e-9):.2f} s of the show), {got['audio_s']:.2f} s of sound, "
          f"peak {np.abs(got['sound']).max():.3f}")
    assert got["codecs"] == ("h264", "aac")
    assert got["cv2"] == got["video"] > 0
    assert got["video"] >= produced - (8 + 2 * FPS), (got, produced)
    assert abs(got["audio_s"] - got["video"] / FPS) < 0.5, got
    assert np.abs(got["sound"]).max() > 0.01, "the music is in the file"
