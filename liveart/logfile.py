"""A rotating log file for shows that run for months: `--log FILE`, and always with `--install`.

Everything logged (liveart's own lines and its libraries' warnings) also goes to the file, with
a timestamp; at 5 MB it is renamed to liveart.log.1 (up to .5) and a new one started, so the
disk never fills.
"""
from __future__ import annotations

import logging
import logging.handlers
from pathlib import Path

from .errors import UserError
from .userdirs import log_dir

MAX_BYTES = 5 * 1024 * 1024
BACKUPS = 5
LOG_NAME = "liveart.log"
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def log_path(arg: str | None) -> Path:
    """`--log FILE` as given (relative to the working folder); none: liveart.log in the log
    folder (userdirs.log_dir)."""
    return Path(arg).expanduser() if arg else log_dir() / LOG_NAME


def open_log_file(path: Path, logger: logging.Logger | None = None,
                  max_bytes: int = MAX_BYTES, backups: int = BACKUPS) -> logging.Handler:
    """Add a RotatingFileHandler for `path` to `logger` (the root logger); UserError when the
    file can't be opened."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.handlers.RotatingFileHandler(path, maxBytes=max_bytes,
                                                       backupCount=backups, encoding="utf-8")
    except OSError as e:
        raise UserError(f"Can't write the log file {path}: {e.strerror or e}.") from None
    handler.setFormatter(logging.Formatter(FORMAT))
    handler.setLevel(logging.DEBUG)
    root = logger or logging.getLogger()
    root.addHandler(handler)
    if root.getEffectiveLevel() > logging.INFO:
        root.setLevel(logging.INFO)
    return handler


def close_log_file(handler: logging.Handler, logger: logging.Logger | None = None) -> None:
    (logger or logging.getLogger()).removeHandler(handler)
    handler.close()
