"""Offline music: the audio a render's frames would have played, and muxing it into the video."""
from __future__ import annotations

import logging
import os
import wave
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from ..errors import UserError
from .composer import compose
from .synth import render

log = logging.getLogger(__name__)


def _values(store_snapshot) -> Mapping[str, Any]:
    from .. import params

    vals = {n: p.default for n, p in params.REGISTRY.items() if n.startswith("music.")}
    src = getattr(store_snapshot, "values", store_snapshot) or {}
    vals.update({k: v for k, v in dict(src).items() if k.startswith("music.")})
    return vals


def write_wav(path: str, audio: np.ndarray, samplerate: int) -> None:
    pcm = (np.clip(audio, -1.0, 1.0) * 32767.0).round().astype("<i2")
    try:
        with wave.open(str(path), "wb") as w:
            w.setnchannels(pcm.shape[1])
            w.setsampwidth(2)
            w.setframerate(samplerate)
            w.writeframes(pcm.tobytes())
    except OSError as e:
        raise UserError(f"Could not write {path}: {e.strerror or e}.") from None


def render_music(summaries, fps: float, seconds: float, store_snapshot, path: str | None,
                 samplerate: int = 48000, seed: int = 0):
    """Compose the per-frame `summaries` (frame i at i/fps), synthesise `seconds` of audio and
    write it to `path` (16-bit WAV) unless path is None. Returns (audio, events)."""
    values = _values(store_snapshot)
    events = [e for e in compose(summaries, fps, values, seed=seed, seconds=seconds)
              if e.time_s < seconds]
    audio = render(events, seconds, samplerate, volume=float(values["music.volume"]))
    if path is not None:
        write_wav(path, audio, samplerate)
    return audio, events


def mux(video: str, wav: str, duration: float | None = None) -> bool:
    """Put `wav` into `video` as its soundtrack (in place), through PyAV: the picture is copied
    as it is, the sound encoded (AAC; PCM in an AVI), interleaved with it and cut to
    `duration` (default: the picture's length). False, with one log line, when that fails
    (the music then stays in the WAV)."""
    import av

    from ..outputs.recorder import AudioTrack, _container_options, count_frames

    src = Path(video)
    ext = src.suffix.lower()
    tmp = src.with_name(src.stem + ".music-tmp" + src.suffix)
    try:
        with wave.open(str(wav), "rb") as w:
            sr, ch = w.getframerate(), w.getnchannels()
            pcm = np.frombuffer(w.readframes(w.getnframes()), "<i2").reshape(-1, ch)
        sound = pcm[:, [0, 0]] if ch == 1 else pcm[:, :2]
        sound = sound.astype(np.float32) / 32768.0
        with av.open(str(src)) as inp:
            vin = inp.streams.video[0]
            if duration is None:
                duration = count_frames(str(src)) / float(vin.average_rate or vin.guessed_rate)
            total = min(len(sound), int(round(duration * sr)))
            with av.open(str(tmp), "w", options=_container_options(ext)) as out:
                vout = out.add_stream_from_template(vin)
                track = AudioTrack(out, ext, sr, out.mux)
                pos = 0
                for p in inp.demux(vin):
                    if not p.size:
                        continue
                    # the sound up to a little past this frame first: the two interleave
                    t = float(p.dts * p.time_base) if p.dts is not None else 0.0
                    upto = min(total, int(t * sr) + 4096)
                    if upto > pos:
                        track.write(sound[pos:upto])
                        pos = upto
                    p.stream = vout
                    out.mux(p)
                track.write(sound[pos:total])
                track.close()
    except (OSError, av.FFmpegError, ValueError, EOFError, wave.Error, IndexError) as e:
        tmp.unlink(missing_ok=True)
        log.warning("Could not add the music to %s (%s); it is in %s.", video,
                    str(getattr(e, "strerror", None) or e).rstrip("."), wav)
        return False
    os.replace(tmp, src)
    return True
