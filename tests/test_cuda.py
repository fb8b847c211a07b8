"""The CUDA path on a real GPU: the dream (fp16 and fp32), the style network in fp16 (eager and
traced), the dream+style chain in the engine, the out-of-memory step-down with a real
allocation, and compose_on_device.

Every test is marked `cuda` and skipped where torch sees no CUDA device, so the suite passes on
CPU-only machines. On a GPU: `python -m pytest -m cuda tests/test_cuda.py -q` (or
benchmarks/gpu_check.sh, which also runs the benchmarks).
"""
from __future__ import annotations

import time

import cv2
import numpy as np
import pytest
import torch

from liveart import engine as engine_module
from liveart.engine import MIN_SIZE, OOM_STEP, Engine
from liveart.frames import compose, compose_on_device, to_tensor
from liveart.models import load_backbone
from liveart.params import ParamStore
from liveart.scenes import create_scene
from liveart.scenes.base import Scene
from liveart.scenes.chain import ChainScene
from liveart.scenes.dream import DreamScene
from liveart.scenes.style import StyleScene
from liveart.sources import open_source

from .engine_helpers import run_ticks as shared_run_ticks

pytestmark = [pytest.mark.cuda,
              pytest.mark.skipif(not torch.cuda.is_available(),
                                 reason="needs a CUDA GPU (torch.cuda.is_available() is False)")]

SIZE = (640, 360)  # the CUDA default internal size (liveart.device.DEFAULT_SIZE)
LAYER = "blocks.10"


@pytest.fixture(scope="module")
def gpu() -> torch.device:
    return torch.device("cuda")


@pytest.fixture
def x_cpu(cat, to_x) -> torch.Tensor:
    return to_x(cat, SIZE)


def mad(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a.float().cpu() - b.float().cpu()).abs().mean())


def energy(model, x: torch.Tensor) -> float:
    """The dream's objective (mean squared activation of blocks.10) of `x`, in fp32."""
    with torch.no_grad():
        act = model.forward_taps(x.to(memory_format=torch.channels_last), {LAYER})[LAYER]
        return float(act.float().pow(2).mean())


def run_ticks(engine: Engine, n: int, timeout: float = 60.0) -> list:
    return shared_run_ticks(engine, n, timeout)


@pytest.fixture
def synthetic():
    src = open_source("synthetic", size=(1280, 720), seed=1)
    src.start()
    yield src
    src.stop()


# -- 1. the dream ------------------------------------------------------------------------------
@pytest.mark.parametrize("half", [True, False], ids=["fp16", "fp32"])
def test_dream_ticks_on_cuda(half, gpu, x_cpu, store):
    scene = DreamScene(gpu, half=half)
    assert next(scene.model.parameters()).device.type == "cuda"
    assert next(scene.model.parameters()).dtype == (torch.float16 if half else torch.float32)
    store.update({"dream.layer": LAYER}, immediate=True)  # the live defaults otherwise
    x = x_cpu.to(gpu)
    y = x
    for tick in range(12):  # three rounds of the 4 octaves, coarse to fine
        y = scene.process(x, store.snapshot())
        assert y.shape == x.shape and y.dtype == torch.float32 and y.device.type == "cuda"
        assert bool(torch.isfinite(y).all()), f"tick {tick}: non-finite output"
        assert 0.0 <= float(y.min()) and float(y.max()) <= 1.0
    change = mad(y, x)
    reference = load_backbone("efficientnet_lite0", torch.device("cpu"))  # fp32, on the CPU
    before, after = energy(reference, x_cpu), energy(reference, y.cpu())
    print(f"cuda {'fp16' if half else 'fp32'}: 12 ticks: mean change {change:.4f}, "
          f"blocks.10 energy {before:.2f} -> {after:.2f}")
    assert change > 0.01, f"the dream hardly changed the picture: mean change {change:.4f}"
    assert after > 1.2 * before, f"energy {before:.2f} -> {after:.2f} (mean change {change:.4f})"
    assert float(scene.last_energy) > 0 and np.isfinite(float(scene.last_energy))


def test_dream_labels_on_cuda_in_fp16(gpu, cat, to_x, store):
    """The HUD's labels come from a classification in a thread of its own; on CUDA in fp16
    they still name the cat (as tests/scenes/test_dream.py checks on the CPU in fp32)."""
    scene = DreamScene(gpu, half=True)
    x, snap = to_x(cat, (320, 224)).to(gpu), store.snapshot()
    scene.process(x, snap)  # tick 0 hands the frame to the classifying thread
    end = time.monotonic() + 30
    while not scene.labels() and time.monotonic() < end:
        time.sleep(0.05)
        scene.process(x, snap)  # picks the finished classification up
    labels = scene.labels()
    assert len(labels) == 3, f"no labels after 30 s: {labels}"
    assert all(0.0 < p <= 1.0 for _, p in labels), labels
    assert labels[0][0] in ("tabby cat", "tiger cat", "Egyptian Mau"), labels


# -- 2. the style network ----------------------------------------------------------------------
def test_style_fp16_on_cuda_matches_fp32_on_cpu(gpu, x_cpu):
    snap = ParamStore({"style.smooth": 0.0}).snapshot()
    half = StyleScene(gpu, half=True)
    assert half.dtype == half.net.w0.dtype == torch.float16 and half.net.w0.device.type == "cuda"
    y16 = half.process(x_cpu.to(gpu), snap)
    assert y16.dtype == torch.float32 and y16.device.type == "cuda"
    assert bool(torch.isfinite(y16).all())
    y32 = StyleScene(torch.device("cpu"), dtype=torch.float32).process(x_cpu, snap)
    err = (y16.cpu() - y32).abs()
    print(f"style cuda fp16 vs cpu fp32 at {SIZE[0]}x{SIZE[1]}: mean {float(err.mean()):.5f}, "
          f"max {float(err.max()):.4f}")
    assert float(err.mean()) < 0.02, f"mean {float(err.mean()):.5f}, max {float(err.max()):.4f}"
    assert mad(y16, x_cpu) > 0.05  # it painted


def test_style_traced_core_runs_on_cuda(gpu, x_cpu):
    """Outside pytest the scene traces the network in the background and switches to the
    trace: on CUDA that trace must be the one that runs, and agree with the eager network."""
    snap = ParamStore({"style.smooth": 0.0}).snapshot()
    scene = StyleScene(gpu, half=True)
    x = x_cpu.to(gpu)
    eager = scene.process(x, snap)
    scene.net.trace_async(gpu, scene.dtype, block=True)
    assert scene.net.traced(gpu, scene.dtype), "tracing the style network failed on CUDA"
    core = scene.net._core

    def no_eager(*args, **kwargs):
        raise AssertionError("the eager network ran although a trace for this device is ready")

    scene.net._core = no_eager
    try:
        traced = scene.process(x, snap)
    finally:
        scene.net._core = core
    assert bool(torch.isfinite(traced).all())
    assert mad(traced, eager) < 0.002, f"trace vs eager: mean {mad(traced, eager):.5f}"


# -- 3. a chain --------------------------------------------------------------------------------
def test_dream_plus_style_chain_runs_on_cuda(gpu, synthetic):
    """Built the way `liveart bench --scene dream+style --device cuda` builds it (cli._prepare:
    create_scene with half=use_half(device), then prepare), run by the engine."""
    from liveart.device import use_half

    store = ParamStore()
    scene = create_scene("dream+style", gpu, half=use_half(gpu))
    scene.prepare(store.snapshot())
    assert isinstance(scene, ChainScene) and [s.name for s in scene.scenes] == ["dream", "style"]
    assert all(s.device.type == "cuda" and s.half for s in scene.scenes)
    engine = Engine(synthetic, scene, store, gpu, SIZE)
    outs = run_ticks(engine, 12)
    assert [o.seq for o in outs] == list(range(1, 13))
    assert all(o.image.shape == (720, 1280, 3) and o.image.dtype == np.uint8 for o in outs)
    for guard in scene.guards:  # a stage that raised would have passed its input on silently
        assert guard.errors == 0 and guard.nonfinite == 0 and not guard.disabled, (
            f"stage {guard.name}: {guard.errors} errors, {guard.nonfinite} non-finite, notice {guard.notice}")
    assert engine.guard.errors == 0 and engine.errors == 0 and engine.size == SIZE
    # the chain changes the picture, and the style stage changes the dream's
    x = to_tensor(outs[-1].image, SIZE, gpu)
    snap = store.snapshot()
    dreamed = scene.scenes[0].process(x, snap)
    chained = scene.process(x, snap)
    assert bool(torch.isfinite(chained).all())
    assert mad(chained, x) > 0.05 and mad(chained, dreamed) > 0.05
    assert engine.stats.percentiles()["scene"]["p50_ms"] > 0


# -- 4. out of GPU memory, for real --------------------------------------------------------------
class HugeAbove(Scene):
    """A dream that needs more memory than the GPU has above `limit` pixels wide: it really
    asks the allocator for more than the card's total (torch raises OutOfMemoryError), and
    below the limit really allocates a 256 MiB working buffer and dreams."""

    name = "huge"

    def __init__(self, device: torch.device, limit: int):
        super().__init__(device, half=True)
        self.limit = limit
        self.dream = DreamScene(device, half=True)
        self.total = torch.cuda.mem_get_info(device)[1]
        self.widths: list[int] = []
        self.ooms: list[str] = []
        self.resets = 0
        self.allocated_too_much = False

    def process(self, frame, snap):
        self.widths.append(frame.shape[-1])
        if frame.shape[-1] > self.limit:
            try:
                torch.empty(self.total + (1 << 30), dtype=torch.uint8, device=frame.device)
            except torch.cuda.OutOfMemoryError as e:
                self.ooms.append(str(e).splitlines()[0])
                raise
            self.allocated_too_much = True  # the card gave more than it has: the test fails
        work = torch.empty(256 << 20, dtype=torch.uint8, device=frame.device).fill_(1)
        out = self.dream.process(frame, snap)
        assert int(work[-1]) == 1
        return out

    def reset(self):
        self.resets += 1
        self.dream.reset()


def test_real_out_of_memory_steps_the_size_down_and_keeps_ticking(gpu, synthetic, monkeypatch):
    scene = HugeAbove(gpu, limit=400)
    engine = Engine(synthetic, scene, ParamStore(), gpu, SIZE)
    torch.cuda.synchronize()
    baseline = torch.cuda.memory_allocated(gpu)
    outs = run_ticks(engine, 8)
    assert not scene.allocated_too_much, f"allocating {scene.total + (1 << 30)} bytes succeeded"
    assert [o.seq for o in outs] == list(range(1, 9)), "a tick was lost"
    assert all(o.image.shape == (720, 1280, 3) for o in outs)  # the output keeps its size
    # 640 -> 480 -> 360 (each OOM_STEP = 0.75 of the last); at 360 wide it fits and dreams on
    step1 = engine_module._scaled(SIZE, OOM_STEP, SIZE)
    step2 = engine_module._scaled(step1, OOM_STEP, SIZE)
    assert (step1, step2) == ((480, 270), (360, 202)) and min(step2) >= min(MIN_SIZE)
    assert scene.widths[:3] == [640, 480, 360], scene.widths
    assert len(scene.ooms) == 2 and all("out of memory" in m.lower() for m in scene.ooms), scene.ooms
    assert engine.size == step2 and engine.notice == "Out of GPU memory: running at 360x202"
    assert scene.resets >= 2  # each resize resets the scene (its state has the old size)
    assert engine.errors == 0 and engine.guard.errors == 0 and not engine.guard.disabled
    assert scene.widths[2:] == [360] * (len(scene.widths) - 2)  # then it stays there and dreams
    torch.cuda.synchronize()
    leaked = torch.cuda.memory_allocated(gpu) - baseline
    assert leaked < (512 << 20), f"{leaked / 2**20:.0f} MiB still allocated after the failed requests"
    # memory freed elsewhere: after CLIMB_AFTER_S it climbs back one step per interval
    scene.limit = 10_000
    monkeypatch.setattr(engine_module, "CLIMB_AFTER_S", 0.0)
    run_ticks(engine, 4)
    assert engine.size == SIZE and engine.notice is None
    assert scene.widths[-1] == SIZE[0]


# -- 5. compose on the device --------------------------------------------------------------------
@pytest.mark.parametrize("out_size, size", [((1280, 720), (640, 360)), ((1920, 1080), (1280, 720)),
                                             ((451, 300), (256, 144))],
                         ids=lambda s: f"{s[0]}x{s[1]}")
def test_compose_on_device_on_cuda_matches_cpu_compose(gpu, cat, out_size, size):
    image = cv2.resize(cat, out_size, interpolation=cv2.INTER_AREA)
    x = to_tensor(image, size, gpu)
    g = torch.Generator(device="cuda").manual_seed(0)
    y = (x + 0.2 * torch.randn(x.shape, device=gpu, generator=g)).clamp(0.0, 1.0)
    on_gpu = compose_on_device(image, x, y)
    on_cpu = compose(image, x.cpu(), y.cpu())
    assert on_gpu.shape == image.shape and on_gpu.dtype == np.uint8
    d = np.abs(on_gpu.astype(np.int16) - on_cpu.astype(np.int16))
    assert int(d.max()) <= 1 and float((d > 0).mean()) < 0.01, (
        f"{size}->{out_size}: max {int(d.max())} levels, {float((d > 0).mean()):.2%} differ")
    # the page-locked upload buffer is reused per shape: a second, different frame of the same
    # shape gets its own picture, and the first result is not overwritten
    first = on_gpu.copy()
    image2 = np.ascontiguousarray(image[::-1])
    x2 = to_tensor(image2, size, gpu)
    on_gpu2 = compose_on_device(image2, x2, y)
    d2 = np.abs(on_gpu2.astype(np.int16) - compose(image2, x2.cpu(), y.cpu()).astype(np.int16))
    assert int(d2.max()) <= 1 and float((d2 > 0).mean()) < 0.01
    assert np.array_equal(on_gpu, first)
