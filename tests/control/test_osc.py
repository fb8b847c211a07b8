"""OSC control over real UDP sockets on 127.0.0.1: python-osc's SimpleUDPClient and liblo's
oscsend as senders, plain UDP sockets as listeners."""
from __future__ import annotations

import argparse
import inspect
import logging
import os
import random
import shutil
import socket
import struct
import subprocess
import threading
import time

import pytest
from pythonosc.osc_message import OscMessage
from pythonosc.osc_message_builder import OscMessageBuilder
from pythonosc.udp_client import SimpleUDPClient

from liveart.control import osc
from liveart.control.actions import Actions
from liveart.control.osc import OscOut, OscServer, osc_type_of, parse_target, start_osc
from liveart.errors import UserError
from liveart.params import REGISTRY

from ..conftest import wait_for

OSC_LOGGER = "liveart.control.osc"


# -- helpers ---------------------------------------------------------------------------------
def build(address: str, *args: tuple) -> bytes:
    """A datagram with explicitly typed arguments: build('/a', (0.5, 'd'), (True, 'T'))."""
    b = OscMessageBuilder(address)
    for value, tag in args:
        b.add_arg(value, tag)
    return b.build().dgram


def type_tags(dgram: bytes) -> str:
    """The type tag string of a message datagram, read from its bytes (',f' -> 'f')."""
    start = (dgram.index(b"\0") + 4) & ~3
    return dgram[start + 1:dgram.index(b"\0", start)].decode()


def receive(sock: socket.socket, address: str, timeout: float = 3.0) -> tuple[list, str]:
    """The next message at `address` on `sock`: (arguments, type tags)."""
    end = time.monotonic() + timeout
    while True:
        left = end - time.monotonic()
        if left <= 0:
            raise AssertionError(f"no {address} within {timeout} s")
        sock.settimeout(left)
        try:
            data = sock.recv(65536)
        except socket.timeout:
            continue
        msg = OscMessage(data)
        if msg.address == address:
            return msg.params, type_tags(data)


def collect(sock: socket.socket, seconds: float) -> list[tuple[str, list, float]]:
    """Every message on `sock` for `seconds`: (address, arguments, arrival time)."""
    out, end = [], time.monotonic() + seconds
    while (left := end - time.monotonic()) > 0:
        sock.settimeout(left)
        try:
            data = sock.recv(65536)
        except socket.timeout:
            break
        msg = OscMessage(data)
        out.append((msg.address, msg.params, time.monotonic()))
    return out


def query(port: int, address: str, timeout: float = 3.0) -> tuple[list, str]:
    """Send `address` with no argument from a fresh socket; the server's reply: (args, tags)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        s.sendto(build(address), ("127.0.0.1", port))
        return receive(s, address, timeout)


def udp_drops(port: int) -> int | None:
    """Datagrams the kernel dropped for the UDP socket on 127.0.0.1:port (Linux), else None."""
    try:
        lines = open("/proc/net/udp").read().splitlines()[1:]
    except OSError:
        return None
    for line in lines:
        f = line.split()
        if f[1] == f"0100007F:{port:04X}":
            return int(f[-1])
    return None


# -- fixtures --------------------------------------------------------------------------------
@pytest.fixture
def actions(store):
    return Actions(store)


@pytest.fixture
def server(store, actions):
    srv = OscServer(store, actions, port=0).start()
    yield srv
    srv.stop()


@pytest.fixture
def client(server):
    c = SimpleUDPClient("127.0.0.1", server.port)
    yield c
    c.close()


@pytest.fixture
def listener():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    yield s
    s.close()


def applied_after(server, n: int):
    return lambda: server.stats["applied"] + server.stats["coalesced"] >= n


# -- the server ------------------------------------------------------------------------------
def test_defaults_bind_localhost_9000(store, actions):
    sig = inspect.signature(OscServer)
    assert sig.parameters["host"].default == "127.0.0.1"
    assert sig.parameters["port"].default == 9000
    with OscServer(store, actions, port=0) as srv:
        assert srv._sock.getsockname() == ("127.0.0.1", srv.port) and srv.port > 0


def test_port_in_use_is_one_sentence(store, actions):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as busy:
        busy.bind(("127.0.0.1", 0))
        port = busy.getsockname()[1]
        with pytest.raises(UserError) as e:
            OscServer(store, actions, port=port).start()
    assert str(e.value) == f"OSC port {port} is in use; pick another with --osc-port."


def test_every_parameter_type(server, client, store):
    assert [REGISTRY[n].type for n in ("dream.mix", "dream.octaves", "dream.follow",
                                       "dream.layer", "dream.guide")] == \
        ["float", "int", "bool", "enum", "str"]
    port = server.port
    steps = [
        # float: f, i, d (double), h (int64), a numeric string
        (build("/liveart/dream/mix", (0.25, "f")), "dream.mix", 0.25),
        (build("/liveart/dream/mix", (1, "i")), "dream.mix", 1.0),
        (build("/liveart/dream/mix", (0.125, "d")), "dream.mix", 0.125),
        (build("/liveart/dream/mix", (0, "h")), "dream.mix", 0.0),
        (build("/liveart/dream/mix", ("0.5", "s")), "dream.mix", 0.5),
        # int: i, a float rounds, h, s
        (build("/liveart/dream/octaves", (3, "i")), "dream.octaves", 3),
        (build("/liveart/dream/octaves", (4.6, "f")), "dream.octaves", 5),
        (build("/liveart/dream/octaves", (2, "h")), "dream.octaves", 2),
        (build("/liveart/dream/octaves", ("6", "s")), "dream.octaves", 6),
        # bool: T/F, i, a fader's float (>= 0.5 is on), s
        (build("/liveart/dream/follow", (False, "F")), "dream.follow", False),
        (build("/liveart/dream/follow", (True, "T")), "dream.follow", True),
        (build("/liveart/dream/follow", (0, "i")), "dream.follow", False),
        (build("/liveart/dream/follow", (1, "i")), "dream.follow", True),
        (build("/liveart/dream/follow", (0.2, "f")), "dream.follow", False),
        (build("/liveart/dream/follow", ("on", "s")), "dream.follow", True),
        # enum: a choice's name, or an index (i or f)
        (build("/liveart/dream/layer", ("blocks.3", "s")), "dream.layer", "blocks.3"),
        (build("/liveart/dream/layer", (2, "i")), "dream.layer", REGISTRY["dream.layer"].choices[2]),
        (build("/liveart/dream/layer", (5.0, "f")), "dream.layer", REGISTRY["dream.layer"].choices[5]),
        # str: s, or a number where the parameter reads one (an ImageNet class index)
        (build("/liveart/dream/guide", ("channel:7", "s")), "dream.guide", "channel:7"),
        (build("/liveart/dream/guide", (207, "i")), "dream.guide", "207"),
    ]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for n, (dgram, name, want) in enumerate(steps, 1):
            s.sendto(dgram, ("127.0.0.1", port))
            wait_for(applied_after(server, n), what=f"message {n} handled")
            assert store.get(name) == want, (n, name)
    # python-osc's own type inference, from SimpleUDPClient
    client.send_message("/liveart/dream/mix", 0.75)
    client.send_message("/liveart/dream/follow", False)
    client.send_message("/liveart/dream/layer", "blocks.4")
    wait_for(lambda: store.get("dream.layer") == "blocks.4")
    assert store.get("dream.mix") == 0.75 and store.get("dream.follow") is False
    assert server.stats["bad_type"] == 0 and server.stats["malformed"] == 0


def test_wrong_types_are_counted_not_applied(server, client, store, caplog):
    caplog.set_level(logging.WARNING, logger=OSC_LOGGER)
    before = store.targets()
    bad = [
        build("/liveart/dream/mix", (b"\x01\x02", "b")),       # a blob
        build("/liveart/dream/mix", ("banana", "s")),          # not a number
        build("/liveart/dream/mix", (float("nan"), "f")),      # not finite
        build("/liveart/dream/mix", (None, "N")),              # nil
        build("/liveart/dream/layer", (True, "T")),            # T/F for a choice
        build("/liveart/dream/layer", ("blocks.999", "s")),    # no such choice
        build("/liveart/dream/guide", ("no such animal", "s")),
        b"/liveart/dream/mix\0\0,c\0\0\0\0\0a",                # a type python-osc can't read
    ]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for dgram in bad:
            s.sendto(dgram, ("127.0.0.1", server.port))
    wait_for(lambda: server.stats["bad_type"] == len(bad), what="bad types counted")
    assert store.targets() == before
    assert server.stats["applied"] == 0
    lines = [r for r in caplog.records if "ignored" in r.getMessage()]
    assert len(lines) == 1, "bad types are logged at most once per 5 s"
    assert query(server.port, "/liveart/dream/mix")[0] == [pytest.approx(before["dream.mix"])]


def test_clamp_is_logged_once_per_excursion(server, client, store, caplog, monkeypatch):
    caplog.set_level(logging.WARNING, logger=OSC_LOGGER)
    monkeypatch.setattr(osc, "LOG_INTERVAL", 0.0)  # test the excursion rule, not the 5 s guard
    for i in range(20):
        client.send_message("/liveart/dream/octaves", 100 + i)
    client.send_message("/liveart/dream/mix", -3.0)
    wait_for(lambda: store.get("dream.mix") == 0.0)
    assert store.get("dream.octaves") == 6
    clamps = lambda: [r.getMessage() for r in caplog.records if "clamped" in r.getMessage()]  # noqa: E731
    assert len([m for m in clamps() if "dream.octaves" in m]) == 1
    assert len([m for m in clamps() if "dream.mix" in m]) == 1
    assert server.stats["clamped"] >= 2
    # back in range, then out again: a new excursion, reported again
    client.send_message("/liveart/dream/octaves", 3)
    wait_for(lambda: store.get("dream.octaves") == 3)
    client.send_message("/liveart/dream/octaves", 0)
    wait_for(lambda: store.get("dream.octaves") == 1)
    assert len([m for m in clamps() if "dream.octaves" in m]) == 2
    # an enum index past the end clamps to the last choice (of the layers dream.model has)
    client.send_message("/liveart/dream/layer", 999)
    wait_for(lambda: store.get("dream.layer") == "head")
    assert any("dream.layer = 999 is outside blocks.0..head (17 choices)" in m for m in clamps())


def test_the_advertised_range_end_is_inside_the_range(server, store, caplog):
    """OSCQuery advertises dream.zoom's MAX as 0.05; sent as an OSC float (32 bits) it arrives
    as 0.05000000074505806, which is the range's end at the precision it travelled in."""
    oscsend = _need("oscsend")
    caplog.set_level(logging.WARNING, logger=OSC_LOGGER)
    for n, value in enumerate(("0.05", "-0.05", "0.06"), 1):
        subprocess.run([oscsend, "localhost", str(server.port), "/liveart/dream/zoom", "f", value],
                       check=True, timeout=10, capture_output=True)
        wait_for(lambda: server.stats["applied"] == n, what=f"zoom {value}")
        if n < 3:
            assert store.get("dream.zoom") == (0.05 if n == 1 else -0.05)
    wait_for(lambda: "dream.zoom = 0.06 is outside -0.05..0.05; clamped to 0.05" in caplog.text,
             what="the clamp logged")
    # one thread handles them in order: only the last one, outside the range, was clamped
    assert store.get("dream.zoom") == 0.05 and server.stats["clamped"] == 1
    assert caplog.text.count("clamped") == 1


def test_many_values_coalesce_and_the_last_wins(server, client, store):
    values = [i / 1000 for i in range(500)]
    t0 = time.perf_counter()
    for v in values:
        client.send_message("/liveart/dream/mix", v)
    client.send_message("/liveart/dream/mix", 0.9876)
    wait_for(lambda: store.get("dream.mix") == pytest.approx(0.9876), timeout=5)
    took = time.perf_counter() - t0
    st = server.stats
    assert st["applied"] + st["coalesced"] == st["received"]
    assert st["bad_type"] == st["malformed"] == 0
    assert took < 3.0
    assert store.targets()["dream.mix"] == pytest.approx(0.9876)
    assert query(server.port, "/liveart/dream/mix")[0] == [pytest.approx(0.9876)]


def test_a_batch_coalesces_only_what_a_later_valid_value_replaces(server, store, listener):
    """The receive loop drains a batch of datagrams, then handles it: here a batch is handed
    over directly, to check which values count as applied, coalesced or refused."""
    me = listener.getsockname()
    mix = lambda v, t="f": build("/liveart/dream/mix", (v, t))  # noqa: E731
    batch = [mix(0.1), mix("0.3", "s"), mix(float("nan")), build("/liveart/dream/octaves", (3, "i")),
             build("/liveart/dream/layer", (True, "T")), mix(0.2), build("/liveart/dream/layer", (2, "i")),
             b"/liveart/dream/mix\0\0,x\0\0", build("/liveart/dream/octaves", (99, "i"))]
    server._batch([(d, me) for d in batch])
    st = server.stats
    assert (st["applied"], st["coalesced"], st["bad_type"]) == (3, 3, 3)
    assert store.get("dream.mix") == pytest.approx(0.2) and store.get("dream.octaves") == 6
    assert store.get("dream.layer") == REGISTRY["dream.layer"].choices[2]
    # a query between two values sees the first: nothing is coalesced across it
    server._batch([(mix(0.4), me), (build("/liveart/dream/mix"), me), (mix(0.6), me)])
    assert receive(listener, "/liveart/dream/mix") == ([pytest.approx(0.4)], "f")
    assert store.get("dream.mix") == pytest.approx(0.6) and st["coalesced"] == 3


def test_query_replies_with_the_current_value_and_type(server, store):
    store.set("dream.octaves", 5)
    store.set("dream.mix", 0.5)
    store.set("dream.follow", False)
    store.set("dream.layer", "blocks.2")
    store.set("dream.guide", "channel:3")
    assert query(server.port, "/liveart/dream/octaves") == ([5], "i")
    assert query(server.port, "/liveart/dream/mix") == ([0.5], "f")
    assert query(server.port, "/liveart/dream/follow") == ([False], "F")
    assert query(server.port, "/liveart/dream/layer") == (["blocks.2"], "s")
    assert query(server.port, "/liveart/dream/guide") == (["channel:3"], "s")
    assert server.stats["queries"] == 5
    assert [osc_type_of(REGISTRY[n]) for n in ("dream.mix", "dream.octaves", "dream.follow",
                                               "dream.layer", "dream.guide", "dream.reset")] == \
        ["f", "i", "T", "s", "s", ""]
    # an empty type tag string (",") is a query too, as oscsend sends it
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.sendto(b"/liveart/dream/octaves\0\0,\0\0\0", ("127.0.0.1", server.port))
        assert receive(s, "/liveart/dream/octaves") == ([5], "i")


def test_triggers_fire_with_or_without_arguments(server, client, store):
    store.snapshot()
    client.send_message("/liveart/dream/reset", None)
    wait_for(lambda: server.stats["applied"] == 1)
    assert store.snapshot().fired("dream.reset")
    assert not store.snapshot().fired("dream.reset")
    client.send_message("/liveart/dream/reset", 1)
    wait_for(lambda: server.stats["applied"] == 2)
    assert store.snapshot().fired("dream.reset")
    assert server.stats["queries"] == 0


def test_presets_save_load_morph(server, client, store, tmp_path, monkeypatch):
    monkeypatch.setenv("LIVEART_CONFIG_DIR", str(tmp_path))
    store.set("dream.octaves", 2)
    store.set("dream.mix", 0.2)
    client.send_message("/liveart/preset/save", "osc test a")
    saved = tmp_path / "presets" / "osc test a.toml"
    wait_for(saved.exists, what="the preset file")
    store.set("dream.octaves", 5)
    store.set("dream.mix", 0.9, immediate=True)
    client.send_message("/liveart/preset/load", "osc test a")
    wait_for(lambda: store.get("dream.octaves") == 2, what="the preset loaded")
    assert store.get("dream.mix") == pytest.approx(0.2)
    # morph: numbers glide from here to the preset over the given seconds
    store.set("dream.mix", 1.0, immediate=True)
    client.send_message("/liveart/preset/morph", ["osc test a", 0.3])
    wait_for(store.morphing, what="the morph started")
    seen = []
    end = time.monotonic() + 3
    while store.morphing() and time.monotonic() < end:
        seen.append(store.snapshot()["dream.mix"])
        time.sleep(0.02)
    assert not store.morphing()
    assert store.get("dream.mix") == pytest.approx(0.2)
    assert any(0.25 < v < 0.95 for v in seen), "the morph glided"
    assert server.stats["action_errors"] == 0 and server.stats["applied"] == 3
    # a preset that doesn't exist, and a morph without its length: counted, no crash
    client.send_message("/liveart/preset/load", "no such preset")
    client.send_message("/liveart/preset/morph", "osc test a")
    wait_for(lambda: server.stats["action_errors"] == 2)
    assert query(server.port, "/liveart/dream/octaves")[0] == [2]


def test_scene_action(store, caplog):
    caplog.set_level(logging.WARNING, logger=OSC_LOGGER)
    switched = []
    with OscServer(store, Actions(store, switch_scene=switched.append), port=0) as srv:
        with SimpleUDPClient("127.0.0.1", srv.port) as c:
            c.send_message("/liveart/scene", "no-such-scene")
            wait_for(lambda: srv.stats["action_errors"] == 1, what="the bad scene counted")
            assert any("no-such-scene" in r.getMessage() for r in caplog.records)
            c.send_message("/liveart/scene", "dream")
            wait_for(lambda: switched == ["dream"], what="the scene switched")
            assert srv.stats["applied"] == 1
            assert query(srv.port, "/liveart/dream/octaves")[0] == [store.get("dream.octaves")]


def test_bundles_apply_in_order_at_once(server, store):
    def element(dgram: bytes) -> bytes:
        return struct.pack(">i", len(dgram)) + dgram

    late = struct.pack(">II", 0xFFFFFFF0, 0)  # a timetag far in the future: applied now anyway
    inner = b"#bundle\0" + late + element(build("/liveart/dream/octaves", (6, "i")))
    bundle = (b"#bundle\0" + struct.pack(">II", 0, 1)
              + element(build("/liveart/dream/octaves", (2, "i")))
              + element(inner)
              + element(build("/liveart/dream/mix", (0.3, "f")))
              + element(build("/liveart/dream/octaves", (3, "i"))))
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.sendto(bundle, ("127.0.0.1", server.port))
    wait_for(lambda: server.stats["applied"] == 4)
    assert store.get("dream.octaves") == 3 and store.get("dream.mix") == pytest.approx(0.3)


# -- feedback --------------------------------------------------------------------------------
def test_out_echoes_changes_from_any_source_and_stats(store, listener):
    stats = {"fps": 29.5, "labels": [("tabby", 0.6), ("tiger cat", 0.2), ("Egyptian cat", 0.1)],
             "energy": [0.5, 1.5]}
    port = listener.getsockname()[1]
    with OscOut(store, [("127.0.0.1", port)], stats_source=lambda: dict(stats)):
        # the first round sends every value, so a controller starts in sync
        first = {a: p for a, p, _ in collect(listener, 0.3)}
        for p in REGISTRY.values():
            if p.type != "trigger":
                assert p.address in first, p.address
        assert first["/liveart/dream/octaves"] == [store.get("dream.octaves")]
        store.set("dream.octaves", 6)  # a non-OSC source: MIDI, keys, the HUD
        assert receive(listener, "/liveart/dream/octaves") == ([6], "i")
        store.set("dream.follow", False)
        assert receive(listener, "/liveart/dream/follow") == ([False], "F")
        # a storm of changes between two polls costs one message: the newest
        for i in range(200):
            store.set("dream.jitter", i % 64)
        store.set("dream.jitter", 7)
        msgs = collect(listener, 0.25)
        jitter = [p for a, p, _ in msgs if a == "/liveart/dream/jitter"]
        assert jitter and jitter[-1] == [7] and len(jitter) <= 2
        # stats at about 10 Hz
        stats["energy"] = None  # a scene without energy(): no energy message
        time.sleep(0.15)
        msgs = collect(listener, 1.0)
    fps = [t for a, p, t in msgs if a == "/liveart/stats/fps"]
    assert 4 <= len(fps) <= 13, len(fps)
    assert all(p == [pytest.approx(29.5)] for a, p, _ in msgs if a == "/liveart/stats/fps")
    labels = [p for a, p, _ in msgs if a == "/liveart/net/labels"]
    assert labels and labels[-1] == ["tabby", "tiger cat", "Egyptian cat"]
    assert not [a for a, p, _ in msgs if a == "/liveart/net/energy"]


def test_out_sends_the_morph_and_energies(store, listener):
    port = listener.getsockname()[1]
    source = lambda: {"fps": 12.0, "labels": [("lens cap", 0.9)],  # noqa: E731
                      "energy": [0.25, 2.0, 4.0]}
    with OscOut(store, [("127.0.0.1", port)], stats_source=source):
        collect(listener, 0.2)
        store.set("dream.mix", 1.0, immediate=True)
        store.morph({"dream.mix": 0.0}, 0.5)
        end = time.monotonic() + 0.8
        while time.monotonic() < end:
            store.snapshot()
            time.sleep(0.01)
        msgs = collect(listener, 0.3)
    mix = [p[0] for a, p, _ in msgs if a == "/liveart/dream/mix"]
    assert len(mix) >= 5 and mix[-1] == pytest.approx(0.0)
    assert any(0.1 < v < 0.9 for v in mix), "intermediate morph values were echoed"
    energy = [p for a, p, _ in msgs if a == "/liveart/net/energy"]
    assert energy and energy[-1] == [pytest.approx(0.25), pytest.approx(2.0), pytest.approx(4.0)]
    labels = [p for a, p, _ in msgs if a == "/liveart/net/labels"]
    assert labels[-1] == ["lens cap", "", ""]


@pytest.mark.parametrize("text", ["9001", "localhost", "localhost:", ":9001", "localhost:0",
                                  "localhost:65536", "localhost:abc", "no-such-host.invalid:9001"])
def test_bad_osc_out_is_one_sentence(text):
    with pytest.raises(UserError) as e:
        parse_target(text)
    msg = str(e.value)
    assert "--osc-out" in msg and msg.endswith(".") and msg.count(". ") == 0


def test_parse_target():
    assert parse_target("127.0.0.1:9001") == ("127.0.0.1", 9001)
    assert parse_target(" localhost:7000 ") == ("localhost", 7000)
    assert parse_target("[::1]:9001") == ("::1", 9001)


def test_start_osc_from_cli_args(store, actions, listener):
    port = listener.getsockname()[1]
    args = argparse.Namespace(osc_host="127.0.0.1", osc_port=0, osc_out=[f"127.0.0.1:{port}"])
    session = start_osc(store, actions, args, stats_source=lambda: {"fps": 1.0, "labels": []})
    try:
        with SimpleUDPClient("127.0.0.1", session.server.port) as c:
            c.send_message("/liveart/dream/octaves", 5)
            # set over OSC, echoed to --osc-out
            assert receive(listener, "/liveart/dream/octaves", timeout=3)[0] in ([4], [5])
            wait_for(lambda: store.get("dream.octaves") == 5)
        assert receive(listener, "/liveart/stats/fps")[0] == [1.0]
    finally:
        session.stop()
    with pytest.raises(UserError):
        start_osc(store, actions, argparse.Namespace(osc_host=None, osc_port=0, osc_out=["x"]))


# -- an independent implementation: liblo's oscsend / oscdump ----------------------------------
def _need(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        if os.environ.get("CI"):
            pytest.fail(f"{tool} is missing; CI should apt-get install liblo-tools")
        pytest.skip(f"{tool} is not installed (apt-get install liblo-tools)")
    return path


def test_liblo_oscsend(server, store):
    oscsend = _need("oscsend")

    def send(*argv: str) -> None:
        subprocess.run([oscsend, "localhost", str(server.port), *argv], check=True, timeout=10,
                       capture_output=True)

    send("/liveart/dream/mix", "f", "0.25")
    wait_for(lambda: store.get("dream.mix") == 0.25, what="oscsend's float")
    send("/liveart/dream/octaves", "i", "3")
    send("/liveart/dream/follow", "F")
    send("/liveart/dream/layer", "s", "blocks.1")
    send("/liveart/dream/rotate", "d", "1.5")
    send("/liveart/dream/jitter", "h", "9")
    send("/liveart/dream/reset")
    wait_for(lambda: server.stats["applied"] == 7, what="oscsend's messages")
    assert store.get("dream.octaves") == 3 and store.get("dream.follow") is False
    assert store.get("dream.layer") == "blocks.1" and store.get("dream.rotate") == 1.5
    assert store.get("dream.jitter") == 9 and store.snapshot().fired("dream.reset")
    send("/liveart/dream/mix", "c", "x")  # a char: a type we don't take
    wait_for(lambda: server.stats["bad_type"] == 1)
    assert store.get("dream.mix") == 0.25


def test_liblo_oscdump_reads_the_echo(store):
    oscdump = _need("oscdump")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([oscdump, "-L", str(port)], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    try:
        time.sleep(0.3)  # let it bind
        store.set("dream.layer", "blocks.5")
        store.set("dream.octaves", 6)
        source = lambda: {"fps": 25.0, "labels": [("tabby", 0.5)]}  # noqa: E731
        with OscOut(store, [("127.0.0.1", port)], stats_source=source):
            time.sleep(0.5)
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=5)
    assert "/liveart/dream/octaves i 6" in out
    assert '/liveart/dream/layer s "blocks.5"' in out
    assert "/liveart/dream/follow T" in out
    assert "/liveart/stats/fps f 25" in out
    assert '/liveart/net/labels sss "tabby" "" ""' in out


# -- garbage ---------------------------------------------------------------------------------
def _garbage(n: int, rng: random.Random) -> tuple[list[bytes], dict[str, int]]:
    """n datagrams that must all be refused, and how many of each kind should be counted."""
    good = build("/liveart/dream/mix", (0.5, "f"))
    text = build("/liveart/dream/layer", ("blocks.3", "s"))
    kinds = {"malformed": 0, "unknown_address": 0, "bad_type": 0}
    out = []
    for i in range(n):
        k = i % 10
        if k < 3:  # random bytes, never starting like a message or a bundle
            d = bytes([rng.choice([b for b in range(256) if b not in (0x2F, 0x23)])])
            d += rng.randbytes(rng.randrange(0, 300))
            kind = "malformed"
        elif k == 3:  # truncated inside the address, the type tags or a string argument
            # (not inside a float: python-osc pads a short float, for Reaktor's sake)
            d = rng.choice([good[:rng.choice([5, 12, 21, 22])],
                            text[:rng.randrange(26, len(text) - 4)]])
            kind = "malformed"
        elif k == 4:  # a broken bundle
            d = b"#bundle\0" + rng.randbytes(rng.randrange(0, 40))
            if len(d) >= 16:
                d = d[:16] + struct.pack(">i", rng.choice([-4, 0, 4096])) + d[20:]
            kind = "malformed"
        elif k == 5:  # unknown addresses, random
            d = build("/liveart/" + "".join(rng.choices("abcxyz/", k=8)) + "q", (1.0, "f"))
            kind = "unknown_address"
        elif k == 6:  # a message whose address is random bytes
            d = b"/" + bytes(rng.randrange(1, 128) for _ in range(rng.randrange(1, 30))) + b"\0"
            d += b"\0" * (-len(d) % 4)
            kind = "unknown_address"
        elif k == 7:  # wrong type tags: a blob, a nil, a type nobody reads
            d = rng.choice([build("/liveart/dream/mix", (b"xyz", "b")),
                            build("/liveart/dream/octaves", (None, "N")),
                            b"/liveart/dream/mix\0\0,x\0\0\0\0\0\0"])
            kind = "bad_type"
        elif k == 8:  # a string that no number parses from, an impossible choice
            d = rng.choice([build("/liveart/dream/octave_scale", ("lots", "s")),
                            build("/liveart/dream/layer", ("blocks.77", "s")),
                            build("/liveart/dream/mix", (float("inf"), "f"))])
            kind = "bad_type"
        else:  # the type tags claim more arguments than there are
            d = b"/liveart/dream/mix\0\0,ffff\0\0\0" + rng.randbytes(4)
            kind = "malformed"
        kinds[kind] += 1
        out.append(d)
    rng.shuffle(out)
    return out, kinds


def test_garbage_flood_leaves_the_server_answering(server, store, caplog):
    caplog.set_level(logging.WARNING, logger=OSC_LOGGER)
    store.set("dream.octaves", 4)
    before = store.targets()
    datagrams, kinds = _garbage(10_000, random.Random(1234))
    drops0 = udp_drops(server.port) or 0
    t0 = time.perf_counter()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for d in datagrams:
            s.sendto(d, ("127.0.0.1", server.port))
    sent = time.perf_counter() - t0
    t1 = time.perf_counter()
    assert query(server.port, "/liveart/dream/octaves", timeout=5) == ([4], "i")
    answered = time.perf_counter() - t1
    assert answered < 2.0, f"the query took {answered:.2f} s after a {sent:.2f} s flood"
    drops = (udp_drops(server.port) or 0) - drops0
    st = server.stats
    assert st["received"] + drops == 10_001
    assert st["malformed"] + st["unknown_address"] + st["bad_type"] == st["received"] - 1
    if drops == 0:
        assert {k: st[k] for k in kinds} == kinds
    assert st["applied"] == st["coalesced"] == 0 and st["queries"] == 1
    assert store.targets() == before
    # rate-limited: at most one line per kind per 5 s (this test runs well under 5 s)
    for word in ("malformed packet", "unknown address", "ignored"):
        assert 1 <= len([r for r in caplog.records if word in r.getMessage()]) <= 2, word
    # and nothing on other loggers (python-osc warns on the root logger for types it skips)
    assert not [r.getMessage() for r in caplog.records if r.name != OSC_LOGGER]
    assert [t.name for t in threading.enumerate()].count("osc-in") == 1


def test_osc_allow_refuses_other_senders(store):
    from liveart.control.osc import OscServer, parse_allow
    from liveart.errors import UserError

    with pytest.raises(UserError, match="--osc-allow takes"):
        parse_allow(["not-a-network"])
    server = OscServer(store, None, "127.0.0.1", 0, allow=["10.0.0.0/8"]).start()
    try:
        client = SimpleUDPClient("127.0.0.1", server.port)
        client.send_message("/liveart/dream/mix", 0.125)
        end = time.monotonic() + 3
        while server.stats["refused"] == 0 and time.monotonic() < end:
            time.sleep(0.01)
        assert server.stats["refused"] == 1 and store.get("dream.mix") != 0.125
    finally:
        server.stop()
    server = OscServer(store, None, "127.0.0.1", 0, allow=["127.0.0.0/8"]).start()
    try:
        SimpleUDPClient("127.0.0.1", server.port).send_message("/liveart/dream/mix", 0.125)
        end = time.monotonic() + 3
        while store.get("dream.mix") != 0.125 and time.monotonic() < end:
            time.sleep(0.01)
        assert store.get("dream.mix") == 0.125
    finally:
        server.stop()


def test_huge_strings_are_refused(store):
    from liveart import params
    from liveart.errors import UserError

    with pytest.raises(UserError, match="at most"):
        params.get("dream.guide").coerce("x" * 100_000)


def test_style_pictures_over_osc_are_names_from_the_styles_folder_only(server, client, store,
                                                                      tmp_path, monkeypatch):
    import cv2
    import numpy as np

    folder = tmp_path / "styles"
    folder.mkdir()
    cv2.imwrite(str(folder / "monet.png"), np.full((16, 16, 3), 120, np.uint8))
    outside = tmp_path / "secret.png"
    cv2.imwrite(str(outside), np.zeros((16, 16, 3), np.uint8))
    monkeypatch.setenv("LIVEART_STYLES_DIR", str(folder))
    for bad in (str(outside), "../secret.png", "styles/../secret", "~/secret.png", "monet; /etc/passwd"):
        n = server.stats["bad_type"]
        client.send_message("/liveart/style/image", bad)
        wait_for(lambda: server.stats["bad_type"] == n + 1, what=f"{bad!r} refused")
        assert store.get("style.image") == ""
    client.send_message("/liveart/style/image", "monet")
    wait_for(lambda: store.get("style.image") == "monet", what="a name from the folder")
    store.set("style.image", str(outside))  # a path still works from the command line or a preset
    assert store.get("style.image") == str(outside)
