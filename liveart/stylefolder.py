"""The user's styles folder: pictures there can be named as a style without their path.

Where it is (the first that applies):

1. ``$LIVEART_STYLES_DIR``;
2. ``$XDG_CONFIG_HOME/liveart/styles`` when ``XDG_CONFIG_HOME`` is set (any platform);
3. macOS: ``~/Library/Application Support/liveart/styles``;
   Windows: ``%APPDATA%\\liveart\\styles``;
   elsewhere: ``~/.config/liveart/styles``.

A style's name is its file name without the extension (``monet.jpg`` -> ``monet``). The
listing is re-read when the folder's modification time changes, so a picture dropped in while
liveart runs can be used at once; a name that isn't found triggers one more scan before the
error, so even a file system with coarse timestamps never hides a new picture.
"""
from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path

from .errors import UserError

ENV_VAR = "LIVEART_STYLES_DIR"
IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff",
                              ".jp2", ".pbm", ".pgm", ".ppm", ".pnm"})
# A listing read within this many seconds of the folder's last change may have raced a file
# being added in the same timestamp tick (FAT and some network file systems tick in 2 s), so
# it is not trusted and the folder is read again next time.
_RACY_S = 2.0


def styles_dir() -> Path:
    """The styles folder (it may not exist yet)."""
    env = os.environ.get(ENV_VAR, "").strip()
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CONFIG_HOME", "").strip()
    if xdg and os.path.isabs(xdg):  # the XDG spec says relative values are to be ignored
        return Path(xdg) / "liveart" / "styles"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / "liveart" / "styles"
    if os.name == "nt" and os.environ.get("APPDATA"):
        return Path(os.environ["APPDATA"]) / "liveart" / "styles"
    return Path.home() / ".config" / "liveart" / "styles"


_lock = threading.Lock()
# folder -> (its mtime_ns when read, wall time of the read, the listing)
_listings: dict[Path, tuple[int, float, dict[str, Path]]] = {}


def _scan(folder: Path) -> dict[str, Path]:
    """Image files directly in `folder` by name; on a name clash the first in sorted order."""
    found: dict[str, Path] = {}
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name.lower())
    except (FileNotFoundError, NotADirectoryError):
        return found
    except OSError as exc:
        raise UserError(f"The styles folder {folder} cannot be read ({exc.strerror or exc}).") from None
    for entry in entries:
        if entry.name.startswith("."):
            continue
        stem, ext = os.path.splitext(entry.name)
        if ext.lower() not in IMAGE_EXTENSIONS or not stem:
            continue
        try:
            if not entry.is_file():
                continue
        except OSError:
            continue
        found.setdefault(stem, Path(entry.path))
    return found


def list_styles(refresh: bool = False) -> dict[str, Path]:
    """{name: path} of the pictures in the styles folder, sorted by name.

    Cheap to call every frame: the folder is only read again when its modification time
    changed (a file added, removed or renamed) or `refresh` is set.
    """
    folder = styles_dir()
    try:
        mtime = os.stat(folder).st_mtime_ns
    except OSError:
        mtime = -1  # no folder (yet): nothing to list, but look again next time
    with _lock:
        cached = _listings.get(folder)
        if (not refresh and cached is not None and cached[0] == mtime and mtime != -1
                and cached[1] - mtime / 1e9 > _RACY_S):
            return dict(cached[2])
        listing = dict(sorted(_scan(folder).items(), key=lambda kv: kv[0].lower()))
        _listings[folder] = (mtime, time.time(), listing)
        return dict(listing)


def _lookup(text: str, styles: dict[str, Path]) -> Path | None:
    if text in styles:
        return styles[text]
    low = text.lower()
    by_file = [p for p in styles.values() if p.name.lower() == low]
    if by_file:
        return by_file[0]
    stem, ext = os.path.splitext(low)
    if ext not in IMAGE_EXTENSIONS:
        stem = low
    matches = [p for n, p in styles.items() if n.lower() == stem]
    return matches[0] if len(matches) == 1 else None


def resolve_style_image(name_or_path: str | os.PathLike) -> Path:
    """A style picture from a path to an image file, or from the name of a picture in the
    styles folder (with or without its extension, any case). UserError listing the
    available names when it is neither."""
    text = os.fspath(name_or_path).strip()
    if not text:
        raise UserError("A style picture needs a name from the styles folder or a path to an image.")
    path = Path(text).expanduser()
    if path.is_file():
        return path
    looks_like_path = path.is_absolute() or os.sep in text or (os.altsep or "/") in text
    if not looks_like_path:
        found = _lookup(text, list_styles())
        if found is None:
            found = _lookup(text, list_styles(refresh=True))
        if found is not None:
            return found
    folder = styles_dir()
    names = list(list_styles())
    if looks_like_path:
        where = f"The style picture {path} does not exist"
    else:
        where = f"There is no style picture {text!r}"
    if names:
        raise UserError(f"{where}; the styles folder {folder} has: {', '.join(names)}.")
    raise UserError(f"{where}, and the styles folder {folder} has no pictures "
                    "(put images there or give a path to one).")


def split_pictures(text: str) -> list[str]:
    """`a.jpg; monet` -> ["a.jpg", "monet"]: the `;`-separated style pictures of a parameter."""
    return [p for p in (part.strip() for part in str(text).split(";")) if p]


def check_remote_pictures(text: str, param: str, most: int, builtin: str | None = None) -> None:
    """Like check_pictures, for a value from the network: names of pictures in the styles folder
    only, so an OSC sender can't make liveart open files elsewhere."""
    names = split_pictures(text)
    if len(names) > most:
        raise UserError(f"{param} takes at most {most} pictures separated by ';', not {len(names)}.")
    for name in names:
        if name == builtin:
            continue
        if ("/" in name or "\\" in name or name.startswith((".", "~")) or Path(name).is_absolute()):
            raise UserError(f"{param} over the network takes names of pictures in the styles "
                            f"folder {styles_dir()}, not paths.")
        if _lookup(name, list_styles()) is None and _lookup(name, list_styles(refresh=True)) is None:
            names_here = ", ".join(list_styles()) or "none"
            raise UserError(f"There is no style picture {name[:60]!r}; the styles folder "
                            f"{styles_dir()} has: {names_here}.")


def check_pictures(text: str, param: str, most: int, builtin: str | None = None) -> None:
    """Validate a `;`-separated list of style pictures (UserError naming the problem)."""
    names = split_pictures(text)
    if len(names) > most:
        raise UserError(f"{param} takes at most {most} pictures separated by ';', not {len(names)}.")
    for name in names:
        if name != builtin:
            resolve_style_image(name)
