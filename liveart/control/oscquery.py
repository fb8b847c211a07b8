"""OSCQuery: lets TouchDesigner, ossia score, Chataigne, VDMX... discover and browse liveart.

Implements the OSCQuery proposal (https://github.com/Vidvox/OSCQueryProposal) on one port:

* `GET /` is the whole namespace as JSON, `GET /liveart/dream/octaves` one node, and
  `GET /liveart/dream/octaves?VALUE` one attribute (`{"VALUE": [4]}`); `?HOST_INFO` on any
  path says where the OSC server is. Unknown path: 404. Unknown or unsupported attribute: 400.
  `?VALUE` of a node that can't be read (a container, a trigger): 204.
* A websocket on the same port takes `{"COMMAND": "LISTEN", "DATA": "/liveart/dream/mix"}`
  and `IGNORE`, and pushes binary OSC messages when a listened value changes (the store is
  polled ~30 times a second). Binary OSC messages from the client set values like OSC does.
* The service is advertised with zeroconf as `_oscjson._tcp` (and the OSC port as `_osc._udp`),
  on the address the server is bound to (loopback unless the user binds elsewhere).

Types: float "f", int "i", enum and str "s" (an enum lists its choices in RANGE VALS), bool
"T"/"F" (the type tag is the value, as libossia writes it; VALUE also holds the JSON boolean),
trigger "I" (impulse) with ACCESS 2: write-only. Containers have ACCESS 0.
"""
from __future__ import annotations

import asyncio
import errno
import http
import json
import logging
import socket
import threading
from typing import Any
from urllib.parse import unquote, urlsplit

from pythonosc.osc_packet import OscPacket
from websockets.asyncio.server import ServerConnection, broadcast, serve
from websockets.exceptions import ConnectionClosed

from ..errors import UserError
from ..params import OSC_PREFIX, REGISTRY, Param, ParamStore
from .osc import value_message

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
                                "LISTEN")}
# Our units -> the proposal's list (units.md); anything else is passed on as written.
UNITS = {"px": "distance.pixels", "deg": "angle.degree", "s": "time.second", "ms": "time.ms",
         "hz": "time.hz", "bpm": "time.bpm", "db": "gain.db"}
TYPE_TAGS = {"float": "f", "int": "i", "enum": "s", "str": "s", "trigger": "I"}


def method_node(p: Param, value: Any) -> dict:
    """The OSCQuery attributes of parameter `p` holding `value`."""
    node: dict[str, Any] = {"FULL_PATH": p.address, "DESCRIPTION": p.description}
    if p.type == "trigger":
        # Write-only; VALUE holds the JSON null the proposal uses for I, so clients that
        # expect every method to carry a VALUE array still parse it.
        return {**node, "TYPE": "I", "ACCESS": 2, "VALUE": [None]}
    node["ACCESS"] = 3
    if p.type == "bool":
        node.update(TYPE="T" if value else "F", VALUE=[bool(value)])
    else:
        node["TYPE"] = TYPE_TAGS[p.type]
        node["VALUE"] = [value]
    if p.type in ("float", "int"):
        cast = float if p.type == "float" else int
        node.update(VALUE=[cast(value)], RANGE=[{"MIN": cast(p.min), "MAX": cast(p.max)}],
                    CLIPMODE=["both"])
    elif p.type == "enum":
        node["RANGE"] = [{"VALS": list(p.choices)}]
    if p.unit:
        node["UNIT"] = [UNITS.get(p.unit.lower(), p.unit)]
    return node


def build_tree(values: dict[str, Any], description: str = "liveart") -> dict:
    """The whole namespace: containers /liveart, /liveart/dream... holding every parameter."""
    root: dict[str, Any] = {"FULL_PATH": "/", "ACCESS": 0, "DESCRIPTION": description,
                            "CONTENTS": {}}
    for p in sorted(REGISTRY.values(), key=lambda p: p.name):
        node, parts = root, p.address.strip("/").split("/")
        for i, part in enumerate(parts):
            node = node.setdefault("CONTENTS", {}).setdefault(part, {
                "FULL_PATH": "/" + "/".join(parts[:i + 1]), "ACCESS": 0,
                "DESCRIPTION": f"{part} parameters"})
        node.update(method_node(p, values.get(p.name)))
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


class OscQueryServer:
    """OSCQuery HTTP + websocket server for `store`, on its own thread and asyncio loop.

    `osc_port` is the UDP port liveart's OSC server listens on (advertised in HOST_INFO and as
    `_osc._udp`). `port=0` picks a free port; `.port` is the bound one after `start()`.
    """

    def __init__(self, store: ParamStore, osc_port: int, host: str = "127.0.0.1",
                 port: int = 9001, name: str = "liveart", advertise: bool = True):
        self.store, self.osc_port, self.host, self.name = store, osc_port, host, name
        self.advertise = advertise
        self.port = port
        self.services: list = []  # zeroconf ServiceInfo, once advertised
        self._requested_port = port
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server = None
        self._zeroconf = None
        self._tasks: list[asyncio.Task] = []
        self._listeners: dict[ServerConnection, set[str]] = {}  # client -> listened addresses

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
        return build_tree(self.store.targets(), self.name)

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
        if attribute == "VALUE" and not node.get("ACCESS", 0) & 1:
            return 204, None  # nothing to read: a container or a write-only trigger
        return 200, {attribute: node[attribute]} if attribute in node else {}

    # -- HTTP ------------------------------------------------------------------------------------
    def _on_http(self, connection: ServerConnection, request):
        if request.headers.get("Upgrade", "").lower() == "websocket":
            return None  # go on with the websocket handshake
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
        listening = self._listeners.setdefault(connection, set())
        try:
            async for message in connection:
                if isinstance(message, bytes):
                    self._receive_osc(message)
                else:
                    self._command(listening, message)
        except ConnectionClosed:
            pass
        finally:
            self._listeners.pop(connection, None)

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

    def _receive_osc(self, data: bytes) -> None:
        try:
            messages = [m.message for m in OscPacket(data).messages]
        except Exception:  # noqa: BLE001 - python-osc raises several kinds on bad input
            log.warning("OSCQuery: ignoring a websocket binary message that isn't OSC")
            return
        for m in messages:
            p = param_for(m.address)
            if p is None:
                log.warning("OSCQuery: no parameter at %s", m.address)
                continue
            args = list(m.params)
            if not args and p.type != "trigger":
                continue
            try:
                value = p.coerce(args[0], remote=True) if args else True
                self.store.set(p.name, value)
            except UserError as e:
                log.warning("OSCQuery: %s", e)

    async def _poll(self) -> None:
        """Push listened values that changed since the last look."""
        last = self.store.targets()
        while True:
            await asyncio.sleep(1.0 / POLL_HZ)
            now = self.store.targets()
            for name in [n for n, v in now.items() if last.get(n) != v]:
                p = REGISTRY[name]
                clients = [c for c, paths in self._listeners.items() if p.address in paths]
                if clients:
                    try:
                        broadcast(clients, value_message(p, now[name]))
                    except Exception as e:  # noqa: BLE001 - one bad value mustn't stop pushes
                        log.warning("OSCQuery: can't send %s=%r: %s", name, now[name], e)
            last = now

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
                            server=f"{self.name}.local.")
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

