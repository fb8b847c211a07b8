"""`--output`: where the show goes besides (or instead of) the window.

Every output is fed from the engine's latest-output slot by its own `OutputWorker` thread: the
worker waits for a frame newer than the last one it sent and sends that. An output slower than
the engine never holds a tick; it just skips the frames that came while it was busy (`skipped`
counts them). The window is not a worker: the live window loop (`live.run_window`) reads the
same slot in the main thread.

Kinds: `window`, `record:PATH`, `virtualcam[:DEVICE]`, `ndi[:NAME]`, `spout[:NAME]`,
`syphon[:NAME]`. Each live kind lives in its own module with a lazily imported library and a
`check()` that says in one sentence why it can't run here (missing package, wrong platform, no
v4l2loopback device) and how to enable it.
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Callable, Protocol

import numpy as np

from ..errors import UserError

log = logging.getLogger(__name__)

KINDS = ("window", "record", "virtualcam", "ndi", "spout", "syphon")
SPEC_HELP = "window, record:PATH, virtualcam, ndi[:NAME], spout[:NAME] or syphon[:NAME]"
DEFAULT_NAME = "liveart"  # NDI / Spout / Syphon sender name when none is given
MAX_ERRORS = 5  # an output whose send fails this many times in a row is switched off


@dataclass(frozen=True)
class OutputSpec:
    kind: str
    arg: str = ""  # record: the path; virtualcam: the device; ndi/spout/syphon: the name

    def __str__(self) -> str:
        return f"{self.kind}:{self.arg}" if self.arg else self.kind


class Backend(Protocol):
    """What an output does with frames: `send` one uint8 HxWx3 RGB frame (never modified),
    `close` at the end. Called from the output's own worker thread only."""

    def send(self, image: np.ndarray) -> None: ...

    def close(self) -> None: ...


def parse_output(text: str) -> OutputSpec:
    """One --output spec; UserError (one sentence listing the kinds) for a bad one."""
    kind, sep, arg = text.strip().partition(":")
    kind = kind.strip().lower()
    bad = UserError(f"--output must be one of {SPEC_HELP}, not {text!r}.")
    if kind not in KINDS:
        raise bad
    if kind == "window" and sep:
        raise bad
    if kind == "record" and not arg.strip():
        raise UserError(f"--output record needs a file to write, e.g. record:show.mp4, not {text!r}.")
    if sep and not arg.strip():
        raise bad
    return OutputSpec(kind, arg.strip())


def parse_outputs(outputs: list[str] | None, record: str | None = None) -> list[OutputSpec]:
    """All outputs of a run: the --output specs (default: the window alone) and `--record PATH`
    (a synonym of `--output record:PATH`, added to whatever else is chosen). Duplicates are
    dropped, order kept."""
    specs = [parse_output(t) for t in outputs] if outputs else [OutputSpec("window")]
    if record:
        specs.append(OutputSpec("record", record))
    seen: list[OutputSpec] = []
    for spec in specs:
        if spec not in seen:
            seen.append(spec)
    return seen


def wants_window(specs: list[OutputSpec], headless: bool = False) -> bool:
    """The window opens when `window` is among the outputs (it is when no --output is given)
    and the run is not --headless."""
    return not headless and any(s.kind == "window" for s in specs)


def plan_outputs(args, check_path: Callable[[str], None] | None = None) -> list[OutputSpec]:
    """`liveart run`'s outputs from `--output` and `--record`, checked before anything starts
    (a bad spec, a missing package or device: one UserError).

    `--record PATH` and the first `record:PATH` are the same thing: the show's recording,
    which `outputs/recording.py` runs (key C, OSC record/*, the music in the file). So the
    first record path is put in `args.record` and left out of the list; any further
    `record:PATH` is an output worker of its own. `check_path` vets every record path.
    """
    specs = parse_outputs(getattr(args, "output", None), getattr(args, "record", None))
    for spec in specs:
        if spec.kind == "record" and check_path is not None:
            check_path(spec.arg)
        check_output(spec)
    records = [s.arg for s in specs if s.kind == "record"]
    if records and not getattr(args, "record", None):
        args.record = records[0]
    show_recording = getattr(args, "record", None)
    return [s for s in specs if not (s.kind == "record" and s.arg == show_recording)]


# -- the live kinds ---------------------------------------------------------------------------
def _module(kind: str):
    from importlib import import_module

    return import_module(f".{kind}", __package__)


def check_output(spec: OutputSpec) -> None:
    """UserError (one sentence with the command that enables it) when `spec` can't run here."""
    if spec.kind in ("virtualcam", "ndi", "spout", "syphon"):
        _module(spec.kind).check()


def make_backend(spec: OutputSpec, fps: float, factory: Callable | None = None) -> Backend:
    """The backend for a live kind (record and window are handled by start_outputs / live)."""
    if spec.kind == "virtualcam":
        from .virtualcam import VirtualCamOutput

        return VirtualCamOutput(fps=fps, device=spec.arg or None, module=factory)
    if spec.kind == "ndi":
        from .ndi import NdiOutput

        return NdiOutput(spec.arg or DEFAULT_NAME, fps=fps, module=factory)
    if spec.kind == "spout":
        from .spout import SpoutOutput

        return SpoutOutput(spec.arg or DEFAULT_NAME, module=factory)
    if spec.kind == "syphon":
        from .syphon import SyphonOutput

        return SyphonOutput(spec.arg or DEFAULT_NAME, module=factory)
    raise ValueError(f"no backend for {spec}")


def availability() -> list[dict]:
    """For `liveart devices`: every output kind, whether this machine can use it, why not, and
    the command that would enable it."""
    rows = [{"name": "window", "usable": True, "reason": "pygame window (default)", "enable": ""},
            {"name": "record:PATH", "usable": True, "reason": "video file", "enable": ""}]
    for kind, label in (("virtualcam", "virtualcam"), ("ndi", "ndi[:NAME]"),
                        ("spout", "spout[:NAME]"), ("syphon", "syphon[:NAME]")):
        try:
            usable, reason, enable = _module(kind).availability()
        except Exception as e:  # a probe must never break `liveart devices`
            usable, reason, enable = False, f"probe failed: {e}", ""
        rows.append({"name": label, "usable": usable, "reason": reason, "enable": enable})
    return rows


def missing_package(what: str, package: str, extra: str) -> str:
    """The one sentence for a live output (or source) whose library is not installed; `what`
    is how the user asked for it, e.g. `--output ndi`."""
    return (f"{what} needs the {package} package, which is not installed: "
            f"pip install 'liveart[{extra}]'.")


# -- workers ----------------------------------------------------------------------------------
class OutputWorker:
    """Sends the newest engine output to one backend from its own thread.

    It waits on the slot for an item newer than the last it handled; items that arrived while
    it was sending are never sent (`skipped`). A send that raises is logged; after MAX_ERRORS
    in a row the output is switched off with one warning and the show goes on.
    """

    def __init__(self, name: str, backend: Backend, slot, poll_s: float = 0.1):
        self.name = name
        self.backend = backend
        self.slot = slot
        self.poll_s = poll_s
        self.sent = 0
        self.skipped = 0
        self.errors = 0
        self.failed: str | None = None  # why the output was switched off
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"output-{name}", daemon=True)

    def start(self) -> "OutputWorker":
        self._thread.start()
        return self

    def _run(self) -> None:
        _, seq, _ = self.slot.get()  # start from what is new after this moment
        in_a_row = 0
        while not self._stop.is_set():
            out, new_seq, _ = self.slot.wait_newer(seq, timeout=self.poll_s)
            if out is None or new_seq == seq or self._stop.is_set():
                continue
            if seq:
                self.skipped += new_seq - seq - 1
            seq = new_seq
            try:
                self.backend.send(out.image)
            except Exception as e:  # noqa: BLE001 - an output must never end the show
                self.errors += 1
                in_a_row += 1
                log.warning("Output %s failed to send a frame: %s", self.name, _sentence(e))
                if in_a_row >= MAX_ERRORS or isinstance(e, UserError):
                    self.failed = _sentence(e)
                    log.warning("Output %s is switched off; the show goes on.", self.name)
                    return
                time.sleep(0.1)
                continue
            in_a_row = 0
            self.sent += 1

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5.0)
        try:
            self.backend.close()
        except Exception as e:  # noqa: BLE001
            log.warning("Output %s did not close cleanly: %s", self.name, _sentence(e))

    def summary(self) -> str:
        text = f"{self.name}: sent {self.sent}, skipped {self.skipped}"
        return text + (f" (switched off: {self.failed})" if self.failed else "")


class RecorderBackend:
    """record:PATH as a live output: the Recorder with a non-blocking queue (a slow disk drops
    frames, it never holds the worker)."""

    def __init__(self, path: str, fps: float, recorder_factory: Callable | None = None,
                 audio=None):
        from .recorder import Recorder

        self.path = path
        if recorder_factory is not None:  # a test's stand-in
            self.recorder = recorder_factory(path, fps, blocking=False)
        else:
            self.recorder = Recorder(path, fps, blocking=False, audio=audio)

    def send(self, image: np.ndarray) -> None:
        self.recorder.write(image)

    def close(self) -> None:
        self.recorder.close()


class RecordSink:
    """record:PATH in a --headless run: every frame is written (the Recorder blocks when its
    queue is full), so the file holds exactly the frames produced. Fed from the engine's sinks
    (the render thread), as `liveart run --headless --record` always was."""

    def __init__(self, engine, path: str, fps: float, audio=None):
        from .recorder import Recorder

        self.name = f"record:{path}"
        self.path = path
        self.recorder = Recorder(path, fps, blocking=True, audio=audio)
        self._sink = lambda out: self.recorder.write(out.image)
        self._engine = engine
        engine.sinks.append(self._sink)

    def stop(self) -> None:
        if self._sink in self._engine.sinks:
            self._engine.sinks.remove(self._sink)
        self.recorder.close()

    def summary(self) -> str:
        return f"recorded {self.recorder.written} to {self.path}"


def start_outputs(engine, specs: list[OutputSpec] | list[str], args=None,
                  factories: dict[str, Callable] | None = None, voice=None) -> list:
    """Start a worker (or, headless, a recording sink) for every output except the window.

    Every spec is checked first, so a missing package or device is one UserError before
    anything starts. `args` gives `fps` (frame rate for recordings and senders, default 30) and
    `headless`. `factories` maps a kind to the library module (or a fake with its interface).
    `voice` (the music voice): its sound goes into every record:PATH file, as into the show's
    own recording. Returns the started outputs: each has `stop()` and `summary()`.
    """
    specs = [s if isinstance(s, OutputSpec) else parse_output(s) for s in specs]
    fps = float(getattr(args, "fps", 30.0) or 30.0)
    headless = bool(getattr(args, "headless", False))
    factories = factories or {}
    for spec in specs:
        if spec.kind not in factories:  # a fake library stands in: nothing to check
            check_output(spec)
    started: list = []
    try:
        for spec in specs:
            if spec.kind == "window":
                continue
            if spec.kind == "record":
                audio = _voice_audio(voice, headless)
                if headless:
                    started.append(RecordSink(engine, spec.arg, fps, audio))
                    continue
                backend: Backend = RecorderBackend(spec.arg, fps, factories.get("record"), audio)
                worker = OutputWorker(str(spec), backend, engine.out_slot)
            else:
                backend = make_backend(spec, fps, factories.get(spec.kind))
                worker = OutputWorker(str(spec), backend, engine.out_slot)
            started.append(worker.start())
    except Exception:
        stop_outputs(started)
        raise
    for output in started:
        log.info("output %s started", output.name)
    return started


def _voice_audio(voice, headless: bool):
    """The music's sound for one more recording (each reads the synth's tap on its own)."""
    if voice is None or getattr(voice, "synth", None) is None:
        return None
    from .recording import VoiceAudio

    return VoiceAudio(voice, blocking=headless)


def stop_outputs(outputs: list) -> None:
    for output in outputs:
        output.stop()


def _sentence(e: BaseException) -> str:
    text = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    return text
