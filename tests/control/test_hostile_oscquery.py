"""OSCQuery against hostile clients (findings 8-10 of a hostile test of a running show): web
pages from elsewhere, DNS rebinding, floods of LISTENs and connections, idle and deep-JSON
clients. A real OscQueryServer on loopback; each problem is refused, counted in `refusals`
and logged at most once per interval, and the show goes on."""
from __future__ import annotations

import asyncio
import http.client
import json
import logging
import os
import socket
import subprocess
import sys
import textwrap
import time

import pytest
import websockets.asyncio.client as websockets_client
from websockets.exceptions import ConnectionClosed, InvalidStatus

from liveart.control import oscquery
from liveart.control.actions import Actions
from liveart.control.osc import MessagePath
from liveart.control.oscquery import OscQueryServer, json_too_deep
from liveart.params import REGISTRY
from liveart.params.actions import READOUTS

from ..conftest import wait_for
from .test_osc import build


@pytest.fixture
def server(store):
    started = []

    def start(allow=(), **limits) -> OscQueryServer:
        inbox = MessagePath(store, Actions(store), allow=allow)
        srv = OscQueryServer(store, 9000, port=0, advertise=False, inbox=inbox, **limits)
        srv.start()
        started.append(srv)
        return srv

    yield start
    for srv in started:
        srv.stop()


def get(srv, path: str = "/", headers: dict | None = None) -> tuple[int, dict]:
    """GET `path` with `headers` (a Host among them replaces the usual one)."""
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=5)
    try:
        conn.request("GET", path, headers=headers or {})
        r = conn.getresponse()
        r.read()
        return r.status, dict(r.getheaders())
    finally:
        conn.close()


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:")) / 1024


def lines(caplog, text: str) -> int:
    return sum(text in r.getMessage() for r in caplog.records)


def set_mix(port: int, value: float, **connect) -> None:
    """Set dream.mix over the websocket (binary OSC), as a controller page would."""
    async def go():
        async with websockets_client.connect(f"ws://127.0.0.1:{port}/", **connect) as ws:
            await ws.send(build("/liveart/dream/mix", (value, "f")))
            await asyncio.sleep(0.2)

    asyncio.run(go())


@pytest.fixture(autouse=True)
def _info_logs(caplog):
    """The idle close is logged at INFO; the rest at WARNING."""
    caplog.set_level(logging.INFO, logger="liveart")


# -- finding 8: any web page could drive the show -------------------------------------------
def test_websocket_from_a_page_elsewhere_is_refused(server, store, caplog):
    srv = server()
    before = store.get("dream.mix")
    for _ in range(5):
        with pytest.raises(InvalidStatus) as e:
            set_mix(srv.port, 0.125, origin="http://evil.example")
        assert e.value.response.status_code == 403
    assert store.get("dream.mix") == before
    assert srv.refusals["origin"] == 5
    assert lines(caplog, "refused a websocket from a web page at 'http://evil.example'") == 1
    # no Origin (TouchDesigner, ossia...), and pages from this machine, play as before
    set_mix(srv.port, 0.25)
    assert store.get("dream.mix") == pytest.approx(0.25)
    for origin in ("http://localhost:5173", "http://127.0.0.1:8080", "http://[::1]",
                   f"http://{socket.gethostname()}:3000"):
        set_mix(srv.port, 0.5, origin=origin)
        assert store.get("dream.mix") == pytest.approx(0.5)
        store.set("dream.mix", 0.25)
    with pytest.raises(InvalidStatus):  # a sandboxed frame or a file: no telling whose
        set_mix(srv.port, 0.125, origin="null")


def test_websocket_origins_follow_osc_allow(server, store):
    srv = server(allow=["127.0.0.0/8", "10.20.0.0/16"])
    set_mix(srv.port, 0.5, origin="http://10.20.3.4:8000")  # a tablet --osc-allow names
    assert store.get("dream.mix") == pytest.approx(0.5)
    for origin in ("http://10.21.0.1", "http://tablet.example"):
        with pytest.raises(InvalidStatus):
            set_mix(srv.port, 0.125, origin=origin)
    assert store.get("dream.mix") == pytest.approx(0.5)
    assert srv.refusals["origin"] == 2


def test_http_names_the_admitted_origin_never_star(server):
    srv = server()
    status, headers = get(srv, "/liveart/dream/mix?VALUE")
    assert status == 200 and "Access-Control-Allow-Origin" not in headers
    status, headers = get(srv, "/liveart/dream/mix?VALUE", {"Origin": "http://localhost:5173"})
    assert status == 200 and headers["Access-Control-Allow-Origin"] == "http://localhost:5173"
    assert headers["Vary"] == "Origin"
    status, headers = get(srv, "/", {"Origin": "http://evil.example"})
    assert status == 403 and "Access-Control-Allow-Origin" not in headers


def test_http_host_must_name_this_machine(server, caplog):
    """DNS rebinding: evil.example resolves to 127.0.0.1, the browser sends Host: evil.example."""
    srv = server()
    for _ in range(20):
        assert get(srv, "/", {"Host": f"evil.example:{srv.port}"})[0] == 403
    assert srv.refusals["host"] == 20
    assert lines(caplog, "for Host 'evil.example:") == 1  # one line for 20 refusals
    for host in (f"127.0.0.1:{srv.port}", f"localhost:{srv.port}", "[::1]",
                 socket.gethostname(), f"{socket.gethostname().split('.')[0]}.local"):
        assert get(srv, "/", {"Host": host})[0] == 200, host
    assert get(srv, "/", {"Host": ""})[0] == 403

    # the websocket's handshake carries the Host too
    with socket.create_connection(("127.0.0.1", srv.port), timeout=5) as s:
        s.sendall(b"GET / HTTP/1.1\r\nHost: evil.example\r\nUpgrade: websocket\r\n"
                  b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                  b"Sec-WebSocket-Version: 13\r\n\r\n")
        assert s.recv(100).startswith(b"HTTP/1.1 403")
    assert srv.refusals["host"] == 22  # 20, the empty Host and this one


def test_a_duplicated_header_is_refused_in_one_line(server, caplog):
    srv = server()
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=5)
    conn.putrequest("GET", "/", skip_host=True)
    conn.putheader("Host", "127.0.0.1")
    conn.putheader("Host", "evil.example")
    conn.endheaders()
    assert conn.getresponse().status == 400
    conn.close()
    assert "Traceback" not in caplog.text and get(srv)[0] == 200


# -- finding 9: memory and file descriptors without bound --------------------------------------
def test_listen_flood_keeps_no_memory(server, store, caplog):
    """3,000 LISTENs to 60 KB paths kept 180 MB before; now nothing unknown is kept."""
    srv = server()
    before = rss_mb()

    async def flood():
        async with websockets_client.connect(f"ws://127.0.0.1:{srv.port}/") as ws:
            for i in range(3000):
                path = "/liveart/" + f"{i:05d}" + "x" * 60_000
                await ws.send(json.dumps({"COMMAND": "LISTEN", "DATA": path}))
            for i in range(3000):  # unknown short paths: refused, not stored
                await ws.send(json.dumps({"COMMAND": "LISTEN", "DATA": f"/nothing/{i}"}))
            for p in REGISTRY.values():  # every real address: followed
                await ws.send(json.dumps({"COMMAND": "LISTEN", "DATA": p.address}))
            for r in READOUTS:
                await ws.send(json.dumps({"COMMAND": "LISTEN", "DATA": r.address}))
            await ws.send(json.dumps({"COMMAND": "LISTEN", "DATA": "/liveart/dream"}))
            # the connection still works: a query is answered
            await ws.send(build("/liveart/dream/octaves"))
            reply = await asyncio.wait_for(ws.recv(), 5)
            client = next(iter(srv._clients.values()))
            return reply, set(client.listening), client

    t0 = time.monotonic()
    reply, listening, client = asyncio.run(flood())
    seconds = time.monotonic() - t0
    grown = rss_mb() - before
    print(f"RSS grew {grown:.1f} MB over 3,000 LISTENs of 60 KB paths ({seconds:.1f} s)")
    assert grown < 40, grown  # 180 MB of paths were kept before
    assert listening == {p.address for p in REGISTRY.values()} | {r.address for r in READOUTS}
    assert isinstance(reply, bytes)
    assert srv.refusals["listen"] == 6000
    assert lines(caplog, "to a path of 60014 bytes") == 1  # one line per kind for 3,000
    assert lines(caplog, "which is no address in the namespace") == 1
    wait_for(lambda: not srv._clients, what="the client gone")
    assert client.listening == set()  # freed when it left


def test_listens_per_client_are_capped(server, monkeypatch):
    monkeypatch.setattr(oscquery, "MAX_LISTENS", 10)
    srv = server()

    async def go():
        async with websockets_client.connect(f"ws://127.0.0.1:{srv.port}/") as ws:
            for p in list(REGISTRY.values())[:20]:
                await ws.send(json.dumps({"COMMAND": "LISTEN", "DATA": p.address}))
            await ws.send(build("/liveart/dream/octaves"))
            await asyncio.wait_for(ws.recv(), 5)
            return len(next(iter(srv._clients.values())).listening)

    assert asyncio.run(go()) == 10
    assert srv.refusals["listen"] == 10


def open_sockets(port: int, count: int, source: str = "127.0.0.1",
                 wait: bool = True) -> list[socket.socket]:
    """`count` TCP connections from `source`; `wait=False`: don't wait for them to be
    accepted (a server whose accept queue is full lets the client's SYN wait)."""
    socks = []
    for _ in range(count):
        s = socket.socket()
        s.bind((source, 0))
        if wait:
            s.connect(("127.0.0.1", port))
        else:
            s.setblocking(False)
            s.connect_ex(("127.0.0.1", port))
        socks.append(s)
    return socks


def closed_by_server(s: socket.socket, timeout: float = 3.0) -> bool:
    s.settimeout(timeout)
    try:
        return s.recv(1) == b""
    except (ConnectionResetError, socket.timeout):
        return not isinstance(sys.exc_info()[1], socket.timeout)


def test_connections_are_capped_per_address_and_in_all(server, caplog):
    srv = server()  # the defaults: 64 in all, 16 from one address
    local = open_sockets(srv.port, 40)
    end = time.monotonic() + 1.5  # closed as they are accepted, not by a timeout
    assert sum(closed_by_server(s, max(0.01, end - time.monotonic())) for s in local[16:]) == 24
    wait_for(lambda: sum(srv.open_connections.values()) == 16
             and srv.refusals["connections"] == 24, what="16 admitted from 127.0.0.1")
    others = [open_sockets(srv.port, 20, f"127.0.0.{i}") for i in (2, 3, 4, 5)]
    wait_for(lambda: sum(srv.open_connections.values()) == 64, what="64 open")
    # .2, .3 and .4 get 16 each (4 refused each), .5 none: 64 in all
    wait_for(lambda: srv.refusals["connections"] == 24 + 3 * 4 + 20, what="the rest refused")
    print(f"connections: {sum(srv.open_connections.values())} open, "
          f"{srv.refusals['connections']} refused of 120")
    assert lines(caplog, "OSCQuery refused a connection") == 1
    for s in local + [s for group in others for s in group]:
        s.close()
    wait_for(lambda: not srv.open_connections, what="every slot given back")
    assert get(srv)[0] == 200  # the show goes on


def test_idle_connections_are_closed(server):
    srv = server(idle_timeout=0.5, handshake_timeout=0.5)
    (raw,) = open_sockets(srv.port, 1)  # connects, never sends a request
    assert closed_by_server(raw, 3.0)

    async def go():
        async with websockets_client.connect(f"ws://127.0.0.1:{srv.port}/") as idle, \
                websockets_client.connect(f"ws://127.0.0.1:{srv.port}/") as listener:
            await listener.send(json.dumps({"COMMAND": "LISTEN", "DATA": "/liveart/dream/mix"}))
            with pytest.raises(ConnectionClosed):
                await asyncio.wait_for(idle.recv(), 3)
            assert idle.close_code == 1000 and idle.close_reason == "idle"
            await asyncio.sleep(0.8)
            await listener.send(build("/liveart/dream/octaves"))  # still open
            return await asyncio.wait_for(listener.recv(), 3)

    assert isinstance(asyncio.run(go()), bytes)
    assert srv.refusals["idle"] == 1


def test_a_client_that_doesnt_read_is_closed(server):
    srv = server()
    aborted = []

    class Transport:
        def get_write_buffer_size(self):
            return oscquery.WRITE_BUFFER_LIMIT + 1

        def abort(self):
            aborted.append(True)

    class Conn:
        transport = Transport()
        remote_address = ("127.0.0.1", 5000)

    srv._send([Conn()], b"x")
    assert aborted == [True] and srv.refusals["slow"] == 1


CHILD = textwrap.dedent("""
    import logging, resource, sys, os
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    from liveart import scenes
    from liveart.params import ParamStore
    from liveart.control.oscquery import OscQueryServer
    from liveart.health import HealthReport, StatusServer
    q = OscQueryServer(ParamStore(), 9000, port=0, advertise=False)
    q.start()
    status = StatusServer(HealthReport(), "127.0.0.1", 0).start()
    used = len(os.listdir("/proc/self/fd"))
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (used + 12, hard))
    print(q.port, status.port, used + 12, flush=True)
    for line in sys.stdin:
        r = resource.getrusage(resource.RUSAGE_SELF)
        print(r.ru_utime + r.ru_stime, flush=True)
""")


def test_out_of_file_descriptors_is_one_line_and_the_show_goes_on(tmp_path):
    """~1,000 local connections used up the 1024-file limit: asyncio printed a traceback for
    each failed accept() and the status page spun on its listening socket. Here the limit is
    lowered to what the servers use + 12 and 60 connections are made to each."""
    env = dict(os.environ, PYTHONPATH=os.getcwd())
    child = subprocess.Popen([sys.executable, "-c", CHILD], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=open(tmp_path / "err", "w"),
                             text=True, env=env)
    socks: list[socket.socket] = []
    try:
        qport, sport, limit = map(int, child.stdout.readline().split())
        child.stdin.write("cpu\n")
        child.stdin.flush()
        cpu0 = float(child.stdout.readline())
        socks = open_sockets(qport, 60, wait=False) + open_sockets(sport, 60, wait=False)
        time.sleep(3.0)
        child.stdin.write("cpu\n")
        child.stdin.flush()
        cpu = float(child.stdout.readline()) - cpu0
        for s in socks:
            s.close()
        socks = []
        # the show goes on: both answer again once the connections are gone
        deadline = time.monotonic() + 12
        answered = set()
        while time.monotonic() < deadline and len(answered) < 2:
            for port, path in ((qport, "/"), (sport, "/health.json")):
                try:
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                    conn.request("GET", path)
                    if conn.getresponse().status == 200:
                        answered.add(port)
                    conn.close()
                except OSError:
                    pass
            time.sleep(0.2)
    finally:
        for s in socks:
            s.close()
        child.stdin.close()
        child.wait(timeout=10)
    err = (tmp_path / "err").read_text()
    print(f"fd limit {limit}: CPU {cpu:.2f} s over 3 s of exhaustion; stderr "
          f"{len(err.splitlines())} lines:\n{err}")
    assert answered == {qport, sport}
    assert "Traceback" not in err
    # a line when it starts and one every 5 s per server, far from one per failed accept()
    assert len(err.splitlines()) <= 8, err
    assert cpu < 1.0  # the status page spun at 100% before


# -- finding 10: deep JSON ---------------------------------------------------------------------
def test_deep_or_long_json_is_refused_before_parsing(server, caplog):
    srv = server()

    async def go():
        async with websockets_client.connect(f"ws://127.0.0.1:{srv.port}/") as ws:
            await ws.send("[" * 100_000)  # 100 KB: too long
            await ws.send("[" * 30_000)  # 30 KB: too deep
            await ws.send("{" * 33 + "}" * 33)
            await ws.send(json.dumps({"COMMAND": "LISTEN", "DATA": "/liveart/dream/octaves",
                                      "note": "[[[[ {{{{ " * 20 + '\\" ['}))
            await ws.send(build("/liveart/dream/octaves"))
            await asyncio.wait_for(ws.recv(), 5)  # still open: the query is answered
            return set(next(iter(srv._clients.values())).listening)

    assert asyncio.run(go()) == {"/liveart/dream/octaves"}
    assert srv.refusals["json"] == 3
    assert "RecursionError" not in caplog.text and "Traceback" not in caplog.text
    assert lines(caplog, "OSCQuery ignored a websocket text message of 97 KiB") == 1
    assert lines(caplog, "nested more than 32 deep") == 1  # two too deep: one line


def test_json_depth_is_read_without_recursion():
    assert not json_too_deep('{"COMMAND": "LISTEN", "DATA": "/a"}')
    assert not json_too_deep("[" * 32 + "]" * 32)
    assert json_too_deep("[" * 33)
    assert not json_too_deep('["' + "[" * 100 + '"]')  # brackets in a string don't count
    assert not json_too_deep('["\\"' + "[" * 100 + '"]')  # nor after an escaped quote
    t0 = time.perf_counter()
    assert not json_too_deep('"' + '\\"' * 30_000)  # linear, however the quotes fall
    assert time.perf_counter() - t0 < 1.0


