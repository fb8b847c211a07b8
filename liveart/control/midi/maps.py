"""MIDI map files: the shipped maps (package data `liveart.midimaps`, `patches/midi/` in the
source tree) and your own (config dir/midi), finding one by name or path, loading it, and
adding a learned binding to a file without losing its comments."""
from __future__ import annotations

import re
import sys
from pathlib import Path

from ...atomic import write_atomic
from ...errors import UserError
from ...tomlpos import Positions, read_toml
from ...userdirs import config_dir
from .binding import Binding, MidiMap, toml_value
from .parse import parse_channel, parse_map

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def _shipped_dir() -> Path:
    """The shipped maps: package data (`patches/midi/` of the source tree, packaged as
    liveart.midimaps); the source tree's folder when run uninstalled."""
    try:
        from importlib.resources import files

        return Path(str(files("liveart.midimaps")))
    except ModuleNotFoundError:  # run from a checkout without installing
        return Path(__file__).resolve().parents[3] / "patches" / "midi"


SHIPPED = _shipped_dir()


def user_maps_dir() -> Path:
    return config_dir() / "midi"


def list_maps() -> dict[str, Path]:
    """name -> file; your maps (config dir/midi) win over the shipped ones of the same name."""
    found: dict[str, Path] = {}
    for folder in (SHIPPED, user_maps_dir()):
        if folder.is_dir():
            for f in sorted(folder.glob("*.toml")):
                found[f.stem] = f
    return dict(sorted(found.items()))


def find_map(name_or_path: str | Path) -> Path:
    text = str(name_or_path)
    path = Path(text).expanduser()
    if path.suffix == ".toml" or path.exists():
        if not path.is_file():
            raise UserError(f"MIDI map {text} does not exist.")
        return path
    maps = list_maps()
    if text in maps:
        return maps[text]
    raise UserError(f"Unknown MIDI map {text!r}; available maps are: {', '.join(maps) or 'none'} "
                    "(or give a .toml file).")


def load_map(name_or_path: str | Path) -> MidiMap:
    """Load and validate a map; UserError naming the file, the entry and the problem."""
    path = find_map(name_or_path)
    text, data = read_toml(path, "MIDI map")
    m = parse_map(data, str(path), Positions(text))
    m.path = path
    return m


# -- saving a learned binding ----------------------------------------------------------------
_HEADER_RE = re.compile(r"^\s*\[\[?\s*([A-Za-z0-9_.\-]+)\s*\]\]?\s*(#.*)?$")


def save_binding(path: str | Path, binding: Binding, template: str | Path | None = None) -> Path:
    """Add `binding` to the map file `path`, replacing the entries of the same control.
    Everything else in the file, comments included, is kept. A missing `path` starts as a copy
    of the map `template` (when given and there), else as an empty map; either way the file is
    written once, atomically, so it never holds half a map or a copy without the binding."""
    path = Path(path).expanduser()
    if not path.exists() and not path.parent.is_dir():
        raise UserError(f"Cannot write MIDI map {path}: folder {path.parent} does not exist.")
    source = path if path.exists() else _file_or_none(template)
    if source is not None:
        text, top = read_toml(source, "MIDI map")
        map_channel = parse_channel(top.get("channel", 0),
                                    lambda m: UserError(f"MIDI map {source}: {m}"), "channel")
        text = _drop_control(text, binding, map_channel)
    else:
        map_channel = None
        text = (f"# liveart MIDI map, written by 'liveart midi learn'; format: patches/midi/README.md\n"
                f"name = {toml_value(path.stem)}\nmatch = []\n")
    if not text.endswith("\n"):
        text += "\n"
    text += "\n" + binding.to_toml(map_channel)
    try:
        parse_map(tomllib.loads(text), str(path))  # never write a map that won't load
    except tomllib.TOMLDecodeError as e:  # pragma: no cover
        raise UserError(f"MIDI map {path} would not be valid TOML after learning: {e}.") from None
    try:  # atomic: a kill mid-save leaves the old map, never half of one
        return write_atomic(path, text)
    except OSError as e:
        raise UserError(f"Could not save MIDI map {path}: {e.strerror or e}.") from None


def _file_or_none(path: str | Path | None) -> Path | None:
    return Path(path) if path is not None and Path(path).is_file() else None


def _drop_control(text: str, binding: Binding, map_channel: int | None) -> str:
    lines = text.splitlines(keepends=True)
    starts = [i for i, line in enumerate(lines) if _HEADER_RE.match(line)]
    keep = list(lines[:starts[0]] if starts else lines)
    for j, start in enumerate(starts):
        end = starts[j + 1] if j + 1 < len(starts) else len(lines)
        block = lines[start:end]
        header = _HEADER_RE.match(block[0]).group(1)
        if block[0].lstrip().startswith("[[") and header == binding.kind:
            try:
                entry = tomllib.loads("".join(block))[header][0]
                ch = parse_channel(entry["channel"], lambda m: UserError(m), "channel") \
                    if "channel" in entry else map_channel
                if entry.get(header) == binding.number and ch == binding.channel:
                    continue
            except (tomllib.TOMLDecodeError, UserError, KeyError, IndexError, TypeError):
                pass
        keep.extend(block)
    return "".join(keep)

