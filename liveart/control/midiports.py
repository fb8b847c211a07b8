"""MIDI ports: open by name prefix, and a watchdog that reopens a controller that comes back.

ALSA numbers in port names ("nanoKONTROL2:nanoKONTROL2 MIDI 1 24:0") change between boots and
replugs, so ports are found by name prefix (case-insensitive; an exact name wins). No backend
reports unplugging, so `PortWatch` polls the port list about once a second: when the open
port's name disappears it is closed (held notes are released), and when a matching port
appears it is opened again. Messages arrive through the port's callback (rtmidi's own thread,
timestamps good enough for MIDI clock) or, for a port without callbacks, by polling
`iter_pending()`. Nothing raises out of the watch: with no backend at all (no ALSA sequencer)
it logs one sentence and ends; the show goes on.

The port functions are injectable, so tests use fake ports with mido's interface.
"""
from __future__ import annotations

import logging
import threading
import time
from typing import Any, Callable, Iterable, Sequence

log = logging.getLogger(__name__)


# -- the real backend (mido + rtmidi) -------------------------------------------------------------
def list_inputs() -> list[str]:
    import mido

    return list(mido.get_input_names())


def list_outputs() -> list[str]:
    import mido

    return list(mido.get_output_names())


def open_input(name: str, callback: Callable[[Any], None] | None = None):
    import mido

    return mido.open_input(name, callback=callback)


def open_output(name: str):
    import mido

    return mido.open_output(name)


def find_port(names: Sequence[str], prefix: str) -> str | None:
    """The port called `prefix`, else the first whose name starts with it (case-insensitive)."""
    if prefix in names:
        return prefix
    low = prefix.lower()
    for n in names:
        if n.lower().startswith(low):
            return n
    return None


def pick_input(names: Sequence[str], spec: str, maps: Iterable = ()) -> tuple[str | None, Any]:
    """(input name, the map whose `match` it fits or None) for `--midi NAME|auto`.

    auto: the first input a map's `match` prefixes fit, else the first input."""
    maps = list(maps)
    if spec == "auto":
        for n in names:
            for m in maps:
                if m.matches(n):
                    return n, m
        return (names[0] if names else None), None
    name = find_port(names, spec)
    if name is None:
        return None, None
    return name, next((m for m in maps if m.matches(name)), None)


def backend_error_text(e: BaseException) -> str:
    text = str(e).strip().rstrip(".") or type(e).__name__
    return text.splitlines()[0]


class PortWatch:
    """Keeps one controller's input (and its output, for feedback) open while the show runs.

        watch = PortWatch("auto", handler, maps=[...], on_open=...)
        watch.start() ... watch.stop()

    `poll()` does one round of port checking (the thread calls it every `interval` seconds);
    tests call it directly with fake `list_inputs`/`open_input`.
    """

    def __init__(self, spec: str, handler, *, maps: Iterable = (), output: str | None = None,
                 list_inputs: Callable[[], list[str]] = list_inputs,
                 open_input: Callable[..., Any] = open_input,
                 list_outputs: Callable[[], list[str]] | None = list_outputs,
                 open_output: Callable[[str], Any] | None = open_output,
                 on_open: Callable[[str, Any], None] | None = None,
                 interval: float = 1.0, use_callback: bool = True, tick: float | None = None):
        self.spec = spec
        self.handler = handler
        self.maps = list(maps)
        self.output_prefix = output
        self._list_inputs, self._open_input = list_inputs, open_input
        self._list_outputs, self._open_output = list_outputs, open_output
        self.on_open = on_open
        self.interval = interval
        self.use_callback = use_callback
        self.tick = tick if tick is not None else (0.02 if use_callback else 0.002)
        self.port = None
        self.out = None
        self.port_name: str | None = None
        self.output_name: str | None = None
        self.available = True     # False once the backend itself failed
        self.error = ""
        self.opens = 0            # how many times an input was opened (1 + reopenings)
        self._waiting_logged = False
        self._open_failed_logged: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    # -- thread -----------------------------------------------------------------------------
    def start(self) -> "PortWatch":
        self._thread = threading.Thread(target=self._run, name="midi-ports", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=3)
        self._close_input()
        self._close_output()

    def _run(self) -> None:
        next_poll = 0.0
        while not self._stop.is_set():
            now = time.monotonic()
            try:
                if now >= next_poll:
                    next_poll = now + self.interval
                    self.poll()
                    if not self.available:
                        return
                if not self.use_callback:
                    self.drain()
                self.send_feedback(now)
            except Exception:  # the watch must outlive anything
                log.exception("MIDI port watch")
            self._stop.wait(self.tick)

    # -- one round ----------------------------------------------------------------------------
    def poll(self) -> None:
        """Check the port list once: close a port that vanished, open one that (re)appeared."""
        try:
            names = list(self._list_inputs())
        except Exception as e:  # no backend (e.g. no ALSA sequencer): say it once and go on
            self.available = False
            self.error = backend_error_text(e)
            log.warning("MIDI is unavailable (%s); the show goes on without a MIDI controller.",
                        self.error)
            return
        with self._lock:
            if self.port is not None:
                closed = bool(getattr(self.port, "closed", False))
                if closed or self.port_name not in names:
                    log.warning("MIDI input %s is gone; waiting for it to come back", self.port_name)
                    self._close_input()
                    self._close_output()
                    self.handler.release_all()
            if self.port is None:
                self._try_open(names)
            elif self.out is None:
                self._try_open_output()

    def _try_open(self, names: list[str]) -> None:
        name, m = pick_input(names, self.spec, self.maps)
        if name is None:
            if not self._waiting_logged:
                log.info("No MIDI input %s yet; waiting for it (inputs: %s)",
                         "at all" if self.spec == "auto" else f"matching {self.spec!r}",
                         ", ".join(names) or "none")
                self._waiting_logged = True
            return
        try:
            if self.use_callback:
                port = self._open_input(name, callback=self._on_message)
            else:
                port = self._open_input(name)
        except Exception as e:
            text = backend_error_text(e)
            if self._open_failed_logged != text:
                log.warning("MIDI input %s can't be opened (%s); trying again", name, text)
                self._open_failed_logged = text
            return
        self.port, self.port_name = port, name
        self.opens += 1
        self._waiting_logged = False
        self._open_failed_logged = None
        log.info("MIDI input %s opened", name)
        if self.on_open is not None:
            try:
                self.on_open(name, m)
            except Exception:
                log.exception("MIDI: setting up %s", name)
        self._try_open_output()

    def _output_candidates(self) -> list[str]:
        cands = []
        mp = getattr(self.handler, "map", None)
        if self.output_prefix:
            cands.append(self.output_prefix)
        if mp is not None and getattr(mp, "output", None):
            cands.append(mp.output)
        if self.port_name:
            cands.append(self.port_name)
            if mp is not None and mp.matches(self.port_name):
                cands.append(mp.matches(self.port_name))
        if self.spec != "auto":
            cands.append(self.spec)
        return cands

    def _try_open_output(self) -> None:
        mp = getattr(self.handler, "map", None)
        if self._list_outputs is None or self._open_output is None or mp is None or not mp.feedback \
                or not any(b.feedback for b in mp.bindings):
            return
        try:
            outs = list(self._list_outputs())
        except Exception:
            return
        for cand in self._output_candidates():
            name = find_port(outs, cand)
            if name is not None:
                try:
                    self.out = self._open_output(name)
                except Exception as e:
                    log.debug("MIDI output %s can't be opened: %s", name, e)
                    return
                self.output_name = name
                self.handler.reset_feedback()
                log.info("MIDI feedback to %s", name)
                return

    # -- messages and feedback -----------------------------------------------------------------
    def _on_message(self, msg) -> None:
        try:
            self.handler.handle(msg, time.monotonic())
        except Exception:  # handle() doesn't raise; belt and braces for the backend's thread
            log.exception("MIDI callback")

    def drain(self) -> int:
        """Poll mode: hand every pending message to the handler."""
        port = self.port
        if port is None:
            return 0
        n = 0
        try:
            for msg in port.iter_pending():
                self.handler.handle(msg, time.monotonic())
                n += 1
        except Exception as e:  # the device went away under us; poll() will notice
            log.debug("MIDI input %s: %s", self.port_name, e)
        return n

    def send_feedback(self, now: float | None = None) -> int:
        out = self.out
        if out is None:
            return 0
        try:
            return self.handler.feedback(out.send, now)
        except Exception as e:
            log.warning("MIDI output %s failed (%s); feedback stops until it is back",
                        self.output_name, backend_error_text(e))
            with self._lock:
                self._close_output()
            return 0

    def _close_input(self) -> None:
        port, self.port = self.port, None
        if port is not None:
            try:
                port.close()
            except Exception:
                pass

    def _close_output(self) -> None:
        out, self.out = self.out, None
        self.output_name = None
        if out is not None:
            try:
                out.close()
            except Exception:
                pass
