"""`liveart bench`: the real engine, headless, on the synthetic source."""
from __future__ import annotations

import time

import torch

from .engine import Engine
from .params import ParamStore
from .scenes.base import Scene
from .sources.synthetic import SyntheticSource


def run_bench(scene: Scene, store: ParamStore, device: torch.device, half: bool,
              size: tuple[int, int], seconds: float, warmup: float, seed: int = 0) -> dict:
    source = SyntheticSource(1280, 720, seed=seed).start()
    engine = Engine(source, scene, store, device, size)
    try:
        engine.run_frames(seconds=warmup)
        engine.stats = type(engine.stats)()  # measure from here, after warm-up
        t0 = time.monotonic()
        engine.run_frames(seconds=seconds)
        elapsed = time.monotonic() - t0
    finally:
        source.stop()
    frames = engine.stats.frames
    return {
        "scene": scene.name,
        "device": str(device) + (" fp16" if half else ""),
        "size": f"{size[0]}x{size[1]}",
        "frames": frames,
        "fps": round(frames / elapsed, 2) if elapsed > 0 else 0.0,
        "stages": engine.stats.percentiles(),
    }
