import pytest

from liveart.errors import UserError
from liveart.params import ParamStore
from liveart.presets import list_presets, load_preset, save_preset


@pytest.fixture(autouse=True)
def config(tmp_path, monkeypatch):
    monkeypatch.setenv("LIVEART_CONFIG_DIR", str(tmp_path / "cfg"))
    return tmp_path / "cfg"


def test_save_then_load_round_trips_every_value(config):
    store = ParamStore({"dream.layer": "blocks.7", "dream.mix": 0.4, "dream.guide": 'tabby cat',
                        "dream.follow": False, "dream.octaves": 2})
    path = save_preset("my look", store.targets())
    assert path.parent == config / "presets"
    values, description = load_preset("my look")
    assert values == store.targets()
    assert "my look" in list_presets()


@pytest.mark.parametrize("name", ["../escape", "a/b", "/etc/passwd", "..", "x.toml", "", "a\\b"])
def test_a_name_that_leaves_the_folder_is_refused(name, config):
    with pytest.raises(UserError, match="not allowed"):
        save_preset(name, {})
    assert not (config.parent / "escape.toml").exists()


def test_shipped_presets_all_load():
    for name in ("gentle", "deep-eyes", "infinite-zoom", "ornaments"):
        values, description = load_preset(name)
        assert values and description
