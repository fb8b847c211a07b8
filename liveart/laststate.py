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

from .atomic import ProblemLog, remove_stale_temps
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
        values, _, saved_mods = load_preset_with_mods(str(path), lenient=True)
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


def remove_unfinished_saves(spare_own: bool = False) -> list[Path]:
    """Clear the temporary files of saves that a kill or power cut interrupted, in the folders
    liveart saves to on its own (config, presets, MIDI maps, snapshots); `spare_own`: not this
    process's (a sweep while the show runs)."""
    from .snapshot import snapshots_dir

    return remove_stale_temps([config_dir(), user_presets_dir(), config_dir() / "midi",
                               snapshots_dir()], spare_own=spare_own)


# After a kill, systemd starts the show again 3 s later: the killed save's temporary file is
# then too young for the start's sweep to be sure it is no one's, so the saver sweeps again
# once it is (SWEEP_FIRST after the start), then every SWEEP_EVERY.
SWEEP_FIRST = 75.0
SWEEP_EVERY = 600.0


class LastStateSaver:
    """Saves the store's values to last-state.toml every `every` seconds when they changed, and
    at stop(). A failing disk is one sentence, said again at most once a minute (ProblemLog:
    sooner only for a different problem), and once when saving works again; the show goes on
    either way. It also clears killed saves' temporary files: at start, and while it runs."""

    def __init__(self, store: ParamStore, every: float = 2.0, clock=time.monotonic):
        self.store = store
        self.every = every
        self.clock = clock
        self._saved: tuple | None = None  # (values, modulators) last written
        self.problems = ProblemLog(log, clock=clock)
        self._next_sweep = clock() + SWEEP_FIRST
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="last-state", daemon=True)

    def start(self) -> "LastStateSaver":
        remove_unfinished_saves()  # the run starts here, --fresh or not
        self._next_sweep = self.clock() + SWEEP_FIRST
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
            self.problems.problem(problem, f"Could not save the state to {path}: {problem}; "
                                  "liveart keeps playing and tries again.")
            return
        self._saved = (values, mods)
        self.problems.recovered(f"the state is saved to {path} again")

    def sweep(self) -> None:
        """The periodic clearing of killed saves' leftovers (see SWEEP_FIRST)."""
        if self.clock() >= self._next_sweep:
            self._next_sweep = self.clock() + SWEEP_EVERY
            remove_unfinished_saves(spare_own=True)

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            try:
                self.save()
                self.sweep()
            except Exception as e:  # noqa: BLE001  (never a traceback, never a dead saver)
                self.problems.problem(type(e).__name__, f"Could not save the state to "
                                      f"{last_state_path()} ({type(e).__name__}: {e}); liveart "
                                      "keeps playing and tries again.")

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.save()
