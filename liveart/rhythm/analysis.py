"""What the room's music is doing, from its samples: level, three bands, onsets and the beat.

`AudioAnalyzer.feed(samples)` takes mono float32 samples in any block sizes and analyses them in
hops of HOP samples over a Hann window of FRAME samples (at 44.1 kHz: a hop every 5.8 ms, 23 ms
windows). Everything is in stream time (seconds of audio fed so far), so the same code gives
the same answers live and offline (`liveart render --audio`); `features(t)` reads them at a
tick's time.

- `level`: RMS of the newest window, 0 at -60 dBFS .. 1 at 0 dBFS.
- `low` / `mid` / `high`: energy of 20-250 Hz, 250-2000 Hz and 2-16 kHz on the same dB scale,
  each followed with a fast attack (10 ms) and a slower release (150 ms), as VJ tools do.
- `onset`: spectral flux (the summed rise of log magnitudes from one window to the next)
  crossing an adaptive threshold (1.5 x its median over the last half second, plus a floor),
  at most one every 60 ms; the onset's time is the window's centre at the crossing. The
  feature is a pulse: 1 at the onset, decaying with a 100 ms time constant.
- `beat`: the tempo from the autocorrelation of the flux envelope over the last 8 s (lags of
  60-200 bpm, weighted toward 120 bpm to avoid octave errors), then refined by a least-squares
  line through the onsets that fall on that beat grid, as the MIDI clock does with its ticks;
  the line gives the tempo and the phase. The feature is a pulse on each beat.

numpy's FFT rather than a beat-tracking library: aubio ships no wheels (a C build on every
machine), librosa's tracker works on whole files, not a stream, and pulls in numba; this is
one rfft per hop (about 40 us for 1024 points).
"""
from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import numpy as np

FRAME = 1024
HOP = 256
BANDS = {"low": (20.0, 250.0), "mid": (250.0, 2000.0), "high": (2000.0, 16000.0)}
FLOOR_DB = -60.0
ATTACK_S, RELEASE_S = 0.010, 0.150
PULSE_S = 0.100            # decay of the onset and beat pulses
REFRACTORY_S = 0.060       # no second onset this soon after one
THRESHOLD_S = 0.5          # the adaptive threshold's memory
TEMPO_WINDOW_S = 8.0       # the beat tracker's memory
TEMPO_EVERY_S = 0.25       # how often the tempo is re-estimated
MIN_BPM, MAX_BPM = 60.0, 200.0


def db01(power: float) -> float:
    """Mean power (of samples in -1..1) on a 0..1 scale: 0 at -60 dBFS, 1 at 0 dBFS."""
    db = 10.0 * math.log10(max(power, 1e-12))
    return min(1.0, max(0.0, (db - FLOOR_DB) / -FLOOR_DB))


@dataclass(frozen=True)
class Beat:
    bpm: float
    anchor: float  # the stream time of a beat

    @property
    def period(self) -> float:
        return 60.0 / self.bpm

    def phase(self, t: float) -> float:
        """0..1 within the beat at stream time `t` (0 on the beat)."""
        return ((t - self.anchor) / self.period) % 1.0


class AudioAnalyzer:
    def __init__(self, sample_rate: int):
        if sample_rate < 8000:
            raise ValueError("sample rate below 8 kHz")
        self.sr = int(sample_rate)
        self._window = np.hanning(FRAME).astype(np.float32)
        freqs = np.fft.rfftfreq(FRAME, 1.0 / self.sr)
        self._bands = {name: (freqs >= lo) & (freqs < min(hi, self.sr / 2)) for name, (lo, hi)
                       in BANDS.items()}
        self._frame = np.zeros(FRAME, np.float32)   # the newest FRAME samples
        self._pending = np.zeros(HOP, np.float32)   # samples waiting for a full hop
        self._npending = 0
        self.samples = 0                            # samples analysed (in whole hops)
        hop_s = HOP / self.sr
        self._attack = 1.0 - math.exp(-hop_s / ATTACK_S)
        self._release = 1.0 - math.exp(-hop_s / RELEASE_S)
        self.level = 0.0
        self.bands = {name: 0.0 for name in BANDS}
        self._prev_log: np.ndarray | None = None
        self._flux_recent: deque[float] = deque(maxlen=max(8, int(THRESHOLD_S / hop_s)))
        self._envelope: deque[float] = deque(maxlen=int(TEMPO_WINDOW_S / hop_s))
        self.onsets: deque[float] = deque(maxlen=256)  # stream times
        self._last_onset = -math.inf
        self.beat: Beat | None = None
        self._next_tempo = TEMPO_EVERY_S
        self.hops = 0

    @property
    def time(self) -> float:
        """Stream time of the newest sample analysed (s)."""
        return self.samples / self.sr

    # -- input -------------------------------------------------------------------------------
    def feed(self, samples: np.ndarray) -> None:
        """Analyse mono samples (any length); whole hops are analysed, the rest waits."""
        x = np.asarray(samples, dtype=np.float32).reshape(-1)
        i = 0
        while i < len(x):
            take = min(HOP - self._npending, len(x) - i)
            self._pending[self._npending:self._npending + take] = x[i:i + take]
            self._npending += take
            i += take
            if self._npending == HOP:
                self._frame[:-HOP] = self._frame[HOP:]
                self._frame[-HOP:] = self._pending
                self._npending = 0
                self.samples += HOP
                self._hop()

    def _hop(self) -> None:
        self.hops += 1
        frame = self._frame
        self.level = db01(float(np.dot(frame, frame)) / FRAME)
        spectrum = np.abs(np.fft.rfft(frame * self._window))
        power = spectrum * spectrum * (4.0 / (FRAME * FRAME * 0.375))  # a full-scale sine: ~1
        for name, mask in self._bands.items():
            value = db01(float(power[mask].sum()))
            old = self.bands[name]
            rate = self._attack if value > old else self._release
            self.bands[name] = old + (value - old) * rate
        log = np.log1p(1000.0 * spectrum)
        flux = 0.0 if self._prev_log is None else \
            float(np.maximum(log - self._prev_log, 0.0).mean())
        self._prev_log = log
        self._onset(flux)
        self._envelope.append(flux)
        if self.time >= self._next_tempo:
            self._next_tempo = self.time + TEMPO_EVERY_S
            self._track_tempo()

    def _onset(self, flux: float) -> None:
        recent = self._flux_recent
        threshold = 1.5 * (float(np.median(recent)) if recent else 0.0) + 0.05
        rising = bool(recent) and recent[-1] <= threshold
        recent.append(flux)
        centre = self.time - FRAME / 2 / self.sr
        warm = self.hops > FRAME // HOP + 1  # the first windows rise from the zeros before the stream
        if warm and flux > threshold and rising and centre - self._last_onset >= REFRACTORY_S:
            self._last_onset = centre
            self.onsets.append(centre)

    # -- tempo -------------------------------------------------------------------------------
    def _track_tempo(self) -> None:
        env = np.asarray(self._envelope, np.float64)
        fps = self.sr / HOP
        if len(env) < int(3.0 * fps):  # three seconds before a first guess
            return
        # a little blur: a beat that falls between two lags would otherwise split its peak
        # and lose to the one at twice its period, which lands on a lag
        env = np.convolve(env - env.mean(), (1.0, 2.0, 3.0, 2.0, 1.0), mode="same")
        n = len(env)
        spec = np.fft.rfft(env, 2 * n)
        acf = np.fft.irfft(spec * np.conj(spec))[:n]
        lo, hi = int(fps * 60.0 / MAX_BPM), min(n - 2, int(fps * 60.0 / MIN_BPM) + 1)
        if hi <= lo + 2 or acf[0] <= 0:
            return
        lags = np.arange(lo, hi)
        prior = np.exp(-0.5 * (np.log2(60.0 * fps / lags / 120.0) / 1.0) ** 2)
        score = acf[lo:hi] / (n - lags) * prior
        k = int(np.argmax(score))
        half = int(np.argmin(np.abs(lags - lags[k] / 2.0)))
        if abs(lags[half] - lags[k] / 2.0) <= 1.0 and score[half] >= 0.9 * score[k]:
            k = half  # as strong at twice the tempo (every beat, not every other): take that
        lag = float(lags[k])
        if 0 < k < len(score) - 1:  # parabolic interpolation between lags
            a, b, c = score[k - 1], score[k], score[k + 1]
            if a - 2 * b + c < 0:
                lag += 0.5 * (a - c) / (a - 2 * b + c)
        period = lag / fps
        self.beat = self._fit_onsets(period) or self._comb_phase(period, env, fps)

    def _fit_onsets(self, period: float) -> Beat | None:
        """A line t = anchor + period * k through the recent onsets on the beat grid."""
        now = self.time
        times = [t for t in self.onsets if now - t <= TEMPO_WINDOW_S]
        if len(times) < 4:
            return None
        ref = times[-1]
        ks, ts = [], []
        for t in times:
            k = (t - ref) / period
            if abs(k - round(k)) < 0.15:
                ks.append(round(k))
                ts.append(t)
        if len(ks) < 4 or len(set(ks)) < 4:
            return None
        slope, anchor = np.polyfit(np.asarray(ks, np.float64), np.asarray(ts, np.float64), 1)
        if not (60.0 / MAX_BPM * 0.9 <= slope <= 60.0 / MIN_BPM * 1.1):
            return None
        return Beat(60.0 / float(slope), float(anchor))

    def _comb_phase(self, period: float, env: np.ndarray, fps: float) -> Beat:
        """No clear onsets: the phase whose beat grid collects the most flux."""
        steps = max(1, int(round(period * fps)))
        start = len(env) - steps * max(1, len(env) // steps)
        sums = [float(env[start + off::steps].sum()) if start + off < len(env) else -math.inf
                for off in range(steps)]
        off = int(np.argmax(sums))
        anchor = self.time - (len(env) - (start + off)) / fps
        return Beat(60.0 / period, anchor)

    # -- what the show reads -----------------------------------------------------------------
    def features(self, t: float | None = None) -> dict[str, float]:
        """{audio.level, audio.low, audio.mid, audio.high, audio.onset, audio.beat} at stream
        time `t` (default: now in the stream); the pulses decay from their last event."""
        t = self.time if t is None else t
        last = self.onsets[-1] if self.onsets else -math.inf
        onset = math.exp(-(t - last) / PULSE_S) if t >= last else 0.0
        beat = 0.0
        if self.beat is not None:
            beat = math.exp(-self.beat.phase(t) * self.beat.period / PULSE_S)
        return {"audio.level": self.level, "audio.low": self.bands["low"],
                "audio.mid": self.bands["mid"], "audio.high": self.bands["high"],
                "audio.onset": onset, "audio.beat": beat}
