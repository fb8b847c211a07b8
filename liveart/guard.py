"""Scene faults never stop the picture: a scene that raises or goes non-finite is reset and the
frame passes through for that tick; one that keeps raising is switched off with a notice.

The engine guards its scene with one `SceneGuard`; a chain guards each stage, so in
`dream+style` a broken style leaves the dream running. CUDA out-of-memory is not handled here
(it is re-raised): the engine answers it by lowering the internal resolution.
"""
from __future__ import annotations

import logging
import time
from typing import Callable

import torch

from .frames import all_finite

log = logging.getLogger(__name__)

MAX_FAILURES = 3  # consecutive failing ticks before a scene is switched off
LOG_EVERY_S = 5.0


class SceneGuard:
    def __init__(self, name: str):
        self.name = name
        self.failures = 0      # consecutive
        self.errors = 0        # in all
        self.nonfinite = 0     # ticks whose output held NaN/Inf
        self.disabled = False
        self.notice: str | None = None
        self._last_log = 0.0

    def run(self, scene, frame: torch.Tensor, call: Callable[[], torch.Tensor]) -> torch.Tensor:
        """`call()` runs the scene on `frame`; returns its output, or `frame` when it failed."""
        if self.disabled:
            return frame
        try:
            out = call()
        except torch.cuda.OutOfMemoryError:
            raise
        except Exception as e:  # noqa: BLE001 - any scene bug: the show goes on
            return self._failed(scene, frame, e)
        if not all_finite(out):  # NaN/Inf would live on in feedback state
            self.nonfinite += 1
            self._log(logging.WARNING, "scene %s produced NaN/Inf; reset it", self.name)
            _reset(scene)
            return frame
        self.failures = 0
        return out

    def _failed(self, scene, frame: torch.Tensor, e: Exception) -> torch.Tensor:
        self.errors += 1
        self.failures += 1
        self._log(logging.ERROR, "scene %s failed (%d in a row): %s", self.name, self.failures,
                  e, exc_info=True)
        _reset(scene)
        if self.failures >= MAX_FAILURES:
            self.disabled = True
            first = str(e).splitlines()[0] if str(e) else type(e).__name__
            self.notice = f"Scene {self.name} switched off after {self.failures} errors: {first}"
            log.error("%s; the rest of the show goes on (choose a scene to try again).", self.notice)
        return frame

    def _log(self, level: int, msg: str, *args, exc_info: bool = False) -> None:
        now = time.monotonic()
        if now - self._last_log >= LOG_EVERY_S or level >= logging.ERROR and self.failures >= MAX_FAILURES:
            self._last_log = now
            log.log(level, msg, *args, exc_info=exc_info)


def _reset(scene) -> None:
    try:
        scene.reset()
    except Exception:  # noqa: BLE001 - a reset that fails too is one more reason to switch off
        log.debug("reset of %s failed", getattr(scene, "name", scene), exc_info=True)
