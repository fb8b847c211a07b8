"""OSC control: every parameter at its registry address, the shared actions, and feedback.

    oscsend localhost 9000 /liveart/dream/octaves i 3     # set
    oscsend localhost 9000 /liveart/dream/octaves         # query: the reply comes back to you
    oscsend localhost 9000 /liveart/preset/load s gentle  # action
    oscsend localhost 9000 /liveart/dream/reset           # trigger

`OscServer` receives on ONE thread: a plain non-blocking UDP socket; each wake-up drains every
pending datagram before sleeping again, so a fast fader stream never queues up in the kernel
buffer. Values are written straight into the ParamStore, which keeps only the newest target:
many messages between two engine ticks coalesce (the last one wins) and nothing queues.

`OscOut` echoes every parameter change, whatever its source (OSC, MIDI, keys, preset morphs),
to `--osc-out host:port` listeners by polling `store.targets()` at 30 Hz and sending what
changed, and sends stats (fps, the labels the network sees, energies) at 10 Hz.

Bad input never raises: malformed packets, unknown addresses and wrong types are counted in
`OscServer.stats` and logged at most once per kind every 5 s. The protocol is described in
docs/osc-protocol.md.

python-osc parses the messages (`OscMessage`) and builds what we send (`OscMessageBuilder`).
Its address and type tag are checked here first, with C-speed byte searches: unknown addresses
(the usual garbage) are rejected without a full parse, and type tags python-osc can't read
(which it would skip with a root-logger warning per message, misreading the arguments after
them) are refused. Bundles are walked here, in order, rather than with `OscPacket`, which
re-sorts the elements by timetag and warns on the root logger for each unknown element.
"""
from __future__ import annotations

import ipaddress
import logging
import math
import select
import socket
import threading
import time
from typing import Any, Callable, Iterable

from pythonosc.osc_message import OscMessage
from pythonosc.osc_message_builder import OscMessageBuilder

from .. import params
from ..errors import UserError
from ..params import OSC_PREFIX, Param, ParamStore
from ..params.actions import ACTIONS

log = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 9000
LOG_INTERVAL = 5.0  # seconds between two log lines of one kind of problem
ECHO_HZ = 30.0
STATS_HZ = 10.0
HEALTH_INTERVAL = 1.0  # seconds between two rounds of /liveart/health/*
MAX_BUNDLE_DEPTH = 8
RCVBUF_BYTES = 4 << 20  # asked for; the OS may cap it (Linux: net.core.rmem_max)
BATCH_DATAGRAMS = 1024  # drained before handling, so values in one batch coalesce
BATCH_BYTES = 1 << 20

_BUNDLE = b"#bundle\x00"
_TAGS_PARSED = frozenset("ifdhsbrmtTFN[]")  # what python-osc's OscMessage understands
_VALUE_TAGS = frozenset("ifdhsTF")  # what a value or an action argument can be
_STAT_KEYS = ("received", "applied", "coalesced", "unknown_address", "bad_type", "malformed",
              "queries", "clamped", "action_errors", "refused")


class _Malformed(Exception):
    pass


class _BadType(Exception):
    pass


def osc_type_of(param: Param, value: Any = None) -> str:
    """The OSC type tag a parameter's value is sent with: 'f' float, 'i' int, 'T'/'F' bool
    ('F' only when `value` is given and false), 's' enum and str, '' trigger (no argument)."""
    if param.type == "float":
        return "f"
    if param.type == "int":
        return "i"
    if param.type == "bool":
        return "F" if value is not None and not value else "T"
    if param.type in ("enum", "str"):
        return "s"
    return ""


def value_message(param: Param, value: Any) -> bytes:
    """The OSC datagram `param.address <value>` with the parameter's OSC type."""
    b = OscMessageBuilder(param.address)
    tag = osc_type_of(param, value)
    if tag == "f":
        b.add_arg(float(value), "f")
    elif tag == "i":
        b.add_arg(int(value), "i")
    elif tag in ("T", "F"):
        b.add_arg(bool(value), tag)
    elif tag == "s":
        b.add_arg(str(value), "s")
    return b.build().dgram


def _message(address: str, args: Iterable[tuple[Any, str]]) -> bytes:
    b = OscMessageBuilder(address)
    for value, tag in args:
        b.add_arg(value, tag)
    return b.build().dgram


def parse_target(text: str) -> tuple[str, int]:
    """'host:port' (or '[v6addr]:port') from --osc-out -> (host, port); UserError if bad."""
    text = str(text).strip()
    host, sep, port_text = text.rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not sep or not host or not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise UserError(f"--osc-out takes host:port with a port from 1 to 65535 "
                        f"(for example 127.0.0.1:9001), not {text!r}.")
    port = int(port_text)
    try:
        socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)
    except (OSError, UnicodeError):
        raise UserError(f"--osc-out host {host!r} in {text!r} can't be resolved; "
                        "use an IP address or a known host name.") from None
    return host, port


class _RateLimitedLog:
    """At most one log line per kind every `interval` seconds; the next line says how many
    were left out."""

    def __init__(self, logger: logging.Logger, interval: float = LOG_INTERVAL):
        self._log = logger
        self._interval = interval
        self._last: dict[str, float] = {}
        self._left_out: dict[str, int] = {}
        self._lock = threading.Lock()

    def __call__(self, kind: str, level: int, msg: str, *args: Any, exc_info: bool = False) -> None:
        now = time.monotonic()
        with self._lock:
            last = self._last.get(kind)
            if last is not None and now - last < self._interval:
                self._left_out[kind] = self._left_out.get(kind, 0) + 1
                return
            self._last[kind] = now
            left_out = self._left_out.pop(kind, 0)
        if left_out:
            msg += " (and %d more like this since the last report)"
            args = args + (left_out,)
        self._log.log(level, msg, *args, exc_info=exc_info)


def parse_allow(cidrs: Iterable[str]) -> list:
    """--osc-allow values as networks; UserError for one that isn't an address or CIDR."""
    nets = []
    for text in cidrs:
        try:
            nets.append(ipaddress.ip_network(str(text).strip(), strict=False))
        except ValueError:
            raise UserError(f"--osc-allow takes an address or network such as 192.168.1.0/24, "
                            f"not {text!r}.") from None
    return nets


def _allowed(addr: Any, nets: list) -> bool:
    try:
        ip = ipaddress.ip_address(addr[0])
    except (ValueError, TypeError, IndexError):
        return False
    return any(ip in net for net in nets if net.version == ip.version)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _peer(addr: Any) -> str:
    try:
        return f"{addr[0]}:{addr[1]}"
    except (TypeError, IndexError):
        return str(addr)


class OscServer:
    """Receives OSC on UDP host:port (127.0.0.1:9000 by default) on one thread.

    Port 0 binds an ephemeral port; `port` is the port actually bound once started.
    `stats` counts: received (datagrams), applied (values set and actions run), coalesced
    (values a newer value for the same parameter replaced before they were applied), queries,
    unknown_address, bad_type (an argument the parameter or action can't take), malformed
    (datagrams or bundle elements), clamped (applied values outside their range) and
    action_errors (an action that refused, e.g. an unknown preset or scene).
    """

    def __init__(self, store: ParamStore, actions: Any, host: str = DEFAULT_HOST,
                 port: int = DEFAULT_PORT, allow: Iterable[str] = ()):
        self.store = store
        self.allow = parse_allow(allow)  # empty: every sender (the socket is on loopback by default)
        self.actions = actions
        self.host = host
        self._requested_port = int(port)
        self.port = int(port)
        self.stats: dict[str, int] = {k: 0 for k in _STAT_KEYS}
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._routes: dict[str, tuple[str, Any]] = {}
        self._routes_key: tuple[int, int] = (-1, -1)
        self._clamped: set[str] = set()  # parameters whose last value was outside the range
        self._clamp_logged: dict[str, float] = {}
        self._report = _RateLimitedLog(log)

    # -- life cycle --------------------------------------------------------------------------
    def start(self) -> "OscServer":
        if self._thread is not None:
            return self
        self._sock = self._bind()
        self.port = self._sock.getsockname()[1]
        self._build_routes()
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="osc-in", daemon=True)
        self._thread.start()
        log.info("OSC: listening on %s:%d", self.host, self.port)
        if not _is_loopback(self.host):
            log.warning("OSC listens beyond this machine (%s): anyone on the network can play "
                        "the show%s.", self.host,
                        "" if self.allow else "; restrict senders with --osc-allow CIDR")
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5.0)
            self._thread = None
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def __enter__(self) -> "OscServer":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def _bind(self) -> socket.socket:
        port = self._requested_port
        try:
            infos = socket.getaddrinfo(self.host, port, type=socket.SOCK_DGRAM)
        except (OSError, UnicodeError):
            raise UserError(f"Can't listen for OSC on {self.host!r}: no such address; pick "
                            "another with --osc-host.") from None
        family, _, _, _, sockaddr = infos[0]
        sock = socket.socket(family, socket.SOCK_DGRAM)
        try:
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RCVBUF_BYTES)
            except OSError:
                pass
            sock.bind(sockaddr)
        except OSError as e:
            sock.close()
            import errno

            if e.errno in (errno.EADDRINUSE, getattr(errno, "WSAEADDRINUSE", -1)):
                raise UserError(f"OSC port {port} is in use; pick another with --osc-port.") from None
            raise UserError(f"Can't listen for OSC on {self.host}:{port} ({e.strerror or e}); "
                            "pick another with --osc-host/--osc-port.") from None
        sock.setblocking(False)
        return sock

    # -- the receiving thread ----------------------------------------------------------------
    def _run(self) -> None:
        sock = self._sock
        while not self._stop.is_set():
            try:
                ready, _, _ = select.select([sock], [], [], 0.05)
            except (OSError, ValueError):
                return  # closed under us
            if not ready:
                continue
            # Drain everything pending before sleeping again, a batch at a time, so nothing
            # waits in the kernel's buffer.
            while not self._stop.is_set():
                batch, size = [], 0
                while len(batch) < BATCH_DATAGRAMS and size < BATCH_BYTES:
                    try:
                        data, addr = sock.recvfrom(65536)
                    except (BlockingIOError, InterruptedError):
                        break
                    except ConnectionResetError:  # Windows: ICMP unreachable after a reply
                        continue
                    except OSError:
                        if self._stop.is_set():
                            return
                        break
                    batch.append((data, addr))
                    size += len(data)
                if not batch:
                    break
                self._batch(batch)

    def _batch(self, batch: list[tuple[bytes, Any]]) -> None:
        """Handle a batch of datagrams in arrival order, coalescing values: in a run of plain
        value messages (nothing else between them), a value that a later valid value for the
        same parameter replaces is counted as `coalesced` and not applied."""
        run: list[tuple] = []
        for data, addr in batch:
            self.stats["received"] += 1
            if self.allow and not _allowed(addr, self.allow):
                self.stats["refused"] += 1
                self._report("refused", logging.WARNING, "OSC from %s refused (not in --osc-allow)",
                             _peer(addr))
                continue
            info = None
            if data[:1] == b"/":
                try:
                    address, tags, args_at = _split_message(data)
                except _Malformed:
                    pass  # _packet counts and reports it
                else:
                    route = self._route(address) if tags else None
                    if route is not None and route[0] == "param":
                        info = (data, addr, address, tags, args_at, route[1])
            if info is not None:
                run.append(info)
                continue
            if run:
                self._run_of_values(run)
                run = []
            self._guarded(self._packet, data, addr, 0)
        if run:
            self._run_of_values(run)

    def _run_of_values(self, run: list[tuple]) -> None:
        # Newest first: the first valid value per address is the one that counts.
        done: set[str] = set()
        for data, addr, address, tags, args_at, p in reversed(run):
            if address in done:
                if _plainly_valid(p, data, tags, args_at):
                    self.stats["coalesced"] += 1
                else:
                    self._guarded(self._value_message, data, addr, address, tags, p, False)
            elif self._guarded(self._value_message, data, addr, address, tags, p, True):
                done.add(address)

    def _guarded(self, fn: Callable[..., Any], data: bytes, addr: Any, *args: Any) -> Any:
        try:
            return fn(data, addr, *args)
        except _Malformed as e:
            self._malformed(addr, str(e))
        except Exception:  # a bug must not stop the server: log and go on
            self._report("internal", logging.ERROR, "OSC: a packet from %s failed",
                         _peer(addr), exc_info=True)
        return None

    def _value_message(self, data: bytes, addr: Any, address: str, tags: str, p: Param,
                       apply: bool) -> bool:
        """Set `p` from a message with arguments (or, with apply=False, only check that it
        could be: an older value coalesced away). Returns whether it was (or could be) set."""
        if not _TAGS_PARSED.issuperset(tags):
            self._bad_type(addr, address, f"unsupported type tags {',' + tags!r}")
            return False
        try:
            args = OscMessage(data).params
        except Exception as e:  # python-osc's ParseError, or anything a fuzzer finds
            raise _Malformed(f"{address!r}: {e}") from None
        if not args:  # e.g. ",[]"
            self._bad_type(addr, address, f"{p.name} takes a {p.type} value, not {',' + tags!r}")
            return False
        if apply:
            return self._set(p, tags[0], args[0], addr)
        try:
            p.coerce(_raw_value(p, tags[0], args[0]), remote=True)
        except (_BadType, UserError) as e:
            self._bad_type(addr, address, str(e))
            return False
        self.stats["coalesced"] += 1
        return True

    def _packet(self, data: bytes, addr: Any, depth: int) -> None:
        if data[:1] == b"/":
            self._guarded(self._handle_message, data, addr)
        elif data.startswith(_BUNDLE):
            try:
                elements = self._bundle_elements(data, depth)
            except _Malformed as e:
                self._malformed(addr, str(e))
                return
            for element in elements:
                self._guarded(self._packet, element, addr, depth + 1)
        else:
            self._malformed(addr, "neither a message (/...) nor a bundle (#bundle)")

    @staticmethod
    def _bundle_elements(data: bytes, depth: int) -> list[bytes]:
        """The elements of a bundle, in order. Timetags are ignored: elements apply at once."""
        if depth >= MAX_BUNDLE_DEPTH:
            raise _Malformed(f"bundles nested more than {MAX_BUNDLE_DEPTH} deep")
        if len(data) < 16:
            raise _Malformed("a bundle without its timetag")
        elements, i, n = [], 16, len(data)
        while i < n:
            if i + 4 > n:
                raise _Malformed("a bundle element without its size")
            size = int.from_bytes(data[i:i + 4], "big", signed=True)
            if size <= 0 or i + 4 + size > n:
                raise _Malformed(f"a bundle element of size {size} at byte {i}")
            elements.append(data[i + 4:i + 4 + size])
            i += 4 + size
        return elements

    def _malformed(self, addr: Any, why: str) -> None:
        self.stats["malformed"] += 1
        self._report("malformed", logging.WARNING, "OSC: malformed packet from %s: %s",
                     _peer(addr), why)

    def _bad_type(self, addr: Any, address: str, why: str) -> None:
        self.stats["bad_type"] += 1
        self._report("bad_type", logging.WARNING, "OSC: %s from %s ignored: %s", address,
                     _peer(addr), why)

    # -- one message -------------------------------------------------------------------------
    def _handle_message(self, data: bytes, addr: Any) -> None:
        address, tags, _ = _split_message(data)
        route = self._route(address)
        if route is None:
            self.stats["unknown_address"] += 1
            self._report("unknown_address", logging.WARNING,
                         "OSC: unknown address %r from %s (see 'liveart params')", address,
                         _peer(addr))
            return
        kind, target = route
        if kind == "param":
            if tags:
                self._value_message(data, addr, address, tags, target, True)
            else:
                self._query(target, addr)
            return
        if not _TAGS_PARSED.issuperset(tags):
            self._bad_type(addr, address, f"unsupported type tags {',' + tags!r}")
            return
        try:
            args = OscMessage(data).params if tags else []
        except Exception as e:  # python-osc's ParseError, or anything a fuzzer finds
            raise _Malformed(f"{address!r}: {e}") from None
        if kind == "trigger":  # any or no arguments fire it
            self._action(target, (), addr, address)
        else:
            bad = [t for t in _top_level_tags(tags) if t not in _VALUE_TAGS]
            if bad:
                self._bad_type(addr, address,
                               f"an action takes strings and numbers, not {',' + tags!r}")
                return
            self._action(target, args, addr, address)

    def _route(self, address: str) -> tuple[str, Any] | None:
        route = self._routes.get(address)
        if route is None and self._routes_key != self._current_routes_key():
            self._build_routes()  # a scene declared parameters after we started
            route = self._routes.get(address)
        return route

    def _current_routes_key(self) -> tuple[int, int]:
        return len(params.REGISTRY), len(ACTIONS) if self.actions is not None else 0

    def _build_routes(self) -> None:
        routes: dict[str, tuple[str, Any]] = {}
        for name in (ACTIONS if self.actions is not None else ()):
            routes[OSC_PREFIX + name] = ("action", name)
        for p in params.REGISTRY.values():
            routes[p.address] = ("trigger", p.name) if p.type == "trigger" else ("param", p)
        self._routes = routes
        self._routes_key = self._current_routes_key()

    def _set(self, p: Param, tag: str, arg: Any, addr: Any) -> bool:
        try:
            raw = _raw_value(p, tag, arg)
            value = p.coerce(raw, remote=True)
        except (_BadType, UserError) as e:
            self._bad_type(addr, p.address, str(e))
            return False
        try:
            self.store.set(p.name, value)
        except (UserError, KeyError) as e:
            self._bad_type(addr, p.address, str(e))
            return False
        self.stats["applied"] += 1
        if _out_of_range(p, raw):
            self.stats["clamped"] += 1
            if p.name not in self._clamped:
                self._clamped.add(p.name)
                now = time.monotonic()
                # Once per excursion out of range, and not more than once every 5 s each.
                if now - self._clamp_logged.get(p.name, -math.inf) >= LOG_INTERVAL:
                    self._clamp_logged[p.name] = now
                    log.warning("OSC: %s = %r is outside %s; clamped to %r", p.name, arg,
                                p.range_text, value)
        elif self._clamped:
            self._clamped.discard(p.name)
        return True

    def _query(self, p: Param, addr: Any) -> None:
        self.stats["queries"] += 1
        try:
            value = self.store.get(p.name)
            self._sock.sendto(value_message(p, value), addr)
        except (OSError, KeyError, ValueError) as e:
            self._report("reply", logging.WARNING, "OSC: can't answer %s's query of %s: %s",
                         _peer(addr), p.address, e)

    def _action(self, name: str, args: Iterable[Any], addr: Any, address: str) -> None:
        try:
            self.actions.run(name, *args)
        except UserError as e:
            self.stats["action_errors"] += 1
            self._report("action", logging.WARNING, "OSC: %s from %s: %s", address, _peer(addr), e)
            return
        except Exception:
            self.stats["action_errors"] += 1
            self._report("action_failed", logging.ERROR, "OSC: %s from %s failed", address,
                         _peer(addr), exc_info=True)
            return
        self.stats["applied"] += 1


def _split_message(data: bytes) -> tuple[str, str, int]:
    """(address, type tags without the comma, where the arguments start) of a message
    datagram, checked cheaply."""
    end = data.find(b"\x00")
    if end < 0:
        raise _Malformed("the address has no terminating NUL")
    try:
        address = data[:end].decode("ascii")
    except UnicodeDecodeError:
        raise _Malformed("the address is not ASCII") from None
    start = (end + 4) & ~3
    if start >= len(data):
        return address, "", len(data)  # no type tag string: no arguments
    if data[start] != 0x2C:  # ','
        raise _Malformed(f"{address!r}: the type tag string does not start with ','")
    tag_end = data.find(b"\x00", start)
    if tag_end < 0:
        raise _Malformed(f"{address!r}: the type tag string has no terminating NUL")
    try:
        tags = data[start + 1:tag_end].decode("ascii")
    except UnicodeDecodeError:
        raise _Malformed(f"{address!r}: the type tag string is not ASCII") from None
    return address, tags, start + ((tag_end - start + 4) & ~3)


_PLAIN_SIZES = {"f": 4, "i": 4, "d": 8, "h": 8, "T": 0, "F": 0}


def _plainly_valid(p: Param, data: bytes, tags: str, args_at: int) -> bool:
    """Whether a one-number message (f i d h, or T F for numbers and switches) is certainly a
    valid value for `p`, judged from its bytes alone: such a message can be coalesced away
    without parsing it. Strings, and str parameters (which may check the text), never are."""
    size = _PLAIN_SIZES.get(tags)
    if size is None or len(data) != args_at + size:
        return False
    if p.type not in ("float", "int", "bool") and not (p.type == "enum" and size):
        return False
    if tags == "f":
        return ((data[args_at] & 0x7F) << 1 | data[args_at + 1] >> 7) != 0xFF
    if tags == "d":
        return ((data[args_at] & 0x7F) << 4 | data[args_at + 1] >> 4) != 0x7FF
    return True


def _top_level_tags(tags: str) -> list[str]:
    out, depth = [], 0
    for t in tags:
        if t == "[":
            if depth == 0:
                out.append(t)
            depth += 1
        elif t == "]":
            depth -= 1
        elif depth == 0:
            out.append(t)
    return out


def _raw_value(p: Param, tag: str, arg: Any) -> Any:
    """The first OSC argument as a value Param.coerce understands for `p`, or _BadType."""
    if tag not in _VALUE_TAGS:
        raise _BadType(f"{p.name} takes a {p.type} value, not OSC type {tag!r}")
    if tag in "TF":
        if p.type == "bool":
            return arg
        if p.type in ("float", "int"):
            return 1 if arg else 0
        raise _BadType(f"{p.name} is a{'n' if p.type == 'enum' else ''} {p.type}; "
                       "send a string or a number, not T/F")
    if tag == "s":
        return arg  # Param.coerce reads strings for every type ("0.5", "on", a choice's name)
    # a number: i h f d
    if isinstance(arg, float) and not math.isfinite(arg):
        raise _BadType(f"{p.name} takes a finite number, not {arg!r}")
    if p.type == "bool":
        return arg >= 0.5 if isinstance(arg, float) else arg != 0
    if p.type == "enum":
        return int(arg)  # an index; out of range is clamped by coerce
    if p.type == "str":
        return str(int(arg)) if float(arg).is_integer() else repr(arg)
    return arg


def _out_of_range(p: Param, raw: Any) -> bool:
    """Whether Param.coerce had to clamp `raw` (numbers, and enum indexes)."""
    try:
        if p.type in ("float", "int"):
            num = float(raw)
            return num < p.min or num > p.max
        if p.type == "enum":
            if isinstance(raw, str) and raw.strip() in p.choices:
                return False
            idx = int(float(str(raw)))
            return idx < 0 or idx >= len(p.choices)
    except (TypeError, ValueError, OverflowError):
        pass
    return False


# -- feedback --------------------------------------------------------------------------------
StatsSource = Callable[[], dict]


class OscOut:
    """Echoes parameter changes and stats to OSC listeners (TouchDesigner, Max, Pd faders).

    A thread polls `store.targets()` at 30 Hz and sends each parameter whose target changed
    since the last poll (so a storm of changes costs at most one message per parameter per
    poll); the first poll sends every value, so a controller starts in sync. At 10 Hz it sends
    /liveart/stats/fps f, /liveart/net/labels s s s and /liveart/net/energy f... from
    `stats_source()` -> dict(fps=float, labels=[(name, prob), ...], energy=[float...] or None).
    When `health_source` is set (liveart.health.HealthReport.osc_values), it also sends
    /liveart/health/fps f, rss_mb f, temp_c f (when known) and error s ("" if none) once a second.
    """

    def __init__(self, store: ParamStore, targets: list[tuple[str, int]],
                 stats_source: StatsSource | None = None, echo_hz: float = ECHO_HZ,
                 stats_hz: float = STATS_HZ):
        self.store = store
        self.targets = [(str(h), int(p)) for h, p in targets]
        self.stats_source = stats_source
        self.echo_interval = 1.0 / echo_hz
        self.stats_interval = 1.0 / stats_hz
        self.sent = 0
        self._addrs: list[tuple[int, Any]] = []
        for host, port in self.targets:
            try:
                family, _, _, _, sockaddr = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)[0]
            except (OSError, UnicodeError):
                raise UserError(f"--osc-out host {host!r} can't be resolved; use an IP address "
                                "or a known host name.") from None
            self._addrs.append((family, sockaddr))
        self._socks: dict[int, socket.socket] = {}
        self._last: dict[str, Any] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._report = _RateLimitedLog(log)
        self.health_source: Callable[[], dict] | None = None
        self.health_interval = HEALTH_INTERVAL

    def start(self) -> "OscOut":
        if self._thread is None and self._addrs:
            for family, _ in self._addrs:
                if family not in self._socks:
                    self._socks[family] = socket.socket(family, socket.SOCK_DGRAM)
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="osc-out", daemon=True)
            self._thread.start()
            log.info("OSC: echoing to %s", ", ".join(f"{h}:{p}" for h, p in self.targets))
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5.0)
            self._thread = None
        for s in self._socks.values():
            s.close()
        self._socks.clear()

    def __enter__(self) -> "OscOut":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def _run(self) -> None:
        next_stats = next_health = time.monotonic()
        while not self._stop.is_set():
            try:
                self.send_changes()
                if self.stats_source is not None and time.monotonic() >= next_stats:
                    next_stats = time.monotonic() + self.stats_interval
                    self.send_stats()
                if self.health_source is not None and time.monotonic() >= next_health:
                    next_health = time.monotonic() + self.health_interval
                    self.send_health()
            except Exception:
                self._report("out_failed", logging.ERROR, "OSC out: a send round failed",
                             exc_info=True)
            self._stop.wait(self.echo_interval)

    def send_changes(self) -> int:
        """Send every parameter whose target changed since the last call; returns how many."""
        n = 0
        for name, value in self.store.targets().items():
            if name in self._last and self._last[name] == value:
                continue
            p = params.REGISTRY.get(name)
            if p is None:
                continue
            try:
                dgram = value_message(p, value)
            except (TypeError, ValueError):
                continue
            self._send(dgram)
            self._last[name] = value
            n += 1
        return n

    def send_stats(self) -> None:
        try:
            s = self.stats_source() or {}
        except Exception:
            self._report("stats_source", logging.WARNING, "OSC out: the stats source failed",
                         exc_info=True)
            return
        fps = s.get("fps")
        if fps is not None:
            self._send(_message(OSC_PREFIX + "stats/fps", [(float(fps), "f")]))
        labels = s.get("labels")
        if labels is not None:
            names = [str(x[0]) if isinstance(x, (tuple, list)) else str(x) for x in list(labels)[:3]]
            names += [""] * (3 - len(names))
            self._send(_message(OSC_PREFIX + "net/labels", [(n, "s") for n in names]))
        energy = s.get("energy")
        if energy:
            self._send(_message(OSC_PREFIX + "net/energy", [(float(e), "f") for e in energy]))
        if s.get("channels"):
            self._send(_message(OSC_PREFIX + "net/channels", [(int(c), "i") for c in s["channels"]]))
        if s.get("novelty") is not None:
            self._send(_message(OSC_PREFIX + "net/novelty", [(float(s["novelty"]), "f")]))
        if s.get("centroid"):
            self._send(_message(OSC_PREFIX + "net/centroid", [(float(v), "f") for v in s["centroid"]]))

    def send_health(self) -> None:
        try:
            h = self.health_source() or {}
        except Exception:
            self._report("health_source", logging.WARNING, "OSC out: the health source failed",
                         exc_info=True)
            return
        for key in ("fps", "rss_mb", "temp_c"):
            if h.get(key) is not None:
                self._send(_message(OSC_PREFIX + "health/" + key, [(float(h[key]), "f")]))
        self._send(_message(OSC_PREFIX + "health/error", [(str(h.get("error") or ""), "s")]))

    def _send(self, dgram: bytes) -> None:
        for family, sockaddr in self._addrs:
            try:
                self._socks[family].sendto(dgram, sockaddr)
                self.sent += 1
            except OSError as e:
                self._report("send", logging.WARNING, "OSC out: can't send to %s: %s",
                             _peer(sockaddr), e)


def engine_stats_source(engine: Any) -> StatsSource:
    """stats_source for OscOut from an Engine: fps, the scene's top-3 labels and, when the scene
    publishes an activation summary (liveart.music.summary), what the network hears: energy
    (overall, then the strongest channels'), their channel numbers, novelty and centroid."""

    def source() -> dict:
        scene = engine.scene
        stats = {"fps": engine.stats.fps(), "labels": list(scene.labels())[:3], "energy": None}
        summary = getattr(scene, "summary", None)
        if summary is not None:
            stats.update(summary_stats(summary))
        return stats

    return source


def summary_stats(summary: Any) -> dict:
    """The /liveart/net/* payloads of one ActivationSummary."""
    top = [int(c) for c in summary.top_channels]
    return {"energy": [float(summary.energy)] + [float(summary.channel_energy[c]) for c in top],
            "channels": top, "novelty": float(summary.novelty),
            "centroid": [float(v) for v in summary.centroid]}


class OscSession:
    """What `start_osc` started: the server and, with --osc-out, the feedback sender."""

    def __init__(self, server: OscServer, out: OscOut | None):
        self.server = server
        self.out = out

    def stop(self) -> None:
        if self.out is not None:
            self.out.stop()
        self.server.stop()


def start_osc(store: ParamStore, actions: Any, args: Any,
              stats_source: StatsSource | None = None) -> OscSession:
    """Start OSC from parsed CLI args (osc_host, osc_port, osc_out: list of 'host:port').

    Bad --osc-out values and a port in use raise UserError before anything runs."""
    host = getattr(args, "osc_host", None) or DEFAULT_HOST
    port = getattr(args, "osc_port", None)
    port = DEFAULT_PORT if port is None else int(port)
    targets = [parse_target(t) for t in (getattr(args, "osc_out", None) or [])]
    out = OscOut(store, targets, stats_source) if targets else None
    server = OscServer(store, actions, host, port, getattr(args, "osc_allow", None) or ()).start()
    if out is not None:
        out.start()
    return OscSession(server, out)
