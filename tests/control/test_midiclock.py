"""MIDI clock in: tempo under jitter, tempo changes, transport and song position."""
from __future__ import annotations

import random

import mido
import pytest

from liveart.control.midiclock import PPQN, MidiClock


def feed(clock: MidiClock, bpm: float, ticks: int, t0: float = 0.0, jitter: float = 0.0,
         rng: random.Random | None = None) -> float:
    """Send `ticks` clock ticks at `bpm` from t0 with gaussian jitter; returns the next tick's time."""
    rng = rng or random.Random(0)
    period = 60.0 / (bpm * PPQN)
    t = t0
    for _ in range(ticks):
        clock.handle(mido.Message("clock"), t + (rng.gauss(0.0, jitter) if jitter else 0.0))
        t += period
    return t


def test_no_tempo_before_the_clock_runs():
    c = MidiClock()
    assert c.bpm is None
    assert c.beats_to_seconds(4) == pytest.approx(2.0)  # 120 bpm when nothing is known
    feed(c, 128, 5)
    assert c.bpm is None


@pytest.mark.parametrize("seed", range(20))
def test_128_bpm_with_2ms_jitter_is_estimated_within_half_a_bpm(seed):
    rng = random.Random(seed)
    c = MidiClock()
    t = feed(c, 128, 48, jitter=0.002, rng=rng)  # two beats in: a first estimate
    assert abs(c.bpm - 128) < 1.5
    feed(c, 128, 96 * 4, t0=t, jitter=0.002, rng=rng)
    assert abs(c.bpm - 128) < 0.5
    assert c.tempo_changes == 0  # jitter is not mistaken for a tempo change
    assert c.beats_to_seconds(8) == pytest.approx(8 * 60 / 128, rel=0.005)


def test_the_estimate_stays_steady_tick_after_tick():
    rng = random.Random(7)
    c = MidiClock()
    t = feed(c, 128, 96, jitter=0.002, rng=rng)
    seen = []
    for _ in range(300):
        t = feed(c, 128, 1, t0=t, jitter=0.002, rng=rng)
        seen.append(c.bpm)
    assert max(seen) - min(seen) < 0.6
    assert all(abs(b - 128) < 0.5 for b in seen)


def test_a_tempo_change_is_followed_within_a_couple_of_beats():
    rng = random.Random(3)
    c = MidiClock()
    t = feed(c, 120, 200, jitter=0.002, rng=rng)
    assert abs(c.bpm - 120) < 0.5
    t = feed(c, 140, 48, t0=t, jitter=0.002, rng=rng)  # two beats after the jump
    assert abs(c.bpm - 140) < 1.5
    assert c.tempo_changes == 1
    feed(c, 140, 96, t0=t, jitter=0.002, rng=rng)
    assert abs(c.bpm - 140) < 0.5
    t = feed(c, 90, 72, t0=t + 96 * 60 / (140 * 24), jitter=0.002, rng=rng)
    assert abs(c.bpm - 90) < 1.0


def test_a_slow_tempo_ramp_is_tracked():
    c = MidiClock()
    t, bpm = 0.0, 100.0
    for _ in range(600):
        c.handle(mido.Message("clock"), t)
        t += 60.0 / (bpm * PPQN)
        bpm += 0.02  # 100 -> 112 bpm over 25 beats
    assert abs(c.bpm - bpm) < 1.5


def test_start_stop_continue_and_song_position():
    c = MidiClock()
    period = 60.0 / (120 * PPQN)
    feed(c, 120, 30)  # clock running, no transport yet: ticks count free-running
    assert not c.playing and c.ticks == 29
    t = 1.0
    c.handle(mido.Message("start"), t)
    assert c.playing and c.ticks == 0
    for i in range(PPQN * 2 + 12):  # the first clock after Start is the downbeat
        c.handle(mido.Message("clock"), t)
        t += period
    assert c.ticks == PPQN * 2 + 11
    assert c.beat_at(t - period) == pytest.approx(2.5 - 1 / PPQN)
    assert c.beat_at(t - period / 2) == pytest.approx(2.5 - 0.5 / PPQN)  # interpolated
    assert c.beat_at(t - period) % 1 == pytest.approx(c.beat_at(t - period) - 2)
    c.handle(mido.Message("stop"), t)
    for _ in range(10):  # clocks keep coming while stopped: the position holds
        c.handle(mido.Message("clock"), t)
        t += period
    assert c.ticks == PPQN * 2 + 11 and not c.playing
    c.handle(mido.Message("songpos", pos=16), t)  # bar 2 (16 sixteenths = 4 beats)
    c.handle(mido.Message("continue"), t)
    c.handle(mido.Message("clock"), t)
    assert c.ticks == 96 and c.beat_at(t) == pytest.approx(4.0)
    c.handle(mido.Message("clock"), t + period)
    assert c.ticks == 97
    c.handle(mido.Message("start"), t + 2 * period)
    c.handle(mido.Message("clock"), t + 3 * period)
    assert c.ticks == 0 and c.beat_at(t + 3 * period) == 0.0


def test_beat_phase_pulses_on_the_beat():
    c = MidiClock()
    c.handle(mido.Message("start"), 0.0)
    period = 60.0 / (120 * PPQN)
    t = 0.0
    phases = []
    for i in range(PPQN * 4):
        c.handle(mido.Message("clock"), t)
        phases.append(c.phase_at(t))
        t += period
    ons = [i for i, p in enumerate(phases) if p == 0.0]
    assert ons == [0, 24, 48, 72]


def test_a_clock_that_stops_streaming_keeps_its_tempo_and_restarts_cleanly():
    c = MidiClock()
    t = feed(c, 100, 100)
    assert c.bpm == pytest.approx(100, abs=0.01)
    t += 5.0  # five seconds of silence
    feed(c, 150, 40, t0=t)
    assert c.bpm == pytest.approx(150, abs=0.01)  # no blend of before and after the gap


def test_the_beat_runs_free_before_any_transport_message_and_holds_after_stop():
    c = MidiClock()
    t = feed(c, 120, 49)
    assert c.phase_at(t - 60 / (120 * PPQN)) == 0.0  # tick 48: on a beat
    c.handle(mido.Message("stop"), t)
    feed(c, 120, 5, t0=t)
    assert c.ticks == 48


def test_other_messages_are_not_clock_messages():
    assert MidiClock().handle(mido.Message("note_on")) is False
