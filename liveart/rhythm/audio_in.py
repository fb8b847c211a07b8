"""Audio in: the room's music (a sound card input) or a file played as if it were the room.

`open_audio_in("file:song.wav")` (any file FFmpeg reads: wav, mp3, flac, ...) plays the file
in real time, looping, into the analysis; `open_audio_in("2")` or `open_audio_in("USB Audio")`
opens that input device with sounddevice (`liveart devices` lists them), `"default"` the
system's default input.

The sound card's callback only copies the block into a preallocated ring buffer and moves an
index: no allocation, no lock, nothing that can block. The analysis (liveart.rhythm.analysis)
runs on its own thread, which reads the ring every few milliseconds. A device that stops
delivering (unplugged, driver gone) is reopened every 2 s; no device or no PortAudio is one
log line, and the show goes on without audio features.
"""
from __future__ import annotations

import abc
import logging
import threading
import time
from pathlib import Path

import numpy as np

from ..errors import UserError
from .analysis import AudioAnalyzer

log = logging.getLogger(__name__)

RING_S = 4.0      # seconds of input the ring holds (the analysis reads it every few ms)
POLL_S = 0.005    # the analysis thread's pace
STALL_S = 1.0     # no callback for this long: the input is gone
RETRY_S = 2.0     # between attempts to reopen it


def decode_file(path: str | Path) -> tuple[np.ndarray, int]:
    """(mono float32 samples, sample rate) of an audio file, through PyAV (FFmpeg);
    UserError with one sentence when it can't be read."""
    import av

    path = Path(path)
    if not path.is_file():
        raise UserError(f"Audio file {path} does not exist.")
    try:
        with av.open(str(path)) as c:
            if not c.streams.audio:
                raise UserError(f"{path} has no sound in it.")
            stream = c.streams.audio[0]
            sr = int(stream.rate or stream.codec_context.sample_rate)
            resampler = av.AudioResampler(format="fltp", layout="mono", rate=sr)
            chunks = []
            for frame in c.decode(stream):
                for out in resampler.resample(frame):
                    chunks.append(out.to_ndarray()[0])
            for out in resampler.resample(None):
                chunks.append(out.to_ndarray()[0])
    except UserError:
        raise
    except (OSError, av.FFmpegError, ValueError) as e:
        raise UserError(f"{path} could not be read as audio ({str(e).rstrip('.')}).") from None
    if not chunks:
        raise UserError(f"{path} has no sound in it.")
    return np.concatenate(chunks).astype(np.float32, copy=False), sr


class AudioIn(abc.ABC):
    """What both inputs share: the analyzer, its thread, and stream time <-> monotonic time."""

    def __init__(self, sample_rate: int):
        self.analyzer = AudioAnalyzer(sample_rate)
        self._lock = threading.Lock()
        self._clock = (time.monotonic(), 0.0)  # (monotonic, stream time) of the last feed
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.name = "audio"

    def _fed(self) -> None:
        with self._lock:
            self._clock = (time.monotonic(), self.analyzer.time)

    def stream_time(self, now: float) -> float:
        with self._lock:
            mono, stream = self._clock
        return stream + max(0.0, now - mono)

    def features(self, now: float) -> dict[str, float]:
        with self._lock:
            mono, stream = self._clock
            return self.analyzer.features(stream + max(0.0, now - mono))

    def beat(self, now: float) -> tuple[float, float] | None:
        """(bpm, beats since the stream began) of the tracked beat, or None before one."""
        with self._lock:
            mono, stream = self._clock
            b = self.analyzer.beat
        if b is None:
            return None
        t = stream + max(0.0, now - mono)
        return b.bpm, (t - b.anchor) / b.period

    def start(self) -> "AudioIn":
        self._thread = threading.Thread(target=self._run, name="audio-in", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5.0)

    @abc.abstractmethod
    def _run(self) -> None:
        """The input's thread: feed the analyzer, then call _fed() (file and device differ)."""


class FileAudioIn(AudioIn):
    """A file played in real time, looping, as if it came from the room."""

    def __init__(self, path: str | Path):
        self.samples, sr = decode_file(path)
        super().__init__(sr)
        self.name = f"file:{path}"

    def _run(self) -> None:
        sr, n = self.analyzer.sr, len(self.samples)
        t0, played = time.monotonic(), 0
        while not self._stop.wait(POLL_S):
            due = int((time.monotonic() - t0) * sr)
            while played < due:
                i = played % n
                take = min(due - played, n - i)
                self.analyzer.feed(self.samples[i:i + take])
                played += take
            self._fed()


class DeviceAudioIn(AudioIn):
    """A sound card input through sounddevice (PortAudio)."""

    def __init__(self, device: str | int | None):
        import sounddevice as sd

        info = sd.query_devices(device, "input")
        super().__init__(int(info["default_samplerate"]))
        self.device = device
        self.name = str(info["name"])
        self._ring = np.zeros(int(RING_S * self.analyzer.sr), np.float32)
        self._written = 0   # samples written in all (the callback's index)
        self._read = 0
        self.callbacks = 0
        self.restarts = 0
        self.stream = None

    def callback(self, indata, frames, time_info, status) -> None:
        # the sound card's thread: copy and move on (no allocation, no lock)
        ring, n = self._ring, len(self._ring)
        w = self._written % n
        first = min(frames, n - w)
        ring[w:w + first] = indata[:first, 0]
        if first < frames:
            ring[:frames - first] = indata[first:frames, 0]
        self._written += frames
        self.callbacks += 1

    def _open(self, quiet: bool = False) -> bool:
        try:
            import sounddevice as sd

            self.stream = sd.InputStream(device=self.device, channels=1, dtype="float32",
                                         samplerate=self.analyzer.sr, blocksize=256,
                                         callback=self.callback)
            self.stream.start()
            return True
        except Exception as e:  # noqa: BLE001 - PortAudioError, OSError: no input
            self.stream = None
            (log.debug if quiet else log.warning)(
                "Audio input %s could not be opened (%s); retrying every %.0f s.", self.name,
                str(e).splitlines()[0] if str(e) else type(e).__name__, RETRY_S)
            return False

    def _close(self) -> None:
        from ..music.synth import close_stream

        close_stream(self.stream)
        self.stream = None

    def _run(self) -> None:
        self._open()
        seen, progress, last_try = self.callbacks, time.monotonic(), 0.0
        while not self._stop.wait(POLL_S):
            now = time.monotonic()
            if self.callbacks != seen:
                seen, progress = self.callbacks, now
            elif now - progress > STALL_S and now - last_try > RETRY_S:
                last_try = now
                self._close()
                self.restarts += 1
                if self._open(quiet=self.restarts > 1):
                    log.warning("audio input %s reopened", self.name)
                    progress = now
            written, n = self._written, len(self._ring)
            if written - self._read > n:  # fell a whole ring behind: skip to what is there
                self._read = written - n
            while self._read < written:
                i = self._read % n
                take = min(written - self._read, n - i)
                self.analyzer.feed(self._ring[i:i + take])
                self._read += take
            self._fed()
        self._close()


def open_audio_in(spec: str) -> AudioIn:
    """`file:PATH` or an input device (number, name, or `default`); UserError for a file that
    can't be read or a device that doesn't exist."""
    spec = str(spec).strip()
    if spec.startswith("file:"):
        return FileAudioIn(spec[5:])
    try:
        import sounddevice as sd  # noqa: F401
    except Exception as e:  # noqa: BLE001 - OSError: PortAudio is missing
        raise UserError(f"No audio input: PortAudio is not available ({e}).") from None
    device: str | int | None = None if spec in ("", "default") else (
        int(spec) if spec.isdigit() else spec)
    try:
        return DeviceAudioIn(device)
    except (ValueError, Exception) as e:  # noqa: BLE001 - sounddevice raises ValueError/PortAudioError
        raise UserError(f"No audio input {spec!r} ({str(e).splitlines()[0].rstrip('.')}); "
                        "'liveart devices' lists the inputs.") from None
