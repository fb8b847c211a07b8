"""`liveart run --headless --record` and `liveart render`, with real files read back."""
import json
import subprocess
import sys

import cv2
import numpy as np
import pytest

from liveart.cli import main


def read_video(path):
    cap = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, f = cap.read()
        if not ok:
            break
        frames.append(f)
    cap.release()
    return frames


@pytest.fixture
def clip(tmp_path, cat):
    """A real 9-frame video: the cat photo panning, 120x80."""
    path = tmp_path / "clip.mp4"
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 12, (120, 80))
    for i in range(9):
        crop = cat[40 + 4 * i: 40 + 4 * i + 200, 60 + 6 * i: 60 + 6 * i + 300]
        w.write(cv2.cvtColor(cv2.resize(crop, (120, 80)), cv2.COLOR_RGB2BGR))
    w.release()
    return path


def test_headless_record_has_exactly_the_frames_produced(tmp_path):
    out = tmp_path / "out.mp4"
    proc = subprocess.run(
        [sys.executable, "-m", "liveart", "run", "--headless", "--source", "synthetic",
         "--frames", "14", "--size", "96x54", "--window", "192x108", "--record", str(out)],
        capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr
    frames = read_video(out)
    assert len(frames) == 14
    assert frames[0].shape == (108, 192, 3)
    assert "14 frames" in proc.stdout


def test_headless_run_on_a_looping_video(tmp_path, clip):
    out = tmp_path / "loop.avi"
    assert main(["run", "--headless", "--source", f"video:{clip}", "--frames", "20",
                 "--size", "64x48", "--record", str(out)]) == 0
    frames = read_video(out)
    assert len(frames) == 20 and frames[0].shape == (80, 120, 3)


def test_render_video_keeps_size_and_frame_count_and_dreams(tmp_path, clip):
    out = tmp_path / "dreamed.mp4"
    assert main(["render", str(clip), str(out), "--size", "96x64",
                 "--set", "dream.octaves=2", "--set", "dream.steps=2"]) == 0
    src, dst = read_video(clip), read_video(out)
    assert len(dst) == len(src) == 9
    assert dst[0].shape == src[0].shape
    diff = np.mean([np.abs(a.astype(int) - b.astype(int)).mean() for a, b in zip(src, dst)])
    assert diff > 5, "the render did not change the picture"


def test_render_image_keeps_size_and_brings_out_the_dream(tmp_path, cat):
    src = tmp_path / "cat.png"
    cv2.imwrite(str(src), cv2.cvtColor(cat, cv2.COLOR_RGB2BGR))
    out = tmp_path / "cat-dream.jpg"
    assert main(["render", str(src), str(out), "--preset", "deep-eyes",
                 "--set", "dream.steps=3"]) == 0
    img = cv2.imread(str(out))
    assert img.shape == cat.shape
    # dreaming adds high-frequency structure: more edges than the photo had
    edges = lambda a: cv2.Laplacian(cv2.cvtColor(a, cv2.COLOR_BGR2GRAY), cv2.CV_32F).std()
    assert edges(img) > 1.5 * edges(cv2.cvtColor(cat, cv2.COLOR_RGB2BGR))


def test_bench_json_has_the_contract_keys(capsys):
    assert main(["bench", "--seconds", "1.5", "--warmup", "0.5", "--size", "96x54", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert set(data) >= {"scene", "device", "size", "frames", "fps", "stages"}
    assert data["size"] == "96x54" and data["frames"] > 0 and data["fps"] > 0
    for stage in ("capture", "to_device", "scene", "upscale"):
        assert set(data["stages"][stage]) == {"p50_ms", "p95_ms", "mean_ms"}


def test_run_without_a_camera_dreams_on_the_synthetic_scene(tmp_path, caplog):
    out = tmp_path / "nocam.avi"
    with caplog.at_level("WARNING"):
        assert main(["run", "--headless", "--source", "camera:/dev/video-none", "--frames", "8",
                     "--size", "64x36", "--window", "160x90", "--record", str(out)]) == 0
    frames = read_video(out)
    assert len(frames) == 8 and frames[0].shape == (90, 160, 3)
    assert frames[-1].std() > 10, "expected the synthetic scene, got a flat frame"
    assert "synthetic scene" in caplog.text


def test_render_image_advances_at_every_octave_step(tmp_path, cat, monkeypatch):
    """One image is octaves x steps of gradient steps: the bar moves at each of them (2 x 2
    here), instead of sitting at 0/1 until the whole image is done."""
    import liveart.render as render

    updates = []

    class Bar(render.tqdm):
        def update(self, n=1):
            if n:
                updates.append((self.n + n, self.total))
            return super().update(n)

    monkeypatch.setattr(render, "tqdm", Bar)
    src, out = tmp_path / "cat.png", tmp_path / "out.png"
    cv2.imwrite(str(src), cv2.cvtColor(cv2.resize(cat, (64, 48)), cv2.COLOR_RGB2BGR))
    assert main(["render", str(src), str(out), "--set", "dream.octaves=2",
                 "--set", "dream.steps=2"]) == 0
    assert updates == [(1, 4), (2, 4), (3, 4), (4, 4)]
    assert cv2.imread(str(out)).shape == (48, 64, 3)
