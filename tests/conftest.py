"""Shared fixtures: real photos from scikit-image, the CPU device, a fresh parameter store."""
from __future__ import annotations

import numpy as np
import pytest
import torch

torch.set_num_threads(2)


@pytest.fixture(scope="session")
def cat() -> np.ndarray:
    """skimage's chelsea: a real photo of a tabby cat, 300x451 RGB uint8."""
    import skimage.data

    return np.ascontiguousarray(skimage.data.chelsea())


@pytest.fixture(scope="session")
def cpu() -> torch.device:
    return torch.device("cpu")


@pytest.fixture
def store():
    from liveart import scenes  # noqa: F401  (declares the scene parameters)
    from liveart.params import ParamStore

    return ParamStore()


@pytest.fixture(scope="session")
def to_x():
    """Frame -> 1x3xhxw CPU tensor at `size` (w, h), the way the engine converts."""
    from liveart.frames import to_tensor

    def convert(image: np.ndarray, size=None) -> torch.Tensor:
        return to_tensor(image, size or (image.shape[1], image.shape[0]), torch.device("cpu"))

    return convert
