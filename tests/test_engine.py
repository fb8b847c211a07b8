"""The tick loop's pipeline: the compose of one tick runs beside the next tick's scene, outputs
stay in order and complete, and a source frame is converted once however often it is used."""
import threading
import time

import numpy as np
import pytest
import torch

from liveart import engine as engine_module
from liveart.engine import Engine
from liveart.params import ParamStore
from liveart.scenes.base import Scene
from liveart.sources import open_source
from liveart.sources.base import Source

CPU = torch.device("cpu")


class Slow(Scene):
    """Takes `ms` per tick and records the thread of each call."""
    name = "slow"

    def __init__(self, ms=15.0):
        super().__init__(CPU)
        self.ms, self.inputs = ms, []

    def process(self, frame, snap):
        self.inputs.append(frame)
        time.sleep(self.ms / 1000.0)
        return (frame * 0.5).clamp(0, 1)


@pytest.fixture
def source():
    src = open_source("synthetic", size=(640, 360), seed=2)
    src.start()
    yield src
    src.stop()


def test_compose_runs_beside_the_next_scene_and_outputs_stay_in_order(source, monkeypatch):
    scene = Slow(ms=15.0)
    engine = Engine(source, scene, ParamStore(), CPU, (128, 72))
    spans = {"compose": [], "scene": []}
    compose = engine._compose

    def slow_compose(image, change):  # a compose as long as the scene: overlap shows at once
        t = time.monotonic()
        time.sleep(0.015)
        out = compose(image, change)
        spans["compose"].append((t, time.monotonic(), threading.current_thread().name))
        return out

    process = scene.process

    def timed_process(frame, snap):
        t = time.monotonic()
        out = process(frame, snap)
        spans["scene"].append((t, time.monotonic()))
        return out

    engine._compose, scene.process = slow_compose, timed_process
    seen = []
    engine.sinks.append(lambda out: seen.append(out.seq))
    engine.run_frames(frames=12)
    assert seen == list(range(1, 13))  # every output, in order, all emitted on return
    assert engine.stats.frames == 12
    assert {name for *_, name in spans["compose"]} != {threading.current_thread().name}
    overlapped = sum(any(a < d and c < b for c, d in spans["scene"]) for a, b, _ in spans["compose"])
    assert overlapped >= 8, f"only {overlapped} of 12 composes ran while a scene ran"


def test_tick_alone_stays_synchronous(source):
    engine = Engine(source, Slow(ms=1.0), ParamStore(), CPU, (128, 72))
    out = None
    for _ in range(400):
        out = engine.tick()
        if out is not None:
            break
        time.sleep(0.005)
    assert out is not None and out.image.shape == (360, 640, 3) and engine._composing is None


def test_a_failing_compose_is_a_failed_tick_and_the_show_goes_on(source):
    engine = Engine(source, Slow(ms=1.0), ParamStore(), CPU, (128, 72))
    compose, calls = engine._compose, []

    def flaky(image, change):
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("encoder exploded")
        return compose(image, change)

    engine._compose = flaky
    engine.start()
    try:
        end = time.monotonic() + 20
        while engine.stats.frames < 10 and time.monotonic() < end:
            time.sleep(0.01)
    finally:
        engine.stop()
    assert engine.errors == 1 and engine.stats.frames >= 10


def test_a_source_frame_is_converted_once(source, monkeypatch):
    """Ticks faster than the camera reuse its frame: one resize and upload per source frame."""
    conversions = []
    to_tensor = engine_module.to_tensor
    monkeypatch.setattr(engine_module, "to_tensor",
                        lambda *a: conversions.append(1) or to_tensor(*a))
    scene = Slow(ms=1.0)
    engine = Engine(source, scene, ParamStore(), CPU, (128, 72))
    engine.run_frames(frames=30)  # ~30 ticks at ~300 fps on a 30 fps source
    frames_seen = len({id(x) for x in scene.inputs})
    # (one more when a frame came in just as the run ended: converted on arrival, never used)
    assert frames_seen <= len(conversions) <= frames_seen + 1 and frames_seen < 30
    same = [a is b for a, b in zip(scene.inputs, scene.inputs[1:])]
    assert any(same), "no tick reused its source frame"
    x = scene.inputs[-1]
    assert x.shape == (1, 3, 72, 128) and float(x.max()) <= 1.0 and np.isfinite(x.numpy()).all()


class ManualSource(Source):
    """Publishes only when told to (no thread)."""
    name = "manual"

    def _run(self):
        pass


def test_a_frame_is_converted_when_it_arrives_while_the_show_runs(monkeypatch):
    conversions = []
    to_tensor = engine_module.to_tensor
    monkeypatch.setattr(engine_module, "to_tensor",
                        lambda *a: conversions.append(1) or to_tensor(*a))
    source = ManualSource()
    hooked = []

    class Watch(Slow):
        def process(self, frame, snap):
            hooked.append(source.on_frame is not None)
            return super().process(frame, snap)

    engine = Engine(source, Watch(ms=1.0), ParamStore(), CPU, (64, 36))
    image = np.full((72, 128, 3), 100, np.uint8)
    source._publish(image)  # not running: nothing converts it yet
    assert conversions == []
    engine.run_frames(frames=3)
    assert hooked == [True] * 3 and source.on_frame is None  # hooked only while running
    assert len(conversions) == 1  # by the tick: it came before the run
    engine._hook_source(True)
    source._publish(image.copy())  # arrives while "the scene runs"
    assert len(conversions) == 2 and engine._last_input[0][1] == 2  # converted on arrival
    engine.tick()
    assert len(conversions) == 2  # the tick found it ready
    engine.prefetch_input = False
    engine._hook_source(False)
    engine._hook_source(True)
    assert source.on_frame is None  # switched off


def test_the_dream_works_its_flow_out_as_frames_arrive(source):
    from liveart.scenes.dream import DreamScene
    from tests.test_flow import CountingDIS

    scene = DreamScene(CPU)
    inline = scene.motion._dis = CountingDIS(scene.motion._dis)
    ahead = scene.motion._ahead_dis = CountingDIS(scene.motion._ahead_dis)
    engine = Engine(source, scene, ParamStore(), CPU, (64, 36))
    engine.run_frames(seconds=2.0)  # a tick of a few ms on a 30 fps camera: it keeps up
    assert ahead.calls >= 10 and inline.calls <= 2, (ahead.calls, inline.calls)
