"""Shared fixtures: real photos from scikit-image, the CPU device, a fresh parameter store."""
from __future__ import annotations

import os
import select
import shutil
import socket
import subprocess
import time

import numpy as np
import pytest
import torch

torch.set_num_threads(2)


@pytest.fixture(autouse=True)
def user_config(tmp_path_factory, monkeypatch):
    """Every test gets its own config folder (presets, last state): the user's is never read
    or written, and no test sees another's saved state. Subprocesses inherit it."""
    folder = tmp_path_factory.mktemp("config")
    monkeypatch.setenv("LIVEART_CONFIG_DIR", str(folder))
    return folder


@pytest.fixture(scope="session")
def cat() -> np.ndarray:
    """skimage's chelsea: a real photo of a tabby cat, 300x451 RGB uint8."""
    import skimage.data

    return np.ascontiguousarray(skimage.data.chelsea())


@pytest.fixture(scope="session")
def cpu() -> torch.device:
    return torch.device("cpu")


@pytest.fixture
def store():
    from liveart import scenes  # noqa: F401  (declares the scene parameters)
    from liveart.params import ParamStore

    return ParamStore()


@pytest.fixture(scope="session")
def to_x():
    """Frame -> 1x3xhxw CPU tensor at `size` (w, h), the way the engine converts."""
    from liveart.frames import to_tensor

    def convert(image: np.ndarray, size=None) -> torch.Tensor:
        return to_tensor(image, size or (image.shape[1], image.shape[0]), torch.device("cpu"))

    return convert


# -- a real X server for window tests ------------------------------------------------------
SCREEN_W, SCREEN_H = 1280, 720


def require_xvfb() -> None:
    if shutil.which("Xvfb") is None:
        if os.environ.get("CI"):  # CI installs Xvfb: a missing one is a broken set-up, not a skip
            pytest.fail("Xvfb is not installed; .ci/run should apt-get install xvfb")
        pytest.skip("Xvfb is not installed (apt-get install xvfb): the window test needs an X server")


def _start_xvfb() -> tuple[subprocess.Popen, int]:
    """Start Xvfb on a display number it picks itself (-displayfd), wait until it accepts clients."""
    read_fd, write_fd = os.pipe()
    proc = subprocess.Popen(
        # -noreset: by default an X server resets when its last client leaves, and a window
        # opened during the reset cannot connect (pygame then silently falls back to its
        # offscreen driver); the tests open and close many windows in a row
        ["Xvfb", "-displayfd", str(write_fd), "-screen", "0", f"{SCREEN_W}x{SCREEN_H}x24",
         "-nolisten", "tcp", "-noreset"],
        pass_fds=(write_fd,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write_fd)
    data = b""
    deadline = time.monotonic() + 20
    with os.fdopen(read_fd, "rb", buffering=0) as pipe:
        while not data.endswith(b"\n") and time.monotonic() < deadline:
            ready, _, _ = select.select([pipe], [], [], 0.2)
            if ready:
                chunk = pipe.read(64)
                if not chunk:
                    break
                data += chunk
            elif proc.poll() is not None:
                break
    if not data.strip().isdigit():
        proc.kill()
        proc.wait()
        pytest.fail(f"Xvfb did not start (exit code {proc.poll()}, said {data!r})")
    number = int(data)
    # -displayfd is written once the server listens; still check the socket answers
    path = f"/tmp/.X11-unix/X{number}"
    while time.monotonic() < deadline:
        try:
            with socket.socket(socket.AF_UNIX) as sock:
                sock.connect(path)
            return proc, number
        except OSError:
            time.sleep(0.05)
    proc.kill()
    proc.wait()
    pytest.fail(f"Xvfb :{number} never accepted connections on {path}")


@pytest.fixture(scope="module")
def xserver():
    require_xvfb()
    saved = {k: os.environ.get(k) for k in ("DISPLAY", "SDL_VIDEODRIVER", "SDL_VIDEO_WINDOW_POS")}
    import pygame

    pygame.display.quit()  # another test may have initialised a dummy display
    proc, number = _start_xvfb()
    os.environ["DISPLAY"] = f":{number}"
    os.environ.pop("SDL_VIDEODRIVER", None)
    os.environ["SDL_VIDEO_WINDOW_POS"] = "0,0"  # no window manager: put the window where we grab
    try:
        yield f":{number}"
    finally:
        pygame.display.quit()
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v




def grab() -> np.ndarray:
    """The whole X screen as RGB HxWx3."""
    import mss

    factory = getattr(mss, "MSS", None) or mss.mss  # mss 10 renamed mss.mss to mss.MSS
    with factory() as sct:
        shot = sct.grab(sct.monitors[1])
    return np.asarray(shot)[:, :, 2::-1].copy()  # BGRA -> RGB




# -- watching sources ------------------------------------------------------------------------
def record_frames(src, include_current: bool = False) -> list:
    """Every frame `src` publishes from now on, in order (a spy on its slot)."""
    history: list = [src.latest()] if include_current else []
    put = src.slot.put

    def spy(frame):
        history.append(frame)
        put(frame)

    src.slot.put = spy
    return history


def wait_for(cond, timeout: float = 3.0, what: str = "condition"):
    """Poll `cond` until it returns something truthy; fail after `timeout` seconds."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = cond()
        if v:
            return v
        time.sleep(0.005)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")
