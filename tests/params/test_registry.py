import json

import pytest

from liveart import params, scenes  # noqa: F401  (scenes declare their parameters)
from liveart.errors import UserError
from liveart.params import ParamStore


def test_every_parameter_has_an_address_range_and_description(store):
    assert params.REGISTRY, "scenes declare parameters on import"
    for p in params.REGISTRY.values():
        assert p.address == "/liveart/" + p.name.replace(".", "/")
        assert p.description
        if p.type in ("float", "int"):
            assert p.min <= p.coerce(p.default) <= p.max


def test_numbers_are_clamped_and_rounded():
    octaves = params.get("dream.octaves")
    assert octaves.coerce("3") == 3
    assert octaves.coerce(99) == 6 and octaves.coerce(-4) == 1
    assert octaves.coerce(2.6) == 3
    with pytest.raises(UserError, match="dream.octaves takes a number from 1 to 6"):
        octaves.coerce("lots")
    with pytest.raises(UserError):
        octaves.coerce(float("nan"))


def test_enum_takes_a_name_or_an_index_and_names_the_choices():
    layer = params.get("dream.layer")
    assert layer.coerce("blocks.3") == "blocks.3"
    assert layer.coerce(0) == "blocks.0" and layer.coerce(999) == layer.choices[-1]
    with pytest.raises(UserError, match="blocks.0, blocks.1"):
        layer.coerce("block10")


def test_unknown_name_suggests_the_closest_ones():
    with pytest.raises(UserError, match=r"did you mean dream\.octaves\?"):
        params.parse_assignment("dream.octave=3")
    with pytest.raises(UserError, match="outside its range"):
        params.parse_assignment("dream.octaves=99")
    with pytest.raises(UserError, match="'liveart params' lists them all") as e:
        params.parse_assignment("zzzzzz=3")
    assert "did you mean" not in str(e.value)
    with pytest.raises(UserError, match="name=value"):
        params.parse_assignment("dream.octaves")
    assert params.parse_assignment("dream.octaves = 5") == ("dream.octaves", 5)


def test_guide_is_validated():
    guide = params.get("dream.guide")
    assert guide.coerce("tabby cat") == "tabby cat"
    assert guide.coerce("channel:7") == "channel:7"
    with pytest.raises(UserError, match="dream.guide"):
        guide.coerce("no such animal at all")


def test_store_smooths_floats_toward_target():
    s = ParamStore()
    s.snapshot(now=0.0)
    s.set("dream.mix", 0.0)  # smoothing 0.1 s
    v1 = s.snapshot(now=0.05)["dream.mix"]
    v2 = s.snapshot(now=0.5)["dream.mix"]
    v3 = s.snapshot(now=5.0)["dream.mix"]
    assert 1.0 > v1 > v2 > v3 and v3 == 0.0
    s.set("dream.octaves", 2)  # ints jump
    assert s.snapshot(now=5.01)["dream.octaves"] == 2


def test_triggers_fire_once():
    s = ParamStore()
    s.set("dream.reset", True)
    assert s.snapshot().fired("dream.reset")
    assert not s.snapshot().fired("dream.reset")


def test_overrides_apply_immediately():
    s = ParamStore({"dream.mix": 0.25})
    assert s.snapshot()["dream.mix"] == 0.25


def test_json_lists_required_keys(capsys):
    from liveart.cli import main

    assert main(["params", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    names = {d["name"]: d for d in data}
    for key in ("name", "type", "min", "max", "default", "address", "description"):
        assert key in names["dream.octaves"]
    assert names["dream.octaves"]["address"] == "/liveart/dream/octaves"
    assert names["dream.octaves"]["min"] == 1 and names["dream.octaves"]["max"] == 6


def test_table_lists_every_parameter(capsys):
    from liveart.cli import main

    assert main(["params"]) == 0
    out = capsys.readouterr().out
    for name in params.REGISTRY:
        assert name in out
    assert "/liveart/dream/octaves" in out


def test_morph_glides_numbers_and_switches_choices_at_the_midpoint():
    s = ParamStore({"dream.mix": 0.0, "dream.octaves": 1, "dream.layer": "blocks.2"})
    s.snapshot(now=100.0)
    s.morph({"dream.mix": 1.0, "dream.octaves": 5, "dream.layer": "blocks.10"}, 2.0, now=100.0)
    early, mid, late, end = (s.snapshot(now=100.0 + t) for t in (0.4, 1.0, 1.6, 2.5))
    assert 0.0 < early["dream.mix"] < mid["dream.mix"] < late["dream.mix"] < 1.0
    assert end["dream.mix"] == 1.0 and end["dream.octaves"] == 5
    assert early["dream.layer"] == "blocks.2" and late["dream.layer"] == "blocks.10"
    assert 1 <= early["dream.octaves"] <= mid["dream.octaves"] <= late["dream.octaves"] <= 5
    assert not s.morphing()


def test_a_hand_on_a_fader_takes_it_out_of_the_morph():
    s = ParamStore({"dream.mix": 0.0})
    s.snapshot(now=0.0)
    s.morph({"dream.mix": 1.0, "dream.zoom": 0.04}, 2.0, now=0.0)
    s.snapshot(now=0.5)
    s.set("dream.mix", 0.3, immediate=True)
    final = s.snapshot(now=3.0)
    assert final["dream.mix"] == 0.3 and final["dream.zoom"] == 0.04
