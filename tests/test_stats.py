"""The frame rate the HUD, OSC and the status page report."""
import time

import pytest

from liveart.stats import StageStats


def ticks_ending(stats: StageStats, end: float, count: int = 101, interval: float = 0.01) -> None:
    stats._ticks.clear()
    stats._ticks.extend(end - interval * (count - 1 - i) for i in range(count))


def test_a_steady_loop_reads_its_rate():
    stats = StageStats()
    ticks_ending(stats, time.monotonic())
    assert stats.fps() == pytest.approx(100.0, rel=0.02)
    assert stats.fps(live=False) == pytest.approx(100.0, rel=1e-6)


def test_a_stalled_loop_reads_as_slowing_not_as_its_last_rate():
    """A loop stuck for 2 s after running at 100 fps: a health monitor must not keep seeing
    100 fps. The run's end summary still gives the rate of the frames that were made."""
    stats = StageStats()
    ticks_ending(stats, time.monotonic() - 2.0)
    assert stats.fps() < 35.0  # 100 frames over ~3 s
    assert stats.fps(live=False) == pytest.approx(100.0, rel=1e-6)


def test_too_few_ticks_is_zero():
    stats = StageStats()
    assert stats.fps() == 0.0
    stats.tick()
    assert stats.fps() == 0.0
