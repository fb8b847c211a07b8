"""Audio in: a file played as the room (real time), a sound card input (a stand-in module
behind sounddevice's interface: there is no sound card here), and what goes wrong."""
import logging
import sys
import time
import tracemalloc

import numpy as np
import pytest

from liveart.errors import UserError
from liveart.rhythm import audio_in as audio_in_module
from liveart.rhythm.audio_in import DeviceAudioIn, open_audio_in

from .signals import click_track
from .test_render_audio import write_wav


def test_a_file_plays_in_real_time_and_its_clicks_are_heard(tmp_path):
    samples, clicks = click_track(120.0, 10.0)
    write_wav(tmp_path / "clicks.wav", samples)
    audio = open_audio_in(f"file:{tmp_path / 'clicks.wav'}").start()
    try:
        t0 = time.monotonic()
        time.sleep(2.0)
        heard = list(audio.analyzer.onsets)
        elapsed = time.monotonic() - t0
    finally:
        audio.stop()
    due = [c for c in clicks if c < elapsed - 0.05]
    assert len(heard) == len(due), f"{len(heard)} onsets in {elapsed:.2f} s, {len(due)} clicks due"
    assert np.abs(np.asarray(heard) - due).max() < 0.02
    assert audio.analyzer.time == pytest.approx(elapsed, abs=0.1)  # real time, not faster


@pytest.fixture
def fake_sd(monkeypatch):
    sys.path.insert(0, str(__import__("pathlib").Path(__file__).parents[1] / "music"))
    from fake_sounddevice import FakeSoundDevice

    sd = FakeSoundDevice()
    sd.signal, _ = click_track(120.0, 4.0, sr=48000)
    monkeypatch.setitem(sys.modules, "sounddevice", sd)
    monkeypatch.setattr(audio_in_module, "STALL_S", 0.3)
    monkeypatch.setattr(audio_in_module, "RETRY_S", 0.3)
    return sd


def test_a_sound_card_input_is_analysed(fake_sd):
    audio = open_audio_in("default").start()
    try:
        time.sleep(1.6)
        onsets = np.asarray(audio.analyzer.onsets)
        analysed = audio.analyzer.time
    finally:
        audio.stop()
    assert isinstance(audio, DeviceAudioIn) and audio.name == "Fake Mic"
    assert analysed == pytest.approx(1.6, abs=0.2)
    assert 2 <= len(onsets) <= 4, onsets
    off_grid = np.abs((onsets - 0.25 + 0.25) % 0.5 - 0.25)  # distance to the clicks' grid
    assert off_grid.max() < 0.02, onsets


def test_the_callback_allocates_nothing(fake_sd):
    audio = DeviceAudioIn(None)
    block = np.random.default_rng(0).standard_normal((256, 1)).astype(np.float32)
    audio.callback(block, 256, None, None)  # first call: whatever Python caches
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    for _ in range(2000):
        audio.callback(block, 256, None, None)
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    grown = sum(s.size_diff for s in after.compare_to(before, "filename"))
    assert grown < 2048, f"{grown} bytes kept after 2000 callbacks"
    assert audio._written == 2001 * 256
    assert np.array_equal(audio._ring[:256], block[:, 0])


def test_an_unplugged_input_is_reopened(fake_sd, caplog):
    caplog.set_level(logging.WARNING)
    audio = open_audio_in("default").start()
    try:
        time.sleep(0.4)
        fake_sd.present = False
        time.sleep(1.0)
        fake_sd.present = True
        deadline = time.monotonic() + 5
        while audio.restarts < 1 or "reopened" not in caplog.text:
            assert time.monotonic() < deadline, "the input was never reopened"
            time.sleep(0.05)
        heard = audio.analyzer.samples
        time.sleep(0.5)
        assert audio.analyzer.samples > heard  # listening again
    finally:
        audio.stop()


def test_bad_inputs_are_one_sentence(tmp_path, fake_sd):
    with pytest.raises(UserError, match="missing.wav does not exist"):
        open_audio_in(f"file:{tmp_path / 'missing.wav'}")
    with pytest.raises(UserError, match="No audio input 'Banana'.*liveart devices"):
        open_audio_in("Banana")
