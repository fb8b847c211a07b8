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
              size: tuple[int, int], seconds: float, warmup: float, seed: int = 0,
              source: SyntheticSource | None = None) -> dict:
    """The engine on `source` (default: a synthetic 1280x720 one of its own) for `seconds`."""
    own = source is None
    if own:
        source = SyntheticSource(1280, 720, seed=seed).start()
    engine = Engine(source, scene, store, device, size)
    try:
        engine.run_frames(seconds=warmup)
        engine.stats = type(engine.stats)()  # measure from here, after warm-up
        t0 = time.monotonic()
        engine.run_frames(seconds=seconds)
        elapsed = time.monotonic() - t0
    finally:
        if own:
            source.stop()
    frames = engine.stats.frames
    stages = engine.stats.percentiles()
    fps = round(frames / elapsed, 2) if elapsed > 0 else 0.0
    scene_p50 = stages.get("scene", {}).get("p50_ms", 0.0)
    return {
        "scene": scene.name,
        "device": str(device) + (" fp16" if half else ""),
        "size": f"{size[0]}x{size[1]}",
        "frames": frames,
        "fps": fps,
        "stages": stages,
        # how close the whole loop comes to the scene alone (1.0: nothing else on the
        # critical path); the dream cycles its octaves, so its mean tick exceeds its p50
        "fps_vs_scene_p50": round(fps * scene_p50 / 1000.0, 3),
    }


def run_compare_smooth(scene: Scene, store: ParamStore, device: torch.device, half: bool,
                       size: tuple[int, int], seconds: float, warmup: float, seed: int = 0,
                       rounds: int = 4) -> dict:
    """The style scene with style.smooth as set (default 0.5) and at 0, in alternating rounds
    on one source: what the temporal smoothing costs per tick, as a ratio of the same run."""
    if scene.name != "style":
        raise UserError("--compare smooth compares the style scene: use --scene style.")
    amount = store.get("style.smooth")
    if amount <= 0:
        raise UserError("--compare smooth needs style.smooth above 0 (it is compared with 0).")
    frames = SyntheticSource(1280, 720, seed=seed).start()
    smoothed, plain = [], []
    try:
        for i in range(rounds):
            for value, into in ((amount, smoothed), (0.0, plain)):
                store.set("style.smooth", value, immediate=True)
                result = run_bench(scene, store, device, half, size, seconds / rounds / 2,
                                   warmup if i == 0 else 0.5, seed, source=frames)
                into.append(result["stages"]["scene"]["p50_ms"])
    finally:
        store.set("style.smooth", amount, immediate=True)
        frames.stop()
    on, off = statistics.median(smoothed), statistics.median(plain)
    return {"scene": scene.name, "device": str(device) + (" fp16" if half else ""),
            "size": f"{size[0]}x{size[1]}", "rounds": rounds, "smooth": amount,
            "smoothed_p50_ms": [round(v, 2) for v in smoothed],
            "unsmoothed_p50_ms": [round(v, 2) for v in plain],
            "cost": round(on / off, 3) if off > 0 else 0.0}


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
            # the same source feeds both sides: its thread costs each of them the same
            result = run_bench(scene, store, device, half, size, seconds / rounds,
                               warmup if i == 0 else 0.5, seed, source=frames)
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
