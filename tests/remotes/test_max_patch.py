"""The Max remote, patches/max/liveart-remote.maxpat. Max can't run here, so the patcher is
read as Max reads it (JSON) and checked: well-formed boxes, every patch cord between an outlet
and an inlet that exist, every OSC address one liveart knows, the layer/preset/scene menus and
slider ranges from the registry, udpsend/udpreceive on the default ports, and each slider wired
both ways (out through [prepend address], back from [udpreceive] through [prepend set])."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from liveart.params.actions import ACTIONS
from liveart.control.osc import DEFAULT_HOST, DEFAULT_PORT
from liveart.params import OSC_PREFIX, REGISTRY
from liveart.presets import list_presets
from liveart.scenes import check_scene_spec

ROOT = Path(__file__).resolve().parents[2]
PATCH = ROOT / "patches" / "max" / "liveart-remote.maxpat"
FEEDBACK_PORT = 9002  # the remotes' port for `liveart run --osc-out 127.0.0.1:9002`
# what liveart's --osc-out sends besides the parameters (liveart/control/osc.py, OscOut)
STATS = {"/liveart/stats/fps", "/liveart/net/labels", "/liveart/net/energy"}
MAIN = ["dream.mix", "dream.octaves", "dream.step_size", "dream.feedback", "dream.zoom",
        "dream.rotate", "scene.mix"]

# (inlets, outlets) of the Max objects the patch may use; `route` is counted from its arguments
UI = {"slider": (1, 1), "flonum": (1, 2), "number": (1, 2), "umenu": (1, 3), "button": (1, 1),
      "message": (2, 1), "comment": (1, 0), "toggle": (1, 1)}
OBJECTS = {"udpsend": (1, 0), "udpreceive": (1, 1), "prepend": (2, 1), "append": (2, 1),
           "s": (1, 0), "send": (1, 0), "r": (0, 1), "receive": (0, 1), "loadmess": (1, 1),
           "t": None, "trigger": None, "route": None}


@pytest.fixture(scope="module")
def patcher() -> dict:
    data = json.loads(PATCH.read_text())
    assert set(data) == {"patcher"}
    return data["patcher"]


@pytest.fixture(scope="module")
def boxes(patcher) -> dict[str, dict]:
    out = {}
    for entry in patcher["boxes"]:
        box = entry["box"]
        assert box["id"] not in out, f"duplicate id {box['id']}"
        out[box["id"]] = box
    return out


def words(box) -> list[str]:
    return box.get("text", "").split()


def wires(patcher) -> list[tuple[str, int, str, int]]:
    return [(*ln["patchline"]["source"], *ln["patchline"]["destination"])
            for ln in patcher["lines"]]


def following(patcher, boxes, bid, outlet=None) -> list[dict]:
    """The boxes `bid`'s outlet (any outlet when None) is wired to."""
    return [boxes[d] for s, o, d, _ in wires(patcher)
            if s == bid and (outlet is None or o == outlet)]


def find(boxes, text=None, maxclass="newobj") -> list[dict]:
    return [b for b in boxes.values() if b["maxclass"] == maxclass
            and (text is None or b.get("text") == text)]


def test_every_box_is_well_formed_and_a_known_max_object(patcher, boxes):
    assert patcher["boxes"] and patcher["lines"]
    for box in boxes.values():
        for key in ("id", "maxclass", "numinlets", "numoutlets", "patching_rect"):
            assert key in box, (key, box)
        assert len(box["patching_rect"]) == 4 and box["patching_rect"][2] > 0
        assert len(box.get("outlettype", [])) == box["numoutlets"], box
        if box.get("presentation"):
            assert len(box["presentation_rect"]) == 4, box
        cls = box["maxclass"]
        if cls in ("newobj", "message", "comment"):
            assert isinstance(box.get("text"), str), box
        if cls == "newobj":
            name, args = words(box)[0], words(box)[1:]
            assert name in OBJECTS, f"unexpected object [{box['text']}]"
            if name == "route":
                expected = (2, len(args) + 1)
            elif name in ("t", "trigger"):
                expected = (1, len(args))
            else:
                expected = OBJECTS[name]
        else:
            assert cls in UI, f"unexpected maxclass {cls}"
            expected = UI[cls]
        assert (box["numinlets"], box["numoutlets"]) == expected, box


def test_every_cord_joins_an_outlet_and_an_inlet_that_exist(patcher, boxes):
    for src, outlet, dst, inlet in wires(patcher):
        assert src in boxes and dst in boxes, (src, dst)
        assert 0 <= outlet < boxes[src]["numoutlets"], (src, outlet)
        assert 0 <= inlet < boxes[dst]["numinlets"], (dst, inlet)
    assert len(set(wires(patcher))) == len(wires(patcher)), "a cord is drawn twice"


def test_every_osc_address_is_one_liveart_knows(boxes):
    params = {p.address for p in REGISTRY.values()}
    actions = {OSC_PREFIX + a for a in ACTIONS}
    osc_source = (ROOT / "liveart" / "control" / "osc.py").read_text()
    for address in STATS:
        assert f'OSC_PREFIX + "{address.removeprefix(OSC_PREFIX)}"' in osc_source, address
    sent, followed = set(), set()
    for box in boxes.values():
        w = words(box)
        if box["maxclass"] == "newobj" and w[0] == "prepend" and w[1].startswith("/"):
            sent.add(w[1])
        elif box["maxclass"] == "message" and w and w[0].startswith("/"):
            sent.add(w[0])
        elif box["maxclass"] == "newobj" and w[0] == "route":
            followed.update(w[1:])
        elif box["maxclass"] != "comment":
            assert not any(t.startswith(OSC_PREFIX) for t in w), box
    assert sent <= (params | actions) - STATS, sorted(sent - params - actions)
    assert followed <= {p.address for p in REGISTRY.values() if p.type != "trigger"} | STATS
    assert {REGISTRY[n].address for n in [*MAIN, "dream.layer", "dream.reset"]} <= sent
    assert {"/liveart/preset/load", "/liveart/preset/morph", "/liveart/scene"} <= sent
    assert {REGISTRY[n].address for n in [*MAIN, "dream.layer"]} | {"/liveart/stats/fps"} \
        <= followed


def test_udpsend_and_udpreceive_use_the_default_ports(patcher, boxes):
    (send,) = [b for b in find(boxes) if words(b)[0] == "udpsend"]
    (recv,) = [b for b in find(boxes) if words(b)[0] == "udpreceive"]
    assert words(send)[1:] == [DEFAULT_HOST, str(DEFAULT_PORT)] == ["127.0.0.1", "9000"]
    assert words(recv)[1:] == [str(FEEDBACK_PORT)]
    # everything sent goes through [s liveart-osc] -> udpsend; udpreceive -> [s liveart-in]
    (r_osc,) = find(boxes, "r liveart-osc")
    assert following(patcher, boxes, r_osc["id"]) == [send]
    assert find(boxes, "s liveart-in") == following(patcher, boxes, recv["id"])
    # the port messages go where they belong
    for msg, target in (("port 9000", send), ("port 9002", recv)):
        (box,) = find(boxes, msg, "message")
        assert following(patcher, boxes, box["id"]) == [target]


def test_each_control_sends_its_address_and_follows_the_echo(patcher, boxes):
    senders = {b["id"] for b in find(boxes, "s liveart-osc")}
    receivers = {b["id"] for b in find(boxes, "r liveart-in")}
    ins = {}  # box id -> the boxes wired into it
    for src, _, dst, _ in wires(patcher):
        ins.setdefault(dst, []).append(boxes[src])

    def sends(control, address):
        """control -> [prepend address] (-> [append ...]) -> [s liveart-osc]"""
        for box in following(patcher, boxes, control["id"]):
            if box.get("text", "").startswith("append "):
                box = following(patcher, boxes, box["id"])[0]
            if box.get("text") == f"prepend {address}":
                after = following(patcher, boxes, box["id"])
                return bool(after) and all(b["id"] in senders for b in after)
        return False

    def follows(control, address, setter="prepend set"):
        """[r liveart-in] -> [route ... address ...] -> [prepend set] -> control"""
        for pre in ins.get(control["id"], []):
            if pre.get("text") != setter:
                continue
            for route in ins.get(pre["id"], []):
                w = words(route)
                if w[:1] == ["route"] and address in w[1:]:
                    k = w.index(address) - 1
                    if any(s == route["id"] and o == k and d == pre["id"]
                           for s, o, d, _ in wires(patcher)):
                        return any(r["id"] in receivers for r in ins.get(route["id"], []))
        return False

    sliders = find(boxes, maxclass="slider")
    for name in MAIN:
        p = REGISTRY[name]
        (slider,) = [s for s in sliders if sends(s, p.address)]
        assert follows(slider, p.address), name
        if p.type == "int":
            assert (slider["min"], slider["size"], slider["floatoutput"]) == \
                (p.min, p.max - p.min + 1, 0), name
        else:
            assert slider["floatoutput"] == 1, name
            assert (slider["min"], slider["min"] + slider["size"]) == \
                pytest.approx((p.min, p.max)), name
        (number,) = [b for b in boxes.values() if b["maxclass"] in ("flonum", "number")
                     and follows(b, p.address) and sends(b, p.address)]
        assert (number["minimum"], number["maximum"]) == (p.min, p.max), name
        assert number["maxclass"] == ("number" if p.type == "int" else "flonum"), name

    menus = find(boxes, maxclass="umenu")

    def items(menu):
        assert menu["items"][1::2] == [","] * (len(menu["items"]) // 2), "items are comma-separated"
        return menu["items"][::2]

    (layer,) = [m for m in menus if sends(m, REGISTRY["dream.layer"].address)]
    assert items(layer) == list(REGISTRY["dream.layer"].choices)
    assert follows(layer, REGISTRY["dream.layer"].address, setter="prepend setsymbol")
    for action in ("/liveart/preset/load", "/liveart/preset/morph"):
        (menu,) = [m for m in menus if sends(m, action)]
        assert sorted(items(menu)) == sorted(list_presets()), action
    (scene,) = [m for m in menus if sends(m, "/liveart/scene")]
    for spec in items(scene):
        check_scene_spec(spec)
    for menu in menus:  # the item's text (middle outlet) is what goes out
        assert {o for s, o, _, _ in wires(patcher) if s == menu["id"]} == {1}

    (reset,) = find(boxes, "/liveart/dream/reset 1", "message")
    assert [b["maxclass"] for b in ins[reset["id"]]] == ["button"]
    assert all(b["id"] in senders for b in following(patcher, boxes, reset["id"]))
    (fps,) = [b for b in boxes.values() if b["maxclass"] == "flonum"
              and follows(b, "/liveart/stats/fps")]
    assert not following(patcher, boxes, fps["id"]), "fps is shown, not sent"


def test_the_presentation_shows_every_control(boxes):
    for box in boxes.values():
        if box["maxclass"] in ("slider", "flonum", "number", "umenu", "button"):
            assert box.get("presentation") == 1, box
