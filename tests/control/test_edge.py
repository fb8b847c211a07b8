"""One wire edge: OSC over UDP and over OSCQuery's websocket take the same path (access policy,
coalescing, stats, actions), as `liveart run` wires them (cli._start_osc), over real sockets."""
from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
import urllib.error
import urllib.request
from types import SimpleNamespace

import pytest
import websockets.asyncio.client as websockets_client
from pythonosc.osc_message import OscMessage
from websockets.exceptions import InvalidStatus

from liveart.cli import _start_osc, build_parser
from liveart.control import oscquery
from liveart.control.actions import Actions
from liveart.params.actions import ACTIONS, READOUTS
from liveart.params.dream import MODEL_LAYERS

from ..conftest import wait_for
from .test_osc import build, query


def fake_engine(fps: float = 29.5):
    scene = SimpleNamespace(labels=lambda: [("tabby", 0.6)], summary=None)
    return SimpleNamespace(scene=scene, stats=SimpleNamespace(fps=lambda: fps))


@pytest.fixture
def show(store, monkeypatch):
    """start(*run_options) -> (OscSession, OscQueryServer), started as `liveart run` starts
    them (no zeroconf advert); stopped at the end."""
    async def no_advert(self):
        return None

    monkeypatch.setattr(oscquery.OscQueryServer, "_advertise", no_advert)
    started = []

    def start(*argv: str, health=None):
        args = build_parser().parse_args(["run", "--osc-port", "0", "--oscquery-port", "0", *argv])
        controls = _start_osc(store, Actions(store), fake_engine(), args, health=health)
        started.extend(controls)
        query_server, osc = controls
        return osc, query_server

    yield start
    for control in started:
        control.stop()


def http(server, path: str) -> tuple[int, dict | None]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{server.port}{path}", timeout=5) as r:
            body, status = r.read(), r.status
    except urllib.error.HTTPError as e:
        status, body = e.code, e.read()
    return status, (json.loads(body) if body else None)


def udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Recorder:
    """Every OSC message arriving on a UDP socket, with its arrival time, on a thread."""

    def __init__(self, sock: socket.socket):
        self.sock, self.got = sock, []
        sock.settimeout(0.05)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                data = self.sock.recv(65536)
            except (socket.timeout, OSError):
                continue
            m = OscMessage(data)
            self.got.append((m.address, m.params, time.monotonic()))

    def values(self, address: str) -> list:
        return [(params, t) for a, params, t in list(self.got) if a == address]

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        self.sock.close()


def bound(host: str, port: int = 0) -> socket.socket:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((host, port))
    return s


async def recv_osc(ws, timeout: float = 3.0) -> OscMessage:
    while True:
        data = await asyncio.wait_for(ws.recv(), timeout)
        if isinstance(data, bytes):
            return OscMessage(data)


# -- bug: --osc-allow was bypassed over the OSCQuery websocket ---------------------------------
def test_osc_allow_holds_for_udp_websocket_and_http(show, store):
    osc, query_server = show("--osc-allow", "10.99.0.0/16")
    before = store.get("dream.mix")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.sendto(build("/liveart/dream/mix", (0.125, "f")), ("127.0.0.1", osc.server.port))
    wait_for(lambda: osc.server.stats["refused"] == 1, what="the UDP message refused")

    async def over_the_websocket():
        async with websockets_client.connect(f"ws://127.0.0.1:{query_server.port}/") as ws:
            await ws.send(build("/liveart/dream/mix", (0.125, "f")))
            await asyncio.sleep(0.3)

    with pytest.raises(InvalidStatus) as e:
        asyncio.run(over_the_websocket())
    assert e.value.response.status_code == 403
    assert http(query_server, "/liveart/dream/mix?VALUE") == (403, {"ERROR": "Forbidden"})
    assert store.get("dream.mix") == before
    assert osc.server.stats["refused"] == 3  # counted where the UDP refusals are


def test_oscquery_beyond_loopback_warns_as_osc_does(store, caplog):
    srv = oscquery.OscQueryServer(store, 9000, host="0.0.0.0", port=0, advertise=False)
    srv.start()
    try:
        assert ("OSCQuery listens beyond this machine (0.0.0.0): anyone on the network can "
                "play the show; restrict senders with --osc-allow CIDR.") in caplog.text
    finally:
        srv.stop()


# -- one path: what the websocket sends is handled, counted and answered like UDP ---------------
def test_websocket_messages_take_the_osc_path(show, store):
    osc, query_server = show("--osc-allow", "127.0.0.0/8")
    stats = osc.server.stats

    async def scenario():
        async with websockets_client.connect(f"ws://127.0.0.1:{query_server.port}/") as ws:
            for i in range(100):
                await ws.send(build("/liveart/dream/mix", (i / 100, "f")))
            await ws.send(build("/liveart/dream/mix"))  # a query: answered over the websocket
            msg = await recv_osc(ws)
            assert (msg.address, msg.params) == ("/liveart/dream/mix", [pytest.approx(0.99)])
            await ws.send(build("/liveart/nothing/here", (1.0, "f")))
            await ws.send(b"garbage")
            await ws.send(build("/liveart/dream/octaves", ("many", "s")))
            await ws.send(build("/liveart/dream/octaves"))
            msg = await recv_osc(ws)
            assert msg.params == [4]

    asyncio.run(scenario())
    assert stats["received"] == 105 and stats["queries"] == 2
    assert stats["applied"] + stats["coalesced"] == 100
    assert (stats["unknown_address"], stats["malformed"], stats["bad_type"]) == (1, 1, 1)
    assert store.get("dream.mix") == pytest.approx(0.99)


# -- bug: actions were invisible to OSCQuery -----------------------------------------------------
def test_actions_and_readouts_are_nodes(show, store, monkeypatch, tmp_path):
    osc, query_server = show()
    for name, action in ACTIONS.items():
        if name == "scene":
            continue  # below
        status, node = http(query_server, action.address)
        assert status == 200, action.address
        assert node["FULL_PATH"] == action.address and node["ACCESS"] == 2
        assert node["DESCRIPTION"].startswith(action.description)
        assert node["TYPE"] == "".join(t for t, _ in action.args + action.optional) or "I"
    load = http(query_server, "/liveart/preset/load")[1]
    assert {"gentle", "deep-eyes"} <= set(load["RANGE"][0]["VALS"])
    assert load["RANGE"] == [{"VALS": load["RANGE"][0]["VALS"]}]
    morph = http(query_server, "/liveart/preset/morph")[1]
    assert morph["TYPE"] == "sf" and morph["RANGE"][1] is None
    assert http(query_server, "/liveart/record/stop?TYPE")[1] == {"TYPE": "I"}
    # /liveart/scene holds scene.mix: a container (OSC's methods are leaves) that says so
    scene = http(query_server, "/liveart/scene")[1]
    assert "mix" in scene["CONTENTS"] and scene["ACCESS"] == 0 and "TYPE" not in scene
    assert ACTIONS["scene"].description in scene["DESCRIPTION"]
    for r in READOUTS:
        status, node = http(query_server, r.address)
        assert status == 200 and node["ACCESS"] == 1, r.address
        assert node["TYPE"] and set(node["TYPE"]) <= set("fis"), r.address
    assert http(query_server, "/liveart/net/labels?TYPE")[1] == {"TYPE": "sss"}
    assert http(query_server, "/liveart/stats/fps?VALUE")[0] == 204  # followed by LISTEN

    async def scenario():
        async with websockets_client.connect(f"ws://127.0.0.1:{query_server.port}/") as ws:
            await ws.send(json.dumps({"COMMAND": "LISTEN", "DATA": "/liveart/stats/fps"}))
            await ws.send(build("/liveart/preset/load", ("gentle", "s")))
            await ws.send(build("/liveart/scene", ("dream", "s")))  # this show can't: refused
            msg = await recv_osc(ws)
            assert (msg.address, msg.params) == ("/liveart/stats/fps", [pytest.approx(29.5)])

    asyncio.run(scenario())
    wait_for(lambda: osc.server.stats["action_errors"] == 1, what="the scene action refused")
    assert store.get("dream.layer") == "blocks.5"  # gentle's layer
    assert osc.server.stats["applied"] == 1


def test_listen_follows_health(show, store):
    health = {"fps": 12.0, "rss_mb": 321.0, "error": "projector 2 unplugged"}
    osc, query_server = show(health=lambda: dict(health))

    async def scenario():
        async with websockets_client.connect(f"ws://127.0.0.1:{query_server.port}/") as ws:
            for path in ("/liveart/health/rss_mb", "/liveart/health/error"):
                await ws.send(json.dumps({"COMMAND": "LISTEN", "DATA": path}))
            got = {}
            while len(got) < 2:
                msg = await recv_osc(ws)
                got[msg.address] = msg.params
            return got

    got = asyncio.run(scenario())
    assert got == {"/liveart/health/rss_mb": [pytest.approx(321.0)],
                   "/liveart/health/error": ["projector 2 unplugged"]}


# -- bug: dream.layer offered (and stored) layers the network lacks -------------------------------
def test_the_layer_reported_is_the_layer_that_runs(show, store):
    me = bound("127.0.0.1")
    osc, query_server = show("--osc-out", f"127.0.0.1:{me.getsockname()[1]}")
    rec = Recorder(me)
    try:
        wait_for(lambda: rec.values("/liveart/dream/layer"), what="the first sync")
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.sendto(build("/liveart/dream/layer", ("relu5_4", "s")),
                     ("127.0.0.1", osc.server.port))
        wait_for(lambda: osc.server.stats["bad_type"] == 1, what="relu5_4 refused")
        assert http(query_server, "/liveart/dream/layer?VALUE")[1] == {"VALUE": ["blocks.10"]}
        vals = http(query_server, "/liveart/dream/layer?RANGE")[1]["RANGE"][0]["VALS"]
        assert vals == list(MODEL_LAYERS["efficientnet_lite0"])
        # the sender's menu shows relu5_4: once its hold is over it gets the layer that runs
        wait_for(lambda: len(rec.values("/liveart/dream/layer")) == 2, what="the correction")
        assert rec.values("/liveart/dream/layer")[-1][0] == ["blocks.10"]

        async def model_changes():
            async with websockets_client.connect(f"ws://127.0.0.1:{query_server.port}/") as ws:
                await ws.send(json.dumps({"COMMAND": "LISTEN", "DATA": "/liveart/dream/layer"}))
                await asyncio.sleep(0.1)
                store.set("dream.model", "vgg16")  # from anywhere: MIDI, a preset, the keys
                seen = set()
                while len(seen) < 2:
                    data = await asyncio.wait_for(ws.recv(), 3)
                    if isinstance(data, str):  # every enum that follows dream.model changes
                        notice = json.loads(data)
                        assert notice["COMMAND"] == "PATH_CHANGED"
                        assert notice["DATA"] in ("/liveart/dream/layer", "/liveart/xray/layer")
                        if notice["DATA"] == "/liveart/dream/layer":
                            seen.add("path")
                    else:
                        m = OscMessage(data)
                        assert (m.address, m.params) == ("/liveart/dream/layer", ["relu4_3"])
                        seen.add("value")

        asyncio.run(model_changes())
        vals = http(query_server, "/liveart/dream/layer?RANGE")[1]["RANGE"][0]["VALS"]
        assert vals == list(MODEL_LAYERS["vgg16"])
        assert query(osc.server.port, "/liveart/dream/layer")[0] == ["relu4_3"]
        wait_for(lambda: rec.values("/liveart/dream/layer")[-1][0] == ["relu4_3"],
                 what="the echo of the new layer")
    finally:
        rec.stop()


# -- bug: the setter got its own values back, some behind its latest ------------------------------
def test_no_echo_to_the_setter_while_it_moves_a_fader(show, store):
    # a controller that sends from the port it listens on; another program on this machine;
    # a listener on another machine (127.0.0.2 stands in for one)
    own, local, remote = bound("127.0.0.1"), bound("127.0.0.1"), bound("127.0.0.2")
    targets = [f"{s.getsockname()[0]}:{s.getsockname()[1]}" for s in (own, local, remote)]
    osc, _ = show(*[x for t in targets for x in ("--osc-out", t)])
    server = ("127.0.0.1", osc.server.port)
    recs = [Recorder(s) for s in (own, local, remote)]
    sender = recs[0].sock  # the controller's own socket sends the ramp
    try:
        for r in recs:
            wait_for(lambda: r.values("/liveart/dream/mix"), what="the first sync")
        ramp = [i / 40 for i in range(1, 26)]
        for v in ramp:
            sender.sendto(build("/liveart/dream/mix", (v, "f")), server)
            time.sleep(0.02)
        last = time.monotonic()
        wait_for(lambda: len(recs[0].values("/liveart/dream/mix")) == 2, what="the settle echo")
        time.sleep(0.3)
        own_mix, local_mix, remote_mix = (r.values("/liveart/dream/mix")[1:] for r in recs)
        # the mover gets one message, its own last value, after it stopped for the hold
        assert [p for p, _ in own_mix] == [[pytest.approx(ramp[-1])]]
        assert own_mix[0][1] - last >= 0.2
        # the others follow the ramp while it moves
        for mix in (local_mix, remote_mix):
            assert len(mix) >= 5 and mix[-1][0] == [pytest.approx(ramp[-1])]
            assert mix[0][1] < last

        # a sender from a port nobody listens on: every listener on its machine is held
        with bound("127.0.0.1") as other:
            for v in ramp:
                other.sendto(build("/liveart/dream/zoom", (v / 1000, "f")), server)
                time.sleep(0.02)
        last = time.monotonic()
        wait_for(lambda: len(recs[1].values("/liveart/dream/zoom")) == 2, what="the settle echo")
        time.sleep(0.3)
        own_zoom, local_zoom, remote_zoom = (r.values("/liveart/dream/zoom")[1:] for r in recs)
        for zoom in (own_zoom, local_zoom):
            assert [p for p, _ in zoom] == [[pytest.approx(ramp[-1] / 1000)]]
            assert zoom[0][1] - last >= 0.2
        assert len(remote_zoom) >= 5
    finally:
        for r in recs:
            r.stop()
