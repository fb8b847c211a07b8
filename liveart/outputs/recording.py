"""Recording during a show: start/stop from a key (C), OSC (/liveart/record/start [name],
/liveart/record/stop, /liveart/record/toggle) and MIDI (`action = "record/toggle"`), with the
music voice's sound in the file.

    control = start_recording_control(engine, actions, voice, args)   # once, in `liveart run`
    ...
    control.stop()   # at the end of the show: finishes a running recording

Sound (`VoiceAudio`) goes into the video's container as it is recorded (AAC, interleaved with
the picture), so a file cut by a crash has its sound up to the cut, in sync. The recorder's
worker asks for what is ready after every frame; sample 0 is the first frame. Two sources:
* Live, with a sound device: the synth's audio callback copies every block it plays into a
  preallocated ring (`Synth.tap`), read from here. The sample played at the first frame's
  wall-clock time is found with the music voice's own reckoning of its sample clock (the one
  that places the notes), so it lands at t=0. This is what the audience heard: live volume
  moves, notes that began before the recording.
* No sound device (a headless box, CI), or a headless/blocking recording: the callback never
  runs, so the music voice's events (each with its wall-clock time) are played through the same
  synth here, each at the video time of its wall-clock time, a little behind the picture: an
  event is placed once the frames around its time are written (blocking mode: frames at 1/fps
  whatever the show's real pace, the only way to keep the notes on the frames that made them),
  and the sound is rendered up to MARGIN s (wall clock) before the newest frame, at most
  MAX_LAG s of video behind it, so a note the voice sends a little late still lands on time.
"""
from __future__ import annotations

import bisect
import collections
import itertools
import logging
import math
import os
import threading
import time
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any, Callable, Iterator

import numpy as np

from ..errors import UserError
from .recorder import EXTENSIONS, Recorder, video_codec

log = logging.getLogger(__name__)

CHUNK = 4096          # frames per piece of sound handed to the recorder
TAIL_WAIT = 1.0       # s to wait at the end for the callback to play the last frames
PREROLL = 4.0         # s: notes begun this long before the recording still sound in it
MARGIN = 0.25         # s of wall clock: the voice's events for this long before the newest
#                       frame may still come (it sends them LOOKAHEAD = 0.1 s early, its thread
#                       can be late on a loaded machine)
MAX_LAG = 0.25        # s of video: the sound is never further behind the picture (a headless
#                       show ticking far faster than --fps), so a cut file loses little
TAP_MAX_LAG = 1.0     # s: a sound device that stops playing is silence beyond this, so the
#                       picture is never held back waiting for it
NAME_MAX = 255        # bytes in one file or folder name (most file systems)


def _copy(events) -> list:
    """A copy of a deque another thread appends to."""
    for _ in range(10):
        try:
            return list(events)
        except RuntimeError:  # mutated while we copied
            continue
    return []


def recordings_dir() -> Path:
    """`$LIVEART_RECORDINGS_DIR`, else `recordings` in the user's config folder."""
    env = os.environ.get("LIVEART_RECORDINGS_DIR", "").strip()
    if env:
        return Path(env).expanduser()
    from ..userdirs import config_dir

    return config_dir() / "recordings"


class VoiceAudio:
    """The music voice's sound for one recording (see the module's notes). The recorder calls
    `begin` at its first frame (on the show's thread), then `pull` and `finish` from its
    worker only; the voice's thread only appends to the inbox."""

    def __init__(self, voice, blocking: bool = False, tap=None,
                 frame_at: Callable[[float], int | None] | None = None, samplerate: int | None = None):
        self.voice = voice
        synth = getattr(voice, "synth", None)
        self.tap = tap if tap is not None else (synth.tap if synth is not None and not blocking else None)
        self.frame_at = frame_at or getattr(voice, "audio_frame_at", lambda t: None)
        self.sr = int(samplerate or (synth.core.sr if synth is not None else 48000))
        self.played = 0      # frames the tap gave that the callback really played
        self.late = 0        # notes that came after their moment was written (played late)
        self.t_first = 0.0
        self.video_time: Callable[[float], float] = lambda t: t - self.t_first
        self._a0: int | None = None   # the synth's frame at the first frame (tap mode)
        self._pos = 0        # samples handed out (sample 0: the first frame)
        self._inbox: collections.deque = collections.deque()  # (wall t, event) from the voice
        self._pending: list = []      # events whose video time is not final yet
        self._notes: list = []        # (video sample, seq, note), sorted
        self._seq = itertools.count()
        self._core = None             # the synth rendering the events (event mode)
        self._pre = 0                 # its frames before sample 0 (notes begun earlier)
        self._cpos = 0                # its frames rendered
        self._listening = False
        self._buf = np.zeros((CHUNK, 2), np.float32)

    # -- recording starts --------------------------------------------------------------------
    def begin(self, t_first: float, video_time: Callable[[float], float] | None = None) -> None:
        self.t_first = t_first
        if video_time is not None:
            self.video_time = video_time
        if self.voice is not None and hasattr(self.voice, "event_listeners"):
            self.voice.event_listeners.append(self._on_event)
            self._listening = True
            # and the notes scheduled (LOOKAHEAD ahead) or still sounding when we start
            got = list(self._inbox)
            for t, ev in _copy(getattr(self.voice, "recent_events", ())):
                if t > t_first - PREROLL and not any(e is ev for _, e in got):
                    self._inbox.append((t, ev))

    def _on_event(self, t: float, ev) -> None:
        self._inbox.append((t, ev))  # deque.append is thread-safe

    def detach(self) -> None:
        """Stop listening to the voice (idempotent)."""
        if self._listening:
            self._listening = False
            try:
                self.voice.event_listeners.remove(self._on_event)
            except ValueError:
                pass

    # -- while recording (the recorder's worker) -------------------------------------------------
    def pull(self, video_end: float, last_t: float | None = None) -> Iterator[np.ndarray]:
        """The sound ready now, as (n x 2) float32 pieces following the ones before, never past
        `video_end` (s of video written). `last_t`: blocking mode, the wall-clock time of the
        newest frame written (live: now)."""
        limit = int(round(video_end * self.sr))
        if self._tap_ready():
            heard = self.tap.end - self._a0
            yield from self._read_tap(min(limit, max(heard, limit - int(TAP_MAX_LAG * self.sr))))
            return
        final = time.monotonic() if last_t is None else last_t
        self._take(final)
        vt = self.video_time
        upto = min(video_end, max(vt(final - MARGIN), vt(final) - MAX_LAG))
        yield from self._render(int(round(upto * self.sr)))

    def finish(self, duration: float) -> Iterator[np.ndarray]:
        """The rest of the sound, so that it lasts exactly `duration` s."""
        self.detach()
        total = int(round(duration * self.sr))
        if self._tap_ready():
            end = time.monotonic() + TAIL_WAIT
            while self._pos < total:
                yield from self._read_tap(min(total, self.tap.end - self._a0))
                if (self._pos >= total or time.monotonic() > end
                        or not getattr(self.voice, "sounding", True)):  # the stream has stopped
                    break
                time.sleep(0.02)
        else:
            self._take(math.inf)
            yield from self._render(total)
        while self._pos < total:  # silence to the end (the device stopped)
            n = min(CHUNK, total - self._pos)
            self._pos += n
            yield np.zeros((n, 2), np.float32)

    # -- the live tap --------------------------------------------------------------------------
    def _tap_ready(self) -> bool:
        if self.tap is None:
            return False
        if self._a0 is None:
            a0 = self.frame_at(self.t_first)
            if a0 is None:  # the synth has not sounded yet: the events stand in until it does
                return False
            self._a0 = a0
        return True

    def _read_tap(self, upto: int) -> Iterator[np.ndarray]:
        while self._pos < upto:
            n = min(CHUNK, upto - self._pos)
            start = self._a0 + self._pos
            out = self._buf[:n]
            got = self.tap.read(start, out)
            if start + n > 0:
                self.played += max(0, min(got, start + n))
            self._pos += n
            yield out.copy()

    # -- the voice's events, played here -----------------------------------------------------------
    def _take(self, final: float) -> None:
        """Place the events whose wall-clock time is at most `final` (their video time is then
        known for good); later ones wait."""
        from ..music.synth import event_notes

        while self._inbox:
            self._pending.append(self._inbox.popleft())
        keep = []
        for t, ev in self._pending:
            if t > final:
                keep.append((t, ev))
                continue
            at = int(round(self.video_time(t) * self.sr))
            if at < -PREROLL * self.sr:
                continue
            for note in event_notes(ev):
                bisect.insort(self._notes, (at, next(self._seq), note))
        self._pending = keep

    def _render(self, upto: int) -> Iterator[np.ndarray]:
        """Synthesise samples up to `upto` (sample 0: the first frame)."""
        if upto <= self._pos:
            return
        if self._core is None:
            from ..music.synth import SynthCore

            self._core = SynthCore(self.sr)
            # notes that began before the first frame are played from their start, unheard
            # until t=0, so they go on as they sounded (up to PREROLL s back)
            first = self._notes[0][0] if self._notes else 0
            self._pre = min(int(round(PREROLL * self.sr)), max(0, -first))
        core = self._core
        try:
            core.volume = float(self.voice.store.targets()["music.volume"])
        except Exception:  # noqa: BLE001 - no store: the synth's default
            pass
        end = self._pre + upto
        while self._cpos < end:
            m = min(CHUNK, end - self._cpos)
            notes = self._notes
            while notes and notes[0][0] + self._pre < self._cpos + m:
                at, _, (_, pitch, vel, dur, pan, voice) = notes[0]
                if at + self._pre < self._cpos:
                    self.late += 1
                if not core.push_note(max(at + self._pre, 0), pitch, vel, dur, pan, voice):
                    break  # ring full: play what is queued first
                notes.pop(0)
            out = self._buf[:m]
            core.process(out)
            skip = max(0, self._pre - self._cpos)
            self._cpos += m
            if skip < m:
                self._pos += m - skip
                yield out[skip:].copy()


def _short(text: str) -> str:
    """A name for a message: a 5000-character one is not repeated whole."""
    return repr(text) if len(text) <= 60 else repr(text[:40] + "...") + f" ({len(text)} characters)"


def safe_name(name: str, folder: Path, taken=()) -> Path:
    """A recording's file for a name that came from a controller: inside `folder` only
    (relative, no `..`), `.mp4` added when there is no extension, `-2`, `-3`... when the file
    exists or is in `taken` (paths being written)."""
    text = str(name).strip()
    if not text:
        raise UserError("A recording's name can't be empty.")
    if (PurePosixPath(text).is_absolute() or PureWindowsPath(text).is_absolute()
            or PureWindowsPath(text).drive or "\\" in text or "\0" in text):
        raise UserError(f"A recording's name must be relative to {folder}, not {_short(text)}.")
    parts = PurePosixPath(text).parts
    if any(p == ".." for p in parts):
        raise UserError(f"A recording's name can't contain '..': {_short(text)}.")
    # the "-2" suffix below needs room too
    if any(len(os.fsencode(p)) > NAME_MAX - 8 for p in parts):
        raise UserError(f"A recording's name is too long: {_short(text)}; keep each folder "
                        f"and file name under {NAME_MAX - 8} bytes.")
    path = folder.joinpath(*parts)
    if not path.suffix:
        path = path.with_name(path.name + ".mp4")
    if path.suffix.lower() not in EXTENSIONS:
        raise UserError(f"Can't record to {_short(text)}: use one of {', '.join(EXTENSIONS)}.")
    try:
        base = folder.resolve()
        path.parent.mkdir(parents=True, exist_ok=True)
        inside = path.parent.resolve().is_relative_to(base)
        candidate, n = path, 2
        while inside and (candidate.exists() or str(candidate) in taken):
            candidate = path.with_name(f"{path.stem}-{n}{path.suffix}")
            n += 1
    except OSError as e:  # a path too long in all, a read-only folder, ...
        raise UserError(f"Can't record to {_short(text)}: {e.strerror or e}.") from None
    if not inside:  # e.g. a symlink inside pointing out
        raise UserError(f"A recording's name must stay inside {folder}: {_short(text)}.")
    return candidate


class RecordControl:
    """Starts and stops recordings of the engine's output; one at a time."""

    def __init__(self, engine, actions=None, voice=None, fps: float = 30.0,
                 blocking: bool = False, folder: Path | None = None):
        self.engine = engine
        self.voice = voice
        self.fps = fps
        self.blocking = blocking
        self.folder = folder
        self.done: list[Recorder] = []     # finished (or finishing) recordings, oldest first
        self._recorder: Recorder | None = None
        self._lock = threading.Lock()
        self._finishing: list[threading.Thread] = []
        engine.recording = None  # the file being recorded to: the HUD shows REC while set
        if actions is not None:
            actions.add("record/start", self.start_action, 0, optional=1)
            actions.add("record/stop", self.stop_action, 0)
            actions.add("record/toggle", self.toggle_action, 0)

    @property
    def recording(self) -> str | None:
        """The file being recorded to, or None."""
        rec = self._recorder
        return rec.path if rec is not None else None

    # -- the engine's sink (render thread) -----------------------------------------------------
    def sink(self, out) -> None:
        with self._lock:
            rec = self._recorder
            if rec is not None:
                rec.write(out.image)
        if rec is not None and rec.failed and self._recorder is rec:  # disk full: it said
            self.stop_recording()  # so; the HUD's REC goes off

    # -- actions ----------------------------------------------------------------------------------
    def start_action(self, name: Any = None) -> str:
        """record/start [name]: a name inside the recordings folder, or a timestamped one."""
        folder = self.folder or recordings_dir()
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as e:  # a file in the way, a read-only or full disk: one sentence
            raise UserError(f"Can't record in {folder}: {e.strerror or e}; the show goes on "
                            "without recording.") from None
        if name is None or str(name).strip() == "":
            name = time.strftime("liveart-%Y%m%d-%H%M%S.mp4")
        return self.start(str(safe_name(str(name), folder, {r.path for r in self.done})))

    def stop_action(self) -> str:
        path = self.stop_recording()
        if path is None:
            raise UserError("Not recording.")
        return path

    def toggle_action(self) -> str | None:
        if self._recorder is not None:
            return self.stop_recording()
        return self.start_action()

    def start(self, path: str) -> str:
        """Record to `path` (any path: the caller checked it) from the next frame on."""
        with self._lock:
            if self._recorder is not None:
                raise UserError(f"Already recording to {self._recorder.path}; stop that first.")
            has_synth = self.voice is not None and getattr(self.voice, "synth", None) is not None
            audio = VoiceAudio(self.voice, blocking=self.blocking) if has_synth else None
            self._recorder = Recorder(path, self.fps, blocking=self.blocking, audio=audio)
            self.engine.recording = path
        log.info("Recording to %s (%s).", path, self._recorder.backend)
        return path

    def stop_recording(self) -> str | None:
        """Stop the running recording; its file is finished in the background (so a key press
        never freezes the window). Returns its path, or None when nothing was recording."""
        with self._lock:
            rec, self._recorder = self._recorder, None
            self.engine.recording = None
        if rec is None:
            return None
        self.done.append(rec)
        thread = threading.Thread(target=self._finish, args=(rec,), name="record-finish", daemon=True)
        self._finishing.append(thread)
        thread.start()
        return rec.path

    def _finish(self, rec: Recorder) -> None:
        try:
            rec.close()
        except Exception:  # noqa: BLE001
            log.exception("Could not finish the recording %s", rec.path)
            return
        if rec.t_first is None:
            log.info("Nothing recorded to %s: no frame came.", rec.path)
        else:
            log.info("Recorded %d frames (%.1f s) to %s.", rec.written, rec.duration, rec.path)

    # -- the show ends ----------------------------------------------------------------------------
    def stop(self) -> None:
        """Stop recording and wait until every file is finished."""
        self.stop_recording()
        for thread in self._finishing:
            thread.join()

    def summary(self) -> str:
        return "".join(f", recorded {r.written} to {r.path}" for r in self.done)


def start_recording_control(engine, actions, voice, args) -> RecordControl:
    """The one call `liveart run` makes: record actions, the engine's sink, and `--record`."""
    control = RecordControl(engine, actions, voice, fps=args.fps, blocking=bool(args.headless))
    # find the encoder now (NVENC's probe opens the GPU), not when the first frame comes
    threading.Thread(target=video_codec, args=((1280, 720),), name="encoder-probe",
                     daemon=True).start()
    engine.sinks.append(control.sink)
    if getattr(args, "record", None):
        control.start(args.record)
    return control
