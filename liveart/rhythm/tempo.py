"""One tempo and beat position for the whole show, from the source the performer picks.

`tempo.source`:
- `internal`: `tempo.bpm` as set; changing it keeps the beat position continuous.
- `tap`: the average interval of the last taps (`tempo.tap`: a MIDI button, the T key, OSC
  /liveart/tempo/tap), at most 8, forgotten after 2 s without one; the beat lands on the taps.
  A tap under `internal` sets the tempo the same way.
- `midi`: the MIDI clock in (liveart.control.midiclock); `tempo.bpm` reports its tempo.
- `link`: an Ableton Link session (`--link`, liveart.rhythm.link); setting `tempo.bpm` changes
  the session's tempo.
- `audio`: the beat tracked in the audio input (liveart.rhythm.analysis).

`tempo.nudge` shifts the beat by a fraction of a beat, to line pulses up with the music.
A source that has no tempo yet (no clock ticks, no Link peer, nothing tracked) keeps the last
one, so the pulses never stop.
"""
from __future__ import annotations

import logging
import math
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Callable

log = logging.getLogger(__name__)

TAP_RESET_S = 2.0
MAX_TAPS = 8
REPORT_STEP_BPM = 0.05  # a measured tempo is written to tempo.bpm when it moves this much


@dataclass(frozen=True)
class Tempo:
    bpm: float
    beat: float  # beats since the clock started (nudge included)

    @property
    def phase(self) -> float:
        return self.beat % 1.0

    @property
    def period(self) -> float:
        return 60.0 / self.bpm


class TempoClock:
    """Call `update(now)` once per tick (the store's snapshot does, through liveart.rhythm.
    Rhythm); read `tempo`. `midi`, `link` and `audio` are the optional sources: a MidiClock,
    a LinkSession and a callable giving (bpm, beat) of the audio input's beat, or None."""

    def __init__(self, store, midi=None, link=None,
                 audio: Callable[[float], tuple[float, float] | None] | None = None,
                 now: float | None = None):
        self.store = store
        self.midi, self.link, self.audio = midi, link, audio
        now = time.monotonic() if now is None else now
        self._lock = threading.Lock()
        self._bpm = float(store.get("tempo.bpm"))
        self._anchor = (now, 0.0)  # (time, beat) the internal beat counts from
        self._taps: deque[float] = deque(maxlen=MAX_TAPS)
        self._fires = store.fires
        self._reported = self._bpm
        self._warned: set[str] = set()
        self.tempo = Tempo(self._bpm, 0.0)

    # -- internal and tap --------------------------------------------------------------------
    def _internal_beat(self, now: float) -> float:
        t0, b0 = self._anchor
        return b0 + (now - t0) * self._bpm / 60.0

    def _set_internal(self, bpm: float, now: float) -> None:
        """A new tempo from here on; the beat position goes on from where it is."""
        if bpm != self._bpm:
            self._anchor = (now, self._internal_beat(now))
            self._bpm = bpm

    def tap(self, at: float) -> float | None:
        """A tap at `at` (monotonic s); returns the tapped tempo once there are two taps."""
        with self._lock:
            if self._taps and at - self._taps[-1] > TAP_RESET_S:
                self._taps.clear()
            self._taps.append(at)
            if len(self._taps) < 2:
                return None
            bpm = 60.0 * (len(self._taps) - 1) / (self._taps[-1] - self._taps[0])
            bpm = min(300.0, max(20.0, bpm))
            self._set_internal(bpm, at)
            self._anchor = (at, float(round(self._internal_beat(at))))  # the tap is a beat
        self._report(bpm)
        return bpm

    def _report(self, bpm: float) -> None:
        """Write a tempo that came from elsewhere into tempo.bpm, so OSC, the HUD and the
        last state show it (rounded, and only when it moved)."""
        if abs(bpm - self._reported) >= REPORT_STEP_BPM:
            self._reported = round(bpm, 2)
            self.store.set("tempo.bpm", self._reported)

    # -- once per tick -----------------------------------------------------------------------
    def update(self, now: float | None = None) -> Tempo:
        now = time.monotonic() if now is None else now
        fires, fired = self.store.fired_since(self._fires)
        self._fires = fires
        if "tempo.tap" in fired:
            self.tap(self.store.last_fired("tempo.tap") or now)
        source = self.store.get("tempo.source")
        nudge = float(self.store.get("tempo.nudge"))
        bpm_param = float(self.store.get("tempo.bpm"))
        measured = self._measured(source, now, bpm_param)
        with self._lock:
            if measured is None:  # internal, tap, or a source with nothing yet
                if source in ("internal", "tap") and abs(bpm_param - self._reported) > 1e-6:
                    self._set_internal(bpm_param, now)  # set by hand (a fader, OSC)
                    self._reported = bpm_param
                bpm, beat = self._bpm, self._internal_beat(now)
            else:
                bpm, measured_beat = measured
                # the source gives the phase; the count goes on from ours (a new source, or
                # the audio tracker re-anchoring on its newest onset, never makes it jump)
                predicted = self._internal_beat(now)
                delta = (measured_beat - predicted + 0.5) % 1.0 - 0.5
                if math.floor(predicted + delta) < math.floor(predicted):
                    delta += 1.0  # never back over a beat already counted: forward instead
                beat = predicted + delta
                self._set_internal(bpm, now)  # if the source goes quiet, go on from here
                self._anchor = (now, beat)
        if measured is not None:
            self._report(bpm)
        self.tempo = Tempo(bpm, beat + nudge)
        return self.tempo

    def _measured(self, source: str, now: float, bpm_param: float) -> tuple[float, float] | None:
        if source == "midi":
            if self.midi is None:
                return self._missing(source, "no MIDI port is open (--midi-in)")
            bpm = self.midi.bpm
            return None if bpm is None else (bpm, self.midi.beat_at(now))
        if source == "link":
            if self.link is None:
                return self._missing(source, "liveart was started without --link")
            if abs(bpm_param - self._reported) > 1e-6:  # set here: the session follows
                self.link.set_tempo(bpm_param)
                self._reported = bpm_param
            return self.link.tempo_and_beat(now)
        if source == "audio":
            if self.audio is None:
                return self._missing(source, "there is no audio input (--audio-in)")
            return self.audio(now)
        return None

    def _missing(self, source: str, why: str) -> None:
        if source not in self._warned:
            self._warned.add(source)
            log.warning("tempo.source is %s but %s; the tempo stays at %.1f bpm", source, why,
                        self._bpm)
        return None

    def beats_to_seconds(self, beats: float) -> float:
        return float(beats) * 60.0 / self.tempo.bpm


def beat_pulse(tempo: Tempo, decay_s: float = 0.1) -> float:
    """1 on each beat, decaying with `decay_s`."""
    return math.exp(-tempo.phase * tempo.period / decay_s)
