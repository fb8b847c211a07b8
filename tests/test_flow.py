import torch

from liveart.flow import MotionFollower
from liveart.scenes.dream import DreamScene


def test_motion_follower_moves_a_tensor_with_the_camera(cat, to_x):
    a = to_x(cat[50:194, 50:306])  # 256x144 crops, the second 6 px further right in the photo
    b = to_x(cat[50:194, 56:312])
    follower = MotionFollower()
    follower.update(a)
    follower.update(b)
    warped = follower.warp(a)
    inner = (slice(None), slice(None), slice(10, -10), slice(10, -10))
    assert float((warped - b)[inner].abs().mean()) < 0.35 * float((a - b)[inner].abs().mean())


def test_dream_detail_follows_a_pan(cat, cpu, store, to_x):
    a = to_x(cat[50:194, 50:306])
    b = to_x(cat[50:194, 58:314])
    store.update({"dream.octaves": 1, "dream.jitter": 0}, immediate=True)

    def carried_error(follow: bool) -> float:
        store.set("dream.follow", follow, immediate=True)
        scene = DreamScene(cpu)
        for _ in range(6):
            scene.process(a, store.snapshot())
        grown = scene.detail.clone()
        store.set("dream.step_size", 0.0, immediate=True)  # carry only, no new dream
        scene.process(b, store.snapshot())
        store.set("dream.step_size", 0.02, immediate=True)
        moved = torch.roll(grown, shifts=-8, dims=3)  # where the detail belongs after the pan
        inner = (slice(None), slice(None), slice(10, -10), slice(10, -20))
        return float((scene.detail / store.get("dream.persist") - moved)[inner].abs().mean())

    assert carried_error(True) < 0.7 * carried_error(False)


def test_the_same_frame_again_is_no_motion(cat, to_x):
    """A frame handed out twice (the loop outran the camera) moves nothing, and the carried
    state is not resampled (a ~0 flow would still soften it a little every tick)."""
    a = to_x(cat[50:194, 50:306])
    b = to_x(cat[50:194, 56:312])
    follower = MotionFollower()
    follower.update(a)
    follower.update(b)
    detail = torch.rand_like(b)
    assert not torch.equal(follower.warp(detail), detail)  # b moved against a
    follower.update(b)  # b again
    assert follower.warp(detail) is detail


def test_grey_is_the_same_from_channels_last_and_from_plain_frames():
    import numpy as np

    from liveart.flow import to_gray

    x = torch.rand(1, 3, 72, 128).contiguous(memory_format=torch.channels_last)
    assert np.array_equal(to_gray(x), to_gray(x.contiguous()))
    assert to_gray(x).dtype == np.uint8 and to_gray(x).shape == (72, 128)


class CountingDIS:
    """Wraps a DIS instance and counts its calls."""

    def __init__(self, dis):
        self.dis, self.calls = dis, 0

    def calc(self, *args):
        self.calls += 1
        return self.dis.calc(*args)


def _frames(cat, to_x, n=4):
    return [to_x(cat[40:184, 40 + 5 * i:296 + 5 * i]) for i in range(n)]  # a pan, 5 px a frame


def test_flow_worked_out_as_frames_arrive_is_the_flow_the_tick_would_work_out(cat, to_x):
    frames = _frames(cat, to_x)
    inline, ahead = MotionFollower(), MotionFollower()
    ahead._dis = CountingDIS(ahead._dis)
    carried = frames[0] * 0.5
    for frame in frames:
        ahead.ahead(frame)  # the source's thread, before the tick takes the frame
        inline.update(frame)
        ahead.update(frame)
        assert torch.equal(inline.warp(carried), ahead.warp(carried))
    assert ahead._grid is not None and ahead._dis.calls == 0  # all of it done ahead


def test_a_frame_the_loop_skipped_makes_the_tick_work_the_flow_out_itself(cat, to_x):
    a, b, c, d = _frames(cat, to_x)
    inline, ahead = MotionFollower(), MotionFollower()
    ahead._dis = CountingDIS(ahead._dis)
    for frame in (a, b, c, d):
        ahead.ahead(frame)
        if frame is b:
            continue  # the loop was slower than the camera: b arrived and went unseen
        inline.update(frame)
        ahead.update(frame)
        assert (inline._grid is None) == (ahead._grid is None)
        if inline._grid is not None:
            assert torch.equal(inline._grid, ahead._grid)
    assert ahead._dis.calls == 1  # a -> c in line; c -> d had been done ahead
