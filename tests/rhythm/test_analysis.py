"""The analysis on real signals: a numpy click track at 120 bpm, a sine's bands, silence."""
import numpy as np
import pytest

from liveart.rhythm.analysis import AudioAnalyzer, db01

from .signals import SR, click_track, drum_loop


def feed_in_blocks(an, x, block=441):
    for i in range(0, len(x), block):
        an.feed(x[i:i + block])


def test_onsets_fire_within_20_ms_of_each_click():
    x, clicks = click_track(120.0, 10.0)
    an = AudioAnalyzer(SR)
    feed_in_blocks(an, x)
    onsets = np.asarray(an.onsets)
    assert len(onsets) == len(clicks), f"{len(onsets)} onsets for {len(clicks)} clicks"
    errors = np.abs(onsets - clicks) * 1000
    assert errors.max() < 20.0, f"onset errors up to {errors.max():.1f} ms"


def test_beat_tracking_finds_120_bpm_within_8_s():
    x, clicks = click_track(120.0, 8.0)
    an = AudioAnalyzer(SR)
    feed_in_blocks(an, x, block=512)
    assert an.beat is not None, "no tempo after 8 s"
    assert abs(an.beat.bpm - 120.0) <= 1.0, f"{an.beat.bpm:.2f} bpm"
    # the phase: a click's time is on the beat (within 20 ms)
    off = min(an.beat.phase(clicks[-1]), 1 - an.beat.phase(clicks[-1])) * an.beat.period
    assert off < 0.020, f"the beat grid misses the clicks by {off * 1000:.1f} ms"


@pytest.mark.parametrize("bpm", [90.0, 140.0, 174.0])
def test_other_tempos(bpm):
    x, _ = click_track(bpm, 8.0)
    an = AudioAnalyzer(SR)
    feed_in_blocks(an, x)
    assert an.beat is not None and abs(an.beat.bpm - bpm) <= 1.0, an.beat


def test_bands_follow_where_the_energy_is():
    t = np.arange(int(0.5 * SR)) / SR
    levels = {}
    for hz in (80.0, 800.0, 6000.0):
        an = AudioAnalyzer(SR)
        an.feed((0.5 * np.sin(2 * np.pi * hz * t)).astype(np.float32))
        f = an.features()
        levels[hz] = (f["audio.low"], f["audio.mid"], f["audio.high"])
    assert levels[80.0][0] > levels[80.0][1] + 0.3 and levels[80.0][0] > levels[80.0][2] + 0.3
    assert levels[800.0][1] > levels[800.0][0] + 0.3 and levels[800.0][1] > levels[800.0][2] + 0.3
    assert levels[6000.0][2] > levels[6000.0][0] + 0.3 and levels[6000.0][2] > levels[6000.0][1] + 0.3


def test_level_is_db_scaled_and_silence_is_zero():
    an = AudioAnalyzer(SR)
    an.feed(np.zeros(SR // 2, np.float32))
    assert an.features()["audio.level"] == 0.0 and an.beat is None and not an.onsets
    an.feed((0.5 * np.sin(2 * np.pi * 440 * np.arange(SR // 2) / SR)).astype(np.float32))
    # a sine of amplitude 0.5: power 0.125, -9 dBFS -> 0.85
    assert an.features()["audio.level"] == pytest.approx(db01(0.125), abs=0.01)


def test_the_onset_pulse_decays_from_the_onset():
    x, clicks = click_track(120.0, 2.0)
    an = AudioAnalyzer(SR)
    an.feed(x)
    last = an.onsets[-1]
    assert an.features(last)["audio.onset"] == pytest.approx(1.0)
    assert an.features(last + 0.1)["audio.onset"] == pytest.approx(np.exp(-1), abs=0.01)
    assert an.features(last + 0.4)["audio.onset"] < 0.05


def test_blocks_of_any_size_give_the_same_analysis():
    x, _ = click_track(120.0, 4.0)
    a, b = AudioAnalyzer(SR), AudioAnalyzer(SR)
    feed_in_blocks(a, x, 1)  # one sample at a time
    feed_in_blocks(b, x, 4410)
    assert list(a.onsets) == list(b.onsets) and a.features() == b.features()


def test_a_drum_loop_is_tracked_at_its_tempo_and_its_kicks_are_low():
    x = drum_loop(128.0, 10.0)
    an = AudioAnalyzer(SR)
    feed_in_blocks(an, x)
    assert an.beat is not None and abs(an.beat.bpm - 128.0) <= 1.0, an.beat
    beat = 60.0 / 128.0
    off = min(an.beat.phase(0.1), 1 - an.beat.phase(0.1)) * beat  # the kicks are on the beat
    assert off < 0.025, f"the beat grid misses the kicks by {off * 1000:.0f} ms"
