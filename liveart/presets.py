"""Presets: TOML files of parameter values, validated against the registry.

    description = "Eyes and animal faces, the classic look"
    [dream]
    layer = "blocks.10"
    octaves = 4

Tables nest by the dots of parameter names, so `[dream] layer = ...` sets `dream.layer`.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from . import params
from .errors import UserError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

def _shipped_dir() -> Path:
    """The presets that come with liveart: `presets/` in a checkout, package data when installed."""
    checkout = Path(__file__).resolve().parent.parent / "presets"
    if checkout.is_dir():
        return checkout
    from importlib.resources import files

    return Path(str(files("liveart.presets")))


SHIPPED = _shipped_dir()
_META_KEYS = {"description"}


def preset_dirs() -> list[Path]:
    return [Path.cwd() / "presets", SHIPPED]


def list_presets() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for folder in reversed(preset_dirs()):  # the working folder's presets win over shipped ones
        if folder.is_dir():
            for f in sorted(folder.glob("*.toml")):
                found[f.stem] = f
    return dict(sorted(found.items()))


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
    from . import scenes  # noqa: F401  (declares the scenes' parameters)

    path = find_preset(name_or_path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise UserError(f"Preset {path} is not valid TOML: {e}.") from None
    description = str(data.get("description", ""))
    values: dict[str, Any] = {}
    for name, raw in _flatten({k: v for k, v in data.items() if k not in _META_KEYS}).items():
        if name not in params.REGISTRY:
            raise UserError(f"Preset {path} sets unknown parameter {name!r}; see 'liveart params' "
                            "for the valid names.")
        p = params.REGISTRY[name]
        if p.type == "trigger":
            raise UserError(f"Preset {path} sets {name}, which is a trigger, not a value.")
        try:
            value = p.coerce(raw)
        except params.UserError as e:
            raise UserError(f"Preset {path}: {e}") from None
        if p.type in ("float", "int") and isinstance(raw, (int, float)) and not isinstance(raw, bool) \
                and not (p.min <= raw <= p.max):
            raise UserError(f"Preset {path} sets {name} = {raw}, outside its range "
                            f"{p.range_text}.")
        values[name] = value
    return values, description
