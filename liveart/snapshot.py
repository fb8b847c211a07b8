"""Snapshots: a PNG that remembers how it was made.

Every PNG liveart writes (a live snapshot, `liveart render` of an image, `liveart styles sheet`)
carries a text chunk with the key `liveart` holding the complete parameter state as JSON:

    {"liveart": "0.1.0", "scene": "dream", "models": ["efficientnet_lite0"],
     "params": {"dream.layer": "blocks.10", "dream.octaves": 4, ...}, ...}

`liveart render IN OUT --from snapshot.png` reads it back and renders other material with the
same look; live, the key P, OSC `/liveart/snapshot [name]` and a MIDI `action = "snapshot"`
save the newest output picture, full size, to the snapshots folder (`snapshots` in the config
folder, or `$LIVEART_SNAPSHOTS_DIR`) without the tick ever waiting for the disk.
"""
from __future__ import annotations

import json
import logging
import os
import queue
import re
import threading
import time
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from . import __version__, params
from .atomic import atomic_file
from .errors import UserError
from .userdirs import config_dir

log = logging.getLogger(__name__)

CHUNK_KEY = "liveart"
LATE_CHUNK_PIXELS = 64_000_000  # a chunk after the pixels is looked for in pictures up to this
PENDING = 4  # snapshots waiting for the disk at most: a stuck disk can't make a queue grow
_NAME_OK = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.-]{0,63}$")


# -- the state -------------------------------------------------------------------------------
def _values_of(store_or_values: Any) -> dict[str, Any]:
    """Every registered parameter's value (triggers excluded): from a ParamStore's targets, a
    Snapshot's values or a plain {name: value} (missing names take their defaults)."""

    if hasattr(store_or_values, "targets"):
        given = store_or_values.targets()
    elif hasattr(store_or_values, "values") and not isinstance(store_or_values, Mapping):
        given = dict(store_or_values.values)  # a params.Snapshot
    else:
        given = dict(store_or_values or {})
    values = {n: p.default for n, p in params.REGISTRY.items() if p.type != "trigger"}
    values.update({n: v for n, v in given.items() if n in values})
    return values


def models_in_use(values: Mapping[str, Any], scene_spec: str) -> list[str]:
    """The networks the scene chain `scene_spec` runs with these values, in chain order."""
    models: list[str] = []
    for name in (n.strip() for n in str(scene_spec).split("+")):
        if name == "dream":
            model = str(values.get("dream.model", ""))
        elif name == "style":
            model = "arbitrary" if str(values.get("style.image", "")).strip() else "multistyle26"
        elif name == "paint":
            model = "vgg16"
        else:
            continue
        if model and model not in models:
            models.append(model)
    return models


def state_json(store_or_values: Any, scene_spec: str, extra: Mapping[str, Any] | None = None) -> str:
    """The complete state as JSON text: `params` (every parameter's current target value, with
    its exact type), `models`, `scene` and the `liveart` version; `extra` adds keys beside them
    (it can't replace those four)."""
    values = _values_of(store_or_values)
    state: dict[str, Any] = dict(extra or {})
    state.update({"liveart": __version__, "scene": str(scene_spec),
                  "models": models_in_use(values, scene_spec), "params": values})
    mods = getattr(store_or_values, "mods", None)
    if mods is not None and hasattr(mods, "as_dicts") and len(mods):
        state["mods"] = mods.as_dicts()  # the modulators (liveart.params.mods)
    # allow_nan=False: a NaN can't be in the store (coerce refuses it), and must not be written
    return json.dumps(state, sort_keys=True, ensure_ascii=False, allow_nan=False)


# -- PNG files -------------------------------------------------------------------------------
def write_png(path: str | Path, rgb_uint8: np.ndarray, state: str) -> Path:
    """Write `rgb_uint8` (h x w x 3) as a PNG carrying `state` in a compressed iTXt chunk with
    the key `liveart`; atomic (liveart.atomic: a kill or a full disk leaves the old file or the
    new one, never half a picture). UserError with one sentence when the file can't be
    written."""
    from PIL import Image, PngImagePlugin

    path = Path(path)
    image = np.ascontiguousarray(rgb_uint8)
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"write_png needs uint8 h x w x 3, not {image.dtype} {image.shape}")
    info = PngImagePlugin.PngInfo()
    info.add_itxt(CHUNK_KEY, state, zip=True)
    try:
        with atomic_file(path) as f:
            Image.fromarray(image).save(f, format="PNG", pnginfo=info, compress_level=6)
    except OSError as e:
        raise UserError(f"Could not write {path}: {e.strerror or e}.") from None
    return path


def read_state(path: str | Path) -> dict[str, Any]:
    """The state a liveart PNG carries, as a dict with at least `params` (a dict) and `scene`
    (a valid scene spec). UserError with one sentence for a file that can't be read, is not a
    PNG, has no `liveart` chunk or holds no valid state."""
    from PIL import Image

    path = Path(path)
    if not path.is_file():
        raise UserError(f"Snapshot {path} does not exist.")
    try:
        with Image.open(path) as im:
            if im.format != "PNG":
                raise UserError(f"{path} is not a PNG file, so it holds no liveart state.")
            text = im.info.get(CHUNK_KEY)  # liveart writes the chunk before the pixels
            if text is None and im.width * im.height <= LATE_CHUNK_PIXELS:
                text = im.text.get(CHUNK_KEY)  # one after the pixels: read the whole file
    except UserError:
        raise
    except Exception as e:  # noqa: BLE001  (a hostile file can make Pillow raise many things)
        raise UserError(f"{path} is not a readable PNG file ({type(e).__name__}).") from None
    if text is None:
        raise UserError(f"{path} holds no liveart state (no 'liveart' text chunk); only PNGs "
                        "liveart wrote do.")
    try:
        state = json.loads(str(text))
    except (ValueError, RecursionError):
        raise UserError(f"The liveart state in {path} is not valid JSON.") from None
    if not isinstance(state, dict) or not isinstance(state.get("params"), dict):
        raise UserError(f"The liveart state in {path} is not a JSON object with a 'params' table.")
    scene = state.get("scene", "dream")
    if not isinstance(scene, str):
        raise UserError(f"The liveart state in {path} names its scene with a {type(scene).__name__}, "
                        "not text.")
    from .scenes import check_scene_spec

    try:
        check_scene_spec(scene)
    except UserError as e:
        raise UserError(f"The liveart state in {path}: {_lower_first(str(e))}") from None
    state["scene"] = scene
    return state


def _lower_first(text: str) -> str:
    """'There is ...' -> 'there is ...' after a colon; 'MIDI ...' and 'dream.x ...' stay."""
    return text[:1].lower() + text[1:] if text[1:2].islower() else text


def state_values(state: Mapping[str, Any], origin: str = "The snapshot") -> dict[str, Any]:
    """The state's parameters, each coerced by the registry (clamped to its range). Unknown
    names (a newer or older liveart) and triggers are left out with one log line; a value the
    registry refuses raises UserError naming `origin` and the parameter."""

    raw = state.get("params", {})
    if not isinstance(raw, Mapping):
        raise UserError(f"{origin} holds no parameter table.")
    values: dict[str, Any] = {}
    skipped: list[str] = []
    for name, value in raw.items():
        p = params.REGISTRY.get(name)
        if p is None or p.type == "trigger":
            skipped.append(str(name)[:60])
            continue
        if value is None or isinstance(value, (dict, list)):
            kind = "null" if value is None else f"a JSON {type(value).__name__}"
            raise UserError(f"{origin} sets {name} to {kind}, not a value.")
        if p.remote_check is not None:  # a picture path: untrusted, as from the network
            try:
                values[name] = p.coerce(value, remote=True)
            except UserError as e:
                log.warning("%s: %s; it is left out.", origin, _lower_first(str(e)).rstrip("."))
            continue
        try:
            values[name] = p.coerce(value)
        except UserError as e:
            raise UserError(f"{origin}: {_lower_first(str(e)).rstrip('.')}.") from None
        except OverflowError:  # an integer of hundreds of digits: float() can't hold it
            raise UserError(f"{origin} sets {name} to a number too large to use.") from None
    if skipped:
        log.info("%s: ignored %d parameter(s) this liveart does not know or that are triggers: "
                 "%s", origin, len(skipped),
                 ", ".join(sorted(skipped)[:10]) + (" ..." if len(skipped) > 10 else ""))
    return values


def state_mods(state: Mapping[str, Any], origin: str = "The snapshot") -> list:
    """The state's modulators (liveart.params.mods.Modulator); UserError naming `origin`."""
    from .params.mods import mods_from_table

    return mods_from_table(state["mods"], origin) if "mods" in state else []


def apply_state(store, state: Mapping[str, Any], immediate: bool = True) -> dict[str, Any]:
    """Set every known parameter of `state` on `store` (validated first, so a refused value
    changes nothing), and its modulators; returns the values set."""
    values = state_values(state)
    mods = state_mods(state)
    store.update(values, immediate=immediate)
    store.mods.replace(mods)
    return values


# -- live snapshots --------------------------------------------------------------------------
def snapshots_dir() -> Path:
    """`$LIVEART_SNAPSHOTS_DIR`, else `snapshots` in the config folder."""
    env = os.environ.get("LIVEART_SNAPSHOTS_DIR", "").strip()
    return Path(env).expanduser() if env else config_dir() / "snapshots"


def check_name(name: Any) -> str:
    """A snapshot name from a controller, as a file stem; UserError for one that could leave the
    snapshots folder (a separator, '..', an absolute path) or is not a plain name."""
    text = str(name).strip()
    if text.lower().endswith(".png"):
        text = text[:-4]
    if not _NAME_OK.match(text) or ".." in text:
        raise UserError(f"Snapshot name {str(name)[:60]!r} is not allowed; use letters, digits, "
                        "space, '-', '_' or '.' (no folders).")
    return text


class Snapshots:
    """Takes the newest output picture and its state on the caller's thread (cheap) and writes
    the PNG on its own thread, so neither the tick nor a controller waits for the disk."""

    def __init__(self, engine, store, scene_spec: str, folder: Path | None = None):
        self.engine = engine
        self.store = store
        self.scene_spec = scene_spec
        self.folder = folder
        self.written: list[Path] = []
        self._queue: queue.Queue = queue.Queue(maxsize=PENDING)
        self._thread: threading.Thread | None = None

    def start(self) -> "Snapshots":
        self._thread = threading.Thread(target=self._work, name="liveart-snapshots", daemon=True)
        self._thread.start()
        return self

    def take(self, name: Any = None) -> str:
        """Queue a snapshot of the newest output; returns the file name it will have."""
        stem = None if name is None or str(name).strip() == "" else check_name(name)
        out, _, _ = self.engine.out_slot.get()
        if out is None:
            raise UserError("There is no picture to snapshot yet.")
        now = time.time()
        if stem is None:
            stem = time.strftime("liveart-%Y%m%d-%H%M%S", time.localtime(now)) + \
                f"-{int(now * 1000) % 1000:03d}"
        scene = getattr(self.engine.scene, "name", None) or self.scene_spec
        h, w = out.image.shape[:2]
        text = state_json(self.store, scene, {"frame": out.seq, "size": [w, h],
                                              "time": time.strftime("%Y-%m-%dT%H:%M:%S%z",
                                                                    time.localtime(now))})
        try:  # the engine puts a new array in the slot every tick, so no copy is needed
            self._queue.put_nowait((stem, out.image, text))
        except queue.Full:
            raise UserError("Snapshots are still being written; try again in a moment.") from None
        return f"{stem}.png"

    def wait(self) -> None:
        """Block until every queued snapshot is written (or failed)."""
        self._queue.join()

    def stop(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            self._queue.put(None)  # after the pending ones: they are written first
            self._thread.join(timeout=10)
        self._thread = None

    def _work(self) -> None:
        while True:
            job = self._queue.get()
            try:
                if job is None:
                    return
                self._write(*job)
            finally:
                self._queue.task_done()

    def _write(self, stem: str, image: np.ndarray, text: str) -> None:
        folder = self.folder or snapshots_dir()
        try:
            folder.mkdir(parents=True, exist_ok=True)
            path, n = folder / f"{stem}.png", 1
            while path.exists():  # never overwrite an earlier snapshot
                n += 1
                path = folder / f"{stem}-{n}.png"
            write_png(path, image, text)
        except (UserError, OSError) as e:
            log.warning("Snapshot not saved: %s", e)
            return
        self.written.append(path)
        log.info("snapshot saved to %s", path)


def start_snapshots(engine, store, actions, scene_spec: str) -> Snapshots:
    """Register action `snapshot` (OSC `/liveart/snapshot [name]`, MIDI `action = "snapshot"`,
    the window's P key) on `actions`; returns the started writer (stop() it at the end)."""
    snaps = Snapshots(engine, store, scene_spec).start()
    actions.add("snapshot", snaps.take, 0, optional=1)
    return snaps
