"""Temporal coherence for frame-by-frame stylisation: carry the last output along the camera motion.

A feed-forward style network run on each camera frame on its own shimmers: its brush texture
changes from tick to tick even where the picture did not. `TemporalSmoother` warps the previous
OUTPUT onto the current frame along the optical flow between the last and the current camera
frames and blends it into the fresh result where the flow can be trusted:

    out = lerp(fresh, warp(prev_out), amount * mask)

so the per-tick texture noise is averaged over ~(1+a)/(1-a) ticks, moving content carries its
texture with it, and what the flow cannot explain (things coming into view, occlusions, the
image border, a cut) shows the fresh result.

Flow: OpenCV DIS, ULTRAFAST preset, at the internal size. The backward flow (current grey frame
-> previous) lets `grid_sample` pull the previous output onto the current pixel grid. FAST costs
~0.35 ms more per DIS call at 256x144 on the 2-core dev CPU (the whole call: 2.7 vs 1.9 ms) and
MEDIUM ~15x ULTRAFAST, for no measurable gain on the pan/zoom test sequence (flicker drop at
amount 0.5: 55.6 / 55.8 / 55.9 %): where ULTRAFAST's coarser flow is wrong, the mask below falls
back to the fresh result anyway.

Reliability mask: both checks, because each is blind where the other sees (measured in
tests/test_temporal.py, a card held into view over the panning cat):
  * photometric error |warp(prev_frame) - frame|: the previous camera frame rides along in the
    same grid_sample as the previous output (6 channels instead of 3, ~+0.15 ms). It catches
    content that changed in place (lighting, a screen, a hand turning), which forward-backward
    flow cannot see. Alone, it kept trust on ~11 % of the new card's pixels (up to 0.89),
    wherever the flow found a patch of the old picture of the same colour (wood grain / fur);
  * forward-backward consistency: a second DIS call the other way and one cv2.remap of that
    flow (+0.5 ms per call in all). A pixel with no counterpart in the previous frame does not
    come back to itself: with both checks, 0.8 % of the card keeps any trust (mean 0.002),
    while the flicker drop on the plain pan is unchanged.
Flat, textureless areas fool both, but there the stylised output is flat too, so pulling it
from slightly the wrong place does no visible harm. Samples from outside the previous frame get
no trust. Unreliability is spread by a pixel (3x3 erosion of the mask) so a fallback region
covers its own edges, then the mask is softened (5x5 box) so the blend has no hard steps.

Cost per call at 256x144 on the dev CPU (2 cores, shared with other work, load ~4): median
1.9-2.2 ms with smoothing on (1.5-1.8 ms without the forward-backward check), 0.2 ms with amount 0
(grey conversion and state only). The mask is softened with OpenCV on a CPU (torch's CPU
max/avg pooling alone took ~1.1 ms); with torch pooling on other devices.

Overlap: `begin(frame)` starts the flow (both DIS calls and the round trip) in a thread of its
own before the network runs, and the blend picks it up after: the flow needs only the camera
frames, and OpenCV releases the GIL, so on 2 cores it runs on the core torch leaves free
instead of after the network (`liveart bench --scene style --compare smooth` measures it).

Cuts: when the mean photometric error is huge (a different scene), the state is dropped and the
fresh result returned as is -- no ghost of the old picture, not even a faint one.
"""
from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from .flow import to_gray

# photometric error (mean |RGB difference|, 0..1) where trust starts to fall / is gone.
# Camera noise and bilinear resampling of sharp edges stay well below ERR_LO; a wrong match
# (something else is now there) is usually far above ERR_HI.
ERR_LO = 0.04
ERR_HI = 0.12
# forward-backward round trip (pixels) where trust starts to fall / is gone; ULTRAFAST's round
# trip on a plain pan is < 0.4 px for 90 % and < 0.7 px for 99 % of the pixels
FB_LO = 1.0
FB_HI = 2.5
# mean photometric error above which the pictures are unrelated: a cut (two unrelated natural
# photos differ by ~0.2-0.3; a pan of a few pixels a tick by ~0.01-0.03 after warping).
CUT_ERR = 0.15

_CROSS = np.ones((3, 3), np.uint8)


def _ramp(x: torch.Tensor, lo: float, hi: float) -> torch.Tensor:
    """1 at or below `lo`, 0 at or above `hi`, linear between."""
    return ((hi - x) / (hi - lo)).clamp_(0.0, 1.0)


def _soften(mask: torch.Tensor) -> torch.Tensor:
    """Erode the 1x1xhxw mask by a pixel, then a 5x5 box blur (OpenCV on a CPU, where torch's
    pooling is ~20x slower; torch pooling on other devices)."""
    if mask.device.type == "cpu" and mask.dtype == torch.float32:
        m = mask[0, 0].numpy()
        m = cv2.blur(cv2.erode(m, _CROSS), (5, 5), borderType=cv2.BORDER_REPLICATE)
        return torch.from_numpy(m)[None, None]
    mask = -F.max_pool2d(-mask, 3, stride=1, padding=1)
    return F.avg_pool2d(mask, 5, stride=1, padding=2, count_include_pad=False)


class TemporalSmoother:
    """Blend the motion-compensated previous output into this tick's fresh stylisation.

    Call once per tick with the camera frame and the fresh result (both 1x3xhxw, 0..1, on the
    same device). `amount` 0 returns `fresh` untouched (and still tracks the state, so turning
    the smoothing on later starts from the right frame); 1 keeps the old texture wherever the
    flow is trusted. The first frame, a size change and a cut return `fresh`.
    """

    def __init__(self, preset: int = cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST,
                 err_lo: float = ERR_LO, err_hi: float = ERR_HI, fb_lo: float = FB_LO,
                 fb_hi: float = FB_HI, cut_err: float = CUT_ERR, check_fb: bool = True):
        self._dis = cv2.DISOpticalFlow_create(preset)
        self.err_lo, self.err_hi, self.cut_err = err_lo, err_hi, cut_err
        self.fb_lo, self.fb_hi, self.check_fb = fb_lo, fb_hi, check_fb
        self._prev_gray: np.ndarray | None = None
        self._prev: torch.Tensor | None = None  # 1x6xhxw: previous output, previous camera frame
        self._pix: tuple[np.ndarray, np.ndarray] | None = None  # pixel coordinates, x and y
        self.last_mask: torch.Tensor | None = None  # 1x1xhxw trust used by the last blend
        self.cuts = 0  # how many times a cut reset the state
        self._flow_pool: ThreadPoolExecutor | None = None
        self._begun: tuple[torch.Tensor, np.ndarray, Future] | None = None  # frame, grey, motion

    def reset(self) -> None:
        self._take_begun()
        self._prev_gray, self._prev, self.last_mask = None, None, None

    def _take_begun(self):
        """The begun motion estimate, waited for (so the flow thread is done with the DIS
        object): (frame, grey, motion), or None."""
        begun, self._begun = self._begun, None
        if begun is None:
            return None
        try:
            return begun[0], begun[1], begun[2].result()
        except Exception:  # noqa: BLE001 - computed again in line, where an error would show
            return None

    def begin(self, frame: torch.Tensor) -> None:
        """Start the motion estimate for `frame` in the flow thread; the call with the same
        frame tensor uses it (any other call computes its own)."""
        prev_gray = self._prev_gray
        if prev_gray is None:
            return
        gray = to_gray(frame)
        if gray.shape != prev_gray.shape:
            return
        if self._flow_pool is None:
            self._flow_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="flow")
        self._take_begun()  # one never picked up finishes before the next starts
        self._begun = (frame, gray, self._flow_pool.submit(self._motion, gray, prev_gray))

    def _remember(self, gray: np.ndarray, frame: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
        self._prev_gray = gray
        # a copy, detached from the caller's tensors (which may be reused in place)
        self._prev = torch.cat((out, frame.to(out.dtype)), dim=1)
        return out

    def _motion(self, gray: np.ndarray, prev_gray: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Where each current pixel was in the previous frame (grid_sample's normalised
        coordinates, hxwx2), and how untrustworthy that is from the flow alone (hxw, pixels:
        the forward-backward round trip; large for samples from outside the frame)."""
        h, w = gray.shape
        if self._pix is None or self._pix[0].shape != (h, w):
            ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
            self._pix = xs, ys
        xs, ys = self._pix
        back = self._dis.calc(gray, prev_gray, None)  # frame(p) ~ prev(p + back(p))
        mx, my = xs + back[..., 0], ys + back[..., 1]
        if self.check_fb:
            fwd = self._dis.calc(prev_gray, gray, None)
            fq = cv2.remap(fwd, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
            bad = cv2.magnitude(back[..., 0] + fq[..., 0], back[..., 1] + fq[..., 1])
        else:
            bad = np.zeros((h, w), np.float32)
        outside = (mx < -0.5) | (mx > w - 0.5) | (my < -0.5) | (my > h - 0.5)
        np.putmask(bad, outside, np.float32(1e3))
        grid = np.stack((mx * (2.0 / w) + (1.0 / w - 1.0), my * (2.0 / h) + (1.0 / h - 1.0)), axis=-1)
        return grid, bad

    @torch.no_grad()
    def __call__(self, frame: torch.Tensor, fresh: torch.Tensor, amount: float) -> torch.Tensor:
        begun = self._take_begun()  # it ran beside the network: done by now, or nearly
        if begun is not None and begun[0] is not frame:
            begun = None  # another frame's
        gray = to_gray(frame) if begun is None else begun[1]
        prev_gray, prev = self._prev_gray, self._prev
        if (amount <= 0 or prev is None or prev_gray.shape != gray.shape
                or prev.shape[-2:] != fresh.shape[-2:] or prev.device != fresh.device):
            self.last_mask = None
            return self._remember(gray, frame, fresh)
        amount = min(float(amount), 1.0)
        dev, dt = fresh.device, fresh.dtype

        grid, bad = self._motion(gray, prev_gray) if begun is None else begun[2]
        warped = F.grid_sample(prev.to(dt), torch.from_numpy(grid)[None].to(dev, dt), mode="bilinear",
                               padding_mode="border", align_corners=False)
        warped_out, warped_frame = warped[:, :3], warped[:, 3:]

        err = (warped_frame - frame.to(dt)).abs_().mean(dim=1, keepdim=True)
        if float(err.mean()) > self.cut_err:  # a different picture: start over, no ghost
            self.cuts += 1
            self.last_mask = torch.zeros_like(err)
            return self._remember(gray, frame, fresh)
        trust = _ramp(err, self.err_lo, self.err_hi)
        trust *= _ramp(torch.from_numpy(bad)[None, None].to(dev, dt), self.fb_lo, self.fb_hi)
        mask = _soften(trust)
        self.last_mask = mask
        out = torch.lerp(fresh, warped_out, mask * amount)
        return self._remember(gray, frame, out)
