"""The recorder: H.264 through ffmpeg (OpenCV without it), frame timing checked with ffprobe,
the music's sound muxed in and in sync with the picture."""
from __future__ import annotations

import json
import logging
import shutil
import subprocess
import threading
import time
import wave

import numpy as np
import pytest

from liveart.music.composer import NoteEvent
from liveart.music.synth import AudioTap
from liveart.outputs import recorder as recorder_module
from liveart.outputs.recorder import Recorder
from liveart.outputs.recording import VoiceAudio

from ..test_render import read_video

FFMPEG = shutil.which("ffmpeg")
FFPROBE = shutil.which("ffprobe")
pytestmark = pytest.mark.skipif(not (FFMPEG and FFPROBE), reason="needs ffmpeg and ffprobe")
SR = 48000
W, H = 64, 36


def probe(path) -> dict:
    r = subprocess.run([FFPROBE, "-v", "error", "-count_frames", "-show_streams", "-show_format",
                        "-of", "json", str(path)], capture_output=True, text=True, check=True)
    return json.loads(r.stdout)


def stream(info: dict, kind: str) -> dict | None:
    return next((s for s in info["streams"] if s["codec_type"] == kind), None)


def frame_times(path) -> np.ndarray:
    """Presentation time of every video frame, in display order."""
    r = subprocess.run([FFPROBE, "-v", "error", "-select_streams", "v", "-show_entries",
                        "frame=best_effort_timestamp_time", "-of", "csv=p=0", str(path)],
                       capture_output=True, text=True, check=True)
    return np.array([float(x.strip(",")) for x in r.stdout.split()])



def audio_of(path, tmp_path) -> np.ndarray:
    """The file's sound, mono float, 48 kHz, from t=0 of the file."""
    wav = tmp_path / "decoded.wav"
    subprocess.run([FFMPEG, "-v", "error", "-y", "-i", str(path), "-vn", "-ac", "1", "-ar", str(SR),
                    "-f", "wav", str(wav)], check=True)
    with wave.open(str(wav)) as w:
        return np.frombuffer(w.readframes(w.getnframes()), "<i2").astype(np.float64) / 32768.0


def grey(value: int) -> np.ndarray:
    return np.full((H, W, 3), value, np.uint8)


# -- timing ----------------------------------------------------------------------------------
def test_blocking_mode_writes_every_frame_at_one_over_fps(tmp_path):
    path, n, fps = tmp_path / "block.mp4", 45, 30.0
    rec = Recorder(str(path), fps, blocking=True)
    for i in range(n):
        rec.write(grey(i * 5))
        time.sleep(0.002 if i % 2 else 0.03)  # the show's pace does not matter here
    rec.close()
    assert (rec.written, rec.dropped, rec.backend, rec.encoder) == (n, 0, "ffmpeg", "libx264")

    v = stream(probe(path), "video")
    assert v["codec_name"] == "h264" and v["pix_fmt"] == "yuv420p"
    assert (v["width"], v["height"]) == (W, H)
    assert int(v["nb_read_frames"]) == n
    assert abs(float(v["duration"]) - n / fps) < 1 / fps
    t = frame_times(path)
    assert len(t) == n and t[0] == pytest.approx(0.0, abs=1e-3)
    assert np.allclose(np.diff(t), 1 / fps, atol=1e-3)
    # every frame in order: grey level i*5 at frame i
    levels = [int(round(f.mean() / 5)) for f in read_video(path)]
    assert levels == list(range(n))


def test_live_mode_follows_the_wall_clock(tmp_path):
    """A show ticking irregularly at about 20 fps into a 30 fps file: the file lasts as long as
    the show did, and at every moment shows the frame the show showed then."""
    path, fps = tmp_path / "live.mp4", 30.0
    rec = Recorder(str(path), fps, blocking=False)
    pauses = [0.03, 0.07, 0.05, 0.05]  # 1/20 s on average
    stamps = []
    t0 = time.monotonic()
    i = 0
    while time.monotonic() - t0 < 2.0:
        stamps.append(time.monotonic())
        rec.write(grey(i * 5 % 250))
        time.sleep(pauses[i % len(pauses)])
        i += 1
    rec.close()

    # the show lasted from its first frame until the last one had been on screen for a frame:
    # judged from the frames' own times, not from when close() ran (a loaded machine
    # oversleeps the last pause, and the file rightly does not wait for it)
    shown_for = stamps[-1] - stamps[0] + 1 / fps
    v = stream(probe(path), "video")
    assert v["codec_name"] == "h264"
    duration = float(v["duration"])
    assert abs(duration - shown_for) <= 0.5 / fps + 1e-3, (duration, shown_for)
    assert int(v["nb_read_frames"]) == rec.written
    assert rec.written == pytest.approx(shown_for * fps, abs=0.5 + 1e-3)
    t = frame_times(path)
    assert np.allclose(np.diff(t), 1 / fps, atol=1e-3)  # constant frame rate
    # what the file shows at time j/fps is what the show showed then (within one frame)
    rel = np.array(stamps) - stamps[0]
    for j, f in enumerate(read_video(path)):
        shown = int(np.searchsorted(rel, j / fps, side="right")) - 1
        level = f.mean()
        candidates = {shown * 5 % 250, max(shown - 1, 0) * 5 % 250,
                      min(shown + 1, len(stamps) - 1) * 5 % 250}
        assert min(abs(level - c) for c in candidates) < 2.5, (j, level, shown)


def test_live_write_never_waits_for_a_slow_encoder(tmp_path, monkeypatch):
    rec = Recorder(str(tmp_path / "slow.mp4"), 30.0, blocking=False, max_pending=2)
    rec.write(grey(0))
    slow = rec._sink.write
    monkeypatch.setattr(rec._sink, "write", lambda image: (time.sleep(0.1), slow(image)))
    worst = 0.0
    for i in range(30):
        t = time.perf_counter()
        rec.write(grey(i))
        worst = max(worst, time.perf_counter() - t)
        time.sleep(0.005)
    rec.close()
    assert worst < 0.02, worst
    assert rec.dropped > 10


def test_ffmpeg_dying_is_one_log_line_and_the_show_goes_on(tmp_path, caplog):
    rec = Recorder(str(tmp_path / "dies.mp4"), 30.0, blocking=True)
    for i in range(5):
        rec.write(grey(i))
    rec._sink.proc.kill()
    rec._sink.proc.wait()
    with caplog.at_level(logging.WARNING, logger="liveart.outputs.recorder"):
        for i in range(40):  # enough to fill the pipe's buffer if it were still there
            rec.write(np.zeros((360, 640, 3), np.uint8))
        rec.close()
    assert rec.failed
    assert rec.dropped > 0
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and "the show goes on" in errors[0].getMessage()


def test_without_ffmpeg_opencv_writes_the_file(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))  # no ffmpeg to be found
    assert recorder_module.find_ffmpeg() is None
    path, n = tmp_path / "cv.mp4", 20
    rec = Recorder(str(path), 30.0, blocking=True)
    for i in range(n):
        rec.write(grey(i * 10))
    rec.close()
    assert rec.backend == "opencv"
    v = stream(probe(path), "video")
    assert v["codec_name"] == "mpeg4"
    assert int(v["nb_read_frames"]) == n
    assert abs(float(v["duration"]) - n / 30) < 1 / 30


def test_no_libx264_falls_back_to_mpeg4(tmp_path, monkeypatch):
    monkeypatch.setattr(recorder_module, "video_encoder", lambda ffmpeg: "mpeg4")
    path = tmp_path / "m4.mp4"
    rec = Recorder(str(path), 25.0, blocking=True)
    for i in range(10):
        rec.write(np.full((35, 63, 3), i * 20, np.uint8))  # odd size: padded to even
    rec.close()
    v = stream(probe(path), "video")
    assert v["codec_name"] == "mpeg4" and int(v["nb_read_frames"]) == 10
    assert (v["width"], v["height"]) == (64, 36)


# -- sound -----------------------------------------------------------------------------------
def click_time(audio: np.ndarray) -> float:
    return int(np.argmax(np.abs(audio))) / SR


def onset_time(audio: np.ndarray) -> float:
    return int(np.argmax(np.abs(audio) > 0.02)) / SR


def white_frame_time(path, fps) -> float:
    means = [f.mean() for f in read_video(path)]
    white = [j for j, m in enumerate(means) if m > 200]
    assert len(white) >= 1, means
    return white[0] / fps


def test_tapped_sound_is_in_sync_with_the_picture(tmp_path):
    """Live mode with the synth's tap: a fake audio callback plays silence with a click at the
    wall-clock time of the white frame; after the mux the click is within a frame of it."""
    fps, k = 30.0, 25
    tap = AudioTap(SR)
    origin = time.monotonic() - 3.7          # the synth has been playing for 3.7 s already
    frame_at = lambda t: int(round((t - origin) * SR))  # noqa: E731
    click = {"at": None}
    stop = threading.Event()

    def callback():  # 512-frame blocks, 50 ms behind the wall clock like a sound card's buffer
        produced = frame_at(time.monotonic()) // 512 * 512
        block = np.zeros((512, 2), np.float32)
        while not stop.is_set():
            while produced + 512 <= frame_at(time.monotonic() - 0.05):
                block.fill(0.0)
                c = click["at"]
                if c is not None and produced <= c < produced + 512:
                    block[c - produced:c - produced + 24] = 0.8
                produced += 512
                tap.push(block, produced)
            time.sleep(0.004)

    player = threading.Thread(target=callback, daemon=True)
    player.start()
    path = tmp_path / "sync.mp4"
    audio = VoiceAudio(None, tap=tap, frame_at=frame_at, samplerate=SR)
    rec = Recorder(str(path), fps, blocking=False, audio=audio)
    t_start = time.monotonic()
    for i in range(50):
        t = time.monotonic()
        if i == k:
            click["at"] = frame_at(t)
        rec.write(grey(255 if i == k else 0), t)
        time.sleep(max(0.0, t_start + (i + 1) / fps - time.monotonic()))
    time.sleep(0.1)
    rec.close()
    stop.set()
    player.join()

    info = probe(path)
    a = stream(info, "audio")
    assert a is not None and a["codec_name"] == "aac"
    assert not (tmp_path / "sync.audio.wav").exists()  # muxed, then removed
    v = stream(info, "video")
    assert abs(float(a["duration"]) - float(v["duration"])) < 1 / fps
    error = click_time(audio_of(path, tmp_path)) - white_frame_time(path, fps)
    print(f"tap sync error {error * 1000:.1f} ms")
    assert abs(error) < 1 / fps, error


class FakeVoice:
    """What VoiceAudio needs of the music voice when there is no sound device."""

    def __init__(self, recent=()):
        self.event_listeners = []
        self.recent_events = list(recent)
        self.synth = None

    def play(self, t, ev):
        for listener in self.event_listeners:
            listener(t, ev)


def test_offline_sound_follows_the_frames_in_blocking_mode(tmp_path):
    """No sound device, headless: the voice's events are rendered offline, each at the video
    time of its wall-clock time, though the show ticked at 20 fps into a 30 fps file."""
    fps, k = 30.0, 20
    voice = FakeVoice()
    path = tmp_path / "offline.mp4"
    rec = Recorder(str(path), fps, blocking=True, audio=VoiceAudio(voice, blocking=True))
    base = time.monotonic()
    for i in range(40):
        t = base + i * 0.05  # the show's real pace: 20 fps
        if i == k:
            voice.play(t, NoteEvent(time_s=0.0, pitch=72, velocity=120, duration_s=0.2,
                                    pan=0.0, voice="pluck"))
        rec.write(grey(255 if i == k else 0), t)
    rec.close()
    info = probe(path)
    assert stream(info, "audio")["codec_name"] == "aac"
    sound = audio_of(path, tmp_path)
    error = onset_time(sound) - white_frame_time(path, fps)
    print(f"offline sync error {error * 1000:.1f} ms")
    assert abs(error) < 1 / fps, error
    assert abs(len(sound) / SR - 40 / fps) < 1 / fps


def test_no_music_no_audio_stream(tmp_path):
    path = tmp_path / "quiet.mp4"
    rec = Recorder(str(path), 30.0, blocking=True, audio=VoiceAudio(FakeVoice(), blocking=True))
    for i in range(10):
        rec.write(grey(i))
    rec.close()
    assert stream(probe(path), "audio") is None
    assert not (tmp_path / "quiet.audio.wav").exists()


def test_tap_ring_wraps_and_reports_lost_frames():
    tap = AudioTap(SR, seconds=0.1)  # 4800 frames
    block = np.zeros((512, 2), np.float32)
    for n in range(20):
        block[:, 0] = n
        tap.push(block, (n + 1) * 512)
    out = np.zeros((512, 2), np.float32)
    assert tap.read(19 * 512, out) == 512 and (out[:, 0] == 19).all()
    assert tap.read(0, out) == 512 and (out == 0).all()       # long gone: silence
    assert tap.read(20 * 512, out) == 0                        # not played yet
    assert tap.errors == 0


def test_notes_scheduled_or_sounding_before_the_start_are_in_the_file(tmp_path):
    """A pad begun 1 s before the first frame goes on sounding from t=0 (not a fresh attack);
    a pluck the voice scheduled ahead, before the recording began, lands at its time."""
    fps = 30.0
    base = time.monotonic()
    pad = NoteEvent(time_s=0.0, pitch=57, velocity=110, duration_s=3.0, pan=0.0, voice="pad")
    pluck = NoteEvent(time_s=0.0, pitch=84, velocity=127, duration_s=0.1, pan=0.0, voice="pluck")
    voice = FakeVoice(recent=[(base - 1.0, pad), (base + 0.5, pluck), (base - 9.0, pluck)])
    path = tmp_path / "pre.mp4"
    rec = Recorder(str(path), fps, blocking=True, audio=VoiceAudio(voice, blocking=True))
    for i in range(30):
        rec.write(grey(0), base + i / fps)
    rec.close()
    sound = audio_of(path, tmp_path)
    rms = lambda a, b: float(np.sqrt(np.mean(sound[int(a * SR):int(b * SR)] ** 2)))  # noqa: E731
    assert rms(0.01, 0.03) > 0.7 * rms(0.3, 0.45)  # the pad was already at full level
    # the pluck: a jump in level at 0.5 s
    assert rms(0.5, 0.55) > 1.4 * rms(0.42, 0.48)
