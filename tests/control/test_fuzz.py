"""Fuzzing the controllers: random OSC messages and bundles to every address (huge blobs and
strings, NaN, extremes, wrong types), random MIDI byte streams through every shipped map, and
hostile preset files. Nothing raises out of them and every parameter stays in its range."""
from __future__ import annotations

import math
import random
import socket
import struct

import mido
import pytest

from liveart import params
from liveart.control.actions import Actions
from liveart.control.midi import SHIPPED, MidiHandler, list_maps, load_map
from liveart.control.osc import OscServer
from liveart.errors import UserError
from liveart.params import ParamStore

from .test_osc import build, query


def assert_all_in_range(store: ParamStore) -> None:
    for name, value in store.targets().items():
        p = params.REGISTRY[name]
        if p.type in ("float", "int"):
            assert isinstance(value, (int, float)) and math.isfinite(value), name
            assert p.min <= value <= p.max, (name, value)
            if p.type == "int":
                assert isinstance(value, int), name
        elif p.type == "enum":
            assert value in p.choices, (name, value)
        elif p.type == "bool":
            assert isinstance(value, bool), name
        elif p.type == "str":
            assert isinstance(value, str) and len(value) <= params.MAX_STR, name


def random_arg(rng: random.Random):
    kind = rng.randrange(10)
    if kind == 0:
        return (rng.choice([float("nan"), float("inf"), -float("inf"), 1e38, -1e38, 0.0]), "f")
    if kind == 1:
        return (rng.uniform(-1e6, 1e6), "f")
    if kind == 2:
        return (rng.choice([-2**31, 2**31 - 1, 0, -1, rng.randrange(-1000, 1000)]), "i")
    if kind == 3:
        return (rng.choice([2**62, -2**62, 7]), "h")
    if kind == 4:
        return (rng.uniform(-1e300, 1e300), "d")
    if kind == 5:
        return (rng.choice([True, False]), "T")
    if kind == 6:  # strings: numbers, names, junk, too long
        return (rng.choice(["nan", "inf", "-inf", "1e999", "3", "blocks.3", "", "..", "../../etc",
                            "x" * rng.choice([10, 5000, 20000]), "☃" * 50,
                            "".join(chr(rng.randrange(1, 0x2FF)) for _ in range(40))]), "s")
    if kind == 7:  # blobs up to the size of a UDP datagram
        return (rng.randbytes(rng.choice([0, 3, 1000, 60000])), "b")
    if kind == 8:
        return (None, "N")
    return ("A", "c") if rng.random() < 0.5 else (rng.random(), "f")


def random_message(rng: random.Random, addresses: list[str]) -> bytes:
    args = [random_arg(rng) for _ in range(rng.choice([0, 1, 1, 1, 2, 3]))]
    builder_args = [(v, "s" if t == "c" else t) for v, t in args]
    total = sum(len(v) if isinstance(v, (bytes, str)) else 8 for v, _ in builder_args)
    if total > 60000:
        builder_args = builder_args[:1]
    try:
        return build(rng.choice(addresses), *builder_args)
    except Exception:  # noqa: BLE001 - a value the builder itself refuses: send a plain one
        return build(rng.choice(addresses), (0.5, "f"))


def bundle(elements: list[bytes], rng: random.Random) -> bytes:
    out = b"#bundle\0" + struct.pack(">Q", rng.choice([1, 0, 2**64 - 1]))
    for e in elements:
        out += struct.pack(">i", len(e)) + e
    return out


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_osc_to_every_address_keeps_every_parameter_in_range(seed, tmp_path, monkeypatch):
    monkeypatch.setenv("LIVEART_CONFIG_DIR", str(tmp_path / "cfg"))
    rng = random.Random(seed)
    store = ParamStore()
    server = OscServer(store, Actions(store, switch_scene=lambda spec: None), port=0).start()
    addresses = ([p.address for p in params.REGISTRY.values()]
                 + ["/liveart/preset/load", "/liveart/preset/save", "/liveart/preset/morph",
                    "/liveart/scene", "/liveart/", "/liveart", "/"])
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            for i in range(3000):
                msg = random_message(rng, addresses)
                if i % 7 == 0:  # a bundle, sometimes nested, sometimes cut short
                    inner = [random_message(rng, addresses) for _ in range(rng.randrange(1, 5))]
                    msg = bundle(inner if rng.random() < 0.7 else [bundle(inner, rng)], rng)
                    if rng.random() < 0.2:
                        msg = msg[:rng.randrange(8, len(msg))]
                if len(msg) <= 65000:
                    s.sendto(msg, ("127.0.0.1", server.port))
        # the server answers after the storm (a query is handled after everything before it)
        assert query(server.port, "/liveart/dream/mix", timeout=10)[1] == "f"
        assert server.stats["received"] > 0
        assert_all_in_range(store)
        store.snapshot()  # the smoothed values too
        assert_all_in_range(store)
        # nothing escaped the presets folder
        saved = list((tmp_path / "cfg").rglob("*")) if (tmp_path / "cfg").exists() else []
        assert all(str(p).startswith(str(tmp_path / "cfg")) for p in saved)
    finally:
        server.stop()
    assert server._thread is None or not server._thread.is_alive()


@pytest.mark.parametrize("map_name", sorted(SHIPPED and list_maps()))
def test_random_midi_bytes_through_every_shipped_map(map_name, tmp_path, monkeypatch):
    monkeypatch.setenv("LIVEART_CONFIG_DIR", str(tmp_path / "cfg"))
    rng = random.Random(map_name)
    store = ParamStore()
    handler = MidiHandler(store, Actions(store, switch_scene=lambda spec: None), load_map(map_name))
    parser = mido.Parser()
    # raw bytes, biased towards the status bytes a controller sends so messages do parse
    data = bytearray()
    for _ in range(20000):
        r = rng.random()
        if r < 0.3:
            data += bytes([rng.choice([0xB0, 0x90, 0x80, 0xC0, 0xE0]) | rng.randrange(16)])
        elif r < 0.35:
            data += bytes([rng.choice([0xF8, 0xFA, 0xFB, 0xFC, 0xF2, 0xF0, 0xF7, 0xFF])])
        else:
            data += bytes([rng.randrange(128) if r < 0.9 else rng.randrange(256)])
    parser.feed(bytes(data))
    messages = list(parser)
    assert len(messages) > 3000
    for t, msg in enumerate(messages):
        handler.handle(msg, now=t * 0.001)
    assert_all_in_range(store)


PRESET = """description = "fuzz"

[dream]
mix = 0.5
octaves = 3
layer = "blocks.5"

[style]
w3 = 0.7
"""


def mutate(text: str, rng: random.Random) -> str:
    choices = [
        lambda t: t.replace("0.5", rng.choice(["nan", "inf", "-inf", "1e400", "-0.0", "\"0.5\"",
                                                "[0.5]", "{a = 1}", "true", "1979-05-27"])),
        lambda t: t.replace("3", rng.choice(["300", "-3", "3.7", "\"three\"", "0x7fffffff"])),
        lambda t: t.replace("blocks.5", rng.choice(["blocks.99", "", "../x", "x" * 10000, "'"])),
        lambda t: t + rng.choice(["\n[dream.deep.deeper]\nx = 1\n", "\nunknown = 1\n",
                                  "\n[[dream]]\nmix = 1\n", "\n" + "[a]\n" * 50, "\x00",
                                  "\n[style]\nw3 = 2\n", "\na = " + "[" * 500 + "]" * 500 + "\n"]),
        lambda t: t[:rng.randrange(len(t))],
        lambda t: "".join(c if rng.random() > 0.02 else chr(rng.randrange(1, 256)) for c in t),
    ]
    for _ in range(rng.randrange(1, 4)):
        text = rng.choice(choices)(text)
    return text


def test_hostile_preset_files_are_refused_in_one_sentence_or_load_in_range(tmp_path, monkeypatch):
    from liveart.presets import load_preset

    monkeypatch.setenv("LIVEART_CONFIG_DIR", str(tmp_path / "cfg"))
    rng = random.Random(7)
    refused = loaded = 0
    for i in range(400):
        path = tmp_path / f"p{i}.toml"
        path.write_bytes(mutate(PRESET, rng).encode("utf-8", "surrogatepass"))
        store = ParamStore()
        before = store.targets()
        try:
            values, _ = load_preset(str(path))
        except UserError as e:
            refused += 1
            text = str(e)
            assert str(path) in text and "\n" not in text.strip() and len(text) < 2000, text[:300]
            assert store.targets() == before
            continue
        loaded += 1
        for name, value in values.items():
            store.set(name, value)
        assert_all_in_range(store)
    assert refused > 100 and loaded > 20, (refused, loaded)
