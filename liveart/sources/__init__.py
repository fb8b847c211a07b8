"""Frame sources: camera, video file, still image, synthetic scene. Each runs in its own
thread and hands over only its newest frame."""
from __future__ import annotations

from ..errors import UserError
from .base import Frame, Source

SPEC_HELP = "camera, camera:N, camera:/dev/videoN, video:PATH, image:PATH, ndi:NAME or synthetic"


def open_source(spec: str, size: tuple[int, int] = (1280, 720), seed: int = 0) -> Source:
    """Build (not start) the source named by a --source spec.

    `size` is the camera's requested capture size and the synthetic scene's size.
    """
    kind, _, arg = spec.partition(":")
    if kind == "camera":
        from .camera import CameraSource

        device: int | str = 0
        if arg:
            device = int(arg) if arg.isdigit() else arg
        return CameraSource(device, size=size, seed=seed)
    if kind.startswith("/dev/"):
        from .camera import CameraSource

        return CameraSource(spec, size=size, seed=seed)
    if kind == "video" and arg:
        from .files import VideoSource

        return VideoSource(arg)
    if kind == "image" and arg:
        from .files import ImageSource

        return ImageSource(arg)
    if kind == "ndi" and arg:
        from .ndi import NdiSource

        return NdiSource(arg, size=size, seed=seed)
    if kind == "synthetic":
        from .synthetic import SyntheticSource

        return SyntheticSource(*size, seed=seed)
    raise UserError(f"--source must be one of {SPEC_HELP}, not {spec!r}.")


__all__ = ["Frame", "Source", "open_source", "SPEC_HELP"]
