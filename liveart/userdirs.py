"""Where liveart keeps the user's files: config (presets, styles, last state), cache (weights), logs.

Config: `$LIVEART_CONFIG_DIR`, else `$XDG_CONFIG_HOME/liveart`, else the platform's usual place
(`~/Library/Application Support/liveart` on macOS, `%APPDATA%\\liveart` on Windows,
`~/.config/liveart` elsewhere).
"""
from __future__ import annotations

import os
import sys
from pathlib import Path


def config_dir() -> Path:
    env = os.environ.get("LIVEART_CONFIG_DIR", "").strip()
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CONFIG_HOME", "").strip()
    if xdg and os.path.isabs(xdg):  # the XDG spec says relative values are ignored
        return Path(xdg) / "liveart"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / "liveart"
    if os.name == "nt" and os.environ.get("APPDATA"):
        return Path(os.environ["APPDATA"]) / "liveart"
    return Path.home() / ".config" / "liveart"


def user_presets_dir() -> Path:
    return config_dir() / "presets"


def log_dir() -> Path:
    """Where `--install` writes liveart.log (unless `--log FILE` says): `$LIVEART_LOG_DIR`,
    else `$XDG_STATE_HOME/liveart/log`, else `~/Library/Logs/liveart` on macOS,
    `%LOCALAPPDATA%\\liveart\\log` on Windows, `~/.local/state/liveart/log` elsewhere."""
    env = os.environ.get("LIVEART_LOG_DIR", "").strip()
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_STATE_HOME", "").strip()
    if xdg and os.path.isabs(xdg):
        return Path(xdg) / "liveart" / "log"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Logs" / "liveart"
    if os.name == "nt" and os.environ.get("LOCALAPPDATA"):
        return Path(os.environ["LOCALAPPDATA"]) / "liveart" / "log"
    return Path.home() / ".local" / "state" / "liveart" / "log"
