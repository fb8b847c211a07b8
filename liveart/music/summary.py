"""What the music voice hears: a small summary of one layer's activations per tick.

The scene already computed the activation for its gradient step; `summarize` reuses it (no
extra forward pass): one mean of the squared activation over space (per-channel energy), one
mean over channels (where the energy sits), and a single small download of both to the CPU.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

TOP_K = 4


@dataclass
class ActivationSummary:
    channel_energy: np.ndarray          # (C,) float32: mean of act^2 over space, per channel
    top_channels: list[int]             # the TOP_K strongest channels, strongest first
    energy: float                       # mean of channel_energy
    novelty: float                      # 0..1: how much the layer's response changed since last tick
    centroid: tuple[float, float]       # (x, y) in 0..1: centre of the energy in the frame
    labels: list[tuple[str, float]] = field(default_factory=list)  # top ImageNet classes


def novelty_between(cur: np.ndarray, energy: float, prev: "ActivationSummary | None") -> float:
    """Half the relative change of the overall energy plus half the change of the channel
    profile (L1 distance of the normalised per-channel energies / 2), clipped to 0..1."""
    if prev is None or prev.channel_energy.shape != cur.shape:
        return 0.0
    d_energy = abs(energy - prev.energy) / (abs(prev.energy) + 1e-8)
    p = cur / (float(cur.sum()) + 1e-12)
    q = prev.channel_energy / (float(prev.channel_energy.sum()) + 1e-12)
    d_profile = 0.5 * float(np.abs(p - q).sum())
    return float(min(1.0, 0.5 * min(d_energy, 1.0) + 0.5 * d_profile))


def summarize(act: torch.Tensor, prev: ActivationSummary | None,
              labels=None, top_k: int = TOP_K) -> ActivationSummary:
    """`act`: the 1xCxhxw activation of the layer (detached). Cheap: two means, one download."""
    with torch.no_grad():
        a = act.detach()[0].float()
        e = a * a
        c, h, w = e.shape
        ch = e.mean(dim=(1, 2))
        spatial = e.mean(dim=0).flatten()
        host = torch.cat((ch, spatial)).cpu().numpy().astype(np.float32, copy=False)
    ch_np, sp = host[:c].copy(), host[c:].reshape(h, w)
    energy = float(ch_np.mean())
    k = min(top_k, c)
    top = np.argpartition(-ch_np, k - 1)[:k]
    top = [int(i) for i in top[np.argsort(-ch_np[top], kind="stable")]]
    total = float(sp.sum())
    if total > 0 and np.isfinite(total):
        cx = float((sp.sum(axis=0) * (np.arange(w) + 0.5)).sum() / (total * w))
        cy = float((sp.sum(axis=1) * (np.arange(h) + 0.5)).sum() / (total * h))
    else:
        cx = cy = 0.5
    return ActivationSummary(ch_np, top, energy, novelty_between(ch_np, energy, prev), (cx, cy),
                             [(str(n), float(p)) for n, p in (labels or [])])
