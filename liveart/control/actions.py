"""What controllers can do besides setting a parameter: presets, scene changes, triggers.

OSC addresses, MIDI notes and keys all call `Actions.run(name, *args)`, so a new action is
reachable from every controller at once. Errors a controller can cause raise UserError with
one sentence; the controller logs it and the show goes on.
"""
from __future__ import annotations

import logging
from typing import Any, Callable

from .. import params
from ..errors import UserError
from ..params import ParamStore

log = logging.getLogger(__name__)


class Actions:
    def __init__(self, store: ParamStore, switch_scene: Callable[[str], None] | None = None,
                 beats_to_seconds: Callable[[float], float] | None = None):
        self.store = store
        self._switch_scene = switch_scene
        self._beats = beats_to_seconds
        # name -> (handler, number of arguments it takes)
        self.table: dict[str, tuple[Callable[..., Any], int]] = {
            "preset/load": (self.preset_load, 1),
            "preset/save": (self.preset_save, 1),
            "preset/morph": (self.preset_morph, 2),
            "scene": (self.scene, 1),
            # snapshots (liveart/snapshot.py): listed here so MIDI maps can name it; a running
            # show replaces it with start_snapshots()
            "snapshot": (self._no_snapshots, 0),
            # recording (liveart/outputs/recording.py): listed here so MIDI maps can name
            # them; a running show replaces them with start_recording_control()
            "record/start": (self._no_recording, 0),
            "record/stop": (self._no_recording, 0),
            "record/toggle": (self._no_recording, 0),
        }
        # name -> optional arguments after the required ones (snapshot, record/start: a name)
        self.optional: dict[str, int] = {"snapshot": 1, "record/start": 1}

    def add(self, name: str, handler: Callable[..., Any], nargs: int = 0,
            optional: int = 0) -> None:
        """Make `name` (an OSC address below /liveart/, e.g. "record/start") an action that
        every controller can run; `handler` gets the first `nargs` arguments, plus up to
        `optional` more when they are sent."""
        self.table[name] = (handler, nargs)
        self.optional[name] = optional

    def run(self, name: str, *args: Any) -> Any:
        """Run action `name` (e.g. "preset/load") or fire trigger parameter `name`."""
        if name in self.table:
            handler, nargs = self.table[name]
            if len(args) < nargs:
                raise UserError(f"Action {name} takes {nargs} argument(s), got {len(args)}.")
            return handler(*args[:nargs + self.optional.get(name, 0)])
        if name in params.REGISTRY and params.REGISTRY[name].type == "trigger":
            return self.store.set(name, True)
        raise UserError(f"Unknown action {name!r}; actions are: {', '.join(self.names())}.")

    def names(self) -> list[str]:
        triggers = [n for n, p in params.REGISTRY.items() if p.type == "trigger"]
        return sorted(self.table) + sorted(triggers)

    def _no_snapshots(self, name: Any = None) -> None:
        raise UserError("This show can't take snapshots.")

    def _no_recording(self, name: Any = None) -> None:
        raise UserError("This show can't record.")

    # -- presets -----------------------------------------------------------------------------
    def preset_load(self, name: str) -> None:
        from ..presets import load_preset

        values, _ = load_preset(str(name))
        self.store.update(values)
        log.info("preset %s loaded", name)

    def preset_save(self, name: str) -> str:
        from ..presets import save_preset

        path = save_preset(str(name), self.store.targets())
        log.info("preset %s saved to %s", name, path)
        return str(path)

    def preset_morph(self, name: str, length: Any) -> None:
        """Morph to preset `name` over `length` seconds, or beats when given as e.g. '4b'."""
        from ..presets import load_preset

        values, _ = load_preset(str(name))
        self.store.morph(values, self._seconds(length))
        log.info("morphing to preset %s over %s", name, length)

    def _seconds(self, length: Any) -> float:
        text = str(length).strip().lower()
        try:
            if text.endswith("b"):
                beats = float(text[:-1])
                if self._beats is None:
                    return beats * 0.5  # 120 bpm when no clock is known
                return self._beats(beats)
            seconds = float(text)
        except ValueError:
            raise UserError(f"A morph length is seconds (e.g. 4) or beats (e.g. 8b), not {length!r}.") from None
        if not 0 <= seconds <= 3600:
            raise UserError(f"A morph length must be 0 to 3600 seconds, not {length!r}.")
        return seconds

    # -- scenes ------------------------------------------------------------------------------
    def scene(self, spec: str) -> None:
        from ..params.scene import check_scene_spec

        check_scene_spec(str(spec))
        if self._switch_scene is None:
            raise UserError("This show can't change scene live.")
        self._switch_scene(str(spec))
