"""Where scene files live, and which are there: names only, for the registry's checks of a
scene spec (liveart/userscenes.py imports and reloads them; this module never runs them)."""
from __future__ import annotations

import os
import re
from pathlib import Path

ENV_VAR = "LIVEART_SCENES_DIR"
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,31}$")


def scenes_dir() -> Path:
    env = os.environ.get(ENV_VAR, "").strip()
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CONFIG_HOME", "").strip()
    base = Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".config"
    return base / "liveart" / "scenes"


def list_scene_files(builtin: tuple[str, ...]) -> dict[str, Path]:
    """{name: file} of the scene files in the folder (lower-case names; built-in names win)."""
    try:
        files = sorted(scenes_dir().glob("*.py"))
    except OSError:
        return {}
    return {f.stem: f for f in files if _NAME.match(f.stem) and f.stem not in builtin
            and f.is_file()}
