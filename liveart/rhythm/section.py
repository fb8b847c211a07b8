"""The rhythm section of a show: the tempo clock and the audio input, feeding the modulators.

`Rhythm(store, ...)` attaches itself to the store: every snapshot asks `sources(now)`, which
advances the tempo clock and reads the audio features, so the modulators, the HUD and OSC see
the same values in the same tick. `render --audio` uses `OfflineRhythm`, which feeds the song's
samples up to each frame's time instead of listening.
"""
from __future__ import annotations

import threading
import time

import numpy as np

from .analysis import AudioAnalyzer
from .tempo import TempoClock, beat_pulse

FEATURES = ("audio.level", "audio.low", "audio.mid", "audio.high", "audio.onset", "audio.beat")


class Rhythm:
    def __init__(self, store, midi=None, link=None, audio_in=None):
        self.store = store
        self.audio_in = audio_in
        self.link = link
        self.clock = TempoClock(store, midi=midi, link=link,
                                audio=audio_in.beat if audio_in is not None else None)
        self.latest: dict[str, float] = {}
        # called with (time, "/liveart/tempo/beat", [(beat, "i"), (bpm, "f")]) on each beat
        self.beat_listeners: list = []
        self._last_beat: int | None = None
        self._lock = threading.Lock()
        store.mod_sources = self.sources

    def _features(self, now: float) -> dict[str, float]:
        if self.audio_in is None:
            return {}
        return self.audio_in.features(now)

    def sources(self, now: float | None = None) -> dict[str, float]:
        with self._lock:  # snapshots come from the engine and from controllers' threads
            return self._sources(time.monotonic() if now is None else now)

    def _sources(self, now: float) -> dict[str, float]:
        tempo = self.clock.update(now)
        values = {"bpm": tempo.bpm, "beat_position": tempo.beat, "beat_phase": tempo.phase,
                  "beat": beat_pulse(tempo)}
        values.update(self._features(now))
        self.latest = values
        beat = int(tempo.beat // 1)
        if self._last_beat is None or beat > self._last_beat:
            if self._last_beat is not None:
                for listener in self.beat_listeners:
                    listener(now, "/liveart/tempo/beat", [(beat, "i"), (float(tempo.bpm), "f")])
            self._last_beat = beat
        return values

    def beats_to_seconds(self, beats: float) -> float:
        return self.clock.beats_to_seconds(beats)

    def stop(self) -> None:
        if self.audio_in is not None:
            self.audio_in.stop()
        if self.link is not None:
            self.link.close()


class OfflineRhythm(Rhythm):
    """For `render --audio SONG`: frame k at time k/fps hears the song's samples up to that
    time, through the same analysis as live; the same song gives the same frames every run.
    The tempo clock runs on the frame times too, so LFOs and beats are deterministic."""

    def __init__(self, store, samples: np.ndarray | None, sample_rate: int = 44100):
        self.samples = samples
        self.analyzer = AudioAnalyzer(sample_rate) if samples is not None else None
        self._fed = 0
        super().__init__(store)
        self.clock = TempoClock(store, audio=self._beat, now=0.0)

    def _advance(self, t: float) -> None:
        if self.analyzer is None:
            return
        upto = min(len(self.samples), int(round(t * self.analyzer.sr)))
        if upto > self._fed:
            self.analyzer.feed(self.samples[self._fed:upto])
            self._fed = upto

    def _features(self, now: float) -> dict[str, float]:
        if self.analyzer is None:
            return {}
        self._advance(now)
        return self.analyzer.features(now)

    def _beat(self, now: float):
        if self.analyzer is None or self.analyzer.beat is None:
            return None
        b = self.analyzer.beat
        return b.bpm, (now - b.anchor) / b.period
