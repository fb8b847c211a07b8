"""Visualize: "make the dog neuron bright". The picture grows, tick by tick, toward what one
ImageNet class (or one channel of blocks.10) looks like to the network.

Gradient ascent on the class's logit (or the channel's energy), with the regularisers from the
feature-visualisation literature (Olah, Mordvintsev, Schubert: "Feature Visualization",
Distill 2017) that make the result read as a picture rather than as high-frequency noise:

- transformation robustness: each step sees the picture randomly shifted (jitter) and scaled
  (0.9-1.1), so only features that survive that grow;
- a blurred gradient (sigma 2 px), which favours the low frequencies;
- decorrelated colour: the gradient is preconditioned with the square root of ImageNet's colour
  covariance (the matrix from lucid), so steps move along natural colour directions.

From `camera`, a fifth of each step pulls back toward the live frame, so the camera's picture
stays recognisable and moving while the class grows into it; from `noise`, the picture starts
as grey noise and becomes the class alone.
"""
from __future__ import annotations

import random

import torch
import torch.nn.functional as F

from ..imagenet import imagenet_labels
from ..models import load_backbone
from ..params import Snapshot
from ..params.dream import parse_guide
from .base import Scene
from .dream import GaussianBlur

CLASSIFIER = "efficientnet_lite0"
CHANNEL_LAYER = "blocks.10"
# lucid's color_correlation_svd_sqrt (ImageNet's RGB covariance, square-rooted)
_COLOR_SQRT = torch.tensor([[0.26, 0.09, 0.02], [0.27, 0.00, -0.05], [0.27, -0.09, 0.03]])
CAMERA_PULL = 0.2
BLUR_SIGMA = 2.0  # px: tried 1 (high-frequency texture from noise) and 2 (broader forms)


class VisualizeScene(Scene):
    name = "visualize"

    def __init__(self, device: torch.device, half: bool = False, seed: int = 0):
        super().__init__(device, half)
        self.model = load_backbone(CLASSIFIER, device, half=half)
        self.rng = random.Random(seed)
        self.gen = torch.Generator().manual_seed(seed)
        self.blur = GaussianBlur()
        c = _COLOR_SQRT / _COLOR_SQRT.norm(dim=0).max()
        self.precondition = (c @ c.T).to(device)  # in RGB: M M^T
        self.img: torch.Tensor | None = None
        self._start: str | None = None
        self._labels: list[tuple[str, float]] = []
        self.last_score = 0.0

    def reset(self) -> None:
        self.img = None

    def labels(self) -> list[tuple[str, float]]:
        return self._labels

    def _begin(self, frame: torch.Tensor, start: str) -> torch.Tensor:
        if start == "camera":
            return frame.clone()
        noise = torch.rand(frame.shape, generator=self.gen) * 0.2 + 0.4
        return noise.to(frame.device, frame.dtype)

    def _score(self, x: torch.Tensor, target) -> tuple[torch.Tensor, torch.Tensor | None]:
        x = x.contiguous(memory_format=torch.channels_last)
        x = x.half() if self.half else x
        if target[0] == "class":
            logits = self.model.forward_taps(x, set(), logits=True)["logits"].float()
            return logits[0, target[1]], logits
        act = self.model.forward_taps(x, {CHANNEL_LAYER})[CHANNEL_LAYER].float()
        return act[0, target[1] % act.shape[1]].pow(2).mean(), None

    def process(self, frame: torch.Tensor, snap: Snapshot) -> torch.Tensor:
        start, target = snap["visualize.start"], parse_guide(snap["visualize.target"])
        if (snap.fired("visualize.reset") or self.img is None or start != self._start
                or self.img.shape != frame.shape):
            self.img, self._start = self._begin(frame, start), start
        h, w = frame.shape[-2:]
        j = max(1, min(h, w) // 16)
        ox, oy = self.rng.randint(-j, j), self.rng.randint(-j, j)
        s = self.rng.uniform(0.9, 1.1)
        img = self.img.detach().requires_grad_(True)
        seen = torch.roll(img, (oy, ox), (2, 3))
        seen = F.interpolate(seen, scale_factor=s, mode="bilinear", align_corners=False)
        score, logits = self._score(seen, target)
        (grad,) = torch.autograd.grad(score, img)
        with torch.no_grad():
            self.last_score = float(score)
            if logits is not None:
                p = logits.softmax(1)[0]
                v, i = p.topk(3)
                names = imagenet_labels()
                self._labels = [(names[k], float(q)) for q, k in zip(v.tolist(), i.tolist())]
            grad = self.blur(grad, BLUR_SIGMA)
            grad = torch.einsum("ij,bjhw->bihw", self.precondition, grad)
            step = snap["visualize.strength"] * grad / (grad.abs().mean() + 1e-8)
            img = self.img + step
            if start == "camera":  # the live frame keeps flowing in
                img = img + CAMERA_PULL * snap["visualize.strength"] * 10.0 * (frame - img)
            self.img = img.clamp_(0.0, 1.0)
            return self.img.clone()
