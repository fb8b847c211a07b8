"""Scene files from the scenes folder: loaded like built-in scenes, reloaded when saved while the
show runs, refused with file:line when broken while the last good version keeps running."""
import re
import shutil
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from liveart import params, userscenes
from liveart.engine import Engine
from liveart.errors import UserError
from liveart.params import ParamStore
from liveart.scenes import check_scene_spec, create_scene
from liveart.sources import open_source

CPU = torch.device("cpu")
EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "scenes"

V1 = '''
from liveart import params
from liveart.scenes.base import Scene

params.declare("mine.level", "float", 0.5, "How bright.", min=0.0, max=1.0)


class Mine(Scene):
    def process(self, frame, snap):
        return frame * snap["mine.level"]
'''
V2 = '''
from liveart import params
from liveart.scenes.base import Scene

params.declare("mine.gain", "float", 0.25, "How bright now.", min=0.0, max=1.0)


class Mine(Scene):
    def process(self, frame, snap):
        return frame * snap["mine.gain"]
'''
BROKEN_IMPORT = V2 + "\ndef broken(:\n"
BROKEN_TICK = V2.replace('return frame * snap["mine.gain"]', 'return frame * (1 / 0)')


@pytest.fixture
def folder(tmp_path, monkeypatch):
    monkeypatch.setenv("LIVEART_SCENES_DIR", str(tmp_path / "scenes"))
    (tmp_path / "scenes").mkdir()
    yield tmp_path / "scenes"
    for name in list(userscenes._declared):
        userscenes.unload(name)


def write(path: Path, text: str) -> None:
    path.write_text(text)
    t = time.time() + 0.01 * len(text)  # a new mtime even within the file system's tick
    import os

    os.utime(path, (t, t))


def test_a_scene_file_is_a_scene_with_its_own_parameters(folder):
    write(folder / "mine.py", V1)
    assert check_scene_spec("dream+mine") == ["dream", "mine"]
    scene = create_scene("mine", CPU)
    assert "mine.level" in params.REGISTRY and params.get("mine.level").address == "/liveart/mine/level"
    x = torch.rand(1, 3, 36, 64)
    y = scene.process(x, ParamStore({"mine.level": 0.2}).snapshot())
    assert torch.allclose(y, x * 0.2)
    with pytest.raises(UserError, match="Unknown scene 'theirs'; available scenes are: .*mine"):
        check_scene_spec("theirs")


def test_a_broken_file_says_where(folder):
    write(folder / "mine.py", BROKEN_IMPORT)
    with pytest.raises(UserError, match=r"^Scene mine\.py:\d+: SyntaxError"):
        create_scene("mine", CPU)
    write(folder / "mine.py", V1.replace("frame * ", "undefined_name * "))
    scene = create_scene("mine", CPU)  # imports fine; the name error comes in the tick
    with pytest.raises(NameError):
        scene.process(torch.rand(1, 3, 8, 8), ParamStore().snapshot())


def wait(cond, seconds=5.0, what=""):
    end = time.monotonic() + seconds
    while not cond():
        assert time.monotonic() < end, what
        time.sleep(0.02)


def test_saving_reloads_breaking_keeps_the_last_good_version(folder):
    """Edit mid-show: the new version takes over within a second, with its parameters; a
    version that doesn't import, or fails in its first ticks, is refused with file:line on the
    notice bar, and the running one goes on without a black frame."""
    write(folder / "mine.py", V1)
    src = open_source("synthetic", size=(128, 72), seed=3).start()
    store = ParamStore()
    engine = Engine(src, create_scene("mine", CPU), store, CPU, (64, 36),
                    scene_factory=lambda spec: create_scene(spec, CPU))
    store.adopt_registry()
    watcher = userscenes.SceneWatcher(engine, lambda: engine.scene_spec, every=0.05).start()
    engine.start()
    try:
        def ratio():  # output / camera brightness: what the running version does
            out = engine.out_slot.get()[0]
            img = engine._last_input[1] if engine._last_input else None
            if out is None or img is None:
                return None
            return float(out.image.mean()) / max(1.0, float(np.asarray(img).mean()))
        wait(lambda: ratio() is not None and abs(ratio() - 0.5) < 0.05, what="v1 never ran")
        t = time.monotonic()
        write(folder / "mine.py", V2)
        wait(lambda: abs(ratio() - 0.25) < 0.05, 5, "v2 never took over")
        reload_s = time.monotonic() - t
        assert reload_s < 1.0, f"the reload took {reload_s:.2f} s"
        assert "mine.gain" in params.REGISTRY and "mine.level" not in params.REGISTRY
        assert "mine.gain" in store.targets() and "mine.level" not in store.targets()

        for broken, said in ((BROKEN_IMPORT, "SyntaxError"), (BROKEN_TICK, "ZeroDivisionError")):
            write(folder / "mine.py", broken)
            wait(lambda: engine.notice and said in engine.notice, 5, f"no {said} on the notice")
            assert re.search(r"mine\.py:\d+", engine.notice), engine.notice
            frames = engine.stats.frames
            time.sleep(0.3)
            assert engine.stats.frames > frames and abs(ratio() - 0.25) < 0.05  # v2 goes on
            assert engine.errors == 0 and engine.guard.errors == 0
        write(folder / "mine.py", V1)  # fixed
        wait(lambda: abs(ratio() - 0.5) < 0.05, 5, "the fixed version never took over")
        assert engine.notice is None
    finally:
        watcher.stop()
        engine.stop()
        src.stop()


@pytest.mark.parametrize("example", ["neuron_painter", "kaleidoscope"])
def test_the_examples_run_as_real_scene_files(folder, example, cat, to_x):
    shutil.copy(EXAMPLES / f"{example}.py", folder)
    scene = create_scene(example, CPU)
    store = ParamStore()
    store.adopt_registry()
    x = to_x(cat, (160, 160))
    y = scene.process(x, store.snapshot())
    assert y.shape == x.shape and bool(torch.isfinite(y).all())
    if example == "kaleidoscope":  # six-fold: turning by 60 degrees gives the same picture
        import cv2

        img = y[0].permute(1, 2, 0).numpy()
        turned = cv2.warpAffine(img, cv2.getRotationMatrix2D((79.5, 79.5), 60, 1.0), (160, 160))
        inner = np.hypot(*np.mgrid[-80:80, -80:80]) < 60
        assert np.corrcoef(img[inner].ravel(), turned[inner].ravel())[0, 1] > 0.8
    else:  # it grows its three channels
        model = scene.model
        def energy(t):
            act = model.forward_taps(t, {"blocks.10"})["blocks.10"]
            return float(act[:, [3, 40, 77]].pow(2).mean())
        with torch.no_grad():
            assert energy(y) > energy(x)


def test_oscquery_announces_a_scene_files_parameters(folder):
    """A new version's parameters appear in OSCQuery (PATH_ADDED), the old ones go
    (PATH_REMOVED), and the tree and LISTEN follow."""
    import asyncio
    import json
    import urllib.request

    import websockets

    from liveart.control.oscquery import OscQueryServer

    store = ParamStore()
    srv = OscQueryServer(store, 9000, port=0, advertise=False)
    srv.start()
    try:
        async def watch():
            async with websockets.connect(f"ws://127.0.0.1:{srv.port}/") as ws:
                await asyncio.sleep(0.2)
                notices = []

                async def until(want):
                    while want not in notices:
                        data = await asyncio.wait_for(ws.recv(), 3)
                        if isinstance(data, str):
                            m = json.loads(data)
                            notices.append((m["COMMAND"], m["DATA"]))

                write(folder / "mine.py", V1)
                create_scene("mine", CPU)
                store.adopt_registry()
                await until(("PATH_ADDED", "/liveart/mine/level"))
                with urllib.request.urlopen(f"http://127.0.0.1:{srv.port}/liveart/mine/level?VALUE",
                                            timeout=2) as r:
                    assert json.loads(r.read()) == {"VALUE": [0.5]}
                write(folder / "mine.py", V2)
                create_scene("mine", CPU)
                store.adopt_registry()
                await until(("PATH_REMOVED", "/liveart/mine/level"))
                await until(("PATH_ADDED", "/liveart/mine/gain"))
        asyncio.run(watch())
    finally:
        srv.stop()


def test_the_command_line_reaches_a_scene_file_and_its_parameters(folder, tmp_path):
    import os
    import subprocess
    import sys

    write(folder / "mine.py", V1)
    env = dict(os.environ, LIVEART_SCENES_DIR=str(folder), LIVEART_CONFIG_DIR=str(tmp_path / "c"))
    r = subprocess.run([sys.executable, "-m", "liveart", "run", "--headless", "--source",
                        "synthetic", "--size", "64x36", "--frames", "5", "--no-osc", "--no-audio",
                        "--scene", "dream+mine", "--set", "mine.level=0.3"], env=env,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-1500:]
    assert "5 frames" in r.stdout and "scene dream+mine" in r.stderr
    r = subprocess.run([sys.executable, "-m", "liveart", "run", "--headless", "--frames", "1",
                        "--scene", "mine", "--set", "mine.level=3"], env=env,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "mine.level" in r.stderr.strip().splitlines()[-1]
