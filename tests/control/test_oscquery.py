"""OSCQuery over real HTTP and websockets against a running server on an ephemeral port."""
from __future__ import annotations

import asyncio
import json
import os
import socket
import urllib.error
import urllib.request

import pytest
import websockets.asyncio.client as websockets_client
from pythonosc.osc_message import OscMessage
from pythonosc.osc_message_builder import OscMessageBuilder

from liveart.control.oscquery import OscQueryServer
from liveart.errors import UserError
from liveart.params import REGISTRY

from ..conftest import wait_for

OSC_PORT = 9123


@pytest.fixture
def server(store):
    srv = OscQueryServer(store, OSC_PORT, port=0, advertise=False)
    srv.start()
    yield srv
    srv.stop()


def get(server, path: str) -> tuple[int, dict | None]:
    """GET `path`; (status, parsed JSON body or None when there is no body)."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{server.port}{path}", timeout=5) as r:
            body = r.read()
            status = r.status
            if body:
                assert r.headers["Content-Type"] == "application/json"
    except urllib.error.HTTPError as e:
        status, body = e.code, e.read()
    return status, (json.loads(body) if body else None)


def expected(p, value, store) -> dict:
    """What the proposal asks of a parameter node, written out by hand per type."""
    e = {"FULL_PATH": p.address, "DESCRIPTION": p.description}
    if p.type == "trigger":
        return {**e, "TYPE": "I", "ACCESS": 2}
    e["ACCESS"] = 3
    if p.type == "float":
        e.update(TYPE="f", VALUE=[float(value)], RANGE=[{"MIN": p.min, "MAX": p.max}],
                 CLIPMODE=["both"])
    elif p.type == "int":
        e.update(TYPE="i", VALUE=[value], RANGE=[{"MIN": int(p.min), "MAX": int(p.max)}],
                 CLIPMODE=["both"])
    elif p.type == "bool":
        e.update(TYPE="T" if value else "F", VALUE=[value])
    elif p.type == "enum":
        e.update(TYPE="s", VALUE=[value], RANGE=[{"VALS": list(store.choices(p.name))}])
    else:
        e.update(TYPE="s", VALUE=[value])
    return e


def walk(tree: dict, address: str) -> dict:
    node = tree
    for part in address.strip("/").split("/"):
        node = node["CONTENTS"][part]
    return node


def test_tree_lists_every_parameter_with_its_attributes(server, store):
    status, tree = get(server, "/")
    assert status == 200
    assert tree == server.tree()
    values = store.targets()
    for p in REGISTRY.values():
        node = walk(tree, p.address)
        want = expected(p, values.get(p.name), store)
        for key, value in want.items():
            assert node[key] == value, (p.name, key)
        if p.type == "trigger":
            assert node.get("VALUE", [None]) == [None]  # write-only: nothing to read
        if p.unit:
            assert len(node["UNIT"]) == 1 and node["UNIT"][0]
        else:
            assert "UNIT" not in node
        assert "CONTENTS" not in node
    # units from the proposal's list where one fits
    assert walk(tree, "/liveart/dream/rotate")["UNIT"] == ["angle.degree"]
    assert walk(tree, "/liveart/dream/jitter")["UNIT"] == ["distance.pixels"]


def test_containers_are_nested_and_valueless(server):
    _, tree = get(server, "/")
    assert tree["FULL_PATH"] == "/" and tree["ACCESS"] == 0
    liveart = tree["CONTENTS"]["liveart"]
    dream = liveart["CONTENTS"]["dream"]
    for node, path in ((liveart, "/liveart"), (dream, "/liveart/dream")):
        assert node["FULL_PATH"] == path and node["ACCESS"] == 0
        assert "TYPE" not in node and "VALUE" not in node
        assert isinstance(node["CONTENTS"], dict) and node["CONTENTS"]
    assert "octaves" in dream["CONTENTS"]
    assert get(server, "/liveart/dream")[1] == dream


def test_one_node(server, store):
    status, node = get(server, "/liveart/dream/octaves")
    assert status == 200
    p = REGISTRY["dream.octaves"]
    assert node == expected(p, p.default, store)
    assert node["TYPE"] == "i" and node["RANGE"] == [{"MIN": 1, "MAX": 6}]
    # A trailing slash names the same node.
    assert get(server, "/liveart/dream/octaves/")[1] == node


def test_value_follows_the_store(server, store):
    assert get(server, "/liveart/dream/mix?VALUE") == (200, {"VALUE": [1.0]})
    store.set("dream.mix", 0.3)
    assert get(server, "/liveart/dream/mix?VALUE") == (200, {"VALUE": [0.3]})
    store.set("dream.follow", False)
    assert get(server, "/liveart/dream/follow")[1]["VALUE"] == [False]
    assert get(server, "/liveart/dream/follow?TYPE") == (200, {"TYPE": "F"})
    store.set("dream.layer", "blocks.3")
    assert get(server, "/liveart/dream/layer?VALUE") == (200, {"VALUE": ["blocks.3"]})


def test_single_attributes(server, store):
    assert get(server, "/liveart/dream/mix?TYPE") == (200, {"TYPE": "f"})
    assert get(server, "/liveart/dream/mix?RANGE") == (200, {"RANGE": [{"MIN": 0.0, "MAX": 1.0}]})
    assert get(server, "/liveart/dream/mix?ACCESS") == (200, {"ACCESS": 3})
    assert get(server, "/liveart/dream/mix?CLIPMODE") == (200, {"CLIPMODE": ["both"]})
    assert get(server, "/liveart/dream/mix?DESCRIPTION") == (
        200, {"DESCRIPTION": REGISTRY["dream.mix"].description})
    assert get(server, "/liveart/dream/rotate?UNIT") == (200, {"UNIT": ["angle.degree"]})
    assert get(server, "/liveart/dream/reset?ACCESS") == (200, {"ACCESS": 2})
    # the layers dream.model has (the registry lists every network's)
    assert get(server, "/liveart/dream/layer?RANGE")[1]["RANGE"][0]["VALS"] == list(
        store.choices("dream.layer"))
    # The proposal's examples: a container has no TYPE -> empty object.
    assert get(server, "/liveart?TYPE") == (200, {})
    assert get(server, "/liveart/dream/mix?UNIT") == (200, {})
    # Nothing to read: a container or a write-only trigger -> 204 without a body.
    assert get(server, "/liveart/dream/reset?VALUE") == (204, None)
    assert get(server, "/liveart?VALUE") == (204, None)
    # Unrecognised or unsupported attributes -> 400.
    assert get(server, "/liveart/dream/mix?TAGS")[0] == 400
    assert get(server, "/liveart/dream/mix?GABBAGABBAHEY")[0] == 400


def test_unknown_paths_are_404(server):
    assert get(server, "/liveart/dream/nope")[0] == 404
    assert get(server, "/nope?VALUE")[0] == 404
    assert get(server, "/liveart/dream/mix/deeper")[0] == 404


def test_host_info(server):
    status, info = get(server, "/liveart/dream/mix?HOST_INFO")  # the path doesn't matter
    assert status == 200
    assert info["NAME"] == "liveart"
    assert info["OSC_IP"] == "127.0.0.1" and info["OSC_PORT"] == OSC_PORT
    assert info["OSC_TRANSPORT"] == "UDP"
    assert info["WS_IP"] == "127.0.0.1" and info["WS_PORT"] == server.port
    for ext in ("ACCESS", "VALUE", "RANGE", "DESCRIPTION", "CLIPMODE", "UNIT", "LISTEN"):
        assert info["EXTENSIONS"][ext] is True
    assert get(server, "/?HOST_INFO")[1] == info


# Trimmed from the proposal's first example (GET http://ip:port/).
PROPOSAL_EXAMPLE = {
    "DESCRIPTION": "root node", "FULL_PATH": "/", "ACCESS": 0,
    "CONTENTS": {
        "foo": {"DESCRIPTION": "read-only float 0-100", "FULL_PATH": "/foo", "ACCESS": 1,
                "TYPE": "f", "VALUE": [0.5], "RANGE": [{"MIN": 0.0, "MAX": 100.0}]},
        "baz": {"DESCRIPTION": "simple container node", "FULL_PATH": "/baz", "ACCESS": 0,
                "CONTENTS": {"qux": {"DESCRIPTION": "one of several strings",
                                     "FULL_PATH": "/baz/qux", "ACCESS": 3, "TYPE": "s",
                                     "VALUE": ["half-full"],
                                     "RANGE": [{"VALS": ["empty", "half-full", "full"]}]}}},
    },
}


def check_node(node: dict, path: str) -> None:
    """The structure the proposal gives a node, checked recursively."""
    assert set(node) <= {"FULL_PATH", "CONTENTS", "TYPE", "ACCESS", "VALUE", "RANGE",
                         "DESCRIPTION", "UNIT", "CLIPMODE"}
    assert node["FULL_PATH"] == path
    assert isinstance(node.get("DESCRIPTION", ""), str)
    assert node.get("ACCESS", 3) in (0, 1, 2, 3)
    if "CONTENTS" in node:
        for name, sub in node["CONTENTS"].items():
            check_node(sub, path.rstrip("/") + "/" + name)
    if "TYPE" not in node:
        assert not {"VALUE", "RANGE", "UNIT", "CLIPMODE"} & set(node)
        return
    n = len(node["TYPE"])  # one item per type tag (no arrays here)
    for key in ("VALUE", "RANGE", "UNIT", "CLIPMODE"):
        if key in node:
            assert isinstance(node[key], list) and len(node[key]) == n, (path, key)
    for r in node.get("RANGE", []):  # null: no range for that argument
        assert r is None or (isinstance(r, dict) and set(r) <= {"MIN", "MAX", "VALS"} and r)
    for c in node.get("CLIPMODE", []):
        assert c in ("none", "low", "high", "both")


def test_json_has_the_structure_of_the_proposal_example(server):
    check_node(PROPOSAL_EXAMPLE, "/")  # the checker agrees with the proposal itself
    _, tree = get(server, "/")
    check_node(tree, "/")
    # Same attribute layout as the proposal's string-choice method /baz/qux.
    layer = walk(tree, "/liveart/dream/layer")
    qux = PROPOSAL_EXAMPLE["CONTENTS"]["baz"]["CONTENTS"]["qux"]
    assert set(layer) == set(qux)
    assert [set(r) for r in layer["RANGE"]] == [set(r) for r in qux["RANGE"]]


async def _recv(ws, timeout: float = 3.0) -> OscMessage:
    data = await asyncio.wait_for(ws.recv(), timeout)
    assert isinstance(data, bytes)
    return OscMessage(data)


def osc(address, *args) -> bytes:
    b = OscMessageBuilder(address)
    for a in args:
        b.add_arg(a)
    return b.build().dgram


async def _barrier(ws, steps: int) -> None:
    """Set dream.steps over the websocket and wait for its echo: the server handles one
    client's messages in order, so every command sent before has been taken by then."""
    await ws.send(osc("/liveart/dream/steps", steps))
    msg = await _recv(ws)
    assert (msg.address, msg.params) == ("/liveart/dream/steps", [steps])


def test_websocket_listen_and_ignore(server, store):
    async def scenario():
        async with websockets_client.connect(f"ws://127.0.0.1:{server.port}/") as ws:
            for path in ("/liveart/dream/mix", "/liveart/dream/follow", "/liveart/dream/layer",
                         "/liveart/dream/steps"):
                await ws.send(json.dumps({"COMMAND": "LISTEN", "DATA": path}))
            await _barrier(ws, 3)
            store.set("dream.mix", 0.3)
            msg = await _recv(ws)
            assert msg.address == "/liveart/dream/mix"
            assert msg.params == [pytest.approx(0.3)]
            store.set("dream.follow", False)
            msg = await _recv(ws)
            assert (msg.address, msg.params) == ("/liveart/dream/follow", [False])
            store.set("dream.layer", "blocks.3")
            msg = await _recv(ws)
            assert (msg.address, msg.params) == ("/liveart/dream/layer", ["blocks.3"])
            # A value nobody listens to isn't sent.
            store.set("dream.octaves", 2)
            with pytest.raises(asyncio.TimeoutError):
                await _recv(ws, 0.3)
            await ws.send(json.dumps({"COMMAND": "IGNORE", "DATA": "/liveart/dream/mix"}))
            await _barrier(ws, 4)
            store.set("dream.mix", 0.7)
            with pytest.raises(asyncio.TimeoutError):
                await _recv(ws, 0.3)

    asyncio.run(scenario())


def test_websocket_osc_sets_values(server, store):
    async def scenario():
        async with websockets_client.connect(f"ws://127.0.0.1:{server.port}/") as ws:
            await ws.send(osc("/liveart/dream/octaves", 99))  # clamped to the range
            await ws.send(osc("/liveart/dream/layer", "blocks.2"))
            await ws.send(osc("/liveart/dream/layer", "no-such-layer"))  # logged, ignored
            await ws.send(osc("/liveart/nothing/here", 1.0))  # logged, ignored
            await ws.send(b"not osc at all")  # logged, ignored
            await ws.send(osc("/liveart/dream/reset"))
            await ws.send("{not json")  # logged, ignored
            await ws.send(json.dumps({"COMMAND": "LISTEN", "DATA": "/liveart/dream/steps"}))
            await _barrier(ws, 7)

    asyncio.run(scenario())
    assert store.get("dream.octaves") == 6
    assert store.get("dream.layer") == "blocks.2"
    assert store.snapshot().fired("dream.reset")


def test_listen_forwards_trigger_fires(server, store):
    """Values are sampled ~30 times a second; a trigger has no value to sample, so each fire is
    sent (once per sampling round) even when the engine took it in the meantime."""
    async def scenario():
        async with websockets_client.connect(f"ws://127.0.0.1:{server.port}/") as ws:
            for path in ("/liveart/dream/reset", "/liveart/dream/steps"):
                await ws.send(json.dumps({"COMMAND": "LISTEN", "DATA": path}))
            await _barrier(ws, 3)
            store.set("dream.reset", True)
            store.snapshot()  # the engine's next tick takes the fire at once
            msg = await _recv(ws)
            assert (msg.address, msg.params) == ("/liveart/dream/reset", [])
            await ws.send(osc("/liveart/dream/reset"))  # fired over the websocket itself
            msg = await _recv(ws)
            assert (msg.address, msg.params) == ("/liveart/dream/reset", [])

    asyncio.run(scenario())


def test_port_in_use_is_a_user_error(store):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        srv = OscQueryServer(store, OSC_PORT, port=port, advertise=False)
        with pytest.raises(UserError) as e:
            srv.start()
        assert str(e.value) == (f"OSCQuery port {port} is in use; pick another with "
                                "--oscquery-port.")
        srv.stop()  # harmless after a failed start


def test_stop_releases_the_port(store):
    srv = OscQueryServer(store, OSC_PORT, port=0, advertise=False)
    srv.start()
    port = srv.port
    srv.stop()
    srv.stop()
    again = OscQueryServer(store, OSC_PORT, port=port, advertise=False)
    again.start()
    try:
        assert get(again, "/liveart?ACCESS") == (200, {"ACCESS": 0})
    finally:
        again.stop()


def test_zeroconf_advert_is_browsable_by_a_real_oscquery_client(store):
    """Discover the advert on loopback with zeroconf, then talk to the server with
    python-oscquery's client (a third-party OSCQuery implementation)."""
    from zeroconf import Zeroconf

    name = f"liveart-test-{os.getpid()}"
    srv = OscQueryServer(store, OSC_PORT, port=0, name=name)
    srv.start()
    zc = Zeroconf(interfaces=["127.0.0.1"])
    try:
        info = zc.get_service_info("_oscjson._tcp.local.", f"{name}._oscjson._tcp.local.",
                                   timeout=5000)
        assert info is not None, "the _oscjson._tcp advert wasn't found on loopback"
        assert info.port == srv.port and info.parsed_addresses() == ["127.0.0.1"]
        # this machine's own name, so two machines on one network don't claim the same one
        assert info.server.lower() == socket.gethostname().split(".")[0].lower() + ".local."
        osc = zc.get_service_info("_osc._udp.local.", f"{name}._osc._udp.local.", timeout=5000)
        assert osc is not None and osc.port == OSC_PORT

        client_mod = pytest.importorskip("pythonoscquery.osc_query_client")
        client = client_mod.OSCQueryClient(info)
        host = client.get_host_info()
        assert (host.name, host.osc_ip, host.osc_port, host.osc_transport) == (
            name, "127.0.0.1", OSC_PORT, "UDP")
        store.set("dream.octaves", 5)
        node = client.query_node("/liveart/dream/octaves")
        assert node.full_path == "/liveart/dream/octaves"
        assert node.value == [5] and int(node.access) == 3
        root = client.query_node("/")  # the client parses the whole tree
        paths = {n.full_path for n in root}
        assert {p.address for p in REGISTRY.values()} <= paths
        assert client.query_node("/liveart/nope") is None
    finally:
        zc.close()
        srv.stop()


def test_advertising_failure_is_logged_and_the_server_goes_on(store, monkeypatch, caplog):
    import zeroconf.asyncio

    def broken(*args, **kwargs):
        raise OSError("no multicast here")

    monkeypatch.setattr(zeroconf.asyncio, "AsyncZeroconf", broken)
    srv = OscQueryServer(store, OSC_PORT, port=0, name=f"liveart-broken-{os.getpid()}")
    srv.start()
    try:
        wait_for(lambda: "zeroconf advertising failed" in caplog.text, what="the warning")
        assert caplog.text.count("zeroconf") == 1
        assert get(srv, "/liveart/dream/mix?ACCESS") == (200, {"ACCESS": 3})
    finally:
        srv.stop()


def test_listen_gets_the_music_voices_notes_as_they_sound(store):
    """/liveart/music/note and /chord are readouts of moments, not values: each note goes to
    a LISTEN client when it sounds (the show wires the voice to the server as `run` does)."""
    import numpy as np

    from liveart.cli import _follow_music_in_oscquery
    from liveart.music.outputs import MusicVoice
    from liveart.music.summary import ActivationSummary

    store.update({"music.enabled": True, "music.density": 1.0, "music.tempo": 240.0})
    s = ActivationSummary(np.ones(8, np.float32), [1, 2, 3], 1.0, 0.5, (0.5, 0.5), [("cat", 0.9)])
    srv = OscQueryServer(store, OSC_PORT, port=0, advertise=False)
    srv.start()
    voice = MusicVoice(store, lambda: s, synth=False)
    _follow_music_in_oscquery(voice, [srv, voice])

    async def scenario():
        async with websockets_client.connect(f"ws://127.0.0.1:{srv.port}/") as ws:
            for path in ("/liveart/music/note", "/liveart/music/chord", "/liveart/dream/steps"):
                await ws.send(json.dumps({"COMMAND": "LISTEN", "DATA": path}))
            await _barrier(ws, 3)
            voice.start()
            got = {}
            while set(got) != {"/liveart/music/note", "/liveart/music/chord"}:
                msg = await _recv(ws, 3.0)
                got[msg.address] = msg.params
            return got

    try:
        got = asyncio.run(scenario())
    finally:
        voice.stop()
        srv.stop()
    pitch, velocity, seconds = got["/liveart/music/note"]
    assert 0 <= pitch <= 127 and 0 < velocity <= 127 and seconds > 0
    assert got["/liveart/music/chord"] and all(0 <= p <= 127 for p in got["/liveart/music/chord"])
