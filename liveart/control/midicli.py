"""`liveart midi list|check|learn|replay`, MIDI file playback, and MIDI for `liveart run`.

`start_midi(store, actions, args)` starts what `liveart run --midi ... --midi-file ...` asks
for and returns a MidiSession (`.stop()`, `.clock`, `.handler`, `.learn`). A MIDI file is
played by `MidiFilePlayer` into the same `MidiHandler.handle` that a live port feeds, so
`liveart midi replay` shows exactly what the show would do.
"""
from __future__ import annotations

import argparse
import json
import logging
import queue
import threading
import time
from pathlib import Path
from typing import Any, Callable

from ..errors import UserError
from . import midiports
from .midi import RELATIVE_MODES, MidiHandler, MidiLearn, MidiMap, list_maps, load_map, user_maps_dir
from .midiclock import MidiClock

log = logging.getLogger(__name__)


# -- MIDI files ----------------------------------------------------------------------------------
def read_midi_file(path: str | Path) -> tuple[list[tuple[float, Any]], float]:
    """([(seconds from the start, message)], length in seconds) of a standard MIDI file; the
    file's tempo map is applied. UserError for a missing or broken file."""
    import mido

    p = Path(path)
    if not p.is_file():
        raise UserError(f"MIDI file {path} does not exist.")
    try:
        mid = mido.MidiFile(str(p))
        events, t = [], 0.0
        for msg in mid:  # merged tracks, msg.time = seconds since the previous message
            t += msg.time
            if not msg.is_meta and msg.type != "sysex":
                events.append((t, msg))
    except Exception as e:  # mido raises OSError, EOFError, ValueError, KeyError... on bad data
        raise UserError(f"{path} is not a standard MIDI file ({e}).") from None
    if not events:
        raise UserError(f"MIDI file {path} has no MIDI messages.")
    return events, t


class MidiFilePlayer:
    """Feeds a MIDI file's messages to a handler: at the file's timing (`fast=False`) or as fast
    as possible with the file's times as the handler's clock (`fast=True`). Held notes are let
    go at the end of each pass. `start()` plays in a thread (looping if asked); `play()` plays
    once in the calling thread."""

    MIN_LOOP = 0.5  # s: a loop pass is never shorter (a file of simultaneous events)

    def __init__(self, path: str | Path, handler: MidiHandler, *, loop: bool = False,
                 fast: bool = False,
                 after: Callable[[float, Any], None] | None = None):
        self.path = str(path)
        self.events, self.length = read_midi_file(path)
        self.handler = handler
        self.loop = loop
        self.fast = fast
        self.after = after  # called with (file time, message) after each message is handled
        self.passes = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def play(self, t0: float | None = None) -> bool:
        """One pass; False if stopped part-way."""
        t0 = time.monotonic() if t0 is None else t0
        for t, msg in self.events:
            if self._stop.is_set():
                return False
            if self.fast:
                now = t0 + t
            else:
                delay = t0 + t - time.monotonic()
                if delay > 0 and self._stop.wait(delay):
                    return False
                now = time.monotonic()
            self.handler.handle(msg, now)
            if self.after is not None:
                self.after(t, msg)
        self.handler.release_all()
        self.passes += 1
        return True

    def start(self) -> "MidiFilePlayer":
        self._thread = threading.Thread(target=self._run, name="midi-file", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        try:
            t0 = time.monotonic()
            while self.play(t0) and self.loop:
                t0 += max(self.length, self.MIN_LOOP)
                if not self.fast:
                    wait = t0 - time.monotonic()
                    if wait > 0 and self._stop.wait(wait):
                        break
            log.info("MIDI file %s %s", self.path, "stopped" if self._stop.is_set() else "finished")
        except Exception:
            log.exception("MIDI file %s", self.path)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=3)


def replay(path: str | Path, midimap: MidiMap, fast: bool = True) -> list[dict]:
    """Play `path` through a fresh store and the live handler; the parameter changes, in order,
    as [{"time": s, "name": param, "value": v}] (triggers as true, scene changes as "scene")."""
    from ..params import ParamStore
    from .actions import Actions

    store = ParamStore()
    clock = MidiClock()
    changes: list[dict] = []
    scenes: list[str] = []  # scene switches during the message being handled

    def switch_scene(spec: str) -> None:
        scenes.append(spec)

    actions = Actions(store, switch_scene=switch_scene, beats_to_seconds=clock.beats_to_seconds)
    handler = MidiHandler(store, actions, midimap, clock=clock)
    before = store.targets()
    store.snapshot()

    def diff(t: float) -> None:
        nonlocal before
        changes.extend({"time": round(t, 6), "name": "scene", "value": s} for s in scenes)
        scenes.clear()
        after = store.targets()
        for name, v in after.items():
            if name not in before or before[name] != v:
                changes.append({"time": round(t, 6), "name": name, "value": v})
        for name in sorted(store.snapshot().triggers):
            changes.append({"time": round(t, 6), "name": name, "value": True})
        before = after

    player = MidiFilePlayer(path, handler, fast=fast, after=lambda t, msg: diff(t))
    player.play(0.0 if fast else None)
    diff(player.events[-1][0])  # what letting go of held notes at the end changed
    return changes


# -- live: `liveart run --midi ... --midi-file ...` ----------------------------------------------
class MidiSession:
    """What start_midi started. `.clock` (tempo), `.handler`, `.learn` (MidiLearn for the
    window: `session.learn.arm("dream.mix")`, then `session.learn.assigned`)."""

    def __init__(self, handler: MidiHandler, clock: MidiClock, learn: MidiLearn):
        self.handler, self.clock, self.learn = handler, clock, learn
        self.watch: midiports.PortWatch | None = None
        self.player: MidiFilePlayer | None = None

    def stop(self) -> None:
        for part in (self.player, self.watch):
            if part is not None:
                try:
                    part.stop()
                except Exception:  # pragma: no cover
                    log.exception("stopping MIDI")
        self.handler.release_all()


def add_run_options(p: argparse.ArgumentParser) -> None:
    """The MIDI flags of `liveart run`."""
    p.add_argument("--midi", default="auto", metavar="NAME|auto|none",
                   help="MIDI input: a port name prefix, auto (default: the first known "
                        "controller, else the first input, opened when it is plugged in) or none")
    p.add_argument("--midi-map", metavar="MAP",
                   help="controller map: a name from 'liveart midi list' or a .toml file "
                        "(default: the map whose match fits the port)")
    p.add_argument("--midi-file", metavar="FILE.mid",
                   help="play a MIDI file's messages into the show, as if from the controller")
    p.add_argument("--midi-file-loop", action="store_true", help="loop --midi-file (installations)")


def _all_maps(quiet: bool = True) -> list[MidiMap]:
    maps = []
    for name, path in list_maps().items():
        try:
            maps.append(load_map(path))
        except UserError as e:
            if not quiet:
                log.warning("%s", e)
    return maps


def start_midi(store, actions, args, clock: MidiClock | None = None, **port_functions) -> MidiSession:
    """Start MIDI for a live show from args.midi / midi_map / midi_file / midi_file_loop.

    UserError (before anything starts) for a bad map or MIDI file; a missing controller or
    MIDI backend is only logged. `port_functions` (list_inputs=, open_input=, list_outputs=,
    open_output=) replace the real backend in tests."""
    spec = (getattr(args, "midi", None) or "none").strip()
    map_spec = getattr(args, "midi_map", None)
    midi_file = getattr(args, "midi_file", None)
    loop = bool(getattr(args, "midi_file_loop", False))
    if loop and not midi_file:
        raise UserError("--midi-file-loop needs --midi-file FILE.mid.")
    if not spec:
        raise UserError("--midi takes a port name prefix, auto or none.")
    clock = clock or MidiClock()
    midimap = load_map(map_spec) if map_spec else None
    if midi_file and midimap is None and spec.lower() == "none":
        raise UserError("--midi-file needs --midi-map MAP: which controller's messages the file holds.")
    handler = MidiHandler(store, actions, midimap, clock=clock)
    learn = MidiLearn(handler)
    _learn_into(learn, midimap)
    session = MidiSession(handler, clock, learn)
    player = MidiFilePlayer(midi_file, handler, loop=loop) if midi_file else None
    if spec.lower() != "none":
        maps = [midimap] if midimap is not None else _all_maps()

        def on_open(name: str, matched: MidiMap | None) -> None:
            if midimap is None:
                if matched is not None:
                    handler.set_map(matched)
                    _learn_into(learn, matched)
                    log.info("MIDI map %s (%s) for %s", matched.name, matched.summary(), name)
                else:
                    log.warning("No MIDI map matches %s; give one with --midi-map (MIDI clock and "
                                "learn work meanwhile)", name)

        session.watch = midiports.PortWatch(
            "auto" if spec.lower() == "auto" else spec, handler, maps=maps, on_open=on_open,
            **port_functions).start()
    if player is not None:
        session.player = player.start()
        log.info("playing MIDI file %s%s", midi_file, " in a loop" if loop else "")
    return session


def _learn_into(learn: MidiLearn, midimap: MidiMap | None) -> None:
    """Where learning from the window saves: the map itself when it is yours; for a shipped map
    a copy of it in your config folder (which then wins over the shipped one); with no map
    file, learned.toml in your config folder."""
    from .midi import SHIPPED

    if midimap is None or midimap.path is None:
        learn.path, learn.copy_from = user_maps_dir() / "learned.toml", None
        return
    try:
        shipped = midimap.path.resolve().parent == SHIPPED.resolve()
    except OSError:  # pragma: no cover
        shipped = False
    if shipped:
        learn.path, learn.copy_from = user_maps_dir() / midimap.path.name, midimap.path
    else:
        learn.path, learn.copy_from = midimap.path, None


# -- `liveart midi ...` -------------------------------------------------------------------------
def add_midi_parser(subparsers) -> argparse.ArgumentParser:
    """Add `midi list|check|learn|replay` to the CLI's subparsers; returns the `midi` parser."""
    midi = subparsers.add_parser("midi", help="MIDI controllers: list ports and maps, check a map, "
                                 "learn a control, replay a MIDI file")
    sub = midi.add_subparsers(dest="midi_command", parser_class=type(midi))

    lst = sub.add_parser("list", help="MIDI inputs, outputs and the maps (which input each fits)")
    lst.add_argument("--json", action="store_true", help="print one JSON object")

    chk = sub.add_parser("check", help="load and validate a map")
    chk.add_argument("map", help="a map name or .toml file")

    learn = sub.add_parser("learn", help="assign controls to parameters by moving them")
    learn.add_argument("--map", required=True, metavar="FILE",
                       help="map file to add to (created if missing)")
    learn.add_argument("--param", action="append", default=[], metavar="NAME",
                       help="parameter or trigger to learn (repeatable; default: ask)")
    learn.add_argument("--value", help="the value a note/button sets (default: the parameter's default)")
    learn.add_argument("--port", default="auto", metavar="NAME|auto", help="MIDI input (default auto)")
    learn.add_argument("--mode", default="absolute", choices=("absolute",) + RELATIVE_MODES,
                       help="how a CC is read (default absolute; relative encoders: see the README)")
    learn.add_argument("--note-mode", default="held", choices=("held", "set", "toggle"),
                       help="what a note does with the value (default held)")
    learn.add_argument("--timeout", type=float, default=60.0,
                       help="seconds to wait for each control (default 60)")

    rep = sub.add_parser("replay", help="feed a MIDI file through a map; print the parameter changes")
    rep.add_argument("file", metavar="FILE.mid")
    rep.add_argument("--map", required=True, metavar="MAP", help="a map name or .toml file")
    rep.add_argument("--fast", action="store_true",
                     help="as fast as possible (times still from the file) instead of in real time")
    rep.add_argument("--json", action="store_true",
                     help='print a JSON list of {"time": s, "name": param, "value": v}')
    return midi


def cmd_midi(args) -> int:
    command = getattr(args, "midi_command", None)
    if command == "list":
        return _cmd_list(args)
    if command == "check":
        m = load_map(args.map)
        print(f"{m.path}: {m.name}: {m.summary()}; matches ports starting with "
              f"{', '.join(repr(s) for s in m.match) or '(nothing: give it with --midi-map)'}")
        return 0
    if command == "learn":
        return _cmd_learn(args)
    if command == "replay":
        return _cmd_replay(args)
    raise UserError("liveart midi needs a command: list, check, learn or replay.")


def _cmd_list(args) -> int:
    error = ""
    try:
        ins = midiports.list_inputs()
        outs = midiports.list_outputs()
    except Exception as e:
        ins, outs, error = [], [], midiports.backend_error_text(e)
    maps = []
    for name, path in list_maps().items():
        try:
            m = load_map(path)
            fits = [i for i in ins if m.matches(i)]
            maps.append({"name": name, "file": str(path), "title": m.name, "match": list(m.match),
                         "summary": m.summary(), "inputs": fits, "error": ""})
        except UserError as e:
            maps.append({"name": name, "file": str(path), "title": "", "match": [], "summary": "",
                         "inputs": [], "error": str(e)})
    if args.json:
        print(json.dumps({"inputs": ins, "outputs": outs, "maps": maps, "error": error}, indent=1))
        return 0
    if error:
        print(f"MIDI is unavailable: {error}.")
    print("inputs:")
    for n in ins or ["none found"]:
        print(f"  {n}")
    print("outputs:")
    for n in outs or ["none found"]:
        print(f"  {n}")
    print("maps:")
    for m in maps:
        if m["error"]:
            print(f"  {m['name']:22s} BROKEN: {m['error']}")
        else:
            fit = f"  <- {', '.join(m['inputs'])}" if m["inputs"] else ""
            print(f"  {m['name']:22s} {m['title']}: {m['summary']}{fit}")
    return 0


def _cmd_replay(args) -> int:
    midimap = load_map(args.map)
    changes = replay(args.file, midimap, fast=args.fast)
    if args.json:
        print(json.dumps(changes))
        return 0
    if not changes:
        print("(no parameter changes)")
    for c in changes:
        v = c["value"]
        text = f"{v:.6g}" if isinstance(v, float) else str(v)
        print(f"{c['time']:9.3f} s  {c['name']} = {text}")
    return 0


def _cmd_learn(args) -> int:
    from .. import params

    path = Path(args.map).expanduser()
    if path.suffix != ".toml":
        raise UserError(f"--map takes a .toml file to write, not {args.map}.")
    if path.exists():
        load_map(path)  # don't add to a map that doesn't load
    elif not path.parent.is_dir():
        raise UserError(f"Cannot write {path}: folder {path.parent} does not exist.")
    names = list(args.param)
    for n in names:
        params.get(n)
    if not args.timeout > 0:
        raise UserError(f"--timeout must be a positive number of seconds, not {args.timeout}.")
    try:
        inputs = midiports.list_inputs()
    except Exception as e:
        raise UserError(f"MIDI is unavailable ({midiports.backend_error_text(e)}), so there is "
                        "nothing to learn from.") from None
    name, _ = midiports.pick_input(inputs, args.port, _all_maps())
    if name is None:
        raise UserError(f"No MIDI input {'' if args.port == 'auto' else f'matching {args.port!r} '}"
                        f"found; inputs are: {', '.join(inputs) or 'none'}.")
    messages: queue.Queue = queue.Queue()
    try:
        port = midiports.open_input(name, callback=messages.put)
    except Exception as e:
        raise UserError(f"MIDI input {name} can't be opened ({midiports.backend_error_text(e)}).") from None
    learn = MidiLearn(None, path, mode=args.mode, note_mode=args.note_mode)
    print(f"Listening to {name}.")
    try:
        interactive = not names
        while True:
            if interactive:
                try:
                    text = input("Parameter to learn (empty to finish): ").strip()
                except EOFError:
                    break
                if not text:
                    break
                try:
                    params.get(text)
                except UserError as e:
                    print(e)
                    continue
                names = [text]
            elif not names:
                break
            param = names.pop(0)
            learn.arm(param, value=args.value)
            print(f"Move or press the control for {param} (Ctrl+C to stop)...", flush=True)
            while not messages.empty():
                messages.get_nowait()  # only what is moved from now on counts
            deadline = time.monotonic() + args.timeout
            while learn.assigned is None:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise UserError(f"No control moved for {param} within {args.timeout:g} s.")
                try:
                    msg = messages.get(timeout=min(left, 0.1))
                except queue.Empty:
                    continue
                learn.feed(msg)
            print(learn.message)
            if not interactive and not names:
                break
    except KeyboardInterrupt:
        print()
    finally:
        try:
            port.close()
        except Exception:
            pass
    return 0
