"""Saving a file so that a crash, a kill or a full disk never leaves half of it.

Every file liveart writes for the user (presets, the last state, snapshots, MIDI maps, the
systemd unit) goes through here: the new content is written to a hidden temporary file in the
same folder (`.NAME.<pid>.<random>.liveart.tmp`), flushed and fsynced, then renamed onto the
target in one step (`os.replace`), and the folder is fsynced so the rename itself survives a
power cut.
A reader — or the next start after a kill — sees the old file or the new one, never a mix.

The temporary file is made by `tempfile.mkstemp` (O_CREAT|O_EXCL|O_NOFOLLOW, an unpredictable
name, another name tried when one is taken): a file or symlink someone planted in the folder is
never opened, followed or overwritten. It gets the permissions the target has (a new file: the
usual 0666 less the umask, not mkstemp's 0600).

A save that fails (full disk, read-only folder) removes its temporary file and raises the
OSError; the old file is untouched. A save killed mid-way leaves its temporary file behind:
`remove_stale_temps` clears those (liveart's own names only, older than a minute) at the next
start. `ProblemLog` says a problem that repeats (a full disk, every 2 s) once a minute at most.
"""
from __future__ import annotations

import logging
import os
import re
import stat
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, Iterable, Iterator

log = logging.getLogger(__name__)

# what atomic_file's temporary files are called: `.NAME.<pid>.<random>.liveart.tmp`, the random
# part from mkstemp (8 of [a-z0-9_]); the pid and random part keep two processes (or threads)
# saving one file from ever sharing a temporary file, the suffix tells them from other
# programs' in a shared folder (a snapshots folder in ~/Pictures). The second form is what
# liveart wrote before it used mkstemp (`.NAME.<pid>.<8 hex digits>.tmp`): its leftovers too.
TEMP_SUFFIX = ".liveart.tmp"
TEMP_NAME = re.compile(r"^\..+\.(\d+)\.(?:[a-z0-9_]{6,32}\.liveart|[0-9a-f]{8})\.tmp$")
STALE_AFTER = 60.0  # seconds untouched: a temporary file that old is from a save that was killed


def _temp_prefix(path: Path) -> str:
    return f".{path.name}.{os.getpid()}."


def _new_file_mode() -> int:
    """The mode open() would give a new file: 0666 less the umask (read from /proc where it can
    be: os.umask can only be read by setting it, which would race other threads' files)."""
    try:
        for line in Path("/proc/self/status").read_text(encoding="ascii").splitlines():
            if line.startswith("Umask:"):
                return 0o666 & ~int(line.split()[1], 8)
    except (OSError, ValueError, IndexError, UnicodeError):
        pass
    return 0o666 & ~_UMASK_AT_IMPORT


def _read_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


# where there is no /proc (macOS), once, at import, before liveart starts its threads
_UMASK_AT_IMPORT = 0o022 if os.path.exists("/proc/self/status") else _read_umask()


@contextmanager
def atomic_file(path: str | os.PathLike) -> Iterator[BinaryIO]:
    """A binary file to write the new content of `path` into; when the block ends without an
    error it replaces `path` in one step. On an error the temporary file is removed and the
    error raised; `path` is untouched."""
    path = Path(path)
    if path.is_symlink():  # replace the file the link points to, not the link
        path = Path(os.path.realpath(path))
    # O_EXCL|O_NOFOLLOW and a fresh random name: never follow or reuse what is already there
    fd, name = tempfile.mkstemp(prefix=_temp_prefix(path), suffix=TEMP_SUFFIX,
                                dir=path.parent)
    tmp = Path(name)
    try:
        f = open(fd, "wb")
    except BaseException:
        os.close(fd)
        _unlink(tmp)
        raise
    try:
        try:
            _set_mode(path, f)
            yield f
            f.flush()
            os.fsync(f.fileno())  # the bytes are on the disk before the name points at them
        finally:
            f.close()
        os.replace(tmp, path)
    except BaseException:
        _unlink(tmp)
        raise
    _sync_folder(path.parent)


def _unlink(tmp: Path) -> None:
    try:
        tmp.unlink()
    except OSError:
        pass


def write_atomic(path: str | os.PathLike, data: bytes | str, encoding: str = "utf-8") -> Path:
    """Replace the content of `path` with `data` in one step (see atomic_file); OSError when it
    can't be written, the old file then left as it was."""
    if isinstance(data, str):
        data = data.encode(encoding)
    with atomic_file(path) as f:
        f.write(data)
    return Path(path)


def _set_mode(path: Path, f) -> None:
    """A replaced file keeps its permissions (a map the user made private stays private); a new
    one gets what open() would have given it."""
    if os.name == "nt":
        return
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        mode = _new_file_mode()  # a new file: the umask decides, as for any other
    try:
        os.fchmod(f.fileno(), mode)
    except OSError:
        pass


def _sync_folder(folder: Path) -> None:
    if os.name == "nt":  # Windows can't open a folder to fsync it; NTFS journals the rename
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems refuse to fsync a folder; the file itself is already safe
    finally:
        os.close(fd)


def remove_stale_temps(folders: Iterable[str | os.PathLike],
                       older_than: float = STALE_AFTER, spare_own: bool = False) -> list[Path]:
    """Remove the temporary files of saves that were killed: named as atomic_file names them,
    regular files (never a symlink or anything else), untouched for `older_than` seconds (so
    another liveart's save in progress is left alone); `spare_own` also leaves this process's
    own (a sweep while the show runs: a save of ours may be waiting on a slow disk). Returns
    what was removed. One listing per folder: cheap enough for every start."""
    removed: list[Path] = []
    cutoff = time.time() - older_than
    own = str(os.getpid())
    for folder in folders:
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue  # no such folder yet, or not ours to read
        for entry in entries:
            try:
                match = TEMP_NAME.match(entry.name)
                if match and not (spare_own and match.group(1) == own) \
                        and entry.is_file(follow_symlinks=False) \
                        and entry.stat(follow_symlinks=False).st_mtime < cutoff:
                    os.unlink(entry.path)
                    removed.append(Path(entry.path))
            except OSError:
                continue
    if removed:
        log.info("removed %d unfinished save(s) left by an earlier run: %s", len(removed),
                 ", ".join(str(p) for p in removed[:5]) + (" ..." if len(removed) > 5 else ""))
    return removed


class ProblemLog:
    """Says a problem that keeps coming back (a full disk, tried every 2 s) once, then at most
    once every `every` seconds (with how many tries failed since), each different problem on
    its own clock; and, when things work again, says so once, and only after a problem was
    said. So a disk that flaps between full and not costs two lines a minute, not two every
    tick. Thread-safe; `clock` is for tests."""

    def __init__(self, logger: logging.Logger, every: float = 60.0, clock=time.monotonic):
        self.logger = logger
        self.every = every
        self.clock = clock
        self._said: dict[str, float] = {}  # problem -> when it was last said
        self._quiet: dict[str, int] = {}  # problem -> failures not said since
        self._owed_recovery = False  # a problem was said and its end not yet
        self.failing = False
        self._lock = threading.Lock()

    def problem(self, key: str, sentence: str) -> bool:
        """One more failure of kind `key`; logs `sentence` (one sentence, a warning) unless the
        same kind was said less than `every` seconds ago. Returns whether it was said."""
        with self._lock:
            self.failing = True
            now = self.clock()
            last = self._said.get(key)
            if last is not None and now - last < self.every:
                self._quiet[key] = self._quiet.get(key, 0) + 1
                return False
            quiet = self._quiet.pop(key, 0)
            self._said[key] = now
            self._owed_recovery = True
        if quiet:
            sentence = (f"{sentence.rstrip('.')} (failed {quiet} more time"
                        f"{'s' if quiet != 1 else ''} since it was last said).")
        self.logger.warning("%s", sentence)
        return True

    def recovered(self, sentence: str) -> bool:
        """It works again: logs `sentence` (info) once, if a problem was said since the last
        recovery. Returns whether it was said."""
        with self._lock:
            self.failing = False
            owed, self._owed_recovery = self._owed_recovery, False
        if owed:
            self.logger.info("%s", sentence)
        return owed
