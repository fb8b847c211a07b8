"""The Pure Data remote, patches/pd/liveart-remote.pd.

Static checks read the patch file (no Pd needed): vanilla objects only, connections between
objects that exist, every OSC address, layer, preset and scene it names is one liveart knows,
and the sliders' ranges are the parameters' ranges.

The real test opens the SHIPPED patch in a real `pd -nogui` next to a running
`liveart run --headless` show. The patch listens for Pd messages on receive names
(`liveart-dream.mix`, `liveart-preset.load`, `liveart-netsend`...), the same names its sliders
and buttons send to, so the test plays it the way its GUI does. The connection to the show's
ports is set with `pd -send` at start-up; the test's later messages go in through a small helper
patch opened beside it (a `[netreceive -u]` that forwards `name args...;` to `[send name]`),
which also prints what the remote shows (`[r liveart-dream.mix-set]` -> `[print]`). The show is
checked over OSCQuery (`?VALUE`), the remote's display from pd's console.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest
from pythonosc.osc_message import OscMessage
from pythonosc.udp_client import SimpleUDPClient

from liveart.params.actions import ACTIONS
from liveart.control.osc import DEFAULT_PORT
from liveart.params import OSC_PREFIX, REGISTRY
from liveart.presets import list_presets
from liveart.scenes import check_scene_spec

ROOT = Path(__file__).resolve().parents[2]
PATCH = ROOT / "patches" / "pd" / "liveart-remote.pd"
FEEDBACK_PORT = 9002  # the port every remote listens on for `liveart run --osc-out 127.0.0.1:9002`
SHOW_TIMEOUT = 30

# Pd vanilla's built-in classes the remote may use (no externals: it must open in plain Pd).
VANILLA = {
    "r", "receive", "s", "send", "t", "trigger", "oscformat", "oscparse", "netsend",
    "netreceive", "list", "route", "symbol", "float", "f", "int", "i", "+", "-", "*", "/",
    "moses", "clip", "text", "loadbang", "del", "delay", "spigot", "sel", "select", "unpack",
    "pack", "print", "value", "v", "makefilename", "change", "hsl", "hslider", "vsl", "nbx",
    "bng", "tgl", "cnv", "hradio", "vradio",
}


# -- reading a .pd file ---------------------------------------------------------------------------
class Canvas:
    def __init__(self, header: str):
        self.header = header
        self.boxes: list[tuple[str, list[str]]] = []  # (kind, atoms) in Pd's creation order
        self.connects: list[tuple[int, int, int, int]] = []


def parse_pd(text: str) -> list[Canvas]:
    """Every canvas of a patch (the main one first), with its boxes and connections."""
    records = re.split(r"(?<!\\);\s*\n", text)
    stack: list[Canvas] = []
    canvases: list[Canvas] = []
    for rec in records:
        rec = rec.strip()
        if not rec:
            continue
        atoms = rec.replace("\n", " ").split()
        if atoms[0] == "#N" and atoms[1] == "canvas":
            stack.append(Canvas(rec))
            canvases.append(stack[-1])
        elif atoms[0] == "#X" and atoms[1] == "restore":
            sub = stack.pop()
            stack[-1].boxes.append(("obj", ["pd", *atoms[5:]]))
            assert sub.boxes, f"empty subpatch {atoms[5:]}"
        elif atoms[0] == "#X" and atoms[1] == "connect":
            stack[-1].connects.append(tuple(int(a) for a in atoms[2:6]))
        elif atoms[0] == "#X" and atoms[1] in ("obj", "msg", "text", "floatatom", "symbolatom",
                                               "listbox"):
            body = atoms[4:] if atoms[1] in ("obj", "msg", "text") else atoms[2:]
            if atoms[1] == "obj" and len(atoms) < 5:
                body = [""]
            # a trailing ", f 40" (an unescaped comma) is the box's width, not its text
            if len(body) >= 3 and body[-2] == "f" and body[-3].endswith(",") \
                    and not body[-3].endswith("\\,"):
                body = [*body[:-3], body[-3][:-1]]
            stack[-1].boxes.append((atoms[1], body))
        elif atoms[0] == "#X" and atoms[1] == "coords" or atoms[0] == "#A":
            pass
        else:
            raise AssertionError(f"unexpected record in the patch: {rec[:80]}")
    assert not stack[1:], "unclosed subpatch"
    return canvases


@pytest.fixture(scope="module")
def patch() -> list[Canvas]:
    return parse_pd(PATCH.read_text())


def all_boxes(canvases, kind=None):
    for c in canvases:
        for k, atoms in c.boxes:
            if kind is None or k == kind:
                yield atoms


def messages(atoms: list[str]) -> list[list[str]]:
    """A message box's messages (split at its commas)."""
    out, cur = [], []
    for a in atoms:
        if a == "\\,":
            out.append(cur)
            cur = []
        else:
            cur.append(a)
    return [*out, cur]


def known_addresses() -> set[str]:
    return {p.address for p in REGISTRY.values()} | {OSC_PREFIX + a for a in ACTIONS}


# -- static checks --------------------------------------------------------------------------------
def test_the_patch_uses_only_vanilla_objects_and_connects_boxes_that_exist(patch):
    assert len(patch) >= 2, "the logic lives in subpatches"
    for canvas in patch:
        for kind, atoms in canvas.boxes:
            if kind == "obj" and atoms[0] != "pd":
                assert atoms[0] in VANILLA, f"[{' '.join(atoms)}] is not a Pd vanilla object"
        n = len(canvas.boxes)
        for a, outlet, b, inlet in canvas.connects:
            assert 0 <= a < n and 0 <= b < n and a != b, (a, b, n)
            assert canvas.boxes[a][0] != "text" and canvas.boxes[b][0] != "text"
            assert outlet >= 0 and inlet >= 0


def test_every_osc_address_in_the_patch_is_one_liveart_knows(patch):
    known = known_addresses()
    sent = set()
    for atoms in all_boxes(patch, "obj"):
        if atoms[0] == "oscformat":
            parts = atoms[3:] if atoms[1:2] == ["-f"] else atoms[1:]
            if parts:  # a bare [oscformat] gets its address by 'set' (the sync queries)
                sent.add("/" + "/".join(parts))
    queried = set()
    for atoms in all_boxes(patch, "msg"):
        for m in messages(atoms):
            if m[:2] == ["set", "liveart"]:  # [oscformat]'s address, for the sync queries
                queried.add("/" + "/".join(m[1:]))
    assert sent <= known, sorted(sent - known)
    assert queried <= {p.address for p in REGISTRY.values() if p.type != "trigger"}, queried
    main = {"dream.mix", "dream.octaves", "dream.layer", "dream.step_size", "dream.feedback",
            "dream.zoom", "dream.rotate", "scene.mix"}
    assert {REGISTRY[n].address for n in main} <= sent
    assert {REGISTRY[n].address for n in main} == queried
    assert {REGISTRY["dream.reset"].address, "/liveart/preset/load", "/liveart/preset/morph",
            "/liveart/scene"} <= sent
    # int parameters go out as OSC ints
    for atoms in all_boxes(patch, "obj"):
        if atoms[0] == "oscformat" and atoms[1:2] == ["-f"]:
            assert REGISTRY[".".join(atoms[4:])].type in ("int", "enum", "trigger"), atoms


def test_the_panel_matches_the_registry(patch):
    boxes = list(all_boxes(patch))
    sliders = {a[7]: a for a in all_boxes(patch, "obj") if a[0] == "hsl"}  # send name -> box
    numbers = {}
    for c in patch:
        for kind, atoms in c.boxes:
            if kind == "floatatom":  # x y width min max flag label receive send
                numbers[atoms[8]] = atoms
    for name in ("dream.mix", "dream.octaves", "dream.step_size", "dream.feedback",
                 "dream.zoom", "dream.rotate", "scene.mix"):
        p = REGISTRY[name]
        hsl = sliders[f"liveart-{name}"]
        assert (float(hsl[3]), float(hsl[4])) == (p.min, p.max), name
        assert hsl[8] == f"liveart-{name}-set", "the slider follows on its own -set name"
        box = numbers[f"liveart-{name}"]
        assert (float(box[3]), float(box[4])) == (p.min, p.max), name
        assert box[7] == f"liveart-{name}-set"
        # the value goes out, and comes back from the echo as 'set' (twice: local, feedback)
        assert ["r", f"liveart-{name}"] in boxes
        assert sum(a == ["s", f"liveart-{name}-set"] for a in boxes) == 2, name

    layers = REGISTRY["dream.layer"].choices
    text = PATCH.read_text()
    table = re.search(r"text define -k liveart-layers;\s*#A set (.*?)(?<!\\);", text, re.S)
    assert table, "the layer table is missing"
    assert [t.strip() for t in table.group(1).split("\\;") if t.strip()] == list(layers)
    index = numbers["liveart-dream.layer"]
    assert (float(index[3]), float(index[4])) == (0, len(layers) - 1)

    def buttons(sender):
        """Message boxes wired to [s sender] on the main canvas."""
        main = patch[0]
        targets = [i for i, (k, a) in enumerate(main.boxes) if k == "obj" and a == ["s", sender]]
        assert targets, sender
        return [" ".join(main.boxes[a][1]) for a, _, b, _ in main.connects if b in targets]

    assert set(buttons("liveart-dream.layer")) <= set(layers)
    assert sorted(buttons("liveart-preset.load")) == sorted(list_presets())
    assert sorted(buttons("liveart-morph-to")) == sorted(list_presets())
    for spec in buttons("liveart-scene"):
        check_scene_spec(spec)
    assert sorted(buttons("liveart-netsend")) == ["connect 127.0.0.1 9000", "disconnect"]
    assert DEFAULT_PORT == 9000
    assert f"listen {FEEDBACK_PORT}" in buttons("liveart-netreceive")
    # the defaults it opens with
    assert ["connect", "127.0.0.1", str(DEFAULT_PORT)] in boxes
    assert ["listen", str(FEEDBACK_PORT)] in boxes


# -- running pd -----------------------------------------------------------------------------------
def pd_binary() -> str:
    pd = shutil.which("pd") or shutil.which("puredata")  # Debian: pd -> puredata
    if pd is None:
        if os.environ.get("CI"):  # CI installs Pd: a missing one is a broken set-up, not a skip
            pytest.fail("pd is not installed; .ci/run should apt-get install puredata-core")
        pytest.skip("Pure Data is not installed (apt-get install puredata-core)")
    return pd


def free_port(kind=socket.SOCK_DGRAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


WATCHED = [f"liveart-{n}-set" for n in ("dream.mix", "dream.octaves", "dream.step_size",
                                        "dream.feedback", "dream.zoom", "dream.rotate",
                                        "scene.mix", "dream.layer", "dream.layer-name",
                                        "morph-seconds")]
WATCHED += ["liveart-fps-set", "liveart-label1-set", "liveart-connected"]


def helper_patch(command_port: int) -> str:
    """A patch that forwards `name args...;` datagrams (FUDI) to [send name] and prints what
    the remote shows on the receive names in WATCHED."""
    lines = [
        "#N canvas 0 50 600 400 12;",
        f"#X obj 10 10 netreceive -u {command_port};",  # 0
        "#X obj 10 40 list;",                           # 1: name args... -> list name args...
        "#X obj 10 70 t a a;",                          # 2
        "#X obj 120 100 list split 1;",                 # 3: name
        "#X obj 120 130 symbol;",                       # 4
        "#X obj 10 160 list split 1;",                  # 5: args
        "#X obj 10 190 list trim;",                     # 6
        "#X obj 10 220 send;",                          # 7
        "#X obj 300 10 loadbang;",                      # 8
        "#X msg 300 40 ready;",                         # 9
        "#X obj 300 70 print helper;",                  # 10
        "#X obj 300 100 r helper-ping;",                # 11
        "#X obj 300 130 print pong;",                   # 12
    ]
    conns = ["0 0 1 0", "1 0 2 0", "2 1 3 0", "3 0 4 0", "4 0 7 1", "2 0 5 0", "5 1 6 0",
             "6 0 7 0", "8 0 9 0", "9 0 10 0", "11 0 12 0"]
    for k, name in enumerate(WATCHED):
        lines.append(f"#X obj 10 {260 + 30 * k} r {name};")
        lines.append(f"#X obj 200 {260 + 30 * k} print {name};")
        conns.append(f"{len(lines) - 3} 0 {len(lines) - 2} 0")
    return "\n".join(lines + [f"#X connect {c};" for c in conns]) + "\n"


ERROR_RE = re.compile(r"error|couldn't create|connection failed|can't open|no such object|"
                      r"bad arguments|argument number out of range", re.I)


def bad_lines(lines: list[str]) -> list[str]:
    # Pd's oscparse (0.53) has no T/F tags: liveart's bools (dream.follow) echo as one such line
    return [ln for ln in lines if ERROR_RE.search(ln) and "unknown tag 'T'" not in ln
            and "unknown tag 'F'" not in ln]


class Console:
    """Every line a process prints on a stream, kept as it comes; wait_for() a line."""

    def __init__(self, proc: subprocess.Popen, stream):
        self.proc = proc
        self.lines: list[str] = []
        self._cond = threading.Condition()
        threading.Thread(target=self._read, args=(stream,), daemon=True).start()

    def _read(self, stream):
        for line in stream:
            with self._cond:
                self.lines.append(line.rstrip("\n"))
                self._cond.notify_all()

    def wait_for(self, pred, what: str, timeout: float = 10.0, start: int = 0) -> str:
        end = time.monotonic() + timeout
        with self._cond:
            while True:
                for ln in self.lines[start:]:
                    if pred(ln):
                        return ln
                left = end - time.monotonic()
                if left <= 0 or self.proc.poll() is not None:
                    raise AssertionError(f"never printed {what}; the last lines were:\n"
                                         + "\n".join(self.lines[-40:]))
                self._cond.wait(min(left, 0.2))

    def mark(self) -> int:
        with self._cond:
            return len(self.lines)

    def text(self) -> str:
        with self._cond:
            return "\n".join(self.lines)


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


class Pd(Console):
    """A `pd -nogui` with the shipped patch and the helper patch open."""

    def __init__(self, tmp_path: Path, *args: str):
        self.command_port = free_port()
        helper = tmp_path / "helper.pd"
        helper.write_text(helper_patch(self.command_port))
        proc = subprocess.Popen(
            [pd_binary(), "-nogui", "-noaudio", "-nomidi", "-noprefs", "-stderr",
             "-open", str(PATCH), "-open", str(helper), *args],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, errors="replace")
        super().__init__(proc, proc.stderr)
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._pings = 0
        self.wait_for(lambda ln: ln == "helper: ready", "the helper patch loaded")

    def send(self, *messages: str) -> None:
        """Send Pd messages (`receiver args...`) into the running patch; returns once pd has
        handled them (a ping sent after them has come back)."""
        self._pings += 1
        # FUDI over UDP: one message per datagram, ended by ";\n" (pd reads up to the first ';')
        for m in [*messages, f"helper-ping {self._pings}"]:
            self._sock.sendto(f"{m};\n".encode(), ("127.0.0.1", self.command_port))
        self.wait_for(lambda ln: ln == f"pong: {self._pings}", f"pong {self._pings}")

    def close(self) -> list[str]:
        self._sock.close()
        stop(self.proc)
        return self.text().splitlines()


def start_show(tmp_path: Path, osc: int, query: int, feedback: int) -> Console:
    env = dict(os.environ, LIVEART_CONFIG_DIR=str(tmp_path / "cfg"))
    proc = subprocess.Popen(
        [sys.executable, "-m", "liveart", "run", "--headless", "--source", "synthetic",
         "--size", "64x36", "--seconds", "60", "--midi", "none", "--fresh",
         "--osc-port", str(osc), "--oscquery-port", str(query),
         "--osc-out", f"127.0.0.1:{feedback}"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    show = Console(proc, proc.stderr)
    end = time.monotonic() + SHOW_TIMEOUT
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{query}/?HOST_INFO", timeout=2) as r:
                assert json.loads(r.read())["OSC_PORT"] == osc
            return show
        except OSError:
            if proc.poll() is not None or time.monotonic() > end:
                stop(proc)
                raise AssertionError("the show did not come up:\n" + show.text()[-3000:])
            time.sleep(0.2)


def value(query: int, name: str):
    with urllib.request.urlopen(f"http://127.0.0.1:{query}{REGISTRY[name].address}?VALUE",
                                timeout=2) as r:
        return json.loads(r.read())["VALUE"][0]


def wait_values(query: int, expected: dict, timeout: float = 10.0) -> None:
    end = time.monotonic() + timeout
    while True:
        got = {n: value(query, n) for n in expected}
        if all(got[n] == pytest.approx(v, abs=1e-6) if isinstance(v, float) else got[n] == v
               for n, v in expected.items()):
            return
        if time.monotonic() > end:
            raise AssertionError(f"the show has {got}, not {expected}")
        time.sleep(0.1)


def test_the_shipped_patch_opens_with_its_defaults_and_no_errors(tmp_path):
    """Opened as a user opens it: it connects to 127.0.0.1:9000 (and asks for the values at
    once), listens on 9002 for the echo, and Pd reports nothing wrong with it."""
    pd_binary()
    show = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)  # stands in for liveart on 9000
    echo = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        show.bind(("127.0.0.1", DEFAULT_PORT))
        echo.bind(("127.0.0.1", FEEDBACK_PORT))
        echo.close()  # only checking that 9002 is free for pd
    except OSError as e:
        show.close()
        echo.close()
        pytest.skip(f"ports {DEFAULT_PORT}/{FEEDBACK_PORT} are in use here ({e})")
    show.settimeout(5)
    pd = Pd(tmp_path)
    try:
        pd.wait_for(lambda ln: ln == "liveart-connected: 1", "the connection")
        queries = set()
        while len(queries) < 8:
            data, _ = show.recvfrom(65536)
            msg = OscMessage(data)
            assert msg.params == [], "a sync query has no argument"
            queries.add(msg.address)
        assert queries == {REGISTRY[n].address for n in (
            "dream.mix", "dream.octaves", "dream.layer", "dream.step_size", "dream.feedback",
            "dream.zoom", "dream.rotate", "scene.mix")}
        # liveart's echo on 9002 reaches the panel
        SimpleUDPClient("127.0.0.1", FEEDBACK_PORT).send_message("/liveart/stats/fps", 12.5)
        pd.wait_for(lambda ln: ln == "liveart-fps-set: set 12.5", "the fps from port 9002")
        pd.send("liveart-dream.mix 0.5")
        msg = OscMessage(show.recvfrom(65536)[0])
        assert (msg.address, msg.params) == ("/liveart/dream/mix", [0.5])
    finally:
        lines = pd.close()
        show.close()
    assert not bad_lines(lines), "\n".join(lines)


def test_the_pd_remote_plays_a_running_show(tmp_path):
    pd_binary()
    osc, query, feedback = free_port(), free_port(socket.SOCK_STREAM), free_port()
    show = start_show(tmp_path, osc, query, feedback)
    pd = None
    try:
        pd = Pd(tmp_path, "-send", f"liveart-netsend connect 127.0.0.1 {osc}",
                "-send", f"liveart-netreceive listen {feedback}")
        # on connect the remote asks for the values: the replies fill the panel
        pd.wait_for(lambda ln: ln == "liveart-connected: 1", "the connection")
        pd.wait_for(lambda ln: ln == "liveart-dream.octaves-set: set 4", "octaves from sync")
        pd.wait_for(lambda ln: ln == "liveart-dream.layer-name-set: set blocks.10", "the layer")
        pd.wait_for(lambda ln: ln == "liveart-dream.layer-set: set 10", "the layer's index")
        # the show's echo (--osc-out) reaches it: fps is never asked for, only echoed
        pd.wait_for(lambda ln: ln.startswith("liveart-fps-set: set "), "the fps")

        # the sliders' values, as the GUI sends them
        pd.send("liveart-dream.octaves 2", "liveart-dream.mix 0.25",
                "liveart-dream.step_size 0.05", "liveart-dream.feedback 0.5",
                "liveart-dream.zoom 0.01", "liveart-dream.rotate -1.5", "liveart-scene.mix 0.75")
        wait_values(query, {"dream.octaves": 2, "dream.mix": 0.25, "dream.step_size": 0.05,
                            "dream.feedback": 0.5, "dream.zoom": 0.01, "dream.rotate": -1.5,
                            "scene.mix": 0.75})
        pd.send("liveart-dream.octaves 4.6")  # a slider between two ints: the nearest one
        wait_values(query, {"dream.octaves": 5})

        # the layer by index (the number box) and by name (the buttons, the name box)
        at = pd.mark()
        pd.send("liveart-dream.layer 6")
        wait_values(query, {"dream.layer": "blocks.6"})
        pd.wait_for(lambda ln: ln == "liveart-dream.layer-name-set: set blocks.6",
                    "the index shown as a name", start=at)
        at = pd.mark()
        pd.send("liveart-dream.layer blocks.12")
        wait_values(query, {"dream.layer": "blocks.12"})
        pd.wait_for(lambda ln: ln == "liveart-dream.layer-set: set 12", "the name's index",
                    start=at)

        # values changed elsewhere (MIDI, another remote) follow on the panel, without the
        # remote sending them back
        at = pd.mark()
        other = SimpleUDPClient("127.0.0.1", osc)
        other.send_message("/liveart/dream/zoom", 0.03125)
        other.send_message("/liveart/dream/layer", "blocks.7")
        other.send_message("/liveart/scene/mix", 0.5)
        pd.wait_for(lambda ln: ln == "liveart-dream.zoom-set: set 0.03125", "zoom", start=at)
        pd.wait_for(lambda ln: ln == "liveart-dream.layer-set: set 7", "layer 7", start=at)
        pd.wait_for(lambda ln: ln == "liveart-dream.layer-name-set: set blocks.7", "blocks.7",
                    start=at)
        pd.wait_for(lambda ln: ln == "liveart-scene.mix-set: set 0.5", "scene.mix", start=at)

        # presets: load, morph from the panel's buttons (seconds from its box), morph by message
        pd.send("liveart-preset.load deep-eyes")
        wait_values(query, {"dream.layer": "blocks.10", "dream.octaves": 4, "dream.steps": 2,
                            "dream.mix": 1.0})
        pd.send("liveart-morph-seconds 0.3", "liveart-morph-to gentle")
        wait_values(query, {"dream.layer": "blocks.5", "dream.octaves": 3, "dream.mix": 0.8})
        pd.send("liveart-preset.morph ornaments 0.2")
        wait_values(query, {"dream.layer": "blocks.2", "dream.octaves": 3, "dream.mix": 0.9})

        # scenes (the new one is built in the background)
        pd.send("liveart-scene dream+dream")
        show.wait_for(lambda ln: ln.endswith("scene dream+dream ready"), "the new scene",
                      timeout=30)

        # what goes on the wire: point the remote at a socket of ours
        sniff = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sniff.bind(("127.0.0.1", 0))
        sniff.settimeout(5)
        try:
            pd.send(f"liveart-netsend connect 127.0.0.1 {sniff.getsockname()[1]}")
            seen = [OscMessage(sniff.recv(65536)) for _ in range(8)]  # the sync on connect
            assert all(m.params == [] for m in seen)
            pd.send("liveart-dream.reset bang", "liveart-dream.octaves 3",
                    "liveart-dream.mix 0.5", "liveart-dream.layer head",
                    "liveart-preset.morph infinite-zoom 4")
            got = [sniff.recv(65536) for _ in range(5)]
        finally:
            sniff.close()
        assert [(OscMessage(d).address, OscMessage(d).params) for d in got] == [
            ("/liveart/dream/reset", [1]), ("/liveart/dream/octaves", [3]),
            ("/liveart/dream/mix", [0.5]), ("/liveart/dream/layer", ["head"]),
            ("/liveart/preset/morph", ["infinite-zoom", 4.0])]
        assert b",i\x00" in got[1] and b",f\x00" in got[2]  # ints as ints, floats as floats
    finally:
        lines = pd.close() if pd else []
        stop(show.proc)
    assert not bad_lines(lines), "\n".join(lines)
    assert "WARNING liveart.control.osc" not in show.text(), show.text()  # nothing refused
