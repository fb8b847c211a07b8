"""Adversary: the illusion scene. A small, bounded perturbation of the live frame, optimised
every tick so the network sees `adversary.target` while a person sees almost the camera.

One step of targeted projected gradient descent per tick (Madry et al. 2018, the targeted
form): delta <- clip(delta - alpha x sign(grad of the target's cross-entropy), -eps, eps),
with the frame + delta kept in 0..1, and alpha = eps / 4, so a steady frame is fooled in a
few ticks. The perturbation carries from tick to tick (warm start): the camera moves slowly,
and last tick's illusion is a good start for this one's. It is kept where the camera's picture
is (no motion compensation: a fast pan costs a few ticks to re-fool).

`labels()` are the network's top-3 on the picture shown (the HUD shows them flip to the
target). `adversary.show` amplifies the perturbation on screen, so an audience can see what
fools the network; the network is always judged on the unamplified picture.
"""
from __future__ import annotations

import torch

from ..imagenet import imagenet_class_index, imagenet_labels
from ..models import load_backbone
from ..params import Snapshot
from .base import Scene

CLASSIFIER = "efficientnet_lite0"  # the one backbone here with ImageNet logits


class AdversaryScene(Scene):
    name = "adversary"

    def __init__(self, device: torch.device, half: bool = False, seed: int = 0):
        super().__init__(device, half)
        self.model = load_backbone(CLASSIFIER, device, half=half)
        self.delta: torch.Tensor | None = None
        self._target_text: str | None = None
        self.target = 0
        self._labels: list[tuple[str, float]] = []
        self.last_target_p = 0.0  # the target's probability on the last picture judged

    def reset(self) -> None:
        self.delta = None

    def labels(self) -> list[tuple[str, float]]:
        return self._labels

    def _logits(self, x: torch.Tensor) -> torch.Tensor:
        x = x.contiguous(memory_format=torch.channels_last)
        return self.model.forward_taps(x.half() if self.half else x, set(), logits=True)["logits"].float()

    def process(self, frame: torch.Tensor, snap: Snapshot) -> torch.Tensor:
        text = snap["adversary.target"]
        if text != self._target_text:  # checked by the registry: a class name or index
            self._target_text, self.target = text, imagenet_class_index(text)
        eps = float(snap["adversary.epsilon"])
        if snap.fired("adversary.reset") or self.delta is None or self.delta.shape != frame.shape:
            self.delta = torch.zeros_like(frame)
        delta = self.delta.clamp(-eps, eps).requires_grad_(True)
        logits = self._logits((frame + delta).clamp(0.0, 1.0))
        loss = torch.nn.functional.cross_entropy(logits, torch.tensor([self.target], device=frame.device))
        (grad,) = torch.autograd.grad(loss, delta)
        with torch.no_grad():
            p = logits.softmax(1)[0]
            self.last_target_p = float(p[self.target])
            v, i = p.topk(3)
            names = imagenet_labels()
            self._labels = [(names[k], float(q)) for q, k in zip(v.tolist(), i.tolist())]
            step = delta.detach() - (eps / 4.0) * grad.sign()
            # within the budget, and the picture within 0..1
            self.delta = (frame + step.clamp(-eps, eps)).clamp(0.0, 1.0) - frame
            shown = self.delta * (1.0 + float(snap["adversary.show"]))
            return (frame + shown).clamp(0.0, 1.0)
