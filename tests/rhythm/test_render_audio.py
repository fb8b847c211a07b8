"""`liveart render --audio`: a still image driven by a click track, the song muxed in."""
import wave

import av
import cv2
import numpy as np

from liveart.cli import main

from .signals import SR, click_track


def write_wav(path, samples, sr=SR):
    pcm = (np.clip(samples, -1, 1) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(sr)
        w.writeframes(pcm.tobytes())


def test_a_still_image_pulses_on_the_clicks_and_carries_the_song(tmp_path, cat):
    samples, clicks = click_track(120.0, 2.5)
    write_wav(tmp_path / "clicks.wav", samples)
    cv2.imwrite(str(tmp_path / "cat.png"), cv2.cvtColor(cat, cv2.COLOR_RGB2BGR))
    (tmp_path / "pulse.toml").write_text(
        '[dream]\nmix = 0.0\n\n[[mod]]\ntarget = "dream.mix"\nsource = "onset"\namount = 1.0\n')
    out = tmp_path / "out.mp4"
    assert main(["render", str(tmp_path / "cat.png"), str(out), "--audio",
                 str(tmp_path / "clicks.wav"), "--preset", str(tmp_path / "pulse.toml"),
                 "--size", "128x72", "--fps", "25"]) == 0
    with av.open(str(out)) as c:
        kinds = {s.type: float(s.duration * s.time_base) for s in c.streams if s.duration}
        frames = [f.to_ndarray(format="rgb24").astype(np.float32) for f in c.decode(video=0)]
    assert len(frames) == 62 and set(kinds) == {"video", "audio"}
    assert abs(kinds["audio"] - 2.5) < 0.1, kinds
    change = np.array([np.abs(f - frames[0]).mean() for f in frames])
    peaks = [i for i in range(1, len(change) - 1)
             if change[i] > change[i - 1] and change[i] >= change[i + 1] and change[i] > 5]
    expected = [int(np.ceil(c * 25)) for c in clicks]  # the first frame at or after each click
    assert peaks == expected, f"change peaks at frames {peaks}, clicks at {expected}"
    quiet = [change[i - 2] for i in expected[1:]]  # between the pulses the still shows through
    assert max(quiet) < 0.4 * min(change[i] for i in expected)


def test_render_audio_bad_input_is_one_sentence(tmp_path, cat, capsys):
    cv2.imwrite(str(tmp_path / "cat.png"), cv2.cvtColor(cat, cv2.COLOR_RGB2BGR))
    (tmp_path / "noise.wav").write_bytes(b"not a wav at all")
    assert main(["render", str(tmp_path / "cat.png"), str(tmp_path / "o.mp4"), "--audio",
                 str(tmp_path / "noise.wav")]) == 2
    err = capsys.readouterr().err.strip()
    assert "noise.wav could not be read as audio" in err and "\n" not in err
    assert main(["render", str(tmp_path / "cat.png"), str(tmp_path / "o.mp4"), "--audio",
                 str(tmp_path / "missing.wav")]) == 2
    assert "missing.wav does not exist" in capsys.readouterr().err
