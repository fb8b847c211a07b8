"""`--source ndi:NAME`: receive an NDI stream (cyndilib, `pip install 'liveart[ndi]'`).

NAME is the stream's name as NDI shows it, `HOST (STREAM)`, or just `STREAM`. A receiver
thread finds the source (mDNS; see outputs/ndi.py for networks without multicast), connects,
and publishes each new video frame as RGB. Like the camera it never stops the show: until the
stream is found, or while it is gone, the synthetic scene stands in (after `fallback_after`
seconds) with a notice, and the receiver keeps looking.

`module` stands in for `cyndilib` (tests pass a fake with its interface: `Finder` with
`open`, `wait_for_sources`, `get_source_names`, `get_source` (a Source with `valid`), `close`;
`Receiver(color_format=, bandwidth=, recv_name=)` with `set_video_frame`, `set_source`,
`receive(recv_type, timeout_ms)`; `VideoRecvFrame` with `get_resolution`, `get_line_stride`,
`get_buffer_size`, `get_buffer_depth`, `skip_frames`, `fill_p_data`;
`RecvColorFormat.RGBX_RGBA`, `RecvBandwidth.highest`, `receiver.ReceiveFrameType.recv_video`).
"""
from __future__ import annotations

import logging
import re
import time
from typing import Any

import numpy as np

from .base import Source

log = logging.getLogger(__name__)

RECONNECT_AFTER = 5.0  # s without a frame from a connected stream before connecting anew
_FULL_NAME = re.compile(r"^(?P<host>.*) \((?P<stream>.*)\)$")


def matches(wanted: str, full_name: str) -> bool:
    """Does NDI's `HOST (STREAM)` name `full_name` answer to `wanted` (full, or the stream)?"""
    if wanted == full_name:
        return True
    m = _FULL_NAME.match(full_name)
    return m is not None and m.group("stream") == wanted


class NdiSource(Source):
    name = "ndi"

    def __init__(self, stream: str, size: tuple[int, int] = (1280, 720), seed: int = 0,
                 module: Any = None, fallback_after: float = 2.0):
        super().__init__()
        from ..outputs.ndi import load_library

        self.stream = stream
        self.lib = load_library(module, "--source ndi")  # UserError with the pip command when it's missing
        self.size = size  # the stand-in's size until the stream's own arrives
        self.seed = seed
        self.fallback_after = fallback_after
        self.connected_to: str | None = None
        self.received = 0
        self._scene = None

    # -- the receiver thread -----------------------------------------------------------------
    def _run(self) -> None:
        lib = self.lib
        frame_types = getattr(lib, "ReceiveFrameType", None) or lib.receiver.ReceiveFrameType
        finder = lib.Finder()
        finder.open()
        receiver = lib.Receiver(color_format=lib.RecvColorFormat.RGBX_RGBA,
                                bandwidth=lib.RecvBandwidth.highest, recv_name="liveart")
        video = lib.VideoRecvFrame()
        receiver.set_video_frame(video)
        t0 = last = reconnected = time.monotonic()
        buf = np.empty(0, np.uint8)
        try:
            while not self._stop.is_set():
                now = time.monotonic()
                if self.connected_to is None:
                    self._find(finder, receiver)
                elif now - max(last, reconnected) > RECONNECT_AFTER:  # silent: connect anew
                    log.info("NDI: nothing from %s for %.0f s; reconnecting", self.connected_to,
                             now - last)
                    self.connected_to = None
                    self._find(finder, receiver)
                    reconnected = now
                if self.connected_to is not None:
                    got = receiver.receive(frame_types.recv_video, 50)
                    if got & frame_types.recv_video:
                        if video.get_buffer_depth() > 1:
                            video.skip_frames(True)  # only the newest matters
                        size = video.get_buffer_size()
                        if buf.size != size:
                            buf = np.empty(size, np.uint8)
                        if video.fill_p_data(buf):
                            self._publish(self._rgb(video, buf))
                            self.received += 1
                            last = time.monotonic()
                            self.notice = None
                            continue
                else:
                    self._stop.wait(0.05)
                quiet = time.monotonic() - (last if self.received else t0)
                if quiet > self.fallback_after:
                    self.notice = (f"No NDI stream {self.stream!r}: showing the synthetic scene, "
                                   "still looking")
                    self._publish(self._stand_in(time.monotonic() - t0))
                    self._stop.wait(1 / 30)
        finally:
            try:
                receiver.set_source(None)
            except Exception:  # noqa: BLE001
                pass
            finder.close()

    def _find(self, finder, receiver) -> None:
        """Connect to the stream if the finder lists it. A listed source can still be
        unresolved (`valid` false: cyndilib then doesn't connect), so `connected_to` is set
        only for a valid one; otherwise this is tried again on the next pass."""
        finder.wait_for_sources(0.2)
        for full in finder.get_source_names():
            if matches(self.stream, full):
                source = finder.get_source(full)
                receiver.set_source(None)  # set_source ignores the Source it already holds
                receiver.set_source(source)
                if source.valid:
                    self.connected_to = full
                    log.info("NDI: receiving %s", full)
                return

    def _rgb(self, video, buf: np.ndarray) -> np.ndarray:
        w, h = video.get_resolution()
        stride = video.get_line_stride() or w * 4
        rgb = np.ascontiguousarray(buf[:stride * h].reshape(h, stride)[:, :w * 4]
                                   .reshape(h, w, 4)[..., :3])
        self.size = (w, h)
        return rgb

    def _stand_in(self, t: float) -> np.ndarray:
        from .synthetic import SyntheticScene

        if self._scene is None or self._scene_size != self.size:
            self._scene_size = self.size
            self._scene = SyntheticScene(*self.size, self.seed)
        return self._scene.frame(t)
