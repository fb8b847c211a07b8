"""Modulators: target = base + amount x source, in every snapshot; presets and states keep them."""
import math

import numpy as np
import pytest

from liveart.errors import UserError
from liveart.params import ParamStore
from liveart.params.mods import make_modulator, parse_options, parse_rate
from liveart.rhythm.section import Rhythm
from liveart.rhythm.tempo import TempoClock


def lfo_store(bpm=120.0, **options):
    store = ParamStore({"tempo.bpm": bpm})
    rhythm = Rhythm(store)
    rhythm.clock = TempoClock(store, now=0.0)
    store.mods.set(make_modulator("dream.zoom", "lfo", 0.02, **options))
    return store


def test_an_lfo_at_a_quarter_beat_has_the_right_period_in_the_snapshots():
    store = lfo_store(120.0, rate="1/4", shape="sine")  # a quarter beat at 120 bpm: 0.125 s
    t = np.arange(0, 2.0, 0.005)
    zoom = np.array([store.snapshot(now=float(x))["dream.zoom"] for x in t])
    spectrum = np.abs(np.fft.rfft(zoom - zoom.mean()))
    freq = np.fft.rfftfreq(len(t), 0.005)[int(np.argmax(spectrum))]
    assert freq == pytest.approx(8.0, abs=0.5)  # 1 / 0.125 s
    assert zoom.max() == pytest.approx(0.02, abs=1e-3) and zoom.min() == pytest.approx(-0.02, abs=1e-3)


def test_the_lfo_follows_the_tempo():
    fast, slow = lfo_store(180.0, rate="1b"), lfo_store(90.0, rate="1b")
    t = np.arange(0.001, 4.0, 0.001)
    periods = []
    for store in (fast, slow):
        z = np.array([store.snapshot(now=float(x))["dream.zoom"] for x in t])
        up = t[1:][(z[:-1] < 0) & (z[1:] >= 0)]
        periods.append(float(np.diff(up).mean()))
    assert periods == [pytest.approx(60 / 180, abs=0.002), pytest.approx(60 / 90, abs=0.002)]


def test_an_lfo_in_hz_needs_no_clock():
    store = ParamStore()
    store.mods.set(make_modulator("dream.rotate", "lfo", 1.0, rate="2", shape="square"))
    assert store.snapshot(now=0.1)["dream.rotate"] == 1.0
    assert store.snapshot(now=0.3)["dream.rotate"] == -1.0


@pytest.mark.parametrize("shape,at,want", [("triangle", 0.0, -1.0), ("triangle", 0.5, 1.0),
                                          ("saw", 0.25, -0.5), ("square", 0.75, -1.0)])
def test_shapes(shape, at, want):
    store = ParamStore()
    store.mods.set(make_modulator("dream.rotate", "lfo", 1.0, rate="1", shape=shape))
    assert store.snapshot(now=at)["dream.rotate"] == pytest.approx(want)


def test_random_holds_for_a_period_and_repeats_the_same_run_to_run():
    store = ParamStore()
    store.mods.set(make_modulator("dream.rotate", "lfo", 1.0, rate="1", shape="random"))
    a, b, c = (store.snapshot(now=t)["dream.rotate"] for t in (3.1, 3.9, 4.2))
    assert a == b != c and -1 <= a <= 1
    assert ParamStore().mods is not store.mods
    other = ParamStore()
    other.mods.set(make_modulator("dream.rotate", "lfo", 1.0, rate="1", shape="random"))
    assert other.snapshot(now=3.5)["dream.rotate"] == a


def test_clamped_to_the_range_and_ints_rounded():
    store = ParamStore({"dream.mix": 0.9, "dream.octaves": 4})
    store.mod_sources = lambda now: {"audio.low": 1.0}
    store.mods.set(make_modulator("dream.mix", "audio.low", 0.5))
    store.mods.set(make_modulator("dream.octaves", "audio.low", 1.4))
    snap = store.snapshot()
    assert snap["dream.mix"] == 1.0 and snap["dream.octaves"] == 5
    assert {m[0] for m in snap.mods} == {"dream.mix", "dream.octaves"}


def test_a_controller_moves_the_base():
    store = ParamStore({"dream.mix": 0.5})
    level = {"audio.level": 0.0}
    store.mod_sources = lambda now: dict(level)
    store.mods.set(make_modulator("dream.mix", "audio.level", -0.4))
    level["audio.level"] = 1.0
    assert store.snapshot()["dream.mix"] == pytest.approx(0.1)
    store.set("dream.mix", 0.8, immediate=True)  # a fader
    assert store.get("dream.mix") == 0.8  # the base, what the echo and presets see
    assert store.snapshot()["dream.mix"] == pytest.approx(0.4)


def test_an_envelope_follows_with_attack_and_release():
    store = ParamStore({"dream.mix": 0.0})
    level = {"audio.onset": 1.0}
    store.mod_sources = lambda now: dict(level)
    store.mods.set(make_modulator("dream.mix", "env", 1.0, of="onset", attack="0.01",
                                  release="0.5"))
    store.snapshot(now=0.0)
    assert store.snapshot(now=0.05)["dream.mix"] == pytest.approx(1.0, abs=0.01)  # fast up
    level["audio.onset"] = 0.0
    assert store.snapshot(now=0.55)["dream.mix"] == pytest.approx(math.exp(-1), abs=0.01)


@pytest.mark.parametrize("args,message", [
    (("dream.zom", "lfo", 1), "unknown parameter 'dream.zom'"),
    (("dream.layer", "lfo", 1), "dream.layer is a enum, not a number"),
    (("dream.zoom", "drums", 1), "Unknown modulator source 'drums'"),
    (("dream.zoom", "lfo", "lots"), "amount is a number, not 'lots'"),
])
def test_bad_modulators_are_one_sentence(args, message):
    with pytest.raises(UserError, match=message):
        make_modulator(*args)


def test_bad_options_are_one_sentence():
    with pytest.raises(UserError, match="rate is Hz"):
        make_modulator("dream.zoom", "lfo", 1, rate="fast")
    with pytest.raises(UserError, match="Unknown LFO shape 'wobble'"):
        make_modulator("dream.zoom", "lfo", 1, shape="wobble")
    with pytest.raises(UserError, match="key=value"):
        parse_options("shape saw")
    with pytest.raises(UserError, match="Unknown modulator option 'speed'"):
        make_modulator("dream.zoom", "lfo", 1, **parse_options("speed=3"))
    assert parse_rate("1/4") == (0.25, True) and parse_rate("2b") == (2.0, True)
    assert parse_rate("0.5") == (0.5, False)


def test_presets_and_snapshot_states_keep_the_modulators(tmp_path):
    from liveart.presets import load_preset, load_preset_with_mods, write_preset
    from liveart.snapshot import apply_state, state_json
    import json

    mods = [make_modulator("dream.zoom", "lfo", 0.02, rate="1/4", shape="saw").as_dict(),
            make_modulator("dream.mix", "audio.low", -0.3).as_dict()]
    path = write_preset(tmp_path / "p.toml", {"dream.octaves": 3}, "test", mods)
    values, desc, loaded = load_preset_with_mods(str(path))
    assert values == {"dream.octaves": 3} and [m.as_dict() for m in loaded] == mods
    assert load_preset(str(path)) == (values, desc)
    store = ParamStore()
    store.mods.replace(loaded)
    state = json.loads(state_json(store, "dream"))
    assert state["mods"] == mods
    other = ParamStore()
    apply_state(other, state)
    assert other.mods.as_dicts() == mods


def test_a_bad_mod_table_in_a_preset_names_the_file(tmp_path):
    from liveart.presets import load_preset_with_mods

    path = tmp_path / "bad.toml"
    path.write_text('[[mod]]\ntarget = "dream.zoom"\nsource = "lfo"\n')
    with pytest.raises(UserError, match=r"bad.toml: a \[\[mod\]\] table needs amount"):
        load_preset_with_mods(str(path))
