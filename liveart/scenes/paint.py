"""Paint: Gatys-style neural style transfer, live, on VGG16.

The picture is optimised directly (Gatys, Ecker & Bethge 2016): its VGG16 Gram matrices at
relu1_1 .. relu{paint.depth}_1 are pulled toward those of the style picture(s), its
`paint.content_layer` activations toward those of the camera frame. Arranged for a live loop:

- each tick runs `paint.steps` Adam steps (first-order, one forward and backward pass per step,
  so a tick's cost is fixed; L-BFGS's line searches and curvature pairs assume a fixed
  objective, and ours moves with the camera every tick);
- warm start: the painting and Adam's moments carry from tick to tick, so the painting
  builds up over time; the first tick (and `paint.reset`) starts from the camera frame;
- re-anchored to the moving camera: the content target is the current frame each tick, the
  carried painting is moved with the camera's optical flow (`paint.follow`), and
  `paint.anchor` mixes a little of the frame back in each tick so that nothing the camera left
  lingers forever;
- the forward pass stops at the deepest layer needed (relu4_1 by default: the content layer
  relu3_3 lies on the way).

Losses are relative, so the weights mean the same at every layer and picture size:
style = mean over layers of |G - A|^2 / |A|^2 (G = F F^T / (h w), per layer), content =
|F - P|^2 / |P|^2. Style pictures: `paint.image` holds up to four, separated by `;` (paths,
or names from the styles folder); fader `paint.wN` weighs the N-th: the Gram targets are the
weighted mean A = sum(wN GN) / sum(wN), computed once per picture and size (cached). With all
faders down the style loss is off and the painting relaxes to the camera. With no picture
given, a built-in one is used: `builtin_style()`, a procedural swirl of brush strokes (no
painting ships with liveart or its dependencies, and scikit-image's sample pictures are
photographs).
"""
from __future__ import annotations

import functools
import logging
import math
import os
import time
from collections import OrderedDict
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from ..errors import UserError
from ..imagelimits import check_image_file
from ..flow import MotionFollower
from ..params import Snapshot
from ..params.paint import BUILTIN, CONTENT_LAYERS, MAX_IMAGES  # noqa: F401  (re-exported)
from ..stylefolder import resolve_style_image, split_pictures
from .base import Scene

log = logging.getLogger(__name__)


def split_images(text: str) -> list[str]:
    """`a.jpg; monet` -> ["a.jpg", "monet"]; empty (or `builtin`) -> []: the built-in style."""
    parts = split_pictures(text)
    return [] if parts in ([], [BUILTIN]) else parts


# -- the built-in style -------------------------------------------------------------------

_PALETTE = np.array([  # night blues to warm yellows (RGB 0..1)
    (0.07, 0.11, 0.32), (0.13, 0.27, 0.62), (0.20, 0.55, 0.72), (0.45, 0.72, 0.68),
    (0.95, 0.82, 0.30), (0.93, 0.52, 0.16), (0.98, 0.95, 0.80),
], dtype=np.float32)


def _smooth_noise(rng: np.random.Generator, h: int, w: int, cells: int) -> np.ndarray:
    """Value noise in 0..1: a cells x cells random grid, upscaled bicubically."""
    small = rng.random((cells, max(2, cells * w // h))).astype(np.float32)
    big = cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)
    return (big - big.min()) / (np.ptp(big) + 1e-6)


@functools.lru_cache(maxsize=4)
def builtin_style(size: int = 384, seed: int = 7) -> np.ndarray:
    """A procedural painting, uint8 size x size x 3 RGB: swirling brush strokes in night blues
    and warm yellows (line-integral convolution of noise along a vortex field, coloured by a
    palette carried along the same strokes). Deterministic for a seed."""
    rng = np.random.default_rng(seed)
    h = w = size
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    angle = 2 * np.pi * (0.6 * _smooth_noise(rng, h, w, 3) + 0.4 * _smooth_noise(rng, h, w, 6))
    for _ in range(3):  # a few vortices, as in a starry sky
        cx, cy, r = rng.random() * w, rng.random() * h, (0.12 + 0.15 * rng.random()) * size
        d2 = ((xs - cx) ** 2 + (ys - cy) ** 2) / r ** 2
        swirl = np.arctan2(ys - cy, xs - cx) + np.pi / 2
        wgt = np.exp(-d2)
        angle = np.arctan2((1 - wgt) * np.sin(angle) + wgt * np.sin(swirl),
                           (1 - wgt) * np.cos(angle) + wgt * np.cos(swirl))
    vx, vy = np.cos(angle).astype(np.float32), np.sin(angle).astype(np.float32)
    noise = cv2.GaussianBlur(rng.random((h, w)).astype(np.float32), (0, 0), 1.0)
    hue = 0.75 * _smooth_noise(rng, h, w, 4) + 0.25 * _smooth_noise(rng, h, w, 12)
    lic, colour, n = np.zeros_like(noise), np.zeros_like(hue), 0
    for sign in (1.0, -1.0):  # integrate streamlines both ways
        px, py = xs.copy(), ys.copy()
        for _ in range(14):
            lic += cv2.remap(noise, px, py, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
            colour += cv2.remap(hue, px, py, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
            n += 1
            sx = cv2.remap(vx, px, py, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
            sy = cv2.remap(vy, px, py, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
            px, py = px + sign * 1.5 * sx, py + sign * 1.5 * sy
    lic, colour = lic / n, colour / n
    lic = (lic - lic.mean()) / (lic.std() + 1e-6)
    t = np.clip((colour - colour.min()) / (np.ptp(colour) + 1e-6), 0, 1) * (len(_PALETTE) - 1)
    i0 = np.floor(t).astype(int).clip(0, len(_PALETTE) - 2)
    f = (t - i0)[..., None]
    rgb = _PALETTE[i0] * (1 - f) + _PALETTE[i0 + 1] * f
    rgb = rgb * (1.0 + 0.35 * lic[..., None])  # the strokes' light and shade
    out = (np.clip(rgb, 0, 1) * 255).astype(np.uint8)
    out.setflags(write=False)  # cached and shared
    return out


# -- the scene ------------------------------------------------------------------------------

def gram(feat: torch.Tensor) -> torch.Tensor:
    """B x C x h x w -> B x C x C, normalised by h*w (so independent of picture size), fp32."""
    b, c, h, w = feat.shape
    if feat.is_contiguous(memory_format=torch.channels_last) and not feat.is_contiguous():
        f = feat.permute(0, 2, 3, 1).reshape(b, h * w, c).float()  # a view: no copy
        return f.transpose(1, 2) @ f / (h * w)
    f = feat.float().reshape(b, c, h * w)
    return f @ f.transpose(1, 2) / (h * w)


def style_layers(depth: int) -> tuple[str, ...]:
    return tuple(f"relu{k}_1" for k in range(1, depth + 1))


class PaintScene(Scene):
    name = "paint"
    AVG_POOL = True  # Gatys et al.: average pools give smoother gradients for synthesis
    CACHE_SIZE = 16  # (picture, size, layers) Gram targets kept
    RETRY_S = 2.0  # a picture that failed to load is tried again after this long

    def __init__(self, device: torch.device, half: bool = False, seed: int = 0,
                 model: torch.nn.Module | None = None):
        super().__init__(device, half)
        if model is None:
            from ..models.vgg16 import load_vgg16

            model = load_vgg16(device, half=half and device.type == "cuda")
        self.model = model
        self.model_dtype = next(model.parameters()).dtype
        self.motion = MotionFollower()
        self.seed = seed
        self._grams: OrderedDict[tuple, dict[str, torch.Tensor]] = OrderedDict()
        self._failed: dict[str, float] = {}  # picture -> when it last failed to load
        self.last_losses: dict[str, float] = {}  # of the last step: style, content, total
        self.reset()

    # -- state -----------------------------------------------------------------------------
    def reset(self) -> None:
        self.img: torch.Tensor | None = None  # the painting at the working size, fp32
        self.m: torch.Tensor | None = None  # Adam's moments
        self.v: torch.Tensor | None = None
        self.t = 0
        self.motion.reset()

    # -- features and targets --------------------------------------------------------------
    def features(self, x: torch.Tensor, taps) -> dict[str, torch.Tensor]:
        # NHWC suits cuDNN's tensor cores; on the CPU both layouts convolve as fast, and NCHW
        # keeps the Gram matrices copy-free
        fmt = torch.channels_last if x.device.type == "cuda" else torch.contiguous_format
        x = x.to(self.model_dtype).contiguous(memory_format=fmt)
        return self.model.forward_taps(x, set(taps), avg_pool=self.AVG_POOL)

    @staticmethod
    def _locate(name: str) -> tuple[str, Path | None]:
        """(cache key, path) of a style picture: the key changes when the file does."""
        if name == BUILTIN:
            return BUILTIN, None
        path = resolve_style_image(name)
        try:
            return f"{path}@{path.stat().st_mtime_ns}", path
        except OSError:
            raise UserError(f"The style picture {path} cannot be read.") from None

    @staticmethod
    def _read(path: Path | None) -> np.ndarray:
        """uint8 RGB of a style picture; the built-in one for None."""
        if path is None:
            return builtin_style()
        check_image_file(path, "The style picture")
        image = cv2.imread(os.fspath(path), cv2.IMREAD_COLOR)
        if image is None:
            raise UserError(f"The style picture {path} could not be read as an image.")
        return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)

    def style_grams(self, name: str, hw: tuple[int, int], scale: float,
                    layers: tuple[str, ...]) -> dict[str, torch.Tensor]:
        """The Gram targets of one picture, sized to the area of `hw` times scale^2; cached
        per (file and its modification time, size, scale, layers)."""
        where, path = self._locate(name)
        key = (where, hw, round(float(scale), 2), layers)
        hit = self._grams.get(key)
        if hit is None:
            image = self._read(path)
            ih, iw = image.shape[:2]
            f = math.sqrt(hw[0] * hw[1] / (ih * iw)) * key[2]
            size = (max(16, round(iw * f)), max(16, round(ih * f)))
            image = cv2.resize(image, size, interpolation=cv2.INTER_AREA if f < 1 else cv2.INTER_CUBIC)
            x = torch.from_numpy(image).to(self.device).permute(2, 0, 1)[None].float().div_(255.0)
            with torch.no_grad():
                feats = self.features(x, layers)
            hit = {k: gram(v) for k, v in feats.items()}
            self._grams[key] = hit
            while len(self._grams) > self.CACHE_SIZE:
                self._grams.popitem(last=False)
        else:
            self._grams.move_to_end(key)
        return hit

    def style_targets(self, snap: Snapshot, hw: tuple[int, int]) -> dict[str, torch.Tensor] | None:
        """The weighted mean of the pictures' Gram matrices; None when every weight is 0."""
        names = split_images(snap["paint.image"])[:MAX_IMAGES] or [BUILTIN]
        layers = style_layers(snap["paint.depth"])
        total: dict[str, torch.Tensor] | None = None
        wsum = 0.0
        now = time.monotonic()
        for i, name in enumerate(names):
            w = float(snap[f"paint.w{i}"])
            if w <= 0 or now - self._failed.get(name, -1e9) < self.RETRY_S:
                continue
            try:
                grams = self.style_grams(name, hw, snap["paint.style_scale"], layers)
            except UserError as e:  # from OSC, or a file gone since: say so once, paint on
                if name not in self._failed:
                    log.warning("%s", e)
                self._failed[name] = now
                continue
            self._failed.pop(name, None)
            wsum += w
            if total is None:
                total = {k: g * w for k, g in grams.items()}
            else:
                for k, g in grams.items():
                    total[k] = total[k] + g * w
        if total is None or wsum <= 0:
            return None
        return {k: g / wsum for k, g in total.items()}

    # -- the optimisation ------------------------------------------------------------------
    def loss(self, img: torch.Tensor, content: dict[str, torch.Tensor],
             targets: dict[str, torch.Tensor] | None, snap: Snapshot) -> torch.Tensor:
        layer = snap["paint.content_layer"]
        taps = {layer} | (set(targets) if targets else set())
        feats = self.features(img, taps)
        zero = img.new_zeros(())
        style = zero
        if targets:
            for k, a in targets.items():
                style = style + (gram(feats[k]) - a).pow(2).sum() / (a.pow(2).sum() + 1e-8)
            style = style / len(targets)
        p = content[layer]
        cont = (feats[layer].float() - p).pow(2).sum() / (p.pow(2).sum() + 1e-8)
        total = snap["paint.style_weight"] * style + snap["paint.content_weight"] * cont
        self.last_losses = {"style": float(style.detach()), "content": float(cont.detach()),
                            "total": float(total.detach())}
        return total

    def step(self, content, targets, snap: Snapshot) -> None:
        """One Adam step on the painting (in place)."""
        img = self.img.detach().requires_grad_(True)
        loss = self.loss(img, content, targets, snap)
        (grad,) = torch.autograd.grad(loss, img)
        b1, b2, eps = 0.9, 0.999, 1e-8
        self.t += 1
        self.m.mul_(b1).add_(grad, alpha=1 - b1)
        self.v.mul_(b2).addcmul_(grad, grad, value=1 - b2)
        mhat = self.m / (1 - b1 ** self.t)
        vhat = self.v / (1 - b2 ** self.t)
        self.img = (self.img - snap["paint.lr"] * mhat / (vhat.sqrt() + eps)).clamp_(0.0, 1.0)

    def _working(self, frame: torch.Tensor, snap: Snapshot) -> torch.Tensor:
        h, w = frame.shape[-2:]
        s = snap["paint.scale"]
        if s >= 0.999:
            return frame.float().contiguous()
        size = (max(16, round(h * s)), max(16, round(w * s)))
        return F.interpolate(frame.float(), size=size, mode="bilinear", align_corners=False,
                             antialias=True)

    def _carry(self, x: torch.Tensor, snap: Snapshot) -> None:
        """Bring the painting to this tick: reset, follow the camera, re-anchor."""
        if snap.fired("paint.reset") or (self.img is not None and self.img.shape != x.shape):
            self.reset()
        if snap["paint.follow"]:
            self.motion.update(x)
        if self.img is None:
            self.img = x.clone()
            self.m, self.v, self.t = torch.zeros_like(x), torch.zeros_like(x), 0
            return
        if snap["paint.follow"]:
            self.img, self.m = self.motion.warp(self.img), self.motion.warp(self.m)
            self.v = self.motion.warp(self.v)
            came_in = self._came_in(x)
            if came_in is not None:  # what the camera just revealed starts as the camera's
                self.img = torch.where(came_in, x, self.img)
        if snap["paint.anchor"] > 0:
            self.img = torch.lerp(self.img, x, snap["paint.anchor"])

    def _came_in(self, x: torch.Tensor) -> torch.Tensor | None:
        """1x1xhxw True where the last motion brought in picture from outside the frame
        (the follower's warp would smear the edge there); None before there is motion."""
        grid = getattr(self.motion, "_grid", None)
        if grid is None or grid.shape[1:3] != x.shape[-2:]:
            return None
        return (grid.abs() > 1.0).any(dim=-1)[:, None]

    def process(self, frame: torch.Tensor, snap: Snapshot) -> torch.Tensor:
        x = self._working(frame, snap)
        self._carry(x, snap)
        hw = tuple(x.shape[-2:])
        targets = self.style_targets(snap, hw)
        with torch.no_grad():
            content = {k: v.float() for k, v in
                       self.features(x, {snap["paint.content_layer"]}).items()}
        for _ in range(snap["paint.steps"]):
            self.step(content, targets, snap)
        if not bool(torch.isfinite(self.img).all()):  # a NaN would live forever in the warm start
            log.warning("paint state went non-finite; reset")
            self.reset()
            return frame
        out = self.img
        if out.shape[-2:] != frame.shape[-2:]:
            out = F.interpolate(out, size=frame.shape[-2:], mode="bilinear", align_corners=False)
        out = out.to(frame.dtype)
        mix = snap["paint.mix"]
        return out if mix >= 1.0 else torch.lerp(frame, out, mix)
