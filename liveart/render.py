"""Offline render: a video or an image in, the same kind out, at full quality per frame."""
from __future__ import annotations

from pathlib import Path

import cv2
import torch
from tqdm import tqdm

from .errors import UserError
from .frames import compose, to_tensor
from .outputs.recorder import _FOURCC, Recorder
from .params import ParamStore
from .scenes.base import Scene
from .sources.files import open_video, read_image

IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")


def check_paths(input_path: str, output_path: str, still_to_video: bool = False) -> str:
    """'image' or 'video' (by the output's extension, which must match the input's kind;
    `still_to_video`: an image may become a video, `render --audio`)."""
    if not Path(input_path).is_file():
        raise UserError(f"Input file {input_path} does not exist.")
    in_ext, out_ext = Path(input_path).suffix.lower(), Path(output_path).suffix.lower()
    kind = "image" if out_ext in IMAGE_EXTS else "video" if out_ext in _FOURCC else None
    if kind is None:
        raise UserError(f"Output {output_path} must end in an image ({', '.join(IMAGE_EXTS)}) "
                        f"or video ({', '.join(_FOURCC)}) extension.")
    if still_to_video and in_ext in IMAGE_EXTS and kind == "video":
        pass  # a still image animated by a song
    elif (in_ext in IMAGE_EXTS) != (kind == "image"):
        raise UserError(f"Output {output_path} must be the same kind as input {input_path} "
                        "(image to image, video to video).")
    if not Path(output_path).resolve().parent.is_dir():
        raise UserError(f"Cannot write {output_path}: folder {Path(output_path).resolve().parent} "
                        "does not exist.")
    return kind


def _dream(image, scene: Scene, store: ParamStore, device: torch.device, size, bar=None,
           at: float | None = None):
    """One frame rendered. `bar` (a tqdm): advanced once per gradient step of the scenes that
    count them (the dream: octaves x steps), so one big image does not sit at 0/1 for minutes
    (a frame of scenes that don't count steps is one). `at`: the frame's time in the video,
    which the parameters' glides, modulators and the song's analysis follow (None: now)."""
    size = size or (image.shape[1], image.shape[0])
    x = to_tensor(image, size, device)
    snap = store.snapshot(now=at)
    stepped = [s for s in getattr(scene, "scenes", [scene]) if hasattr(s, "render_steps")]
    if bar is not None:
        bar.reset(total=sum(s.render_steps(x.shape[-2:], snap) for s in stepped) or 1)
        for s in stepped:
            s.on_step = bar.update
    try:
        y = scene.render(x, snap)
    finally:
        for s in stepped:
            s.on_step = None
    if bar is not None:
        bar.update(bar.total - bar.n)
    return compose(image, x, y)


def render_file(input_path: str, output_path: str, kind: str, scene: Scene, store: ParamStore,
                device: torch.device, size: tuple[int, int] | None, music: str | None = None,
                extra: dict | None = None, audio: str | None = None, fps: float = 25.0) -> int:
    """Render and return the number of frames written. `music`: also write the WAV the frames
    would have played (and put it into the video output). A PNG output
    carries the parameter state (liveart.snapshot; `extra`: more keys for it). `audio`: a song
    that drives the frames (liveart.rhythm.section.OfflineRhythm) and becomes their sound; an
    image input then gives a video as long as the song, at `fps`."""
    if music and kind == "image":
        raise UserError("--music needs a video: an image has no duration.")
    from .rhythm.section import OfflineRhythm

    song = None
    if audio:
        from .rhythm.audio_in import decode_file

        song = decode_file(audio)
    # every frame's parameters at its own time: modulators, tempo and glides are the same
    # every run (with a song: what the song does up to that frame)
    OfflineRhythm(store, *(song or (None,)))
    if song is not None and Path(input_path).suffix.lower() in IMAGE_EXTS:
        return _render_still_to_song(input_path, output_path, scene, store, device, size, song,
                                     audio, fps)
    if kind == "image":
        image = read_image(input_path)
        with tqdm(total=1, desc="render", unit="step") as bar:
            out = _dream(image, scene, store, device, size, bar)
        if Path(output_path).suffix.lower() == ".png":  # the look travels with the picture
            from .snapshot import state_json, write_png

            write_png(output_path, out, state_json(store, scene.name, extra))
        elif not cv2.imwrite(output_path, cv2.cvtColor(out, cv2.COLOR_RGB2BGR)):
            raise UserError(f"Could not write image {output_path}.")
        return 1
    cap, frame, fps = open_video(input_path)
    total = int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) or None
    writer = Recorder(output_path, fps, blocking=True)  # H.264 through PyAV, every frame
    written = 0
    summaries = []
    try:
        with tqdm(total=total, desc="render", unit="frame") as bar:
            while frame is not None:
                out = _dream(frame, scene, store, device, size, at=written / fps)
                writer.write(out)
                summaries.append(getattr(scene, "summary", None))
                written += 1
                bar.update()
                ok, bgr = cap.read()
                frame = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB) if ok else None
    finally:
        writer.close()
        cap.release()
    if writer.failed:
        raise UserError(f"Could not write {output_path}: {writer.error}.")
    if music:
        from .music.offline import mux, render_music

        render_music(summaries, fps, written / fps, store.snapshot(), music)
        mux(output_path, music, written / fps)
    if song is not None:
        _mux_song(output_path, song, written / fps)
    return written


def _render_still_to_song(input_path, output_path, scene, store, device, size, song, audio,
                          fps) -> int:
    """A still image, rendered frame by frame for as long as the song, each frame at its time."""
    image = read_image(input_path)
    samples, sr = song
    frames = max(1, int(len(samples) / sr * fps))
    writer = Recorder(output_path, fps, blocking=True)
    try:
        with tqdm(total=frames, desc="render", unit="frame") as bar:
            for k in range(frames):
                writer.write(_dream(image, scene, store, device, size, at=k / fps))
                bar.update()
    finally:
        writer.close()
    if writer.failed:
        raise UserError(f"Could not write {output_path}: {writer.error}.")
    _mux_song(output_path, song, frames / fps)
    return frames


def _mux_song(video: str, song, duration: float) -> None:
    """The song (mono samples, rate) as the video's sound, cut to the picture's length."""
    import tempfile
    import wave

    import numpy as np

    from .music.offline import mux

    samples, sr = song
    pcm = (np.clip(samples, -1.0, 1.0) * 32767.0).astype("<i2")
    with tempfile.TemporaryDirectory() as folder:
        wav = str(Path(folder) / "song.wav")
        with wave.open(wav, "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(sr)
            w.writeframes(pcm.tobytes())
        mux(video, wav, duration)
