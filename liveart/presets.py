"""Presets: TOML files of parameter values, validated against the registry.

    description = "Eyes and animal faces, the classic look"
    [dream]
    layer = "blocks.10"
    octaves = 4

Tables nest by the dots of parameter names, so `[dream] layer = ...` sets `dream.layer`.
"""
from __future__ import annotations

import json
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


def find_preset(name_or_path: str) -> Path:
    path = Path(name_or_path)
    if path.suffix == ".toml" or path.exists():
        if not path.is_file():
            raise UserError(f"Preset file {name_or_path} does not exist.")
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


def load_preset_with_mods(name_or_path: str):
    """(values, description, [Modulator]): load_preset and the preset's [[mod]] tables."""
    from .params.mods import mods_from_table

    path = find_preset(name_or_path)
    text, data = read_toml(path, "Preset")
    description = str(data.get("description", ""))
    values: dict[str, Any] = {}
    lines = Positions(text)
    for name, raw in _flatten({k: v for k, v in data.items() if k not in _META_KEYS}).items():
        where = f"Preset {path}{at_line(lines.key(name))}"
        if name not in params.REGISTRY:
            raise UserError(f"{where} sets unknown parameter {name!r}; see 'liveart params' "
                            "for the valid names.")
        p = params.REGISTRY[name]
        if p.type == "trigger":
            raise UserError(f"{where} sets {name}, which is a trigger, not a value.")
        try:
            value = p.coerce(raw)
        except params.UserError as e:
            raise UserError(f"{where}: {e}") from None
        if isinstance(raw, (int, float)) and p.outside_range(raw):
            raise UserError(f"{where} sets {name} = {raw}, outside its range "
                            f"{p.range_text}.")
        values[name] = value
    mods = mods_from_table(data["mod"], f"Preset {path}") if "mod" in data else []
    return values, description, mods
