"""Scene faults never stop the picture: raising, NaN, a broken chain stage, CUDA out of memory."""

import numpy as np
import pytest
import torch

from liveart import engine as engine_module
from liveart.engine import Engine
from liveart.guard import MAX_FAILURES
from liveart.params import ParamStore
from liveart.scenes.base import Scene
from liveart.scenes.chain import ChainScene
from liveart.sources import open_source

from .engine_helpers import run_ticks

CPU = torch.device("cpu")
SIZE = (128, 72)


class Brighten(Scene):
    name = "brighten"

    def process(self, frame, snap):
        return (frame + 0.25).clamp(0, 1)


class Broken(Scene):
    """Raises (or returns NaN) on the ticks in `bad`; counts resets."""
    name = "broken"

    def __init__(self, bad=lambda n: True, nan=False):
        super().__init__(CPU)
        self.bad, self.nan, self.calls, self.resets = bad, nan, 0, 0

    def process(self, frame, snap):
        self.calls += 1
        if self.bad(self.calls):
            if self.nan:
                return frame * float("nan")
            raise RuntimeError("kernel exploded")
        return (frame * 0.5).clamp(0, 1)

    def reset(self):
        self.resets += 1


class OutOfMemoryAbove(Scene):
    """Runs out of 'GPU memory' when the frame is wider than `limit`."""
    name = "oom"

    def __init__(self, limit):
        super().__init__(CPU)
        self.limit, self.widths = limit, []

    def process(self, frame, snap):
        self.widths.append(frame.shape[-1])
        if frame.shape[-1] > self.limit:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return frame


@pytest.fixture
def source():
    src = open_source("synthetic", size=(256, 144), seed=1)
    src.start()
    yield src
    src.stop()


def run(engine, n):
    return run_ticks(engine, n)


def test_a_scene_that_keeps_raising_is_switched_off_and_the_picture_goes_on(source):
    scene = Broken()
    engine = Engine(source, scene, ParamStore(), CPU, SIZE)
    outs = run(engine, 10)
    assert [o.seq for o in outs] == list(range(1, 11))  # a frame every tick, no gap
    assert scene.calls == MAX_FAILURES and scene.resets == MAX_FAILURES
    assert engine.guard.disabled and "broken" in engine.notice and "kernel exploded" in engine.notice


def test_one_failing_tick_is_forgiven(source):
    scene = Broken(bad=lambda n: n in (2, 5, 8))  # never MAX_FAILURES in a row
    engine = Engine(source, scene, ParamStore(), CPU, SIZE)
    run(engine, 12)
    assert not engine.guard.disabled and engine.notice is None and engine.guard.errors == 3


def test_nan_output_resets_the_scene_within_the_tick(source):
    scene = Broken(bad=lambda n: n == 3, nan=True)
    engine = Engine(source, scene, ParamStore(), CPU, SIZE)
    outs = run(engine, 6)
    assert all(np.isfinite(o.image).all() for o in outs)
    assert scene.resets == 1 and engine.guard.nonfinite == 1 and not engine.guard.disabled


def test_a_broken_stage_of_a_chain_leaves_the_others_running(source):
    broken = Broken()
    chain = ChainScene([Brighten(CPU), broken])
    engine = Engine(source, chain, ParamStore(), CPU, SIZE)
    run(engine, 6)
    x = torch.full((1, 3, 8, 8), 0.5)
    y = chain.process(x, ParamStore().snapshot())
    assert torch.allclose(y, torch.full_like(x, 0.75))  # brighten still runs, broken is skipped
    assert chain.guards[1].disabled and not chain.guards[0].disabled
    assert "broken" in engine.notice


def test_out_of_memory_lowers_the_internal_size_and_climbs_back(source, monkeypatch):
    scene = OutOfMemoryAbove(limit=80)
    engine = Engine(source, scene, ParamStore(), CPU, SIZE)
    outs = run(engine, 6)
    assert len(outs) == 6
    # 128 -> 96 -> 72: two steps down, then it fits
    assert scene.widths[:3] == [128, 96, 72] and engine.size == (72, 40)
    assert engine.notice == "Out of GPU memory: running at 72x40"
    scene.limit = 1000  # memory freed elsewhere: after CLIMB_AFTER_S it tries one step up
    monkeypatch.setattr(engine_module, "CLIMB_AFTER_S", 0.0)
    run(engine, 4)
    assert engine.size == SIZE and engine.notice is None
