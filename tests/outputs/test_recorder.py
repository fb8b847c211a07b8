"""The recorder: H.264 + AAC through PyAV, frame timing and the sound read back with PyAV, the
music's sound in sync with the picture."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import time
from types import SimpleNamespace

import av
import numpy as np
import pytest

from liveart.music.composer import NoteEvent
from liveart.music.synth import AudioTap
from liveart.outputs import recorder as recorder_module
from liveart.outputs.recorder import Recorder
from liveart.outputs.recording import VoiceAudio

from ..test_render import read_video

SR = 48000
W, H = 64, 36


def probe(path) -> SimpleNamespace:
    """What a reader finds in the file, decoded with PyAV: the video's codec, size and every
    frame's presentation time (display order); the sound's codec and decoded length."""
    with av.open(str(path)) as c:
        v = c.streams.video[0]
        ctx = v.codec_context
        times = np.array([float(f.time) for f in c.decode(v)])
        info = SimpleNamespace(codec=ctx.name, pix_fmt=ctx.pix_fmt, width=ctx.width,
                               height=ctx.height, times=times, frames=len(times),
                               rate=float(v.average_rate), audio=None, audio_duration=None)
    info.duration = info.frames / info.rate  # constant frame rate: n frames last n/fps
    with av.open(str(path)) as c:
        if c.streams.audio:
            a = c.streams.audio[0]
            info.audio = a.codec_context.name
            info.audio_duration = sum(f.samples for f in c.decode(a)) / a.codec_context.sample_rate
    return info


def audio_of(path) -> np.ndarray:
    """The file's sound, mono float, from t=0 of the file (decoded with PyAV)."""
    with av.open(str(path)) as c:
        a = c.streams.audio[0]
        assert a.codec_context.sample_rate == SR
        chunks, start = [], None
        for f in c.decode(a):
            if start is None:
                start = float(f.time or 0.0)
            chunks.append(f.to_ndarray().astype(np.float64).mean(axis=0))
    lead = np.zeros(int(round(start * SR)))  # a stream that starts after t=0
    return np.concatenate([lead, *chunks])


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
    assert (rec.written, rec.dropped, rec.backend, rec.encoder) == (n, 0, "PyAV", "libx264")

    v = probe(path)
    assert v.codec == "h264" and v.pix_fmt == "yuv420p"
    assert (v.width, v.height) == (W, H)
    assert v.frames == n and v.rate == fps
    t = v.times
    assert t[0] == pytest.approx(0.0, abs=1e-3)  # the edit list hides the B-frames' delay
    assert np.allclose(np.diff(t), 1 / fps, atol=1e-3)
    # every frame in order: grey level i*5 at frame i, also as OpenCV reads it
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
    v = probe(path)
    assert v.codec == "h264"
    assert abs(v.duration - shown_for) <= 0.5 / fps + 1e-3, (v.duration, shown_for)
    assert v.frames == rec.written
    assert rec.written == pytest.approx(shown_for * fps, abs=0.5 + 1e-3)
    assert np.allclose(np.diff(v.times), 1 / fps, atol=1e-3)  # constant frame rate
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
    end = time.monotonic() + 10
    while rec._sink is None:  # the worker opens the file at the first frame
        assert time.monotonic() < end
        time.sleep(0.01)
    slow = rec._sink.write
    monkeypatch.setattr(rec._sink, "write", lambda image, t=None: (time.sleep(0.1), slow(image, t)))
    worst = 0.0
    for i in range(30):
        t = time.perf_counter()
        rec.write(grey(i))
        worst = max(worst, time.perf_counter() - t)
        time.sleep(0.005)
    rec.close()
    assert worst < 0.02, worst
    assert rec.dropped > 10


FULL_DISK = textwrap.dedent("""
    import json, logging, resource, signal, sys
    import numpy as np
    from liveart.outputs.recorder import Recorder
    from liveart.outputs.recording import VoiceAudio
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    # the file may not grow past 300 kB: writes past it fail with EFBIG, as on a full disk
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (300_000, 300_000))
    class Voice:  # plays no note: a silent sound track, still written with the picture
        event_listeners, recent_events, synth = [], [], None
    rec = Recorder(sys.argv[1], 30.0, blocking=True, audio=VoiceAudio(Voice(), blocking=True))
    rng = np.random.default_rng(0)
    for i in range(300):  # noise: about 4 kB a frame, far more than fits
        rec.write(rng.integers(0, 256, (36, 64, 3), np.uint8), t=i / 30)
    rec.close()
    print(json.dumps({"written": rec.written, "dropped": rec.dropped, "failed": rec.failed,
                      "error": rec.error}))
""")


@pytest.mark.parametrize("ext", [".mp4", ".mkv"])
def test_a_full_disk_is_one_log_line_and_the_file_keeps_what_it_says(tmp_path, ext):
    """Writes that fail half-way (the file size limit stands in for a full disk): one error
    line, the recording stops, what is in the file plays to its end without a decoding error,
    and `written` is exactly the frames a reader finds there."""
    import json

    path = tmp_path / f"full{ext}"
    out = subprocess.run([sys.executable, "-c", FULL_DISK, str(path)], capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    errors = [line for line in out.stderr.splitlines() if line.startswith(("ERROR", "Traceback"))]
    assert len(errors) == 1 and "the show goes on" in errors[0], out.stderr
    assert "File too large" in errors[0]
    assert result["failed"] and result["dropped"] > 0
    assert 0 < result["written"] < 300
    assert os.path.getsize(path) <= 300_000
    with av.open(str(path)) as c:  # no torn packet at the end: every frame decodes
        frames = sum(1 for _ in c.decode(video=0))
    assert frames == result["written"]
    assert len(read_video(path)) == frames


@pytest.mark.parametrize("ext, codecs", [(".mp4", ("h264", "aac")), (".mov", ("h264", "aac")),
                                         (".m4v", ("h264", "aac")), (".mkv", ("h264", "aac")),
                                         (".avi", ("mpeg4", "pcm_s16le"))])
def test_every_container_plays_in_both_readers_from_t0(tmp_path, ext, codecs):
    path, n, fps = tmp_path / f"kind{ext}", 40, 30.0
    rec = Recorder(str(path), fps, blocking=True,
                   audio=VoiceAudio(FakeVoice(), blocking=True))
    for i in range(n):
        rec.write(grey(i * 5), t=i / fps)
    rec.close()
    v = probe(path)
    assert (v.codec, v.audio, v.frames, rec.written) == (*codecs, n, n)
    assert v.times[0] == pytest.approx(0.0, abs=1e-3)
    assert abs(v.audio_duration - n / fps) < 1 / fps
    assert [int(round(f.mean() / 5)) for f in read_video(path)] == list(range(n))


def test_odd_sizes_are_padded_to_even(tmp_path):
    path = tmp_path / "odd.mp4"
    rec = Recorder(str(path), 30.0, blocking=True)
    for i in range(10):
        rec.write(np.full((35, 63, 3), 100, np.uint8))
    rec.close()
    v = probe(path)
    assert (v.codec, v.width, v.height, v.frames) == ("h264", 64, 36, 10)
    f = read_video(path)[0]
    assert abs(float(f[-1].mean()) - 100) < 3 and abs(float(f[:, -1].mean()) - 100) < 3  # edge


def test_no_libx264_falls_back_to_mpeg4(tmp_path, monkeypatch):
    """A PyAV build without libx264 (the wheels have it): FFmpeg's own MPEG-4 part 2."""
    monkeypatch.setattr(av, "codecs_available", av.codecs_available - {"libx264"})
    path = tmp_path / "m4.mp4"
    rec = Recorder(str(path), 25.0, blocking=True)
    for i in range(10):
        rec.write(np.full((35, 63, 3), i * 20, np.uint8))  # odd size: padded to even
    rec.close()
    assert rec.encoder == "mpeg4"
    v = probe(path)
    assert v.codec == "mpeg4" and v.frames == 10
    assert (v.width, v.height) == (64, 36)


def test_the_encoder_is_nvenc_only_where_it_opens():
    codec = recorder_module.video_codec((1280, 720))
    if not recorder_module._cuda_present():
        assert codec == "libx264"
    else:  # a GPU without NVENC (an H100) or one that has it
        assert codec in ("libx264", "h264_nvenc")
        assert (codec == "h264_nvenc") == recorder_module._encoder_opens("h264_nvenc", 1280, 720)


def test_a_folder_that_does_not_exist_is_one_sentence(tmp_path):
    from liveart.errors import UserError

    with pytest.raises(UserError, match="does not exist"):
        Recorder(str(tmp_path / "nope" / "x.mp4"), 30.0)
    with pytest.raises(UserError, match="use one of"):
        Recorder(str(tmp_path / "x.gif"), 30.0)


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
    assert info.audio == "aac"
    assert audio.played > 0.9 * info.duration * SR  # the tap, not the events
    assert abs(info.audio_duration - info.duration) < 1 / fps
    assert not list(tmp_path.glob("*.wav"))  # the sound went straight into the video
    error = click_time(audio_of(path)) - white_frame_time(path, fps)
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
    assert probe(path).audio == "aac"
    sound = audio_of(path)
    error = onset_time(sound) - white_frame_time(path, fps)
    print(f"offline sync error {error * 1000:.1f} ms")
    assert abs(error) < 1 / fps, error
    assert abs(len(sound) / SR - 40 / fps) < 1 / fps


def test_a_silent_voice_is_a_silent_track_and_no_voice_no_track(tmp_path):
    """The sound track is in the file from its first frame (a crash-safe file can't add one
    later), so a show with the music voice records one even while the music is off."""
    quiet, none = tmp_path / "quiet.mp4", tmp_path / "none.mp4"
    for path, audio in ((quiet, VoiceAudio(FakeVoice(), blocking=True)), (none, None)):
        rec = Recorder(str(path), 30.0, blocking=True, audio=audio)
        for i in range(10):
            rec.write(grey(i))
        rec.close()
    info = probe(quiet)
    assert info.audio == "aac" and abs(info.audio_duration - 10 / 30) < 1 / 30
    assert np.abs(audio_of(quiet)).max() < 1e-3
    assert probe(none).audio is None


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
    sound = audio_of(path)
    rms = lambda a, b: float(np.sqrt(np.mean(sound[int(a * SR):int(b * SR)] ** 2)))  # noqa: E731
    assert rms(0.01, 0.03) > 0.7 * rms(0.3, 0.45)  # the pad was already at full level
    # the pluck: a jump in level at 0.5 s
    assert rms(0.5, 0.55) > 1.4 * rms(0.42, 0.48)
