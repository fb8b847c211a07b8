"""Saving a file so that a crash, a kill or a full disk never leaves half of it.

Every file liveart writes for the user (presets, the last state, snapshots, MIDI maps, the
systemd unit) goes through here: the new content is written to a hidden temporary file in the
same folder (`.NAME.<pid>.<random>.tmp`), flushed and fsynced, then renamed onto the target in
one step (`os.replace`), and the folder is fsynced so the rename itself survives a power cut.
A reader — or the next start after a kill — sees the old file or the new one, never a mix.

A save that fails (full disk, read-only folder) removes its temporary file and raises the
OSError; the old file is untouched. A save killed mid-way leaves its temporary file behind:
`remove_stale_temps` clears those at the next start.
"""
from __future__ import annotations

import logging
import os
import re
import secrets
import stat
import time
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, Iterable, Iterator

log = logging.getLogger(__name__)

# what temp_path() makes; the pid and random part keep two processes (or threads) saving the
# same file from ever writing into one temporary file
TEMP_NAME = re.compile(r"^\..+\.\d+\.[0-9a-f]+\.tmp$")
STALE_AFTER = 30.0  # seconds: older temporary files are from a save that was killed


def temp_path(path: Path) -> Path:
    return path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")


@contextmanager
def atomic_file(path: str | os.PathLike) -> Iterator[BinaryIO]:
    """A binary file to write the new content of `path` into; when the block ends without an
    error it replaces `path` in one step. On an error the temporary file is removed and the
    error raised; `path` is untouched."""
    path = Path(path)
    if path.is_symlink():  # replace the file the link points to, not the link
        path = Path(os.path.realpath(path))
    tmp = temp_path(path)
    f = open(tmp, "xb")  # x: never follow or reuse a file someone else put there
    try:
        try:
            yield f
            f.flush()
            os.fsync(f.fileno())  # the bytes are on the disk before the name points at them
        finally:
            f.close()
        _keep_mode(path, tmp)
        os.replace(tmp, path)
    except BaseException:
        try:
            tmp.unlink()
        except OSError:
            pass
        raise
    _sync_folder(path.parent)


def write_atomic(path: str | os.PathLike, data: bytes | str, encoding: str = "utf-8") -> Path:
    """Replace the content of `path` with `data` in one step (see atomic_file); OSError when it
    can't be written, the old file then left as it was."""
    if isinstance(data, str):
        data = data.encode(encoding)
    with atomic_file(path) as f:
        f.write(data)
    return Path(path)


def _keep_mode(path: Path, tmp: Path) -> None:
    """A replaced file keeps its permissions (a map the user made private stays private)."""
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        return  # a new file: the umask decides, as for any other
    try:
        os.chmod(tmp, mode)
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
                       older_than: float = STALE_AFTER) -> list[Path]:
    """Remove the temporary files of saves that were killed (their name as temp_path makes it,
    older than `older_than` seconds so another liveart's save in progress is left alone);
    returns what was removed. One listing per folder: cheap enough for every start."""
    removed: list[Path] = []
    cutoff = time.time() - older_than
    for folder in folders:
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue  # no such folder yet, or not ours to read
        for entry in entries:
            try:
                if TEMP_NAME.match(entry.name) and entry.is_file(follow_symlinks=False) \
                        and entry.stat(follow_symlinks=False).st_mtime < cutoff:
                    os.unlink(entry.path)
                    removed.append(Path(entry.path))
            except OSError:
                continue
    if removed:
        log.info("removed %d unfinished save(s) left by an earlier run: %s", len(removed),
                 ", ".join(str(p) for p in removed[:5]) + (" ..." if len(removed) > 5 else ""))
    return removed
