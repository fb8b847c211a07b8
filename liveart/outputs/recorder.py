"""Recording the output to a video file, in its own thread so a slow disk never holds a tick.

Backends: ffmpeg (H.264 via libx264, else MPEG-4 part 2) when `ffmpeg` is on PATH, raw RGB
frames piped to it; OpenCV's VideoWriter (mp4v) otherwise.

Timing. A live show does not tick at exactly --fps, so in live mode (blocking=False) every frame
is stamped with its wall-clock time (time.monotonic() at `write`) relative to the first frame,
and the worker turns that into a constant-frame-rate file: a frame stamped t goes to slot
round(t * fps); a gap is filled by repeating the previous frame, and of two frames in one slot
the newer wins (what ffmpeg's -vsync cfr does). Constant frame rate rather than variable
timestamps because: every editor, player and VJ tool handles CFR; the rawvideo pipe carries no
per-frame timestamps (ffmpeg's -use_wallclock_as_timestamps would stamp the time ffmpeg *reads*
a frame, after our queue and the pipe's buffer, not when the show made it); the OpenCV fallback
can only write CFR, so both backends share one timing rule; and frame i sits at exactly i/fps,
which is what the audio is aligned to. The error is at most half a frame.
In blocking mode (headless runs, renders) every frame is written once, at i/fps.

Audio: an optional `audio` object (see liveart/outputs/recording.py) is told the first frame's
wall-clock time and the WAV to fill (`begin(t_first, wav)`) and, at `close`, finishes that WAV
(`finish(duration, video_time) -> bool`: True when there is sound) so that it starts at the
first frame and lasts as long as the video; it is then muxed in (-c:v copy -c:a aac).
"""
from __future__ import annotations

import array
import bisect
import functools
import logging
import os
import queue
import shutil
import subprocess
import tempfile
import threading
import time
from fractions import Fraction
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from ..errors import UserError

log = logging.getLogger(__name__)

_FOURCC = {".mp4": "mp4v", ".m4v": "mp4v", ".mov": "mp4v", ".avi": "MJPG", ".mkv": "MJPG"}


def open_writer(path: str, fps: float, size: tuple[int, int]) -> cv2.VideoWriter:
    """An OpenCV writer for `path` (codec from the extension); one sentence when it can't open."""
    _check_path(path)
    ext = Path(path).suffix.lower()
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*_FOURCC[ext]), fps, size)
    if not writer.isOpened():
        raise UserError(f"Cannot record to {path}: OpenCV could not open a video writer there.")
    return writer


def _check_path(path: str) -> None:
    ext = Path(path).suffix.lower()
    if ext not in _FOURCC:
        raise UserError(f"Cannot record to {path}: use one of {', '.join(_FOURCC)}.")
    parent = Path(path).resolve().parent
    if not parent.is_dir():
        raise UserError(f"Cannot record to {path}: folder {parent} does not exist.")


def find_ffmpeg() -> str | None:
    return shutil.which("ffmpeg")


@functools.lru_cache(maxsize=8)
def video_encoder(ffmpeg: str) -> str:
    """libx264 when this ffmpeg has it, else the built-in mpeg4 encoder."""
    try:
        r = subprocess.run([ffmpeg, "-hide_banner", "-encoders"], capture_output=True, text=True,
                           timeout=20)
        if any(line.split()[1:2] == ["libx264"] for line in r.stdout.splitlines()):
            return "libx264"
    except (OSError, subprocess.SubprocessError):
        pass
    return "mpeg4"


class _FfmpegSink:
    """Raw RGB frames on ffmpeg's stdin; its stderr goes to a temporary file (no pipe to drain)."""

    def __init__(self, ffmpeg: str, path: str, fps: float, size: tuple[int, int]):
        self.path = path
        self.encoder = video_encoder(ffmpeg)
        w, h = size
        rate = Fraction(fps).limit_denominator(1001)
        codec = (["-c:v", "libx264", "-preset", "veryfast", "-crf", "18"] if self.encoder == "libx264"
                 else ["-c:v", "mpeg4", "-q:v", "3"])
        # yuv420p needs even sizes: pad an odd edge by one pixel
        pad = ["-vf", "pad=ceil(iw/2)*2:ceil(ih/2)*2"] if w % 2 or h % 2 else []
        extra = ["-movflags", "+faststart"] if Path(path).suffix.lower() in (".mp4", ".m4v", ".mov") else []
        cmd = [ffmpeg, "-hide_banner", "-loglevel", "error", "-y", "-f", "rawvideo",
               "-pix_fmt", "rgb24", "-s", f"{w}x{h}", "-r", f"{rate.numerator}/{rate.denominator}",
               "-i", "-", "-an", *pad, *codec, "-pix_fmt", "yuv420p", *extra, path]
        self._err = tempfile.TemporaryFile()
        try:
            # its own session: Ctrl-C in the terminal stops the show, which then closes the
            # pipe and lets ffmpeg finish the file, rather than killing ffmpeg mid-file
            self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                         stderr=self._err, start_new_session=True)
        except OSError as e:
            self._err.close()
            raise UserError(f"Cannot record to {path}: ffmpeg did not start ({e}).") from None

    def write(self, image: np.ndarray) -> None:
        self.proc.stdin.write(memoryview(np.ascontiguousarray(image)).cast("B"))

    def error_text(self) -> str:
        try:
            self._err.seek(0)
            lines = self._err.read().decode(errors="replace").strip().splitlines()
            return lines[-1] if lines else f"exit code {self.proc.poll()}"
        except OSError:
            return "unknown error"

    def close(self) -> bool:
        ok = True
        try:
            self.proc.stdin.close()
        except OSError:
            ok = False
        try:
            ok = self.proc.wait(timeout=120) == 0 and ok
        except subprocess.TimeoutExpired:
            self.proc.kill()
            ok = False
        if not ok:
            log.warning("Recording %s may be incomplete: ffmpeg said: %s", self.path, self.error_text())
        self._err.close()
        return ok


class _OpenCvSink:
    encoder = "mp4v/MJPG (OpenCV)"

    def __init__(self, path: str, fps: float, size: tuple[int, int]):
        self.writer = open_writer(path, fps, size)

    def write(self, image: np.ndarray) -> None:
        self.writer.write(cv2.cvtColor(image, cv2.COLOR_RGB2BGR))

    def close(self) -> bool:
        self.writer.release()
        return True


class Recorder:
    """Writes RGB frames to a video file from a worker thread.

    blocking=True (headless runs, renders): every frame is written, frame i at i/fps; `write`
    waits when the small queue is full. blocking=False (live): frames follow the wall clock (see
    the module's notes); a full queue drops the frame instead, so the show never waits for the
    disk; `dropped` counts them. `written` counts the frames in the file (repeats included).
    A failed encoder (ffmpeg ended, disk full) is one log line; later frames are dropped.
    """

    def __init__(self, path: str, fps: float, blocking: bool = False, max_pending: int = 8,
                 audio: Any = None, backend: str | None = None):
        self.path = str(path)
        self.fps = float(fps)
        self.blocking = blocking
        self.audio = audio
        self.written = 0        # frames in the file
        self.dropped = 0        # frames the show made that are not in it (queue full, failure)
        self.repeated = 0       # live mode: slots filled by repeating a frame
        self.failed = False
        self.backend = backend or ("ffmpeg" if find_ffmpeg() else "opencv")
        self.encoder: str | None = None
        self.t_first: float | None = None
        self._times = array.array("d")  # wall-clock time of each frame written (blocking mode)
        self._queue: queue.Queue = queue.Queue(maxsize=max_pending)
        self._sink = None
        self._size: tuple[int, int] | None = None
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="recorder", daemon=True)
        _check_path(self.path)
        self._thread.start()

    # -- the show's side ---------------------------------------------------------------------
    def write(self, image: np.ndarray, t: float | None = None) -> None:
        """Add a frame (uint8 HxWx3 RGB) shown at wall-clock time `t` (default: now)."""
        if self._closed:
            return
        if t is None:
            t = time.monotonic()
        if self._sink is None:  # open on the first frame: its size is the video's size
            self._size = (image.shape[1], image.shape[0])
            self._sink = self._open(self._size)
            self.t_first = t
            if self.audio is not None:
                try:
                    self.audio.begin(t, self.wav_path)
                except Exception as e:  # noqa: BLE001 - a sound problem must not stop the picture
                    log.warning("Recording %s goes on without sound: %s", self.path, e)
                    self.audio = None
        try:
            self._queue.put((t, image), block=self.blocking)
        except queue.Full:
            self.dropped += 1

    def _open(self, size):
        if self.backend == "ffmpeg":
            ffmpeg = find_ffmpeg()
            if ffmpeg is not None:
                sink = _FfmpegSink(ffmpeg, self.path, self.fps, size)
                self.encoder = sink.encoder
                return sink
            self.backend = "opencv"
        sink = _OpenCvSink(self.path, self.fps, size)
        self.encoder = sink.encoder
        return sink

    # -- the worker --------------------------------------------------------------------------
    def _run(self) -> None:
        held = None          # live mode: the newest frame, not yet written, and its slot
        held_slot = 0
        while True:
            item = self._queue.get()
            if item is None:
                break
            t, image = item
            if self.blocking:
                self._emit(image, t)
                continue
            slot = int(round((t - self.t_first) * self.fps))
            if held is not None and slot <= held_slot:
                held = image        # two frames in one slot: the newer one wins
                self.dropped += 1   # ... the older one is not in the file
                continue
            if held is not None:
                self._emit(held, t)
                for _ in range(slot - held_slot - 1):  # a gap: repeat the frame shown in it
                    self._emit(held, t)
                    self.repeated += 1
            held, held_slot = image, max(slot, self.written)
        if held is not None:
            self._emit(held, None)

    def _emit(self, image: np.ndarray, t: float | None) -> None:
        if self.failed:
            self.dropped += 1
            return
        if (image.shape[1], image.shape[0]) != self._size:
            image = cv2.resize(image, self._size, interpolation=cv2.INTER_AREA)
        try:
            self._sink.write(image)
        except (OSError, ValueError) as e:  # BrokenPipeError: ffmpeg ended; disk full; ...
            self.failed = True
            self.dropped += 1
            why = self._sink.error_text() if hasattr(self._sink, "error_text") else str(e)
            log.error("Recording %s stopped after %d frames: %s; the show goes on.",
                      self.path, self.written, why)
            return
        self.written += 1
        if self.blocking:
            self._times.append(t)

    @property
    def wav_path(self) -> str:
        """Where the sound is gathered while recording (removed once it is in the video)."""
        return str(Path(self.path).with_suffix(".audio.wav"))

    # -- time ----------------------------------------------------------------------------------
    @property
    def duration(self) -> float:
        return self.written / self.fps

    def video_time(self, t: float) -> float:
        """Where wall-clock time `t` falls in the video (seconds from its start). Live mode:
        t - t_first. Blocking mode: between the frames shown around t, so sound made while a
        frame was on screen lands on that frame even when the show ticked slower than --fps."""
        if self.t_first is None:
            return 0.0
        if not self.blocking or len(self._times) < 2:
            return t - self.t_first
        times = self._times
        i = bisect.bisect_right(times, t)
        if i == 0:
            return t - times[0]
        if i >= len(times):
            return (len(times) - 1) / self.fps + (t - times[-1])
        a, b = times[i - 1], times[i]
        frac = (t - a) / (b - a) if b > a else 0.0
        return (i - 1 + frac) / self.fps

    # -- the end -------------------------------------------------------------------------------
    def close(self) -> None:
        """Finish the file (and its sound); safe to call twice."""
        if self._closed:
            return
        self._closed = True
        self._queue.put(None)
        self._thread.join()
        ok = self._sink.close() if self._sink is not None else False
        if self.dropped and not self.failed:
            log.info("Recording %s: %d frames written, %d dropped, %d repeated to keep time.",
                     self.path, self.written, self.dropped, self.repeated)
        if self.audio is not None and self.t_first is not None:
            self._finish_audio(ok and not self.failed and self.written > 0)

    def _finish_audio(self, video_ok: bool) -> None:
        from ..music.offline import mux

        wav = self.wav_path
        try:
            has_sound = self.audio.finish(self.duration, self.video_time)
            has_sound = has_sound and video_ok
        except Exception as e:  # noqa: BLE001
            log.warning("Recording %s has no sound: %s", self.path, e)
            has_sound = False
        if not has_sound:
            Path(wav).unlink(missing_ok=True)
            return
        if mux(self.path, wav):
            os.unlink(wav)
        # else: mux said in one sentence that the sound stays in the WAV next to the video
