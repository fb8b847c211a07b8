import numpy as np
import pytest
import torch

from liveart.errors import UserError
from liveart.music.composer import (SCALES, ChordEvent, Composer, NoteEvent, channel_pitch, compose,
                                    root_pitch_class)
from liveart.music.summary import ActivationSummary, summarize

BASE = {"music.tempo": 120.0, "music.scale": "major", "music.root": "C", "music.octave": 4,
        "music.voice": "pluck", "music.density": 0.5, "music.swing": 0.0, "music.volume": 0.7}


def summ(energy=1.0, novelty=0.0, top=(3, 7, 11, 20), label="tabby", cx=0.5):
    ce = np.ones(32, np.float32)
    return ActivationSummary(ce * energy, list(top), float(energy), novelty, (cx, 0.5), [(label, 0.9)])


def notes(events):
    return [e for e in events if isinstance(e, NoteEvent)]


def test_summarize_energy_top_channels_centroid_and_novelty():
    act = torch.zeros(1, 8, 4, 6)
    act[0, 5, :, 5] = 3.0   # strongest channel, energy on the right edge
    act[0, 2, :, 5] = 1.0
    s = summarize(act, None, [("cat", 0.8)])
    assert s.top_channels[:2] == [5, 2]
    assert s.channel_energy.shape == (8,) and s.energy == pytest.approx((9 * 4 + 4) / (8 * 24))
    assert s.centroid[0] > 0.85 and s.centroid[1] == pytest.approx(0.5)
    assert s.novelty == 0.0 and s.labels == [("cat", 0.8)]
    assert summarize(act, s, []).novelty == pytest.approx(0.0, abs=1e-6)
    act2 = act.clone()
    act2[0, 0] = 4.0
    assert summarize(act2, s, []).novelty > 0.3


def test_same_channel_same_pitch_and_pitches_on_the_scale():
    for scale, steps in SCALES.items():
        for ch in range(200):
            p = channel_pitch(ch, scale, root_pitch_class("F#"), 4)
            assert p == channel_pitch(ch, scale, 6, 4)
            assert (p - 6) % 12 in steps
    pitches = {channel_pitch(ch, "major", 0, 4) for ch in range(64)}
    assert len(pitches) >= 8, "channels spread over the scale"
    events = compose([summ()] * 40, 10.0, dict(BASE, **{"music.density": 1.0}))
    assert notes(events)
    assert all((n.pitch % 12) in SCALES["major"] for n in notes(events))
    assert {n.pitch for n in notes(events)} <= {channel_pitch(c, "major", 0, 4) for c in (3, 7, 11, 20)}


def test_root_names_and_numbers():
    assert [root_pitch_class(x) for x in ("C", "F#", "Bb", "b", "61", "127")] == [0, 6, 10, 11, 1, 7]
    for bad in ("H", "C##", "128", "-1", "x"):
        with pytest.raises(UserError, match="music.root"):
            root_pitch_class(bad)
    from liveart import params
    with pytest.raises(UserError):
        params.get("music.root").coerce("Q")
    assert params.get("music.root").coerce("Eb") == "Eb"


def test_density_and_energy_give_more_notes():
    def count(density, energies):
        return len(notes(compose([summ(e) for e in energies], 10.0,
                                 dict(BASE, **{"music.density": density}), seed=3)))

    steady = [1.0] * 200
    assert count(0.0, steady) == 0
    assert count(0.2, steady) < count(0.6, steady) < count(1.0, steady)
    # after a loud passage, a quiet one (a tenth of the energy) plays fewer, softer notes
    loud = compose([summ(1.0)] * 200, 10.0, BASE, seed=1)
    quiet = compose([summ(1.0)] * 20 + [summ(0.1)] * 180, 10.0, BASE, seed=1)
    assert len(notes(quiet)) < len(notes(loud))
    assert np.mean([n.velocity for n in notes(quiet)[3:]]) < np.mean([n.velocity for n in notes(loud)])


def test_novelty_gives_accents_and_pan_follows_centroid():
    calm = compose([summ(novelty=0.02, cx=0.1)] * 100, 10.0, BASE)
    spiky = compose([summ(novelty=0.6 if i % 10 == 0 else 0.02, cx=0.9) for i in range(100)],
                    10.0, BASE)
    assert not any(n.accent for n in notes(calm))
    acc = [n for n in notes(spiky) if n.accent]
    assert len(acc) >= 8
    assert min(a.velocity for a in acc) > max(n.velocity for n in notes(spiky) if not n.accent)
    assert all(n.pan < -0.7 for n in notes(calm)) and all(n.pan > 0.7 for n in notes(spiky))


def test_top_class_change_gives_a_chord():
    seq = [summ(label="tabby")] * 30 + [summ(label="espresso")] * 30
    events = compose(seq, 10.0, BASE)
    chords = [e for e in events if isinstance(e, ChordEvent)]
    assert [c.label for c in chords] == ["tabby", "espresso"]
    assert chords[1].time_s >= 3.0 and all((p % 12) in SCALES["major"] for p in chords[1].pitches)
    assert len(set(chords[1].pitches)) == 3


def test_clock_tempo_bpm_source_and_swing():
    vals = dict(BASE, **{"music.density": 1.0, "music.tempo": 120.0})
    c = Composer(seed=0)
    c.observe(summ(novelty=0.0))
    times = sorted({n.time_s for n in notes(c.advance(10.0, vals))})
    assert all(abs((t / 0.125) - round(t / 0.125)) < 1e-9 for t in times)  # 16ths at 120 bpm
    c = Composer(seed=0, bpm_source=lambda: 60.0)  # a MIDI clock's tempo wins
    c.observe(summ())
    assert all(abs(t / 0.25 - round(t / 0.25)) < 1e-9 for t in (n.time_s for n in c.advance(10.0, vals)))
    c = Composer(seed=0, bpm_source=lambda: None)  # no clock yet: music.tempo
    c.observe(summ())
    c.advance(1.0, vals)
    assert c.step_index == 8
    swung = Composer(seed=0)
    swung.observe(summ())
    for n in notes(swung.advance(10.0, dict(vals, **{"music.swing": 0.5}))):
        k = n.time_s / 0.125
        frac = k - np.floor(k + 1e-9)
        assert frac == pytest.approx(0.0, abs=1e-6) or frac == pytest.approx(0.5, abs=1e-6)
        if frac > 0.25:
            assert int(np.floor(k)) % 2 == 1, "only off sixteenths are delayed"


def test_deterministic_for_a_seed():
    rng = np.random.default_rng(0)
    seq = [summ(float(rng.uniform(0.2, 1)), float(rng.uniform(0, 0.4)),
                tuple(int(x) for x in rng.integers(0, 32, 4)), ["a", "b"][i // 50], float(rng.uniform()))
           for i in range(100)]
    a, b = compose(seq, 10.0, BASE, seed=5), compose(seq, 10.0, BASE, seed=5)
    assert a == b and len(a) > 10
    assert compose(seq, 10.0, BASE, seed=6) != a
