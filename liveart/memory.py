"""Memory for shows that run for months: keep glibc's allocator from drifting upwards.

PyTorch on a CPU takes its tensors from malloc. glibc gives every thread that allocates an
arena of its own (up to 8 per core) and keeps what a freed tensor leaves inside an arena's heap
for later. A show has many threads (render loop, camera, OSC, music, torch's pool), and its
looks need working sets of different sizes, so freed holes scatter over many arenas and RSS
creeps up although nothing leaks. Two glibc knobs answer it; no library wraps them, so they
are called through ctypes here, and on any other C library they do nothing:

- `limit_arenas()`: mallopt(M_ARENA_MAX, 2) before the show's threads start, so the threads
  share two arenas and reuse each other's holes (what MALLOC_ARENA_MAX=2 does);
- `MemoryTrimmer`: malloc_trim(0) from a thread of its own every 30 s, which hands freed pages
  inside the heaps back to the system (the render loop never waits for it).
"""
from __future__ import annotations

import ctypes
import ctypes.util
import logging
import threading
import time
from typing import Any

log = logging.getLogger(__name__)

M_ARENA_MAX = -8  # from glibc's malloc.h
ARENAS = 2
TRIM_EVERY_S = 30.0


def _glibc() -> Any | None:
    """The process's C library when it is glibc (it has malloc_trim), else None."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.malloc_trim.argtypes = [ctypes.c_size_t]
        libc.mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
        return libc
    except (OSError, AttributeError):
        return None


def limit_arenas(arenas: int = ARENAS) -> bool:
    """Cap glibc's malloc arenas; True when it took effect. Call it before threads start:
    threads that already have an arena keep it."""
    libc = _glibc()
    if libc is None:
        return False
    return bool(libc.mallopt(M_ARENA_MAX, arenas))


def trim() -> bool:
    """Hand freed heap memory back to the system now; True when some was released."""
    libc = _glibc()
    return bool(libc and libc.malloc_trim(0))


class MemoryTrimmer:
    """malloc_trim(0) every `every` seconds on a daemon thread; counts trims and their cost."""

    def __init__(self, every: float = TRIM_EVERY_S) -> None:
        self.every = every
        self.trims = 0
        self.longest_s = 0.0
        self._libc = _glibc()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> "MemoryTrimmer":
        if self._libc is not None:
            self._thread = threading.Thread(target=self._run, name="memory-trim", daemon=True)
            self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            t = time.perf_counter()
            self._libc.malloc_trim(0)
            took = time.perf_counter() - t
            self.trims += 1
            self.longest_s = max(self.longest_s, took)
            log.debug("malloc_trim took %.1f ms", took * 1000)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
