"""How torch's worker threads share the CPU with the rest of the show and with other programs.

torch runs each operation on a team of OpenMP threads that meet at a barrier when it ends.
By default (GNU OpenMP, as in the Linux wheels) a thread that arrives first spins there,
waiting for the others. When another busy process (an encoder, OBS, a DAW) shares the cores,
the thread it waits for is often not running, so the spinning one burns the very core its
partner needs; a tick of a few hundred operations then takes seconds (measured on 2 cores
beside one busy loop: 0.2-1.2 fps, single ticks of 1.3-7.3 s; docs/benchmarks.md, "Sharing
the CPU"). Two settings answer it:

- OMP_WAIT_POLICY=PASSIVE: a waiting thread sleeps instead of spinning;
- OMP_NUM_THREADS = the cores minus one (at least 1): the show's other threads (window,
  camera, recorder) and neighbours keep a core, and on a 2-core machine torch runs on one
  thread with no barriers at all, which was also faster there with nothing else running.

OpenMP reads these once, when torch loads it, so `configure()` must run before the first
`import torch`; liveart calls it from its package `__init__`, the earliest point of both
`liveart ...` and `python -m liveart`. A variable the user has set is never changed.
"""
from __future__ import annotations

import os
import sys
from typing import MutableMapping

WAIT_POLICY = "PASSIVE"
# any of these set by the user means they chose the thread count: leave it to them
THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS")


def usable_cores() -> int:
    """Physical cores this process may run on (hyperthread siblings counted once), as torch
    counts them for its default thread count; falls back to the logical CPUs."""
    try:
        cpus = sorted(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1
    cores = set()
    for cpu in cpus:
        try:
            with open(f"/sys/devices/system/cpu/cpu{cpu}/topology/thread_siblings_list") as f:
                cores.add(f.read().strip())
        except OSError:
            cores.add(str(cpu))
    return max(1, len(cores))


def choices(environ: MutableMapping[str, str], cores: int) -> dict[str, str]:
    """What configure() sets in `environ`: only what the user has not set."""
    chosen: dict[str, str] = {}
    if not environ.get("OMP_WAIT_POLICY"):
        chosen["OMP_WAIT_POLICY"] = WAIT_POLICY
    if not any(environ.get(v) for v in THREAD_VARS):
        chosen["OMP_NUM_THREADS"] = str(max(1, cores - 1))
    return chosen


def configure(environ: MutableMapping[str, str] | None = None) -> dict[str, str]:
    """Set the thread variables in `environ` (default os.environ) that the user has not set,
    and return those set now. Safe to call more than once (later calls find them set).
    Once torch is imported it is too late for this process, so nothing is changed then."""
    if environ is None:
        if "torch" in sys.modules:
            return {}
        environ = os.environ
    chosen = choices(environ, usable_cores())
    environ.update(chosen)
    return chosen
