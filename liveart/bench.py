"""`liveart bench`: the real engine, headless, on the synthetic source; with `--compare
reference`, side by side with the plain reference dream step (liveart/bench_reference.py) in
alternating rounds of the same run, so the ratio holds on a noisy machine."""
from __future__ import annotations

import statistics
import time

import torch

from .engine import Engine
from .errors import UserError
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


def run_compare_reference(scene: Scene, store: ParamStore, device: torch.device, half: bool,
                          size: tuple[int, int], seconds: float, warmup: float, seed: int = 0,
                          rounds: int = 4) -> dict:
    """The dream scene and the reference step in `rounds` alternating rounds of seconds/rounds
    each: their per-tick p50 (ms) per round, the medians over the rounds, and the speed-up."""
    from .bench_reference import ReferenceDream
    from .frames import to_tensor

    if scene.name != "dream":
        raise UserError("--compare reference compares the dream scene: use --scene dream.")
    reference = ReferenceDream(device, seed=seed)
    frames = SyntheticSource(1280, 720, seed=seed).start()
    try:
        def reference_p50(duration: float) -> float:
            times, end = [], time.monotonic() + duration
            while time.monotonic() < end or not times:
                frame = frames.latest()
                if frame is None:
                    time.sleep(0.01)
                    continue
                x = to_tensor(frame.image, size, device)
                t = time.perf_counter()
                reference.process(x)
                if device.type == "cuda":
                    torch.cuda.synchronize()
                times.append((time.perf_counter() - t) * 1000.0)
            return statistics.median(times)

        reference_p50(warmup)
        ours, theirs, fps = [], [], []
        for i in range(rounds):
            result = run_bench(scene, store, device, half, size, seconds / rounds,
                               warmup if i == 0 else 0.5, seed)
            ours.append(result["stages"]["scene"]["p50_ms"])
            fps.append(result["fps"])
            theirs.append(reference_p50(seconds / rounds))
    finally:
        frames.stop()
    scene_ms, ref_ms = statistics.median(ours), statistics.median(theirs)
    return {"scene": scene.name, "device": str(device) + (" fp16" if half else ""),
            "size": f"{size[0]}x{size[1]}", "rounds": rounds,
            "scene_p50_ms": [round(v, 2) for v in ours], "reference_p50_ms": [round(v, 2) for v in theirs],
            "fps": [round(v, 2) for v in fps],
            "speedup": round(ref_ms / scene_ms, 3) if scene_ms > 0 else 0.0}
