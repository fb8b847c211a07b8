"""Offline music: the audio a render's frames would have played, and muxing it into the video."""
from __future__ import annotations

import logging
import os
import shutil
import subprocess
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


def mux(video: str, wav: str) -> bool:
    """Put `wav` into `video` as its soundtrack (in place). False, with one log line, when
    ffmpeg is missing or fails."""
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        log.warning("ffmpeg not found; the music is in %s, not in %s.", wav, video)
        return False
    src = Path(video)
    tmp = src.with_name(src.stem + ".music-tmp" + src.suffix)
    cmd = [ffmpeg, "-y", "-loglevel", "error", "-i", str(src), "-i", str(wav), "-c:v", "copy",
           "-c:a", "aac", "-shortest", str(tmp)]
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    except (OSError, subprocess.TimeoutExpired) as e:
        log.warning("ffmpeg could not add the music to %s (%s).", video, e)
        return False
    if r.returncode != 0 or not tmp.is_file():
        log.warning("ffmpeg could not add the music to %s: %s", video,
                    (r.stderr.strip().splitlines() or ["unknown error"])[-1])
        tmp.unlink(missing_ok=True)
        return False
    os.replace(tmp, src)
    return True
