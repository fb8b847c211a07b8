"""The show's state survives a restart: installations reboot, and the look should come back.

While liveart runs, the parameters are written to `last-state.toml` in the config folder
whenever they have changed (checked every 2 s) and at exit; the next `liveart run` starts from
them (before --preset and --set, which win). `--fresh` starts from the defaults instead.
"""
from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

from .errors import UserError
from .params import ParamStore
from .presets import load_preset, write_preset
from .userdirs import config_dir

log = logging.getLogger(__name__)


def last_state_path() -> Path:
    return config_dir() / "last-state.toml"


def load_last_state() -> dict[str, Any]:
    """The saved state, or {} when there is none or it is unusable (said once in the log)."""
    path = last_state_path()
    if not path.is_file():
        return {}
    try:
        values, _ = load_preset(str(path))
    except UserError as e:  # a half-written or outdated file must never stop the show
        log.warning("Ignoring the saved state: %s", e)
        return {}
    log.info("restored the last state from %s", path)
    return values


class LastStateSaver:
    def __init__(self, store: ParamStore, every: float = 2.0):
        self.store = store
        self.every = every
        self._saved: dict[str, Any] | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="last-state", daemon=True)

    def start(self) -> "LastStateSaver":
        self._thread.start()
        return self

    def save(self) -> None:
        values = self.store.targets()
        if values != self._saved:
            try:
                write_preset(last_state_path(), values, "the state liveart was in when it stopped")
                self._saved = values
            except OSError as e:  # a full or read-only disk: keep playing
                log.warning("Could not save the state to %s: %s", last_state_path(), e)

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self.save()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.save()
