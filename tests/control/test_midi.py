"""The MIDI mapping engine: maps, encoders, 14-bit, curves, pickup, notes, program change,
feedback and learn, driven with mido messages (no hardware)."""
from __future__ import annotations

import math
import time
import mido
import pytest

from liveart.control.actions import Actions
from liveart.control.midi import (SHIPPED, MidiHandler, MidiLearn, curve_apply, curve_invert,
                                  decode_relative, list_maps, load_map, save_binding)
from liveart.errors import UserError

from .midifakes import FakeOutput, cc, make_map, note_off, note_on


@pytest.fixture
def scenes_called():
    return []


@pytest.fixture
def rig(store, scenes_called):
    """(handler factory, store): build a handler for a map given as TOML text."""
    actions = Actions(store, switch_scene=scenes_called.append)

    def build(text: str) -> MidiHandler:
        return MidiHandler(store, actions, make_map(text))

    return build


# -- relative encoders ------------------------------------------------------------------------
@pytest.mark.parametrize("mode, table", [
    ("twos-complement", {1: 1, 5: 5, 63: 63, 64: 64, 127: -1, 126: -2, 65: -63, 0: 0}),
    ("bin-offset", {65: 1, 70: 6, 127: 63, 63: -1, 60: -4, 1: -63, 0: -64, 64: 0}),
    ("signed-bit", {1: 1, 9: 9, 63: 63, 65: -1, 73: -9, 127: -63, 64: 0, 0: 0}),
    ("signed-bit-2", {65: 1, 73: 9, 127: 63, 1: -1, 9: -9, 63: -63, 64: 0, 0: 0}),
])
def test_every_relative_mode_decodes_as_ableton_bitwig_and_reaper_do(mode, table):
    assert {v: decode_relative(mode, v) for v in table} == table


@pytest.mark.parametrize("mode, up, down", [("twos-complement", 1, 127), ("bin-offset", 65, 63),
                                            ("signed-bit", 1, 65), ("signed-bit-2", 65, 1)])
def test_an_encoder_moves_the_value_from_where_it_is(rig, store, mode, up, down):
    h = rig(f'[[cc]]\ncc = 10\nparam = "dream.mix"\nmode = "{mode}"\nticks = 100\n')
    store.set("dream.mix", 0.5)
    for _ in range(10):
        h.handle(cc(10, up))
    assert store.get("dream.mix") == pytest.approx(0.6)
    h.handle(cc(10, down))
    assert store.get("dream.mix") == pytest.approx(0.59)
    store.set("dream.mix", 0.2)  # changed elsewhere: the encoder continues from there
    h.handle(cc(10, up))
    assert store.get("dream.mix") == pytest.approx(0.21)
    for _ in range(200):
        h.handle(cc(10, up))
    assert store.get("dream.mix") == 1.0  # clamped


def test_an_accelerated_encoder_with_a_step_in_parameter_units(rig, store):
    h = rig('[[cc]]\ncc = 10\nparam = "dream.zoom"\nmode = "twos-complement"\nstep = 0.001\n')
    h.handle(cc(10, 5))  # turned fast: 5 ticks
    assert store.get("dream.zoom") == pytest.approx(0.005)
    h.handle(cc(10, 126))
    assert store.get("dream.zoom") == pytest.approx(0.003)


def test_an_encoder_steps_through_an_enum_without_losing_fractions(rig, store):
    h = rig('[[cc]]\ncc = 10\nparam = "dream.layer"\nvalues = ["blocks.3", "blocks.5", "blocks.8"]\n'
            'mode = "signed-bit"\nticks = 20\n')
    store.set("dream.layer", "blocks.3")
    seen = []
    for _ in range(20):
        h.handle(cc(10, 1))
        seen.append(store.get("dream.layer"))
    assert seen[0] == "blocks.3" and seen[-1] == "blocks.8" and "blocks.5" in seen


# -- 14-bit --------------------------------------------------------------------------------------
def test_14_bit_msb_then_lsb(rig, store):
    h = rig('[[cc]]\ncc = 1\nparam = "dream.zoom"\nhires = true\npickup = false\n')
    h.handle(cc(1, 64))
    h.handle(cc(33, 0))
    assert store.get("dream.zoom") == pytest.approx(-0.05 + 0.1 * 8192 / 16383)
    h.handle(cc(33, 100))  # a fine move only sends the LSB
    assert store.get("dream.zoom") == pytest.approx(-0.05 + 0.1 * (8192 + 100) / 16383)
    h.handle(cc(1, 127))
    assert store.get("dream.zoom") == pytest.approx(-0.05 + 0.1 * (8192 + 100) / 16383)  # waits for LSB
    h.handle(cc(33, 127))
    assert store.get("dream.zoom") == pytest.approx(0.05)
    h.handle(cc(1, 0))
    h.handle(cc(33, 0))
    assert store.get("dream.zoom") == pytest.approx(-0.05)


def test_14_bit_control_that_only_sends_msb_still_covers_the_range(rig, store):
    h = rig('[[cc]]\ncc = 7\nparam = "dream.mix"\nhires = true\npickup = false\n')
    h.handle(cc(39, 50))  # an LSB before any MSB is ignored
    assert store.get("dream.mix") == 1.0
    h.handle(cc(7, 0))
    assert store.get("dream.mix") == 0.0
    h.handle(cc(7, 127))
    assert store.get("dream.mix") == 1.0


def test_the_lsb_of_a_14_bit_control_cannot_be_bound_alone():
    with pytest.raises(UserError, match="LSB of 14-bit cc 1"):
        make_map('[[cc]]\ncc = 1\nparam = "dream.mix"\nhires = true\n'
                 '[[cc]]\ncc = 33\nparam = "dream.zoom"\n')


# -- curves --------------------------------------------------------------------------------------
@pytest.mark.parametrize("curve, shape", [("lin", 1), ("exp", 4), ("log", 4), ("center", 2), ("exp", 1.5)])
def test_every_curve_is_monotonic_and_inverted_exactly(curve, shape):
    xs = [i / 200 for i in range(201)]
    ys = [curve_apply(curve, shape, x) for x in xs]
    assert ys[0] == pytest.approx(0) and ys[-1] == pytest.approx(1)
    assert all(b >= a for a, b in zip(ys, ys[1:]))
    for y in (0.0, 0.1, 0.3, 0.5, 0.77, 1.0):
        assert curve_apply(curve, shape, curve_invert(curve, shape, y)) == pytest.approx(y, abs=1e-9)


def test_curve_shapes():
    assert curve_apply("exp", 4, 0.5) == pytest.approx(math.expm1(2) / math.expm1(4))  # ~0.12
    assert curve_apply("log", 4, 0.5) > 0.8
    assert curve_apply("center", 2, 64 / 127) == 0.5 and curve_apply("center", 2, 63 / 127) == 0.5
    assert curve_apply("center", 2, 0.75) < 0.75


def test_a_fader_with_range_and_curve(rig, store):
    h = rig('pickup = false\n[[cc]]\ncc = 3\nparam = "dream.step_size"\nrange = [0.0, 0.1]\ncurve = "exp"\n'
            '[[cc]]\ncc = 4\nparam = "dream.zoom"\ncurve = "center"\n'
            '[[cc]]\ncc = 5\nparam = "dream.mix"\nrange = [1.0, 0.0]\n'
            '[[cc]]\ncc = 6\nparam = "dream.octaves"\n')
    h.handle(cc(3, 127))
    assert store.get("dream.step_size") == pytest.approx(0.1)
    h.handle(cc(3, 64))
    assert store.get("dream.step_size") == pytest.approx(0.1 * curve_apply("exp", 4, 64 / 127))
    h.handle(cc(4, 64))
    assert store.get("dream.zoom") == 0.0
    h.handle(cc(4, 0))
    assert store.get("dream.zoom") == pytest.approx(-0.05)
    h.handle(cc(5, 0))
    assert store.get("dream.mix") == 1.0  # reversed range
    h.handle(cc(6, 127))
    assert store.get("dream.octaves") == 6 and isinstance(store.get("dream.octaves"), int)


# -- pickup ---------------------------------------------------------------------------------------
def test_pickup_waits_until_the_fader_crosses_the_value(rig, store):
    h = rig('[[cc]]\ncc = 0\nparam = "dream.mix"\n')
    store.set("dream.mix", 0.5)
    for v in (10, 20, 40, 60):  # below 0.5 (63.5): nothing
        h.handle(cc(0, v))
        assert store.get("dream.mix") == 0.5
    h.handle(cc(0, 70))  # 60 -> 70 crosses it
    assert store.get("dream.mix") == pytest.approx(70 / 127)
    h.handle(cc(0, 20))
    assert store.get("dream.mix") == pytest.approx(20 / 127)  # engaged: follows


def test_pickup_from_above_and_when_landing_near_the_value(rig, store):
    h = rig('[[cc]]\ncc = 0\nparam = "dream.mix"\n')
    store.set("dream.mix", 0.5)
    h.handle(cc(0, 120))
    h.handle(cc(0, 100))
    assert store.get("dream.mix") == 0.5
    h.handle(cc(0, 64))  # within 1.5/127 of 0.5
    assert store.get("dream.mix") == pytest.approx(64 / 127)


def test_pickup_lets_go_when_the_value_changes_elsewhere(rig, store):
    h = rig('[[cc]]\ncc = 0\nparam = "dream.mix"\n')
    store.set("dream.mix", 0.0)
    h.handle(cc(0, 0))
    h.handle(cc(0, 30))
    assert store.get("dream.mix") == pytest.approx(30 / 127)
    store.set("dream.mix", 0.8)  # OSC or a preset
    h.handle(cc(0, 40))
    h.handle(cc(0, 50))
    assert store.get("dream.mix") == 0.8  # the fader no longer owns it
    h.handle(cc(0, 110))  # crosses 0.8 (101.6)
    assert store.get("dream.mix") == pytest.approx(110 / 127)
    h.handle(cc(0, 90))
    assert store.get("dream.mix") == pytest.approx(90 / 127)


def test_pickup_after_a_preset_morph_and_for_an_enum(rig, store):
    h = rig('[[cc]]\ncc = 4\nparam = "dream.layer"\nvalues = ["blocks.3", "blocks.5", "blocks.8", "blocks.10"]\n')
    store.set("dream.layer", "blocks.8")  # slot 2 of 0..3: x = 0.667, half a slot = 0.167
    h.handle(cc(4, 0))
    assert store.get("dream.layer") == "blocks.8"
    h.handle(cc(4, 70))  # 0.55: inside blocks.8's slot -> picked up
    assert store.get("dream.layer") == "blocks.8"
    h.handle(cc(4, 10))
    assert store.get("dream.layer") == "blocks.3"
    store.morph({"dream.layer": "blocks.10"}, 0)
    h.handle(cc(4, 0))
    assert store.get("dream.layer") == "blocks.10"


def test_no_pickup_jumps(rig, store):
    h = rig('pickup = false\n[[cc]]\ncc = 0\nparam = "dream.mix"\n')
    store.set("dream.mix", 0.5)
    h.handle(cc(0, 0))
    assert store.get("dream.mix") == 0.0


# -- notes, buttons, actions ----------------------------------------------------------------------
def test_a_note_fires_a_trigger_and_a_cc_button_fires_on_its_press(rig, store):
    h = rig('[[note]]\nnote = 36\naction = "dream.reset"\n[[cc]]\ncc = 39\nparam = "dream.reset"\n')
    store.snapshot()
    h.handle(note_on(36))
    assert store.snapshot().fired("dream.reset")
    h.handle(note_off(36))
    assert not store.snapshot().fired("dream.reset")
    h.handle(cc(39, 127))
    h.handle(cc(39, 127))  # still down: no second press
    assert store.snapshot().fired("dream.reset")
    h.handle(cc(39, 0))
    assert not store.snapshot().fired("dream.reset")


def test_held_note_sets_the_guide_and_note_off_restores_it(rig, store):
    h = rig('[[note]]\nnote = 1\nparam = "dream.guide"\nvalue = "tabby cat"\n'
            '[[note]]\nnote = 2\nparam = "dream.guide"\nmode = "held"\nvalue = "goldfish"\n')
    store.set("dream.guide", "jellyfish")
    h.handle(note_on(1))
    assert store.get("dream.guide") == "tabby cat"
    h.handle(note_on(2))
    assert store.get("dream.guide") == "goldfish"
    h.handle(note_off(2))
    assert store.get("dream.guide") == "tabby cat"  # note 1 is still down
    h.handle(mido.Message("note_on", note=1, velocity=0))  # note-on velocity 0 is a note-off
    assert store.get("dream.guide") == "jellyfish"


def test_a_held_value_changed_elsewhere_is_not_undone(rig, store):
    h = rig('[[note]]\nnote = 1\nparam = "dream.guide"\nvalue = "tabby cat"\n')
    h.handle(note_on(1))
    store.set("dream.guide", "goldfish")  # OSC while the pad is down
    h.handle(note_off(1))
    assert store.get("dream.guide") == "goldfish"


def test_release_all_lets_go_of_held_notes(rig, store):
    h = rig('[[note]]\nnote = 1\nparam = "dream.mix"\nvalue = 0.0\n')
    h.handle(note_on(1))
    assert store.get("dream.mix") == 0.0
    h.release_all()
    assert store.get("dream.mix") == 1.0


def test_set_and_toggle_notes_and_scene_choice(rig, store, scenes_called):
    h = rig('[[note]]\nnote = 1\nparam = "dream.layer"\nmode = "set"\nvalue = "blocks.5"\n'
            '[[note]]\nnote = 2\nparam = "dream.follow"\n'
            '[[note]]\nnote = 3\nparam = "dream.guide"\nmode = "toggle"\nvalue = "goldfish"\n'
            '[[note]]\nnote = 4\naction = "scene"\nargs = ["dream"]\n')
    h.handle(note_on(1))
    h.handle(note_off(1))
    assert store.get("dream.layer") == "blocks.5"
    assert store.get("dream.follow") is True
    h.handle(note_on(2))
    assert store.get("dream.follow") is False
    h.handle(note_off(2))
    h.handle(note_on(2))
    assert store.get("dream.follow") is True
    store.set("dream.guide", "tabby cat")
    h.handle(note_on(3))
    h.handle(note_off(3))
    assert store.get("dream.guide") == "goldfish"
    h.handle(note_on(3))
    assert store.get("dream.guide") == "tabby cat"
    h.handle(note_on(4))
    assert scenes_called == ["dream"]


def test_channels_are_told_apart(rig, store):
    h = rig('channel = 2\n[[note]]\nnote = 1\naction = "dream.reset"\n'
            '[[note]]\nnote = 2\nchannel = "any"\naction = "dream.reset"\n')
    store.snapshot()
    h.handle(note_on(1, channel=0))
    assert not store.snapshot().fired("dream.reset")
    h.handle(note_on(1, channel=1))
    assert store.snapshot().fired("dream.reset")
    h.handle(note_on(2, channel=9))
    assert store.snapshot().fired("dream.reset")


def test_a_failing_action_is_logged_and_the_show_goes_on(store, caplog):
    h = MidiHandler(store, Actions(store), make_map('[[note]]\nnote = 4\naction = "scene"\nargs = ["dream"]\n'
                                                    '[[note]]\nnote = 5\nparam = "dream.mix"\nvalue = 0.25\n'))
    h.handle(note_on(4))  # this show can't change scene: a warning, no exception
    assert "can't change scene" in caplog.text
    h.handle(note_on(5))
    assert store.get("dream.mix") == 0.25
    h.handle(mido.Message("pitchwheel", pitch=100))
    h.handle(mido.Message("sysex", data=[1, 2, 3]))


# -- program change -------------------------------------------------------------------------------
@pytest.fixture
def config(tmp_path, monkeypatch):
    monkeypatch.setenv("LIVEART_CONFIG_DIR", str(tmp_path / "cfg"))
    return tmp_path / "cfg"


def test_program_change_loads_a_preset(config, store):
    from liveart.presets import save_preset

    save_preset("mine", {"dream.octaves": 2, "dream.layer": "blocks.7"})
    h = MidiHandler(store, Actions(store), make_map('[program]\npresets = ["gentle", "mine"]\n'))
    h.handle(mido.Message("program_change", program=1))
    assert store.get("dream.octaves") == 2 and store.get("dream.layer") == "blocks.7"
    h.handle(mido.Message("program_change", program=0))
    assert store.get("dream.layer") == "blocks.5"  # gentle
    h.handle(mido.Message("program_change", program=9))  # no such preset: logged, nothing breaks


def test_program_change_without_a_list_uses_the_presets_in_order_and_can_morph(config, store):
    from liveart.presets import list_presets, save_preset

    save_preset("aaa", {"dream.octaves": 1})
    assert list(list_presets())[0] == "aaa"
    h = MidiHandler(store, Actions(store), make_map('[program]\nmorph = "2"\n'))
    h.handle(mido.Message("program_change", program=0))
    assert store.morphing()
    store.snapshot(now=time.monotonic() + 100.0)
    assert store.get("dream.octaves") == 1


def test_a_map_naming_a_missing_preset_fails_at_load(config):
    with pytest.raises(UserError, match="Unknown preset 'nope'"):
        make_map('[program]\npresets = ["nope"]\n')
    with pytest.raises(UserError, match="Unknown preset 'gone'"):
        make_map('[[note]]\nnote = 1\naction = "preset/load"\nargs = ["gone"]\n')


# -- feedback -------------------------------------------------------------------------------------
def test_feedback_sends_values_on_change_rate_limited(store):
    h = MidiHandler(store, Actions(store), make_map(
        'channel = 1\nfeedback_rate = 10\n'
        '[[cc]]\ncc = 0\nparam = "dream.mix"\n'
        '[[cc]]\ncc = 2\nparam = "dream.zoom"\nhires = true\n'
        '[[note]]\nnote = 5\nparam = "dream.follow"\nled_on = 21\nled_channel = 7\n'
        '[[note]]\nnote = 6\nparam = "dream.guide"\nvalue = "goldfish"\n'
        '[[note]]\nnote = 7\naction = "dream.reset"\n'))
    out = FakeOutput("ctl")
    assert h.feedback(out.send, now=10.0) == 5  # everything once: 1 + 2 (14-bit) + 2 LEDs
    sent = {(m.type, m.channel, getattr(m, "control", getattr(m, "note", None))):
            getattr(m, "value", getattr(m, "velocity", None)) for m in out.sent}
    assert sent == {("control_change", 0, 0): 127, ("control_change", 0, 2): 64,
                    ("control_change", 0, 34): 0, ("note_on", 6, 5): 21, ("note_on", 0, 6): 0}
    out.sent.clear()
    assert h.feedback(out.send, now=10.5) == 0  # nothing changed
    store.set("dream.mix", 0.5)
    store.set("dream.guide", "goldfish")
    assert h.feedback(out.send, now=10.5) == 2
    assert [(m.type, getattr(m, "value", None) or getattr(m, "velocity", None)) for m in out.sent] == \
        [("control_change", 64), ("note_on", 127)]
    out.sent.clear()
    store.set("dream.mix", 0.4)
    assert h.feedback(out.send, now=10.55) == 0  # within 1/10 s of the last send to it
    assert h.feedback(out.send, now=10.61) == 1 and out.sent[-1].value == round(0.4 * 127)
    out.sent.clear()
    store.set("dream.mix", 0.6)
    store.set("dream.mix", 0.7)  # two changes in a burst: only the latest goes out
    h.feedback(out.send, now=11.0)
    assert [m.value for m in out.sent] == [round(0.7 * 127)]


def test_no_feedback_to_a_control_while_it_moves(store):
    h = MidiHandler(store, Actions(store), make_map('[[cc]]\ncc = 0\nchannel = 1\nparam = "dream.octaves"\n'))
    out = FakeOutput("ctl")
    h.feedback(out.send, now=1.0)
    out.sent.clear()
    h.handle(cc(0, 0), now=2.0)
    h.handle(cc(0, 70), now=2.1)  # picked up near 4 (x = 0.6), lands on 4 (x=0.6 -> 76)
    assert h.feedback(out.send, now=2.2) == 0
    h.feedback(out.send, now=2.5)
    assert [m.value for m in out.sent] == [round(curve_invert("lin", 1, (store.get("dream.octaves") - 1) / 5) * 127)]



def test_a_fader_that_has_not_picked_up_the_value_is_sent_back_to_it_after_the_hold(store):
    h = MidiHandler(store, Actions(store), make_map('[[cc]]\ncc = 0\nchannel = 1\nparam = "dream.mix"\n'))
    out = FakeOutput("ctl")
    store.set("dream.mix", 0.8)
    h.feedback(out.send, now=1.0)
    out.sent.clear()
    h.handle(cc(0, 10), now=2.0)  # far from 0.8: not picked up, the value stays
    assert store.get("dream.mix") == 0.8
    assert h.feedback(out.send, now=2.2) == 0  # the hand is on it
    assert h.feedback(out.send, now=2.4) == 1  # then the motor fader goes back to the value
    assert out.sent[-1].value == round(0.8 * 127)
    assert h.feedback(out.send, now=3.0) == 0


def test_feedback_asks_the_store_what_changed_instead_of_reading_every_value(store):
    class Counting:  # the store, counting the reads of single values and of all of them
        def __init__(self, store):
            self.store, self.reads = store, 0

        def get(self, name):
            self.reads += 1
            return self.store.get(name)

        def targets(self):
            self.reads += 1
            return self.store.targets()

        def __getattr__(self, name):
            return getattr(self.store, name)

    counting = Counting(store)
    h = MidiHandler(counting, Actions(store), make_map(
        'channel = 1\n[[cc]]\ncc = 0\nparam = "dream.mix"\n[[cc]]\ncc = 1\nparam = "dream.zoom"\n'
        '[[note]]\nnote = 5\nparam = "dream.follow"\n'))
    out = FakeOutput("ctl")
    assert h.feedback(out.send, now=1.0) == 3
    counting.reads = 0
    for i in range(10):
        assert h.feedback(out.send, now=2.0 + i) == 0
    store.set("dream.octaves", 2)  # not on the controller
    assert h.feedback(out.send, now=20.0) == 0
    store.set("dream.zoom", 0.02)
    assert h.feedback(out.send, now=21.0) == 1 and out.sent[-1].control == 1
    assert counting.reads == 0
    h.reset_feedback()  # a port reopened: everything once more
    assert h.feedback(out.send, now=22.0) == 3

# -- learn ----------------------------------------------------------------------------------------
def test_learn_ignores_a_stray_cc_and_assigns_the_control_moved_twice(store, tmp_path):
    h = MidiHandler(store, Actions(store), make_map(""))
    path = tmp_path / "learned.toml"
    learn = MidiLearn(h, path)
    learn.arm("dream.mix")
    h.handle(cc(21, 5, channel=2))  # a stray message from another knob
    assert learn.assigned is None and learn.armed == "dream.mix"
    h.handle(cc(7, 10, channel=2))
    assert learn.assigned is None
    h.handle(cc(7, 11, channel=2))
    b = learn.assigned
    assert (b.kind, b.number, b.channel, b.param, b.mode) == ("cc", 7, 2, "dream.mix", "absolute")
    assert learn.armed is None
    # the live map has it now
    store.set("dream.mix", 0.0)
    h.handle(cc(7, 0, channel=2))
    h.handle(cc(7, 127, channel=2))
    assert store.get("dream.mix") == 1.0
    # and the file loads with it
    m = load_map(path)
    assert [(x.number, x.channel, x.param) for x in m.bindings] == [(7, 2, "dream.mix")]


def test_learn_a_14_bit_fader_a_note_and_a_trigger(store, tmp_path):
    h = MidiHandler(store, Actions(store), make_map(""))
    learn = MidiLearn(h)
    learn.arm("dream.zoom")
    for msg in (cc(3, 64), cc(35, 1), cc(3, 64)):
        h.handle(msg)
    assert learn.assigned.hires and learn.assigned.number == 3
    learn.arm("dream.guide", value="goldfish")
    h.handle(note_on(40))
    h.handle(note_off(40))
    assert (learn.assigned.kind, learn.assigned.mode, learn.assigned.value) == ("note", "held", "goldfish")
    learn.arm("dream.reset")
    h.handle(note_on(41))
    h.handle(note_off(41))
    assert (learn.assigned.mode, learn.assigned.action) == ("trigger", "dream.reset")
    with pytest.raises(UserError, match="Unknown parameter"):
        learn.arm("dream.nope")


def test_learning_a_control_again_replaces_its_entry_and_keeps_the_rest(tmp_path):
    path = tmp_path / "my.toml"
    path.write_text('# my controller\nname = "mine"\nchannel = 1\n\n'
                    '[[cc]]  # the big fader\ncc = 7\nparam = "dream.mix"\n\n'
                    '[[cc]]\ncc = 8\nparam = "dream.feedback"\n\n'
                    '[program]\npresets = ["gentle"]\n')
    learn = MidiLearn(None, path)
    learn.arm("dream.persist")
    learn.feed(cc(7, 1))
    learn.feed(cc(7, 2))
    text = path.read_text()
    assert "# my controller" in text and "[program]" in text and 'param = "dream.mix"' not in text
    m = load_map(path)
    assert sorted((b.number, b.param) for b in m.bindings) == [(7, "dream.persist"), (8, "dream.feedback")]
    assert m.program.presets == ("gentle",)
    # a control on another channel is another control
    learn.arm("dream.smooth")
    learn.feed(cc(7, 1, channel=3))
    learn.feed(cc(7, 2, channel=3))
    assert len(load_map(path).bindings) == 3


def test_learning_into_a_copy_of_a_shipped_map_writes_it_whole_or_not_at_all(store, tmp_path, monkeypatch):
    import errno
    import io
    import os

    from liveart import atomic

    class FullDisk(io.FileIO):  # the disk fills while the map goes out
        def write(self, data):
            if self.tell() + len(data) > 100:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            return super().write(data)

    h = MidiHandler(store, Actions(store), load_map("nanokontrol2"))
    path = tmp_path / "midi" / "nanokontrol2.toml"
    learn = MidiLearn(h, path, copy_from=SHIPPED / "nanokontrol2.toml")
    learn.arm("dream.smooth")
    with monkeypatch.context() as m:
        m.setattr(atomic, "open", lambda *a, **k: FullDisk(*a), raising=False)
        h.handle(cc(0, 3))
        h.handle(cc(0, 4))
    assert learn.assigned is not None and "not saved: " in learn.message  # live, it is learned
    assert list(path.parent.iterdir()) == []  # no half map, no copy without the binding, no temp
    learn.arm("dream.smooth")
    h.handle(cc(0, 3))
    h.handle(cc(0, 4))
    assert "saved to" in learn.message
    shipped, copy = load_map(SHIPPED / "nanokontrol2.toml"), load_map(path)
    assert path.read_text().startswith("# Korg nanoKONTROL2")  # the shipped map's comments too
    assert len(copy.bindings) == len(shipped.bindings) and copy.program == shipped.program
    assert [b.param for b in copy.bindings if b.control == ("cc", 0, 0)] == ["dream.smooth"]

def test_save_binding_creates_a_map_file(tmp_path):
    learn = MidiLearn(None)
    learn.arm("dream.follow")
    b = learn.feed(note_on(9)) or learn.feed(note_off(9))
    save_binding(tmp_path / "new.toml", b)
    m = load_map(tmp_path / "new.toml")
    assert m.name == "new" and m.bindings[0].mode == "toggle"


# -- maps -----------------------------------------------------------------------------------------
def test_all_shipped_maps_load_and_validate():
    maps = {p.name: load_map(p) for p in sorted(SHIPPED.glob("*.toml"))}
    assert {"nanokontrol2.toml", "midimix.toml", "launchcontrol-xl.toml", "apc-mini-mk2.toml"} <= set(maps)
    for name, m in maps.items():
        assert m.match and m.bindings, name
        header = (SHIPPED / name).read_text().splitlines()[0]
        assert header.startswith("# "), f"{name} must say which controller and template it is for"
    nano = maps["nanokontrol2.toml"]
    assert nano.matches("nanoKONTROL2:nanoKONTROL2 MIDI 1 24:0") == "nanoKONTROL2"
    assert {b.number for b in nano.bindings if b.kind == "cc"} >= set(range(0, 8)) | set(range(16, 24))
    assert maps["launchcontrol-xl.toml"].channel == 8  # factory template 1 = channel 9
    assert set(list_maps()) >= {"nanokontrol2", "midimix", "launchcontrol-xl", "apc-mini-mk2"}


def test_a_shipped_map_drives_the_store(store):
    h = MidiHandler(store, Actions(store), load_map("nanokontrol2"))
    h.handle(cc(16, 64))  # zoom knob at its centre: picked up at 0
    h.handle(cc(16, 127))
    assert store.get("dream.zoom") == pytest.approx(0.05)
    h.handle(cc(32, 127))  # S1 held: tabby cat
    assert store.get("dream.guide") == "tabby cat"
    h.handle(cc(32, 0))
    assert store.get("dream.guide") == "none"


@pytest.mark.parametrize("text, message", [
    ('[[cc]]\ncc = 1\nparam = "nope.w0"\n', "unknown parameter 'nope.w0'"),
    ('[[cc]]\ncc = 1\nparam = "dream.mix"\nmode = "relative"\n', "mode must be one of"),
    ('[[cc]]\ncc = 1\nparam = "dream.mix"\ncurve = "sigmoid"\n', "curve must be one of"),
    ('[[cc]]\ncc = 200\nparam = "dream.mix"\n', "cc must be a number from 0 to 127"),
    ('[[cc]]\ncc = 1\nparam = "dream.mix"\nrange = [0, 2]\n', "outside dream.mix's range"),
    ('[[cc]]\ncc = 1\nparam = "dream.guide"\n', "needs values"),
    ('[[cc]]\ncc = 40\nparam = "dream.mix"\nhires = true\n', "MSB controller 0-31"),
    ('[[note]]\nnote = 1\nparam = "dream.mix"\n', "needs value"),
    ('[[note]]\nnote = 1\nparam = "dream.guide"\nvalue = "not a class at all"\n', "Unknown ImageNet class"),
    ('[[note]]\nnote = 1\naction = "launch/rocket"\n', "unknown action 'launch/rocket'"),
    ('[[note]]\nnote = 1\naction = "preset/load"\n', "takes 1 argument"),
    ('[[note]]\nnote = 1\naction = "scene"\nargs = ["nope"]\n', "Unknown scene"),
    ('[[note]]\nnote = 1\nparam = "dream.mix"\nvalue = 0.5\nchanel = 2\n', "unknown key 'chanel'"),
    ('channel = 17\n', "MIDI channel 1-16"),
    ('colour = "red"\n', "unknown setting 'colour'"),
])
def test_a_bad_map_fails_at_load_with_one_sentence(text, message):
    with pytest.raises(UserError, match=message) as e:
        make_map(text, "bad.toml")
    assert str(e.value).startswith("MIDI map bad.toml") and "\n" not in str(e.value)


def test_load_map_reports_bad_toml_and_missing_files(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[[cc]\n")
    with pytest.raises(UserError, match="not valid TOML"):
        load_map(bad)
    with pytest.raises(UserError, match="does not exist"):
        load_map(tmp_path / "none.toml")
    with pytest.raises(UserError, match="Unknown MIDI map 'korg'"):
        load_map("korg")


def test_a_layer_fader_covers_the_current_networks_layers_and_follows_the_model(rig, store):
    # dream.layer's full list has 38 layers of three networks; a fader bound to it must step
    # through those dream.model has now, or most of its travel selects layers that don't run
    h = rig('[[cc]]\ncc = 3\nparam = "dream.layer"\npickup = false\n')
    h.handle(cc(3, 127))
    assert store.get("dream.layer") == "head"  # EfficientNet's last layer, not VGG19's pool5
    h.handle(cc(3, 0))
    assert store.get("dream.layer") == "blocks.0"
    store.set("dream.model", "vgg16")
    h.handle(cc(3, 127))
    assert store.get("dream.layer") == "pool5"
    h.handle(cc(3, 0))
    assert store.get("dream.layer") == "relu1_1"


def test_layer_feedback_shows_the_position_among_the_current_networks_layers(store):
    h = MidiHandler(store, Actions(store), make_map('[[cc]]\ncc = 3\nchannel = 1\nparam = "dream.layer"\n'))
    out = FakeOutput("ctl")
    store.set("dream.layer", "head")
    h.feedback(out.send, now=1.0)
    assert out.sent[-1].value == 127  # the last of EfficientNet's 17, not 16/37 of the way
