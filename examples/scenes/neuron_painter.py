"""Neuron painter: dream toward three channels of EfficientNet-Lite0's blocks.10 that you pick
(bind neuron_painter.a/b/c to MIDI pads or faders: each channel is a different "neuron" - eyes,
fur, wheels - and the picture grows what it likes).

Copy into your scenes folder (~/.config/liveart/scenes) and run `liveart run --scene
neuron_painter`; save it while the show runs and the new version takes over.
"""
import torch

from liveart import params
from liveart.models import load_backbone
from liveart.scenes.base import Scene

LAYER = "blocks.10"  # 112 channels
for key, default in (("a", 3), ("b", 40), ("c", 77)):
    params.declare(f"neuron_painter.{key}", "int", default, f"Channel {key} of {LAYER} to grow.",
                   min=0, max=111)
params.declare("neuron_painter.strength", "float", 0.02, "Step size of the growth.",
               min=0.0, max=0.1)
params.declare("neuron_painter.persist", "float", 0.9, "How much of the grown picture stays.",
               min=0.0, max=0.99)


class NeuronPainter(Scene):
    def __init__(self, device, half=False, seed=0):
        super().__init__(device, half)
        self.model = load_backbone("efficientnet_lite0", device, half=half)
        self.detail = None

    def reset(self):
        self.detail = None

    def process(self, frame, snap):
        start = frame if self.detail is None or self.detail.shape != frame.shape else \
            (frame + snap["neuron_painter.persist"] * self.detail).clamp(0, 1)
        img = start.detach().requires_grad_(True)
        act = self.model.forward_taps(img.contiguous(memory_format=torch.channels_last),
                                      {LAYER})[LAYER].float()
        picked = [snap[f"neuron_painter.{k}"] for k in "abc"]
        energy = act[:, picked].pow(2).mean()
        (grad,) = torch.autograd.grad(energy, img)
        out = (img.detach() + snap["neuron_painter.strength"] * grad / (grad.abs().mean() + 1e-8))
        out = out.clamp(0, 1)
        self.detail = out - frame
        return out
