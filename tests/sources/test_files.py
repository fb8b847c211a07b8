"""File sources on real files (a small mp4 and a PNG), bad files, and --source spec parsing."""
from __future__ import annotations

import time

import cv2
import numpy as np
import pytest

from liveart.errors import UserError
from liveart.sources import open_source
from liveart.sources.files import ImageSource, VideoSource

from ..conftest import record_frames, wait_for

VW, VH = 64, 48
N_FRAMES = 10
FPS = 50.0


def grey(i: int) -> int:
    return 12 + 24 * i  # frame i is a flat grey this bright: 12, 36, ..., 228


def frame_index(rgb: np.ndarray) -> int:
    """Which video frame an RGB image is (the codec is lossy: nearest grey level)."""
    assert rgb.shape == (VH, VW, 3) and rgb.dtype == np.uint8
    level = float(rgb.mean())
    i = int(round((level - 12) / 24))
    assert 0 <= i < N_FRAMES and abs(level - grey(i)) < 6, f"not a test frame (mean {level:.1f})"
    return i


@pytest.fixture(scope="module")
def video(tmp_path_factory) -> str:
    path = str(tmp_path_factory.mktemp("video") / "count.mp4")
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*"mp4v"), FPS, (VW, VH))
    assert writer.isOpened(), "OpenCV cannot write mp4v here"
    for i in range(N_FRAMES):
        writer.write(np.full((VH, VW, 3), grey(i), np.uint8))
    writer.release()
    return path


# -- video ---------------------------------------------------------------------------------------

def test_video_plays_in_order_and_loops_past_the_end(video):
    src = VideoSource(video)
    assert src.size == (VW, VH)
    assert src.fps == pytest.approx(FPS, abs=0.5)
    first = src.latest()
    assert first is not None and first.seq == 1 and frame_index(first.image) == 0
    history = record_frames(src, include_current=True)
    src.start()
    try:
        wait_for(lambda: src.latest().seq > 2.5 * N_FRAMES, 3.0, "playback past two loops")
    finally:
        src.stop()
    assert not src._thread.is_alive()
    seqs = [f.seq for f in history]
    assert seqs == list(range(1, len(seqs) + 1)), "seq rises by one per frame, across the loop"
    indices = [frame_index(f.image) for f in history]
    assert indices == [i % N_FRAMES for i in range(len(indices))], "plays in order and wraps"
    assert len(indices) > 2 * N_FRAMES


def test_video_plays_at_its_own_frame_rate(video):
    src = VideoSource(video).start()
    try:
        time.sleep(0.1)
        s0, t0 = src.latest().seq, time.monotonic()
        time.sleep(0.5)
        rate = (src.latest().seq - s0) / (time.monotonic() - t0)
    finally:
        src.stop()
    assert 0.5 * FPS < rate < 1.5 * FPS, f"played at {rate:.0f} fps, file says {FPS:.0f}"


def test_open_source_video_spec(video):
    src = open_source(f"video:{video}")
    assert isinstance(src, VideoSource)
    assert frame_index(src.latest().image) == 0
    src.cap.release()


# -- still image ---------------------------------------------------------------------------------

def test_image_source_reads_a_png_as_rgb_and_holds_it(tmp_path):
    bgr = np.zeros((30, 40, 3), np.uint8)
    bgr[:, :20] = (255, 0, 0)  # blue on the left (BGR on disk)
    bgr[:, 20:] = (0, 0, 200)  # red on the right
    bgr[5, 7] = (1, 2, 3)
    path = str(tmp_path / "still.png")
    assert cv2.imwrite(path, bgr)

    src = ImageSource(path)
    assert src.size == (40, 30)
    f = src.latest()
    assert f.seq == 1
    assert f.image.dtype == np.uint8 and f.image.flags["C_CONTIGUOUS"]
    assert np.array_equal(f.image, bgr[..., ::-1]), "pixels exact, channels in RGB order"
    assert tuple(f.image[0, 0]) == (0, 0, 255) and tuple(f.image[0, 39]) == (200, 0, 0)
    src.start()
    time.sleep(0.1)
    assert src.latest() is f, "a still image publishes once and holds"
    src.stop()
    assert not src._thread.is_alive()

    via_spec = open_source(f"image:{path}")
    assert isinstance(via_spec, ImageSource)
    assert np.array_equal(via_spec.latest().image, f.image)


# -- bad files -----------------------------------------------------------------------------------

@pytest.mark.parametrize("make", [VideoSource, ImageSource,
                                  lambda p: open_source(f"video:{p}"),
                                  lambda p: open_source(f"image:{p}")])
def test_missing_file_is_a_user_error_naming_it(tmp_path, make):
    path = str(tmp_path / "no-such-file.mp4")
    with pytest.raises(UserError) as e:
        make(path)
    assert path in str(e.value)
    assert "does not exist" in str(e.value)


@pytest.mark.parametrize("make,name", [(VideoSource, "junk.mp4"), (ImageSource, "junk.png"),
                                       (VideoSource, "empty.mp4"), (ImageSource, "empty.png")])
def test_corrupt_file_is_a_user_error_naming_it(tmp_path, make, name):
    path = tmp_path / name
    data = b"" if name.startswith("empty") else np.random.default_rng(7).bytes(4096)
    path.write_bytes(data)
    with pytest.raises(UserError) as e:
        make(str(path))
    assert str(path) in str(e.value)
    assert "could not be read" in str(e.value)


def test_a_directory_is_not_a_file(tmp_path):
    for make in (VideoSource, ImageSource):
        with pytest.raises(UserError, match="does not exist"):
            make(str(tmp_path))


# -- spec parsing --------------------------------------------------------------------------------

@pytest.mark.parametrize("spec", ["foo", "video:", "image:", "", "video", "Synthetic", "cam:0"])
def test_bad_specs_are_user_errors(spec):
    with pytest.raises(UserError) as e:
        open_source(spec)
    msg = str(e.value)
    assert repr(spec) in msg, "the message quotes what was given"
    assert "camera" in msg and "synthetic" in msg, "the message lists the valid specs"


def test_camera_specs_build_without_opening():
    from liveart.sources.camera import CameraSource

    for spec, device in [("camera", 0), ("camera:2", 2), ("camera:/dev/video3", "/dev/video3"),
                         ("/dev/video1", "/dev/video1")]:
        src = open_source(spec, size=(320, 240), seed=5)
        assert isinstance(src, CameraSource)
        assert src.device == device
        assert src.size == (320, 240) and src.seed == 5
        assert src._thread is None and src.opens == 0, "built, not started"


def test_synthetic_spec_delivers_frames_of_the_requested_size():
    src = open_source("synthetic", size=(160, 90))
    assert src.size == (160, 90)
    src.start()
    try:
        f = wait_for(src.latest, 3.0, "a synthetic frame")
        assert f.image.shape == (90, 160, 3) and f.image.dtype == np.uint8
        assert f.image.std() > 1.0
        wait_for(lambda: src.latest().seq >= f.seq + 3, 2.0, "more synthetic frames")
        assert src.latest().image.shape == (90, 160, 3)
    finally:
        src.stop()
    assert src.notice is None
