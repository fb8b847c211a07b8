"""The dream scene's summaries, rendered to music offline (the `liveart render --music` path)."""
import re
import shutil
import subprocess
import wave

import av
import cv2
import numpy as np
import pytest
import skimage.data
import torch

from liveart.music.composer import SCALES, NoteEvent
from liveart.params import ParamStore
from liveart.render import render_file
from liveart.scenes import create_scene

from ..test_render import read_video

FPS = 8
N = 24
MUSIC = {"dream.octaves": 2, "music.voice": "pad", "music.scale": "major", "music.root": "C",
         "music.density": 0.6}


def clip(path, changing: bool, size=(160, 106)):
    """A still cat, or cuts between four photos (each slowly zooming) every 6 frames."""
    pics = [skimage.data.chelsea(), skimage.data.coffee(), skimage.data.astronaut(),
            skimage.data.rocket()]
    vw = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), FPS, size)
    for i in range(N):
        img = pics[(i // 6) % 4] if changing else pics[0]
        h, w = img.shape[:2]
        f = 1.0 + (0.5 * (i % 6) / 6 if changing else 0.0)
        cw, ch = int(w / f), int(h / f)
        crop = np.ascontiguousarray(img[(h - ch) // 2:(h - ch) // 2 + ch, (w - cw) // 2:(w - cw) // 2 + cw])
        vw.write(cv2.cvtColor(cv2.resize(crop, size, interpolation=cv2.INTER_AREA), cv2.COLOR_RGB2BGR))
    vw.release()


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    """{name: (wav path, video path, events)} for the changing and the frozen clip."""
    import liveart.music.offline as offline

    folder = tmp_path_factory.mktemp("music")
    out = {}
    for name, changing in (("changing", True), ("frozen", False)):
        ext = ".avi" if changing else ".mp4"  # both kinds of output: MPEG-4/PCM, H.264/AAC
        src, dst, wav = folder / f"{name}.avi", folder / f"{name}_out{ext}", folder / f"{name}.wav"
        clip(src, changing)
        captured = {}
        real = offline.render_music

        def spy(*a, **k):
            captured["result"] = real(*a, **k)
            return captured["result"]
        offline.render_music = spy
        try:
            store = ParamStore(MUSIC)
            scene = create_scene("dream", torch.device("cpu"), seed=0)
            n = render_file(str(src), str(dst), "video", scene, store, torch.device("cpu"), None,
                            music=str(wav))
        finally:
            offline.render_music = real
        assert n == N
        out[name] = (wav, dst, captured["result"][1])
    return out


def read_wav(path):
    with wave.open(str(path)) as w:
        sr, ch, n = w.getframerate(), w.getnchannels(), w.getnframes()
        data = np.frombuffer(w.readframes(n), "<i2").reshape(-1, ch).astype(np.float64) / 32768
    return data, sr


def test_music_of_a_render_is_audible_and_as_long_as_the_video(rendered):
    wav, _, events = rendered["changing"]
    data, sr = read_wav(wav)
    assert abs(len(data) - N / FPS * sr) <= 512
    assert np.sqrt((data ** 2).mean()) > 0.01
    assert any(isinstance(e, NoteEvent) for e in events)
    if shutil.which("sox"):
        stat = subprocess.run(["sox", str(wav), "-n", "stat"], capture_output=True, text=True).stderr
        length = float(re.search(r"Length \(seconds\):\s+([\d.]+)", stat).group(1))
        rms = float(re.search(r"RMS\s+amplitude:\s+([\d.]+)", stat).group(1))
        assert length == pytest.approx(N / FPS, abs=512 / sr) and rms > 0.01


def test_its_pitches_are_on_the_scale(rendered):
    data, sr = read_wav(rendered["changing"][0])
    mono = data.mean(axis=1)
    spec = np.abs(np.fft.rfft(mono * np.hanning(len(mono))))
    freqs = np.fft.rfftfreq(len(mono), 1 / sr)
    band = (freqs > 40) & (freqs < 4000)
    s, f = spec[band], freqs[band]
    peaks = [i for i in range(1, len(s) - 1) if s[i] >= s[i - 1] and s[i] >= s[i + 1]
             and s[i] > 0.1 * s.max()]
    assert len(peaks) >= 2
    pcs = [int(round(69 + 12 * np.log2(f[i] / 440.0))) % 12 for i in peaks]
    weight_on = sum(s[i] for i, pc in zip(peaks, pcs) if pc in SCALES["major"])
    assert weight_on / sum(s[i] for i in peaks) > 0.9, sorted(set(pcs))


def test_a_frozen_picture_is_calmer_than_a_changing_one(rendered):
    def onsets(events):
        return sum(1 for e in events if isinstance(e, NoteEvent))

    def accents(events):
        return sum(1 for e in events if isinstance(e, NoteEvent) and e.accent)

    (_, _, ch), (_, _, fr) = rendered["changing"], rendered["frozen"]
    assert onsets(fr) < onsets(ch)
    assert accents(fr) <= accents(ch)
    chords = [len([e for e in ev if not isinstance(e, NoteEvent)]) for ev in (ch, fr)]
    assert chords[1] == 1 and chords[0] > 1, "one top class, one chord; cuts change the class"


def decoded_sound(path) -> np.ndarray:
    """The file's sound decoded with PyAV, (samples x channels) float in -1..1."""
    parts = []
    with av.open(str(path)) as c:
        for f in c.decode(audio=0):
            x = f.to_ndarray()
            if not f.format.is_planar:  # interleaved (PCM): one row of samples x channels
                x = x.reshape(-1, len(f.layout.channels)).T
            if x.dtype == np.int16:
                x = x.astype(np.float64) / 32768.0
            parts.append(x.T)
    return np.concatenate(parts)


def test_the_music_is_in_the_video(rendered):
    """`render --music` puts the WAV into the video with PyAV (no ffmpeg binary): the picture
    copied as it was, the sound as long as the picture and the same as the WAV."""
    wav, video, _ = rendered["changing"]
    data, sr = read_wav(wav)
    with av.open(str(video)) as c:
        assert {s.type for s in c.streams} == {"video", "audio"}
        v, a = c.streams.video[0], c.streams.audio[0]
        frames = sum(1 for _ in c.decode(v))
    sound = decoded_sound(video)
    assert frames == N and v.codec_context.name == "mpeg4"  # an .avi: MPEG-4 part 2 + PCM
    assert a.codec_context.name == "pcm_s16le" and a.codec_context.sample_rate == sr
    assert abs(len(sound) / sr - N / FPS) < 1 / FPS
    n = min(len(sound), len(data))
    assert np.abs(sound[:n] - data[:n]).max() < 2 / 32768  # the WAV, sample for sample


def test_render_music_into_an_mp4_is_h264_and_aac(rendered):
    wav, dst, _ = rendered["frozen"]
    data, sr = read_wav(wav)
    with av.open(str(dst)) as c:
        v, a = c.streams.video[0], c.streams.audio[0]
        assert (v.codec_context.name, a.codec_context.name) == ("h264", "aac")
        times = [float(f.time) for f in c.decode(v)]
    sound = decoded_sound(dst)
    assert len(times) == N and times[0] == pytest.approx(0.0, abs=1e-3)
    assert abs(len(sound) / sr - N / FPS) < 1 / FPS
    rms = lambda x: float(np.sqrt(np.mean(np.square(x))))  # noqa: E731
    assert rms(sound) == pytest.approx(rms(data), rel=0.1) and rms(sound) > 0.005, rms(data)
    assert len(read_video(dst)) == N
    assert not list(dst.parent.glob("*music-tmp*"))
