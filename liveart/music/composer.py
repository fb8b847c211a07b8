"""Composer: activation summaries in, notes and chords on a clock out.

The clock is a grid of sixteenth notes at `music.tempo` (or the bpm a `bpm_source()` reports,
e.g. the MIDI clock's). At each grid step the latest summary decides:

- which notes: the strongest channels of the layer, each on a fixed scale degree (a stable hash
  of the channel index: the same neuron always sings the same note, in any key or scale);
- how many: `music.density` x (a little + the energy level + the novelty level), weighted
  towards the beat (downbeats most likely, off sixteenths least);
- how loud: energy level -> velocity; novelty above its running mean -> an accent (louder, a
  note forced on that step);
- where: the energy centroid's x -> pan;
- harmony: a change of the network's top ImageNet class -> a ChordEvent (a triad on a degree
  hashed from the class name), at most one per beat.

Energy is judged against a slow peak follower (layers differ by orders of magnitude). Everything
random comes from one `random.Random(seed)` drawn a fixed number of times per step, so the same
summary sequence, parameters and seed give the same events.
"""
from __future__ import annotations

import math
import random
import zlib
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from ..params.music import SCALES, VOICES, root_pitch_class  # noqa: F401  (re-exported)
from .summary import ActivationSummary

STEPS_PER_BEAT = 4
ACCENT_BONUS = 25
ACCENT_NOVELTY = 0.2
NOVELTY_FLOOR = 0.08
CHORD_MIN_BEATS = 1.0
SPAN_DEGREES = 2  # channels spread over two octaves of the scale


@dataclass(frozen=True)
class NoteEvent:
    time_s: float
    pitch: int
    velocity: int
    duration_s: float
    pan: float          # -1 (left) .. 1 (right)
    voice: str
    accent: bool = False


@dataclass(frozen=True)
class ChordEvent:
    time_s: float
    pitches: tuple[int, ...]
    velocity: int
    duration_s: float
    voice: str = "pad"
    label: str = ""


def stable_hash(value: int | str) -> int:
    """The same number in every process (Python's hash() of str is salted)."""
    data = str(value).encode() if isinstance(value, str) else int(value).to_bytes(8, "little", signed=True)
    return zlib.crc32(data)


def channel_pitch(channel: int, scale: str, root_pc: int, octave: int) -> int:
    """The note a channel always sings: a fixed scale degree from a hash of its index."""
    steps = SCALES[scale]
    degree = stable_hash(channel) % (len(steps) * SPAN_DEGREES)
    return _degree_pitch(degree, steps, root_pc, octave)


def _degree_pitch(degree: int, steps, root_pc: int, octave: int) -> int:
    octs, idx = divmod(degree, len(steps))
    return int(min(127, max(0, 12 * (octave + 1) + root_pc + steps[idx] + 12 * octs)))


def chord_pitches(label: str, scale: str, root_pc: int, octave: int) -> tuple[int, ...]:
    """A triad (stacked scale thirds) on a degree hashed from the class name, an octave down."""
    steps = SCALES[scale]
    d = stable_hash(label) % len(steps)
    return tuple(_degree_pitch(d + 2 * k, steps, root_pc, max(0, octave - 1)) for k in range(3))


_DURATION_BEATS = {"pad": 2.0, "pluck": 0.5, "bell": 1.0}
_METRIC = (1.0, 0.35, 0.6, 0.35)  # sixteenths within a beat: beat, e, and, a


class Composer:
    def __init__(self, seed: int = 0, bpm_source: Callable[[], float | None] | None = None):
        self.seed = seed
        self.bpm_source = bpm_source
        self.reset()

    def reset(self) -> None:
        self.rng = random.Random(self.seed)
        self.summary: ActivationSummary | None = None
        self.step_index = 0
        self.next_step_s = 0.0          # time of the next grid step (before swing)
        self.peak = 0.0                 # slow peak follower of the energy
        self.level = 0.0                # energy / peak, 0..1
        self.nov_mean = 0.0             # running mean of novelty
        self.nov_level = 0.0
        self.accent_due = False
        self.label: str | None = None
        self.last_chord_s = -1e9
        self.pending_chord: str | None = None

    # -- listening ---------------------------------------------------------------------------
    def observe(self, summary: ActivationSummary | None) -> None:
        """Take a new summary (once per video frame / engine tick)."""
        if summary is None:
            return
        e = max(0.0, float(summary.energy)) if math.isfinite(summary.energy) else 0.0
        self.peak = max(e, self.peak * 0.995)
        self.level = e / self.peak if self.peak > 0 else 0.0
        nov = float(summary.novelty) if math.isfinite(summary.novelty) else 0.0
        if nov > max(ACCENT_NOVELTY, 2.5 * self.nov_mean) and self.summary is not None:
            self.accent_due = True
        self.nov_mean += 0.1 * (nov - self.nov_mean)
        # tick-to-tick noise (jitter, the dream's own growth) stays below ~0.1 on a still picture
        self.nov_level = min(1.0, max(0.0, nov - NOVELTY_FLOOR) / 0.25)
        if summary.labels:
            top = summary.labels[0][0]
            if top != self.label:
                self.label = top
                self.pending_chord = top
        self.summary = summary

    # -- playing -----------------------------------------------------------------------------
    def bpm(self, values: Mapping[str, Any]) -> float:
        if self.bpm_source is not None:
            b = self.bpm_source()
            if b is not None and math.isfinite(b) and 20.0 <= b <= 400.0:
                return float(b)
        return float(values["music.tempo"])

    def advance(self, until_s: float, values: Mapping[str, Any]) -> list:
        """Events for every grid step whose (unswung) time is before `until_s`, in time order."""
        events: list = []
        while self.next_step_s < until_s:
            step_s = 60.0 / self.bpm(values) / STEPS_PER_BEAT
            events.extend(self._step(self.next_step_s, step_s, values))
            self.step_index += 1
            self.next_step_s += step_s
        events.sort(key=lambda ev: ev.time_s)
        return events

    def _step(self, t: float, step_s: float, values: Mapping[str, Any]) -> list:
        r_play, r_second, r_pick = self.rng.random(), self.rng.random(), self.rng.random()
        s = self.summary
        if s is None or not s.top_channels:
            return []
        pos = self.step_index % STEPS_PER_BEAT
        when = t + (values["music.swing"] * step_s if pos % 2 else 0.0)
        scale, voice = values["music.scale"], values["music.voice"]
        root, octave = root_pitch_class(values["music.root"]), int(values["music.octave"])
        beat_s = step_s * STEPS_PER_BEAT
        out: list = []
        if self.pending_chord is not None and t - self.last_chord_s >= CHORD_MIN_BEATS * beat_s \
                and pos == 0:
            out.append(ChordEvent(when, chord_pitches(self.pending_chord, scale, root, octave),
                                  int(40 + 40 * self.level), 4 * beat_s, "pad", self.pending_chord))
            self.last_chord_s, self.pending_chord = t, None
        density = float(values["music.density"])
        p = density * (0.15 + 0.5 * self.level + 0.6 * self.nov_level) * _METRIC[pos] * 1.5
        accent = self.accent_due and density > 0
        if not (accent or r_play < p):
            return out
        self.accent_due = False
        top = s.top_channels
        chans = [top[int(r_pick * len(top)) % len(top)]]
        if len(top) > 1 and r_second < p * self.level * 0.5:
            chans.append(top[(top.index(chans[0]) + 1) % len(top)])
        vel = int(min(127, 45 + 60 * self.level + (ACCENT_BONUS if accent else 0)))
        dur = _DURATION_BEATS[voice] * beat_s * (1.2 - 0.5 * self.level)
        pan = max(-1.0, min(1.0, 2.0 * float(s.centroid[0]) - 1.0))
        for ch in chans:
            out.append(NoteEvent(when, channel_pitch(ch, scale, root, octave), vel, dur, pan,
                                 voice, accent))
        return out


def compose(summaries, fps: float, values: Mapping[str, Any], seed: int = 0,
            seconds: float | None = None) -> list:
    """Offline: the events a sequence of per-frame summaries plays (frame i at i/fps)."""
    c = Composer(seed)
    events: list = []
    n = len(summaries)
    for i, s in enumerate(summaries):
        c.observe(s)
        end = (i + 1) / fps
        events.extend(c.advance(end if seconds is None else min(end, seconds), values))
    if seconds is not None and seconds > n / fps:
        events.extend(c.advance(seconds, values))
    return events
