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
* The service is advertised with zeroconf as `_oscjson._tcp` (and the OSC port as `_osc._udp`),
  on the address the server is bound to (loopback unless the user binds elsewhere), under this
  machine's host name.

Types: float "f", int "i", enum and str "s" (an enum lists its choices in RANGE VALS: those it
has now), bool "T"/"F" (the type tag is the value, as libossia writes it; VALUE also holds the
JSON boolean), trigger "I" (impulse) with ACCESS 2: write-only. Containers have ACCESS 0.
"""
from __future__ import annotations

import asyncio
import errno
import http
import json
import logging
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
from .osc import Echo, MessagePath, Readouts, StatsSource
from .wire import Remote, host_of, message, oscquery_type, warn_if_public

log = logging.getLogger(__name__)
# websockets logs every plain HTTP answer as a "rejected" handshake at INFO: keep that quiet.
_ws_log = logging.getLogger(__name__ + ".websockets")
_ws_log.setLevel(logging.WARNING)

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


def mdns_host_name() -> str:
    """This machine's name in mDNS ('studio-pc.local.'), so that instances on two machines
    don't claim one host name."""
    name = socket.gethostname().split(".")[0].strip()
    return f"{name or 'liveart'}.local."


class _Client:
    """One websocket client: what it listens to, its share of the echo, how to answer it."""

    def __init__(self, connection: ServerConnection, loop: asyncio.AbstractEventLoop):
        host, port = connection.remote_address[:2]
        # replies are made on the message path's thread: hand them to the loop
        self.remote = Remote(host, port, lambda d: loop.call_soon_threadsafe(
            broadcast, [connection], d))
        self.listening: set[str] = set()
        self.echo = Echo(lambda d: broadcast([connection], d), self.is_self,
                         lambda name: REGISTRY[name].address in self.listening)
        self.inbox: list[bytes] = []
        self.wake = asyncio.Event()

    def is_self(self, peer: Any) -> bool:
        """The peer is this client, or sent by UDP from its machine (it may listen here)."""
        if isinstance(peer, Remote):
            return peer is self.remote
        return host_of(peer) == host_of(self.remote)


class OscQueryServer:
    """OSCQuery HTTP + websocket server for `store`, on its own thread and asyncio loop.

    `osc_port` is the UDP port liveart's OSC server listens on (advertised in HOST_INFO and as
    `_osc._udp`). `port=0` picks a free port; `.port` is the bound one after `start()`.
    `inbox`: the OSC server (a MessagePath) whose access policy, stats and actions the
    websocket shares; without one, a path of its own (with control.actions.Actions).
    `stats_source`, `health_source`: the readouts LISTEN follows (see osc.Readouts).
    """

    def __init__(self, store: ParamStore, osc_port: int, host: str = "127.0.0.1",
                 port: int = 9001, name: str = "liveart", advertise: bool = True,
                 inbox: MessagePath | None = None, stats_source: StatsSource | None = None,
                 health_source: Any = None):
        self.store, self.osc_port, self.host, self.name = store, osc_port, host, name
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
        self._loop = asyncio.new_event_loop()
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
                                   compression=None, logger=_ws_log)
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
        if self.inbox.refused(connection.remote_address, "OSCQuery"):
            status, body = 403, None  # the HTTP request, or the websocket's handshake
        elif request.headers.get("Upgrade", "").lower() == "websocket":
            return None  # go on with the websocket handshake
        else:
            url = urlsplit(request.path)
            path = unquote(url.path) or "/"
            attribute = url.query.split("&")[0].split("=")[0].upper()
            status, body = self.query(path, attribute, connection.local_address[0])
        response = connection.respond(status, "")
        del response.headers["Content-Type"], response.headers["Content-Length"]
        response.headers["Access-Control-Allow-Origin"] = "*"
        if status == 204:
            return response
        if body is None:
            body = {"ERROR": http.HTTPStatus(status).phrase}
        response.body = json.dumps(body).encode()
        response.headers["Content-Type"] = "application/json"
        response.headers["Content-Length"] = str(len(response.body))
        return response

    # -- websocket -----------------------------------------------------------------------------
    async def _on_websocket(self, connection: ServerConnection) -> None:
        client = self._clients[connection] = _Client(connection, asyncio.get_running_loop())
        worker = asyncio.create_task(self._handle_osc(client))
        try:
            async for message_ in connection:
                if isinstance(message_, bytes):
                    client.inbox.append(message_)
                    client.wake.set()
                else:
                    self._command(client.listening, message_)
        except ConnectionClosed:
            pass
        finally:
            self._clients.pop(connection, None)
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
            done = b"" in batch
            batch = [(data, client.remote) for data in batch if data]
            if batch:  # off the loop: an action may write a file
                await asyncio.to_thread(self.inbox.receive, batch)
            if done:
                return

    def _command(self, listening: set[str], text: str) -> None:
        try:
            msg = json.loads(text)
            command, path = msg["COMMAND"], msg.get("DATA")
        except (ValueError, KeyError, TypeError):
            log.warning("OSCQuery: ignoring a websocket message that isn't a command: %.80s",
                        text)
            return
        if command == "LISTEN" and isinstance(path, str):
            listening.add(path)
        elif command == "IGNORE" and isinstance(path, str):
            listening.discard(path)
        else:
            log.debug("OSCQuery: ignoring websocket command %r", command)

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

    def _push(self, changed: dict, touched: list, fired: set[str], now: float) -> None:
        for name in [d for c in changed for d in DEPENDENTS.get(c, ())]:
            broadcast(list(self._clients), json.dumps({"COMMAND": "PATH_CHANGED",
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
            broadcast([conn for conn, c in self._clients.items() if address in c.listening],
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

