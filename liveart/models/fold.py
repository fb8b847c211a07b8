"""Fold each BatchNorm into the convolution before it, for a frozen network in eval mode.

In eval mode a BatchNorm is a per-channel scale and shift, which the convolution before it can
carry in its weights and bias: one op fewer per layer, forward and backward (measured on
EfficientNet-Lite0, fwd+bwd to blocks.10 at 256x144 on 2 CPU cores: 35.4 -> 19.1 ms p50). The
arithmetic is torch's own `fuse_conv_bn_eval`; a network names its (conv, bn) pairs, since
which BN follows which conv is in its forward code, not in its module tree.
"""
from __future__ import annotations

import torch.nn as nn
from torch.nn.utils.fusion import fuse_conv_bn_eval


def fold_batchnorm(model: nn.Module) -> nn.Module:
    """Fold in place every pair `model.conv_bn_pairs()` names ((parent, conv attr, bn attr)):
    the conv gets the BN's scale and shift, the BN becomes an Identity. Returns the model."""
    if model.training:
        raise ValueError("fold_batchnorm needs a model in eval mode (frozen statistics)")
    for parent, conv_name, bn_name in model.conv_bn_pairs():
        conv, bn = getattr(parent, conv_name), getattr(parent, bn_name)
        if isinstance(bn, nn.Identity):
            continue  # folded already
        setattr(parent, conv_name, fuse_conv_bn_eval(conv, bn))
        setattr(parent, bn_name, nn.Identity())
    return model
