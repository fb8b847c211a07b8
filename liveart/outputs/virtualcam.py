"""`--output virtualcam[:DEVICE]`: a virtual camera other programs (OBS, Zoom, a browser) can
open, through pyvirtualcam (v4l2loopback on Linux, OBS's virtual camera on macOS and Windows).

The library is imported only when the output is used. `module` stands in for `pyvirtualcam`
(tests pass a fake with its interface: `Camera(width, height, fps, *, fmt, device)`,
`Camera.send(frame)`, `Camera.close()`, `PixelFormat.RGB`).
"""
from __future__ import annotations

import glob
import sys
from typing import Any

import numpy as np

from ..errors import UserError

PACKAGE, EXTRA = "pyvirtualcam", "virtualcam"
LOOPBACK_HINT = "sudo modprobe v4l2loopback devices=1 exclusive_caps=1 card_label=liveart"
LOOPBACK_PACKAGE = "v4l2loopback-dkms on Debian and Ubuntu"


def _installed() -> bool:
    from importlib.util import find_spec

    return find_spec(PACKAGE) is not None


def loopback_devices() -> list[str]:
    """v4l2loopback devices (Linux): they are the virtual video4linux nodes."""
    return sorted("/dev/" + p.rsplit("/", 1)[1]
                  for p in glob.glob("/sys/devices/virtual/video4linux/video*"))


def availability() -> tuple[bool, str, str]:
    """(usable, reason, command that enables it)."""
    pip = f"pip install 'liveart[{EXTRA}]'"
    linux = sys.platform.startswith("linux")
    if not _installed():
        if linux and not loopback_devices():
            return (False, f"the {PACKAGE} package is not installed and there is no "
                    "v4l2loopback device", f"{pip} && {LOOPBACK_HINT}")
        return False, f"the {PACKAGE} package is not installed", pip
    if linux:
        devices = loopback_devices()
        if not devices:
            return False, "no v4l2loopback device", LOOPBACK_HINT
        return True, "v4l2loopback at " + ", ".join(devices), ""
    if sys.platform in ("darwin", "win32"):
        return True, "OBS virtual camera (OBS Studio 26+ must be installed)", ""
    return False, f"pyvirtualcam has no backend on {sys.platform}", ""


def check() -> None:
    from .registry import missing_package

    if not _installed():
        raise UserError(missing_package("--output virtualcam", PACKAGE, EXTRA))
    if sys.platform.startswith("linux") and not loopback_devices():
        raise UserError(f"--output virtualcam needs a v4l2loopback device, and there is none: "
                        f"{LOOPBACK_HINT} (the kernel module is {LOOPBACK_PACKAGE}).")


class VirtualCamOutput:
    """Opens the camera at the first frame (its size is the camera's size) and sends RGB."""

    def __init__(self, fps: float = 30.0, device: str | None = None, module: Any = None):
        self.fps = fps
        self.device = device
        self._lib = module
        self.camera = None

    def _open(self, width: int, height: int) -> None:
        lib = self._lib
        if lib is None:
            import pyvirtualcam as lib  # noqa: N813
        try:
            self.camera = lib.Camera(width, height, self.fps, fmt=lib.PixelFormat.RGB,
                                     device=self.device)
        except RuntimeError as e:  # pyvirtualcam lists every backend's failure, one per line
            raise UserError(f"Can't open the virtual camera at {width}x{height}: "
                            f"{str(e).splitlines()[0]}") from e

    def send(self, image: np.ndarray) -> None:
        h, w = image.shape[:2]
        if self.camera is not None and (self.camera.width, self.camera.height) != (w, h):
            self.close()  # the output size changed: the camera is reopened at the new one
        if self.camera is None:
            self._open(w, h)
        self.camera.send(np.ascontiguousarray(image))

    def close(self) -> None:
        if self.camera is not None:
            self.camera.close()
            self.camera = None
