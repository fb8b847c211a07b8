"""Recording the output to a video file, in its own thread so a slow disk never holds a tick.

Writing goes through PyAV (its wheels bundle FFmpeg with libx264 and the AAC encoder): H.264
yuv420p (CRF 18, preset veryfast; h264_nvenc when CUDA is present and that encoder opens; the
built-in mpeg4 only if a PyAV build lacks libx264), and the music's sound as AAC in the same
container, interleaved as it is recorded. An odd frame size is padded to even (yuv420p needs it).
No ffmpeg binary and no OpenCV writer: PyAV is a required dependency, and when it cannot open a
container (a bad folder, no permission) OpenCV's writer, built on FFmpeg too, could not either.

Crash-safe files. A SIGKILL, a power cut or a frozen machine must leave a playable file up to
about the last second. .mp4/.mov/.m4v are fragmented MP4 (`movflags=frag_keyframe+delay_moov+
default_base_moof`): a keyframe every second (GOP = fps) starts a fragment that goes to disk
whole (flush_packets), so a file cut anywhere holds every fragment before the cut.
`delay_moov` rather than `empty_moov`: the header is written with the first fragment, once the
encoders' first timestamps are known, so it carries the edit lists that put the first frame at
t=0 (B-frames) and drop the AAC encoder's priming; with `empty_moov` the picture starts 67 ms
late and the sound 21 ms late (measured). .mkv is Matroska with a cluster at least every second
(a cut file plays too). .avi plays after a cut as well (FFmpeg's AVI reader needs no index);
it holds what AVI was made for, MPEG-4 part 2 without B-frames and PCM sound: AVI stores no
presentation times, and FFmpeg's reader shows H.264 from it a frame late (two with AAC). Nothing is remuxed at a clean stop: every
player and editor reads fragmented MP4 (OpenCV and PyAV included).

Timing. A live show does not tick at exactly --fps, so in live mode (blocking=False) every frame
is stamped with its wall-clock time (time.monotonic() at `write`) relative to the first frame,
and the worker turns that into a constant-frame-rate file: a frame stamped t goes to slot
round(t * fps); a gap is filled by repeating the previous frame, and of two frames in one slot
the newer wins. Constant frame rate because every editor, player and VJ tool handles it, and
frame i sits at exactly i/fps, which is what the audio is aligned to. The error is at most half
a frame. In blocking mode (headless runs, renders) every frame is written once, at i/fps.

Sound: an optional `audio` object (VoiceAudio in liveart/outputs/recording.py) is told the first
frame's wall-clock time (`begin(t_first, video_time)`); the worker asks it for the samples that
are ready (`pull(video_end, last_t)`) after every frame and at least every 0.1 s, and at the end
for the rest, exactly as long as the video (`finish(duration)`). Sample 0 is the first frame.

Errors: an encoder or write error (disk full: an OSError from PyAV) ends the recording with one
log line; an MP4 is cut back to its last whole fragment, `written` is recounted from the file,
and the show goes on.
"""
from __future__ import annotations

import array
import bisect
import functools
import logging
import os
import queue
import threading
import time
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np
from av.video.frame import PictureType

from ..errors import UserError

log = logging.getLogger(__name__)

EXTENSIONS = (".mp4", ".m4v", ".mov", ".mkv", ".avi")
_FOURCC = EXTENSIONS  # the old name: cli.py and render.py check extensions against it
_MP4 = (".mp4", ".m4v", ".mov")
MOVFLAGS = "frag_keyframe+delay_moov+default_base_moof"
AUDIO_EVERY = 0.1     # s: the worker takes the sound at least this often, frames or not
KEY_EVERY = 1.0       # s of wall clock: a headless show slower than --fps still gets a keyframe
#                       (a fragment on disk) this often, not only every fps frames
AAC_FRAME = 1024      # samples per AAC frame
AAC_BITRATE = 192_000


def _check_path(path: str) -> None:
    ext = Path(path).suffix.lower()
    if ext not in EXTENSIONS:
        raise UserError(f"Cannot record to {path}: use one of {', '.join(EXTENSIONS)}.")
    try:
        parent = Path(path).resolve().parent
        ok = parent.is_dir()
    except OSError as e:  # e.g. a name longer than the file system allows
        raise UserError(f"Cannot record to {str(path)[:80]}: {e.strerror or e}.") from None
    if not ok:
        raise UserError(f"Cannot record to {path}: folder {parent} does not exist.")


def _why(e: BaseException) -> str:
    return str(getattr(e, "strerror", None) or e).rstrip(".")


def _container_options(ext: str) -> dict[str, str]:
    opts = {"flush_packets": "1"}  # each packet to the file as soon as the muxer lets it go
    if ext in _MP4:
        opts["movflags"] = MOVFLAGS
    elif ext == ".mkv":
        opts["cluster_time_limit"] = "1000"  # ms
    # a sound that lags (a stalled device) holds the picture in memory at most this long
    opts["max_interleave_delta"] = "1000000"  # us
    return opts


def _cuda_present() -> bool:
    try:
        import torch

        return bool(torch.cuda.is_available())
    except Exception:  # noqa: BLE001 - no torch, a broken driver: no NVENC either
        return False


@functools.lru_cache(maxsize=16)
def _encoder_opens(name: str, width: int, height: int) -> bool:
    """Whether encoder `name` opens at this size (NVENC needs a GPU that has it: an H100 has
    none, and small sizes are refused)."""
    try:
        ctx = av.CodecContext.create(name, "w")
        ctx.width, ctx.height, ctx.pix_fmt = width, height, "yuv420p"
        ctx.time_base, ctx.framerate = Fraction(1, 30), Fraction(30)
        ctx.open()
        return True
    except Exception:  # noqa: BLE001 - any failure means: use the next encoder
        return False


def video_codec(size: tuple[int, int], ext: str = ".mp4") -> str:
    """h264_nvenc (CUDA and an encoder that opens), else libx264, else mpeg4 (and for AVI)."""
    if ext == ".avi":
        return "mpeg4"
    if "h264_nvenc" in av.codecs_available and _cuda_present() and _encoder_opens("h264_nvenc", *size):
        return "h264_nvenc"
    if "libx264" in av.codecs_available:
        return "libx264"
    return "mpeg4"


def _video_options(codec: str, ext: str) -> dict[str, str]:
    if codec == "libx264":
        opts = {"crf": "18", "preset": "veryfast", "forced-idr": "1"}
    elif codec == "h264_nvenc":
        opts = {"preset": "p4", "rc": "vbr", "cq": "19", "forced-idr": "1"}
    else:  # mpeg4: constant quality 3 (ffmpeg's -q:v 3)
        opts = {"flags": "+qscale", "global_quality": str(3 * 118)}
    if ext == ".avi":
        opts["bf"] = "0"  # no presentation times in AVI
    return opts


class _OpenError(Exception):
    """The container or an encoder would not open (the reason, without the path)."""


class AudioTrack:
    """Stereo float32 samples (n x 2, each call following the last) into a new stream of
    `container`: AAC, or 16-bit PCM in an AVI; `mux` takes the packets."""

    def __init__(self, container, ext: str, samplerate: int, mux):
        self.sr = int(samplerate)
        self.codec = "pcm_s16le" if ext == ".avi" else "aac"
        self.stream = container.add_stream(self.codec, rate=self.sr, layout="stereo")
        if self.codec == "aac":
            self.stream.bit_rate = AAC_BITRATE
        self.samples = 0         # given to the encoder
        self._mux = mux
        self._buf: list[np.ndarray] = []
        self._n = 0

    def write(self, x: np.ndarray) -> None:
        if len(x) == 0:
            return
        self._buf.append(np.asarray(x, np.float32))
        self._n += len(x)
        if self._n >= AAC_FRAME:
            data = np.concatenate(self._buf)
            k = len(data) // AAC_FRAME * AAC_FRAME
            self._encode(data[:k])
            rest = data[k:]
            self._buf, self._n = ([rest] if len(rest) else []), len(rest)

    def flush(self) -> None:
        """Encode what is buffered (a short last AAC frame)."""
        if self._n:
            self._encode(np.concatenate(self._buf))
            self._buf, self._n = [], 0

    def close(self) -> None:
        self.flush()
        self._mux(self.stream.encode(None))

    def _encode(self, data: np.ndarray) -> None:
        for s in range(0, len(data), AAC_FRAME):
            chunk = data[s:s + AAC_FRAME]
            if self.codec == "aac":  # planar float: channels x samples
                frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(chunk.T), format="fltp",
                                                   layout="stereo")
            else:  # PCM: interleaved 16-bit
                pcm = (np.clip(chunk, -1.0, 1.0) * 32767.0).round().astype(np.int16)
                frame = av.AudioFrame.from_ndarray(pcm.reshape(1, -1), format="s16", layout="stereo")
            frame.sample_rate = self.sr
            frame.pts = self.samples
            self.samples += len(chunk)
            self._mux(self.stream.encode(frame))


class _Sink:
    """One PyAV container: video (and optionally AAC audio) written as it comes. Not
    thread-safe: only the recorder's worker (then close()) touches it."""

    def __init__(self, path: str, fps: float, size: tuple[int, int], samplerate: int | None):
        self.path = path
        ext = Path(path).suffix.lower()
        w, h = size
        self.size = (w + w % 2, h + h % 2)  # yuv420p: even sizes
        self.codec = video_codec(self.size, ext)
        self.frames = 0          # frames given to the encoder
        self.video_packets = 0   # frames that reached the container
        self.gop = max(1, int(round(fps)))  # a keyframe (so a fragment) every second of video
        self._since_key = self.gop
        self._key_t: float | None = None
        try:
            self.c = av.open(path, "w", options=_container_options(ext))
        except (OSError, av.FFmpegError, ValueError) as e:
            raise _OpenError(_why(e)) from None
        try:
            rate = Fraction(fps).limit_denominator(1001)
            self.v = self.c.add_stream(self.codec, rate=rate, options=_video_options(self.codec, ext))
            self.v.width, self.v.height = self.size
            self.v.pix_fmt = "yuv420p"
            self.v.codec_context.gop_size = self.gop
            self.a = AudioTrack(self.c, ext, samplerate, self._mux) if samplerate else None
        except Exception as e:
            self.c.close()
            raise _OpenError(f"PyAV could not set up {self.codec} ({_why(e)})") from None

    @property
    def encoder(self) -> str:
        return self.codec + (f" + {self.a.codec}" if self.a is not None else "")

    def _mux(self, packets) -> None:
        for p in packets:
            self.c.mux(p)
            if p.stream is self.v and p.size:
                self.video_packets += 1

    def write(self, image: np.ndarray, t: float | None = None) -> None:
        """One uint8 HxWx3 RGB frame of the recording's size (before padding), made at
        wall-clock time `t` (blocking mode: a keyframe at least every KEY_EVERY s of it)."""
        h, w = image.shape[:2]
        if (w, h) != self.size:
            image = np.pad(image, ((0, self.size[1] - h), (0, self.size[0] - w), (0, 0)), mode="edge")
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")
        if self._since_key >= self.gop:  # the encoder's own keyframe (its count restarts at
            self._since_key, self._key_t = 0, t  # a forced one too)
        elif t is not None and self._key_t is not None and t - self._key_t >= KEY_EVERY:
            frame.pict_type = PictureType.I
            self._since_key, self._key_t = 0, t
        self._since_key += 1
        frame.pts = self.frames
        self.frames += 1
        self._mux(self.v.encode(frame))

    def write_audio(self, x: np.ndarray) -> None:
        if self.a is not None:
            self.a.write(x)

    def close(self) -> None:
        """Flush the encoders and finish the file (raises what PyAV raises)."""
        try:
            if self.a is not None:
                self.a.flush()
            self._mux(self.v.encode(None))
            if self.a is not None:
                self.a.close()
        finally:
            self.c.close()

    def abandon(self) -> None:
        """After a write error: release the file, however much of it the muxer can still finish."""
        try:
            self.c.close()
        except Exception:  # noqa: BLE001 - the error was reported already
            pass


def trim_to_whole_fragments(path: str) -> None:
    """Cut a fragmented MP4 back to its last complete top-level box (a moof counts only with
    its mdat), so a write that failed half-way through a fragment leaves no torn packet."""
    size = os.path.getsize(path)
    keep = pos = 0
    with open(path, "r+b") as f:
        while pos + 8 <= size:
            f.seek(pos)
            head = f.read(16)
            n, kind = int.from_bytes(head[:4], "big"), head[4:8]
            if n == 1 and len(head) == 16:
                n = int.from_bytes(head[8:16], "big")
            elif n == 0:
                n = size - pos
            if n < 8 or pos + n > size:
                break
            pos += n
            if kind != b"moof":
                keep = pos
        if keep < size:
            f.truncate(keep)


def count_frames(path: str) -> int:
    """Video packets a reader finds in `path` (demuxed, not decoded); 0 when unreadable."""
    n = 0
    try:
        with av.open(path) as c:
            if not c.streams.video:
                return 0
            for p in c.demux(c.streams.video[0]):
                if p.size:
                    n += 1
    except (av.FFmpegError, OSError, ValueError):
        pass
    return n


class Recorder:
    """Writes RGB frames to a video file from a worker thread.

    blocking=True (headless runs, renders): every frame is written, frame i at i/fps; `write`
    waits when the small queue is full. blocking=False (live): frames follow the wall clock (see
    the module's notes); a full queue drops the frame instead, so the show never waits for the
    disk; `dropped` counts them. `written` counts the frames that reached the container
    (repeats included; the encoder holds a few back until close). A failed write (disk full)
    is one log line; later frames are dropped, `failed` and `error` say so.
    """

    backend = "PyAV"

    def __init__(self, path: str, fps: float, blocking: bool = False, max_pending: int = 8,
                 audio: Any = None):
        self.path = str(path)
        self.fps = float(fps)
        self.blocking = blocking
        self.audio = audio
        self._sound = audio     # the audio while it is still being recorded
        self.written = 0        # frames in the container
        self.dropped = 0        # frames the show made that are not in it (queue full, failure)
        self.repeated = 0       # live mode: slots filled by repeating a frame
        self.failed = False
        self.error: str | None = None   # why it failed (a reason, without the path)
        self.encoder: str | None = None
        self.t_first: float | None = None
        self._emitted = 0               # frames given to the encoder (the video's length)
        self._times = array.array("d")  # wall-clock time of each frame written (blocking mode)
        self._queue: queue.Queue = queue.Queue(maxsize=max_pending)
        self._sink: _Sink | None = None
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
        if self.failed:
            self.dropped += 1
            return
        if t is None:
            t = time.monotonic()
        if self.t_first is None:  # the first frame: its size is the video's, its time is t=0
            self._size = (image.shape[1], image.shape[0])
            self.t_first = t
            if self._sound is not None:
                try:
                    self._sound.begin(t, self.video_time)
                except Exception as e:  # noqa: BLE001 - a sound problem must not stop the picture
                    log.warning("Recording %s goes on without sound: %s", self.path, e)
                    self._sound = None
        try:
            self._queue.put((t, image), block=self.blocking)
        except queue.Full:
            self.dropped += 1

    # -- the worker --------------------------------------------------------------------------
    def _run(self) -> None:
        held = None          # live mode: the newest frame, not yet written, and its slot
        held_slot = 0
        while True:
            try:
                item = self._queue.get(timeout=AUDIO_EVERY)
            except queue.Empty:
                self._pull_audio()
                continue
            if item is None:
                break
            t, image = item
            if self._sink is None and not self.failed:
                self._open()
            if self.blocking:
                self._emit(image, t)
                self._pull_audio()
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
            held, held_slot = image, max(slot, self._emitted)
            self._pull_audio()
        if held is not None:
            self._emit(held, None)

    def _open(self) -> None:
        sr = getattr(self._sound, "sr", None) if self._sound is not None else None
        try:
            self._sink = _Sink(self.path, self.fps, self._size, sr)
        except _OpenError as e:
            self._fail(str(e), opened=False)
            return
        self.encoder = self._sink.encoder
        log.info("Recording %s: %s, %dx%d at %g fps.", self.path, self.encoder,
                 *self._sink.size, self.fps)

    def _emit(self, image: np.ndarray, t: float | None) -> None:
        if self.failed or self._sink is None:
            self.dropped += 1
            return
        if (image.shape[1], image.shape[0]) != self._size:
            image = cv2.resize(image, self._size, interpolation=cv2.INTER_AREA)
        self._emitted += 1
        if self.blocking:
            self._times.append(t)
        try:
            self._sink.write(image, t if self.blocking else None)
        except (OSError, av.FFmpegError, ValueError) as e:  # disk full, encoder error, ...
            self._fail(_why(e))
            return
        self.written = self._sink.video_packets

    def _pull_audio(self) -> None:
        if self._sound is None or self._sink is None or self.failed:
            return
        last_t = self._times[-1] if self.blocking and self._times else None
        try:
            chunks = list(self._sound.pull(self._emitted / self.fps, last_t))
        except Exception as e:  # noqa: BLE001 - a sound problem must not stop the picture
            log.warning("Recording %s goes on without sound: %s", self.path, e)
            self._drop_audio()
            return
        try:
            for chunk in chunks:
                self._sink.write_audio(chunk)
        except (OSError, av.FFmpegError, ValueError) as e:
            self._fail(_why(e))

    def _drop_audio(self) -> None:
        try:
            self._sound.detach()
        except Exception:  # noqa: BLE001
            pass
        self._sound = None

    def _fail(self, why: str, opened: bool = True) -> None:
        """Stop this recording: release the file, keep what is whole, count what is in it."""
        self.failed = True
        self.error = why
        if self._sink is not None:
            self._sink.abandon()
            self._sink = None
            try:
                if Path(self.path).suffix.lower() in _MP4:
                    trim_to_whole_fragments(self.path)
            except OSError:
                pass
            in_file = count_frames(self.path)
            self.dropped += max(0, self._emitted - in_file)
            self.written = in_file
        if not opened:
            log.error("Cannot record to %s: %s; the show goes on.", self.path, why)
        elif self.written:
            log.error("Recording %s stopped after %d frames: %s; those stay playable, the show "
                      "goes on.", self.path, self.written, why)
        else:
            log.error("Recording %s stopped before a frame was written: %s; the show goes on.",
                      self.path, why)
        if self._sound is not None:
            self._drop_audio()

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
        if self._sink is not None and not self.failed:
            self._finish_audio()
        if self._sink is not None and not self.failed:
            try:
                self._sink.close()
                self.written = self._sink.video_packets
            except (OSError, av.FFmpegError, ValueError) as e:
                self._fail(_why(e))
            self._sink = None
        if self._sound is not None:  # nothing recorded, or the sound was not needed
            self._drop_audio()
        if self.dropped and not self.failed:
            log.info("Recording %s: %d frames written, %d dropped, %d repeated to keep time.",
                     self.path, self.written, self.dropped, self.repeated)

    def _finish_audio(self) -> None:
        if self._sound is None:
            return
        try:
            chunks = self._sound.finish(self._emitted / self.fps)
            for chunk in chunks:
                self._sink.write_audio(chunk)
        except (OSError, av.FFmpegError) as e:
            self._fail(_why(e))
        except Exception as e:  # noqa: BLE001 - the picture is finished all the same
            log.warning("Recording %s: its sound ends early: %s", self.path, e)
        self._sound = None
