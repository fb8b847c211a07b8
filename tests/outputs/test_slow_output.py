"""A slow output never slows the show: it skips frames, the engine keeps its pace."""
from __future__ import annotations

import time

import torch

from liveart.engine import Engine
from liveart.outputs.registry import OutputWorker
from liveart.params import ParamStore
from liveart.scenes.base import Scene
from liveart.sources.synthetic import SyntheticSource

CPU = torch.device("cpu")


class Blur(Scene):
    """A little real work per tick (a few ms), so the engine's pace is not just Python
    overhead."""

    name = "blur"

    def process(self, frame, snap):
        return torch.nn.functional.avg_pool2d(frame, 3, stride=1, padding=1)


class SlowOutput:
    """An output that takes 0.2 s per frame (a congested network, a slow device)."""

    def __init__(self):
        self.frames = 0

    def send(self, image):
        time.sleep(0.2)
        self.frames += 1

    def close(self):
        pass


def test_a_slow_output_does_not_lower_the_engines_fps():
    """Two engines run side by side on the same source, so whatever else this machine is doing
    weighs on both alike; the slow output is attached to one, then to the other, and the ticks
    with it are compared with the ticks without it over the same moments."""
    source = SyntheticSource(128, 72, seed=1).start()
    engines = [Engine(source, Blur(CPU), ParamStore(), CPU, (128, 72)) for _ in range(2)]
    slow = SlowOutput()
    with_slow = without = skipped = 0
    try:
        t0 = time.monotonic()
        while source.latest() is None and time.monotonic() - t0 < 10:
            time.sleep(0.01)
        for engine in engines:
            engine.start()
        time.sleep(0.3)  # warm up
        for round_ in range(4):  # ~2 s with the slow output on each side in turn
            loaded, free = engines[round_ % 2], engines[1 - round_ % 2]
            worker = OutputWorker("slow", slow, loaded.out_slot).start()
            a, b = loaded.stats.frames, free.stats.frames
            time.sleep(1.0)
            with_slow += loaded.stats.frames - a
            without += free.stats.frames - b
            worker.stop()
            skipped += worker.skipped
    finally:
        for engine in engines:
            engine.stop()
        source.stop()
    print(f"engine ticks over 4 x 1 s: {without} without the slow output, {with_slow} with it "
          f"(ratio {with_slow / max(without, 1):.2f}); the slow output sent {slow.frames} and "
          f"skipped {skipped}")
    assert without > 40, "the engines hardly ran: the machine is too busy to measure"
    assert with_slow > 0.7 * without
    assert 10 <= slow.frames <= 24  # about 5 a second while attached
    assert skipped > slow.frames  # it skipped frames instead of holding the engine


def test_the_same_output_inside_the_tick_would_hold_the_engine():
    """The control for the test above: called from the render thread (an engine sink), the
    slow output caps the engine at about 5 ticks a second, so that test can see a slowdown."""
    source = SyntheticSource(128, 72, seed=1).start()
    engine = Engine(source, Blur(CPU), ParamStore(), CPU, (128, 72))
    slow = SlowOutput()
    engine.sinks.append(lambda out: slow.send(out.image))
    try:
        t0 = time.monotonic()
        while source.latest() is None and time.monotonic() - t0 < 10:
            time.sleep(0.01)
        engine.start()
        start = engine.stats.frames
        time.sleep(1.0)
        ticks = engine.stats.frames - start
    finally:
        engine.stop()
        source.stop()
    assert ticks <= 7
