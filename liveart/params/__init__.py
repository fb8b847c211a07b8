"""The parameter registry, complete on import: every controllable value of liveart.

    from liveart import params
    params.get("dream.octaves").coerce("3")
    store = params.ParamStore({"dream.layer": "blocks.8"})

`registry` holds Param, declare, get and parse_assignment; `store` the ParamStore and its
Snapshot; one module per area declares that area's parameters (dream, style, paint, scene,
music, tempo). This package imports neither torch nor numpy, so `liveart params`, presets, MIDI map
checks and every controller load in a fraction of a second.
"""
from __future__ import annotations

from ..errors import UserError
from . import (adversary, dream, music, paint, scene, style, tempo,  # each declares its
               visualize, xray)  # area's parameters
from .registry import (MAX_STR, OSC_PREFIX, REGISTRY, TYPES, Param, declare, did_you_mean, get,
                       parse_assignment)
from .store import ParamStore, Snapshot

__all__ = ["MAX_STR", "OSC_PREFIX", "REGISTRY", "TYPES", "Param", "ParamStore", "Snapshot",
           "UserError", "adversary", "declare", "did_you_mean", "dream", "get", "music", "paint",
           "parse_assignment", "scene", "style", "tempo", "visualize", "xray"]
