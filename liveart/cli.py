"""Command line: run, render, bench, devices, models, params, presets."""
from __future__ import annotations

import argparse
import json
import logging
import sys
from typing import Any, Sequence

from . import __version__
from .errors import UserError

log = logging.getLogger("liveart")


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error in one sentence with exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        # main() says "liveart: " before every error; a subcommand names itself after it
        where = self.prog.removeprefix("liveart").strip()
        raise UserError(f"{where}: {message}." if where else f"{message}.")


def _add_engine_options(p: argparse.ArgumentParser, render: bool = False) -> None:
    p.add_argument("--scene", default="dream",
                   help="scene to run, or a chain such as dream+style (default: " + (
                       "the --from file's scene, else dream)" if render else "dream)"))
    p.add_argument("--preset", help="preset name (see 'liveart presets') or path to a .toml file")
    p.add_argument("--set", dest="sets", action="append", default=[], metavar="NAME=VALUE",
                   help="set a parameter, e.g. --set dream.octaves=3 (repeatable)")
    p.add_argument("--device", default="auto", help="auto (default), cpu, cuda or mps")
    p.add_argument("--size", help="internal processing size WxH" + (
        " (default: the input's own size)" if render else " (default: 256x144 on CPU, 640x360 on CUDA)"))
    p.add_argument("--seed", type=int, default=0, help="seed for jitter and the synthetic scene")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="liveart", description="Live neural visuals: Deep Dream on a camera.")
    parser.add_argument("--version", action="version", version=f"liveart {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log more")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)

    run = sub.add_parser("run", help="dream live on a camera, video, image or synthetic scene")
    run.add_argument("--source", default="camera",
                     help="camera (default), camera:N, camera:/dev/videoN, video:PATH, image:PATH, synthetic")
    _add_engine_options(run)
    run.add_argument("--window", help="output size WxH (default: the source's size)")
    run.add_argument("--fullscreen", action="store_true", help="start full screen")
    run.add_argument("--display", type=int, default=0, help="display number for the window")
    run.add_argument("--headless", action="store_true", help="no window")
    run.add_argument("--frames", type=int, help="stop after N output frames")
    run.add_argument("--seconds", type=float, help="stop after S seconds")
    run.add_argument("--record", metavar="OUT.mp4", help="record the output to a video file")
    run.add_argument("--output", action="append", metavar="KIND[:ARG]",
                     help="where the output goes (repeatable): window (default), record:PATH, "
                     "virtualcam, ndi[:NAME], spout[:NAME], syphon[:NAME]; no window unless "
                     "'window' is listed ('liveart devices' shows what this machine can use)")
    run.add_argument("--fps", type=float, default=30.0, help="frame rate written in the recording (default 30)")
    run.add_argument("--osc-host", default="127.0.0.1",
                     help="address the OSC and OSCQuery servers listen on (default 127.0.0.1)")
    run.add_argument("--osc-port", type=int, default=9000, help="OSC UDP port (default 9000)")
    run.add_argument("--osc-out", action="append", default=[], metavar="HOST:PORT",
                     help="echo every parameter change and stats there (repeatable)")
    run.add_argument("--osc-allow", action="append", default=[], metavar="CIDR",
                     help="accept OSC only from these addresses/networks (repeatable)")
    run.add_argument("--oscquery-port", type=int, default=9001,
                     help="OSCQuery HTTP/websocket port (default 9001)")
    run.add_argument("--no-osc", action="store_true", help="no OSC or OSCQuery servers")
    from .control.midicli import add_midi_parser, add_run_options

    add_run_options(run)
    run.add_argument("--music-midi-out", metavar="NAME|virtual",
                     help="also play the music voice's notes to this MIDI output (a port name "
                     "prefix, or 'virtual' for a new port a DAW can open)")
    run.add_argument("--no-audio", action="store_true",
                     help="no built-in synth (music still goes to --music-midi-out / --osc-out)")
    run.add_argument("--audio-in", metavar="DEVICE|file:PATH",
                     help="listen to the music: an input device (number or name from 'liveart "
                     "devices', or 'default'), or file:song.wav (.mp3, .flac, ...) played as if "
                     "it were the room, looping; gives audio.* to modulators and OSC")
    run.add_argument("--link", action="store_true",
                     help="join the Ableton Link session on this network (needs liveart[link]): "
                     "follow its tempo and phase; setting tempo.bpm changes the session's tempo")
    run.add_argument("--fresh", action="store_true",
                     help="start from the defaults, not from the state the last run ended in")
    from .installation import add_run_options as add_install_options

    add_install_options(run)

    render = sub.add_parser("render", help="dream a video or an image offline at full quality")
    render.add_argument("input", help="input video or image")
    render.add_argument("output", help="output file of the same kind")
    _add_engine_options(render, render=True)
    render.add_argument("--music", metavar="WAV", help="also write the music the frames would "
                        "have played to WAV (and add it to a video output)")
    render.add_argument("--audio", metavar="SONG", help="drive the render with a song (.wav, "
                        ".mp3, .flac, ...): each frame hears the song up to its time (audio.* "
                        "and its beat for modulators) and the song becomes the video's sound; "
                        "with an image input, the output is a video as long as the song")
    render.add_argument("--fps", type=float, default=25.0,
                        help="with --audio and an image input: the video's frame rate (default 25)")
    render.add_argument("--from", dest="from_png", metavar="SNAPSHOT.png",
                        help="start from the parameters and scene a liveart PNG carries (a "
                        "snapshot or a render); --scene, --preset and --set go on top")
    render.set_defaults(scene=None)  # None: the --from file's scene, else dream

    bench = sub.add_parser("bench", help="measure fps and per-stage timings on the synthetic scene")
    _add_engine_options(bench)
    bench.add_argument("--seconds", type=float, default=10.0, help="how long to measure (default 10)")
    bench.add_argument("--warmup", type=float, default=2.0, help="seconds before measuring (default 2)")
    bench.add_argument("--json", action="store_true", help="print one JSON object")
    bench.add_argument("--compare", choices=["reference", "autograd", "smooth"],
                       help="reference: also time the plain eager Deep Dream step on the same "
                       "network, in alternating rounds of the same run, and print the speed-up; "
                       "autograd: the dream with its gradient from the ONNX Runtime graph and "
                       "from torch's autograd, likewise; smooth: the style scene with and "
                       "without style.smooth, likewise")

    devices = sub.add_parser("devices", help="list cameras, MIDI ports, audio outputs, torch devices")
    devices.add_argument("--json", action="store_true")

    models = sub.add_parser("models", help="the model zoo: list, layers NAME, classes, install NAME")
    models.add_argument("what", nargs="?", default="list",
                        choices=["list", "layers", "classes", "install"])
    models.add_argument("name", nargs="?", default=None)
    models.add_argument("--json", action="store_true", help="with list: print JSON")

    prm = sub.add_parser("params", help="the parameter reference")
    fmt = prm.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="print a JSON list")
    fmt.add_argument("--markdown", action="store_true",
                     help="print the OSC reference as Markdown (docs/osc.md)")

    add_midi_parser(sub)
    from .styles import add_styles_parser

    add_styles_parser(sub)
    from .service import add_service_parser

    add_service_parser(sub)

    presets = sub.add_parser("presets", help="list the presets, or save one")
    presets.add_argument("what", nargs="?", default="list", choices=["list", "save"])
    presets.add_argument("name", nargs="?", help="with save: the preset's name")
    presets.add_argument("--preset", help="with save: start from this preset")
    presets.add_argument("--set", dest="sets", action="append", default=[], metavar="NAME=VALUE",
                         help="with save: set a parameter (repeatable)")
    return parser


# -- shared set-up ---------------------------------------------------------------------------
def _load_params(args) -> dict[str, Any]:
    """The last run's state (for `run`, unless --fresh), then the preset, then --set on top;
    every value validated (UserError on a bad one)."""
    from . import params
    from .presets import load_preset_with_mods

    values: dict[str, Any] = {}
    mods: list = []  # modulators (liveart.params.mods): _prepare puts them in the store
    restored: dict[str, Any] = {}
    if args.command == "run" and not args.fresh:
        from .laststate import load_last_state

        restored = load_last_state(mods)
        values.update(restored)
    values.update(getattr(args, "from_values", None) or {})  # render --from SNAPSHOT.png
    mods.extend(getattr(args, "from_mods", None) or [])
    preset_values: dict[str, Any] = {}
    if args.preset:
        preset_values, _, preset_mods = load_preset_with_mods(args.preset)
        values.update(preset_values)
        mods = preset_mods or mods
    args.loaded_mods = mods
    for text in args.sets:
        name, value = params.parse_assignment(text)
        values[name] = value
    # what only the last state asked for: advice, which _prepare may drop (see there)
    args.restored_names = [n for n, v in restored.items() if values.get(n) == v
                           and n not in preset_values
                           and not any(t.split("=", 1)[0].strip() == n for t in args.sets)]
    return values


def _prepare(args, for_render: bool = False):
    """Common to run/render/bench: (store, device, half, scene, internal size or None)."""
    from .device import default_size, parse_size, pick_device, use_half
    from .params import ParamStore
    from .scenes import SCENES, check_scene_spec, create_scene, scene_class

    for name in check_scene_spec(args.scene):  # scene files declare their parameters on import,
        if name not in SCENES:  # and --set or a preset may name them
            scene_class(name)
    values = _load_params(args)
    device = pick_device(args.device)
    size = parse_size(args.size) if args.size else (None if for_render else default_size(device))
    half = use_half(device)
    store = ParamStore(values)
    store.mods.replace(getattr(args, "loaded_mods", []))
    scene = create_scene(args.scene, device, half=half, seed=args.seed)
    _prepare_scene(scene, store, getattr(args, "restored_names", []))
    return store, device, half, scene, size


def _prepare_scene(scene, store, restored: list[str]) -> None:
    """Load what the scene needs for the parameters (its network, its pictures). A restored
    last state is advice, never a reason not to start: when what it asks for can't be had
    here (a network that isn't installed, a picture that is gone), those values go back to
    their defaults, one by one, each with one sentence in the log. What this command line
    asked for itself still stops the start (UserError)."""
    from . import params

    candidates = [n for n in restored if params.REGISTRY[n].type in ("enum", "str")
                  and store.get(n) != params.REGISTRY[n].default]
    while True:
        try:
            scene.prepare(store.snapshot())
            return
        except UserError as e:
            if not candidates:
                raise
            said = str(e).lower()  # the value the error names first (vgg19, a file's name)
            candidates.sort(key=lambda n: str(store.get(n)).lower() not in said)
            name = candidates.pop(0)
            default = params.REGISTRY[name].default
            log.warning("The saved state's %s = %s can't be used here (%s); starting with %s.",
                        name, store.get(name), str(e).rstrip("."), default)
            store.set(name, default, immediate=True)


# -- subcommands -----------------------------------------------------------------------------
def cmd_params(args) -> int:
    from . import params

    plist = sorted(params.REGISTRY.values(), key=lambda p: p.name)
    if args.json:
        print(json.dumps([p.to_json() for p in plist], indent=1))
        return 0
    if args.markdown:
        print(_params_markdown(plist))
        return 0
    rows = [("name", "type", "range", "default", "address", "description")]
    for p in plist:
        default = "" if p.default is None else str(p.default)
        rows.append((p.name, p.type, p.range_text, default, p.address, p.description))
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    for r in rows:
        print("  ".join(r[i].ljust(widths[i]) for i in range(5)) + "  " + r[5])
    return 0


def _params_markdown(plist) -> str:
    lines = ["# OSC reference", "",
             "Generated by `liveart params --markdown > docs/osc.md`. Every parameter listens at "
             "its address on the OSC port (default UDP 9000); a message with no argument is a "
             "query, answered to the sender. See [osc-protocol.md](osc-protocol.md) for the "
             "rules (types, clamping, feedback, actions).", "",
             "| address | type | range | default | unit | description |",
             "|---|---|---|---|---|---|"]
    from .control.osc import osc_type_of

    for p in plist:
        tag = osc_type_of(p, p.default) or "(none: trigger)"
        default = "" if p.default is None else f"`{p.default}`"
        rng = (p.range_text if p.type != "enum" else ", ".join(f"`{c}`" for c in p.choices))
        rng = rng.replace("|", "\\|")  # a bare | would end the table cell
        lines.append(f"| `{p.address}` | {tag} ({p.type}) | {rng} | {default} | {p.unit} | "
                     f"{p.description} |")
    from .params.actions import ACTIONS, READOUTS

    lines += ["", "## Actions", "", "| address | arguments | what it does |", "|---|---|---|"]
    lines += [f"| `{a.address}` | {a.arguments_text} | {a.description} |" for a in ACTIONS.values()]
    lines += ["", "## Sent to every --osc-out target", "", "| address | arguments |", "|---|---|",
              "| every parameter address | its new value, on every change |"]
    lines += [f"| `{r.address}` | {r.arguments} |" for r in READOUTS]
    return "\n".join(lines)


def cmd_presets(args) -> int:
    from .presets import list_presets, load_preset

    if args.what == "save":
        from .params import ParamStore
        from .presets import save_preset

        if not args.name:
            raise UserError("liveart presets save takes a name, e.g. liveart presets save my-look.")
        args.command, args.fresh = "run", False  # start from the last show's state, as run does
        path = save_preset(args.name, ParamStore(_load_params(args)).targets(),
                           mods=[m.as_dict() for m in args.loaded_mods])
        print(f"saved {path}")
        return 0
    for name, path in list_presets().items():
        try:
            desc = load_preset(str(path))[1]
        except UserError as e:
            desc = f"(broken: {e})"
        print(f"{name:16s} {desc}")
    return 0


def cmd_models(args) -> int:
    from .models import BACKBONES, get_backbone, imagenet_labels
    from .models.zoo import MODELS

    if args.what == "list":
        entries = [m.to_json() for m in MODELS.values()]
        if args.json:
            print(json.dumps(entries, indent=1))
            return 0
        for e in entries:
            state = (f"installed, {e['size_bytes'] / 1e6:.1f} MB" if e["installed"]
                     else f"not installed: {e['how_to_get']}")
            print(f"{e['name']:20s} {e['kind']}\n{'':20s} {e['source']}; {e['licence']}; {state}")
    elif args.what == "layers":
        if args.name in MODELS and args.name not in BACKBONES:
            raise UserError(f"{args.name} is not a dream network, so it has no layers to choose; "
                            f"the dream networks are: {', '.join(BACKBONES)}.")
        b = get_backbone(args.name or "efficientnet_lite0")
        for layer in b.layers:
            print(layer + ("  (default)" if layer == b.default_layer else ""))
    elif args.what == "install":
        from .models.vgg16 import cmd_install

        if not args.name:
            raise UserError("liveart models install takes a model name: vgg16.")
        return cmd_install(args.name)
    else:
        for i, name in enumerate(imagenet_labels()):
            print(f"{i:4d} {name}")
    return 0


def cmd_devices(args) -> int:
    from .devices import list_devices

    found = list_devices()
    if args.json:
        print(json.dumps(found, indent=1))
        return 0
    for kind, items in found.items():
        print(f"{kind}:")
        for item in items or [{"name": "none found"}]:
            extra = f"  {item['description']}" if item.get("description") else ""
            print(f"  {item['name']}{extra}")
    return 0


def cmd_run(args) -> int:
    from .device import parse_size
    from .engine import Engine
    from .memory import MemoryTrimmer, limit_arenas
    from .sources import open_source

    limit_arenas()  # before the show's threads start: see memory.py
    if not args.no_audio:
        from .music.synth import load_portaudio

        load_portaudio()  # before the show's threads start, or log lines get lost: see there
    for flag, value in (("--frames", args.frames), ("--seconds", args.seconds)):
        if value is not None and value <= 0:
            raise UserError(f"{flag} must be a positive number, not {value}.")
    if not args.fps > 0:
        raise UserError(f"--fps must be a positive number, not {args.fps}.")
    window_size = parse_size(args.window, "--window") if args.window else None
    from .outputs.registry import plan_outputs, start_outputs, stop_outputs, wants_window

    outputs = plan_outputs(args, check_path=_check_record_path)  # --output, --record
    from .installation import Installation

    inst = Installation(args).open_log()  # --install, --schedule, --status-port, --log
    store, device, half, scene, size = _prepare(args)
    source = open_source(args.source, size=window_size or (1280, 720), seed=args.seed)
    from .scenes import create_scene

    engine = Engine(source, scene, store, device, size, output_size=window_size,
                    scene_factory=lambda spec: create_scene(spec, device, half=half, seed=args.seed))
    engine.scene_spec = args.scene
    from .control.actions import Actions
    from .control.midicli import start_midi
    from .control.midiclock import MidiClock
    from .laststate import LastStateSaver

    clock = MidiClock()
    rhythm = _start_rhythm(store, clock, args)  # tempo, --audio-in, --link: the modulators' sources
    actions = Actions(store, switch_scene=engine.request_scene,
                      beats_to_seconds=rhythm.beats_to_seconds)
    controls = [start_midi(store, actions, args, clock=clock), rhythm]
    controls.append(_start_snapshots(engine, store, actions, args.scene))  # /liveart/snapshot, P
    if not args.no_osc:
        try:
            controls += _start_osc(store, actions, engine, args, health=inst.report.osc_values,
                                   rhythm=rhythm)
        except UserError:
            for control in controls:
                control.stop()
            raise
    controls.append(LastStateSaver(store).start())
    from .userscenes import SceneWatcher

    controls.append(SceneWatcher(engine, lambda: engine.scene_spec).start())  # saved: reloaded
    controls.append(MemoryTrimmer().start())  # freed heap pages back to the system, every 30 s
    voice = _start_music(store, engine, clock, args, rhythm)
    controls.append(voice)
    _follow_music_in_oscquery(voice, controls)
    from .outputs.recording import start_recording_control

    recording = start_recording_control(engine, actions, voice, args)  # record/*, key C, --record
    controls.append(recording)
    try:  # log file, schedule, status page, systemd watchdog
        controls.append(inst.start(engine))
    except UserError:
        for control in controls:
            control.stop()
        raise
    live_outputs = start_outputs(engine, outputs, args, voice=voice)  # virtualcam, ndi, ...
    log.info("liveart %s: scene %s on %s%s at %dx%d, source %s", __version__, args.scene,
             device, " (fp16)" if half else "", size[0], size[1], args.source)
    source.start()
    try:
        if not wants_window(outputs, args.headless):
            engine.run_frames(args.frames, args.seconds)
        else:
            from .live import run_window

            engine.start()
            run_window(engine, args, window_size, actions, midi=controls[0])
    except KeyboardInterrupt:
        pass
    finally:
        for control in controls:
            control.stop()
        engine.stop()
        stop_outputs(live_outputs)
        source.stop()
    print(f"{engine.stats.frames} frames, {engine.stats.fps(live=False):.1f} fps"
          + recording.summary() + "".join(f", {o.summary()}" for o in live_outputs))
    return 0


def _start_snapshots(engine, store, actions, scene_spec):
    from .snapshot import start_snapshots

    return start_snapshots(engine, store, actions, scene_spec)


def _start_music(store, engine, clock, args, rhythm=None):
    """The music voice: silent until music.enabled; its synth opens the default sound device
    (no device: one sentence, the visuals go on). Its tempo: a MIDI clock's, else the show's
    when tempo.source follows something (tap, Link, the music), else music.tempo."""
    from .control.osc import parse_target
    from .music.outputs import MusicVoice

    return MusicVoice(store, summary_source=lambda: getattr(engine.scene, "summary", None),
                      bpm_source=lambda: clock.bpm or _show_bpm(store, rhythm),
                      synth=not args.no_audio,
                      midi_out=args.music_midi_out,
                      osc_targets=[parse_target(t) for t in args.osc_out],
                      seed=args.seed, gate=lambda: not engine.dark).start()


def _show_bpm(store, rhythm) -> float | None:
    if rhythm is None or store.get("tempo.source") == "internal":
        return None
    return rhythm.clock.tempo.bpm


def _follow_music_in_oscquery(voice, controls) -> None:
    """OSCQuery LISTEN on /liveart/music/note or /chord gets each note as it sounds."""
    from .control.oscquery import OscQueryServer
    from .music.outputs import music_readout

    for query in (c for c in controls if isinstance(c, OscQueryServer)):
        voice.event_listeners.append(
            lambda at, ev, readouts=query.readouts: readouts.event(at, *music_readout(ev)))


def _start_rhythm(store, clock, args):
    """The show's tempo clock, with the audio input (--audio-in) and Ableton Link (--link) when
    asked for. A sound card input that can't be opened is one sentence and the show goes on
    without audio; a file that can't be read is the user's mistake (UserError)."""
    from .rhythm.section import Rhythm

    audio_in = link = None
    if args.audio_in:
        from .rhythm.audio_in import open_audio_in

        try:
            audio_in = open_audio_in(args.audio_in).start()
        except UserError as e:
            if args.audio_in.startswith("file:"):
                raise
            log.warning("%s The show goes on without audio input.", e)
    if args.link:
        from .rhythm.link import LinkSession

        try:
            link = LinkSession(store.get("tempo.bpm"))
        except UserError as e:
            log.warning("%s The show keeps its own tempo.", e)
        else:
            if store.get("tempo.source") == "internal":
                store.set("tempo.source", "link")
    return Rhythm(store, midi=clock, link=link, audio_in=audio_in)


def _start_osc(store, actions, engine, args, health=None, rhythm=None) -> list:
    """OSC in/out and OSCQuery for a running show; returns what must be stopped at the end."""
    from .control.osc import engine_stats_source, start_osc
    from .control.oscquery import OscQueryServer

    for flag, port in (("--osc-port", args.osc_port), ("--oscquery-port", args.oscquery_port)):
        if not 0 <= port <= 65535:
            raise UserError(f"{flag} must be a port number from 0 to 65535, not {port}.")
    stats = engine_stats_source(engine, rhythm)
    osc = start_osc(store, actions, args, stats)
    if osc.out is not None and health is not None:
        osc.out.health_source = health  # /liveart/health/* once a second
    # the websocket takes OSC's path: --osc-allow, stats, actions; LISTEN follows the readouts
    query = OscQueryServer(store, osc_port=osc.server.port, host=args.osc_host,
                           port=args.oscquery_port, inbox=osc.server, stats_source=stats,
                           health_source=health)
    if rhythm is not None:  # /liveart/tempo/beat on each beat, to --osc-out and LISTEN
        for readouts in (osc.out, query.readouts):
            if readouts is not None:
                rhythm.beat_listeners.append(readouts.event)
    try:
        query.start()
    except UserError:
        osc.stop()
        raise
    log.info("OSC on udp://%s:%d, OSCQuery on http://%s:%d", args.osc_host, osc.server.port,
             args.osc_host, query.port)
    return [query, osc]


def _check_record_path(path: str) -> None:
    from pathlib import Path

    from .outputs.recorder import _FOURCC

    if Path(path).suffix.lower() not in _FOURCC:
        raise UserError(f"Cannot record to {path}: use one of {', '.join(_FOURCC)}.")
    if not Path(path).resolve().parent.is_dir():
        raise UserError(f"Cannot record to {path}: folder {Path(path).resolve().parent} does not exist.")


def cmd_render(args) -> int:
    from .render import check_paths, render_file

    kind = check_paths(args.input, args.output, still_to_video=bool(args.audio))
    if args.audio and args.music:
        raise UserError("--audio and --music both give the video its sound; choose one.")
    if not args.fps > 0:
        raise UserError(f"--fps must be a positive number, not {args.fps}.")
    state = None
    if args.from_png:  # the look of a snapshot, on other material
        from .snapshot import read_state, state_mods, state_values

        state = read_state(args.from_png)
        args.from_values = state_values(state, f"The liveart state in {args.from_png}")
        args.from_mods = state_mods(state, f"The liveart state in {args.from_png}")
    if args.scene is None:
        args.scene = state["scene"] if state else "dream"
    store, device, half, scene, size = _prepare(args, for_render=True)
    render_file(args.input, args.output, kind, scene, store, device, size, music=args.music,
                extra={"seed": args.seed}, audio=args.audio, fps=args.fps)
    return 0


def _compare_lines(kind: str, r: dict) -> list[str]:
    if kind == "reference":
        return [f"liveart dream  p50 ms per tick {r['scene_p50_ms']}  fps {r['fps']}  "
                f"(gradient: {r['gradient']})",
                f"reference step p50 ms per tick {r['reference_p50_ms']}",
                f"speed-up (median reference / median liveart): {r['speedup']:.2f}x"]
    if kind == "autograd":
        return [f"gradient from the ONNX Runtime graph  p50 ms per tick {r['graph_p50_ms']}",
                f"gradient from torch's autograd       p50 ms per tick {r['autograd_p50_ms']}",
                f"speed-up (median autograd / median graph): {r['speedup']:.2f}x"]
    return [f"style.smooth {r['smooth']:g}  p50 ms per tick {r['smoothed_p50_ms']}",
            f"style.smooth 0    p50 ms per tick {r['unsmoothed_p50_ms']}",
            f"cost of smoothing (median smoothed / median unsmoothed): {r['cost']:.2f}x"]


def cmd_bench(args) -> int:
    from .bench import run_bench

    if not args.seconds > 0:
        raise UserError(f"--seconds must be a positive number, not {args.seconds}.")
    store, device, half, scene, size = _prepare(args)
    if args.compare:  # two things in alternating rounds of one run (liveart/bench.py)
        from . import bench

        compare = getattr(bench, f"run_compare_{args.compare}")
        result = compare(scene, store, device, half, size, args.seconds, args.warmup, args.seed)
        if args.json:
            print(json.dumps(result))
            return 0
        print(f"scene {result['scene']} on {result['device']} at {result['size']}, "
              f"{result['rounds']} alternating rounds:")
        for line in _compare_lines(args.compare, result):
            print("  " + line)
        return 0
    result = run_bench(scene, store, device, half, size, args.seconds, args.warmup, args.seed)
    if args.json:
        print(json.dumps(result))
    else:
        print(f"scene {result['scene']} on {result['device']} at {result['size']}: "
              f"{result['fps']:.1f} fps over {result['frames']} frames "
              f"({result['fps_vs_scene_p50']:.2f} x 1000 / scene p50)")
        for stage, v in result["stages"].items():
            print(f"  {stage:10s} p50 {v['p50_ms']:7.2f} ms   p95 {v['p95_ms']:7.2f} ms   mean {v['mean_ms']:7.2f} ms")
    return 0


def cmd_midi(args) -> int:
    from .control.midicli import cmd_midi as run_midi

    return run_midi(args)


def cmd_service(args) -> int:
    from .service import cmd_service as run_service

    return run_service(args)


def cmd_styles(args) -> int:
    from .styles import cmd_styles as run_styles

    return run_styles(args)


COMMANDS = {"service": cmd_service, "styles": cmd_styles, "midi": cmd_midi, "run": cmd_run, "render": cmd_render, "bench": cmd_bench, "devices": cmd_devices,
            "models": cmd_models, "params": cmd_params, "presets": cmd_presets}


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                            format="%(levelname)s %(name)s: %(message)s")
        if not args.command:
            parser.print_help()
            return 2
        return COMMANDS[args.command](args)
    except UserError as e:
        print(f"liveart: {e}", file=sys.stderr)
        if logging.getLogger().handlers and any(  # a log file (--log, --install): say it there too
                isinstance(h, logging.FileHandler) for h in logging.getLogger().handlers):
            log.error("%s", e)
        return e.exit_code
    except BrokenPipeError:  # `liveart params | head`: the reader left, nothing is wrong
        sys.stderr.close()
        return 0
