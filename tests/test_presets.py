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


def test_the_last_state_comes_back_at_the_next_start(config):
    from liveart.laststate import LastStateSaver, last_state_path, load_last_state

    store = ParamStore()
    store.set("dream.layer", "blocks.4")
    store.set("dream.mix", 0.5, immediate=True)
    saver = LastStateSaver(store, every=0.05).start()
    saver.stop()
    assert last_state_path().is_file()
    restored = ParamStore(load_last_state())
    assert restored.get("dream.layer") == "blocks.4" and restored.get("dream.mix") == 0.5


def test_a_broken_last_state_is_ignored_not_fatal(config, caplog):
    from liveart.laststate import last_state_path, load_last_state

    last_state_path().parent.mkdir(parents=True, exist_ok=True)
    last_state_path().write_text("[dream\nmix = ")
    with caplog.at_level("WARNING"):
        assert load_last_state() == {}
    assert "Ignoring the saved state" in caplog.text


def test_run_restores_unless_fresh_and_set_wins(config, capsys):
    from liveart.cli import main
    from liveart.laststate import last_state_path
    from liveart.presets import write_preset

    write_preset(last_state_path(), {"dream.octaves": 2, "dream.mix": 0.3})
    assert main(["presets", "save", "snap", "--set", "dream.mix=0.9"]) == 0
    values, _ = load_preset("snap")
    assert values["dream.octaves"] == 2 and values["dream.mix"] == 0.9
    assert main(["presets", "save", "../up"]) == 2
    assert "not allowed" in capsys.readouterr().err


def test_params_markdown_lists_every_address(capsys):
    from liveart import params
    from liveart.cli import main

    assert main(["params", "--markdown"]) == 0
    out = capsys.readouterr().out
    for p in params.REGISTRY.values():
        assert f"`{p.address}`" in out
    table = [line for line in out.splitlines() if line.startswith("| `/liveart/dream")]
    assert all(line.count(" | ") == 5 for line in table), "a cell broke the table"
