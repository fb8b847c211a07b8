"""The tick loop: newest source frame -> tensor -> scene -> upscale -> latest-output slot.

The render thread never waits for the window and the window never waits for inference: they
meet only in latest-only slots. Each tick takes one parameter snapshot.

In the running loops (`start()`, `run_frames()`) the compose of a tick (upscale of the change,
the add, the outputs' sinks) runs in a compose thread while the next tick's scene runs:
OpenCV and torch release the GIL, so on a 2-core CPU it takes the core torch leaves free
(liveart.cpu_threads) instead of sitting between two network passes. One compose is in flight
at most, so outputs stay in order and nothing queues up. `tick()` alone stays synchronous.
"""
from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import cv2
import numpy as np
import torch

from .frames import compose_change, compose_change_on_device, to_tensor
from .guard import SceneGuard
from .params import ParamStore, Snapshot
from .scenes.base import Scene
from .slots import LatestSlot
from .sources import Source
from .stats import StageStats

log = logging.getLogger(__name__)

OOM_STEP = 0.75        # out of GPU memory: the internal size shrinks by this factor per step
MIN_SIZE = (64, 36)
TRIAL_TICKS = 2       # a reloaded scene file runs this many ticks before it takes over
CLIMB_AFTER_S = 60.0   # this long without running out again: try one step larger
PAUSE_SOURCE_AFTER_S = 3.0  # dark (schedule) this long: the source stops capturing until light
DARK_TICK_S = 0.1      # outside an installation's schedule: black frames at about 10 fps


@dataclass(frozen=True)
class Output:
    image: np.ndarray  # uint8 HxWx3 RGB at the output size
    seq: int


class Engine:
    def __init__(self, source: Source, scene: Scene, store: ParamStore, device: torch.device,
                 size: tuple[int, int], output_size: tuple[int, int] | None = None,
                 scene_factory: Callable[[str], Scene] | None = None):
        self.source = source
        self.scene = scene
        self.store = store
        self.device = device
        self.size = size  # internal processing size (w, h); lowered when CUDA runs out of memory
        self.requested_size = size
        self.guard = SceneGuard(scene.name)
        self.size_notice: str | None = None
        self._last_oom = 0.0
        self.output_size = output_size  # None: the source frame's own size
        self.out_slot: LatestSlot[Output] = LatestSlot()
        self.stats = StageStats()
        self.frozen = False
        # called with each output, in order, from one thread (the compose thread when running)
        self.sinks: list[Callable[[Output], None]] = []
        self.last_snap: Snapshot | None = None
        self.load_notice: str | None = None  # a scene file's new version refused, and why
        self.scene_spec = scene.name  # what --scene / /liveart/scene asked for last
        self._last_input: tuple | None = None  # (source frame key, image, tensor): see _input
        self._input_lock = threading.Lock()  # _input runs in the tick and in the source's thread
        # running (start() / run_frames): a camera frame that arrives while the scene runs is
        # resized and uploaded then, in the source's thread, so the next tick finds it ready
        self.prefetch_input = True
        self._composer: ThreadPoolExecutor | None = None
        self._composing: Future | None = None
        # CUDA: upscale and add on the device, one download; CPU: OpenCV on the host
        self._compose = compose_change_on_device if device.type == "cuda" else compose_change
        self.errors = 0
        self.scene_factory = scene_factory
        self._next_scene: Scene | None = None
        self._seq = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_error_log = 0.0
        # Installations: `dimmer()` gives the schedule's level 0..1 each tick (None: always 1).
        # At 0 the scene is not run and the output is black (from one buffer per size).
        self.dimmer: Callable[[], float] | None = None
        self.dark = False
        self._dark_since: float | None = None
        self._black: np.ndarray | None = None
        # Called on every pass of the frame loop (start() or run_frames), e.g. the systemd
        # watchdog ping: a loop stuck inside a tick stops calling them.
        self.loop_hooks: list[Callable[[], None]] = []
        # The window loop's last pass (time.monotonic()), None when no window presents: the
        # watchdog pings only while the picture also reaches the screen (installation.py).
        self.presenter_beat: float | None = None

    # -- one tick ----------------------------------------------------------------------------
    def tick(self) -> Output | None:
        """Run one tick now; returns the output, or None when the source has no frame yet."""
        return self._tick(overlap=False)

    def _tick(self, overlap: bool) -> Output | Future | None:
        """One tick; with `overlap` its compose is handed to the compose thread (the Future of
        its Output is returned), else done here."""
        t0 = time.perf_counter()
        if self._next_scene is not None:  # a scene built in the background is ready
            self.scene, self._next_scene = self._next_scene, None
            self.store.adopt_registry()  # the parameters its file declares, and no others
            self.guard = SceneGuard(self.scene.name)
        snap = self.store.snapshot()
        self.last_snap = snap  # the HUD's modulator meters and tempo
        frame = self.source.latest()
        if frame is None:
            return None
        level = 1.0 if self.dimmer is None else min(1.0, max(0.0, float(self.dimmer())))
        self.dark = level <= 0.0
        self._follow_dark()
        if self.dark:
            self.wait_composed()
            return self._emit(self._black_frame(frame.image))
        t1 = time.perf_counter()
        image, x = self._input(frame)
        t2 = time.perf_counter()
        y = self._process(x, snap)
        if self.device.type == "cuda":
            torch.cuda.synchronize()  # so the scene's time is not billed to the upscale
        t3 = time.perf_counter()
        for name, a, b in (("capture", t0, t1), ("to_device", t1, t2), ("scene", t2, t3)):
            self.stats.add(name, (b - a) * 1000.0)
        change = y - x  # taken here: the scene may reuse its tensors in the next tick
        if not overlap:
            return self._compose_and_emit(image, change, level)
        self.wait_composed()
        if self._composer is None:
            self._composer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="compose")
        self._composing = self._composer.submit(self._compose_and_emit, image, change, level)
        return self._composing

    def _frame_arrived(self, frame) -> None:
        """The source's hook, in its own thread: convert the new frame now, while the scene runs,
        so the next tick finds it ready instead of resizing and uploading it itself, and let
        the scene do its own work on it ahead (Scene.frame_arrived)."""
        if self.dark or self.frozen:
            return
        try:
            self.scene.frame_arrived(self._input(frame)[1])
        except Exception:  # noqa: BLE001 - the tick does it again, and says what is wrong
            log.debug("preparing a frame ahead failed", exc_info=True)

    def _hook_source(self, on: bool) -> None:
        if on and self.prefetch_input:
            self.source.on_frame = self._frame_arrived
        elif getattr(self.source, "on_frame", None) == self._frame_arrived:
            self.source.on_frame = None

    def _input(self, frame) -> tuple[np.ndarray, torch.Tensor]:
        """The frame at the output size and as the scene's tensor; converted once per source
        frame (a 30 fps camera under a faster loop hands out each frame more than once, and
        scenes never change their input in place)."""
        key = (id(self.source), frame.seq, self.size, self.output_size, self.device)
        with self._input_lock:
            last = self._last_input
            if last is not None and last[0] == key:
                return last[1], last[2]
            image = frame.image
            if self.output_size and (image.shape[1], image.shape[0]) != self.output_size:
                image = cv2.resize(image, self.output_size, interpolation=cv2.INTER_AREA)
            x = to_tensor(image, self.size, self.device)
            self._last_input = (key, image, x)
            return image, x

    def _compose_and_emit(self, image: np.ndarray, change: torch.Tensor, level: float) -> Output:
        t3 = time.perf_counter()
        result = self._compose(image, change)
        self.stats.add("upscale", (time.perf_counter() - t3) * 1000.0)
        if level < 1.0:  # fading in or out at the schedule's edge
            cv2.convertScaleAbs(result, dst=result, alpha=level)
        return self._emit(result)

    def wait_composed(self) -> None:
        """Wait for the compose in flight, if any (its error, if it failed, is raised here)."""
        composing, self._composing = self._composing, None
        if composing is not None:
            composing.result()

    def _follow_dark(self) -> None:
        """Closed hours: after PAUSE_SOURCE_AFTER_S of black the source pauses (a camera lets
        go of its device); the first tick with light resumes it, as the fade-in begins."""
        if not hasattr(self.source, "pause"):
            return
        if not self.dark:
            self._dark_since = None
            if self.source.paused:
                self.source.resume()
                log.info("light again: source capturing")
            return
        now = time.monotonic()
        if self._dark_since is None:
            self._dark_since = now
        elif not self.source.paused and now - self._dark_since >= PAUSE_SOURCE_AFTER_S:
            self.source.pause()
            log.info("dark for %.0f s: source paused until the schedule opens again",
                     PAUSE_SOURCE_AFTER_S)

    def _emit(self, result: np.ndarray) -> Output:
        self.stats.tick()
        self._seq += 1
        out = Output(result, self._seq)
        self.out_slot.put(out)
        for sink in self.sinks:
            sink(out)
        return out

    def _black_frame(self, image: np.ndarray) -> np.ndarray:
        w, h = self.output_size or (image.shape[1], image.shape[0])
        if self._black is None or self._black.shape[:2] != (h, w):
            self._black = np.zeros((h, w, 3), np.uint8)
        return self._black

    @property
    def notice(self) -> str | None:
        """What the HUD's notice bar should say about the engine, if anything."""
        return (self.load_notice or self.guard.notice or getattr(self.scene, "notice", None)
                or self.size_notice)

    def _process(self, x: torch.Tensor, snap: Snapshot) -> torch.Tensor:
        try:
            y = self.guard.run(self.scene, x, lambda: self.scene.process(x, snap))
        except torch.cuda.OutOfMemoryError:
            self._out_of_memory()
            return x
        if self.size != self.requested_size and time.monotonic() - self._last_oom > CLIMB_AFTER_S:
            self._resize(_scaled(self.size, 1 / OOM_STEP, self.requested_size), "climbing back")
            self._last_oom = time.monotonic()  # one step per CLIMB_AFTER_S
        return y

    def _out_of_memory(self) -> None:
        self._last_oom = time.monotonic()
        if self.device.type == "cuda":
            torch.cuda.empty_cache()
        smaller = _scaled(self.size, OOM_STEP, self.requested_size)
        if smaller == self.size:
            log.error("out of GPU memory even at %dx%d; skipping ticks", *self.size)
            return
        self._resize(smaller, "out of GPU memory")

    def _resize(self, size: tuple[int, int], why: str) -> None:
        log.warning("%s: internal size %dx%d -> %dx%d", why, *self.size, *size)
        self.size = size
        self.size_notice = (None if size == self.requested_size else
                            f"Out of GPU memory: running at {size[0]}x{size[1]}")
        try:
            self.scene.reset()  # its feedback state has the old size
        except Exception:  # noqa: BLE001
            log.debug("scene reset after resize failed", exc_info=True)

    def request_scene(self, spec: str, trial: bool = False) -> None:
        """Change scene without stopping the show: the new one (models and all) is built in
        the background and takes over at the first tick after it is ready. `trial` (a scene
        file saved mid-show): it must also run TRIAL_TICKS on the current frame first; a
        version that fails to build or to run is refused, its error on the notice bar, and
        the running one goes on."""
        if self.scene_factory is None:
            raise RuntimeError("this engine has no scene factory")
        self.scene_spec = spec

        def build() -> None:
            try:
                scene = self.scene_factory(spec)
                # a scene file may declare parameters: the store adopts them when the scene
                # takes over (the running version still reads its own until then)
                from .params import REGISTRY

                snap = Snapshot({**{n: p.default for n, p in REGISTRY.items()
                                    if p.type != "trigger"}, **self.store.targets()})
                scene.prepare(snap)
                if trial and self._last_input is not None:
                    x = self._last_input[2].clone()
                    for _ in range(TRIAL_TICKS):
                        y = scene.process(x, snap)
                        if y.shape != x.shape or not bool(torch.isfinite(y).all()):
                            raise ValueError(f"its picture is {tuple(y.shape)} "
                                             f"{'and not finite' if y.shape == x.shape else ''}"
                                             f", not {tuple(x.shape)}")
            except Exception as e:  # e.g. VGG16 not installed: say so, keep the current scene
                where = _scene_file_error(e)
                log.warning("Can't switch to scene %s: %s%s", spec, where or e,
                            "; the running version goes on" if trial else "")
                if trial:
                    self.load_notice = f"{spec} not reloaded: {where or e}"
                return
            self.load_notice = None
            self._next_scene = scene
            log.info("scene %s ready", spec)

        threading.Thread(target=build, name="scene-loader", daemon=True).start()

    # -- the render thread -------------------------------------------------------------------
    def start(self) -> "Engine":
        self._thread = threading.Thread(target=self._run, name="engine", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10.0)
        if self._composer is not None:
            self._composer.shutdown(wait=True)

    def _run(self) -> None:
        self._hook_source(True)
        try:
            self._run_ticks()
        finally:
            self._hook_source(False)

    def _run_ticks(self) -> None:
        while not self._stop.is_set():
            for hook in self.loop_hooks:
                hook()
            if self.frozen:
                self.store.snapshot()  # keep smoothing time current; triggers wait for unfreeze
                self._stop.wait(0.01)
                continue
            try:
                if self._tick(overlap=True) is None:
                    self._stop.wait(0.005)
                elif self.dark:  # nothing to compute: black, at a low rate
                    self._stop.wait(DARK_TICK_S)
            except Exception:
                # A bad tick must not end the show: log (at most every 5 s) and go on.
                self.errors += 1
                now = time.monotonic()
                if now - self._last_error_log > 5.0:
                    self._last_error_log = now
                    log.exception("tick failed (%d so far); the show goes on", self.errors)
                self.scene.reset()
                self._stop.wait(0.05)

    def run_frames(self, frames: int | None = None, seconds: float | None = None) -> None:
        """Headless: tick in the calling thread until `frames` outputs or `seconds` elapsed
        (every output emitted when it returns)."""
        end = None if seconds is None else time.monotonic() + seconds
        outputs = self.stats.frames  # emitted, plus the one whose compose is in flight
        self._hook_source(True)
        try:
            while not self._stop.is_set():
                for hook in self.loop_hooks:
                    hook()
                if frames is not None and outputs >= frames:
                    return
                if end is not None and time.monotonic() >= end:
                    return
                if self._tick(overlap=True) is None:
                    time.sleep(0.005)
                    continue
                outputs += 1
                if self.dark:
                    self._stop.wait(DARK_TICK_S)
        finally:
            self._hook_source(False)
            self.wait_composed()


def _scene_file_error(e: Exception) -> str | None:
    """'mine.py:12: NameError: ...' when `e` came from running a scene file, else None."""
    import traceback

    folder = _user_scenes_dir()
    for frame in reversed(traceback.extract_tb(e.__traceback__)):
        if Path(frame.filename).resolve().parent == folder:
            return f"{Path(frame.filename).name}:{frame.lineno}: {type(e).__name__}: {e}"
    return None


def _user_scenes_dir() -> Path:
    from .params.scenefiles import scenes_dir

    return scenes_dir().resolve()


def _scaled(size: tuple[int, int], factor: float, ceiling: tuple[int, int]) -> tuple[int, int]:
    """`size` times `factor` in both directions (even numbers, aspect kept), within MIN_SIZE and
    `ceiling` (the size the user asked for)."""
    w = max(MIN_SIZE[0], min(ceiling[0], int(round(size[0] * factor / 2)) * 2))
    h = max(MIN_SIZE[1], min(ceiling[1], int(round(size[1] * factor / 2)) * 2))
    return (w, h)
