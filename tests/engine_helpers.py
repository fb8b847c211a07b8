"""Helpers the engine tests share."""
import time


def run_ticks(engine, n: int, timeout: float = 20.0) -> list:
    """`n` outputs of `engine.tick()`, waiting for the source's first frame; AssertionError if
    the engine stops producing frames or they don't come within `timeout` s."""
    outs, end = [], time.monotonic() + timeout
    while time.monotonic() < end:
        out = engine.tick()
        if out is None:  # the source's first frame is not there yet
            assert not outs, "the engine stopped producing frames"
            time.sleep(0.005)
            continue
        outs.append(out)
        if len(outs) == n:
            return outs
    raise AssertionError(f"only {len(outs)} of {n} frames in {timeout} s")
