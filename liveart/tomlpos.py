"""TOML files from users: read them safely, and find where a key was written so an error can
name the line.

tomllib gives line numbers for syntax errors only; a preset or map that parses but sets an
unknown key or an out-of-range value must also say where. No TOML library keeps positions
(tomlkit does, but is a second parser to install), so this scans the text the way TOML lays it
out: `[table]` and `[[array]]` headers, then `key = value` lines (bare, quoted or dotted keys).
"""
from __future__ import annotations

import os
import re
import stat
import tomllib
from pathlib import Path

from .errors import UserError

MAX_BYTES = 1 << 20  # presets and maps are a few kB; a bigger file is a mistake or an attack

_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(r"""^\s*((?:"[^"]*"|'[^']*'|[A-Za-z0-9_-]+)(?:\s*\.\s*(?:"[^"]*"|'[^']*'|[A-Za-z0-9_-]+))*)\s*=""")
_PART = re.compile(r""""([^"]*)"|'([^']*)'|([A-Za-z0-9_-]+)""")


def read_toml(path: Path, what: str) -> tuple[str, dict]:
    """(text, data) of the TOML file `path`; UserError with one sentence naming `what` ("Preset",
    "MIDI map") and the file when it can't be read, is too big, or is not valid TOML."""
    try:
        text = read_small_file(path, MAX_BYTES, what).decode("utf-8")
        return text, tomllib.loads(text)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise UserError(f"{what} {path} is not valid TOML: {e}.") from None
    except RecursionError:  # tomllib recurses per nested array: [[[[...]]]] exhausts the stack
        raise UserError(f"{what} {path} nests arrays or tables too deeply.") from None
    except OSError as e:
        raise UserError(f"{what} {path} can't be read: {e.strerror or e}.") from None


def read_small_file(path: Path, limit: int, what: str) -> bytes:
    """The bytes of regular file `path`, at most `limit` of them; UserError otherwise. Opened
    without blocking and checked once open (a FIFO, a device or /proc/kmsg would otherwise
    hang the thread that reads it, and a check before opening could be raced)."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise UserError(f"{what} {path} is not a regular file.")
        if st.st_size > limit:
            raise UserError(f"{what} {path} is {st.st_size} bytes; a {what.lower()} is at most "
                            f"{limit >> 20} MB.")
        chunks, total = [], 0
        while True:
            try:
                chunk = os.read(fd, 65536)
            except BlockingIOError:  # a 'regular' file of the kernel's that would block
                raise UserError(f"{what} {path} can't be read without waiting.") from None
            if not chunk:
                return b"".join(chunks)
            total += len(chunk)
            if total > limit:
                raise UserError(f"{what} {path} is larger than {limit >> 20} MB.")
            chunks.append(chunk)
    finally:
        os.close(fd)


def _parts(text: str) -> tuple[str, ...]:
    return tuple(a or b or c for a, b, c in _PART.findall(text))


class Positions:
    """Line numbers (1-based) of a TOML text's keys and array-of-tables entries.

    `key("dream.octaves")` finds `octaves = ...` under `[dream]`, `dream.octaves = ...` or
    `"dream.octaves" = ...` at the top; `entry("cc", 3)` is the line of the third `[[cc]]`;
    `key("mode", entry=("cc", 3))` a key inside it.
    """

    def __init__(self, text: str):
        self._keys: dict[tuple, int] = {}
        self._entries: dict[tuple[str, int], int] = {}
        counts: dict[str, int] = {}
        table: tuple = ()
        for n, line in enumerate(text.splitlines(), 1):
            m = _HEADER.match(line)
            if m and not _KEY.match(line):
                path = _parts(m.group(2))
                if m.group(1) == "[[":
                    name = ".".join(path)
                    counts[name] = counts.get(name, 0) + 1
                    self._entries[(name, counts[name])] = n
                    table = (("entry", name, counts[name]),)
                else:
                    table = path
                continue
            k = _KEY.match(line)
            if k:
                self._keys.setdefault((table, _parts(k.group(1))), n)

    def key(self, dotted: str, entry: tuple[str, int] | None = None) -> int | None:
        if entry is not None:
            return self._keys.get(((("entry", entry[0], entry[1]),), (dotted,)))
        parts = tuple(dotted.split("."))
        for i in range(len(parts) + 1):  # [a.b] c = / [a] b.c = / a.b.c = ...
            found = self._keys.get((parts[:i], parts[i:]))
            if found is None and i == 0:
                found = self._keys.get(((), (dotted,)))  # "a.b.c" = (one quoted key)
            if found is not None:
                return found
        return None

    def entry(self, name: str, index: int) -> int | None:
        return self._entries.get((name, index))


def at_line(line: int | None) -> str:
    """', line N' or '' when the line is unknown."""
    return f", line {line}" if line else ""
