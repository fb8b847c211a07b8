"""Presets: TOML files of parameter values, validated against the registry.

    description = "Eyes and animal faces, the classic look"
    [dream]
    layer = "blocks.10"
    octaves = 4

Tables nest by the dots of parameter names, so `[dream] layer = ...` sets `dream.layer`.
"""
from __future__ import annotations

import json
import logging
import re
import sys
from pathlib import Path
from typing import Any

from . import params
from .atomic import write_atomic
from .errors import UserError
from .tomlpos import Positions, at_line, read_toml
from .userdirs import user_presets_dir

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

def _shipped_dir() -> Path:
    """The presets that come with liveart: package data (`presets/` of the source tree,
    packaged as liveart.shipped_presets); the source tree's folder when run uninstalled."""
    try:
        from importlib.resources import files

        return Path(str(files("liveart.shipped_presets")))
    except ModuleNotFoundError:  # run from a checkout without installing
        return Path(__file__).resolve().parent.parent / "presets"


SHIPPED = _shipped_dir()
log = logging.getLogger(__name__)
_META_KEYS = {"description", "mod"}  # mod: the [[mod]] tables (liveart.params.mods)


def preset_dirs() -> list[Path]:
    """Where presets are looked up, the first winning: your saved ones, the working folder's,
    the shipped ones."""
    return [user_presets_dir(), Path.cwd() / "presets", SHIPPED]


def list_presets() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for folder in reversed(preset_dirs()):  # the working folder's presets win over shipped ones
        if folder.is_dir():
            for f in sorted(folder.glob("*.toml")):
                found[f.stem] = f
    return dict(sorted(found.items()))


_NAME_OK = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.-]{0,63}$")


def save_preset(name: str, values: dict[str, Any], description: str = "",
                mods: list[dict[str, Any]] = ()) -> Path:
    """Write `values` as preset `name` in the user's presets folder; returns the file.

    Only plain names are accepted: a name with a path separator or '..' would leave the
    folder, so it is refused. A disk that can't take the file is one sentence (UserError);
    the preset that was there before stays.
    """
    name = str(name).strip()
    if not _NAME_OK.match(name) or ".." in name or name.lower().endswith(".toml"):
        raise UserError(f"Preset name {name!r} is not allowed; use letters, digits, space, "
                        "'-', '_' or '.' (no folders).")
    path = user_presets_dir() / f"{name}.toml"
    try:
        return write_preset(path, values, description, mods)
    except OSError as e:
        raise UserError(f"Could not save preset {name!r} to {path}: {e.strerror or e}.") from None


def write_preset(path: Path, values: dict[str, Any], description: str = "",
                 mods: list[dict[str, Any]] = ()) -> Path:
    """Write `values` (registry names) to `path` as preset TOML, atomically (liveart.atomic: a
    kill or a full disk leaves the old file or the new one, never half); OSError when the file
    can't be written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tables: dict[str, dict[str, Any]] = {}
    for full, value in sorted(values.items()):
        if full in params.REGISTRY and params.REGISTRY[full].type != "trigger":
            head, _, key = full.rpartition(".")
            tables.setdefault(head, {})[key] = value
    lines = [f"description = {_toml_value(description or 'saved from liveart')}"]
    for head, table in tables.items():
        lines.append(f"\n[{head}]")
        lines += [f"{key} = {_toml_value(v)}" for key, v in table.items()]
    for mod in mods:  # modulators: [[mod]] tables
        lines.append("\n[[mod]]")
        lines += [f"{key} = {_toml_value(v)}" for key, v in mod.items()]
    return write_atomic(path, "\n".join(lines) + "\n")


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    return json.dumps(str(v))  # a JSON string is a valid TOML basic string


def find_preset_by_name(name: Any) -> Path:
    """A preset by name only, inside the preset folders: what controllers (OSC, MIDI, keys)
    may load. A path, '..', or a file that leads outside its folder (a symlink) is refused."""
    text = str(name).strip()
    if not _NAME_OK.match(text) or ".." in text:
        raise UserError(f"Presets are loaded by name from a controller (see 'liveart presets'), "
                        f"not {text[:60]!r}.")
    path = find_preset(text[:-5] if text.lower().endswith(".toml") else text)
    if path.resolve().parent not in {d.resolve() for d in preset_dirs()}:
        raise UserError(f"Preset {text!r} leads outside the preset folders; it is not loaded.")
    return path


def find_preset(name_or_path: str) -> Path:
    path = Path(name_or_path)
    if path.suffix == ".toml" or path.exists():
        if not path.is_file():
            raise UserError(f"Preset file {name_or_path} " + (
                "is not a regular file." if path.exists() else "does not exist."))
        return path
    presets = list_presets()
    if name_or_path in presets:
        return presets[name_or_path]
    raise UserError(f"Unknown preset {name_or_path!r}; available presets are: "
                    f"{', '.join(presets) or 'none'}.")


def _flatten(table: dict, prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in table.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, name + "."))
        else:
            flat[name] = value
    return flat


def load_preset(name_or_path: str) -> tuple[dict[str, Any], str]:
    """(validated {param: value}, description); UserError naming the file and the problem."""
    values, description, _ = load_preset_with_mods(name_or_path)
    return values, description


def load_preset_with_mods(name_or_path: str | Path, lenient: bool = False):
    """(values, description, [Modulator]): load_preset and the preset's [[mod]] tables.
    `lenient` (a restored last state: advice, not a command): a value or a modulator that
    can't be used is left out with one logged sentence instead of refusing the file."""
    from .params.mods import mods_from_table

    path = find_preset(name_or_path)
    text, data = read_toml(path, "Preset")
    description = str(data.get("description", ""))
    values: dict[str, Any] = {}
    lines = Positions(text)
    for name, raw in _flatten({k: v for k, v in data.items() if k not in _META_KEYS}).items():
        where = f"Preset {path}{at_line(lines.key(name))}"
        if lenient:
            try:
                values[name] = _checked(name, raw, where)
            except UserError as e:
                log.warning("%s; it starts at its default instead.", str(e).rstrip("."))
            continue
        values[name] = _checked(name, raw, where)
    mods: list = []
    if "mod" in data:
        try:
            mods = mods_from_table(data["mod"], f"Preset {path}")
        except UserError as e:
            if not lenient:
                raise
            log.warning("%s; the saved modulators are left out.", str(e).rstrip("."))
    return values, description, mods


def _checked(name: str, raw: Any, where: str) -> Any:
    """A preset's value for `name`, coerced and range-checked; UserError naming `where`."""
    if name not in params.REGISTRY:
        raise UserError(f"{where} sets unknown parameter {name!r}; see 'liveart params' "
                        "for the valid names.")
    p = params.REGISTRY[name]
    if p.type == "trigger":
        raise UserError(f"{where} sets {name}, which is a trigger, not a value.")
    try:
        value = p.coerce(raw)
        outside = isinstance(raw, (int, float)) and p.outside_range(raw)
    except params.UserError as e:
        raise UserError(f"{where}: {e}") from None
    except OverflowError:  # a number of hundreds of digits: float() can't hold it
        raise UserError(f"{where} sets {name} to a number too large to use.") from None
    if outside:
        text = str(raw) if len(str(raw)) <= 40 else str(raw)[:20] + "..."
        raise UserError(f"{where} sets {name} = {text}, outside its range "
                        f"{p.range_text}.")
    return value
