"""Conversions at the edges: uint8 HxWx3 frames <-> 1x3xhxw float tensors on the device."""
from __future__ import annotations

import cv2
import numpy as np
import torch


def to_tensor(image: np.ndarray, size: tuple[int, int], device: torch.device) -> torch.Tensor:
    """Resize a uint8 RGB frame to the internal `size` (w, h) and move it to `device` as RGB 0..1.

    Permuting HWC memory to NCHW gives a channels_last tensor without a copy.
    """
    if (image.shape[1], image.shape[0]) != tuple(size):
        image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    return torch.from_numpy(image).to(device).permute(2, 0, 1)[None].float().div_(255.0)


def compose(image: np.ndarray, x: torch.Tensor, y: torch.Tensor) -> np.ndarray:
    """The full-resolution result: `image` plus the upscaled change the scene made (y - x).

    Upscaling only the change keeps the camera's own detail, where blowing up the small result
    would blur it.
    """
    delta = (y - x).mul_(255.0)[0].permute(1, 2, 0).float().cpu().numpy()
    delta = cv2.resize(np.ascontiguousarray(delta), (image.shape[1], image.shape[0]),
                       interpolation=cv2.INTER_LINEAR)
    return cv2.add(image, delta, dtype=cv2.CV_8U)
