"""Line numbers for errors in presets and MIDI maps that parse but say something wrong."""
import pytest

from liveart.errors import UserError
from liveart.tomlpos import Positions

TEXT = '''description = "x"   # line 1
"scene.mix" = 0.5
dream.octaves = 3

[dream]
mix = 0.4
"step_size" = 0.01

[style.extra]
w0 = 1

[[cc]]
cc = 1
param = "dream.mix"

[[cc]]  # the second
cc = 2
mode = "wild"
'''


def test_keys_in_every_form_and_entries():
    pos = Positions(TEXT)
    assert pos.key("description") == 1
    assert pos.key("scene.mix") == 2           # one quoted key
    assert pos.key("dream.octaves") == 3       # dotted at the top
    assert pos.key("dream.mix") == 6           # under [dream]
    assert pos.key("dream.step_size") == 7     # quoted under [dream]
    assert pos.key("style.extra.w0") == 10     # under a dotted header
    assert pos.entry("cc", 1) == 12 and pos.entry("cc", 2) == 16
    assert pos.key("mode", entry=("cc", 2)) == 18
    assert pos.key("nothing.here") is None and pos.entry("note", 1) is None


def test_a_preset_error_names_its_line(tmp_path, monkeypatch):
    from liveart.presets import load_preset

    path = tmp_path / "p.toml"
    path.write_text('description = "d"\n\n[dream]\nmix = 0.5\noctaves = 99\n')
    with pytest.raises(UserError, match=r"p\.toml, line 5 sets dream\.octaves = 99, outside"):
        load_preset(str(path))
    path.write_text('[dream]\nmix = 0.5\n\n[dream.x]\nfoo = 1\n')
    with pytest.raises(UserError, match=r"line 5 sets unknown parameter 'dream\.x\.foo'"):
        load_preset(str(path))


def test_a_midi_map_error_names_its_line(tmp_path):
    from liveart.control.midi import load_map

    path = tmp_path / "m.toml"
    path.write_text('name = "m"\n\n[[cc]]\ncc = 1\nparam = "dream.mix"\n\n[[cc]]\ncc = 2\n'
                    'param = "dream.nope"\n')
    with pytest.raises(UserError, match=r"m\.toml, line 7: cc entry 2: unknown parameter"):
        load_map(str(path))
    path.write_text('name = "m"\ncolour = 1\n')
    with pytest.raises(UserError, match=r"line 2: unknown setting 'colour'"):
        load_map(str(path))
