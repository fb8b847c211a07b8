"""The dream scene's parameters (liveart/scenes/dream.py reads them)."""
from __future__ import annotations

import re

from ..errors import UserError
from ..imagenet import imagenet_class_index
from .registry import ChoicesFrom, declare

DEFAULT_MODEL = "efficientnet_lite0"

# The layer taps of each dream network, named here so the registry needs no torch; the
# networks' own layer_names() are checked against these by tests/models.
MODEL_LAYERS: dict[str, tuple[str, ...]] = {
    "efficientnet_lite0": tuple(f"blocks.{i}" for i in range(16)) + ("head",),
    "vgg16": ("relu1_1", "relu1_2", "pool1", "relu2_1", "relu2_2", "pool2", "relu3_1", "relu3_2",
              "relu3_3", "pool3", "relu4_1", "relu4_2", "relu4_3", "pool4", "relu5_1", "relu5_2",
              "relu5_3", "pool5"),
    "vgg19": ("relu1_1", "relu1_2", "pool1", "relu2_1", "relu2_2", "pool2", "relu3_1", "relu3_2",
              "relu3_3", "relu3_4", "pool3", "relu4_1", "relu4_2", "relu4_3", "relu4_4", "pool4",
              "relu5_1", "relu5_2", "relu5_3", "relu5_4", "pool5"),
}
DEFAULT_LAYERS = {"efficientnet_lite0": "blocks.10", "vgg16": "relu4_3", "vgg19": "relu4_4"}
# every network's layers (the docs list them all); the store keeps dream.layer among the
# current dream.model's, and moves it to that network's default when the model changes
ALL_LAYERS = tuple(dict.fromkeys(layer for layers in MODEL_LAYERS.values() for layer in layers))


def layers_of(model: str) -> tuple[str, ...]:
    return MODEL_LAYERS[model]


def default_layer_of(model: str) -> str:
    return DEFAULT_LAYERS[model]

_CHANNEL_RE = re.compile(r"^(?:ch|channel):(\d+)$")


def parse_guide(text: str) -> tuple[str, int] | None:
    """`none` -> None; `channel:N`/`ch:N` -> ("channel", N); a class name or index -> ("class", i)."""
    text = text.strip()
    if text.lower() in ("", "none", "off"):
        return None
    m = _CHANNEL_RE.match(text.lower())
    if m:
        return ("channel", int(m.group(1)))
    return ("class", imagenet_class_index(text))


def _check_guide(text: str) -> None:
    try:
        parse_guide(text)
    except UserError as e:
        raise UserError(f"dream.guide takes none, an ImageNet class name or index, or channel:N; {e}") from None


declare("dream.model", "enum", DEFAULT_MODEL, "Network the dream runs on: "
        "efficientnet_lite0 (fast: eyes and faces) or vgg16 (install it with 'liveart "
        "models install vgg16'; big painterly forms).", choices=tuple(MODEL_LAYERS))
declare("dream.layer", "enum", DEFAULT_LAYERS[DEFAULT_MODEL],
        "Layer whose activations the dream amplifies (of dream.model; 'liveart models "
        "layers NAME' lists them): low layers give strokes and ornament, blocks.8-12 "
        "eyes and animal faces.", choices=ALL_LAYERS,
        choices_from=ChoicesFrom("dream.model", layers_of, default_layer_of))
declare("dream.octaves", "int", 4, "Number of scales the dream works at (live: cycled one "
        "per tick, coarse to fine).", min=1, max=6)
declare("dream.octave_scale", "float", 1.4, "Size ratio between octaves.", min=1.1, max=2.0,
        smoothing=0.2)
declare("dream.steps", "int", 1, "Gradient steps per tick live; per octave in render.",
        min=1, max=50)
declare("dream.step_size", "float", 0.02, "Pixel change per step (0..1 pixels) times the "
        "gradient over its mean magnitude.", min=0.0, max=0.2, smoothing=0.15)
declare("dream.jitter", "int", 16, "Random shift of the image before each step, in "
        "pixels; hides the network's grid.", min=0, max=64, unit="px")
declare("dream.smooth", "float", 0.0, "Blur of the gradient (sigma in pixels): softer, "
        "larger forms.", min=0.0, max=4.0, unit="px", smoothing=0.15)
declare("dream.persist", "float", 0.95, "How much of the dream's own detail (output minus "
        "camera) carries into the next tick, so the dream grows without ghosting.",
        min=0.0, max=1.0, smoothing=0.15)
declare("dream.follow", "bool", True, "Move the carried dream with the camera's motion "
        "(optical flow), so it stays on what it grew on.")
declare("dream.feedback", "float", 0.0, "How much of the last dreamed output (camera "
        "included) carries into the next tick: the 'I want more of it' loop.",
        min=0.0, max=1.0, smoothing=0.15)
declare("dream.zoom", "float", 0.0, "Feedback zoom per tick (0.01 = 1% closer each tick).",
        min=-0.05, max=0.05, smoothing=0.2)
declare("dream.rotate", "float", 0.0, "Feedback rotation per tick.", min=-5.0, max=5.0,
        unit="deg", smoothing=0.2)
declare("dream.drift", "float", 0.0, "Feedback sideways drift per tick (positive: right).",
        min=-8.0, max=8.0, unit="px", smoothing=0.2)
declare("dream.drift_y", "float", 0.0, "Feedback vertical drift per tick (positive: down).",
        min=-8.0, max=8.0, unit="px", smoothing=0.2)
declare("dream.mix", "float", 1.0, "Blend between the live frame (0) and the dream (1).",
        min=0.0, max=1.0, smoothing=0.1)
declare("dream.guide", "str", "none", "What to amplify: none (the whole layer), an "
        "ImageNet class by name or index (e.g. 'tabby cat', 281), or channel:N of the layer.",
        check=_check_guide)
declare("dream.reset", "trigger", None, "Clear the dream's accumulated state.")
