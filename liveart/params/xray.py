"""The xray scene's parameters (liveart/scenes/xray.py reads them)."""
from __future__ import annotations

from .dream import MODEL_LAYERS, layers_of
from .registry import ChoicesFrom, declare

# early-to-mid layers: edges, fur, eyes; fine enough (stride 8) to read as pictures live
XRAY_LAYERS = {"efficientnet_lite0": "blocks.3", "vgg16": "relu3_3", "vgg19": "relu3_4"}
assert set(XRAY_LAYERS) == set(MODEL_LAYERS)


def xray_layer_of(model: str) -> str:
    return XRAY_LAYERS[model]


declare("xray.layer", "enum", XRAY_LAYERS["efficientnet_lite0"], "The layer whose feature "
        "maps xray shows (of the network dream.model names).",
        choices=tuple(dict.fromkeys(l for ls in MODEL_LAYERS.values() for l in ls)),
        choices_from=ChoicesFrom("dream.model", layers_of, xray_layer_of))
declare("xray.channels", "int", 16, "How many of the layer's strongest channels the mosaic "
        "shows (in order of strength, strongest top left).", min=1, max=64)
declare("xray.mode", "enum", "mosaic", "mosaic: the strongest channels side by side; overlay: "
        "one channel over the camera.", choices=("mosaic", "overlay"))
declare("xray.channel", "int", -1, "The channel overlay shows (-1: the strongest now).",
        min=-1, max=4095)
declare("xray.gain", "float", 1.0, "Brightness of the feature maps.", min=0.25, max=8.0,
        smoothing=0.1)
