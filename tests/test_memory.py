"""glibc's allocator for long shows: the arena cap takes, and a trim hands freed heap pages back
(measured on this process's own RSS)."""
import ctypes
import time

import pytest

from liveart import memory
from liveart.health import rss_mb

glibc = memory._glibc()
pytestmark = pytest.mark.skipif(glibc is None, reason="not glibc: the knobs do nothing there")


def scatter_holes(blocks=3000, size=64 * 1024):
    """Fill the heap with 64 kB blocks (under the mmap threshold), free nine in ten and keep
    every tenth, so the heap cannot shrink from the top: freed pages stay in RSS."""
    glibc.malloc.restype = ctypes.c_void_p
    glibc.malloc.argtypes = [ctypes.c_size_t]
    glibc.free.argtypes = [ctypes.c_void_p]
    ptrs = [glibc.malloc(size) for _ in range(blocks)]
    for p in ptrs:
        ctypes.memset(p, 1, size)  # touch every page
    kept = []
    for i, p in enumerate(ptrs):
        (kept.append if i % 10 == 0 else glibc.free)(p)
    return kept


def test_a_trim_hands_freed_heap_pages_back():
    memory.trim()
    kept = scatter_holes()
    try:
        before = rss_mb()
        memory.trim()
        after = rss_mb()
        assert before - after > 100, f"RSS {before:.0f} -> {after:.0f} MB"  # ~170 MB were freed
    finally:
        for p in kept:
            glibc.free(p)


def test_the_trimmer_trims_on_its_own_thread():
    trimmer = memory.MemoryTrimmer(every=0.05).start()
    try:
        end = time.monotonic() + 5
        while trimmer.trims < 3:
            assert time.monotonic() < end
            time.sleep(0.01)
    finally:
        trimmer.stop()
    assert 0 < trimmer.longest_s < 1.0
    n = trimmer.trims
    time.sleep(0.2)
    assert trimmer.trims == n  # stopped means stopped


def test_the_arena_cap_takes():
    assert memory.limit_arenas(memory.ARENAS) is True
