"""The show's tempo clock: internal, tap, MIDI clock and audio sources; the beat pulse."""
import mido
import pytest

from liveart.control.midiclock import MidiClock
from liveart.params import ParamStore
from liveart.rhythm.section import Rhythm
from liveart.rhythm.tempo import TempoClock


def test_eight_taps_half_a_second_apart_give_120_bpm():
    store = ParamStore({"tempo.bpm": 87.0})
    clock = TempoClock(store, now=0.0)
    for i in range(8):
        clock.tap(10.0 + 0.5 * i)
    assert store.get("tempo.bpm") == pytest.approx(120.0)
    t = clock.update(now=13.5)  # the last tap: a beat
    assert t.bpm == pytest.approx(120.0) and t.phase == pytest.approx(0.0, abs=1e-9)
    assert clock.update(now=13.75).phase == pytest.approx(0.5)


def test_taps_through_the_store_use_their_own_times(monkeypatch):
    """A tap from MIDI/OSC/the T key fires the trigger; the clock takes the tap's time, not
    the tick's that saw it."""
    import liveart.params.store as store_module

    store = ParamStore()
    clock = TempoClock(store, now=0.0)
    now = [100.0]
    monkeypatch.setattr(store_module.time, "monotonic", lambda: now[0])
    for i in range(4):
        now[0] = 100.0 + 0.4 * i  # 150 bpm
        store.set("tempo.tap", True)
        clock.update(now=now[0] + 0.013 * (i % 2))  # ticks see them a little late
    assert clock.tempo.bpm == pytest.approx(150.0)


def test_taps_reset_after_two_seconds_without_one():
    store = ParamStore()
    clock = TempoClock(store, now=0.0)
    clock.tap(1.0)
    clock.tap(1.5)
    assert store.get("tempo.bpm") == pytest.approx(120.0)
    clock.tap(4.0)  # 2.5 s later: a new series
    assert clock.tap(4.6) == pytest.approx(100.0)


def test_internal_tempo_changes_keep_the_beat_continuous():
    store = ParamStore({"tempo.bpm": 120.0})
    clock = TempoClock(store, now=0.0)
    assert clock.update(now=1.0).beat == pytest.approx(2.0)
    store.set("tempo.bpm", 60.0)
    assert clock.update(now=1.0).beat == pytest.approx(2.0)
    assert clock.update(now=2.0).beat == pytest.approx(3.0)
    store.set("tempo.nudge", 0.25)
    assert clock.update(now=2.0).beat == pytest.approx(3.25)


def test_the_midi_clock_drives_the_tempo():
    store = ParamStore({"tempo.source": "midi"})
    midi = MidiClock()
    clock = TempoClock(store, midi=midi, now=0.0)
    t = 0.0
    for _ in range(24 * 4):  # four beats at 140 bpm
        midi.handle(mido.Message("clock"), now=t)
        t += 60.0 / 140.0 / 24
    tempo = clock.update(now=t)
    assert tempo.bpm == pytest.approx(140.0, abs=0.05)
    assert store.get("tempo.bpm") == pytest.approx(140.0, abs=0.05)


def test_a_missing_source_keeps_the_last_tempo(caplog):
    store = ParamStore({"tempo.source": "audio", "tempo.bpm": 100.0})
    clock = TempoClock(store, now=0.0)
    assert clock.update(now=3.0).bpm == pytest.approx(100.0)
    assert "no audio input" in caplog.text


def test_the_beat_pulse_and_a_beat_readout_on_each_beat():
    store = ParamStore({"tempo.bpm": 120.0})
    rhythm = Rhythm(store)
    rhythm.clock = TempoClock(store, now=0.0)
    beats = []
    rhythm.beat_listeners.append(lambda at, address, args: beats.append((at, address, args)))
    for k in range(0, 41):
        values = rhythm.sources(now=k * 0.05)  # 2 s at 20 ticks a second
        if k % 10 == 0:
            assert values["beat"] == pytest.approx(1.0)
    assert [b[2][0][0] for b in beats] == [1, 2, 3, 4]
    assert beats[0][1] == "/liveart/tempo/beat" and beats[0][2][1] == (120.0, "f")


def test_a_measured_source_sets_the_phase_but_the_count_never_goes_back():
    """Switching to the audio's beat (whose count restarts whenever the tracker re-anchors)
    keeps counting from where the show was, with the audio's phase."""
    store = ParamStore({"tempo.bpm": 120.0})
    heard = {"beat": 0.7}
    clock = TempoClock(store, audio=lambda now: (120.0, heard["beat"]), now=0.0)
    assert clock.update(now=3.025).beat == pytest.approx(6.05)
    store.set("tempo.source", "audio")
    assert clock.update(now=3.025).beat == pytest.approx(6.7)  # forward to the phase, not 5.7
    heard["beat"] = 1.2  # the tracker re-anchored: its count is small again
    assert clock.update(now=3.275).beat == pytest.approx(7.2)
