"""How the show is doing, for whoever looks after an installation: fps, memory, temperatures and
the last error, as JSON and a one-page summary on a tiny loopback HTTP server, and as
/liveart/health/* OSC messages to every --osc-out target (see control/osc.py, OscOut).

    curl http://127.0.0.1:9010/health.json

`HealthReport.snapshot()` gathers everything from what the process already has (the engine's
stats, /proc, /sys/class/thermal, torch.cuda); nothing here touches the render thread.

The page answers only requests whose Host is one of this machine's names (control.wire.
LocalNames: a web page reached by DNS rebinding gets 403), serves STATUS_MAX_CONNECTIONS
connections at once (more are closed as they are accepted), and gives each STATUS_TIMEOUT s
for a socket read or write and STATUS_DEADLINE s in all. What it turns away is counted in
`StatusServer.refusals` and logged at most once every 5 s per kind.
"""
from __future__ import annotations

import collections
import errno
import glob
import html
import json
import logging
import os
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable

from . import __version__
from .errors import UserError

log = logging.getLogger(__name__)

# Next to OSC (9000) and OSCQuery (9001); 9002 is where the shipped remotes listen for
# --osc-out, and the 909x/910x ports are taken by common monitoring tools (Prometheus 9090,
# node_exporter 9100), so 9010 is free by convention on a show machine.
DEFAULT_STATUS_PORT = 9010
DEFAULT_STATUS_HOST = "127.0.0.1"
# A page for a person or a monitoring probe: a few at once. One thread serves each connection.
STATUS_MAX_CONNECTIONS = 32
STATUS_TIMEOUT = 5.0    # s for one read or write on a connection
STATUS_DEADLINE = 10.0  # s for a whole connection (a slow client sending a byte at a time)
_OUT_OF_RESOURCES = (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM)


class LastErrorHandler(logging.Handler):
    """Remembers the newest ERROR (or worse) log record: its one-line message and when."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.message = ""
        self.when: float | None = None  # time.time()
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        try:
            msg = record.getMessage()
        except Exception:  # noqa: BLE001 - a bad format string must not break logging
            msg = str(record.msg)
        if record.exc_info and record.exc_info[1] is not None:
            msg += f" ({type(record.exc_info[1]).__name__}: {record.exc_info[1]})"
        self.message = msg.splitlines()[0] if msg else ""
        self.when = record.created
        self.count += 1


def rss_mb() -> float | None:
    """Resident memory of this process in MB (now, from /proc; else the peak, from getrusage)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    try:
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak / (1024.0 * 1024.0) if sys.platform == "darwin" else peak / 1024.0
    except (ImportError, OSError):
        return None


def temperatures_c(thermal_root: str = "/sys/class/thermal") -> dict[str, float]:
    """CPU/board temperatures in degrees C by sensor name (Linux thermal zones, else psutil)."""
    temps: dict[str, float] = {}
    for zone in sorted(glob.glob(os.path.join(thermal_root, "thermal_zone*"))):
        try:
            with open(os.path.join(zone, "temp")) as f:
                milli = int(f.read().strip())
            try:
                with open(os.path.join(zone, "type")) as f:
                    name = f.read().strip() or os.path.basename(zone)
            except OSError:
                name = os.path.basename(zone)
        except (OSError, ValueError):
            continue  # some zones can't be read (permissions, a sleeping device)
        if name in temps:
            name = f"{name}-{os.path.basename(zone)}"
        temps[name] = milli / 1000.0
    if not temps:
        try:
            import psutil  # optional

            for name, entries in (psutil.sensors_temperatures() or {}).items():
                for i, e in enumerate(entries):
                    temps[f"{name}{'-' + e.label if e.label else i or ''}"] = float(e.current)
        except Exception:  # noqa: BLE001 - not installed, or no sensors on this platform
            pass
    return temps


def cuda_temperature_c(device: Any) -> float | None:
    """The GPU's temperature when the engine runs on CUDA and NVML can be read (torch asks
    pynvml, an optional package), else None."""
    if getattr(device, "type", None) != "cuda":
        return None
    try:
        import torch

        return float(torch.cuda.temperature(device))
    except Exception:  # noqa: BLE001 - no pynvml, an old torch, or NVML not available
        return None


def cuda_memory_mb(device: Any) -> dict[str, float] | None:
    """Allocated / reserved CUDA memory in MB when the engine runs on CUDA, else None."""
    if getattr(device, "type", None) != "cuda":
        return None
    try:
        import torch

        return {"allocated": torch.cuda.memory_allocated(device) / 2**20,
                "reserved": torch.cuda.memory_reserved(device) / 2**20}
    except Exception:  # noqa: BLE001
        return None


class HealthReport:
    """Everything the status page and /liveart/health/* say, from a running Engine."""

    def __init__(self, engine: Any = None, schedule: Any = None,
                 thermal_root: str = "/sys/class/thermal"):
        self.engine = engine
        self.schedule = schedule
        self.thermal_root = thermal_root
        self.started = time.time()
        self._t0 = time.monotonic()
        self.errors = LastErrorHandler()
        self._hooked = False

    def hook_logging(self, logger: logging.Logger | None = None) -> "HealthReport":
        """Record the last ERROR logged anywhere (the root logger) as the last error."""
        (logger or logging.getLogger()).addHandler(self.errors)
        self._hooked = True
        return self

    def unhook_logging(self, logger: logging.Logger | None = None) -> None:
        if self._hooked:
            (logger or logging.getLogger()).removeHandler(self.errors)
            self._hooked = False

    def snapshot(self) -> dict[str, Any]:
        e = self.engine
        temps = temperatures_c(self.thermal_root)
        gpu = cuda_temperature_c(getattr(e, "device", None))
        if gpu is not None:
            temps["gpu"] = gpu
        stats = getattr(e, "stats", None)
        snap: dict[str, Any] = {
            "version": __version__,
            "pid": os.getpid(),
            "time": _iso(time.time()),
            "started": _iso(self.started),
            "uptime_s": round(time.monotonic() - self._t0, 1),
            "fps": round(stats.fps(), 2) if stats is not None else 0.0,
            "frames": stats.frames if stats is not None else 0,
            "tick_errors": getattr(e, "errors", 0),
            "scene": getattr(getattr(e, "scene", None), "name", None),
            "device": str(getattr(e, "device", "")) or None,
            "size": "x".join(map(str, e.size)) if getattr(e, "size", None) else None,
            "rss_mb": _round(rss_mb()),
            "temps_c": {k: round(v, 1) for k, v in temps.items()},
            "temp_c": round(max(temps.values()), 1) if temps else None,
            "cuda_mb": ({k: round(v, 1) for k, v in cm.items()}
                        if (cm := cuda_memory_mb(getattr(e, "device", None))) else None),
            "last_error": self.errors.message,
            "last_error_time": _iso(self.errors.when) if self.errors.when else None,
            "notice": _notice(e),
            "schedule": self.schedule.text if self.schedule is not None else None,
            "level": round(float(e.dimmer()), 3) if getattr(e, "dimmer", None) else 1.0,
            "dark": bool(getattr(e, "dark", False)),
        }
        return snap

    def osc_values(self) -> dict[str, Any]:
        """What OscOut sends as /liveart/health/* (temp_c only when known)."""
        s = self.snapshot()
        return {"fps": s["fps"], "rss_mb": s["rss_mb"], "temp_c": s["temp_c"],
                "error": s["last_error"]}


def _notice(engine: Any) -> str | None:
    try:
        return getattr(engine, "notice", None) or getattr(getattr(engine, "source", None),
                                                          "notice", None)
    except Exception:  # noqa: BLE001
        return None


def _iso(t: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(t))


def _round(v: float | None) -> float | None:
    return None if v is None else round(v, 1)


def status_html(snap: dict[str, Any]) -> str:
    """The one-page summary: a table of the snapshot, refreshed every 5 s."""
    rows = []
    for k, v in snap.items():
        if isinstance(v, dict):
            v = ", ".join(f"{a} {b}" for a, b in v.items()) or "-"
        text = "-" if v in (None, "") else str(v)
        rows.append(f"<tr><th>{html.escape(k)}</th><td>{html.escape(text)}</td></tr>")
    state = "dark (outside the schedule)" if snap.get("dark") else "running"
    err = (f"<p style='color:#f88'>last error ({html.escape(str(snap['last_error_time']))}): "
           f"{html.escape(snap['last_error'])}</p>" if snap.get("last_error") else "")
    return ("<!doctype html><html><head><meta charset='utf-8'>"
            "<meta http-equiv='refresh' content='5'><title>liveart status</title><style>"
            "body{font:15px sans-serif;margin:2em;background:#111;color:#eee}"
            "th{text-align:left;padding-right:2em;color:#aaa;font-weight:normal}"
            "td{font-family:monospace}</style></head><body>"
            f"<h1>liveart: {html.escape(state)}</h1>{err}<table>{''.join(rows)}</table>"
            "<p><a href='/health.json' style='color:#8cf'>health.json</a></p></body></html>")


class StatusServer:
    """`GET /` (HTML summary) and `GET /health.json` on host:port, served from a daemon thread.

    `max_connections`, `timeout`, `deadline`: the limits (see the module's docstring);
    `refusals` counts what they turned away, by kind ("host", "connections", "deadline")."""

    def __init__(self, report: HealthReport, host: str = DEFAULT_STATUS_HOST,
                 port: int = DEFAULT_STATUS_PORT, max_connections: int = STATUS_MAX_CONNECTIONS,
                 timeout: float = STATUS_TIMEOUT, deadline: float = STATUS_DEADLINE):
        self.report = report
        self.host = host
        self.port = port
        self.max_connections, self.timeout, self.deadline = max_connections, timeout, deadline
        self.refusals: collections.Counter = collections.Counter()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> "StatusServer":
        from .control.osc import _RateLimitedLog
        from .control.wire import LocalNames

        report, owner = self.report, self
        names = LocalNames([self.host])
        say = _RateLimitedLog(log)

        def refuse(kind: str, msg: str, *args: Any) -> None:
            owner.refusals[kind] += 1
            say(kind, logging.WARNING, msg, *args)

        class Handler(BaseHTTPRequestHandler):
            server_version = f"liveart/{__version__}"
            timeout = self.timeout  # each read and write on the socket

            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                hosts = self.headers.get_all("Host") or []
                if len(hosts) > 1 or not names.host_ok(hosts[0] if hosts else None):
                    refuse("host", "status page: refused a request from %s for Host %.60r, "
                           "which isn't this machine (a web page reached by DNS rebinding?)",
                           self.client_address[0], ", ".join(hosts))
                    self._reply(403, "text/plain", b"forbidden: ask for this machine by its "
                                b"own name or address\n")
                    return
                path = self.path.split("?", 1)[0]
                if path == "/health.json":
                    self._reply(200, "application/json",
                                json.dumps(report.snapshot(), indent=1).encode())
                elif path in ("/", "/index.html"):
                    self._reply(200, "text/html; charset=utf-8",
                                status_html(report.snapshot()).encode())
                else:
                    self._reply(404, "text/plain", b"not found: try / or /health.json\n")

            def _reply(self, code: int, ctype: str, body: bytes) -> None:
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, fmt: str, *args: Any) -> None:  # no line per request
                log.debug("status page: " + fmt, *args)

        class Server(ThreadingHTTPServer):
            allow_reuse_address = True
            address_family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
            daemon_threads = True
            request_queue_size = 64  # accept()'s queue (socketserver's 5 drops a burst's SYNs)

            def __init__(self, *args: Any, **kwargs: Any):
                self.open: dict = {}  # the connections being served: socket -> when accepted
                self.lock = threading.Lock()
                super().__init__(*args, **kwargs)

            def get_request(self):
                try:
                    return super().get_request()
                except OSError as e:
                    if e.errno in _OUT_OF_RESOURCES:  # no file descriptors left: say so, wait
                        say("accept", logging.WARNING, "status page can't accept connections "
                            "(%s)", e.strerror or e)
                        time.sleep(0.2)  # else serve_forever spins on the readable socket
                    raise

            def process_request(self, request, client_address):
                with self.lock:
                    full = len(self.open) >= owner.max_connections
                    if not full:
                        self.open[request] = time.monotonic()
                if full:
                    refuse("connections", "status page: refused a connection from %s (%d open, "
                           "the most it serves at once)", client_address[0],
                           owner.max_connections)
                    self.shutdown_request(request)
                    return
                try:
                    super().process_request(request, client_address)
                except Exception:  # e.g. no thread could be started
                    with self.lock:
                        self.open.pop(request, None)
                    self.shutdown_request(request)
                    raise

            def process_request_thread(self, request, client_address):
                try:
                    super().process_request_thread(request, client_address)
                finally:
                    with self.lock:
                        self.open.pop(request, None)

            def service_actions(self):
                """Every poll of serve_forever (0.5 s): end connections past the deadline."""
                now = time.monotonic()
                with self.lock:
                    late = [r for r, t in self.open.items() if now - t > owner.deadline]
                    for request in late:
                        self.open[request] = float("inf")  # counted until its thread ends
                for request in late:
                    refuse("deadline", "status page: closed a connection that took more than "
                           "%g s", owner.deadline)
                    try:
                        request.shutdown(socket.SHUT_RDWR)  # its thread's read or write ends
                    except OSError:
                        pass

            def handle_error(self, request, client_address):
                """One line, never a traceback (a client that resets its connection...)."""
                e = sys.exc_info()[1]
                level = logging.DEBUG if isinstance(e, ConnectionError) else logging.WARNING
                say("error", level, "status page: a request from %s failed (%s: %s)",
                    client_address[0], type(e).__name__, e)

        try:
            self._server = Server((self.host, self.port), Handler)
        except OSError as e:
            why = e.strerror or str(e)
            raise UserError(f"Can't serve the status page on {self.host}:{self.port} ({why}); "
                            "choose another --status-port, or 0 for none.") from None
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name="status-http",
                                        daemon=True)
        self._thread.start()
        log.info("status page on http://%s:%d/ (JSON: /health.json)",
                 f"[{self.host}]" if ":" in self.host else self.host, self.port)
        if not _is_loopback(self.host):
            log.warning("The status page listens beyond this machine (%s): anyone on the network "
                        "can read it.", self.host)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None


def _is_loopback(host: str) -> bool:
    from .control.osc import _is_loopback as osc_loopback

    return osc_loopback(host)


def check_status_port(port: int) -> None:
    if not 0 <= port <= 65535:
        raise UserError(f"--status-port must be a port number from 0 to 65535 (0: no status "
                        f"page), not {port}.")


HealthSource = Callable[[], dict]
