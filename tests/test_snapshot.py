"""Snapshots: PNGs that carry the full parameter state (`liveart` text chunk), the live
`snapshot` action (OSC, MIDI, key P) and `liveart render --from`, with real files and sockets."""
from __future__ import annotations

import json
import logging
import re
import socket
import subprocess
import sys
import time
import zlib
from pathlib import Path
from types import SimpleNamespace

import cv2
import numpy as np
import pytest
from PIL import Image, PngImagePlugin
from pythonosc.udp_client import SimpleUDPClient

from liveart import __version__, snapshot
from liveart.cli import main
from liveart.control.actions import Actions
from liveart.control.osc import OscServer
from liveart.engine import Output
from liveart.errors import UserError
from liveart.params import REGISTRY, ParamStore
from liveart.slots import LatestSlot
from liveart.snapshot import (Snapshots, apply_state, read_state, start_snapshots, state_json,
                              state_values, write_png)

from .conftest import wait_for

STAMP = re.compile(r"^liveart-\d{8}-\d{6}-\d{3}\.png$")


def typed(values: dict) -> dict:
    """{name: (type name, value)}: 4 == 4.0 and 1 == True in Python, so compare types too."""
    return {k: (type(v).__name__, v) for k, v in values.items()}


def one_sentence(e: Exception) -> bool:
    text = str(e)
    return text.endswith(".") and "\n" not in text and "Traceback" not in text and len(text) < 1000


def non_default_values(picture: Path) -> dict:
    """A value different from the default for every parameter that isn't a trigger, of every
    type: floats with many digits, ints, bools, choices, text (a real picture for the style
    and paint scenes, whose check wants one)."""
    texts = {"dream.guide": "tabby cat", "music.root": "F#", "style.image": picture.name,
             "paint.image": picture.name}
    values = {}
    for name, p in REGISTRY.items():
        if p.type == "float":
            values[name] = p.min + (p.max - p.min) * 0.3712345678901234
            if values[name] == p.default:
                values[name] = p.min + (p.max - p.min) * 0.61
        elif p.type == "int":
            values[name] = p.max if p.default != p.max else p.min
        elif p.type == "bool":
            values[name] = not p.default
        elif p.type == "enum":
            values[name] = next(c for c in reversed(p.choices) if c != p.default)
        elif p.type == "str" and name in texts:
            values[name] = texts[name]
    return values


@pytest.fixture
def picture(tmp_path, cat, monkeypatch) -> Path:
    """A picture in the styles folder: a snapshot's picture names resolve there (a path in a
    snapshot from elsewhere is untrusted and left out, tests/test_hostile.py)."""
    monkeypatch.setenv("LIVEART_STYLES_DIR", str(tmp_path / "styles"))
    (tmp_path / "styles").mkdir(exist_ok=True)
    path = tmp_path / "styles" / "style-picture.png"
    cv2.imwrite(str(path), cv2.cvtColor(cat[:64, :64], cv2.COLOR_RGB2BGR))
    return path


@pytest.fixture
def cat_png(tmp_path, cat) -> Path:
    path = tmp_path / "cat.png"
    cv2.imwrite(str(path), cv2.cvtColor(cv2.resize(cat, (96, 64), interpolation=cv2.INTER_AREA),
                                        cv2.COLOR_RGB2BGR))
    return path


@pytest.fixture
def snap_dir(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "snaps"
    monkeypatch.setenv("LIVEART_SNAPSHOTS_DIR", str(folder))
    return folder


# -- the state and the PNG -------------------------------------------------------------------
def test_round_trip_through_a_real_png_reproduces_every_parameter_exactly(tmp_path, picture, cat):
    store = ParamStore()
    chosen = non_default_values(picture)
    store.update(chosen)
    before = store.targets()
    assert all(before[n] != p.default for n, p in REGISTRY.items() if n in chosen)
    path = write_png(tmp_path / "look.png", cat, state_json(store, "dream+style+paint"))

    state = read_state(path)
    assert typed(state["params"]) == typed(before)  # every parameter, exact value and type
    assert set(state["params"]) == {n for n, p in REGISTRY.items() if p.type != "trigger"}
    assert state["scene"] == "dream+style+paint" and state["liveart"] == __version__
    assert state["models"] == [before["dream.model"], "arbitrary", "vgg16"]

    fresh = ParamStore()
    assert typed(fresh.targets()) != typed(before)
    apply_state(fresh, state)
    assert typed(fresh.targets()) == typed(before)
    # and a second trip changes nothing (the text itself is stable)
    again = write_png(tmp_path / "again.png", cat, state_json(fresh, "dream+style+paint"))
    assert read_state(again)["params"] == state["params"]


def test_floats_keep_every_digit(tmp_path, cat):
    store = ParamStore()
    store.set("dream.step_size", 0.1 + 0.2 / 3)  # 0.16666666666666669: no short decimal form
    store.set("dream.zoom", 1e-12)
    state = read_state(write_png(tmp_path / "f.png", cat, state_json(store, "dream")))
    assert state["params"]["dream.step_size"] == 0.1 + 0.2 / 3
    assert state["params"]["dream.zoom"] == 1e-12


def test_models_follow_the_scene_and_the_values():
    store = ParamStore()
    assert json.loads(state_json(store, "dream"))["models"] == ["efficientnet_lite0"]
    assert json.loads(state_json(store, "style"))["models"] == ["multistyle26"]
    assert json.loads(state_json({"dream.model": "vgg16"}, "dream+paint"))["models"] == ["vgg16"]
    extra = json.loads(state_json(store, "dream", {"seed": 7, "params": "not this"}))
    assert extra["seed"] == 7 and isinstance(extra["params"], dict)  # extra can't replace a key


def test_the_png_is_a_normal_image_with_the_right_pixels(tmp_path, cat):
    path = write_png(tmp_path / "cat.png", cat, state_json(ParamStore(), "dream"))
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert np.array_equal(cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB), cat)
    with Image.open(path) as im:
        assert im.format == "PNG" and im.mode == "RGB" and im.size == (cat.shape[1], cat.shape[0])
        assert np.array_equal(np.asarray(im), cat)
        assert json.loads(im.text["liveart"])["scene"] == "dream"
    assert not list(tmp_path.glob("*.tmp")) and not list(tmp_path.glob(".*.tmp"))


def test_a_chunk_after_the_pixels_is_found_too(tmp_path, cat):
    """Another program may move text chunks behind IDAT; Pillow then only sees them after
    reading the pixels."""
    path = tmp_path / "late.png"
    Image.fromarray(cat).save(path)
    data = path.read_bytes()
    text = state_json({"dream.octaves": 2}, "dream").encode()
    body = b"liveart\0\0\0\0\0" + text  # iTXt: key, no compression, no language/translation
    chunk = len(body).to_bytes(4, "big") + b"iTXt" + body + \
        zlib.crc32(b"iTXt" + body).to_bytes(4, "big")
    iend = data.rindex(b"IEND") - 4
    path.write_bytes(data[:iend] + chunk + data[iend:])
    assert read_state(path)["params"]["dream.octaves"] == 2


# -- hostile and foreign files ---------------------------------------------------------------
def _png_with_text(path: Path, text: str, itxt: bool = False) -> Path:
    info = PngImagePlugin.PngInfo()
    (info.add_itxt if itxt else info.add_text)("liveart", text)
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(path, pnginfo=info)
    return path


@pytest.mark.parametrize("make, words", [
    (lambda d, c: d / "missing.png", "does not exist"),
    (lambda d, c: _write(d / "plain.png", cv2.imencode(".png", c)[1].tobytes()), "no liveart state"),
    (lambda d, c: _write(d / "photo.jpg", cv2.imencode(".jpg", c)[1].tobytes()), "not a PNG"),
    (lambda d, c: _write(d / "text.png", b"hello, not a picture\n"), "not a readable PNG"),
    (lambda d, c: _write(d / "empty.png", b""), "not a readable PNG"),
    (lambda d, c: _png_with_text(d / "nonjson.png", "{not json"), "not valid JSON"),
    (lambda d, c: _png_with_text(d / "list.png", "[1, 2, 3]", itxt=True), "not a JSON object"),
    (lambda d, c: _png_with_text(d / "noparams.png", '{"scene": "dream"}'), "not a JSON object"),
    (lambda d, c: _png_with_text(d / "deep.png", "[" * 100000 + "]" * 100000), "not valid JSON"),
    (lambda d, c: _png_with_text(d / "scene.png", '{"params": {}, "scene": "nope"}'), "unknown scene"),
    (lambda d, c: _png_with_text(d / "scene2.png", '{"params": {}, "scene": 3}'), "scene"),
])
def test_a_hostile_or_foreign_file_is_one_sentence(tmp_path, cat, make, words):
    path = make(tmp_path, cat)
    with pytest.raises(UserError) as e:
        read_state(path)
    assert words in str(e.value) and one_sentence(e.value), str(e.value)


def test_a_truncated_png_is_one_sentence(tmp_path, cat):
    good = write_png(tmp_path / "good.png", cat, state_json(ParamStore(), "dream"))
    data = good.read_bytes()
    for cut in (8, 30, len(data) // 2, len(data) - 20):
        bad = _write(tmp_path / f"cut{cut}.png", data[:cut])
        try:
            state = read_state(bad)
        except UserError as e:
            assert one_sentence(e), str(e)
        else:  # the chunk sits before the pixels, so a file cut in its pixels may still be read
            assert state["params"] == read_state(good)["params"]
    with pytest.raises(UserError, match="not a readable PNG"):
        read_state(_write(tmp_path / "cut30.png", data[:30]))


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_bad_values_are_refused_unknown_ones_ignored_and_ranges_clamped(caplog):
    store = ParamStore()
    with caplog.at_level(logging.INFO, logger="liveart.snapshot"):
        values = apply_state(store, {"params": {"dream.octaves": 99, "dream.layer": "blocks.3",
                                                "no.such": 1, "other.thing": "x",
                                                "dream.reset": True}})
    assert store.get("dream.octaves") == REGISTRY["dream.octaves"].max  # clamped, as elsewhere
    assert store.get("dream.layer") == "blocks.3" and "no.such" not in values
    lines = [r for r in caplog.records if "ignored" in r.getMessage()]
    assert len(lines) == 1 and "no.such" in lines[0].getMessage()
    assert not store.snapshot().fired("dream.reset")  # a trigger in a file does not fire
    before = store.targets()
    for bad in ({"dream.octaves": "many"}, {"dream.layer": "blocks.99"}, {"dream.mix": [1]},
                {"dream.mix": float("nan")}, {"dream.mix": 10 ** 400}, {"dream.octaves": None},
                {"dream.follow": None}, {"dream.guide": {"a": 1}}):
        with pytest.raises(UserError) as e:
            apply_state(store, {"params": {"dream.steps": 7, **bad}})
        assert one_sentence(e.value), str(e.value)
        assert store.targets() == before  # all or nothing
    with pytest.raises(UserError):
        state_values({"params": [1, 2]})


# -- render ----------------------------------------------------------------------------------
def test_render_of_an_image_writes_the_chunk_and_jpeg_stays_plain(tmp_path, cat_png):
    out = tmp_path / "out.png"
    assert main(["render", str(cat_png), str(out), "--size", "64x36", "--seed", "3",
                 "--set", "dream.octaves=2", "--set", "dream.layer=blocks.4"]) == 0
    state = read_state(out)
    assert state["params"]["dream.octaves"] == 2 and state["params"]["dream.layer"] == "blocks.4"
    assert state["scene"] == "dream" and state["seed"] == 3
    assert typed(state["params"]) == typed(ParamStore({"dream.octaves": 2,
                                                       "dream.layer": "blocks.4"}).targets())
    assert cv2.imread(str(out)).shape == (64, 96, 3)
    jpg = tmp_path / "out.jpg"
    assert main(["render", str(cat_png), str(jpg), "--size", "64x36"]) == 0
    assert jpg.read_bytes()[:3] == b"\xff\xd8\xff"
    with pytest.raises(UserError, match="not a PNG"):
        read_state(jpg)


def test_render_from_a_snapshot_through_the_real_cli(tmp_path, cat_png, cat):
    look = {"dream.layer": "blocks.4", "dream.octaves": 2, "dream.steps": 4,
            "dream.step_size": 0.1234567890123, "dream.jitter": 3, "dream.follow": False}
    source = ParamStore(look)
    snap = write_png(tmp_path / "snap.png", cat, state_json(source, "dream"))
    out = tmp_path / "from.png"
    proc = subprocess.run(
        [sys.executable, "-m", "liveart", "render", str(cat_png), str(out), "--size", "64x36",
         "--from", str(snap)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    state = read_state(out)
    assert typed(state["params"]) == typed(source.targets())  # the whole look, exactly
    plain = tmp_path / "plain.png"
    assert main(["render", str(cat_png), str(plain), "--size", "64x36"]) == 0
    assert read_state(plain)["params"]["dream.layer"] != "blocks.4"
    a, b = cv2.imread(str(out)).astype(int), cv2.imread(str(plain)).astype(int)
    assert np.abs(a - b).mean() > 1.0  # a different look, not the default one

    # --set goes on top of the snapshot
    over = tmp_path / "over.png"
    assert main(["render", str(cat_png), str(over), "--size", "64x36", "--from", str(snap),
                 "--set", "dream.octaves=1"]) == 0
    got = read_state(over)["params"]
    assert got["dream.octaves"] == 1 and got["dream.step_size"] == 0.1234567890123


def test_render_from_takes_the_snapshots_scene_unless_scene_is_given(tmp_path, cat_png, cat):
    snap = write_png(tmp_path / "styled.png", cat,
                     state_json(ParamStore({"style.w3": 1.0, "style.w19": 0.0}), "style"))
    out = tmp_path / "s.png"
    assert main(["render", str(cat_png), str(out), "--size", "64x36", "--from", str(snap)]) == 0
    state = read_state(out)
    assert state["scene"] == "style" and state["models"] == ["multistyle26"]
    assert state["params"]["style.w3"] == 1.0 and state["params"]["style.w19"] == 0.0
    out2 = tmp_path / "d.png"
    assert main(["render", str(cat_png), str(out2), "--size", "64x36", "--from", str(snap),
                 "--scene", "dream"]) == 0
    assert read_state(out2)["scene"] == "dream"
    assert read_state(out2)["params"]["style.w3"] == 1.0


@pytest.mark.parametrize("bad", ["missing.png", "cat.png", "notes.txt"])
def test_a_bad_from_file_is_one_sentence_and_exit_2(tmp_path, cat_png, capsys, bad):
    (tmp_path / "notes.txt").write_text("hello")
    path = tmp_path / bad
    assert main(["render", str(cat_png), str(tmp_path / "o.png"), "--from", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("liveart: ") and err.count("\n") == 1 and "Traceback" not in err
    assert not (tmp_path / "o.png").exists()


def test_a_bad_from_file_through_the_real_cli_has_no_traceback(tmp_path, cat_png):
    bad = _png_with_text(tmp_path / "bad.png", '{"params": {"dream.octaves": "lots"}}')
    proc = subprocess.run([sys.executable, "-m", "liveart", "render", str(cat_png),
                           str(tmp_path / "o.png"), "--from", str(bad)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.startswith("liveart: ") and proc.stderr.count("\n") == 1, proc.stderr
    assert "dream.octaves" in proc.stderr and str(bad) in proc.stderr


# -- the live action -------------------------------------------------------------------------
@pytest.fixture
def engine(cat):
    """What Snapshots reads of an Engine: the output slot and the scene's name."""
    e = SimpleNamespace(out_slot=LatestSlot(), scene=SimpleNamespace(name="dream+style"))
    e.out_slot.put(Output(np.ascontiguousarray(cat), 41))
    return e


@pytest.fixture
def live(store, engine, snap_dir):
    actions = Actions(store)
    snaps = start_snapshots(engine, store, actions, "dream")
    yield SimpleNamespace(actions=actions, snaps=snaps, folder=snap_dir)
    snaps.stop()


def test_the_action_saves_the_newest_frame_full_size_with_the_state(live, store, engine, cat):
    store.set("dream.octaves", 2)
    store.set("dream.mix", 0.625)
    name = live.actions.run("snapshot")
    assert STAMP.match(name), name
    live.snaps.wait()
    files = sorted(live.folder.iterdir())
    assert [f.name for f in files] == [name]
    with Image.open(files[0]) as im:
        assert np.array_equal(np.asarray(im), cat)  # the output frame itself, full size
    state = read_state(files[0])
    assert typed(state["params"]) == typed(store.targets())
    assert state["scene"] == "dream+style" and state["frame"] == 41
    assert state["size"] == [cat.shape[1], cat.shape[0]]


def test_a_named_snapshot_and_no_overwriting(live, store):
    assert live.actions.run("snapshot", "my look") == "my look.png"
    assert live.actions.run("snapshot", "my look.png") == "my look.png"
    live.snaps.wait()
    assert sorted(f.name for f in live.folder.iterdir()) == ["my look-2.png", "my look.png"]


@pytest.mark.parametrize("name", ["..", "../up", "a/b", "/etc/passwd", "a\\b", "..\\up",
                                  "C:\\x", ".hidden", "x..y", "a" * 65, "nul\0byte", "~"])
def test_names_that_could_leave_the_folder_are_refused(live, tmp_path, name):
    with pytest.raises(UserError) as e:
        live.actions.run("snapshot", name)
    assert "not allowed" in str(e.value) and one_sentence(e.value)
    live.snaps.wait()
    assert not live.folder.exists() or not list(live.folder.iterdir())
    assert not list(tmp_path.glob("*.png"))


def test_no_picture_yet_and_no_snapshots_set_up(store, snap_dir):
    empty = SimpleNamespace(out_slot=LatestSlot(), scene=SimpleNamespace(name="dream"))
    snaps = Snapshots(empty, store, "dream").start()
    try:
        with pytest.raises(UserError, match="no picture"):
            snaps.take()
    finally:
        snaps.stop()
    with pytest.raises(UserError, match="can't take snapshots"):
        Actions(store).run("snapshot")  # a show without start_snapshots


def test_a_full_queue_refuses_instead_of_growing(store, engine, snap_dir):
    snaps = Snapshots(engine, store, "dream")  # not started: nothing is written
    for _ in range(snapshot.PENDING):
        snaps.take()
    with pytest.raises(UserError, match="still being written"):
        snaps.take()
    snaps.start()
    snaps.stop()  # the pending ones are written before it stops
    assert len(list(snap_dir.iterdir())) == snapshot.PENDING


def test_an_unwritable_folder_is_logged_and_the_show_goes_on(store, engine, tmp_path, caplog,
                                                             monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    monkeypatch.setenv("LIVEART_SNAPSHOTS_DIR", str(blocker / "sub"))
    snaps = Snapshots(engine, store, "dream").start()
    with caplog.at_level(logging.WARNING, logger="liveart.snapshot"):
        snaps.take()
        snaps.wait()
    snaps.stop()
    assert any("Snapshot not saved" in r.getMessage() for r in caplog.records)


def test_the_default_folder_is_snapshots_in_the_config_folder(user_config, monkeypatch):
    monkeypatch.delenv("LIVEART_SNAPSHOTS_DIR", raising=False)
    assert snapshot.snapshots_dir() == user_config / "snapshots"


def test_osc_snapshot_over_a_real_udp_socket(live, store, engine, cat):
    server = OscServer(store, live.actions, port=0).start()
    client = SimpleUDPClient("127.0.0.1", server.port)
    try:
        store.set("dream.layer", "blocks.6")
        client.send_message("/liveart/snapshot", [])
        client.send_message("/liveart/snapshot", ["from-osc"])
        client.send_message("/liveart/snapshot", ["../escape"])
        wait_for(lambda: server.stats["applied"] >= 2 and server.stats["action_errors"] >= 1)
        live.snaps.wait()
    finally:
        client.close()
        server.stop()
    names = sorted(f.name for f in live.folder.iterdir())
    assert len(names) == 2 and "from-osc.png" in names
    assert STAMP.match(next(n for n in names if n != "from-osc.png"))
    assert not (live.folder.parent / "escape.png").exists()
    for n in names:
        assert read_state(live.folder / n)["params"]["dream.layer"] == "blocks.6"
        with Image.open(live.folder / n) as im:
            assert np.array_equal(np.asarray(im), cat)


def test_a_midi_note_takes_a_snapshot(live):
    import mido

    from liveart.control.midi import MidiHandler, parse_map

    m = parse_map({"note": [{"note": 36, "action": "snapshot"}]})
    MidiHandler(live.actions.store, live.actions, m).handle(mido.Message("note_on", note=36,
                                                                        velocity=127))
    live.snaps.wait()
    names = [f.name for f in live.folder.iterdir()]
    assert len(names) == 1 and STAMP.match(names[0])


def test_key_p_is_the_snapshot_key():
    import pygame

    from liveart.outputs.window import _ACTIONS, KEYS

    assert _ACTIONS[pygame.K_p] == "snapshot" and ("P" in dict(KEYS))


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_running_show_saves_its_output_when_told_over_osc(tmp_path, snap_dir):
    """The whole path: `liveart run --headless` on the synthetic scene, an OSC message, the PNG
    at the window's size with the state the show had."""
    port = _free_udp_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "liveart", "run", "--headless", "--source", "synthetic",
         "--size", "64x36", "--window", "320x180", "--seconds", "6", "--osc-port", str(port),
         "--oscquery-port", "0", "--midi", "none", "--no-audio", "--fresh",
         "--set", "dream.octaves=2"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        client = SimpleUDPClient("127.0.0.1", port)
        end = time.monotonic() + 60
        while time.monotonic() < end and proc.poll() is None and \
                not (snap_dir.is_dir() and list(snap_dir.glob("live*.png"))):
            client.send_message("/liveart/snapshot", ["live"])
            time.sleep(0.5)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    path = snap_dir / "live.png"
    assert path.is_file(), (sorted(p.name for p in snap_dir.glob("*")) if snap_dir.exists() else None, err)
    with Image.open(path) as im:
        assert im.size == (320, 180)
        pixels = np.asarray(im)
    assert pixels.std() > 10  # a picture, not a blank
    state = read_state(path)
    assert state["params"]["dream.octaves"] == 2 and state["scene"] == "dream"
    assert state["size"] == [320, 180]


def test_the_styles_sheet_png_carries_the_state_and_a_jpeg_sheet_does_not(tmp_path, cat):
    from liveart.styles import NUM_STYLES, render_contact_sheet

    frame = cv2.resize(cat, (32, 24), interpolation=cv2.INTER_AREA)
    sheet = render_contact_sheet(frame, tmp_path / "sheet.png")
    state = read_state(tmp_path / "sheet.png")
    assert state["scene"] == "style" and state["models"] == ["multistyle26"]
    assert len(state["sheet"]) == NUM_STYLES and state["sheet"][19] == "19 starry-swirls"
    assert typed(state["params"]) == typed(ParamStore().targets())
    with Image.open(tmp_path / "sheet.png") as im:
        assert np.array_equal(np.asarray(im), sheet)
    render_contact_sheet(frame, tmp_path / "sheet.jpg")
    with pytest.raises(UserError, match="not a PNG"):
        read_state(tmp_path / "sheet.jpg")


def test_key_p_in_the_live_loop_saves_a_snapshot_and_a_refusal_does_not_stop_it(
        live, store, engine, cat, monkeypatch, caplog):
    """run_window's key dispatch, with a stand-in window whose keys are P, then P and Esc."""
    from liveart import live as live_mod

    class FakeWindow:
        hud_visible = False
        polls = [["snapshot"], ["snapshot", "quit"]]

        def __init__(self, *a, **k):
            self.shown = []

        def poll(self):
            return self.polls.pop(0) if self.polls else ["quit"]

        def show(self, frame, hud):
            self.shown.append(frame)

        def close(self):
            pass

    monkeypatch.setattr(live_mod, "Window", FakeWindow)
    monkeypatch.setattr(live_mod, "pygame", SimpleNamespace(
        display=SimpleNamespace(get_driver=lambda: "stand-in")))
    fake_engine = SimpleNamespace(out_slot=engine.out_slot, store=store, frozen=False,
                                  stats=SimpleNamespace(add=lambda *a: None, frames=0),
                                  scene=engine.scene)
    args = SimpleNamespace(install=True, fullscreen=False, display=0, seconds=None, frames=None,
                           scene="dream")
    live_mod.run_window(fake_engine, args, (cat.shape[1], cat.shape[0]), live.actions)
    live.snaps.wait()
    files = sorted(live.folder.iterdir())
    assert len(files) == 2 and any(STAMP.match(f.name) for f in files)  # two presses, two files
    for f in files:
        with Image.open(f) as im:
            assert np.array_equal(np.asarray(im), cat)

    # a show without snapshots set up: P logs one sentence and the loop goes on to Esc
    FakeWindow.polls = [["snapshot"], ["quit"]]
    with caplog.at_level(logging.WARNING, logger="liveart.live"):
        live_mod.run_window(fake_engine, args, (64, 36), Actions(store))
    assert any("can't take snapshots" in r.getMessage() for r in caplog.records)
