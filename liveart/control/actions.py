"""What controllers can do besides setting a parameter: presets, scene changes, triggers.

The actions and their arguments are declared in liveart/params/actions.py; OSC addresses, MIDI
notes and keys all call `Actions.run(name, *args)`, so an action is reachable from every
controller at once. Errors a controller can cause raise UserError with
one sentence; the controller logs it and the show goes on.
"""
from __future__ import annotations

import logging
from typing import Any, Callable

from .. import params
from ..errors import UserError
from ..params import ParamStore
from ..params.actions import ACTIONS, morph_seconds

log = logging.getLogger(__name__)


class Actions:
    """The actions of liveart/params/actions.py, bound to what they do in this show."""

    def __init__(self, store: ParamStore, switch_scene: Callable[[str], None] | None = None,
                 beats_to_seconds: Callable[[float], float] | None = None):
        self.store = store
        self._switch_scene = switch_scene
        self._beats = beats_to_seconds
        # snapshots and recording are bound by a running show (start_snapshots(),
        # start_recording_control()); until then they say why they can't run
        self.handlers: dict[str, Callable[..., Any]] = {
            "preset/load": self.preset_load,
            "preset/save": self.preset_save,
            "preset/morph": self.preset_morph,
            "scene": self.scene,
            "snapshot": self._no_snapshots,
            "record/start": self._no_recording,
            "record/stop": self._no_recording,
            "record/toggle": self._no_recording,
            "mod/set": self.mod_set,
            "mod/clear": self.mod_clear,
        }
        assert set(self.handlers) == set(ACTIONS), "every action in the table has a handler"

    def add(self, name: str, handler: Callable[..., Any], nargs: int | None = None,
            optional: int | None = None) -> None:
        """Bind action `name` (declared in liveart/params/actions.py) to `handler`, which gets
        its arguments: the required ones, plus the optional ones that were sent."""
        spec = ACTIONS[name]
        assert nargs in (None, spec.nargs) and optional in (None, len(spec.optional)), name
        self.handlers[name] = handler

    def run(self, name: str, *args: Any) -> Any:
        """Run action `name` (e.g. "preset/load") or fire trigger parameter `name`."""
        spec = ACTIONS.get(name)
        if spec is not None:
            if len(args) < spec.nargs:
                raise UserError(f"Action {name} takes {spec.nargs} argument(s), got {len(args)}.")
            return self.handlers[name](*args[:spec.nargs + len(spec.optional)])
        if name in params.REGISTRY and params.REGISTRY[name].type == "trigger":
            return self.store.set(name, True)
        raise UserError(f"Unknown action {name!r}; actions are: {', '.join(self.names())}.")

    @staticmethod
    def names() -> list[str]:
        triggers = [n for n, p in params.REGISTRY.items() if p.type == "trigger"]
        return sorted(ACTIONS) + sorted(triggers)

    @staticmethod
    def choices(name: str) -> list[str] | None:
        """The names the first argument of action `name` takes, where a list of them is
        known: the presets, for preset/load and preset/morph (OSCQuery's VALS)."""
        if name in ("preset/load", "preset/morph"):
            from ..presets import list_presets

            return sorted(list_presets())
        return None

    def _no_snapshots(self, name: Any = None) -> None:
        raise UserError("This show can't take snapshots.")

    def _no_recording(self, name: Any = None) -> None:
        raise UserError("This show can't record.")

    # -- presets -----------------------------------------------------------------------------
    def preset_load(self, name: str) -> None:
        """Load preset `name`: a name, never a path (controllers reach only the preset
        folders; docs/osc-protocol.md)."""
        from ..presets import find_preset_by_name, load_preset_with_mods

        values, _, mods = load_preset_with_mods(find_preset_by_name(name))
        self.store.update(values)
        self.store.mods.replace(mods)
        log.info("preset %s loaded", name)

    def preset_save(self, name: str) -> str:
        from ..presets import save_preset

        path = save_preset(str(name), self.store.targets(), mods=self.store.mods.as_dicts())
        log.info("preset %s saved to %s", name, path)
        return str(path)

    def preset_morph(self, name: str, length: Any) -> None:
        """Morph to preset `name` over `length` seconds, or beats when given as e.g. '4b'."""
        from ..presets import find_preset_by_name, load_preset_with_mods

        values, _, mods = load_preset_with_mods(find_preset_by_name(name))
        self.store.morph(values, self._seconds(length))
        self.store.mods.replace(mods)
        log.info("morphing to preset %s over %s", name, length)

    def _seconds(self, length: Any) -> float:
        return morph_seconds(length, self._beats)

    # -- modulators --------------------------------------------------------------------------
    def mod_set(self, target: str, source: str, amount: Any, options: Any = "") -> None:
        from ..params.mods import make_modulator, parse_options

        self.store.mods.set(make_modulator(target, source, amount, **parse_options(options)))
        log.info("%s now moves with %s (amount %s)", target, source, amount)

    def mod_clear(self, target: str) -> None:
        target = str(target).strip()
        if target != "*" and target not in params.REGISTRY:
            raise UserError(f"Unknown parameter {target!r}{params.did_you_mean(target, params.REGISTRY)}.")
        self.store.mods.clear(target)

    # -- scenes ------------------------------------------------------------------------------
    def scene(self, spec: str) -> None:
        from ..params.scene import check_scene_spec

        check_scene_spec(str(spec))
        if self._switch_scene is None:
            raise UserError("This show can't change scene live.")
        self._switch_scene(str(spec))
