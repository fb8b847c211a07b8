"""The store's change counter: the one diff every echo/feedback/last-state loop can use."""
from liveart.params import ParamStore


def test_changed_since_gives_each_changed_target_once():
    store = ParamStore({"dream.octaves": 3})
    v0 = store.version
    assert store.changed_since(v0) == (v0, {})
    store.set("dream.octaves", 5)
    store.set("dream.mix", 0.25)
    v1, changed = store.changed_since(v0)
    assert changed == {"dream.octaves": 5, "dream.mix": 0.25} and v1 == v0 + 2
    assert store.changed_since(v1) == (v1, {})


def test_setting_the_same_value_again_is_no_change():
    store = ParamStore()
    v0 = store.version
    store.set("dream.octaves", store.get("dream.octaves"))
    store.set("dream.reset", True)  # a trigger has no target to echo
    assert store.changed_since(v0) == (v0, {})


def test_a_morph_reports_its_steps():
    store = ParamStore({"dream.mix": 0.0})
    v0 = store.version
    store.morph({"dream.mix": 1.0}, seconds=1.0, now=100.0)
    store.snapshot(now=100.5)
    v1, changed = store.changed_since(v0)
    assert 0.0 < changed["dream.mix"] < 1.0
    store.snapshot(now=101.5)
    assert store.changed_since(v1)[1] == {"dream.mix": 1.0}
