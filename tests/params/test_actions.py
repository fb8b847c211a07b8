"""The one table of actions: what the show binds, what MIDI maps may name, what the docs list."""
import pytest

from liveart.control.actions import Actions
from liveart.errors import UserError
from liveart.params import ParamStore
from liveart.params.actions import ACTIONS, morph_seconds


def test_every_action_in_the_table_is_bound_and_only_those():
    assert set(Actions(ParamStore()).handlers) == set(ACTIONS)


def test_binding_an_undeclared_action_is_a_programming_error():
    with pytest.raises(KeyError):
        Actions(ParamStore()).add("record/pause", lambda: None)


def test_run_passes_the_required_and_the_optional_arguments_it_got():
    actions, got = Actions(ParamStore()), []
    actions.add("record/start", lambda name=None: got.append(name))
    actions.run("record/start")
    actions.run("record/start", "encore", "ignored")
    assert got == [None, "encore"]
    with pytest.raises(UserError, match="takes 2 argument"):
        actions.run("preset/morph", "gentle")


def test_the_osc_reference_lists_every_action(capsys):
    from liveart.cli import main

    assert main(["params", "--markdown"]) == 0
    doc = capsys.readouterr().out
    for a in ACTIONS.values():
        assert f"| `{a.address}` | {a.arguments_text} |" in doc


@pytest.mark.parametrize("text,seconds", [("4", 4.0), ("8b", 4.0), (" 2.5 ", 2.5)])
def test_morph_lengths_in_seconds_or_beats(text, seconds):
    assert morph_seconds(text) == seconds


@pytest.mark.parametrize("text", ["soon", "-1", "9999"])
def test_a_bad_morph_length_is_one_sentence(text):
    with pytest.raises(UserError, match="morph length"):
        morph_seconds(text)
