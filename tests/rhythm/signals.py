"""Real test signals rendered with numpy: click tracks and a drum-ish loop."""
from __future__ import annotations

import numpy as np

SR = 44100


def click_track(bpm: float = 120.0, seconds: float = 10.0, sr: int = SR, start: float = 0.25,
                level: float = 0.5, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(mono float32 samples, click times in s): a 10 ms noise burst with a 2 kHz ring on each
    beat, over a quiet hiss (-60 dBFS)."""
    rng = np.random.default_rng(seed)
    n = int(seconds * sr)
    x = (rng.standard_normal(n) * 0.001).astype(np.float32)
    times = np.arange(start, seconds - 0.05, 60.0 / bpm)
    burst_n = int(0.010 * sr)
    t = np.arange(burst_n) / sr
    env = np.exp(-t / 0.003)
    for c in times:
        i = int(round(c * sr))
        burst = level * env * (0.6 * rng.standard_normal(burst_n) + 0.4 * np.sin(2 * np.pi * 2000 * t))
        x[i:i + burst_n] += burst[: max(0, min(burst_n, n - i))].astype(np.float32)
    return x, times


def drum_loop(bpm: float = 128.0, seconds: float = 10.0, sr: int = SR, seed: int = 1) -> np.ndarray:
    """A four-on-the-floor loop: a kick (a falling 110->45 Hz sine) on every beat, a snare
    (noise burst) on 2 and 4, a closed hi-hat (high-passed noise) on every eighth."""
    rng = np.random.default_rng(seed)
    n = int(seconds * sr)
    x = np.zeros(n, np.float32)
    beat = 60.0 / bpm

    def put(at: float, sound: np.ndarray) -> None:
        i = int(round(at * sr))
        m = max(0, min(len(sound), n - i))
        x[i:i + m] += sound[:m]

    t = np.arange(int(0.25 * sr)) / sr
    kick = 0.8 * np.sin(2 * np.pi * (45 * t + 65 * 0.04 * (1 - np.exp(-t / 0.04)))) * np.exp(-t / 0.12)
    ts = np.arange(int(0.15 * sr)) / sr
    snare = 0.4 * rng.standard_normal(len(ts)) * np.exp(-ts / 0.05)
    th = np.arange(int(0.05 * sr)) / sr
    hat = np.diff(rng.standard_normal(len(th) + 1)) * 0.1 * np.exp(-th / 0.015)
    k = 0
    while k * beat / 2 < seconds:
        at = 0.1 + k * beat / 2
        put(at, hat.astype(np.float32))
        if k % 2 == 0:
            put(at, kick.astype(np.float32))
            if (k // 2) % 2 == 1:
                put(at, snare.astype(np.float32))
        k += 1
    return np.clip(x, -1, 1)
