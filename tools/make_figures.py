"""Render the figures in docs/: the dream at several layers of EfficientNet-Lite0 on a cat photo.

    python tools/make_figures.py   (needs scikit-image for the photo: pip install -e '.[test]')
"""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import skimage.data
import torch

from liveart import params
from liveart.frames import compose, to_tensor
from liveart.scenes.dream import DreamScene

DOCS = Path(__file__).resolve().parent.parent / "docs"
LAYERS = ("blocks.2", "blocks.4", "blocks.7", "blocks.10", "blocks.13")


def label(img: np.ndarray, text: str) -> np.ndarray:
    out = img.copy()
    cv2.rectangle(out, (0, 0), (12 + 11 * len(text), 24), (255, 255, 255), -1)
    cv2.putText(out, text, (6, 17), cv2.FONT_HERSHEY_SIMPLEX, 0.55, (0, 0, 0), 1, cv2.LINE_AA)
    return out


def main() -> None:
    cat = np.ascontiguousarray(skimage.data.chelsea())
    device = torch.device("cpu")
    scene = DreamScene(device)
    store = params.ParamStore({"dream.octaves": 4, "dream.steps": 10})
    tiles = [label(cat, "input")]
    for layer in LAYERS:
        store.set("dream.layer", layer, immediate=True)
        scene.reset()
        x = to_tensor(cat, (cat.shape[1], cat.shape[0]), device)
        tiles.append(label(compose(cat, x, scene.render(x, store.snapshot())), layer))
    grid = np.concatenate([np.concatenate(tiles[:3], 1), np.concatenate(tiles[3:], 1)], 0)
    cv2.imwrite(str(DOCS / "dream-layers.jpg"), cv2.cvtColor(grid, cv2.COLOR_RGB2BGR),
                [cv2.IMWRITE_JPEG_QUALITY, 88])
    print("wrote", DOCS / "dream-layers.jpg")


if __name__ == "__main__":
    main()
