"""Your own scenes: each `NAME.py` in the scenes folder (`$LIVEART_SCENES_DIR`, else
`~/.config/liveart/scenes`) defines one scene, reached by `--scene NAME` and `/liveart/scene s
NAME` like a built-in one (and in chains: `dream+NAME`). docs/scenes.md is the contract.

A scene file runs in the show's process with the show's rights, as a Max external does: only
the folder the user set is ever read (never a path from a preset, a snapshot or OSC).

Parameters a scene file declares (`params.declare("mine.speed", ...)`) belong to that file:
loading a new version of it first takes the old version's parameters out of the registry, then
the store adopts whatever the new one declares (see ParamStore.adopt_registry). A file that
fails to import says where: "mine.py:12: NameError: name 'x' is not defined".
"""
from __future__ import annotations

import importlib.util
import sys
import threading
import traceback
from pathlib import Path

from .errors import UserError
from .params.scenefiles import list_scene_files, scenes_dir  # noqa: F401  (re-exported)

_lock = threading.Lock()
_declared: dict[str, tuple[str, ...]] = {}  # scene name -> the parameters its loaded file declared
_versions: dict[str, int] = {}


def list_user_scenes() -> dict[str, Path]:
    """{name: file} of the scene files in the folder (built-in names win)."""
    from .params.scene import BUILTIN_SCENES

    return list_scene_files(BUILTIN_SCENES)


def _where(e: BaseException, path: Path) -> str:
    """'mine.py:12: NameError: ...': the deepest line of the scene file in the traceback."""
    if isinstance(e, SyntaxError) and e.lineno:
        return f"{path.name}:{e.lineno}: SyntaxError: {e.msg}"
    line = None
    for frame in traceback.extract_tb(e.__traceback__):
        if Path(frame.filename).resolve() == path.resolve():
            line = frame.lineno
    at = f"{path.name}:{line}" if line else path.name
    return f"{at}: {type(e).__name__}: {e}"


_loaded: dict[str, tuple[int, type]] = {}  # name -> (the file's mtime, its Scene class)


def load_scene_class(name: str):
    """The Scene subclass of scene file `name`, imported again when the file changed since;
    the parameters the previous version declared are replaced by the new one's. UserError
    (with file:line) when the file is missing, fails to import or defines no scene."""
    from . import params
    from .scenes.base import Scene

    path = list_user_scenes().get(name)
    if path is None:
        raise UserError(f"There is no scene file {name}.py in {scenes_dir()}.")
    try:
        mtime = path.stat().st_mtime_ns
    except OSError as e:
        raise UserError(f"Scene file {path} can't be read: {e.strerror or e}.") from None
    with _lock:
        cached = _loaded.get(name)
        if cached is not None and cached[0] == mtime:
            return cached[1]
        _versions[name] = _versions.get(name, 0) + 1
        module_name = f"liveart_user_scene_{name}_v{_versions[name]}"
        old = _declared.pop(name, ())
        saved = {n: params.REGISTRY.pop(n) for n in old if n in params.REGISTRY}
        before = set(params.REGISTRY)
        try:
            spec = importlib.util.spec_from_file_location(module_name, path)
            module = importlib.util.module_from_spec(spec)
            sys.modules[module_name] = module
            spec.loader.exec_module(module)
            classes = [c for c in vars(module).values() if isinstance(c, type)
                       and issubclass(c, Scene) and c is not Scene and c.__module__ == module_name]
            if len(classes) != 1:
                raise UserError(f"{path.name} must define one Scene subclass, not {len(classes)}.")
        except BaseException as e:  # noqa: BLE001 - a user's file: any error is its report
            sys.modules.pop(module_name, None)
            for n in set(params.REGISTRY) - before:  # half a new version: take it out again
                params.REGISTRY.pop(n, None)
            params.REGISTRY.update(saved)  # the running version keeps its parameters
            _declared[name] = old
            if isinstance(e, UserError):
                raise
            if isinstance(e, (KeyboardInterrupt, SystemExit)):
                raise
            raise UserError(f"Scene {_where(e, path)}") from None
        _declared[name] = tuple(sorted(set(params.REGISTRY) - before))
        cls = classes[0]
        cls.name = name
        cls.source_file = str(path)
        _loaded[name] = (mtime, cls)
        return cls


def declared_by(name: str) -> tuple[str, ...]:
    with _lock:
        return _declared.get(name, ())


class SceneWatcher:
    """Polls the scene files a show uses; a saved file is rebuilt in the background (the
    engine keeps the running version until the new one has built and run its first ticks)."""

    def __init__(self, engine, spec_of, every: float = 0.25):
        self.engine, self.spec_of, self.every = engine, spec_of, every
        self._stop = threading.Event()
        self._mtimes: dict[str, float] = {}
        self._thread = threading.Thread(target=self._run, name="scene-watch", daemon=True)

    def start(self) -> "SceneWatcher":
        self._poll(initial=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def _poll(self, initial: bool = False) -> bool:
        files = list_user_scenes()
        changed = False
        for name in self.spec_of().split("+"):
            path = files.get(name.strip())
            if path is None:
                continue
            try:
                m = path.stat().st_mtime_ns
            except OSError:
                continue
            if self._mtimes.get(name) != m:
                changed = changed or (not initial and name in self._mtimes)
                self._mtimes[name] = m
        return changed

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            if self._poll():
                self.engine.request_scene(self.spec_of(), trial=True)


def unload(name: str) -> None:
    """Forget scene file `name`: its parameters leave the registry (stores follow with
    adopt_registry) and its next load imports the file again."""
    from . import params

    with _lock:
        for n in _declared.pop(name, ()):
            params.REGISTRY.pop(n, None)
        _loaded.pop(name, None)
