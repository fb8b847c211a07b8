"""OSCQuery: lets TouchDesigner, ossia score, Chataigne, VDMX... discover and browse liveart.

Implements the OSCQuery proposal (https://github.com/Vidvox/OSCQueryProposal) on one port:

* `GET /` is the whole namespace as JSON, `GET /liveart/dream/octaves` one node, and
  `GET /liveart/dream/octaves?VALUE` one attribute (`{"VALUE": [4]}`); `?HOST_INFO` on any
  path says where the OSC server is. Unknown path: 404. Unknown or unsupported attribute: 400.
  `?VALUE` of a node that has no value to read (a container, a trigger, an action, a
  readout): 204. The namespace holds every parameter, every action (liveart.params.actions:
  /liveart/preset/load..., write-only) and every readout (/liveart/stats/fps, health, net:
  read-only, followed with LISTEN).
* A websocket on the same port takes `{"COMMAND": "LISTEN", "DATA": "/liveart/dream/mix"}`
  and `IGNORE`, and pushes binary OSC messages when a listened value changes (sampled ~30
  times a second, with the echo's rules: see osc.Echo), each time a listened trigger fires,
  and the listened readouts as they are made. When dream.model changes, dream.layer's choices
  do: every client gets `{"COMMAND": "PATH_CHANGED", "DATA": "/liveart/dream/layer"}`.
  Binary OSC messages from the client go through the OSC server's MessagePath (`inbox`): the
  same access policy, coalescing, stats and actions as OSC over UDP; replies come back over
  the websocket.
* --osc-allow holds for HTTP and the websocket too: other senders get 403.
* Browsers: a request whose Host isn't one of this machine's names (DNS rebinding) and a
  request or websocket whose Origin is a page from elsewhere get 403 (wire.LocalNames);
  Access-Control-Allow-Origin names an admitted origin, never `*`.
* Limits, so that no client can take the show's memory or file descriptors (each one hit is
  counted in `refusals` and logged at most once every 5 s): MAX_CONNECTIONS open at once,
  MAX_PER_ADDRESS from one address (more are closed as they are accepted), a handshake or
  HTTP request must arrive within HANDSHAKE_TIMEOUT s, a websocket that sends nothing and
  listens to nothing for IDLE_TIMEOUT s is closed, MAX_LISTENS addresses per client (only
  the namespace's methods, paths up to MAX_PATH bytes), text messages up to MAX_JSON bytes
  and MAX_JSON_DEPTH levels deep (judged before parsing), websocket messages up to
  MAX_MESSAGE bytes, and a client that doesn't read what it is sent is closed once
  WRITE_BUFFER_LIMIT bytes wait for it.
* The service is advertised with zeroconf as `_oscjson._tcp` (and the OSC port as `_osc._udp`),
  on the address the server is bound to (loopback unless the user binds elsewhere), under this
  machine's host name.

Types: float "f", int "i", enum and str "s" (an enum lists its choices in RANGE VALS: those it
has now), bool "T"/"F" (the type tag is the value, as libossia writes it; VALUE also holds the
JSON boolean), trigger "I" (impulse) with ACCESS 2: write-only. Containers have ACCESS 0.
"""
from __future__ import annotations

import asyncio
import collections
import errno
import http
import json
import logging
import re
import socket
import threading
import time
from typing import Any, Sequence
from urllib.parse import unquote, urlsplit

from websockets.asyncio.server import ServerConnection, broadcast, serve
from websockets.exceptions import ConnectionClosed

from ..errors import UserError
from ..params import OSC_PREFIX, REGISTRY, Param, ParamStore
from ..params.actions import ACTIONS, READOUTS, Action, Readout
from ..params.registry import DEPENDENTS
from .osc import LOG_INTERVAL, Echo, MessagePath, Readouts, StatsSource, _RateLimitedLog
from .wire import (LocalNames, Remote, host_of, message, oscquery_type, peer_text,
                   warn_if_public)

log = logging.getLogger(__name__)
# websockets logs every plain HTTP answer as a "rejected" handshake at INFO: keep that quiet.
_ws_log = logging.getLogger(__name__ + ".websockets")
_ws_log.setLevel(logging.WARNING)


class _OncePerInterval(logging.Filter):
    """Lets one record of each message through every LOG_INTERVAL s (websockets warns once per
    message it couldn't send: a flood when a client stops reading)."""

    def __init__(self) -> None:
        super().__init__()
        self._last: dict[str, float] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        now, key = time.monotonic(), str(record.msg)[:80]
        if now - self._last.get(key, -LOG_INTERVAL) < LOG_INTERVAL:
            return False
        self._last[key] = now
        record.exc_info = None  # one sentence, never a traceback
        return True


_ws_log.addFilter(_OncePerInterval())

POLL_HZ = 30.0
WILDCARD = ("", "0.0.0.0", "::")
# Attributes a node can have; any other query (TAGS, HTML, CRITICAL...) is answered 400.
ATTRIBUTES = ("FULL_PATH", "CONTENTS", "TYPE", "ACCESS", "VALUE", "RANGE", "DESCRIPTION",
              "UNIT", "CLIPMODE")
EXTENSIONS = {a: True for a in ("ACCESS", "VALUE", "RANGE", "DESCRIPTION", "UNIT", "CLIPMODE",
                                "LISTEN", "PATH_CHANGED")}
# Our units -> the proposal's list (units.md); anything else is passed on as written.
UNITS = {"px": "distance.pixels", "deg": "angle.degree", "s": "time.second", "ms": "time.ms",
         "hz": "time.hz", "bpm": "time.bpm", "db": "gain.db"}
_READOUT_ADDRESSES = frozenset(r.address for r in READOUTS)

# Limits (see the module's docstring and docs/osc-protocol.md).
MAX_CONNECTIONS = 64       # open at once: a show has a handful of controllers
MAX_PER_ADDRESS = 16       # from one address (every local program shares 127.0.0.1)
HANDSHAKE_TIMEOUT = 10.0   # s for a request (HTTP or the websocket's handshake) to arrive
IDLE_TIMEOUT = 300.0       # s a websocket may send nothing while listening to nothing
MAX_LISTENS = 256          # addresses one client follows (the namespace has ~100 methods)
MAX_PATH = 256             # bytes in a LISTEN / IGNORE path (the longest address has ~30)
MAX_JSON = 64 * 1024       # bytes in a websocket text message
MAX_JSON_DEPTH = 32        # nesting of [ and { in one (a command has 1)
MAX_MESSAGE = 128 * 1024   # bytes in any websocket message (OSC's are 64 KiB at most)
MAX_INBOX = 1024           # OSC messages from one client waiting for the message path
WRITE_BUFFER_LIMIT = 1 << 20  # bytes waiting to be sent to one client before it is closed
_JSON_SPECIAL = re.compile(r'[\[\]{}"\\]')


def json_too_deep(text: str, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether `text` nests [ and { more than `limit` deep (outside strings), found in one
    pass without parsing (json.loads recurses: 100,000 brackets raise RecursionError)."""
    depth, in_string, skip = 0, False, -1
    for m in _JSON_SPECIAL.finditer(text):
        i = m.start()
        if i < skip:
            continue  # the character after a backslash in a string
        c = text[i]
        if in_string:
            if c == "\\":
                skip = i + 2
            elif c == '"':
                in_string = False
        elif c == '"':
            in_string = True
        elif c in "[{":
            depth += 1
            if depth > limit:
                return True
        elif c in "]}":
            depth -= 1
    return False


def method_node(p: Param, value: Any, choices: Sequence[str] | None = None) -> dict:
    """The OSCQuery attributes of parameter `p` holding `value`; an enum offers `choices`
    (those it has now), else all of its own."""
    node: dict[str, Any] = {"FULL_PATH": p.address, "DESCRIPTION": p.description,
                            "TYPE": oscquery_type(p, value)}
    if p.type == "trigger":
        # Write-only; VALUE holds the JSON null the proposal uses for I, so clients that
        # expect every method to carry a VALUE array still parse it.
        return {**node, "ACCESS": 2, "VALUE": [None]}
    node.update(ACCESS=3, VALUE=[bool(value) if p.type == "bool" else value])
    if p.type in ("float", "int"):
        cast = float if p.type == "float" else int
        node.update(VALUE=[cast(value)], RANGE=[{"MIN": cast(p.min), "MAX": cast(p.max)}],
                    CLIPMODE=["both"])
    elif p.type == "enum":
        node["RANGE"] = [{"VALS": list(p.choices if choices is None else choices)}]
    if p.unit:
        node["UNIT"] = [UNITS.get(p.unit.lower(), p.unit)]
    return node


def action_node(a: Action, choices: Sequence[str] | None = None) -> dict:
    """An action as a write-only method: TYPE its arguments' tags (optional ones included; an
    empty string, or I, is taken as none), VALS the names its first argument takes, if known."""
    tags = "".join(tag for tag, _ in a.args + a.optional) or "I"
    node = {"FULL_PATH": a.address, "DESCRIPTION": f"{a.description} (arguments: "
            f"{a.arguments_text})", "TYPE": tags, "ACCESS": 2, "VALUE": [None] * len(tags)}
    if choices is not None:
        node["RANGE"] = [{"VALS": list(choices)}] + [None] * (len(tags) - 1)
    return node


def readout_tags(r: Readout) -> str:
    """The type tags at the start of a readout's arguments ('s s s: ...' -> 'sss'); 'f...'
    (as many as there are) gives its first."""
    head = r.arguments.split(":")[0].split(",")[0]
    return head.replace("...", "").replace(" ", "")


def readout_node(r: Readout) -> dict:
    """A readout as a read-only method. Its value isn't kept (LISTEN follows it): VALUE holds
    nulls, as a trigger's does, for clients that expect every method to carry one."""
    tags = readout_tags(r)
    return {"FULL_PATH": r.address, "DESCRIPTION": r.arguments, "TYPE": tags, "ACCESS": 1,
            "VALUE": [None] * len(tags)}


def _place(root: dict, address: str, what: str) -> dict:
    """The node at `address`, made (with the containers above it) when missing."""
    node, parts = root, address.strip("/").split("/")
    for i, part in enumerate(parts):
        node = node.setdefault("CONTENTS", {}).setdefault(part, {
            "FULL_PATH": "/" + "/".join(parts[:i + 1]), "ACCESS": 0,
            "DESCRIPTION": f"{part} {what}"})
    return node


def build_tree(store: ParamStore, description: str = "liveart", actions: Any = None) -> dict:
    """The whole namespace: containers /liveart, /liveart/dream... holding every parameter
    with its current value, every action when `actions` (control.actions.Actions) can run
    them, and every readout."""
    root: dict[str, Any] = {"FULL_PATH": "/", "ACCESS": 0, "DESCRIPTION": description,
                            "CONTENTS": {}}
    values = store.targets()
    for p in sorted(REGISTRY.values(), key=lambda p: p.name):
        choices = store.choices(p.name) if p.type == "enum" else None
        _place(root, p.address, "parameters").update(method_node(p, values.get(p.name), choices))
    if actions is not None:
        for a in ACTIONS.values():
            node = _place(root, a.address, "actions")
            method = action_node(a, actions.choices(a.name))
            if "CONTENTS" in node:
                # /liveart/scene holds scene.mix: OSC's methods are leaves (and clients such as
                # python-oscquery refuse a node that is both), so the container says it
                node["DESCRIPTION"] = (f"{node['DESCRIPTION']}; a message here does: "
                                       f"{method['DESCRIPTION']}")
            else:
                node.update(method)
    for r in READOUTS:
        _place(root, r.address, "readouts").update(readout_node(r))
    return root


def find_node(tree: dict, path: str) -> dict | None:
    node = tree
    for part in [s for s in path.split("/") if s]:
        node = node.get("CONTENTS", {}).get(part)
        if node is None:
            return None
    return node


def param_for(address: str) -> Param | None:
    if not address.startswith(OSC_PREFIX):
        return None
    return REGISTRY.get(address[len(OSC_PREFIX):].replace("/", "."))


def _header(request: Any, name: str) -> str | None:
    """The request's `name` header, None when absent; LookupError when sent twice."""
    values = request.headers.get_all(name)
    if len(values) > 1:
        raise LookupError(name)
    return values[0] if values else None


def mdns_host_name() -> str:
    """This machine's name in mDNS ('studio-pc.local.'), so that instances on two machines
    don't claim one host name."""
    name = socket.gethostname().split(".")[0].strip()
    return f"{name or 'liveart'}.local."


class _Client:
    """One websocket client: what it listens to, its share of the echo, how to answer it."""

    def __init__(self, connection: ServerConnection, loop: asyncio.AbstractEventLoop,
                 send: Any = None):
        host, port = connection.remote_address[:2]
        send = send or (lambda conns, d: broadcast(conns, d))
        # replies are made on the message path's thread: hand them to the loop
        self.remote = Remote(host, port, lambda d: loop.call_soon_threadsafe(
            send, [connection], d))
        self.listening: set[str] = set()
        self.echo = Echo(lambda d: send([connection], d), self.is_self,
                         lambda name: REGISTRY[name].address in self.listening)
        self.inbox: list[bytes] = []
        self.wake = asyncio.Event()
        self.drained = asyncio.Event()  # set each time the worker takes the inbox

    def is_self(self, peer: Any) -> bool:
        """The peer is this client, or sent by UDP from its machine (it may listen here)."""
        if isinstance(peer, Remote):
            return peer is self.remote
        return host_of(peer) == host_of(self.remote)


if hasattr(asyncio, "SelectorEventLoop") and hasattr(asyncio.SelectorEventLoop,
                                                     "_accept_connection"):
    class _Loop(asyncio.SelectorEventLoop):  # type: ignore[misc,valid-type]
        """asyncio's selector loop, accepting one connection per wake-up of the listening
        socket. asyncio (3.11-3.13) accepts up to `backlog` (100) in a loop and, when accept()
        fails for want of file descriptors, goes on: each failure logs a traceback and
        schedules another retry, a storm that grew to tens of thousands a second."""

        def _accept_connection(self, protocol_factory, sock, sslcontext=None, server=None,
                               backlog=100, *rest, **kwargs):
            return super()._accept_connection(protocol_factory, sock, sslcontext, server, 1,
                                              *rest, **kwargs)

    def _new_loop() -> asyncio.AbstractEventLoop:
        return _Loop()
else:  # pragma: no cover - Windows' proactor loop
    def _new_loop() -> asyncio.AbstractEventLoop:
        return asyncio.new_event_loop()


def _connection_class(owner: "OscQueryServer") -> type:
    """A ServerConnection that counts itself against `owner`'s limits as soon as it is
    accepted, and is closed there and then (before any byte is read) when over them."""

    class _Connection(ServerConnection):
        _counted: str | None = None

        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            super().connection_made(transport)
            self._counted = owner._admit(transport.get_extra_info("peername"))
            if self._counted is None:
                transport.abort()

        def connection_lost(self, exc: Exception | None) -> None:
            super().connection_lost(exc)
            counted, self._counted = self._counted, None
            if counted is not None:
                owner._release(counted)

    return _Connection


class OscQueryServer:
    """OSCQuery HTTP + websocket server for `store`, on its own thread and asyncio loop.

    `osc_port` is the UDP port liveart's OSC server listens on (advertised in HOST_INFO and as
    `_osc._udp`). `port=0` picks a free port; `.port` is the bound one after `start()`.
    `inbox`: the OSC server (a MessagePath) whose access policy, stats and actions the
    websocket shares; without one, a path of its own (with control.actions.Actions).
    `stats_source`, `health_source`: the readouts LISTEN follows (see osc.Readouts).
    `max_connections`, `max_per_address`, `idle_timeout`, `handshake_timeout`: the limits
    (module constants by default). `refusals` counts what they turned away, by kind.
    """

    def __init__(self, store: ParamStore, osc_port: int, host: str = "127.0.0.1",
                 port: int = 9001, name: str = "liveart", advertise: bool = True,
                 inbox: MessagePath | None = None, stats_source: StatsSource | None = None,
                 health_source: Any = None, max_connections: int = MAX_CONNECTIONS,
                 max_per_address: int = MAX_PER_ADDRESS, idle_timeout: float = IDLE_TIMEOUT,
                 handshake_timeout: float = HANDSHAKE_TIMEOUT):
        self.store, self.osc_port, self.host, self.name = store, osc_port, host, name
        self.max_connections, self.max_per_address = max_connections, max_per_address
        self.idle_timeout, self.handshake_timeout = idle_timeout, handshake_timeout
        self.local_names = LocalNames([host])
        self.refusals: collections.Counter = collections.Counter()
        self.open_connections: collections.Counter = collections.Counter()  # by address
        self._report = _RateLimitedLog(log)
        self._listenable = frozenset([p.address for p in REGISTRY.values()]
                                     + list(_READOUT_ADDRESSES))
        # the namespace's other nodes (containers, actions): a LISTEN there is no mistake,
        # but has nothing to follow
        self._nodes = frozenset("/" + "/".join(a.strip("/").split("/")[:i])
                                for a in list(self._listenable) + [a.address for a in
                                                                   ACTIONS.values()]
                                for i in range(len(a.strip("/").split("/")) + 1))
        self.advertise = advertise
        self.port = port
        if inbox is None:
            from .actions import Actions

            inbox = MessagePath(store, Actions(store))
        self.inbox = inbox
        self.readouts = Readouts(stats_source, health_source)
        self.services: list = []  # zeroconf ServiceInfo, once advertised
        self._requested_port = port
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server = None
        self._zeroconf = None
        self._tasks: list[asyncio.Task] = []
        self._clients: dict[ServerConnection, _Client] = {}

    # -- life cycle ----------------------------------------------------------------------------
    def start(self) -> None:
        """Bind and serve; raises UserError when the port is taken."""
        if self._loop is not None:
            return
        self._loop = _new_loop()
        self._loop.set_exception_handler(self._loop_error)
        self._thread = threading.Thread(target=self._loop.run_forever, name="oscquery",
                                        daemon=True)
        self._thread.start()
        try:
            asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(timeout=10)
        except OSError as e:
            self.stop()
            if e.errno == errno.EADDRINUSE:
                raise UserError(f"OSCQuery port {self._requested_port} is in use; pick another "
                                "with --oscquery-port.") from None
            raise UserError(f"OSCQuery can't listen on {self.host}:{self._requested_port} "
                            f"({e.strerror or e}).") from None
        log.info("OSCQuery on http://%s:%d/", self.host or "0.0.0.0", self.port)
        warn_if_public(log, "OSCQuery", self.host, self.inbox.policy)

    def stop(self) -> None:
        """Stop serving, withdraw the zeroconf adverts and end the thread. Safe to call twice."""
        loop, self._loop = self._loop, None
        if loop is None:
            return
        if loop.is_running():
            try:
                asyncio.run_coroutine_threadsafe(self._stop(), loop).result(timeout=10)
            except Exception as e:  # noqa: BLE001 - shutting down whatever happens
                log.debug("OSCQuery stop: %s", e)
            loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(timeout=5)
        loop.close()

    async def _start(self) -> None:
        self._server = await serve(self._on_websocket, self.host or None,
                                   self._requested_port, process_request=self._on_http,
                                   compression=None, logger=_ws_log,
                                   create_connection=_connection_class(self),
                                   open_timeout=self.handshake_timeout,
                                   max_size=MAX_MESSAGE)
        self.port = self._server.sockets[0].getsockname()[1]
        self._tasks.append(asyncio.create_task(self._poll()))
        if self.advertise:
            self._tasks.append(asyncio.create_task(self._advertise()))

    async def _stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        if self._zeroconf is not None:
            try:
                await self._zeroconf.async_unregister_all_services()
                await self._zeroconf.async_close()
            except Exception as e:  # noqa: BLE001
                log.debug("zeroconf close: %s", e)
            self._zeroconf = None
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    # -- the namespace -------------------------------------------------------------------------
    def tree(self) -> dict:
        """The namespace as JSON-ready dicts, with the current values."""
        return build_tree(self.store, self.name, self.inbox.actions)

    def host_info(self, local_ip: str | None = None) -> dict:
        """HOST_INFO; `local_ip` is the address the asking client reached us at."""
        ip = local_ip or (None if self.host in WILDCARD else self.host)
        info = {"NAME": self.name, "EXTENSIONS": dict(EXTENSIONS), "OSC_PORT": self.osc_port,
                "OSC_TRANSPORT": "UDP", "WS_PORT": self.port}
        if ip:
            info.update(OSC_IP=ip, WS_IP=ip)
        return info

    def query(self, path: str, attribute: str = "", local_ip: str | None = None
              ) -> tuple[int, dict | None]:
        """Answer GET `path`?`attribute`: (HTTP status, JSON body or None)."""
        if attribute == "HOST_INFO":
            return 200, self.host_info(local_ip)
        node = find_node(self.tree(), path)
        if node is None:
            return 404, None
        if not attribute:
            return 200, node
        if attribute not in ATTRIBUTES:
            return 400, None
        readable = node.get("ACCESS", 0) & 1 and any(v is not None for v in node["VALUE"])
        if attribute == "VALUE" and not readable:
            return 204, None  # nothing to read: a container, a trigger, an action, a readout
        return 200, {attribute: node[attribute]} if attribute in node else {}

    # -- HTTP ------------------------------------------------------------------------------------
    def _on_http(self, connection: ServerConnection, request):
        peer = peer_text(connection.remote_address)
        status, body = 0, None
        try:
            host, origin, upgrade = (_header(request, name)
                                     for name in ("Host", "Origin", "Upgrade"))
        except LookupError as e:
            host = origin = upgrade = None
            status, body = 400, None
            self._refuse("http", "OSCQuery refused a request from %s with more than one %s "
                         "header", peer, e)
        if self.inbox.refused(connection.remote_address, "OSCQuery"):
            status, body = 403, None  # the HTTP request, or the websocket's handshake
        elif status == 400:
            pass
        elif not self.local_names.host_ok(host):
            status, body = 403, None
            self._refuse("host", "OSCQuery refused a request from %s for Host %.60r, which "
                         "isn't this machine (a web page reached by DNS rebinding?)", peer,
                         host)
        elif not self.local_names.origin_ok(origin, self.inbox.policy):
            status, body = 403, None
            self._refuse("origin", "OSCQuery refused a %s from a web page at %.80r (only pages "
                         "from this machine, or from addresses --osc-allow names, may use it)",
                         "websocket" if upgrade else "request", origin)
        elif (upgrade or "").lower() == "websocket":
            return None  # go on with the websocket handshake
        else:
            url = urlsplit(request.path)
            path = unquote(url.path) or "/"
            attribute = url.query.split("&")[0].split("=")[0].upper()
            try:
                status, body = self.query(path, attribute, connection.local_address[0])
            except Exception as e:  # noqa: BLE001 - one request mustn't stop the server
                status, body = 500, None
                self._refuse("http", "OSCQuery couldn't answer %.80r (%s: %s)", request.path,
                             type(e).__name__, e, level=logging.ERROR)
        response = connection.respond(status, "")
        del response.headers["Content-Type"], response.headers["Content-Length"]
        if origin is not None and status != 403:  # an origin admitted above: name it
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Vary"] = "Origin"
        if status == 204:
            return response
        if body is None:
            body = {"ERROR": http.HTTPStatus(status).phrase}
        response.body = json.dumps(body).encode()
        response.headers["Content-Type"] = "application/json"
        response.headers["Content-Length"] = str(len(response.body))
        return response

    # -- limits --------------------------------------------------------------------------------
    def _refuse(self, kind: str, msg: str, *args: Any, level: int = logging.WARNING,
                why: str = "") -> None:
        """Count a refusal of `kind` and say so, at most once every 5 s per kind (and `why`)."""
        self.refusals[kind] += 1
        self._report(f"{kind}:{why}", level, msg, *args)

    def _admit(self, peername: Any) -> str | None:
        """A connection just accepted from `peername`: the address it is counted under, or
        None when it is one too many (it is closed at once)."""
        address = host_of(peername) or "?"
        total = sum(self.open_connections.values())
        if total >= self.max_connections or self.open_connections[address] >= \
                self.max_per_address:
            self._refuse("connections", "OSCQuery refused a connection from %s (%d open, "
                         "%d from that address; it takes %d, %d from one address)",
                         address, total, self.open_connections[address], self.max_connections,
                         self.max_per_address)
            return None
        self.open_connections[address] += 1
        return address

    def _release(self, address: str) -> None:
        self.open_connections[address] -= 1
        if self.open_connections[address] <= 0:
            del self.open_connections[address]

    def _loop_error(self, loop: asyncio.AbstractEventLoop, context: dict) -> None:
        """What asyncio would print with a traceback (e.g. `socket.accept() out of system
        resource` when the process has no file descriptors left): one line every 5 s."""
        msg, exc = context.get("message", "an error"), context.get("exception")
        self._report("loop:" + msg[:60], logging.WARNING, "OSCQuery: %s%s", msg,
                     f" ({exc})" if exc else "")

    def _send(self, connections: Sequence[ServerConnection], data: bytes | str) -> None:
        """broadcast(), except to a client that lets more than WRITE_BUFFER_LIMIT bytes wait
        (it doesn't read): that one is closed."""
        ready = []
        for conn in connections:
            transport = getattr(conn, "transport", None)
            try:
                waiting = transport.get_write_buffer_size() if transport is not None else 0
            except Exception:  # noqa: BLE001 - a transport already closed
                waiting = 0
            if waiting > WRITE_BUFFER_LIMIT:
                self._refuse("slow", "OSCQuery closed the websocket of %s: it doesn't read "
                             "what it is sent (%d KiB waiting)",
                             peer_text(conn.remote_address), waiting // 1024)
                transport.abort()
            else:
                ready.append(conn)
        if ready:
            broadcast(ready, data)

    # -- websocket -----------------------------------------------------------------------------
    async def _on_websocket(self, connection: ServerConnection) -> None:
        client = self._clients[connection] = _Client(connection, asyncio.get_running_loop(),
                                                     self._send)
        worker = asyncio.create_task(self._handle_osc(client))
        peer = peer_text(connection.remote_address)
        try:
            while True:
                try:
                    async with asyncio.timeout(self.idle_timeout):
                        message_ = await connection.recv()
                except TimeoutError:
                    if client.listening:
                        continue  # a listener may have nothing to say for hours
                    self._refuse("idle", "OSCQuery closed the websocket of %s: it sent nothing "
                                 "and listened to nothing for %g s", peer, self.idle_timeout,
                                 level=logging.INFO)
                    await connection.close(1000, "idle")
                    break
                if isinstance(message_, bytes):
                    client.inbox.append(message_)
                    client.wake.set()
                    while len(client.inbox) >= MAX_INBOX and not worker.done():
                        client.drained.clear()  # let the message path catch up first
                        await client.drained.wait()
                else:
                    self._command(client, message_, peer)
        except ConnectionClosed:
            pass
        except Exception as e:  # noqa: BLE001 - one client mustn't stop the server
            self._refuse("websocket", "OSCQuery closed the websocket of %s after an error "
                         "(%s: %s)", peer, type(e).__name__, e, level=logging.ERROR)
        finally:
            self._clients.pop(connection, None)
            client.listening.clear()  # what it followed goes with it
            client.inbox.append(b"")  # the end: what came before is still handled
            client.wake.set()
            await worker

    async def _handle_osc(self, client: _Client) -> None:
        """Hand the client's OSC messages to the message path, in order; the ones that came
        in while the last batch was handled go as one batch, so they coalesce as UDP's do."""
        while True:
            await client.wake.wait()
            client.wake.clear()
            batch, client.inbox[:] = list(client.inbox), []
            client.drained.set()
            done = b"" in batch
            batch = [(data, client.remote) for data in batch if data]
            if batch:  # off the loop: an action may write a file
                try:
                    await asyncio.to_thread(self.inbox.receive, batch)
                except Exception as e:  # noqa: BLE001 - the path counts its own problems
                    self._refuse("osc", "OSCQuery: OSC from %s failed (%s: %s)",
                                 peer_text(client.remote), type(e).__name__, e,
                                 level=logging.ERROR)
            if done:
                return

    def _command(self, client: _Client, text: str, peer: str = "a client") -> None:
        """A text message: LISTEN or IGNORE a path. Over-long or over-deep JSON is refused
        before it is parsed; a path that is too long or isn't in the namespace, and a LISTEN
        past MAX_LISTENS, are refused without being kept."""
        size = len(text.encode("utf-8", "surrogatepass"))
        if size > MAX_JSON:
            self._refuse("json", "OSCQuery ignored a websocket text message of %d KiB from %s "
                         "(commands are at most %d KiB)", size // 1024, peer, MAX_JSON // 1024,
                         why="long")
            return
        if json_too_deep(text):
            self._refuse("json", "OSCQuery ignored a websocket text message from %s nested "
                         "more than %d deep", peer, MAX_JSON_DEPTH, why="deep")
            return
        try:
            msg = json.loads(text)
            command, path = msg["COMMAND"], msg.get("DATA")
        except (ValueError, KeyError, TypeError, AttributeError, RecursionError):
            self._refuse("command", "OSCQuery ignored a websocket text message from %s that "
                         "isn't a command: %.80r", peer, text)
            return
        if command not in ("LISTEN", "IGNORE") or not isinstance(path, str):
            log.debug("OSCQuery: ignoring websocket command %.80r", command)
            return
        if command == "IGNORE":
            client.listening.discard(path)
        elif path in client.listening:
            pass
        elif len(path.encode("utf-8", "surrogatepass")) > MAX_PATH:
            self._refuse("listen", "OSCQuery ignored a LISTEN from %s to a path of %d bytes "
                         "(addresses are at most %d)", peer, len(path.encode("utf-8",
                         "surrogatepass")), MAX_PATH, why="long")
        elif path not in self._listenable:
            if path in self._nodes:  # a container or an action: nothing to follow there
                log.debug("OSCQuery: LISTEN to %s, which has no value to follow", path)
            else:
                self._refuse("listen", "OSCQuery ignored a LISTEN from %s to %.80r, which is "
                             "no address in the namespace", peer, path, why="unknown")
        elif len(client.listening) >= MAX_LISTENS:
            self._refuse("listen", "OSCQuery ignored a LISTEN from %s past %d addresses",
                         peer, MAX_LISTENS, why="many")
        else:
            client.listening.add(path)

    async def _poll(self) -> None:
        """Push to the listening clients: values that changed (see osc.Echo), triggers that
        fired, readouts as they come; PATH_CHANGED to every client when an enum's choices
        follow a value that changed (dream.layer's, dream.model)."""
        version, fires = self.store.version, self.store.fires
        touch_seq = self.inbox.touches.seq
        while True:
            await asyncio.sleep(1.0 / POLL_HZ)
            try:
                now = time.monotonic()
                version, changed = self.store.changed_since(version)
                fires, fired = self.store.fired_since(fires)
                touch_seq, touched = self.inbox.touches.since(touch_seq)
                self._push(changed, touched, fired, now)
            except Exception:  # noqa: BLE001 - one bad round mustn't stop the pushes
                log.exception("OSCQuery: a push round failed")

    def _follow_registry(self) -> None:
        """A scene file declared or dropped parameters (liveart/userscenes.py): every client
        gets PATH_ADDED / PATH_REMOVED with the address, and LISTEN can follow the new ones."""
        known = frozenset(p.address for p in REGISTRY.values())
        before = getattr(self, "_registry_addresses", None)
        self._registry_addresses = known
        if before is None or known == before:
            return
        for command, paths in (("PATH_ADDED", known - before), ("PATH_REMOVED", before - known)):
            for path in sorted(paths):
                self._send(list(self._clients), json.dumps({"COMMAND": command, "DATA": path}))
        self._listenable = frozenset(known | set(_READOUT_ADDRESSES))
        for client in self._clients.values():
            client.listening -= before - known

    def _push(self, changed: dict, touched: list, fired: set[str], now: float) -> None:
        self._follow_registry()
        for name in [d for c in changed for d in DEPENDENTS.get(c, ())]:
            self._send(list(self._clients), json.dumps({"COMMAND": "PATH_CHANGED",
                                                        "DATA": REGISTRY[name].address}))
        for client in self._clients.values():
            client.echo.offer(changed, touched)
            client.echo.flush(self.store, now)
        pushes = [(REGISTRY[n].address, message(REGISTRY[n].address)) for n in sorted(fired)]
        if any(_READOUT_ADDRESSES & c.listening for c in self._clients.values()):
            pushes += self.readouts.due(now)  # made only while someone follows one
        else:
            self.readouts.events_due(now)  # music notes nobody follows: let them go
        for address, dgram in pushes:
            self._send([conn for conn, c in self._clients.items() if address in c.listening],
                       dgram)

    # -- zeroconf --------------------------------------------------------------------------------
    async def _advertise(self) -> None:
        """Announce `_oscjson._tcp` and `_osc._udp`; any failure is logged once and ignored."""
        try:
            from zeroconf import InterfaceChoice, ServiceInfo
            from zeroconf.asyncio import AsyncZeroconf

            if self.host in WILDCARD:
                import ifaddr

                ips = [ip.ip for a in ifaddr.get_adapters() for ip in a.ips if ip.is_IPv4]
                interfaces = InterfaceChoice.All
            else:
                ips = [socket.gethostbyname(self.host)]
                interfaces = ips
            addresses = [socket.inet_aton(ip) for ip in ips]
            self._zeroconf = AsyncZeroconf(interfaces=interfaces)
            self.services = [
                ServiceInfo(kind, f"{self.name}.{kind}", port=port, addresses=addresses,
                            server=mdns_host_name())
                for kind, port in (("_oscjson._tcp.local.", self.port),
                                   ("_osc._udp.local.", self.osc_port))]
            for info in self.services:
                # The call returns once queued; the task it gives ends when the name is ours.
                await (await self._zeroconf.async_register_service(info, allow_name_change=True))
        except asyncio.CancelledError:
            raise
        except Exception as e:  # noqa: BLE001 - advertising is a convenience, never fatal
            log.warning("OSCQuery: zeroconf advertising failed (%s); connect by address instead.",
                        e)

