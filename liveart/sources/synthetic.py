"""A generated outdoor scene: the stand-in when there is no camera, and the benchmark input.

`SyntheticScene` paints a stylised landscape photo (sky with soft clouds, distant mountains, a
forested ridge, a meadow in perspective, fruit, rocks, bushes, a tree and a striped or spotted
animal with a face) once, at the target size, into layers. `frame(t)` only slides those layers
against each other (camera pan with parallax, drifting clouds, a shuffling animal, swaying
foliage), then applies a gentle hand-held zoom/rotation and a slowly changing light, so a frame
costs a few cheap OpenCV passes. Everything is derived from the seed: no files, no downloads.
"""
from __future__ import annotations

import math
import threading
import time

import cv2
import numpy as np

from .base import Pacer, Source

_LIGHT = np.array([-0.55, -0.62, 0.56], np.float32)  # sun direction (x right, y down, z to viewer)
_LIGHT /= np.linalg.norm(_LIGHT)


# --------------------------------------------------------------------------- noise helpers

def _standardize(a: np.ndarray) -> np.ndarray:
    a = a - a.mean()
    return a / (a.std() + 1e-6)


def _smoothstep(e0: float, e1: float, x: np.ndarray) -> np.ndarray:
    t = np.clip((x - e0) / (e1 - e0), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def _grid_noise(rng: np.random.Generator, h: int, w: int, cy: float, cx: float) -> np.ndarray:
    """Smooth value noise of shape (h, w) with features about cy x cx pixels."""
    cy = max(float(cy), 1.0)
    cx = max(float(cx), 1.0)
    gh = int(math.ceil(h / cy)) + 4
    gw = int(math.ceil(w / cx)) + 4
    g = rng.standard_normal((gh, gw)).astype(np.float32)
    out = cv2.resize(g, (int(round(gw * cx)), int(round(gh * cy))), interpolation=cv2.INTER_CUBIC)
    oy, ox = int(cy), int(cx)
    return out[oy:oy + h, ox:ox + w]


def _fbm(rng, h, w, cell, octaves=5, gain=0.5, aspect=1.0) -> np.ndarray:
    """Fractal noise, standardised (mean 0, std 1). `aspect` stretches features horizontally."""
    total = np.zeros((h, w), np.float32)
    amp = 1.0
    for i in range(octaves):
        c = cell / 2.0 ** i
        if c < 1.0:
            break
        total += amp * _grid_noise(rng, h, w, c, c * aspect)
        amp *= gain
    return _standardize(total)


def _noise1d(rng, n: int, cell: float, octaves=4, gain=0.5) -> np.ndarray:
    return _fbm(rng, 1, n, cell, octaves, gain, aspect=1.0)[0] if cell >= 1 else np.zeros(n, np.float32)


def _noise_at(rng, u: np.ndarray, v: np.ndarray, period_u: int | None = None) -> np.ndarray:
    """Value noise sampled at float coordinates (in cells); periodic in u when period_u is set."""
    cap = 1024
    v0 = float(v.min())
    gh = min(cap, int(math.ceil(float(v.max()) - v0)) + 6)
    if period_u is None:
        u0 = float(u.min())
        gw = min(cap, int(math.ceil(float(u.max()) - u0)) + 6)
        mu = (u - (u0 - 2.0)).astype(np.float32)
    else:
        gw = int(period_u)
        mu = u.astype(np.float32)
    mv = (v - (v0 - 2.0)).astype(np.float32)
    g = rng.standard_normal((gh, gw)).astype(np.float32)
    return cv2.remap(g, mu, mv, cv2.INTER_CUBIC, borderMode=cv2.BORDER_WRAP)


def _mix(a, b, t):
    """Lerp colours a -> b by t (t broadcast over a trailing channel axis)."""
    t = np.asarray(t, np.float32)
    if t.ndim:
        t = t[..., None]
    return np.asarray(a, np.float32) * (1.0 - t) + np.asarray(b, np.float32) * t


def _to_u8(img: np.ndarray) -> np.ndarray:
    return np.clip(img * 255.0 + 0.5, 0, 255).astype(np.uint8)


# --------------------------------------------------------------------------- sprites

class _Sprite:
    """A premultiplied RGBA cut-out (with its own soft shadow) placed on the ground."""

    def __init__(self, rgb: np.ndarray, alpha: np.ndarray, anchor: tuple[float, float],
                 pos: tuple[float, float], parallax: float = 1.0, sway: float = 0.0,
                 walk: float = 0.0, phase: float = 0.0, slide: float = 0.0):
        a = np.clip(alpha, 0.0, 1.0).astype(np.float32)
        self.rgbp = _to_u8(rgb * a[..., None])
        self.inva = _to_u8(np.repeat((1.0 - a)[..., None], 3, axis=2))
        self.h, self.w = a.shape
        self.ax, self.ay = anchor  # anchor (contact point) inside the sprite, pixels
        self.x, self.y = pos  # where the anchor sits on screen at camera 0
        self.parallax = parallax
        self.sway = sway  # top displacement amplitude, pixels
        self.walk = walk  # horizontal shuffle amplitude, pixels
        self.slide = slide  # whole-sprite sway amplitude, pixels (cheap: no resampling)
        self.phase = phase
        self.depth = pos[1]  # painter's order key

    def draw(self, buf: np.ndarray, cam: float, t: float) -> None:
        rgbp, inva = self.rgbp, self.inva
        x = self.x - cam * self.parallax
        y = self.y
        if self.walk:
            x += self.walk * math.sin(0.21 * t + self.phase) + 0.35 * self.walk * math.sin(0.53 * t)
            y -= abs(math.sin(2.2 * t + self.phase)) * self.walk * 0.035
        if self.slide:
            x += self.slide * (math.sin(0.8 * t + self.phase) + 0.4 * math.sin(2.1 * t + 1.3 * self.phase))
        x0 = int(round(x - self.ax))
        y0 = int(round(y - self.ay))
        H, W = buf.shape[:2]
        bx0, by0 = max(x0, 0), max(y0, 0)
        bx1, by1 = min(x0 + self.w, W), min(y0 + self.h, H)
        if bx0 >= bx1 or by0 >= by1:
            return
        sx0, sy0 = bx0 - x0, by0 - y0
        sx1, sy1 = sx0 + (bx1 - bx0), sy0 + (by1 - by0)
        if self.sway:  # shear the visible part about the base: foliage in the wind
            k = self.sway / max(self.ay, 1.0) * (math.sin(0.9 * t + self.phase)
                                                  + 0.4 * math.sin(2.3 * t + 1.7 * self.phase))
            m = np.float32([[1.0, k, -k * self.ay - sx0], [0.0, 1.0, -sy0]])
            size = (sx1 - sx0, sy1 - sy0)
            rgbp = cv2.warpAffine(rgbp, m, size, flags=cv2.INTER_LINEAR,
                                  borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0))
            inva = cv2.warpAffine(inva, m, size, flags=cv2.INTER_LINEAR,
                                  borderMode=cv2.BORDER_CONSTANT, borderValue=(255, 255, 255))
        else:
            rgbp, inva = rgbp[sy0:sy1, sx0:sx1], inva[sy0:sy1, sx0:sx1]
        roi = buf[by0:by1, bx0:bx1]
        tmp = cv2.multiply(roi, inva, scale=1.0 / 255.0)
        cv2.add(tmp, rgbp, dst=tmp)
        roi[...] = tmp


def _soft_shadow(h, w, cx, cy, rx, ry, blur, strength) -> np.ndarray:
    sh = np.zeros((h, w), np.float32)
    if rx >= 0.5 and ry >= 0.5:
        cv2.ellipse(sh, (int(round(cx * 4)), int(round(cy * 4))),
                    (int(round(rx * 4)), int(round(ry * 4))), 0, 0, 360, 1.0, -1, cv2.LINE_AA, 2)
    k = max(3, int(blur) * 2 + 1)
    return cv2.GaussianBlur(sh, (k, k), 0) * strength


def _with_shadow(rgb, alpha, shadow):
    """Put a (black, soft) shadow under an object: premultiplied-aware 'over'."""
    a = alpha + shadow * (1.0 - alpha)
    rgb_un = np.where(a[..., None] > 1e-4, rgb * (alpha / np.maximum(a, 1e-4))[..., None], 0.0)
    return rgb_un.astype(np.float32), a.astype(np.float32)


def _mask_normals(mask: np.ndarray, soft: float) -> np.ndarray:
    """Pillow-like normals for a filled shape (distance-transform height field)."""
    m8 = (mask > 0.5).astype(np.uint8)
    d = cv2.distanceTransform(m8, cv2.DIST_L2, 5)
    d = np.sqrt(d / max(float(d.max()), 1e-3)).astype(np.float32)
    k = max(3, int(soft) * 2 + 1)
    d = cv2.GaussianBlur(d, (k, k), 0)
    gx = cv2.Sobel(d, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(d, cv2.CV_32F, 0, 1, ksize=3)
    scale = max(mask.shape) * 0.35
    n = np.dstack([-gx * scale, -gy * scale, np.ones_like(d)])
    return n / np.linalg.norm(n, axis=2, keepdims=True)


def _lambert(n: np.ndarray, ambient: float) -> np.ndarray:
    return ambient + (1.0 - ambient) * np.clip(n @ _LIGHT, 0.0, 1.0)


def _specular(n: np.ndarray, power: float) -> np.ndarray:
    h = _LIGHT + np.float32([0, 0, 1])
    h = h / np.linalg.norm(h)
    return np.clip(n @ h, 0.0, 1.0) ** power


def _make_fruit(rng, r: float, kind: str):
    r = max(r, 1.5)
    pad = int(math.ceil(r * 0.9)) + 2
    h = int(math.ceil(2 * r * 1.15)) + 2 * pad
    w = int(math.ceil(2 * r * 1.4)) + 2 * pad
    lemon = kind == "lemon"
    ry = r * (0.78 if lemon else 0.95)
    cx, cy = w / 2.0, h - pad - ry
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    nx = (xx - cx) / (r * (1.12 if lemon else 1.0))
    ny = (yy - cy) / ry
    d = np.sqrt(nx * nx + ny * ny)
    ct, st = nx / (d + 1e-6), ny / (d + 1e-6)
    if lemon:  # pointed ends
        reff = 1.0 + 0.2 * np.abs(ct) ** 12
    else:  # apples/oranges: a little flattened, with a dimple on top
        reff = 1.0 - 0.05 * np.clip(-st, 0, 1) ** 16 - 0.03 * st ** 2
    rr = d / reff
    alpha = np.clip((1.0 - rr) * r + 0.5, 0.0, 1.0)
    nz = np.sqrt(np.clip(1.0 - rr * rr, 0.0, 1.0))
    n = np.dstack([nx / reff, ny / reff, nz]).astype(np.float32)
    n /= np.linalg.norm(n, axis=2, keepdims=True) + 1e-6
    fine = _fbm(rng, h, w, max(r / 6, 1.0), 2)
    if kind in ("orange", "lemon"):
        base = (np.float32([0.98, 0.50, 0.05]) if kind == "orange" else np.float32([0.98, 0.86, 0.16]))
        base = base * rng.uniform(0.92, 1.04)
        pits = _standardize(_grid_noise(rng, h, w, max(r / 14, 1.5), max(r / 14, 1.5)))
        alb = base * (1.0 + 0.05 * fine + 0.03 * pits)[..., None]
        spec_k, power = 0.3, 14
    else:  # apples: streaky skin
        streak = _standardize(_grid_noise(rng, h, w, r * 0.9, max(r / 12, 1.0)))
        if kind == "apple":
            c0, c1 = np.float32([0.72, 0.06, 0.05]) * rng.uniform(0.85, 1.1), np.float32([0.90, 0.66, 0.14])
            tmix = np.clip(0.2 + 0.28 * streak + 0.45 * (ny - 0.1), 0, 1) ** 1.4
        else:  # green apple
            c0, c1 = np.float32([0.50, 0.78, 0.18]), np.float32([0.78, 0.84, 0.30])
            tmix = np.clip(0.3 + 0.2 * streak + 0.3 * (ny - 0.1), 0, 1)
        alb = _mix(c0, c1, tmix) * (1.0 + 0.04 * fine)[..., None]
        spec_k, power = 0.6, 40
    alb = np.broadcast_to(alb, (h, w, 3)).astype(np.float32)
    occl = np.clip(0.55 + 0.45 * (1.0 - np.clip(ny, 0, 1)), 0, 1)  # darker where it meets the ground
    rgb = alb * (_lambert(n, 0.32) * occl)[..., None] + spec_k * _specular(n, power)[..., None]
    if kind != "lemon" and r > 4:  # stem
        p0 = (int((cx + 0.02 * r) * 4), int((cy - 0.80 * ry) * 4))
        p1 = (int((cx + (0.15 if kind != "orange" else 0.04) * r) * 4),
              int((cy - (1.15 if kind != "orange" else 0.92) * ry) * 4))
        col = (0.25, 0.16, 0.07) if kind != "orange" else (0.35, 0.42, 0.12)
        cv2.line(rgb, p0, p1, col, max(1, int(r * (0.08 if kind != "orange" else 0.1))), cv2.LINE_AA, 2)
        cv2.line(alpha, p0, p1, 1.0, max(1, int(r * (0.08 if kind != "orange" else 0.1))), cv2.LINE_AA, 2)
    shadow = _soft_shadow(h, w, cx + 0.45 * r, cy + 0.92 * ry, r * 1.15, r * 0.3, r * 0.25, 0.6)
    rgb, a = _with_shadow(rgb, alpha, shadow)
    return rgb, a, (cx, cy + ry)


def _make_rock(rng, r: float):
    r = max(r, 2.0)
    pad = int(math.ceil(r * 1.0)) + 2
    w = int(math.ceil(2.6 * r)) + 2 * pad
    h = int(math.ceil(1.6 * r)) + 2 * pad
    ss = 4
    cx, cy = w / 2.0, h - pad - 0.1 * r
    ang = np.linspace(0, np.pi, 14)
    rad = r * (1.0 + 0.18 * rng.standard_normal(14))
    pts = np.stack([cx + 1.25 * rad * np.cos(ang), cy - 0.95 * rad * np.sin(ang)], 1)
    mask = np.zeros((h * ss, w * ss), np.uint8)
    cv2.fillPoly(mask, [np.round(pts * ss).astype(np.int32)], 255, cv2.LINE_AA)
    mask = cv2.resize(mask, (w, h), interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0
    mask = cv2.GaussianBlur(mask, (3, 3), 0.6)
    n = _mask_normals(mask, r * 0.08)
    tex = _fbm(rng, h, w, max(r / 3, 1.0), 4)
    grey = np.float32(rng.uniform(0.52, 0.68)) * np.float32([1.0, 0.97, 0.92])
    alb = grey * (1.0 + 0.22 * tex)[..., None]
    moss = _smoothstep(0.4, 1.2, _fbm(rng, h, w, max(r / 4, 1.0), 3))
    moss *= np.clip(-n[..., 1] + 0.2, 0, 1)  # moss on the tops
    alb = _mix(alb, np.float32([0.28, 0.36, 0.14]), moss * 0.8)
    rgb = alb * _lambert(n, 0.35)[..., None] + 0.08 * _specular(n, 8)[..., None]
    shadow = _soft_shadow(h, w, cx + 0.5 * r, cy, r * 1.45, r * 0.3, r * 0.25, 0.55)
    rgb, a = _with_shadow(rgb, mask, shadow)
    return rgb, a, (cx, cy)


def _draw_leaves(rng, rgb, alpha, cx, cy, rx, ry, leaf, count, greens, ss, berries=None):
    """Scatter leaves over a dome; back leaves darker, front/top-left leaves lighter."""
    for i in range(count):
        depth = i / max(count - 1, 1)  # back to front
        a = rng.uniform(0, 2 * np.pi)
        rr = math.sqrt(rng.uniform(0, 1))
        px = cx + rx * rr * math.cos(a)
        py = cy + ry * rr * math.sin(a) * (0.9 if math.sin(a) < 0 else 0.7)
        lit = 0.45 + 0.55 * depth
        lit *= 1.0 + 0.35 * (-(px - cx) / rx - (py - cy) / ry) * 0.5
        lit = float(np.clip(lit * rng.uniform(0.8, 1.15), 0.2, 1.35))
        c = np.float32(greens[rng.integers(len(greens))]) * lit
        ll = leaf * rng.uniform(0.7, 1.3)
        axes = (max(1, int(ll * ss)), max(1, int(ll * 0.45 * ss)))
        center = (int(px * ss), int(py * ss))
        ang = float(rng.uniform(0, 180))
        cv2.ellipse(rgb, center, axes, ang, 0, 360, c.tolist(), -1, cv2.LINE_AA)
        cv2.ellipse(alpha, center, axes, ang, 0, 360, 1.0, -1, cv2.LINE_AA)
        if ll * ss > 6:  # midrib highlight
            d = (math.cos(math.radians(ang)) * axes[0] * 0.8, math.sin(math.radians(ang)) * axes[0] * 0.8)
            cv2.line(rgb, (int(center[0] - d[0]), int(center[1] - d[1])),
                     (int(center[0] + d[0]), int(center[1] + d[1])),
                     (c * 1.25).tolist(), max(1, ss // 2), cv2.LINE_AA)
    if berries is not None:
        col, nb = berries
        for _ in range(nb):
            a = rng.uniform(0, 2 * np.pi)
            rr = math.sqrt(rng.uniform(0, 0.8))
            p = (int((cx + rx * rr * math.cos(a)) * ss), int((cy + ry * rr * math.sin(a) * 0.8) * ss))
            br = max(1, int(leaf * 0.35 * ss))
            cv2.circle(rgb, p, br, np.float32(col).tolist(), -1, cv2.LINE_AA)
            cv2.circle(alpha, p, br, 1.0, -1, cv2.LINE_AA)
            cv2.circle(rgb, (p[0] - br // 3, p[1] - br // 3), max(1, br // 3),
                       (min(1, col[0] + 0.5), min(1, col[1] + 0.5), min(1, col[2] + 0.5)), -1, cv2.LINE_AA)


def _make_bush(rng, r: float, greens, flowers: bool, blur: float = 0.0):
    r = max(r, 2.0)
    pad = int(math.ceil(r * 0.7)) + 3
    w = int(math.ceil(2.6 * r)) + 2 * pad
    h = int(math.ceil(1.5 * r)) + 2 * pad
    ss = 3 if r < 150 else 2
    rgb = np.zeros((h * ss, w * ss, 3), np.float32)
    alpha = np.zeros((h * ss, w * ss), np.float32)
    cx, base = w / 2.0, h - pad
    leaf = max(r * 0.085, 0.8)
    count = int(np.clip(3.5 * (r / leaf) ** 2, 12, 1400))
    berries = (rng.choice([(0.85, 0.1, 0.1), (0.95, 0.9, 0.9), (0.8, 0.35, 0.75)]), count // 25) if flowers else None
    # dark core first so gaps between leaves read as depth
    cv2.ellipse(rgb, (int(cx * ss), int((base - 0.6 * r) * ss)), (int(1.1 * r * ss), int(0.6 * r * ss)),
                0, 0, 360, (np.float32(greens[0]) * 0.35).tolist(), -1, cv2.LINE_AA)
    cv2.ellipse(alpha, (int(cx * ss), int((base - 0.6 * r) * ss)), (int(1.1 * r * ss), int(0.6 * r * ss)),
                0, 0, 360, 1.0, -1, cv2.LINE_AA)
    _draw_leaves(rng, rgb, alpha, cx, base - 0.65 * r, 1.2 * r, 0.75 * r, leaf, count, greens, ss, berries)
    rgb = cv2.resize(rgb, (w, h), interpolation=cv2.INTER_AREA)
    alpha = cv2.resize(alpha, (w, h), interpolation=cv2.INTER_AREA)
    if blur > 0.5:
        k = int(blur) * 2 + 1
        rgb = cv2.GaussianBlur(rgb, (k, k), 0)
        alpha = cv2.GaussianBlur(alpha, (k, k), 0)
    rgb = rgb / np.maximum(alpha, 1e-4)[..., None]
    shadow = _soft_shadow(h, w, cx + 0.35 * r, base - 0.05 * r, r * 1.3, r * 0.25, r * 0.2, 0.55)
    rgb, a = _with_shadow(rgb, np.clip(alpha, 0, 1), shadow)
    return rgb, a, (cx, base)


def _make_tree(rng, height: float, greens):
    height = max(height, 4.0)
    cr = height * 0.33
    pad = int(math.ceil(cr * 0.6)) + 3
    w = int(math.ceil(3.0 * cr)) + 2 * pad
    h = int(math.ceil(height + cr * 0.3)) + 2 * pad
    ss = 3 if height < 300 else 2
    cx, base = w / 2.0, h - pad
    rgb = np.zeros((h * ss, w * ss, 3), np.float32)
    alpha = np.zeros((h * ss, w * ss), np.float32)
    tw = max(height * 0.045, 0.8)
    trunk = np.float32([[cx - tw, base], [cx + tw, base], [cx + tw * 0.55, base - height * 0.62],
                        [cx - tw * 0.55, base - height * 0.62]])
    cv2.fillPoly(rgb, [np.round(trunk * ss).astype(np.int32)], (0.30, 0.21, 0.13), cv2.LINE_AA)
    cv2.fillPoly(alpha, [np.round(trunk * ss).astype(np.int32)], 1.0, cv2.LINE_AA)
    for k in range(3):  # branches
        y = base - height * rng.uniform(0.45, 0.65)
        d = (-1) ** k * rng.uniform(0.4, 0.8) * cr
        cv2.line(rgb, (int(cx * ss), int(y * ss)), (int((cx + d) * ss), int((y - cr * 0.6) * ss)),
                 (0.27, 0.19, 0.12), max(1, int(tw * 0.6 * ss)), cv2.LINE_AA)
        cv2.line(alpha, (int(cx * ss), int(y * ss)), (int((cx + d) * ss), int((y - cr * 0.6) * ss)),
                 1.0, max(1, int(tw * 0.6 * ss)), cv2.LINE_AA)
    leaf = max(cr * 0.07, 0.7)
    for (ox, oy, s) in [(-0.55, -0.15, 0.75), (0.55, -0.2, 0.75), (0.0, -0.55, 0.85), (0.0, -0.05, 0.9)]:
        ccx, ccy = cx + ox * cr, base - height + cr * 1.05 + oy * cr
        n = int(np.clip(2.2 * (s * cr / leaf) ** 2, 10, 1200))
        _draw_leaves(rng, rgb, alpha, ccx, ccy, s * cr, s * cr * 0.8, leaf, n, greens, ss)
    rgb = cv2.resize(rgb, (w, h), interpolation=cv2.INTER_AREA)
    alpha = np.clip(cv2.resize(alpha, (w, h), interpolation=cv2.INTER_AREA), 0, 1)
    yy = np.arange(h, dtype=np.float32)[:, None]
    bark = 1.0 + 0.25 * _fbm(rng, h, w, max(tw * 0.25, 1.0), 2, aspect=0.25)
    is_trunk = (yy > base - height * 0.62).astype(np.float32) * (np.abs(np.arange(w) - cx) < tw * 1.3)
    rgb = rgb / np.maximum(alpha, 1e-4)[..., None]
    rgb *= (1.0 + (bark - 1.0) * is_trunk)[..., None]
    shadow = _soft_shadow(h, w, cx + cr * 0.6, base - 0.02 * height, cr * 1.1, cr * 0.2, cr * 0.2, 0.5)
    rgb, a = _with_shadow(rgb, alpha, shadow)
    return rgb, a, (cx, base)


def _make_animal(rng, length: float, pattern: str, facing: int):
    L = max(length, 6.0)
    pad = int(math.ceil(L * 0.18)) + 3
    w = int(math.ceil(1.55 * L)) + 2 * pad
    h = int(math.ceil(1.0 * L)) + 2 * pad
    ss = 4 if L < 200 else 2
    base = h - pad  # feet line
    cx = w / 2.0 - 0.12 * L
    body_cy = base - 0.50 * L
    mask = np.zeros((h * ss, w * ss), np.uint8)

    def S(v):
        return int(round(v * ss))

    cv2.ellipse(mask, (S(cx), S(body_cy)), (S(0.50 * L), S(0.22 * L)), 0, 0, 360, 255, -1, cv2.LINE_AA)
    for lx in (-0.36, -0.22, 0.24, 0.38):  # legs
        x = cx + lx * L
        pts = np.float32([[x - 0.055 * L, body_cy], [x + 0.055 * L, body_cy],
                          [x + 0.04 * L, base], [x - 0.045 * L, base]])
        cv2.fillPoly(mask, [np.round(pts * ss).astype(np.int32)], 255, cv2.LINE_AA)
    hx, hy = cx + 0.55 * L, body_cy - 0.27 * L
    neck = np.float32([[cx + 0.30 * L, body_cy - 0.12 * L], [cx + 0.40 * L, body_cy + 0.08 * L],
                       [hx + 0.02 * L, hy + 0.08 * L], [hx - 0.10 * L, hy - 0.08 * L]])
    cv2.fillPoly(mask, [np.round(neck * ss).astype(np.int32)], 255, cv2.LINE_AA)
    cv2.ellipse(mask, (S(hx), S(hy)), (S(0.17 * L), S(0.155 * L)), 0, 0, 360, 255, -1, cv2.LINE_AA)
    for ex in (-0.12, 0.12):  # ears
        cv2.ellipse(mask, (S(hx + ex * L), S(hy - 0.14 * L)), (S(0.05 * L), S(0.07 * L)),
                    ex * 150, 0, 360, 255, -1, cv2.LINE_AA)
    cv2.ellipse(mask, (S(cx - 0.50 * L), S(body_cy - 0.05 * L)), (S(0.16 * L), S(0.03 * L)), 40,
                0, 360, 255, -1, cv2.LINE_AA)  # tail
    mask = cv2.resize(mask, (w, h), interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0
    n = _mask_normals(mask, L * 0.03)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    warp = _fbm(rng, h, w, max(L * 0.12, 1.0), 2)
    if pattern == "tiger":
        fur, mark = np.float32([0.86, 0.50, 0.16]), np.float32([0.08, 0.06, 0.05])
        legs = yy > body_cy + 0.16 * L
        f = np.where(legs, np.sin(2 * np.pi * yy / (0.06 * L)),
                     np.sin(2 * np.pi * (xx + 0.025 * L * warp + 0.25 * np.abs(yy - body_cy)) / (0.075 * L)))
        taper = np.where(legs, 1.0, 0.35 + 0.5 * _smoothstep(body_cy + 0.15 * L, body_cy - 0.2 * L, yy))
        marks = _smoothstep(1.0 - taper, 1.15 - taper, f)
    elif pattern == "zebra":
        fur, mark = np.float32([0.90, 0.88, 0.84]), np.float32([0.07, 0.07, 0.08])
        legs = yy > body_cy + 0.16 * L
        f = np.where(legs, np.sin(2 * np.pi * (yy + 0.01 * L * warp) / (0.04 * L)),
                     np.sin(2 * np.pi * (xx + 0.025 * L * warp - 0.3 * np.abs(yy - body_cy)) / (0.06 * L)))
        marks = _smoothstep(-0.12, 0.08, f + 0.1 * warp)
    elif pattern == "leopard":
        fur, mark = np.float32([0.84, 0.64, 0.32]), np.float32([0.16, 0.10, 0.06])
        spacing = max(L * 0.075, 2.0)  # rosettes around jittered grid points
        pts = np.full((h, w), 255, np.uint8)
        for gy in np.arange(spacing * 0.5, h, spacing * 0.85):
            for gx in np.arange(spacing * 0.5, w, spacing):
                px = int(gx + rng.uniform(-0.3, 0.3) * spacing + (spacing * 0.5 if int(gy / spacing) % 2 else 0))
                py = int(gy + rng.uniform(-0.25, 0.25) * spacing)
                if 0 <= px < w and 0 <= py < h:
                    pts[py, px] = 0
        dn = cv2.distanceTransform(pts, cv2.DIST_L2, 5) / spacing + 0.07 * warp
        marks = _smoothstep(0.36, 0.28, dn) * (1.0 - 0.75 * _smoothstep(0.2, 0.13, dn))
    else:  # cow
        fur, mark = np.float32([0.93, 0.91, 0.88]), np.float32([0.09, 0.08, 0.08])
        sp = _fbm(rng, h, w, max(L * 0.16, 1.0), 3)
        marks = _smoothstep(0.35, 0.55, sp)
    belly = _smoothstep(body_cy + 0.02 * L, body_cy + 0.2 * L, yy) * (np.abs(xx - cx) < 0.4 * L)
    alb = _mix(fur, mark, marks * 0.95)
    alb = _mix(alb, np.float32([0.95, 0.92, 0.85]), belly * 0.55)
    alb *= (1.0 + 0.05 * _fbm(rng, h, w, max(L * 0.015, 1.5), 2, aspect=0.4))[..., None]
    legs_dark = _smoothstep(base - 0.1 * L, base, yy)
    alb = _mix(alb, np.float32([0.12, 0.1, 0.08]), legs_dark * 0.8)
    rgb = alb * _lambert(n, 0.42)[..., None] + 0.06 * _specular(n, 10)[..., None]
    # face: muzzle, two eyes with catch-lights, nose
    ssf = 4
    face = np.zeros((h * ssf, w * ssf, 3), np.float32)
    fa = np.zeros((h * ssf, w * ssf), np.float32)

    def F(v):
        return int(round(v * ssf))

    cv2.ellipse(face, (F(hx), F(hy + 0.075 * L)), (F(0.085 * L), F(0.06 * L)), 0, 0, 360,
                (0.85, 0.80, 0.72), -1, cv2.LINE_AA)
    cv2.ellipse(fa, (F(hx), F(hy + 0.075 * L)), (F(0.085 * L), F(0.06 * L)), 0, 0, 360, 0.9, -1, cv2.LINE_AA)
    for ex in (-0.065, 0.065):
        cv2.ellipse(face, (F(hx + ex * L), F(hy - 0.025 * L)), (F(0.034 * L), F(0.028 * L)), 0, 0, 360,
                    (0.03, 0.025, 0.02), -1, cv2.LINE_AA)
        cv2.ellipse(fa, (F(hx + ex * L), F(hy - 0.025 * L)), (F(0.034 * L), F(0.028 * L)), 0, 0, 360,
                    1.0, -1, cv2.LINE_AA)
        cv2.circle(face, (F(hx + ex * L - 0.01 * L), F(hy - 0.035 * L)), max(1, F(0.009 * L)),
                   (0.95, 0.95, 0.95), -1, cv2.LINE_AA)
    cv2.ellipse(face, (F(hx), F(hy + 0.055 * L)), (F(0.03 * L), F(0.018 * L)), 0, 0, 360,
                (0.1, 0.06, 0.06), -1, cv2.LINE_AA)
    cv2.ellipse(fa, (F(hx), F(hy + 0.055 * L)), (F(0.03 * L), F(0.018 * L)), 0, 0, 360, 1.0, -1, cv2.LINE_AA)
    face = cv2.resize(face, (w, h), interpolation=cv2.INTER_AREA)
    fa = np.clip(cv2.resize(fa, (w, h), interpolation=cv2.INTER_AREA), 0, 1)
    face = face / np.maximum(fa, 1e-4)[..., None]
    shade = _lambert(n, 0.6)[..., None]
    rgb = _mix(rgb, np.clip(face * shade, 0, 1.2), fa * mask)
    shadow = _soft_shadow(h, w, cx + 0.12 * L, base - 0.01 * L, 0.62 * L, 0.07 * L, 0.05 * L, 0.6)
    rgb, a = _with_shadow(rgb, mask, shadow)
    if facing < 0:
        rgb, a = rgb[:, ::-1].copy(), a[:, ::-1].copy()
        return rgb, a, (w - (cx + 0.05 * L), base)
    return rgb, a, (cx + 0.05 * L, base)


# --------------------------------------------------------------------------- the scene

_SKIES = [  # zenith, horizon, haze, sun tint
    ((0.16, 0.36, 0.70), (0.68, 0.79, 0.90), (0.66, 0.74, 0.84), (1.00, 0.96, 0.88)),
    ((0.22, 0.42, 0.72), (0.92, 0.83, 0.68), (0.80, 0.77, 0.72), (1.00, 0.90, 0.72)),
    ((0.40, 0.52, 0.68), (0.82, 0.85, 0.87), (0.74, 0.78, 0.82), (0.98, 0.98, 0.96)),
    ((0.26, 0.32, 0.58), (0.98, 0.70, 0.46), (0.82, 0.66, 0.58), (1.00, 0.80, 0.55)),
]
_GRASS = [  # dark, light, dry
    ((0.13, 0.30, 0.07), (0.42, 0.60, 0.16), (0.62, 0.58, 0.28)),
    ((0.20, 0.32, 0.08), (0.55, 0.60, 0.22), (0.72, 0.62, 0.34)),
    ((0.09, 0.26, 0.10), (0.32, 0.55, 0.20), (0.50, 0.52, 0.30)),
]


class _Layer:
    """A full-width, panning layer: premultiplied RGB for rows [top, cover), inverse alpha for its
    soft top band [top, bot); opaque below `bot`."""

    def __init__(self, rgb, alpha, top, parallax, margin):
        self.rgb_f, self.alpha_f, self.top, self.parallax, self.margin = rgb, alpha, top, parallax, margin

    def finish(self, cover: int):
        rows = max(cover - self.top, 0)
        a = self.alpha_f[:rows]
        full = np.all(a >= 0.999, axis=1)
        bot_rel = rows
        if rows and full.any():
            nf = np.nonzero(~full)[0]
            bot_rel = int(nf[-1]) + 1 if nf.size else 0
        self.bot = self.top + bot_rel
        self.cover = cover
        self.rgbp = _to_u8(self.rgb_f[:rows] * a[..., None])
        self.inva = _to_u8(np.repeat((1.0 - a[:bot_rel])[..., None], 3, axis=2))
        del self.rgb_f, self.alpha_f

    def draw(self, buf: np.ndarray, cam: float) -> None:
        W = buf.shape[1]
        ox = self.margin + int(round(cam * self.parallax))
        ox = min(max(ox, 0), self.rgbp.shape[1] - W)
        if self.bot > self.top:
            band = buf[self.top:self.bot]
            cv2.multiply(band, self.inva[:, ox:ox + W], dst=band, scale=1.0 / 255.0)
            cv2.add(band, self.rgbp[:self.bot - self.top, ox:ox + W], dst=band)
        if self.cover > self.bot:
            buf[self.bot:self.cover] = self.rgbp[self.bot - self.top:, ox:ox + W]


class SyntheticScene:
    """A seeded, slowly moving outdoor scene; `frame(t)` returns uint8 HxWx3 RGB."""

    def __init__(self, width: int, height: int, seed: int = 0):
        width, height = int(width), int(height)
        if width < 8 or height < 8:
            raise ValueError(f"SyntheticScene needs at least 8x8 pixels, got {width}x{height}")
        self.width, self.height, self.seed = width, height, int(seed)
        ss = np.random.SeedSequence([int(seed) & 0xFFFFFFFF, 0x5CE4E])
        self._rngs = [np.random.default_rng(s) for s in ss.spawn(16)]
        self._buf = np.empty((height, width, 3), np.uint8)  # composition buffer, reused
        self._lock = threading.Lock()  # frame() may be called from several threads
        self._build()

    # ---------------------------------------------------------------- building
    def _build(self) -> None:
        W, H = self.width, self.height
        p = self._rngs[0]  # layout parameters only (size independent)
        self.pan_amp = 0.06 * W
        self.pan_phase = p.uniform(0, 2 * np.pi, 3)
        self.light_phase = p.uniform(0, 2 * np.pi, 2)
        zen, hor, haze, sun = (np.float32(c) for c in _SKIES[p.integers(len(_SKIES))])
        jit = np.float32(p.uniform(-0.04, 0.04, 3))
        zen, hor, haze = np.clip(zen + jit, 0, 1), np.clip(hor + jit * 0.5, 0, 1), np.clip(haze + jit * 0.5, 0, 1)
        g0, g1, g2 = (np.float32(c) for c in _GRASS[p.integers(len(_GRASS))])
        self.colors = dict(zen=zen, hor=hor, haze=haze, sun=sun)
        y_h = H * p.uniform(0.40, 0.50)  # horizon
        sun_x = W * p.uniform(0.1, 0.9)
        mtn_h = H * p.uniform(0.06, 0.20)
        snow = p.uniform() < 0.5
        hill_off = H * p.uniform(-0.02, 0.03)
        crest = H * p.uniform(0.07, 0.13)
        dryness = p.uniform(0.0, 0.6)
        self.y_h = y_h

        def margin(f):
            return int(math.ceil(self.pan_amp * f)) + 2

        # sky (static: at infinity) -------------------------------------------------------------
        r = self._rngs[1]
        yy = np.arange(H, dtype=np.float32)[:, None]
        xx = np.arange(W, dtype=np.float32)[None, :]
        tsky = np.clip(yy / max(y_h, 1.0), 0, 1) ** 0.8
        sky = _mix(zen, hor, np.broadcast_to(tsky, (H, W)))
        sun_y = y_h * p.uniform(-0.2, 0.35)
        d2 = ((xx - sun_x) ** 2 + (yy - sun_y) ** 2) / (0.45 * H) ** 2
        sky = sky + (0.35 * np.exp(-d2) + 0.25 * np.exp(-d2 * 12))[..., None] * (sun - sky * 0.6)
        self.sky_f = sky
        # clouds: periodic in x so they can drift forever --------------------------------------
        f_c = 0.15
        m_c = margin(f_c)
        cell = max(H * 0.22, 2.0)
        n_per = max(2, int(round((W + 2 * m_c) / (cell * 1.8))))
        period = int(math.ceil((W + 2 * m_c) / n_per)) * n_per
        self.cloud_period = period
        ch = H
        yy_c = np.arange(ch, dtype=np.float32)[:, None]
        vmap = yy_c / cell * (1.0 + 1.2 * np.clip(yy_c / max(y_h, 1.0), 0, 1.5))  # flatter toward horizon
        cov = np.zeros((ch, period), np.float32)
        cov2 = np.zeros((ch, period), np.float32)
        amp = 1.0
        for octave in range(6):
            k = 2 ** octave
            nu = n_per * k
            if period / nu < 1.5:
                break
            u = np.broadcast_to(np.arange(period, dtype=np.float32)[None, :] / (period / nu), (ch, period))
            v = np.broadcast_to(vmap * k, (ch, period))
            nz = _noise_at(r, u, v, period_u=nu)
            nz_up = np.roll(nz, max(1, int(cell * 0.12)), axis=0)  # what is above each pixel
            cov += amp * nz
            cov2 += amp * nz_up
            amp *= 0.5
        s1, m1 = cov.std() + 1e-6, cov.mean()
        cov, cov2 = (cov - m1) / s1, (cov2 - m1) / s1
        amount = p.uniform(0.2, 1.0)
        prof = _smoothstep(0.05, 0.6, yy_c / max(y_h, 1.0)) * _smoothstep(1.05, 0.7, yy_c / max(y_h, 1.0))
        thr = 1.2 - 0.9 * amount
        dens = _smoothstep(thr, thr + 0.9, cov * (0.4 + 0.6 * prof) + 0.5 * prof - 0.3)
        above = _smoothstep(thr, thr + 0.9, cov2 * (0.4 + 0.6 * prof) + 0.5 * prof - 0.3)
        shade = np.clip(1.0 - 0.4 * above + 0.2 * (dens - above), 0.55, 1.0)
        cwhite = np.float32([1.0, 1.0, 1.0]) * 0.6 + sun * 0.4
        cgrey = hor * 0.5 + np.float32([0.62, 0.64, 0.70]) * 0.5
        crgb = _mix(cgrey, cwhite, _smoothstep(0.55, 1.0, shade)) * (0.8 + 0.2 * shade)[..., None]
        calpha = np.clip(dens * 0.95, 0, 1)
        self._cloud_rgb = np.concatenate([crgb, crgb[:, :W + 2 * m_c]], axis=1)
        self._cloud_alpha = np.concatenate([calpha, calpha[:, :W + 2 * m_c]], axis=1)
        self.cloud_speed = W * p.uniform(0.008, 0.02) * (1 if p.uniform() < 0.5 else -1)
        self.cloud_par = f_c
        self.cloud_margin = m_c

        layers = []
        # distant mountains ------------------------------------------------------------------------
        r = self._rngs[2]
        f_m = 0.25
        m_m = margin(f_m)
        PW = W + 2 * m_m
        ridge = _noise1d(r, PW, max(H * 0.5, 1.0), 5, 0.55)
        ridge = 1.0 - np.abs(np.tanh(ridge * 0.8))  # sharp peaks
        ridge = _standardize(ridge) * 0.35 + 0.5 * _standardize(_noise1d(r, PW, max(H * 0.9, 1), 2))
        sil = y_h - mtn_h * (0.55 + 0.45 * np.tanh(ridge))
        top = max(int(math.floor(sil.min())) - 1, 0)
        rows = H - top
        yl = np.arange(top, H, dtype=np.float32)[:, None]
        alpha = np.clip(yl - sil[None, :] + 0.5, 0, 1)
        hf = _fbm(r, rows, PW, max(H * 0.12, 1.0), 6, 0.55, aspect=1.6)
        lit = np.clip(0.75 + 0.9 * (np.roll(hf, 1, axis=1) - np.roll(hf, -1, axis=1)) * 0.5, 0.35, 1.3)
        rock = np.float32([0.36, 0.38, 0.42]) * lit[..., None]
        if snow:
            snowm = _smoothstep(0.15, 0.35, (y_h - mtn_h * 0.55 - yl) / max(mtn_h, 1) + 0.2 * hf) * (hf > -0.6)
            rock = _mix(rock, np.float32([0.93, 0.94, 0.97]) * lit[..., None], snowm)
        hz = np.clip(0.45 + 0.35 * _smoothstep(y_h - mtn_h, y_h, yl), 0, 0.9)
        rgb = _mix(rock, haze, np.broadcast_to(hz, (rows, PW)))
        layers.append(_Layer(rgb, alpha, top, f_m, m_m))

        # forested ridge with fields ---------------------------------------------------------------
        r = self._rngs[3]
        f_h = 0.5
        m_h = margin(f_h)
        PW = W + 2 * m_h
        base = y_h + hill_off - H * 0.035 * _noise1d(r, PW, max(H * 0.6, 1), 3)
        trees = np.full(PW, np.inf, np.float32)
        x = 0.0
        xs = np.arange(PW, dtype=np.float32)
        while x < PW:
            tr = H * r.uniform(0.008, 0.022)
            xi = int(x)
            lo, hi = max(int(x - tr) - 1, 0), min(int(x + tr) + 2, PW)
            dx = (xs[lo:hi] - x) / max(tr, 0.5)
            arc = base[min(xi, PW - 1)] - tr * (0.6 + 1.4 * r.uniform()) * np.sqrt(np.clip(1 - dx * dx, 0, 1))
            arc = np.where(np.abs(dx) < 1, arc, np.inf)
            trees[lo:hi] = np.minimum(trees[lo:hi], arc)
            x += tr * r.uniform(0.8, 1.6)
        forest = r.uniform() < 0.8
        sil = np.minimum(base, trees) if forest else base
        top = max(int(math.floor(sil.min())) - 1, 0)
        rows = H - top
        yl = np.arange(top, H, dtype=np.float32)[:, None]
        alpha = np.clip(yl - sil[None, :] + 0.5, 0, 1)
        can = _fbm(r, rows, PW, max(H * 0.015, 1.0), 4, 0.6)
        canopy = _mix(np.float32([0.08, 0.17, 0.07]), np.float32([0.22, 0.36, 0.13]),
                      np.clip(0.5 + 0.3 * can, 0, 1))
        below = _smoothstep(0.0, H * 0.04, yl - base[None, :])
        fields = _fbm(r, rows, PW, max(H * 0.08, 1.0), 3, 0.5, aspect=3.0)
        fcol = _mix(_mix(g0, g1, 0.7), g2, np.clip(0.5 + 0.4 * fields, 0, 1) * (0.3 + dryness))
        fcol = fcol * (1.0 + 0.08 * _fbm(r, rows, PW, max(H * 0.006, 1.0), 2))[..., None]
        rgb = _mix(canopy, fcol, below if forest else np.ones_like(below))
        rgb = _mix(rgb, haze, 0.32 * np.ones((rows, PW), np.float32))
        layers.append(_Layer(rgb, alpha, top, f_h, m_h))

        # meadow in perspective --------------------------------------------------------------------
        r = self._rngs[4]
        f_g = 1.0
        m_g = margin(f_g)
        PW = W + 2 * m_g
        gsil = y_h + crest + H * 0.03 * _noise1d(r, PW, max(H * 0.7, 1), 3)
        gsil = np.maximum(gsil, y_h + H * 0.03)
        top = min(max(int(math.floor(gsil.min())) - 1, 0), H - 1)
        rows = H - top
        yl = np.arange(top, H, dtype=np.float32)[:, None]
        alpha = np.clip(yl - gsil[None, :] + 0.5, 0, 1)
        D = max(H - y_h, 1.0)
        zr = D / np.maximum(yl - y_h, 1.0)  # plane units per pixel (1 at the bottom row)
        K = 2.5
        u = (np.arange(PW, dtype=np.float32)[None, :] - PW / 2.0) * zr
        v = np.broadcast_to(K * D * (zr - 1.0), (rows, PW))
        u = np.broadcast_to(u, (rows, PW))
        fu, fv = zr, K * zr * zr  # plane footprint of a pixel, horizontally and vertically

        def plane_fbm(cu, cv_, octaves, gain=0.5):
            tot = np.zeros((rows, PW), np.float32)
            a = 1.0
            for i in range(octaves):
                su, sv = cu / 2 ** i, cv_ / 2 ** i
                wgt = np.clip(np.minimum(su / fu, sv / fv) / 1.5 - 0.5, 0, 1)
                if wgt.max() <= 0:
                    break
                tot += a * wgt * _noise_at(r, u / su, v / sv)
                a *= gain
            return tot

        s = H / 360.0
        big = _standardize(plane_fbm(260 * s, 260 * s, 3))
        mid = plane_fbm(40 * s, 40 * s, 3)
        # grass blades stand upright on screen: tall thin noise, its size picked per row by depth
        bw = 2.0 * s / zr[:, 0]  # blade width in pixels on each row
        blades = np.zeros((rows, PW), np.float32)
        wl = 0.75
        while wl < 2.0 * float(bw.max()):
            wgt = np.clip(1.0 - np.abs(np.log2(np.maximum(bw, 1e-3) / wl)), 0, 1)
            if wl == 0.75:
                wgt = np.where(bw < wl, np.clip(bw / wl, 0, 1) ** 2, wgt)
            if wgt.max() > 0:
                lv = _standardize(_grid_noise(r, rows, PW, wl * 6.0, wl))
                blades += wgt[:, None] * lv
            wl *= 2.0
        blades *= 0.8
        dirt = _smoothstep(0.9, 1.4, big + 0.25 * mid) * (0.3 + 0.7 * dryness)
        grass = _mix(g0, g1, np.clip(0.55 + 0.22 * mid + 0.28 * blades + 0.1 * big, 0, 1))
        grass = _mix(grass, g2, np.clip(dryness + 0.2 * big, 0, 1) * 0.6)
        soil = np.float32([0.42, 0.33, 0.22]) * (1.0 + 0.25 * np.clip(mid + blades * 0.5, -2, 2))[..., None]
        rgb = _mix(grass, soil, dirt)
        cshadow = _smoothstep(0.3, 1.2, _standardize(plane_fbm(400 * s, 300 * s, 2)))  # cloud shadows
        rgb *= (1.0 - 0.28 * cshadow)[..., None]
        rgb *= (0.92 + 0.08 * np.clip((yl - y_h) / D, 0, 1))[..., None]
        rgb = _mix(rgb, haze, np.clip(0.35 * (zr - 1.0) / 8.0, 0, 0.35))
        rgb = rgb.astype(np.float32)
        # wild flowers
        fl_cols = [(0.95, 0.95, 0.92), (0.98, 0.85, 0.15), (0.75, 0.45, 0.85), (0.9, 0.25, 0.2)]
        nflow = int(p.uniform(30, 140) * W * H / (640 * 360))
        fr = self._rngs[5]
        for _ in range(min(nflow, 6000)):
            y = fr.uniform(top + rows * 0.4, H)
            x = fr.uniform(0, PW)
            rad = 1.7 * s * (y - y_h) / D
            if rad < 0.5:
                continue
            ri = int(y) - top
            if ri < 0 or ri >= rows or alpha[ri, min(int(x), PW - 1)] < 1:
                continue
            c = fl_cols[fr.integers(len(fl_cols))]
            cv2.circle(rgb, (int(x * 8), int(y - top) * 8), max(1, int(rad * 8)), c, -1, cv2.LINE_AA, 3)
        layers.append(_Layer(rgb, alpha, top, f_g, m_g))

        # layer cover rows: each layer ends where a nearer one becomes opaque
        bots = []
        for L in layers:
            full = np.all(L.alpha_f >= 0.999, axis=1)
            nf = np.nonzero(~full)[0]
            bots.append(L.top + (int(nf[-1]) + 1 if nf.size else 0))
        for i, L in enumerate(layers):
            cover = min([H] + bots[i + 1:])
            L.finish(max(cover, L.top))
        self.layers = layers
        sky_rows = min(bots) if bots else H
        self.sky_rows = sky_rows
        self._sky = _to_u8(self.sky_f[:sky_rows])
        del self.sky_f
        cr = self._cloud_rgb[:sky_rows]
        ca = self._cloud_alpha[:sky_rows]
        self._cloud_rgbp = _to_u8(cr * ca[..., None])
        self._cloud_inva = _to_u8(np.repeat((1.0 - ca)[..., None], 3, axis=2))
        del self._cloud_rgb, self._cloud_alpha

        # objects on the meadow ---------------------------------------------------------------------
        o = self._rngs[6]
        greens = [tuple(np.clip(np.float32(g0) * k + np.float32(g1) * (1 - k) + o.uniform(-0.04, 0.04, 3), 0, 1))
                  for k in np.linspace(0, 1, 5)]
        greens += [(0.16, 0.34, 0.10), (0.28, 0.46, 0.12)]

        def ground_y(frac):  # screen row for a depth fraction (0: crest, 1: bottom)
            return float(gsil.mean()) + (H - float(gsil.mean())) * frac

        def scale_at(y):
            return max(y - y_h, 1.0) / D

        sprites = []
        # tree, at the back
        ty = ground_y(p.uniform(0.05, 0.2))
        tx = W * (0.12 + 0.76 * p.uniform())
        rgb, a, anc = _make_tree(o, H * 1.05 * scale_at(ty), greens)
        sprites.append(_Sprite(rgb, a, anc, (tx, ty), 1.0, sway=H * 0.004, phase=o.uniform(0, 6)))
        # bushes and rocks
        for _ in range(int(p.integers(2, 5))):
            by = ground_y(p.uniform(0.1, 0.6))
            bx = W * p.uniform(-0.05, 1.05)
            if p.uniform() < 0.6:
                rgb, a, anc = _make_bush(o, H * 0.14 * scale_at(by), greens, flowers=p.uniform() < 0.5)
                sprites.append(_Sprite(rgb, a, anc, (bx, by), 1.0, sway=H * 0.002, phase=o.uniform(0, 6)))
            else:
                rgb, a, anc = _make_rock(o, H * 0.09 * scale_at(by))
                sprites.append(_Sprite(rgb, a, anc, (bx, by), 1.0))
        # the animal, in the middle distance
        ay = ground_y(p.uniform(0.3, 0.5))
        ax = W * p.uniform(0.3, 0.7)
        pattern = ["tiger", "zebra", "leopard", "cow"][int(p.integers(4))]
        rgb, a, anc = _make_animal(o, H * 0.75 * scale_at(ay), pattern, 1 if p.uniform() < 0.5 else -1)
        sprites.append(_Sprite(rgb, a, anc, (ax, ay), 1.0, walk=W * 0.03, phase=o.uniform(0, 6)))
        # fruit in the foreground
        kinds = ["orange", "apple", "green_apple", "lemon"]
        main_kind = kinds[int(p.integers(len(kinds)))]
        cxf = W * p.uniform(0.25, 0.75)
        fy0 = ground_y(p.uniform(0.75, 0.85))
        r0 = H * 0.07 * scale_at(fy0)
        nb, nf = int(p.integers(2, 5)), int(p.integers(1, 4))
        pile = [(cxf + (i - (nb - 1) / 2) * 1.95 * r0, fy0 - 0.55 * r0, fy0 - 0.55 * r0) for i in range(nb)]
        pile += [(cxf + (i - (nf - 1) / 2) * 2.0 * r0 + p.uniform(-0.3, 0.3) * r0, fy0 + 0.6 * r0,
                  fy0 + 0.6 * r0) for i in range(nf)]
        if nb >= 2 and p.uniform() < 0.7:  # one resting on top
            pile.append((cxf + p.uniform(-0.4, 0.4) * r0, fy0 - 1.55 * r0, fy0 + 2 * r0))
        pile.append((cxf + W * p.uniform(0.2, 0.35) * (1 if p.uniform() < 0.5 else -1),
                     ground_y(p.uniform(0.85, 0.97)), None))  # a stray one
        for fx, fy, depth in pile:
            kind = main_kind if p.uniform() < 0.8 else kinds[int(p.integers(len(kinds)))]
            rr = r0 * p.uniform(0.9, 1.1) * (scale_at(fy) / scale_at(fy0) if depth is None else 1.0)
            rgb, a, anc = _make_fruit(o, rr, kind)
            sp = _Sprite(rgb, a, anc, (fx, fy), 1.0)
            sp.depth = fy if depth is None else depth
            sprites.append(sp)
        # a big soft foreground bush, nearer than everything (more parallax, out of focus)
        fgy = H * p.uniform(1.0, 1.08)
        fgx = W * (p.uniform(-0.05, 0.12) if p.uniform() < 0.5 else p.uniform(0.88, 1.05))
        rgb, a, anc = _make_bush(o, H * 0.26, greens, flowers=False, blur=max(H * 0.004, 0.0))
        sprites.append(_Sprite(rgb, a, anc, (fgx, fgy), 1.35, slide=H * 0.005, phase=o.uniform(0, 6)))
        # painter's order: far to near
        fg = sprites.pop()
        sprites.sort(key=lambda sp: sp.depth)
        sprites.append(fg)
        self.sprites = sprites

        # a gentle per-seed grade (contrast and warmth), modulated per frame
        self.grade_gain = np.float32(p.uniform(0.97, 1.05, 3))
        self._ramp = np.arange(256, dtype=np.float32)
        self._lut = np.empty((256, 1, 3), np.uint8)

    # ---------------------------------------------------------------- per frame
    def _camera(self, t: float) -> float:
        a, b, c = self.pan_phase
        return self.pan_amp * (0.65 * math.sin(2 * math.pi * t / 41.0 + a)
                               + 0.25 * math.sin(2 * math.pi * t / 17.0 + b)
                               + 0.10 * math.sin(2 * math.pi * t / 7.3 + c))

    def frame(self, t: float) -> np.ndarray:
        """The scene at time `t` seconds: a new C-contiguous uint8 HxWx3 RGB array."""
        with self._lock:
            return self._frame(float(t))

    def _frame(self, t: float) -> np.ndarray:
        W, H = self.width, self.height
        buf = self._buf
        cam = self._camera(t)
        # sky and clouds
        sr = self.sky_rows
        if sr > 0:
            sky = buf[:sr]
            np.copyto(sky, self._sky)
            off = (self.cloud_speed * t + cam * self.cloud_par) % self.cloud_period
            ox = int(off) + self.cloud_margin
            ox = min(max(ox, 0), self._cloud_rgbp.shape[1] - W)
            cv2.multiply(sky, self._cloud_inva[:, ox:ox + W], dst=sky, scale=1.0 / 255.0)
            cv2.add(sky, self._cloud_rgbp[:, ox:ox + W], dst=sky)
        for layer in self.layers:
            layer.draw(buf, cam)
        for sp in self.sprites:
            sp.draw(buf, cam, t)
        # hand-held camera: slow zoom breathing, a little roll and drift (sub-pixel smooth)
        ph0, ph1 = self.light_phase
        z = 1.04 + 0.012 * math.sin(2 * math.pi * t / 23.0 + ph0)
        rot = 0.004 * math.sin(2 * math.pi * t / 29.0 + ph1)
        dx = 0.003 * W * math.sin(2 * math.pi * t / 11.0 + ph1)
        dy = 0.003 * H * math.sin(2 * math.pi * t / 13.0 + ph0)
        cs, sn = math.cos(rot) / z, math.sin(rot) / z
        cx, cy = (W - 1) / 2.0, (H - 1) / 2.0
        m = np.float32([[cs, -sn, cx - cs * cx + sn * cy + dx],
                        [sn, cs, cy - sn * cx - cs * cy + dy]])
        out = cv2.warpAffine(buf, m, (W, H), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                             borderMode=cv2.BORDER_REFLECT)
        # slowly changing light: brightness and warmth
        b = 1.0 + 0.07 * math.sin(2 * math.pi * t / 19.0 + ph0) + 0.03 * math.sin(2 * math.pi * t / 7.0)
        warm = 0.035 * math.sin(2 * math.pi * t / 31.0 + ph1)
        g = self.grade_gain * np.float32([b * (1 + warm), b, b * (1 - warm)])
        self._lut[:, 0, :] = np.clip(self._ramp[:, None] * g[None, :] + 0.5, 0, 255)
        cv2.LUT(out, self._lut, dst=out)
        return out


# --------------------------------------------------------------------------- the source

class SyntheticSource(Source):
    """A source thread that plays a `SyntheticScene` in real time at `fps`."""

    name = "synthetic"

    def __init__(self, width: int = 640, height: int = 360, seed: int = 0, fps: float = 30.0):
        super().__init__()
        self.size = (int(width), int(height))
        self.fps = float(fps)
        self.scene = SyntheticScene(width, height, seed)
        self._t0: float | None = None

    def frame_at(self, t: float) -> np.ndarray:
        """The scene at `t` seconds (for other sources that need a stand-in image)."""
        return self.scene.frame(t)

    def _run(self) -> None:
        pacer = Pacer(self.fps)
        t0 = time.monotonic()
        self._t0 = t0
        while not self._stop.is_set():
            self._publish(self.scene.frame(time.monotonic() - t0))
            pacer.wait(self._stop)
