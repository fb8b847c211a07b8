"""The paint scene's parameters (liveart/scenes/paint.py reads them)."""
from __future__ import annotations

from ..stylefolder import check_pictures, check_remote_pictures
from .registry import declare

MAX_IMAGES = 4
BUILTIN = "builtin"
CONTENT_LAYERS = ("relu2_2", "relu3_3", "relu4_2")


def _check_images(text: str) -> None:
    check_pictures(text, "paint.image", MAX_IMAGES, builtin=BUILTIN)


declare("paint.image", "str", "", "Style picture(s): up to 4 paths or styles-folder names "
        "separated by ';', weighed by paint.w0..w3; empty: the built-in swirl.",
        check=_check_images,
        remote_check=lambda text: check_remote_pictures(text, "paint.image", MAX_IMAGES,
                                                        builtin=BUILTIN))
for _i in range(MAX_IMAGES):
    declare(f"paint.w{_i}", "float", 1.0, f"Weight of style picture {_i} of paint.image "
            "(the Gram targets are the weighted mean; all 0: no style).",
            min=0.0, max=1.0, smoothing=0.2)
declare("paint.steps", "int", 1, "Optimiser (Adam) steps per tick; each is one VGG16 "
        "forward and backward pass.", min=1, max=20)
declare("paint.lr", "float", 0.03, "Adam step size: how fast the painting changes "
        "(0..1 pixel units per step).", min=0.001, max=0.2, smoothing=0.15)
declare("paint.style_weight", "float", 5.0, "Weight of the style loss (relative Gram "
        "error); higher paints over more of the camera.", min=0.0, max=100.0, smoothing=0.15)
declare("paint.content_weight", "float", 1.0, "Weight of the content loss (relative "
        "feature error against the current frame).", min=0.0, max=10.0, smoothing=0.15)
declare("paint.content_layer", "enum", "relu3_3", "VGG16 layer the content loss compares: "
        "relu2_2 keeps fine detail, relu4_2 only forms (and costs one more conv).",
        choices=CONTENT_LAYERS)
declare("paint.depth", "int", 4, "Style layers are relu1_1 .. relu<depth>_1: deeper "
        "gives larger brush forms and costs more.", min=1, max=5)
declare("paint.style_scale", "float", 1.0, "Size of the style picture relative to the "
        "frame: larger gives larger strokes (targets recomputed per value).",
        min=0.25, max=2.0)
declare("paint.scale", "float", 1.0, "Resolution the painting is optimised at, relative "
        "to the internal size (0.5: about 4x faster, coarser).", min=0.25, max=1.0)
declare("paint.follow", "bool", True, "Move the painting with the camera's motion "
        "(optical flow), so strokes stay on what they painted.")
declare("paint.anchor", "float", 0.02, "How much of the camera frame is mixed back into "
        "the painting each tick, so what left the picture fades.", min=0.0, max=1.0,
        smoothing=0.15)
declare("paint.mix", "float", 1.0, "Blend between the live frame (0) and the painting (1).",
        min=0.0, max=1.0, smoothing=0.1)
declare("paint.reset", "trigger", None, "Start the painting again from the camera frame.")
