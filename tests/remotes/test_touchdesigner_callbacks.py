"""patches/touchdesigner/liveart_callbacks.py, the OSC In DAT callbacks for TouchDesigner, run
as plain Python with stand-ins for the TouchDesigner operators it touches (`op()`): what
liveart's real --osc-out echo sends ends up in the table and the CHOP, what it sends is
liveart's addresses, and it reads a real OSCQuery server."""
from __future__ import annotations

import inspect
import py_compile
import runpy
import socket
import time
from pathlib import Path

import pytest
from pythonosc.osc_message import OscMessage

from liveart.params.actions import ACTIONS, READOUTS
from liveart.control.osc import OscOut
from liveart.control.oscquery import OscQueryServer
from liveart.params import OSC_PREFIX, REGISTRY

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "patches" / "touchdesigner" / "liveart_callbacks.py"
README = ROOT / "patches" / "touchdesigner" / "README.md"


# -- stand-ins for TouchDesigner's operators -------------------------------------------------------
class Table:
    """A Table DAT: cells are strings; dat[rowName, col] finds the row by its first cell."""

    def __init__(self):
        self.rows: list[list[str]] = []

    @property
    def numRows(self):
        return len(self.rows)

    def appendRow(self, cells):
        self.rows.append([str(c) for c in cells])

    def row(self, name):
        return next((r for r in self.rows if r[0] == name), None)

    def __setitem__(self, key, value):
        name, col = key
        self.row(name)[col] = str(value)

    def values(self) -> dict[str, str]:
        return {r[0]: r[1] for r in self.rows[1:]}


class Par:
    def __init__(self, val):
        self.val = val

    def eval(self):
        return self.val


class Pars:
    pass


class Constant:
    """A Constant CHOP with `slots` constants (constNname/constNvalue)."""

    def __init__(self, slots: int):
        self.par = Pars()
        for i in range(slots):
            self.add(i)

    def add(self, i):
        setattr(self.par, f"const{i}name", Par(""))
        setattr(self.par, f"const{i}value", Par(0.0))

    def channels(self) -> dict[str, float]:
        out, i = {}, 0
        while hasattr(self.par, f"const{i}name"):
            name = getattr(self.par, f"const{i}name").eval()
            if name:
                assert name not in out, f"channel {name} twice"
                out[name] = getattr(self.par, f"const{i}value").eval()
            i += 1
        return out


class Sequence:
    def __init__(self, chop: Constant):
        self.chop = chop
        self._n = 1

    @property
    def numBlocks(self):
        return self._n

    @numBlocks.setter
    def numBlocks(self, n):
        for i in range(self._n, n):
            self.chop.add(i)
        self._n = n


class SequenceConstant(Constant):
    """TouchDesigner 2022+: the constants are a sequence that starts with one block."""

    def __init__(self):
        super().__init__(1)
        self.seq = Pars()
        self.seq.const = Sequence(self)


class OscOutDat:
    def __init__(self):
        self.sent: list[tuple[str, list]] = []

    def sendOSC(self, address, values):
        assert isinstance(address, str) and isinstance(values, list)
        self.sent.append((address, values))


@pytest.fixture
def td():
    """The script loaded as TouchDesigner loads a DAT module, with op() finding our stand-ins."""
    ops = {"liveart_values": Table(), "liveart_chop": Constant(40), "liveart_out": OscOutDat()}
    module = runpy.run_path(str(SCRIPT), init_globals={"op": ops.get})
    module["ops"] = ops
    return module


def receive(td, address, *args):
    td["onReceiveOSC"](None, 0, f"{address} {args}", b"", 0.0, address, list(args), None)


# -- the tests -----------------------------------------------------------------------------------
def test_the_script_compiles_and_has_touchdesigners_callback_signature(tmp_path, td):
    py_compile.compile(str(SCRIPT), cfile=str(tmp_path / "x.pyc"), doraise=True)
    assert list(inspect.signature(td["onReceiveOSC"]).parameters) == [
        "dat", "rowIndex", "message", "bytes", "timeStamp", "address", "args", "peer"]


def test_addresses_map_to_parameter_and_channel_names(td):
    assert td["param_name"]("/liveart/dream/mix") == "dream.mix"
    assert td["param_name"]("/liveart/stats/fps") == "stats.fps"
    assert td["param_name"]("/other/app/x") is None
    assert td["param_name"]("/liveart/") is None
    assert td["channel_name"]("dream.drift_y") == "dream_drift_y"
    for p in REGISTRY.values():
        assert td["address_of"](p.name) == p.address
        assert td["param_name"](p.address) == p.name


def test_messages_fill_the_table_and_the_chop(td):
    table, chop = td["ops"]["liveart_values"], td["ops"]["liveart_chop"]
    receive(td, "/liveart/dream/mix", 0.25)
    receive(td, "/liveart/dream/octaves", 3)
    receive(td, "/liveart/dream/layer", "blocks.8")
    receive(td, "/liveart/dream/follow", True)
    receive(td, "/liveart/stats/fps", 29.5)
    receive(td, "/liveart/net/labels", "tabby", "tiger cat", "")
    receive(td, "/other/app/level", 1.0)   # not liveart's: ignored
    receive(td, "/liveart/dream/zoom")     # no value: ignored
    receive(td, "/liveart/dream/mix", 0.5)  # an update replaces the row
    assert table.rows[0] == ["name", "value"]
    assert table.values() == {"dream.mix": "0.5", "dream.octaves": "3",
                              "dream.layer": "blocks.8", "dream.follow": "True",
                              "stats.fps": "29.5", "net.labels": "tabby | tiger cat"}
    assert chop.channels() == {"dream_mix": 0.5, "dream_octaves": 3.0, "dream_follow": 1.0,
                               "stats_fps": 29.5}


def test_liveart_s_own_echo_lands_in_the_table(td, store):
    """Every message of a real OscOut (all the parameter types, the stats), decoded as
    TouchDesigner's OSC In DAT decodes it, is stored under its parameter's name."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    listener.bind(("127.0.0.1", 0))
    listener.settimeout(2)
    store.set("dream.layer", "blocks.6")
    store.set("dream.follow", False)
    stats = {"fps": 24.0, "labels": [("tabby", 0.6), ("tiger cat", 0.2)], "energy": [0.5, 1.5]}
    out = OscOut(store, [("127.0.0.1", listener.getsockname()[1])], stats_source=lambda: stats)
    seen = set()
    with out:
        end = time.monotonic() + 10
        wanted = {p.address for p in REGISTRY.values() if p.type != "trigger"}
        wanted |= {"/liveart/stats/fps", "/liveart/net/labels", "/liveart/net/energy"}
        while not wanted <= seen and time.monotonic() < end:
            msg = OscMessage(listener.recv(65536))
            seen.add(msg.address)
            receive(td, msg.address, *msg.params)
    listener.close()
    assert wanted <= seen
    values = td["ops"]["liveart_values"].values()
    targets = store.targets()
    for p in REGISTRY.values():
        if p.type == "float":  # OSC floats are 32-bit
            assert float(values[p.name]) == pytest.approx(targets[p.name], rel=1e-6), p.name
        elif p.type != "trigger":
            assert values[p.name] == str(targets[p.name]), p.name
    assert values["stats.fps"] == "24.0"
    assert values["net.labels"] == "tabby | tiger cat"
    assert values["net.energy"] == "0.5 1.5"
    channels = td["ops"]["liveart_chop"].channels()
    assert len(channels) == 40, "the 40 constants fill up; the rest stays in the table"
    assert channels["dream_octaves"] == float(targets["dream.octaves"])


def test_a_sequence_constant_chop_grows_a_block_per_channel(td):
    chop = SequenceConstant()
    td["ops"]["liveart_chop"] = chop
    for k, name in enumerate(("mix", "zoom", "rotate")):
        receive(td, f"/liveart/dream/{name}", 0.1 * k)
    receive(td, "/liveart/dream/zoom", 0.02)
    assert chop.channels() == {"dream_mix": 0.0, "dream_zoom": 0.02,
                               "dream_rotate": pytest.approx(0.2)}
    assert chop.seq.const.numBlocks == 3


def test_it_sends_liveart_s_addresses(td):
    sent = td["ops"]["liveart_out"].sent
    td["send"]("dream.octaves", 3)
    td["send"]("dream.layer", "blocks.8")
    td["action"]("preset/morph", "deep-eyes", 8)
    td["action"]("dream/reset")
    assert sent == [("/liveart/dream/octaves", [3]), ("/liveart/dream/layer", ["blocks.8"]),
                    ("/liveart/preset/morph", ["deep-eyes", 8]), ("/liveart/dream/reset", [1])]
    known = {p.address for p in REGISTRY.values()}
    known |= {OSC_PREFIX + a for a in ACTIONS}
    assert {a for a, _ in sent} <= known


def test_it_reads_a_real_oscquery_server(td, store):
    store.set("dream.mix", 0.5)
    store.set("dream.layer", "blocks.3")
    server = OscQueryServer(store, 9000, port=0, advertise=False)
    server.start()
    try:
        url = f"http://127.0.0.1:{server.port}"
        count = td["sync_from_oscquery"](url)
        rows = td["namespace"](url)
    finally:
        server.stop()
    readable = [p for p in REGISTRY.values() if p.type != "trigger"]
    assert count == len(readable)
    values = td["ops"]["liveart_values"].values()
    assert values["dream.mix"] == "0.5" and values["dream.layer"] == "blocks.3"
    assert values["dream.follow"] == "True"
    by_address = {r[0]: r for r in rows}
    # every parameter and readout; the actions too, but /liveart/scene (a container: scene.mix)
    listed = {p.address for p in REGISTRY.values()} | {r.address for r in READOUTS}
    assert listed <= set(by_address) <= listed | {a.address for a in ACTIONS.values()}
    assert by_address["/liveart/preset/load"][1] == "s"
    assert by_address["/liveart/dream/octaves"][1:4] == ("i", 1, 6)
    assert by_address["/liveart/dream/reset"][1] == "I"


def test_the_readme_names_the_ports_and_the_script():
    text = README.read_text()
    for needed in ("9000", "9001", "9002", "liveart_callbacks", "onReceiveOSC", "OSC In DAT",
                   "OSC Out DAT", "--osc-out 127.0.0.1:9002", "sync_from_oscquery"):
        assert needed in text, needed
