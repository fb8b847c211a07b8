"""Stand-ins for the live outputs' libraries, with the same names and signatures as the real
ones (pyvirtualcam 0.15, cyndilib 0.1.3, SpoutGL 0.1.1, syphon-python 0.2), checking what the
real ones check, and recording what they were given."""
from __future__ import annotations

import enum
import threading
from fractions import Fraction
from types import SimpleNamespace

import numpy as np


# -- pyvirtualcam -----------------------------------------------------------------------------
class PixelFormat(enum.Enum):
    RGB = "24BG"
    BGR = "BGR3"
    RGBA = "RGBA"


class FakeCamera:
    """pyvirtualcam.Camera(width, height, fps, *, fmt=PixelFormat.RGB, device=None,
    backend=None, print_fps=False, **kw): send() checks dtype and shape like the real one."""

    instances: list["FakeCamera"] = []

    def __init__(self, width: int, height: int, fps: float, *, fmt=PixelFormat.RGB,
                 device=None, backend=None, print_fps=False, **kw):
        self._width, self._height, self._fps, self._fmt = width, height, fps, fmt
        self._device = device or "/dev/video9"
        self.frames: list[np.ndarray] = []
        self.closed = False
        FakeCamera.instances.append(self)

    width = property(lambda self: self._width)
    height = property(lambda self: self._height)
    fps = property(lambda self: self._fps)
    fmt = property(lambda self: self._fmt)
    device = property(lambda self: self._device)
    frames_sent = property(lambda self: len(self.frames))

    def send(self, frame: np.ndarray) -> None:
        if frame.dtype != np.uint8:
            raise TypeError(f"unexpected frame dtype: {frame.dtype} != uint8")
        shape = {PixelFormat.RGB: (self._height, self._width, 3),
                 PixelFormat.BGR: (self._height, self._width, 3),
                 PixelFormat.RGBA: (self._height, self._width, 4)}[self._fmt]
        if frame.shape != shape:
            raise ValueError(f"unexpected frame shape: {frame.shape} != {shape}")
        self.frames.append(frame.copy())

    def close(self) -> None:
        self.closed = True


def fake_pyvirtualcam():
    FakeCamera.instances = []
    return SimpleNamespace(Camera=FakeCamera, PixelFormat=PixelFormat)


# -- cyndilib: sending ------------------------------------------------------------------------
class FourCC(enum.IntEnum):
    UYVY = 1498831189
    BGRA = 1095911234
    BGRX = 1481787202
    RGBA = 1094862674
    RGBX = 1480738642


class FakeVideoSendFrame:
    def __init__(self):
        self.xres = self.yres = 0
        self.fourcc = FourCC.UYVY
        self.frame_rate = Fraction(30000, 1001)

    def set_resolution(self, xres: int, yres: int) -> None:
        self.xres, self.yres = xres, yres

    def get_resolution(self) -> tuple[int, int]:
        return self.xres, self.yres

    def set_frame_rate(self, value: Fraction) -> None:
        assert isinstance(value, Fraction)
        self.frame_rate = value

    def set_fourcc(self, value: FourCC) -> None:
        self.fourcc = FourCC(value)


class FakeSender:
    """cyndilib.Sender(ndi_name, ndi_groups='', clock_video=True, clock_audio=True)."""

    instances: list["FakeSender"] = []

    def __init__(self, ndi_name: str, ndi_groups: str = "", clock_video: bool = True,
                 clock_audio: bool = True):
        self.ndi_name = ndi_name
        self.clock_video = clock_video
        self.video_frame: FakeVideoSendFrame | None = None
        self._running = False
        self.frames: list[np.ndarray] = []
        self.closed = False
        FakeSender.instances.append(self)

    def set_video_frame(self, vf: FakeVideoSendFrame) -> None:
        if self._running:
            raise Exception("Cannot add frame while sender is open")
        self.video_frame = vf

    def open(self) -> None:
        if self.video_frame is None:
            raise Exception("Cannot start sender. No frame objects")
        self._running = True

    def write_video(self, data) -> bool:
        if not self._running:
            raise Exception("ptr is NULL")
        arr = np.asarray(memoryview(data))  # the real one takes a 1-D uint8 memoryview
        assert arr.ndim == 1 and arr.dtype == np.uint8
        vf = self.video_frame
        bpp = 4 if vf.fourcc in (FourCC.RGBA, FourCC.BGRA, FourCC.RGBX, FourCC.BGRX) else 2
        assert arr.size == vf.xres * vf.yres * bpp, (arr.size, vf.xres, vf.yres)
        self.frames.append(arr.reshape(vf.yres, vf.xres, bpp).copy())
        return True

    def close(self) -> None:
        self._running = False
        self.closed = True


def fake_cyndilib_sender():
    FakeSender.instances = []
    return SimpleNamespace(Sender=FakeSender, VideoSendFrame=FakeVideoSendFrame, FourCC=FourCC)


# -- cyndilib: receiving ----------------------------------------------------------------------
class ReceiveFrameType(enum.IntFlag):
    nothing = 0
    recv_video = 1
    recv_audio = 2


class RecvColorFormat(enum.IntEnum):
    BGRX_BGRA = 0
    UYVY_BGRA = 1
    RGBX_RGBA = 2


class RecvBandwidth(enum.IntEnum):
    lowest = 0
    highest = 100


class FakeFinder:
    """Finds whatever names the test put in `FakeFinder.names`."""

    names: list[str] = []
    valid = True  # False: listed but not resolved yet (cyndilib then doesn't connect)

    def open(self) -> None:
        self.is_open = True

    def wait_for_sources(self, timeout: float) -> bool:
        return bool(self.names)

    def get_source_names(self) -> list[str]:
        return list(self.names)

    def get_source(self, name: str):
        return SimpleNamespace(name=name, valid=FakeFinder.valid)

    def close(self) -> None:
        self.is_open = False


class FakeVideoRecvFrame:
    def __init__(self):
        self.pending: list[np.ndarray] = []  # h x w x 4 RGBA, oldest first
        self.res = (0, 0)

    def get_resolution(self):
        return self.res

    def get_line_stride(self) -> int:
        return self.res[0] * 4 + 8  # padded lines, as NDI may give

    def get_buffer_size(self) -> int:
        return self.get_line_stride() * self.res[1]

    def get_buffer_depth(self) -> int:
        return len(self.pending)

    def skip_frames(self, eager: bool) -> int:
        n = len(self.pending) - 1 if eager else 1
        del self.pending[:n]
        return n

    def fill_p_data(self, dest) -> bool:
        if not self.pending:
            return False
        rgba = self.pending.pop(0)
        h, w = rgba.shape[:2]
        padded = np.zeros((h, self.get_line_stride()), np.uint8)
        padded[:, :w * 4] = rgba.reshape(h, w * 4)
        dest[:] = padded.reshape(-1)
        return True


class FakeReceiver:
    """Delivers the frames queued in `FakeReceiver.queue` (RGBA arrays) once connected."""

    queue: list[np.ndarray] = []
    lock = threading.Lock()

    def __init__(self, source_name: str = "", source=None, color_format=RecvColorFormat.UYVY_BGRA,
                 bandwidth=RecvBandwidth.highest, allow_video_fields=True, recv_name=""):
        self.color_format = color_format
        self.source = None
        self.video_frame: FakeVideoRecvFrame | None = None

    def set_video_frame(self, vf) -> None:
        self.video_frame = vf

    def set_source(self, src) -> None:
        self.source = src if src is None or src.valid else None  # as cyndilib: no connection

    def receive(self, recv_type, timeout_ms: int):
        import time

        with self.lock:
            item = self.queue.pop(0) if self.queue and self.source is not None else None
        if item is None:
            time.sleep(timeout_ms / 1000)
            return ReceiveFrameType.nothing
        assert self.color_format == RecvColorFormat.RGBX_RGBA
        self.video_frame.res = (item.shape[1], item.shape[0])
        self.video_frame.pending.append(item)
        return ReceiveFrameType.recv_video


def fake_cyndilib_receiver():
    FakeReceiver.queue = []
    FakeFinder.names = []
    FakeFinder.valid = True
    return SimpleNamespace(Finder=FakeFinder, Receiver=FakeReceiver,
                           VideoRecvFrame=FakeVideoRecvFrame, RecvColorFormat=RecvColorFormat,
                           RecvBandwidth=RecvBandwidth,
                           receiver=SimpleNamespace(ReceiveFrameType=ReceiveFrameType))


# -- SpoutGL ----------------------------------------------------------------------------------
class FakeSpoutSender:
    instances: list["FakeSpoutSender"] = []

    def __init__(self):
        self.name = None
        self.images: list[np.ndarray] = []
        self.syncs = 0
        self.released = False
        FakeSpoutSender.instances.append(self)

    def setSenderName(self, name: str) -> bool:  # noqa: N802
        self.name = name
        return True

    def sendImage(self, buffer, width: int, height: int, glFormat: int, invert: bool,  # noqa: N802,N803
                  hostFbo: int) -> bool:  # noqa: N803
        view = memoryview(buffer)
        if not view.c_contiguous:
            raise BufferError("Buffer must be contiguous")
        bpp = {0x1908: 4, 0x80E1: 4, 0x1907: 3, 0x80E0: 3}[glFormat]
        if view.nbytes < width * height * bpp:
            raise BufferError("Buffer not large enough")
        self.images.append(np.frombuffer(view.tobytes(), np.uint8)[:width * height * bpp]
                           .reshape(height, width, bpp))
        return True

    def setFrameSync(self, name: str) -> None:  # noqa: N802
        self.syncs += 1

    def releaseSender(self) -> None:  # noqa: N802
        self.released = True


def fake_spoutgl():
    FakeSpoutSender.instances = []
    return SimpleNamespace(SpoutSender=FakeSpoutSender,
                           enums=SimpleNamespace(GL_RGBA=0x1908, GL_RGB=0x1907))


# -- syphon-python ----------------------------------------------------------------------------
class FakeTexture:
    def __init__(self, w: int, h: int):
        self._w, self._h = w, h
        self.data = np.zeros((h, w, 4), np.uint8)

    def width(self) -> int:
        return self._w

    def height(self) -> int:
        return self._h


class FakeSyphonMetalServer:
    instances: list["FakeSyphonMetalServer"] = []

    def __init__(self, name: str, device=None, command_queue=None):
        self.name = name
        self.device = device or object()
        self.published: list[np.ndarray] = []
        self.stopped = False
        FakeSyphonMetalServer.instances.append(self)

    def publish_frame_texture(self, texture, region=None, size=None, is_flipped=False) -> None:
        self.published.append(texture.data.copy())

    def stop(self) -> None:
        self.stopped = True


def _copy_image_to_mtl_texture(image: np.ndarray, texture: FakeTexture) -> None:
    assert image.shape == (texture.height(), texture.width(), 4) and image.dtype == np.uint8
    texture.data[...] = image


def fake_syphon():
    FakeSyphonMetalServer.instances = []
    utils = SimpleNamespace(
        raw=SimpleNamespace(create_mtl_texture=lambda device, w, h: FakeTexture(w, h)),
        numpy=SimpleNamespace(copy_image_to_mtl_texture=_copy_image_to_mtl_texture))
    return SimpleNamespace(SyphonMetalServer=FakeSyphonMetalServer, utils=utils)
