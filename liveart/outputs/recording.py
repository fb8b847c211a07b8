"""Recording during a show: start/stop from a key (C), OSC (/liveart/record/start [name],
/liveart/record/stop, /liveart/record/toggle) and MIDI (`action = "record/toggle"`), with the
music voice's sound in the file.

    control = start_recording_control(engine, actions, voice, args)   # once, in `liveart run`
    ...
    control.stop()   # at the end of the show: finishes a running recording

Sound, two ways (`VoiceAudio`):
* Live, with a sound device: the synth's audio callback copies every block it plays into a
  preallocated ring (`Synth.tap`); a thread here drains it into a WAV next to the video. The
  sample played at the first frame's wall-clock time is found with the music voice's own
  reckoning of its sample clock (the one that places the notes), so it lands at t=0.
  This is what the audience heard: live volume moves, notes that began before the recording.
* No sound device (a headless box, CI), or a headless/blocking recording: the callback never
  runs, so the music voice's events (each with its wall-clock time) are collected and played
  through the same synth offline at the end, each at the video time of its wall-clock time.
  Exact by construction, and in blocking mode (frames at 1/fps whatever the show's real pace)
  the only way to keep the notes on the frames that made them.
"""
from __future__ import annotations

import logging
import os
import threading
import time
import wave
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any, Callable

import numpy as np

from ..errors import UserError
from .recorder import _FOURCC, Recorder, find_ffmpeg, video_encoder

log = logging.getLogger(__name__)

CHUNK = 4096          # frames per WAV write
DRAIN_EVERY = 0.1     # s between drains of the synth's tap
TAIL_WAIT = 1.0       # s to wait at the end for the callback to play the last frames
PREROLL = 4.0         # s: notes begun this long before the recording still sound in it


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


def _pcm(x: np.ndarray) -> bytes:
    return (np.clip(x, -1.0, 1.0) * 32767.0).round().astype("<i2").tobytes()


class _Wav:
    """A 16-bit stereo WAV written a chunk at a time."""

    def __init__(self, path: str, samplerate: int):
        self.frames = 0
        self.w = wave.open(path, "wb")
        self.w.setnchannels(2)
        self.w.setsampwidth(2)
        self.w.setframerate(samplerate)

    def write(self, x: np.ndarray) -> None:
        self.w.writeframes(_pcm(x))
        self.frames += x.shape[0]

    def silence(self, n: int) -> None:
        z = np.zeros((min(n, CHUNK), 2), np.float32)
        while n > 0:
            m = min(n, CHUNK)
            self.write(z[:m])
            n -= m

    def close(self) -> None:
        self.w.close()


class VoiceAudio:
    """The music voice's sound for one recording (see the module's notes)."""

    def __init__(self, voice, blocking: bool = False, tap=None,
                 frame_at: Callable[[float], int | None] | None = None, samplerate: int | None = None):
        self.voice = voice
        synth = getattr(voice, "synth", None)
        self.tap = tap if tap is not None else (synth.tap if synth is not None and not blocking else None)
        self.frame_at = frame_at or getattr(voice, "audio_frame_at", lambda t: None)
        self.sr = samplerate or (synth.core.sr if synth is not None else 48000)
        self.events: list[tuple[float, Any]] = []
        self.played = 0      # frames the tap gave that the callback really played
        self._a0: int | None = None
        self._pos = 0        # frames written to the WAV
        self._wav: _Wav | None = None
        self._path = ""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._buf = np.zeros((CHUNK, 2), np.float32)

    # -- recording starts --------------------------------------------------------------------
    def begin(self, t_first: float, wav_path: str) -> None:
        self.t_first = t_first
        self._path = wav_path
        if self.voice is not None and hasattr(self.voice, "event_listeners"):
            self.voice.event_listeners.append(self._on_event)
            # and the notes scheduled (LOOKAHEAD ahead) or still sounding when we start
            for t, ev in _copy(getattr(self.voice, "recent_events", ())):
                if t > t_first - PREROLL and not any(e is ev for _, e in self.events):
                    self.events.append((t, ev))
        if self.tap is not None:
            self._thread = threading.Thread(target=self._drain_loop, name="record-audio", daemon=True)
            self._thread.start()

    def _on_event(self, t: float, ev) -> None:
        self.events.append((t, ev))  # list.append is atomic

    # -- the live tap --------------------------------------------------------------------------
    def _drain_loop(self) -> None:
        while not self._stop.wait(DRAIN_EVERY):
            try:
                self._drain(None)
            except Exception as e:  # noqa: BLE001 - e.g. disk full: say it once, stop the sound
                log.warning("Recording sound stopped: %s", e)
                return

    def _drain(self, until: int | None) -> None:
        """Copy what the tap has (up to audio frame a0 + `until`) into the WAV."""
        if self._a0 is None:
            a0 = self.frame_at(self.t_first)
            if a0 is None:  # the synth has not sounded yet: nothing to take
                return
            self._a0 = a0
        while True:
            start = self._a0 + self._pos
            n = min(CHUNK, self.tap.end - start)
            if until is not None:
                n = min(n, until - self._pos)
            if n <= 0:
                return
            if self._wav is None:
                self._wav = _Wav(self._path, self.sr)
            out = self._buf[:n]
            got = self.tap.read(start, out)
            if start + n > 0:
                self.played += max(0, min(got, start + n))
            self._wav.write(out)
            self._pos += n

    # -- recording ends --------------------------------------------------------------------------
    def finish(self, duration: float, video_time: Callable[[float], float]) -> bool:
        """Make the WAV exactly `duration` long, starting at the first frame; True when it
        carries sound."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if self.voice is not None and hasattr(self.voice, "event_listeners"):
            try:
                self.voice.event_listeners.remove(self._on_event)
            except ValueError:
                pass
        total = int(round(duration * self.sr))
        if self.tap is not None:
            end = time.monotonic() + TAIL_WAIT
            while True:
                self._drain(total)
                if (self._a0 is None or self._pos >= total or time.monotonic() > end
                        or not getattr(self.voice, "sounding", True)):  # the stream has stopped
                    break
                time.sleep(0.02)
        if self.played > 0 and self._wav is not None:
            if self._pos < total:
                self._wav.silence(total - self._pos)
            self._wav.close()
            return True
        if self._wav is not None:
            self._wav.close()
        if not self.events:
            return False
        self._render_events(total, video_time)
        return True

    def _render_events(self, total: int, video_time: Callable[[float], float]) -> None:
        from ..music.synth import SynthCore, event_notes

        core = SynthCore(self.sr)
        try:
            core.volume = float(self.voice.store.targets()["music.volume"])
        except Exception:  # noqa: BLE001 - no store: the synth's default
            pass
        notes = sorted(((video_time(t), n) for t, ev in self.events for n in event_notes(ev)),
                       key=lambda x: x[0])
        notes = [n for n in notes if n[0] >= -PREROLL]
        # notes that began before the first frame are played from their start, unheard until
        # t=0, so they go on as they sounded (up to PREROLL s back)
        pre = int(round(min(PREROLL, max(0.0, -notes[0][0])) * self.sr)) if notes else 0
        wav = _Wav(self._path, self.sr)
        i = 0
        for start in range(0, total + pre, CHUNK):
            m = min(CHUNK, total + pre - start)
            while i < len(notes) and notes[i][0] * self.sr + pre < start + m:
                vt, (_, pitch, vel, dur, pan, voice) = notes[i]
                if not core.push_note(max(int(round(vt * self.sr)) + pre, 0), pitch, vel, dur,
                                      pan, voice):
                    break  # ring full: play what is queued first
                i += 1
            out = self._buf[:m]
            core.process(out)
            if start + m > pre:
                wav.write(out[max(0, pre - start):])
        wav.close()


def safe_name(name: str, folder: Path, taken=()) -> Path:
    """A recording's file for a name that came from a controller: inside `folder` only
    (relative, no `..`), `.mp4` added when there is no extension, `-2`, `-3`... when the file
    exists or is in `taken` (paths being written)."""
    text = str(name).strip()
    if not text:
        raise UserError("A recording's name can't be empty.")
    if (PurePosixPath(text).is_absolute() or PureWindowsPath(text).is_absolute()
            or PureWindowsPath(text).drive or "\\" in text or "\0" in text):
        raise UserError(f"A recording's name must be relative to {folder}, not {text!r}.")
    parts = PurePosixPath(text).parts
    if any(p == ".." for p in parts):
        raise UserError(f"A recording's name can't contain '..': {text!r}.")
    path = folder.joinpath(*parts)
    if not path.suffix:
        path = path.with_name(path.name + ".mp4")
    if path.suffix.lower() not in _FOURCC:
        raise UserError(f"Can't record to {text!r}: use one of {', '.join(_FOURCC)}.")
    base = folder.resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.parent.resolve().is_relative_to(base):  # e.g. a symlink inside pointing out
        raise UserError(f"A recording's name must stay inside {folder}: {text!r}.")
    candidate, n = path, 2
    while (candidate.exists() or candidate.with_suffix(".audio.wav").exists()
           or str(candidate) in taken):
        candidate = path.with_name(f"{path.stem}-{n}{path.suffix}")
        n += 1
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
            if self._recorder is not None:
                self._recorder.write(out.image)

    # -- actions ----------------------------------------------------------------------------------
    def start_action(self, name: Any = None) -> str:
        """record/start [name]: a name inside the recordings folder, or a timestamped one."""
        folder = self.folder or recordings_dir()
        folder.mkdir(parents=True, exist_ok=True)
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
    ffmpeg = find_ffmpeg()
    if ffmpeg is not None:  # ask ffmpeg for its encoders now, not in the first recorded tick
        threading.Thread(target=video_encoder, args=(ffmpeg,), name="ffmpeg-probe",
                         daemon=True).start()
    engine.sinks.append(control.sink)
    if getattr(args, "record", None):
        control.start(args.record)
    return control
