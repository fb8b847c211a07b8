"""Where the music goes: the built-in synth, MIDI out, OSC out; `MusicVoice` runs them.

    voice = MusicVoice(store, summary_source=lambda: getattr(engine.scene, "summary", None),
                       bpm_source=lambda: clock.bpm, midi_out=args.music_midi_out,
                       osc_targets=args.osc_out).start()
    ...
    voice.stop()

The voice thread wakes every 10 ms: it hands each new summary to the composer, asks it for the
events up to LOOKAHEAD ahead and schedules them: on the synth's sample clock (so the audio is
sample-accurate despite the thread's jitter), and in a time-ordered queue for MIDI/OSC, sent
when due (note-offs too). While music.enabled is off it composes nothing (sounding notes ring out).
"""
from __future__ import annotations

import collections
import heapq
import itertools
import logging
import socket
import threading
import time
from typing import Any, Callable

from ..params import ParamStore
from .composer import ChordEvent, Composer, NoteEvent
from .synth import Synth, event_notes

log = logging.getLogger(__name__)

LOOKAHEAD = 0.1
TICK = 0.01


class MidiOut:
    """Notes to a MIDI port via mido: a port name or name prefix (ALSA numbers change between
    boots), or 'virtual' for a new virtual port. `open()` fails soft: one log line and None."""

    def __init__(self, port, channel: int = 0):
        self.port = port
        self.channel = channel

    @classmethod
    def open(cls, name: str, channel: int = 0) -> "MidiOut | None":
        try:
            import mido

            from ..control.midiports import find_port, list_outputs

            if name == "virtual":
                port = mido.open_output("liveart music", virtual=True)
            else:
                found = find_port(list_outputs(), name)
                if found is None:
                    raise OSError(f"no MIDI output called {name!r}; there are: "
                                  f"{', '.join(list_outputs()) or 'none'}")
                port = mido.open_output(found)
        except Exception as e:  # noqa: BLE001 - no backend, no ALSA sequencer, unknown port
            log.warning("MIDI music output %r is not available (%s); the music goes on without it.",
                        name, str(e).splitlines()[0] if str(e) else type(e).__name__)
            return None
        return cls(port, channel)

    def note_on(self, pitch: int, velocity: int) -> None:
        import mido

        self.port.send(mido.Message("note_on", note=int(pitch), velocity=int(velocity),
                                    channel=self.channel))

    def note_off(self, pitch: int) -> None:
        import mido

        self.port.send(mido.Message("note_off", note=int(pitch), velocity=0, channel=self.channel))

    def close(self) -> None:
        try:
            self.port.close()
        except Exception:  # noqa: BLE001
            pass


def music_readout(ev) -> tuple[str, list[tuple[Any, str]]]:
    """A note or chord event as its readout: (address, [(value, OSC type tag), ...])."""
    if isinstance(ev, ChordEvent):
        return "/liveart/music/chord", [(int(p), "i") for p in ev.pitches]
    return "/liveart/music/note", [(int(ev.pitch), "i"), (int(ev.velocity), "i"),
                                   (float(ev.duration_s), "f")]


class OscMusicOut:
    """/liveart/music/note i i f (pitch, velocity, duration s) and /liveart/music/chord i i i
    to each (host, port) of --osc-out."""

    def __init__(self, targets):
        from pythonosc.udp_client import SimpleUDPClient

        self.clients = []
        for host, port in targets:
            try:
                self.clients.append(SimpleUDPClient(str(host), int(port)))
            except (OSError, ValueError) as e:
                log.warning("OSC music output to %s:%s is not available (%s).", host, port, e)

    def send(self, ev) -> None:
        address, args = music_readout(ev)
        self._send(address, [v for v, _ in args])

    def _send(self, address: str, args: list) -> None:
        for c in self.clients:
            try:
                c.send_message(address, args)
            except (OSError, socket.error):
                pass  # a listener that went away must not stop the music


class MusicVoice:
    def __init__(self, store: ParamStore, summary_source: Callable[[], Any],
                 bpm_source: Callable[[], float | None] | None = None, *, synth: bool = True,
                 midi_out: str | None = None, osc_targets=(), seed: int = 0,
                 samplerate: int = 48000, gate: Callable[[], bool] | None = None):
        """`gate()`: False silences the voice whatever music.enabled says (e.g. an
        installation outside its schedule)."""
        from . import composer as _  # noqa: F401  (declares music.* before the store reads them)

        self.store = store
        self.gate = gate
        self.summary_source = summary_source
        self.composer = Composer(seed, bpm_source)
        self.synth = Synth(samplerate) if synth else None
        self.midi = MidiOut.open(midi_out) if midi_out else None
        self.osc = OscMusicOut(osc_targets) if osc_targets else None
        self.notes_played = 0
        self._queue: list = []          # (time_s, seq, kind, payload) for MIDI/OSC
        self._seq = itertools.count()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._t0 = 0.0
        self._frame0 = 0
        self._sounding = False
        self._tried_sound = False
        # A recording listens here: each event with its wall-clock (time.monotonic) start; and
        # the last events, for a recording that starts while they are scheduled or sounding.
        self.event_listeners: list[Callable[[float, Any], None]] = []
        self.recent_events: collections.deque = collections.deque(maxlen=256)
        self.anchor: tuple[float, int] | None = None  # (monotonic t0, synth frame handed out then)

    def start(self) -> "MusicVoice":
        """Start the voice thread. The sound device opens when music.enabled first turns on,
        so a show without music neither holds the device nor spends CPU on its callback."""
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="music", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2.0)
            self._thread = None
        self._flush_midi()
        if self.synth:
            self.synth.stop()
        if self.midi:
            self.midi.close()

    def _run(self) -> None:
        last_summary = None
        enabled = False
        while not self._stop.wait(TICK):
            try:
                values = self.store.targets()
                now = time.monotonic()
                wanted = bool(values["music.enabled"]) and (self.gate is None or self.gate())
                if self._sounding:
                    self.synth.watch(now)  # a stream that died is reopened
                if wanted and not enabled:  # (re)start the clock from now
                    if self.synth and self.synth.stream is None and not self._tried_sound:
                        self._tried_sound = True  # one try: no device is one sentence, not a loop
                        self._sounding = self.synth.start()
                    self.composer.reset()
                    self._t0 = now
                    self._frame0 = self.synth.core.out_frame if self.synth else 0
                    if self._sounding:
                        self.anchor = (self._t0, self._frame0)
                enabled = wanted
                if self.synth:
                    self.synth.core.volume = float(values["music.volume"])
                if enabled:
                    summary = self.summary_source()
                    if summary is not None and summary is not last_summary:
                        self.composer.observe(summary)
                        last_summary = summary
                    for ev in self.composer.advance(now - self._t0 + LOOKAHEAD, values):
                        self._schedule(ev)
                self._send_due(now - self._t0)
            except Exception:  # noqa: BLE001 - the show goes on; say it once in a while
                log.exception("music voice error")
                self._stop.wait(1.0)

    @property
    def sounding(self) -> bool:
        """True while the built-in synth plays on a sound device."""
        return bool(self.synth and self._sounding and self.synth.stream is not None)

    def audio_frame_at(self, t: float) -> int | None:
        """The synth's frame (its sample clock) that goes with wall-clock time `t`, on the same
        reckoning that places notes; None until the synth has sounded."""
        if self.anchor is None or not self.synth:
            return None
        t0, frame0 = self.anchor
        return frame0 + int(round((t - t0) * self.synth.core.sr))

    def _schedule(self, ev) -> None:
        self.notes_played += 1
        self.recent_events.append((self._t0 + ev.time_s, ev))
        for listener in self.event_listeners:
            try:
                listener(self._t0 + ev.time_s, ev)
            except Exception:  # noqa: BLE001 - a recording's trouble must not stop the music
                log.debug("music event listener failed", exc_info=True)
        if self.synth and self._sounding:
            core = self.synth.core
            for t, pitch, vel, dur, pan, voice in event_notes(ev):
                # the synth's clock: frame0 was handed out at t0; LOOKAHEAD covers the jitter
                core.push_note(self._frame0 + int(t * core.sr), pitch, vel, dur, pan, voice)
        if self.midi or self.osc:
            heapq.heappush(self._queue, (ev.time_s, next(self._seq), "on", ev))

    def _send_due(self, t_now: float) -> None:
        while self._queue and self._queue[0][0] <= t_now:
            _, _, kind, payload = heapq.heappop(self._queue)
            try:
                if kind == "off":
                    if self.midi:
                        self.midi.note_off(payload)
                    continue
                if self.osc:
                    self.osc.send(payload)
                pitches = payload.pitches if isinstance(payload, ChordEvent) else (payload.pitch,)
                if self.midi:
                    for p in pitches:
                        self.midi.note_on(p, payload.velocity)
                        heapq.heappush(self._queue, (payload.time_s + payload.duration_s,
                                                     next(self._seq), "off", p))
            except Exception as e:  # noqa: BLE001
                log.warning("music output error: %s", e)

    def _flush_midi(self) -> None:
        while self._queue:
            _, _, kind, payload = heapq.heappop(self._queue)
            if kind == "off" and self.midi:
                try:
                    self.midi.note_off(payload)
                except Exception:  # noqa: BLE001
                    pass


__all__ = ["MidiOut", "OscMusicOut", "music_readout", "MusicVoice", "NoteEvent", "ChordEvent"]
