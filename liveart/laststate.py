"""The show's state survives a restart: installations reboot, and the look should come back.

While liveart runs, the parameters are written to `last-state.toml` in the config folder
whenever they have changed (checked every 2 s) and at exit; the next `liveart run` starts from
them (before --preset and --set, which win). `--fresh` starts from the defaults instead.

Saves are atomic (liveart.atomic), so a kill or power cut leaves the previous state or the new
one. A file that still can't be used at start (edited by hand, a disk fault, written by a newer
liveart) is moved aside to `last-state.toml.broken-YYYYmmdd-HHMMSS` — kept for a look, never
in the way — and the show starts from the defaults.
"""
from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path
from typing import Any

from .atomic import remove_stale_temps
from .errors import UserError
from .params import ParamStore
from .presets import load_preset_with_mods, write_preset
from .userdirs import config_dir, user_presets_dir

log = logging.getLogger(__name__)


def last_state_path() -> Path:
    return config_dir() / "last-state.toml"


def load_last_state(mods: list | None = None) -> dict[str, Any]:
    """The saved state, or {} when there is none or it is unusable; an unusable one is moved
    aside (see move_aside) with one sentence in the log. Its modulators are appended to
    `mods` when given."""
    path = last_state_path()
    if not path.is_file():
        return {}
    try:
        values, _, saved_mods = load_preset_with_mods(str(path))
    except UserError as e:  # a broken or outdated file must never stop the show
        why = str(e).rstrip(".")
        try:
            where = f"it was moved to {move_aside(path)}"
        except OSError as err:
            where = f"it could not be moved aside ({err.strerror or err})"
        log.warning("Ignoring the saved state: %s; %s, and the show starts from the "
                    "defaults.", why, where)
        return {}
    log.info("restored the last state from %s", path)
    if mods is not None:
        mods.extend(saved_mods)
    return values


def move_aside(path: Path) -> Path:
    """Rename `path` to `NAME.broken-YYYYmmdd-HHMMSS` (then -2, -3 ... if that is taken), so
    the next save doesn't overwrite what may be worth a look; returns the new name."""
    stem = f"{path.name}.broken-{time.strftime('%Y%m%d-%H%M%S')}"
    target, n = path.with_name(stem), 1
    while target.exists():
        n += 1
        target = path.with_name(f"{stem}-{n}")
    os.rename(path, target)
    return target


def remove_unfinished_saves() -> list[Path]:
    """Clear the temporary files of saves that a kill or power cut interrupted, in the folders
    liveart saves to on its own (config, presets, snapshots)."""
    from .snapshot import snapshots_dir

    return remove_stale_temps([config_dir(), user_presets_dir(), snapshots_dir()])


class LastStateSaver:
    """Saves the store's values to last-state.toml every `every` seconds when they changed, and
    at stop(). A failing disk is said once (again when the error changes, and when saving works
    again), not every `every` seconds; the show goes on either way."""

    def __init__(self, store: ParamStore, every: float = 2.0):
        self.store = store
        self.every = every
        self._saved: tuple | None = None  # (values, modulators) last written
        self._failing: str | None = None  # the error last logged, while saving fails
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="last-state", daemon=True)

    def start(self) -> "LastStateSaver":
        remove_unfinished_saves()  # the run starts here, --fresh or not
        self._thread.start()
        return self

    def save(self) -> None:
        values = self.store.targets()
        mods = self.store.mods.as_dicts()
        if (values, mods) == self._saved:
            return
        path = last_state_path()
        try:
            write_preset(path, values, "the state liveart was in when it stopped", mods)
        except OSError as e:  # a full or read-only disk: keep playing, keep trying
            problem = f"{e.strerror or e}"
            if problem != self._failing:
                log.warning("Could not save the state to %s: %s; liveart keeps playing and "
                            "tries again.", path, problem)
                self._failing = problem
            return
        self._saved = (values, mods)
        if self._failing is not None:
            log.info("the state is saved to %s again", path)
            self._failing = None

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self.save()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.save()
