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
    engine = getattr(scene, "gradient_engine", None)
    return {
        "scene": scene.name,
        "device": str(device) + (" fp16" if half else ""),
        **({"gradient": engine()} if engine else {}),
        "size": f"{size[0]}x{size[1]}",
        "frames": frames,
        "fps": fps,
        "stages": stages,
        # how close the whole loop comes to the scene alone (1.0: nothing else on the
        # critical path); the dream cycles its octaves, so its mean tick exceeds its p50
        "fps_vs_scene_p50": round(fps * scene_p50 / 1000.0, 3),
    }


def _alternating_rounds(scene: Scene, store: ParamStore, device: torch.device, half: bool,
                        size: tuple[int, int], seconds: float, warmup: float, seed: int,
                        rounds: int, sides: list) -> tuple[list[list[float]], list[set[str]]]:
    """The scene's p50 ms per tick for each side, in `rounds` rounds that take the sides in
    turn on one source (a side is a function that sets the scene up for its round), and for a
    dream, what made its gradient in each side's rounds."""
    frames = SyntheticSource(1280, 720, seed=seed).start()
    p50s: list[list[float]] = [[] for _ in sides]
    engines: list[set[str]] = [set() for _ in sides]
    try:
        for i in range(rounds):
            for k, side in enumerate(sides):
                side()
                result = run_bench(scene, store, device, half, size, seconds / rounds / len(sides),
                                   warmup if i == 0 else 0.5, seed, source=frames)
                p50s[k].append(result["stages"]["scene"]["p50_ms"])
                if "gradient" in result:
                    engines[k].add(result["gradient"])
    finally:
        frames.stop()
    return p50s, engines


def _ratio(a: list[float], b: list[float]) -> float:
    ma, mb = statistics.median(a), statistics.median(b)
    return round(ma / mb, 3) if mb > 0 else 0.0


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
    try:
        (smoothed, plain), _ = _alternating_rounds(
            scene, store, device, half, size, seconds, warmup, seed, rounds,
            [lambda: store.set("style.smooth", amount, immediate=True),
             lambda: store.set("style.smooth", 0.0, immediate=True)])
    finally:
        store.set("style.smooth", amount, immediate=True)
    return {"scene": scene.name, "device": str(device) + (" fp16" if half else ""),
            "size": f"{size[0]}x{size[1]}", "rounds": rounds, "smooth": amount,
            "smoothed_p50_ms": [round(v, 2) for v in smoothed],
            "unsmoothed_p50_ms": [round(v, 2) for v in plain],
            "cost": _ratio(smoothed, plain)}


def run_compare_autograd(scene: Scene, store: ParamStore, device: torch.device, half: bool,
                         size: tuple[int, int], seconds: float, warmup: float, seed: int = 0,
                         rounds: int = 4) -> dict:
    """The dream scene with its gradient from the ONNX Runtime graph and from torch's autograd,
    in alternating rounds on one source: what the graph gains per tick, in the same run."""
    if scene.name != "dream":
        raise UserError("--compare autograd compares the dream scene: use --scene dream.")
    snap = store.snapshot()
    scene.wait_for_graphs = True  # build it now, so both sides are what they say from the start
    try:
        graph = scene._graph_for(scene._layer(snap), scene._guide_for(snap["dream.guide"]))
    finally:
        scene.wait_for_graphs = False
    if graph is None:
        raise UserError("--compare autograd needs the ONNX Runtime gradient, which this dream "
                        "does not use here (it runs on the CPU in fp32, for EfficientNet-Lite0, "
                        f"without a class guide, and without {gradient_graph_env()}=torch).")

    def use(graphs: bool):
        return lambda: setattr(scene, "use_graphs", graphs)

    try:
        (graph, autograd), engines = _alternating_rounds(
            scene, store, device, half, size, seconds, warmup, seed, rounds, [use(True), use(False)])
    finally:
        scene.use_graphs = True
    return {"scene": scene.name, "device": str(device) + (" fp16" if half else ""),
            "size": f"{size[0]}x{size[1]}", "rounds": rounds,
            "graph_p50_ms": [round(v, 2) for v in graph],
            "autograd_p50_ms": [round(v, 2) for v in autograd],
            "gradients": [sorted(e) for e in engines],  # what each side's rounds ran on
            "speedup": _ratio(autograd, graph)}


def gradient_graph_env() -> str:
    from .models.gradient_graph import ENV

    return ENV


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
    return {"scene": scene.name, "device": str(device) + (" fp16" if half else ""),
            "size": f"{size[0]}x{size[1]}", "rounds": rounds, "gradient": scene.gradient_engine(),
            "scene_p50_ms": [round(v, 2) for v in ours], "reference_p50_ms": [round(v, 2) for v in theirs],
            "fps": [round(v, 2) for v in fps], "speedup": _ratio(theirs, ours)}
