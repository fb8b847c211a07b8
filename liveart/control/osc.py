"""OSC control: every parameter at its registry address, the shared actions, and feedback.

    oscsend localhost 9000 /liveart/dream/octaves i 3     # set
    oscsend localhost 9000 /liveart/dream/octaves         # query: the reply comes back to you
    oscsend localhost 9000 /liveart/preset/load s gentle  # action
    oscsend localhost 9000 /liveart/dream/reset           # trigger

`MessagePath` is what every way in shares: OSC datagrams from UDP (`OscServer`) and binary
messages from OSCQuery's websocket (liveart/control/oscquery.py) are checked against
--osc-allow, coalesced, applied (values, queries, actions, triggers) and counted there, the
same way; the websocket's replies go back over the websocket. Values are written straight into
the ParamStore, which keeps only the newest target: many messages between two engine ticks
coalesce (the last one wins) and nothing queues.

`OscServer` receives on ONE thread: a plain non-blocking UDP socket; each wake-up drains every
pending datagram before sleeping again, so a fast fader stream never queues up in the kernel
buffer.

`OscOut` echoes every parameter change, whatever its source (OSC, MIDI, keys, preset morphs),
to `--osc-out host:port` listeners: 30 times a second it takes `store.changed_since(version)`
and gives each listener (an `Echo`) what changed, except what that listener is moving itself
(`Touches`: it set the parameter less than ECHO_HOLD s ago), and sends `Readouts` (fps, the
labels the network sees, energies, health). OSCQuery's LISTEN uses the same Echo and Readouts.

Bad input never raises: malformed packets, unknown addresses and wrong types are counted in
`MessagePath.stats` and logged at most once per kind every 5 s. The protocol is described in
docs/osc-protocol.md; what an argument means for a parameter is in liveart/control/wire.py.

python-osc parses the messages (`OscMessage`) and builds what we send (`OscMessageBuilder`).
Its address and type tag are checked here first, with C-speed byte searches: unknown addresses
(the usual garbage) are rejected without a full parse, and type tags python-osc can't read
(which it would skip with a root-logger warning per message, misreading the arguments after
them) are refused. Bundles are walked here, in order, rather than with `OscPacket`, which
re-sorts the elements by timetag and warns on the root logger for each unknown element.
"""
from __future__ import annotations

import collections
import logging
import math
import select
import socket
import threading
import time
from typing import Any, Callable, Iterable

from pythonosc.osc_message import OscMessage

from .. import params
from ..errors import UserError
from ..params import OSC_PREFIX, Param, ParamStore
from ..params.actions import ACTIONS
from ..params.registry import choices_text
from .wire import (NO_DATA_TAGS, TAGS_PARSED, VALUE_TAGS, AccessPolicy, BadType, Remote,
                   host_of, message, osc_type_of, out_of_range, parse_allow, peer_text,
                   raw_value, short_float, value_message, warn_if_public)
from .wire import is_loopback as _is_loopback  # noqa: F401  (liveart.health reads it here)

__all__ = ["DEFAULT_HOST", "DEFAULT_PORT", "Echo", "MessagePath", "OscOut", "OscServer",
           "OscSession", "Readouts", "Touches", "engine_stats_source", "osc_type_of",
           "parse_allow", "parse_target", "start_osc", "summary_stats", "value_message"]

log = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 9000
LOG_INTERVAL = 5.0  # seconds between two log lines of one kind of problem
ECHO_HZ = 30.0
STATS_HZ = 10.0
HEALTH_INTERVAL = 1.0  # seconds between two rounds of /liveart/health/*
# s: no echo of a parameter to the peer moving it (MIDI feedback holds as long: TOUCH_HOLD)
ECHO_HOLD = 0.3
MAX_BUNDLE_DEPTH = 8
RCVBUF_BYTES = 4 << 20  # asked for; the OS may cap it (Linux: net.core.rmem_max)
BATCH_DATAGRAMS = 1024  # drained before handling, so values in one batch coalesce
BATCH_BYTES = 1 << 20

_BUNDLE = b"#bundle\x00"
_STAT_KEYS = ("received", "applied", "coalesced", "unknown_address", "bad_type", "malformed",
              "queries", "clamped", "action_errors", "refused")


class _Malformed(Exception):
    pass


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


class MessagePath:
    """Every way in: OSC messages from UDP or the OSCQuery websocket are handled here alike.

    `receive(batch)` takes [(datagram, sender)], the sender a UDP (host, port) or a
    wire.Remote (a websocket peer, answered through its `send`); it may be called from any
    thread. `stats` counts: received (datagrams), applied (values set and actions run),
    coalesced (values a newer value for the same parameter replaced before they were applied),
    queries, unknown_address, bad_type (an argument the parameter or action can't take),
    malformed (datagrams or bundle elements), clamped (applied values outside their range),
    action_errors (an action that refused, e.g. an unknown preset or scene) and refused
    (senders --osc-allow doesn't admit, by UDP, HTTP or websocket). `touches` records who set
    which parameter when, for the echo's hold.
    """

    _sock: socket.socket | None = None  # an OscServer's; answers UDP queries

    def __init__(self, store: ParamStore, actions: Any, allow: Iterable[str] = ()):
        self.store = store
        self.actions = actions
        self.policy = AccessPolicy(allow)
        self.allow = self.policy.nets  # empty: every sender
        self.stats: dict[str, int] = {k: 0 for k in _STAT_KEYS}
        self.touches = Touches()
        self._lock = threading.Lock()  # one batch at a time, whichever way it came in
        self._routes: dict[str, tuple[str, Any]] = {}
        self._routes_key: tuple[int, int] = (-1, -1)
        self._clamped: set[str] = set()  # parameters whose last value was outside the range
        self._clamp_logged: dict[str, float] = {}
        self._report = _RateLimitedLog(log)

    def receive(self, batch: list[tuple[bytes, Any]]) -> None:
        """Handle datagrams in arrival order (see _batch); thread-safe."""
        with self._lock:
            self._batch(batch)

    def refused(self, addr: Any, via: str = "OSC") -> bool:
        """Whether --osc-allow refuses sender `addr`: counted and logged (once every 5 s)."""
        if self.policy.allows(addr):
            return False
        with self._lock:
            self.stats["refused"] += 1
        self._report("refused", logging.WARNING, "%s from %s refused (not in --osc-allow)", via,
                     peer_text(addr))
        return True

    def _batch(self, batch: list[tuple[bytes, Any]]) -> None:
        """Handle a batch of datagrams in arrival order, coalescing values: in a run of plain
        value messages (nothing else between them), a value that a later valid value for the
        same parameter replaces is counted as `coalesced` and not applied."""
        run: list[tuple] = []
        for data, addr in batch:
            self.stats["received"] += 1
            if not self.policy.allows(addr):
                self.stats["refused"] += 1
                self._report("refused", logging.WARNING, "OSC from %s refused (not in --osc-allow)",
                             peer_text(addr))
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
                         peer_text(addr), exc_info=True)
        return None

    def _value_message(self, data: bytes, addr: Any, address: str, tags: str, p: Param,
                       apply: bool) -> bool:
        """Set `p` from a message with arguments (or, with apply=False, only check that it
        could be: an older value coalesced away). Returns whether it was (or could be) set."""
        if not TAGS_PARSED.issuperset(tags):
            self.touches.record(addr, p.name)  # what it shows isn't what liveart has
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
            self.store.coerce(p.name, raw_value(p, tags[0], args[0]), remote=True)
        except (BadType, UserError) as e:
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
                     peer_text(addr), why)

    def _bad_type(self, addr: Any, address: str, why: str) -> None:
        self.stats["bad_type"] += 1
        self._report("bad_type", logging.WARNING, "OSC: %s from %s ignored: %s", address,
                     peer_text(addr), why)

    # -- one message -------------------------------------------------------------------------
    def _handle_message(self, data: bytes, addr: Any) -> None:
        address, tags, _ = _split_message(data)
        route = self._route(address)
        if route is None:
            self.stats["unknown_address"] += 1
            self._report("unknown_address", logging.WARNING,
                         "OSC: unknown address %r from %s (see 'liveart params')", address,
                         peer_text(addr))
            return
        kind, target = route
        if kind == "param":
            if tags:
                self._value_message(data, addr, address, tags, target, True)
            else:
                self._query(target, addr)
            return
        if kind == "trigger":  # any or no arguments fire it (an impulse I too)
            self._action(target, (), addr, address)
            return
        if NO_DATA_TAGS.issuperset(tags):  # ",I" from an OSCQuery client: no argument
            tags = ""
        if not TAGS_PARSED.issuperset(tags):
            self._bad_type(addr, address, f"unsupported type tags {',' + tags!r}")
            return
        try:
            args = OscMessage(data).params if tags else []
        except Exception as e:  # python-osc's ParseError, or anything a fuzzer finds
            raise _Malformed(f"{address!r}: {e}") from None
        if [t for t in _top_level_tags(tags) if t not in VALUE_TAGS]:
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
        # before the set, so the echo never sends this peer its own value (and refused or
        # clamped values too: the peer then shows what liveart doesn't have)
        self.touches.record(addr, p.name)
        try:
            raw = raw_value(p, tag, arg)
            value = self.store.set(p.name, raw, remote=True)
        except (BadType, UserError, KeyError) as e:
            self._bad_type(addr, p.address, str(e))
            return False
        self.stats["applied"] += 1
        if out_of_range(p, raw, self.store.choices(p.name) if p.type == "enum" else ()):
            self.stats["clamped"] += 1
            if p.name not in self._clamped:
                self._clamped.add(p.name)
                now = time.monotonic()
                # Once per excursion out of range, and not more than once every 5 s each.
                if now - self._clamp_logged.get(p.name, -math.inf) >= LOG_INTERVAL:
                    self._clamp_logged[p.name] = now
                    log.warning("OSC: %s = %s is outside %s; clamped to %r", p.name,
                                short_float(arg) if tag == "f" else repr(arg),
                                choices_text(self.store.choices(p.name)) if p.type == "enum"
                                else p.range_text, value)
        elif self._clamped:
            self._clamped.discard(p.name)
        return True

    def _query(self, p: Param, addr: Any) -> None:
        self.stats["queries"] += 1
        try:
            value = self.store.get(p.name)
            self._reply(value_message(p, value), addr)
        except (OSError, KeyError, ValueError) as e:
            self._report("reply", logging.WARNING, "OSC: can't answer %s's query of %s: %s",
                         peer_text(addr), p.address, e)

    def _reply(self, dgram: bytes, addr: Any) -> None:
        if isinstance(addr, Remote):
            addr.send(dgram)
        elif self._sock is None:
            raise OSError("no UDP socket to answer from")
        else:
            self._sock.sendto(dgram, addr)

    def _action(self, name: str, args: Iterable[Any], addr: Any, address: str) -> None:
        try:
            if self.actions is None:  # a bare path (tests): triggers still fire
                self.store.set(name, True)
            else:
                self.actions.run(name, *args)
        except UserError as e:
            self.stats["action_errors"] += 1
            self._report("action", logging.WARNING, "OSC: %s from %s: %s", address,
                         peer_text(addr), e)
            return
        except Exception:
            self.stats["action_errors"] += 1
            self._report("action_failed", logging.ERROR, "OSC: %s from %s failed", address,
                         peer_text(addr), exc_info=True)
            return
        self.stats["applied"] += 1


class OscServer(MessagePath):
    """Receives OSC on UDP host:port (127.0.0.1:9000 by default) on one thread, into its
    MessagePath (which OSCQuery's websocket shares: `OscQueryServer(inbox=server)`).

    Port 0 binds an ephemeral port; `port` is the port actually bound once started.
    """

    def __init__(self, store: ParamStore, actions: Any, host: str = DEFAULT_HOST,
                 port: int = DEFAULT_PORT, allow: Iterable[str] = ()):
        super().__init__(store, actions, allow)
        self.host = host
        self._requested_port = int(port)
        self.port = int(port)
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

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
        warn_if_public(log, "OSC", self.host, self.policy)
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
                self.receive(batch)


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


# -- feedback --------------------------------------------------------------------------------
StatsSource = Callable[[], dict]
_LOOK = object()  # a pending echo whose value is read from the store when it goes out


class Touches:
    """Who set which parameter, when: the message path records each value a peer sends
    (before it is applied, refused ones too), and each echo loop reads the records since its
    last look (`since`), so it can hold that parameter's echoes back from that peer."""

    KEEP = 4096  # records kept; a loop further behind than that misses a few holds

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seq = 0
        self._log: collections.deque = collections.deque(maxlen=self.KEEP)

    def record(self, peer: Any, name: str, now: float | None = None) -> None:
        with self._lock:
            self._seq += 1
            self._log.append((self._seq, peer, name, time.monotonic() if now is None else now))

    @property
    def seq(self) -> int:
        with self._lock:
            return self._seq

    def since(self, seq: int) -> tuple[int, list[tuple[Any, str, float]]]:
        """(the count now, [(peer, parameter, time)] recorded after `seq`, oldest first)."""
        with self._lock:
            out = []
            for s, peer, name, t in reversed(self._log):
                if s <= seq:
                    break
                out.append((peer, name, t))
            return self._seq, out[::-1]


class Echo:
    """What one listener (an --osc-out target, an OSCQuery LISTEN client) is sent of the
    parameter changes.

    Each round it is `offer`ed what changed and who set what; `flush` sends each changed
    parameter once, with its newest value (and not again while unchanged), except one the
    listener is moving itself: a parameter that `is_self(peer)` says it set less than
    ECHO_HOLD s ago waits, and when the hold ends the listener gets its value once. So a fader
    is never sent values behind its own latest one, and ends in sync with what liveart made of
    it (clamped, rounded, an index's choice name, or the old value when it was refused).
    `wants(name)`: whether the listener takes that parameter at all (LISTEN's paths).
    """

    def __init__(self, send: Callable[[bytes], None], is_self: Callable[[Any], bool],
                 wants: Callable[[str], bool] | None = None):
        self.send, self.is_self, self.wants = send, is_self, wants
        self._pending: dict[str, Any] = {}
        self._shown: dict[str, Any] = {}   # what the listener shows: what we sent it last
        self._moved: dict[str, float] = {}  # parameter -> when the listener last set it

    def offer(self, changed: dict[str, Any],
              touched: Iterable[tuple[Any, str, float]] = ()) -> None:
        for peer, name, t in touched:
            if self.is_self(peer) and (self.wants is None or self.wants(name)):
                self._moved[name] = t
                self._shown.pop(name, None)  # it shows its own value now, not ours
                self._pending.setdefault(name, _LOOK)
        for name, value in changed.items():
            if self.wants is None or self.wants(name):
                self._pending[name] = value

    def flush(self, store: ParamStore, now: float) -> int:
        """Send what is due; returns how many messages went out."""
        sent = 0
        for name in list(self._pending):
            moved = self._moved.get(name)
            if moved is not None:
                if now - moved < ECHO_HOLD:
                    continue
                del self._moved[name]
            value = self._pending.pop(name)
            if value is _LOOK:
                value = store.get(name)
            p = params.REGISTRY.get(name)
            if p is None or (name in self._shown and self._shown[name] == value):
                continue
            try:
                dgram = value_message(p, value)
            except (TypeError, ValueError):
                continue
            self.send(dgram)
            self._shown[name] = value
            sent += 1
        return sent


MAX_PENDING_EVENTS = 256  # music notes waiting for a LISTEN push (about 30 a second at most)


class Readouts:
    """The values liveart sends besides parameters (liveart.params.actions.READOUTS), for
    --osc-out and OSCQuery's LISTEN alike.

    `due(now)` gives the (address, datagram) pairs whose time has come: /liveart/stats/fps f,
    /liveart/net/labels s s s, /liveart/net/energy f... (and channels, novelty, centroid) every
    `stats_interval` s from `stats_source()` -> dict(fps=float, labels=[(name, prob), ...],
    energy=[float...] or None, ...); when `health_source` is set
    (liveart.health.HealthReport.osc_values), /liveart/health/fps f, rss_mb f, temp_c f (when
    known) and error s ("" if none) every `health_interval` s.
    """

    def __init__(self, stats_source: StatsSource | None = None,
                 health_source: Callable[[], dict] | None = None, stats_hz: float = STATS_HZ):
        self.stats_source = stats_source
        self.health_source = health_source
        self.stats_interval = 1.0 / stats_hz
        self.health_interval = HEALTH_INTERVAL
        self._next_stats = self._next_health = -math.inf
        self._report = _RateLimitedLog(log)
        self._events: collections.deque = collections.deque(maxlen=MAX_PENDING_EVENTS)
        self._events_lock = threading.Lock()

    def event(self, at: float, address: str, args: Iterable[tuple[Any, str]]) -> None:
        """A readout that happens at one moment (a music note, scheduled a little ahead):
        sent by the first due() at or after `at` (time.monotonic()). Thread-safe; while
        nobody takes them only the latest MAX_PENDING_EVENTS are kept."""
        with self._events_lock:
            self._events.append((at, address, message(address, args)))

    def events_due(self, now: float) -> list[tuple[str, bytes]]:
        with self._events_lock:
            if not self._events or self._events[0][0] > now:
                return []
            ready = sorted((e for e in self._events if e[0] <= now), key=lambda e: e[0])
            keep = [e for e in self._events if e[0] > now]
            self._events.clear()
            self._events.extend(keep)
        return [(address, dgram) for _, address, dgram in ready]

    def due(self, now: float) -> list[tuple[str, bytes]]:
        out: list[tuple[str, bytes]] = self.events_due(now)
        if self.stats_source is not None and now >= self._next_stats:
            self._next_stats = now + self.stats_interval
            out += self.stats_messages()
        if self.health_source is not None and now >= self._next_health:
            self._next_health = now + self.health_interval
            out += self.health_messages()
        return out

    def stats_messages(self) -> list[tuple[str, bytes]]:
        s = self._read(self.stats_source, "stats")
        out = []

        def add(address: str, args: list) -> None:
            out.append((address, message(address, args)))

        if s.get("fps") is not None:
            add(OSC_PREFIX + "stats/fps", [(float(s["fps"]), "f")])
        if s.get("labels") is not None:
            names = [str(x[0]) if isinstance(x, (tuple, list)) else str(x)
                     for x in list(s["labels"])[:3]]
            add(OSC_PREFIX + "net/labels", [(n, "s") for n in names + [""] * (3 - len(names))])
        if s.get("energy"):
            add(OSC_PREFIX + "net/energy", [(float(e), "f") for e in s["energy"]])
        if s.get("channels"):
            add(OSC_PREFIX + "net/channels", [(int(c), "i") for c in s["channels"]])
        if s.get("novelty") is not None:
            add(OSC_PREFIX + "net/novelty", [(float(s["novelty"]), "f")])
        if s.get("centroid"):
            add(OSC_PREFIX + "net/centroid", [(float(v), "f") for v in s["centroid"]])
        for name, value in (s.get("audio") or {}).items():
            add(OSC_PREFIX + "audio/" + name, [(float(value), "f")])
        return out

    def health_messages(self) -> list[tuple[str, bytes]]:
        h = self._read(self.health_source, "health")
        if not h:
            return []
        out = [(OSC_PREFIX + "health/" + key, message(OSC_PREFIX + "health/" + key,
                                                      [(float(h[key]), "f")]))
               for key in ("fps", "rss_mb", "temp_c") if h.get(key) is not None]
        address = OSC_PREFIX + "health/error"
        return out + [(address, message(address, [(str(h.get("error") or ""), "s")]))]

    def _read(self, source: Callable[[], dict] | None, what: str) -> dict:
        try:
            return (source() if source is not None else None) or {}
        except Exception:
            self._report(what, logging.WARNING, "OSC out: the %s source failed", what,
                         exc_info=True)
            return {}


class OscOut(Readouts):
    """Echoes parameter changes and readouts to OSC listeners (TouchDesigner, Max, Pd faders).

    A thread takes `store.changed_since(version)` 30 times a second and gives every target an
    Echo of its own (at most one message per parameter per round; the first round sends every
    value, so a controller starts in sync; nothing to the peer moving a parameter, see Echo),
    then sends the Readouts that are due. `touches`: the MessagePath's (OscServer.touches),
    which say who set what. A sender is taken to be a target when it has the target's address
    and port, or, when no target has its port, the target's address (most senders send from a
    port of their own).
    """

    def __init__(self, store: ParamStore, targets: list[tuple[str, int]],
                 stats_source: StatsSource | None = None, echo_hz: float = ECHO_HZ,
                 stats_hz: float = STATS_HZ, touches: Touches | None = None):
        super().__init__(stats_source, None, stats_hz)
        self.store = store
        self.targets = [(str(h), int(p)) for h, p in targets]
        self.echo_interval = 1.0 / echo_hz
        self.touches = touches if touches is not None else Touches()
        self.sent = 0
        self._addrs: list[tuple[int, Any]] = []
        for host, port in self.targets:
            try:
                family, _, _, _, sockaddr = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)[0]
            except (OSError, UnicodeError):
                raise UserError(f"--osc-out host {host!r} can't be resolved; use an IP address "
                                "or a known host name.") from None
            self._addrs.append((family, sockaddr))
        self._hosts = [(host_of(sockaddr), sockaddr[1]) for _, sockaddr in self._addrs]
        self._echoes = [Echo(lambda d, i=i: self._send_to(i, d),
                             lambda peer, i=i: self._is(i, peer))
                        for i in range(len(self._addrs))]
        self._version: int | None = None  # None: the first round sends every value
        self._touch_seq = self.touches.seq
        self._socks: dict[int, socket.socket] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

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
        while not self._stop.is_set():
            try:
                now = time.monotonic()
                self.send_changes(now)
                for _, dgram in self.due(now):
                    self._send(dgram)
            except Exception:
                self._report("out_failed", logging.ERROR, "OSC out: a send round failed",
                             exc_info=True)
            self._stop.wait(self.echo_interval)

    def send_changes(self, now: float | None = None) -> int:
        """One echo round: what changed since the last one; returns how many messages went out."""
        now = time.monotonic() if now is None else now
        if self._version is None:
            self._version = self.store.version
            changed = self.store.targets()
        else:
            self._version, changed = self.store.changed_since(self._version)
        self._touch_seq, touched = self.touches.since(self._touch_seq)
        sent = 0
        for echo in self._echoes:
            echo.offer(changed, touched)
            sent += echo.flush(self.store, now)
        return sent

    def _is(self, i: int, peer: Any) -> bool:
        """Whether target i is (as far as can be told) the peer that sent a value."""
        host, port = self._hosts[i]
        if host_of(peer) != host:
            return False
        if isinstance(peer, Remote):
            return True
        return port == peer[1] or (host, peer[1]) not in self._hosts

    def _send(self, dgram: bytes) -> None:
        for i in range(len(self._addrs)):
            self._send_to(i, dgram)

    def _send_to(self, i: int, dgram: bytes) -> None:
        family, sockaddr = self._addrs[i]
        try:
            self._socks[family].sendto(dgram, sockaddr)
            self.sent += 1
        except OSError as e:
            self._report("send", logging.WARNING, "OSC out: can't send to %s: %s",
                         peer_text(sockaddr), e)


def engine_stats_source(engine: Any, rhythm: Any = None) -> StatsSource:
    """stats_source for OscOut from an Engine: fps, the scene's top-3 labels and, when the scene
    publishes an activation summary (liveart.music.summary), what the network hears: energy
    (overall, then the strongest channels'), their channel numbers, novelty and centroid."""

    def source() -> dict:
        scene = engine.scene
        stats = {"fps": engine.stats.fps(), "labels": list(scene.labels())[:3], "energy": None}
        summary = getattr(scene, "summary", None)
        if summary is not None:
            stats.update(summary_stats(summary))
        if rhythm is not None and rhythm.audio_in is not None:  # /liveart/audio/*
            stats["audio"] = {k[6:]: v for k, v in rhythm.latest.items() if k.startswith("audio.")}
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
    server = OscServer(store, actions, host, port, getattr(args, "osc_allow", None) or ())
    # the echo holds a parameter back from the peer the server saw setting it
    out = OscOut(store, targets, stats_source, touches=server.touches) if targets else None
    server.start()
    if out is not None:
        out.start()
    return OscSession(server, out)
