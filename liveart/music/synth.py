"""Built-in synth: voices pad/pluck/bell, 16-voice polyphony with stealing, a limiter.

Real-time rules for the audio callback: it allocates no buffers (all work arrays are made once
per block size and reused with out=), takes no locks (events arrive through a preallocated
single-producer/single-consumer ring: a numpy structured array plus write/read counters, each
counter written by one side only), never raises (any error: count it, output silence, drop the
event being read) and always fills the whole buffer. `render()` runs the same `SynthCore` offline.
Every block the callback plays is also copied into `Synth.tap` (an `AudioTap`: a preallocated
ring, same rules) from which a recording takes the sound (liveart/outputs/recording.py).

Each voice is a sum of three sine partials with a closed-form envelope of its age t (samples):
    env = clip(t / attack, 0, 1) * exp(-t / decay) * exp(-max(t - off, 0) / release)
so a whole block of every voice is a handful of vectorised numpy operations.
"""
from __future__ import annotations

import logging
import math
import time

import numpy as np

log = logging.getLogger(__name__)

VOICE_NAMES = ("pad", "pluck", "bell")
# per voice: partial ratios, partial amplitudes, attack s, decay s (inf: sustain), release s
_VOICE_TABLE = {
    "pad": ((1.0, 1.004, 2.0), (0.55, 0.35, 0.15), 0.25, 12.0, 0.9),
    "pluck": ((1.0, 2.0, 3.0), (0.7, 0.25, 0.1), 0.004, 0.45, 0.12),
    "bell": ((1.0, 2.0, 4.0), (0.6, 0.25, 0.12), 0.002, 1.6, 0.6),
}
EVENT_DTYPE = np.dtype([("frame", "i8"), ("pitch", "f8"), ("velocity", "f8"), ("dur", "i8"),
                        ("pan", "f8"), ("voice", "i8")])
BLOCK = 256
CEILING = 0.89  # about -1 dBFS


def load_portaudio() -> None:
    """Import sounddevice now, on the calling thread. Its import initialises PortAudio with
    file descriptor 2 pointed at /dev/null (to hide ALSA's chatter), so whatever any other
    thread writes to stderr meanwhile is lost: a show calls this before it starts threads, so
    no log line vanishes. Without PortAudio this does nothing (Synth.start says so later)."""
    try:
        import sounddevice  # noqa: F401
    except Exception:  # noqa: BLE001  OSError: no PortAudio library
        pass


def midi_to_hz(pitch: float) -> float:
    return 440.0 * 2.0 ** ((pitch - 69.0) / 12.0)


class EventRing:
    """Single producer (the music thread), single consumer (the audio callback)."""

    def __init__(self, size: int = 1024):
        self.buf = np.zeros(size, EVENT_DTYPE)
        self.size = size
        self.write = 0   # only the producer changes it
        self.read = 0    # only the consumer changes it
        self.dropped = 0

    def push(self, frame: int, pitch: float, velocity: float, dur: int, pan: float, voice: int) -> bool:
        if self.write - self.read >= self.size:
            self.dropped += 1
            return False
        slot = self.buf[self.write % self.size]
        slot["frame"], slot["pitch"], slot["velocity"] = frame, pitch, velocity
        slot["dur"], slot["pan"], slot["voice"] = dur, pan, voice
        self.write += 1  # publish after the slot is complete
        return True


class SynthCore:
    """The DSP: polyphonic voices, mixing, limiter. Used by the callback and by render().

    Audio is made in internal blocks of BLOCK frames and handed out from a small FIFO, so every
    work array has one fixed shape. Per-voice values are kept as (voices x BLOCK) matrices with
    constant rows: numpy (2.x) allocates an iterator buffer for any broadcasting ufunc, and
    same-shape operations with out= allocate nothing.
    """

    def __init__(self, samplerate: int = 48000, voices: int = 16, ring_size: int = 1024):
        self.sr = int(samplerate)
        self.n_voices = v = voices
        self.ring = EventRing(ring_size)
        self.frame = 0             # frames rendered so far (the synth's clock)
        self.volume = 0.7
        self.errors = 0
        self.stolen = 0
        self.gain = 1.0            # limiter gain
        b = BLOCK
        self.idx = np.arange(b, dtype=np.float64)
        self.ramp = self.idx / b
        m = lambda: np.zeros((v, b))  # noqa: E731
        self.AGE, self.ATT, self.DEC, self.OFF, self.REL = m(), m(), m(), m(), m()
        self.ACT = m()
        self.INC = [m(), m(), m()]
        self.AMP = [m(), m(), m()]
        self.ph, self.sig, self.env = m(), m(), m()
        self.ATT.fill(1.0), self.DEC.fill(1.0), self.REL.fill(1.0)
        self.mix = np.zeros((2, b))
        self.absmix = np.zeros((2, b))
        self.tmp = np.zeros(b)
        self.buf = np.zeros((b, 2), np.float32)   # rendered, not yet handed out
        self.buf_pos = b                          # next frame of buf to hand out
        # small per-voice vectors for bookkeeping
        self.active = np.zeros(v, bool)
        self.gl = np.zeros(v)
        self.gr = np.zeros(v)
        self.pitch = np.zeros(v)
        self.start = np.zeros(v, np.int64)   # frame of each voice's note-on
        self.off = np.zeros(v)
        self.rel = np.ones(v)
        self.dec = np.ones(v)
        self._b1 = np.zeros(v, bool)
        self._score = np.zeros(v)
        self._ratios = np.array([_VOICE_TABLE[n][0] for n in VOICE_NAMES])
        self._amps = np.array([_VOICE_TABLE[n][1] for n in VOICE_NAMES])
        self._env = np.array([_VOICE_TABLE[n][2:] for n in VOICE_NAMES])

    # -- events ------------------------------------------------------------------------------
    def note_on(self, pitch: float, velocity: float, dur_frames: int, pan: float, voice: int,
                frame: int) -> None:
        """Start a note at absolute `frame` (in the block being rendered, or earlier)."""
        if not 0 <= voice < len(VOICE_NAMES):
            raise IndexError(f"unknown voice {voice}")
        if not (math.isfinite(pitch) and math.isfinite(velocity) and math.isfinite(pan)):
            raise ValueError("non-finite note")
        env = self._env[voice]
        np.logical_not(self.active, out=self._b1)
        if self._b1.any():
            k = int(self._b1.argmax())
        else:  # steal: prefer released voices, then the oldest
            np.subtract(self.frame, self.start, out=self._score)  # age
            np.greater(self._score, self.off, out=self._b1)
            np.multiply(self._b1, 1e12, out=self.tmp[:self.n_voices])
            np.add(self._score, self.tmp[:self.n_voices], out=self._score)
            k = int(self._score.argmax())
            self.stolen += 1
        hz = midi_to_hz(pitch)
        g = (min(max(velocity, 0.0), 127.0) / 127.0) ** 1.5
        w = 2.0 * math.pi * hz / self.sr
        self.active[k] = True
        self.pitch[k] = pitch
        self.start[k] = frame
        self.off[k] = float(max(dur_frames, 1))
        self.dec[k] = env[1] * self.sr
        self.rel[k] = max(env[2] * self.sr, 1.0)
        np.subtract(self.idx, float(frame - self.frame), out=self.AGE[k])
        for p in range(3):
            self.INC[p][k].fill(w * self._ratios[voice, p])
            self.AMP[p][k].fill(g * self._amps[voice, p])
        self.ATT[k].fill(max(env[0] * self.sr, 1.0))
        self.DEC[k].fill(self.dec[k])
        self.OFF[k].fill(self.off[k])
        self.REL[k].fill(self.rel[k])
        self.ACT[k].fill(1.0)
        a = (min(max(pan, -1.0), 1.0) + 1.0) * math.pi / 4.0
        self.gl[k], self.gr[k] = math.cos(a), math.sin(a)

    def _take_events(self) -> None:
        ring, end = self.ring, self.frame + BLOCK
        while ring.read < ring.write:
            slot = ring.buf[ring.read % ring.size]
            frame = int(slot["frame"])
            if frame >= end:
                break
            ring.read += 1  # consumed before use: a bad event can't come back
            self.note_on(float(slot["pitch"]), float(slot["velocity"]), int(slot["dur"]),
                         float(slot["pan"]), int(slot["voice"]), max(frame, self.frame))

    # -- audio -------------------------------------------------------------------------------
    def process(self, out: np.ndarray) -> None:
        """Fill `out` (frames x 2, float32) completely; never raises (an error: silence)."""
        n = out.shape[0]
        pos = 0
        while pos < n:
            if self.buf_pos >= BLOCK:
                try:
                    self._block()
                except Exception:  # noqa: BLE001 - the audio thread must not die
                    self.errors += 1
                    self.buf.fill(0.0)
                    self.frame += BLOCK
                self.buf_pos = 0
            m = min(BLOCK - self.buf_pos, n - pos)
            out[pos:pos + m] = self.buf[self.buf_pos:self.buf_pos + m]
            self.buf_pos += m
            pos += m

    def _block(self) -> None:
        self._take_events()
        ph, sig, age, mix = self.ph, self.sig, self.AGE, self.mix
        if self.active.any():
            np.multiply(self.INC[0], age, out=sig)
            np.sin(sig, out=sig)
            np.multiply(sig, self.AMP[0], out=sig)
            for p in (1, 2):
                np.multiply(self.INC[p], age, out=ph)
                np.sin(ph, out=ph)
                np.multiply(ph, self.AMP[p], out=ph)
                np.add(sig, ph, out=sig)
            np.divide(age, self.ATT, out=ph)                 # attack
            np.clip(ph, 0.0, 1.0, out=ph)
            np.multiply(sig, ph, out=sig)
            np.divide(age, self.DEC, out=ph)                 # decay
            np.negative(ph, out=ph)
            np.exp(ph, out=ph)
            np.multiply(sig, ph, out=sig)
            np.subtract(age, self.OFF, out=ph)               # release
            np.maximum(ph, 0.0, out=ph)
            np.divide(ph, self.REL, out=ph)
            np.negative(ph, out=ph)
            np.exp(ph, out=ph)
            np.multiply(sig, ph, out=sig)
            np.multiply(sig, self.ACT, out=sig)
            np.matmul(self.gl, sig, out=mix[0])
            np.matmul(self.gr, sig, out=mix[1])
            np.add(age, float(BLOCK), out=age)
            for k in range(self.n_voices):  # a voice ends when released 8 release times or decayed
                if self.active[k]:
                    a = age[k, 0]
                    if a - self.off[k] > 8.0 * self.rel[k] or a > 9.2 * self.dec[k]:
                        self.active[k] = False
                        self.ACT[k].fill(0.0)
        else:
            mix.fill(0.0)
        np.multiply(mix, 0.3 * self.volume, out=mix)
        # limiter: instant attack for the whole block, slow release ramp; peak <= CEILING
        np.abs(mix, out=self.absmix)
        peak = float(self.absmix.max())
        target = CEILING / peak if peak > CEILING else 1.0
        if target < self.gain:
            self.gain = target
            np.multiply(mix, target, out=mix)
        else:
            new = self.gain + (target - self.gain) * 0.02
            np.multiply(self.ramp, new - self.gain, out=self.tmp)
            np.add(self.tmp, self.gain, out=self.tmp)
            np.multiply(mix[0], self.tmp, out=mix[0])
            np.multiply(mix[1], self.tmp, out=mix[1])
            self.gain = new
        np.clip(mix, -CEILING, CEILING, out=mix)
        self.buf[:, 0] = mix[0]
        self.buf[:, 1] = mix[1]
        self.frame += BLOCK

    # -- scheduling helpers ------------------------------------------------------------------
    def push_note(self, frame: int, pitch: float, velocity: float, duration_s: float,
                  pan: float, voice: str | int) -> bool:
        vid = VOICE_NAMES.index(voice) if isinstance(voice, str) else int(voice)
        return self.ring.push(int(frame), float(pitch), float(velocity),
                              int(duration_s * self.sr), float(pan), vid)

    @property
    def out_frame(self) -> int:
        """Frames handed out so far (what has reached the sound card's buffer)."""
        return self.frame - (BLOCK - self.buf_pos)


def event_notes(ev):
    """NoteEvent / ChordEvent -> (time_s, pitch, velocity, duration_s, pan, voice) tuples."""
    if hasattr(ev, "pitches"):
        vel = ev.velocity * 0.6
        return [(ev.time_s, p, vel, ev.duration_s, 0.0, ev.voice) for p in ev.pitches]
    return [(ev.time_s, ev.pitch, ev.velocity, ev.duration_s, ev.pan, ev.voice)]


def render(events, seconds: float, samplerate: int = 48000, volume: float = 0.7,
           block: int = 512) -> np.ndarray:
    """Offline: the events played through SynthCore; (frames x 2) float32, exactly
    round(seconds * samplerate) frames."""
    core = SynthCore(samplerate)
    core.volume = volume
    notes = sorted((n for ev in events for n in event_notes(ev)), key=lambda n: n[0])
    total = int(round(seconds * samplerate))
    out = np.zeros((total, 2), np.float32)
    i = 0
    for start in range(0, total, block):
        m = min(block, total - start)
        while i < len(notes) and notes[i][0] * samplerate < start + m:
            t, pitch, vel, dur, pan, voice = notes[i]
            if not core.push_note(int(round(t * samplerate)), pitch, vel, dur, pan, voice):
                break  # ring full: play what is queued first
            i += 1
        core.process(out[start:start + m])
    return out


class AudioTap:
    """What the audio callback played, for a recording: a preallocated ring of float32 frames.

    One producer (the callback: `push`, no allocation, never raises), one consumer (the
    recorder: `read`). Frames are addressed by the synth's absolute frame number (the callback's
    `core.out_frame`), so the reader can ask for exactly the frames of a time span. The ring
    holds `seconds` of sound; a reader that falls further behind gets silence for what was lost.
    """

    def __init__(self, samplerate: int = 48000, seconds: float = 8.0, channels: int = 2):
        self.sr = int(samplerate)
        self.size = max(int(seconds * samplerate), BLOCK * 4)
        self.buf = np.zeros((self.size, channels), np.float32)
        self.end = 0        # absolute frame just past the newest written one (producer only)
        self.errors = 0

    def push(self, block: np.ndarray, end_frame: int) -> None:
        """Copy `block` (frames x channels), whose last frame is `end_frame` - 1."""
        try:
            n = block.shape[0]
            if n > self.size:
                block = block[n - self.size:]
                n = self.size
            i = (end_frame - n) % self.size
            first = min(n, self.size - i)
            self.buf[i:i + first] = block[:first]
            if first < n:
                self.buf[:n - first] = block[first:]
            self.end = end_frame  # publish after the copy
        except Exception:  # noqa: BLE001 - the audio thread must not die
            self.errors += 1

    def read(self, start: int, out: np.ndarray) -> int:
        """Copy frames [start, start + len(out)) into `out`, silence where the ring no longer
        (or never) held them; returns how many of them were played (0 .. len(out))."""
        n = out.shape[0]
        end = self.end
        avail = max(0, min(n, end - start))
        out.fill(0.0)
        lo = max(start, end - self.size + BLOCK * 2, 0)   # keep clear of the writer
        if avail <= 0 or lo >= start + avail:
            return avail
        a = lo - start
        i = lo % self.size
        m = start + avail - lo
        first = min(m, self.size - i)
        out[a:a + first] = self.buf[i:i + first]
        if first < m:
            out[a + first:a + m] = self.buf[:m - first]
        if self.end - self.size > lo:  # the writer came round while we copied: that part is lost
            lost = min(self.end - self.size - lo, m)
            out[a:a + lost] = 0.0
        return avail


class Synth:
    """The built-in synth on a sounddevice OutputStream (or silent if there is no device)."""

    def __init__(self, samplerate: int = 48000, blocksize: int = 512, device=None):
        self.core = SynthCore(samplerate)
        self.blocksize = blocksize
        self.device = device
        self.stream = None
        self.callbacks = 0
        self.xruns = 0
        self.tap = AudioTap(self.core.sr)  # a recording reads what was played from here
        self.restarts = 0  # streams reopened by watch()
        self._pace_t0: float | None = None
        self._pace_frames = 0
        self._errors_seen = 0
        self._callbacks_seen = 0
        self._progress_at = 0.0
        self._last_try = 0.0

    def callback(self, outdata, frames, time_info, status) -> None:
        try:
            self.callbacks += 1
            if status:
                self.xruns += 1
            self.core.process(outdata)
            self.tap.push(outdata, self.core.out_frame)
            self._pace(frames)
        except Exception:  # noqa: BLE001
            self.core.errors += 1
            try:
                outdata.fill(0)
            except Exception:  # noqa: BLE001
                pass

    AHEAD_S = 0.25    # a sink this far ahead of the wall clock is not a real-time device

    def _pace(self, frames: int) -> None:
        """A real sound card asks for audio at its sample rate. Some sinks don't (ALSA's null
        device, a file sink, a broken driver): they call back as fast as the CPU allows and
        would take a whole core from the network. When the audio played runs more than
        AHEAD_S ahead of the wall clock, wait the excess out. A real device never gets here,
        so its callback never waits."""
        now = time.monotonic()
        if self._pace_t0 is None or self._pace_frames > 10 * self.core.sr:
            self._pace_t0, self._pace_frames = now, 0  # (re)anchor; also bounds float error
        self._pace_frames += frames
        ahead = self._pace_frames / self.core.sr - (now - self._pace_t0)
        if ahead > self.AHEAD_S:
            time.sleep(min(ahead - self.AHEAD_S + 0.01, 0.1))

    STALL_S = 1.0     # no callback for this long: the stream is dead (device gone, driver hung)
    RETRY_S = 2.0     # between attempts to reopen it

    def watch(self, now: float) -> None:
        """Keep the sound alive; the voice thread calls this every few ms while it plays.

        An exception inside the callback is caught there (an exception escaping it would stop
        the stream without a word); here each one is counted, logged and answered with a fresh
        stream. A stream whose callbacks stop (the device was unplugged, PortAudio gave up) is
        reopened every RETRY_S until a device answers again.
        """
        if self.callbacks != self._callbacks_seen:
            self._callbacks_seen, self._progress_at = self.callbacks, now
        failed = self.core.errors != self._errors_seen
        if failed:
            log.warning("audio callback failed (%d so far; silence for those blocks); "
                        "restarting the stream", self.core.errors)
            self._errors_seen = self.core.errors
        dead = (self.stream is None or not getattr(self.stream, "active", True)
                or now - self._progress_at > self.STALL_S)
        if not (failed or dead) or now - self._last_try < self.RETRY_S:
            return
        self._last_try = now
        first = self.restarts == 0 or self.stream is not None
        self.stop()
        self.restarts += 1
        if self.start(quiet=not first):
            log.warning("audio stream restarted (%d restarts)", self.restarts)

    def start(self, quiet: bool = False) -> bool:
        """Open the default output; False (one log line, visuals go on) when there is none."""
        try:
            import sounddevice as sd

            self.stream = sd.OutputStream(samplerate=self.core.sr, channels=2, dtype="float32",
                                          blocksize=self.blocksize, device=self.device,
                                          callback=self.callback)
            self._pace_t0 = None
            self.stream.start()
            self._progress_at = time.monotonic()  # the first callback is due within STALL_S
            return True
        except Exception as e:  # OSError (no PortAudio), PortAudioError (no device)
            self.stream = None
            (log.debug if quiet else log.warning)(
                "No sound output (%s); the music stays silent, the visuals go on.",
                str(e).splitlines()[0] if str(e) else type(e).__name__)
            return False

    def stop(self) -> None:
        close_stream(self.stream)
        self.stream = None


def close_stream(stream) -> None:
    """Stop and close a sounddevice stream (or None), ignoring a device that is already gone."""
    if stream is not None:
        try:
            stream.stop()
            stream.close()
        except Exception:  # noqa: BLE001 - PortAudio errors on a vanished device
            pass
