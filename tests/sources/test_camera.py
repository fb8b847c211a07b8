"""CameraSource against a fake camera: missing, failing, hanging, frozen, and under the engine.

The fake stands in for cv2.VideoCapture (isOpened/read/release) and is handed to CameraSource
through its `opener`. Every frame the fake makes is a uniform colour that encodes which capture
made it and a running counter, so a published frame can be traced back to its origin exactly.
"""
from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass

import numpy as np
import pytest
import torch

from liveart.engine import Engine
from liveart.params import ParamStore
from liveart.scenes.base import Scene
from liveart.sources.camera import CameraSource

from ..conftest import record_frames, wait_for

SIZE = (64, 48)  # (w, h)
SHAPE = (SIZE[1], SIZE[0], 3)
READ_PERIOD = 0.01  # the fake camera's frame interval (~100 fps)
HANG_LIMIT = 15.0  # a hung read gives up after this, so nothing can block forever
TIMINGS = dict(stale_after=0.3, fallback_after=0.6, retry_every=0.3)


@dataclass(frozen=True)
class Origin:
    cap_id: int
    k: int
    kind: str  # "live" or "zombie" (returned by a read that had hung)


class FakeCapture:
    """One opened (or not) capture handed out by the fake camera's opener."""

    def __init__(self, cam: "FakeCamera", cap_id: int, opened: bool):
        self.cam = cam
        self.cap_id = cap_id
        self.opened = opened
        self.reads = 0
        self.readers: set[threading.Thread] = set()
        self.hanging = False
        self.release_called = threading.Event()
        self.released = threading.Event()

    def isOpened(self) -> bool:
        return self.opened and not self.released.is_set()

    def read(self):
        self.readers.add(threading.current_thread())
        self.reads += 1
        time.sleep(READ_PERIOD)
        mode = self.cam.mode
        if mode == "hang":
            # stuck in the driver until the test lets go; then it returns a frame after all
            self.hanging = True
            self.cam.hung.append(self)
            self.cam.unhang.wait(HANG_LIMIT)
            self.hanging = False
            return True, self.cam.make_frame(self.cap_id, zombie=True)
        if not self.isOpened() or mode in ("fail", "unplugged", "gone"):
            return False, None
        if mode == "error":
            raise RuntimeError("fake driver error")
        if mode == "stale":
            return True, self.cam.stale_frame(self.cap_id)
        return True, self.cam.make_frame(self.cap_id)

    def release(self) -> None:
        self.release_called.set()
        if self.hanging:  # releasing a hung device hangs too
            self.cam.unhang.wait(HANG_LIMIT)
        self.released.set()


class FakeCamera:
    """The camera 'hardware'. `mode` can be switched at any time:

    ok: new frames; fail: read() -> (False, None); error: read() raises; hang: read() blocks
    until `unhang` is set; stale: the same frame over and over; unplugged: reads fail and the
    opener returns a capture that is not opened; gone: reads fail and the opener raises.
    """

    def __init__(self, mode: str = "ok"):
        self.mode = mode
        self.lock = threading.Lock()
        self.counter = 0
        self.captures: list[FakeCapture] = []
        self.open_args: list[tuple] = []
        self.hung: list[FakeCapture] = []
        self.unhang = threading.Event()
        self.emitted: dict[tuple[int, int], tuple[str, np.ndarray]] = {}
        self.last: np.ndarray | None = None

    @property
    def open_calls(self) -> int:
        return len(self.open_args)

    def open(self, device, size):
        with self.lock:
            self.open_args.append((device, size))
            if self.mode == "gone":
                raise OSError("no such device")
            cap = FakeCapture(self, len(self.captures) + 1, opened=self.mode != "unplugged")
            self.captures.append(cap)
            return cap

    def make_frame(self, cap_id: int, zombie: bool = False) -> np.ndarray:
        with self.lock:
            self.counter += 1
            k = self.counter
            bgr = np.empty(SHAPE, np.uint8)
            bgr[...] = (k & 255, (k >> 8) & 255, cap_id)  # B, G, R
            self.emitted[(cap_id, k)] = ("zombie" if zombie else "live", bgr.copy())
            if not zombie:
                self.last = bgr
            return bgr.copy()

    def stale_frame(self, cap_id: int) -> np.ndarray:
        if self.last is None:
            self.make_frame(cap_id)
        return self.last.copy()

    def decode(self, rgb: np.ndarray) -> Origin | None:
        """Which fake frame this published RGB image is, if any (exact pixel match)."""
        if rgb.shape != SHAPE or not (rgb == rgb[0, 0]).all():
            return None
        r, g, b = (int(v) for v in rgb[0, 0])
        hit = self.emitted.get((r, (g << 8) | b))
        if hit is None:
            return None
        kind, bgr = hit
        assert np.array_equal(rgb, bgr[..., ::-1]), "camera frame must arrive as RGB, unchanged"
        return Origin(r, (g << 8) | b, kind)


@pytest.fixture
def rig():
    made: list[tuple[FakeCamera, CameraSource]] = []

    def make(mode: str = "ok"):
        cam = FakeCamera(mode)
        src = CameraSource(0, size=SIZE, opener=cam.open, seed=3, **TIMINGS)
        made.append((cam, src))
        return cam, src, record_frames(src)

    yield make
    for cam, src in made:
        cam.unhang.set()  # never leave a reader stuck
        src.stop()


def camera_frame(cam: FakeCamera, src: CameraSource) -> Origin | None:
    f = src.latest()
    if f is None:
        return None
    d = cam.decode(f.image)
    return d if d is not None and d.kind == "live" else None


def wait_live(cam: FakeCamera, src: CameraSource, timeout: float = 3.0) -> Origin:
    """Wait until the newest frame is a live camera frame and the notice is gone."""
    return wait_for(lambda: src.notice is None and src.live and camera_frame(cam, src),
                    timeout, "live camera frames")


def assert_only_camera_frames_follow(cam, src, history, seconds=0.3):
    """Once live, every frame published is a new camera frame, in the camera's order."""
    mark = len(history)
    time.sleep(seconds)
    later = history[mark:]
    assert len(later) >= 5, "the camera keeps delivering frames"
    origins = [cam.decode(f.image) for f in later]
    assert all(o is not None and o.kind == "live" for o in origins), \
        "no stand-in (or zombie) frames once the camera is live"
    ks = [o.k for o in origins]
    assert ks == sorted(ks) and len(set(ks)) == len(ks), "each camera frame once, in order"
    assert src.notice is None


def assert_stand_in(cam, frame):
    assert frame.image.shape == SHAPE and frame.image.dtype == np.uint8
    assert cam.decode(frame.image) is None, "expected the synthetic stand-in, got a camera frame"
    assert frame.image.std() > 1.0, "the stand-in is a picture, not a flat colour"


# ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("absent", ["unplugged", "gone"])
def test_no_camera_at_start_shows_stand_in_then_switches_to_camera(rig, absent):
    cam, src, history = rig(absent)
    src.start()

    first = wait_for(src.latest, what="a first frame")
    assert_stand_in(cam, first)
    assert src.notice is not None and "camera" in src.notice.lower()
    assert not src.live

    # it keeps retrying in the background (every retry_every) and keeps the stand-in moving
    wait_for(lambda: cam.open_calls >= 3, 2.0, "repeated open attempts")
    assert all(args == (0, SIZE) for args in cam.open_args), "opener gets (device, size)"
    assert src.opens == 0
    later = src.latest()
    assert later.seq > first.seq
    assert_stand_in(cam, later)
    assert not np.array_equal(later.image, first.image), "the stand-in is animated"
    if absent == "unplugged":  # captures that did not open are released, not leaked
        wait_for(lambda: all(c.released.is_set() for c in cam.captures), 1.0,
                 "unopened captures released")

    cam.mode = "ok"  # the camera is plugged in
    origin = wait_live(cam, src, timeout=2.0)
    assert origin.cap_id == cam.captures[-1].cap_id
    assert src.opens == 1
    assert src.size == SIZE
    assert_only_camera_frames_follow(cam, src, history)
    assert src.opens == 1


def test_stop_ends_the_supervisor_and_releases_the_camera(rig):
    cam, src, _ = rig("ok")
    src.start()
    wait_live(cam, src)
    src.stop()
    assert not src._thread.is_alive()
    wait_for(lambda: cam.captures[0].released.is_set(), 1.0, "capture released on stop")
    readers = set().union(*(c.readers for c in cam.captures))
    wait_for(lambda: not any(t.is_alive() for t in readers), 1.0, "reader threads to end")


def test_paused_the_camera_is_released_and_resumed_it_reopens_without_the_stand_in(rig):
    """Outside an installation's hours the camera lets go of its device (its light goes off)
    and nothing is published; on resume it opens again at once, and while it does the last
    camera frame stays (not the synthetic stand-in, which would flash up during a fade-in)."""
    cam, src, history = rig("ok")
    src.start()
    wait_live(cam, src)
    src.pause()
    wait_for(lambda: cam.captures[0].released.is_set(), 1.0, "the device released on pause")
    mark, opens = len(history), cam.open_calls
    time.sleep(1.0)  # longer than stale_after, fallback_after and retry_every
    assert len(history) == mark, "nothing published while paused"
    assert cam.open_calls == opens, "no reopening while paused"
    assert cam.decode(src.latest().image).kind == "live"  # the last camera frame is kept

    src.resume()
    origin = wait_live(cam, src, timeout=2.0)
    assert origin.cap_id == cam.captures[-1].cap_id and src.opens == 2
    assert all(cam.decode(f.image) is not None for f in history[mark:]), "no stand-in frame"


@pytest.mark.parametrize("failure", ["fail", "error", "unplugged"])
def test_camera_failing_mid_run_holds_last_frame_then_stand_in_then_recovers(rig, failure):
    cam, src, history = rig("ok")
    src.start()
    wait_live(cam, src)
    first_cap = cam.captures[-1]
    assert src.opens == 1

    cam.mode = failure
    t_fail = time.monotonic()
    time.sleep(0.05)  # a read already under way may still land
    held = src.latest()
    held_origin = cam.decode(held.image)
    assert held_origin is not None and held_origin.kind == "live"

    # the engine keeps dreaming on the last good frame for a while (no stand-in yet)
    while time.monotonic() - t_fail < 0.4:  # fallback_after is 0.6
        assert src.latest() is held, "the last good frame is held"
        time.sleep(0.01)

    # then the synthetic stand-in, with a notice
    wait_for(lambda: src.notice is not None and cam.decode(src.latest().image) is None,
             2.0, "the stand-in")
    assert "camera" in src.notice.lower()
    assert_stand_in(cam, src.latest())
    assert src.latest().seq > held.seq
    assert not src.live
    wait_for(first_cap.release_called.is_set, 1.0, "the failed capture released")
    opens_while_down = src.opens

    cam.mode = "ok"  # recovers
    origin = wait_live(cam, src, timeout=3.0)
    assert origin.cap_id != first_cap.cap_id, "frames come from a fresh capture"
    assert origin.k > held_origin.k
    assert src.opens >= 2, "the camera was reopened"
    if failure == "unplugged":  # nothing could be opened while it was unplugged
        assert opens_while_down == 1
        assert src.opens == 2
    assert_only_camera_frames_follow(cam, src, history)


def test_hung_read_never_blocks_and_the_abandoned_reader_never_publishes(rig):
    cam, src, history = rig("ok")
    src.start()
    wait_live(cam, src)
    first_cap = cam.captures[-1]

    cam.mode = "hang"
    t0 = time.monotonic()
    worst = 0.0
    stand_in_seen = False
    while time.monotonic() - t0 < 1.2:
        a = time.perf_counter()
        f = src.latest()
        worst = max(worst, time.perf_counter() - a)
        stand_in_seen = stand_in_seen or cam.decode(f.image) is None
        time.sleep(0.005)
    assert worst < 0.05, f"latest() blocked for {worst * 1000:.0f} ms"
    assert stand_in_seen, "the stand-in arrived while the camera hung"
    assert src.notice is not None and "camera" in src.notice.lower()
    assert first_cap in cam.hung and first_cap.hanging
    assert first_cap.release_called.is_set(), "the hung capture was abandoned"
    assert src.opens >= 2, "reopened with a fresh capture while the old one hangs"
    assert len(cam.captures) >= 2

    cam.mode = "ok"
    origin = wait_live(cam, src, timeout=3.0)
    hung = list(cam.hung)
    assert origin.cap_id not in {c.cap_id for c in hung}, "live frames come from a fresh capture"
    assert all(c.release_called.is_set() for c in hung)

    # let the stuck reads return: each returns a frame, which must never be published
    cam.unhang.set()
    wait_for(lambda: not any(c.hanging for c in hung), 2.0, "hung reads to return")
    zombies = [k for k, (kind, _) in cam.emitted.items() if kind == "zombie"]
    assert len(zombies) >= len(hung)
    old_readers = set().union(*(c.readers for c in hung))
    wait_for(lambda: not any(t.is_alive() for t in old_readers), 1.0, "abandoned readers to end")
    assert_only_camera_frames_follow(cam, src, history)
    assert not any((o := cam.decode(f.image)) is not None and o.kind == "zombie"
                   for f in history), "an abandoned reader published"
    seqs = [f.seq for f in history]
    assert seqs == list(range(1, len(seqs) + 1))


def test_stale_frames_count_as_a_lost_camera(rig):
    cam, src, history = rig("ok")
    src.start()
    wait_live(cam, src)
    assert src.opens == 1

    cam.mode = "stale"  # a frozen driver: the same frame forever, even after reopening
    time.sleep(0.05)
    held = src.latest()
    held_origin = cam.decode(held.image)
    assert held_origin is not None

    wait_for(lambda: src.opens >= 2, 1.5, "the frozen camera to be reopened")
    wait_for(lambda: src.notice is not None and cam.decode(src.latest().image) is None,
             2.0, "the stand-in for a frozen camera")
    assert not src.live
    assert_stand_in(cam, src.latest())
    repeats = [f for f in history if f.seq > held.seq and cam.decode(f.image) is not None]
    assert not repeats, "a repeated frame was published as new"

    cam.mode = "ok"
    origin = wait_live(cam, src, timeout=3.0)
    assert origin.k > held_origin.k
    assert_only_camera_frames_follow(cam, src, history)


class Passthrough(Scene):
    """A scene that returns the frame unchanged (the dream network would be slow here)."""

    name = "passthrough"

    def process(self, frame, snap):
        return frame


def test_engine_keeps_ticking_while_the_camera_hangs(rig):
    cam, src, _ = rig("ok")
    src.start()
    wait_live(cam, src)
    cpu = torch.device("cpu")
    engine = Engine(src, Passthrough(cpu), ParamStore(), cpu, SIZE)
    warm = engine.tick()
    assert warm is not None and cam.decode(warm.image) is not None

    cam.mode = "hang"
    seqs, kinds = [], []
    worst = 0.0
    t0 = time.monotonic()
    while time.monotonic() - t0 < 1.5:
        a = time.perf_counter()
        out = engine.tick()
        worst = max(worst, time.perf_counter() - a)
        assert out is not None
        seqs.append(out.seq)
        kinds.append("camera" if cam.decode(out.image) is not None else "stand-in")
        time.sleep(0.005)

    assert seqs == list(range(warm.seq + 1, warm.seq + 1 + len(seqs))), "output seq keeps rising"
    assert len(seqs) >= 50, f"only {len(seqs)} ticks in 1.5 s"
    assert worst < 0.2, f"a tick took {worst * 1000:.0f} ms"
    assert engine.out_slot.get()[0].seq == seqs[-1]
    # it dreamed on the held camera frame first, then on the stand-in
    assert kinds[0] == "camera" and kinds[-1] == "stand-in"
    assert kinds == sorted(kinds, key=lambda k: k != "camera"), "no camera frame after the loss"
    assert src.notice is not None
    assert engine.errors == 0


def test_a_by_id_path_is_resolved_at_every_open(tmp_path, monkeypatch):
    """/dev/v4l/by-id/... names a camera, not a port: each (re)open follows the link to where
    the camera is now, and a link that is gone is a closed capture (retried later), not an error."""
    from liveart.sources import camera as camera_module

    opened = []

    class Recorder:
        def __init__(self, device):
            opened.append(device)

        def isOpened(self):
            return False

        def release(self):
            pass

    monkeypatch.setattr(camera_module.cv2, "VideoCapture", Recorder)
    node0, node2 = tmp_path / "video0", tmp_path / "video2"
    node0.write_bytes(b"")
    node2.write_bytes(b"")
    link = tmp_path / "usb-cam-video-index0"
    link.symlink_to(node0)
    camera_module.open_cv2_camera(str(link), (640, 360))
    link.unlink()
    link.symlink_to(node2)  # replugged: the kernel gave it another node
    camera_module.open_cv2_camera(str(link), (640, 360))
    link.unlink()  # unplugged
    cap = camera_module.open_cv2_camera(str(link), (640, 360))
    assert opened == [str(node0), str(node2)]
    assert not cap.isOpened() and cap.read() == (False, None)


def test_devices_lists_by_id_names_first(tmp_path, monkeypatch):
    from liveart import devices

    by_id = tmp_path / "by-id"
    by_id.mkdir()
    target = tmp_path / "video4"
    target.write_bytes(b"")
    (by_id / "usb-Logitech_C920-video-index0").symlink_to(target)
    monkeypatch.setattr(devices, "V4L_BY_ID", str(by_id))
    monkeypatch.setattr("sys.platform", "linux")
    cams = devices._cameras()
    assert cams[0]["name"] == str(by_id / "usb-Logitech_C920-video-index0")
    assert str(target) in cams[0]["description"] and "--source camera:" in cams[0]["description"]


NO_CAMERA_SAID = "(not connected, or in use by another program): showing the synthetic scene"


def _run_without_camera(spec: str, tmp_path, *extra: str) -> str:
    """A real `liveart run` on a camera that isn't there for 5 s (the supervisor tries at
    0, 2 and 4 s); returns its stderr."""
    env = dict(os.environ, LIVEART_CONFIG_DIR=str(tmp_path / "cfg"))
    env.pop("OPENCV_LOG_LEVEL", None)  # OpenCV's own default: warnings on
    proc = subprocess.run(
        [sys.executable, "-m", "liveart", *extra, "run", "--headless", "--source", spec,
         "--seconds", "5", "--size", "64x36", "--no-osc", "--midi", "none", "--fresh"],
        env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return proc.stderr


@pytest.mark.parametrize("spec", ["camera:99", "camera:/dev/video99"])
def test_a_missing_camera_is_said_once_not_at_every_retry(spec, tmp_path):
    # camera:99 goes through OpenCV, which says "can't open camera by index" at every try;
    # a path that isn't there is not handed to OpenCV at all
    err = _run_without_camera(spec, tmp_path)
    assert err.count("can't open camera by index") <= 1, err
    assert err.count(NO_CAMERA_SAID) == 1, err
    label = spec if spec == "camera:99" else "/dev/video99"
    assert f"No camera at {label} {NO_CAMERA_SAID}" in err


def test_with_verbose_opencv_keeps_its_own_words(tmp_path):
    # -v: OpenCV's warning at each try is let through (and this shows that the test above
    # really retried: 3 tries in 5 s)
    err = _run_without_camera("camera:99", tmp_path, "-v")
    assert err.count("can't open camera by index") >= 2, err
    assert err.count(NO_CAMERA_SAID) == 1, err


def test_the_camera_log_says_each_change_once(rig, caplog):
    """Missing at the start, plugged in, unplugged, and a device that opens but never gives a
    frame: one line for each change of state, none for the retries in between (retry_every
    is 0.3 s here, so each second of absence is about three tries)."""
    caplog.set_level(logging.INFO, logger="liveart.sources.camera")
    cam, src, _ = rig("unplugged")
    src.start()
    wait_for(lambda: cam.open_calls >= 4, 3.0, "several tries")

    def said(text):
        return sum(text in r.getMessage() for r in caplog.records)

    assert said(f"No camera at camera:0 {NO_CAMERA_SAID}") == 1
    cam.mode = "ok"
    wait_live(cam, src)
    assert said("camera:0 is there now") == 1
    cam.mode = "unplugged"
    wait_for(lambda: said(NO_CAMERA_SAID) == 2, 3.0, "the loss said again")
    tries = cam.open_calls
    wait_for(lambda: cam.open_calls >= tries + 3, 3.0, "more tries")
    assert said(NO_CAMERA_SAID) == 2 and said("gave no new frame") == 1
    cam.mode = "fail"  # opens, but reads fail: not back, and said no more than before
    wait_for(lambda: cam.open_calls >= tries + 6, 3.0, "tries that open")
    assert said("is there now") == 1 and said(NO_CAMERA_SAID) == 2
    assert said("No frames from") == 0 and said("gave no new frame") == 1
    assert said("camera:0 opened") == 0  # after a loss was said, only its end is said
