"""The live outputs (virtual camera, NDI, Spout, Syphon) against fakes with their libraries'
interfaces, the NDI receive source, and a real NDI send/receive loop on localhost."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from types import SimpleNamespace

import numpy as np
import pytest

from liveart.errors import UserError
from liveart.outputs import ndi as ndi_out
from liveart.outputs import registry
from liveart.outputs import spout as spout_out
from liveart.outputs import syphon as syphon_out
from liveart.outputs import virtualcam as vcam_out
from liveart.outputs.ndi import NdiOutput
from liveart.outputs.registry import OutputWorker
from liveart.outputs.spout import SpoutOutput
from liveart.outputs.syphon import SyphonOutput
from liveart.outputs.virtualcam import VirtualCamOutput
from liveart.slots import LatestSlot

from . import fakes


def frames(n: int, w: int = 32, h: int = 18) -> list[np.ndarray]:
    """n distinct RGB frames: each channel carries the frame's number, so order shows."""
    out = []
    for i in range(n):
        f = np.zeros((h, w, 3), np.uint8)
        f[..., 0] = 10 + i
        f[..., 1] = np.arange(w, dtype=np.uint8)[None, :]
        f[..., 2] = 200 - i
        out.append(f)
    return out


def feed_one_by_one(worker: OutputWorker, slot: LatestSlot, images) -> None:
    """Put each frame and wait until the worker has sent it (so none is skipped)."""
    from liveart.engine import Output

    for i, image in enumerate(images, 1):
        slot.put(Output(image, i))
        t0 = time.monotonic()
        while worker.sent + worker.errors < i and time.monotonic() - t0 < 5:
            time.sleep(0.002)


# -- virtual camera ---------------------------------------------------------------------------
def test_virtualcam_gets_exactly_the_frames_in_order_and_shape():
    lib = fakes.fake_pyvirtualcam()
    slot = LatestSlot()
    images = frames(12)
    worker = OutputWorker("virtualcam", VirtualCamOutput(fps=25, module=lib), slot).start()
    feed_one_by_one(worker, slot, images)
    worker.stop()
    (cam,) = fakes.FakeCamera.instances
    assert (cam.width, cam.height, cam.fps, cam.fmt) == (32, 18, 25, fakes.PixelFormat.RGB)
    assert len(cam.frames) == 12 and worker.skipped == 0
    for sent, got in zip(images, cam.frames):
        assert got.shape == (18, 32, 3) and np.array_equal(sent, got)
    assert cam.closed


def test_virtualcam_reopens_when_the_size_changes():
    lib = fakes.fake_pyvirtualcam()
    cam = VirtualCamOutput(module=lib)
    cam.send(frames(1)[0])
    cam.send(frames(1, 64, 36)[0])
    first, second = fakes.FakeCamera.instances
    assert first.closed and (second.width, second.height) == (64, 36)
    assert len(first.frames) == 1 and len(second.frames) == 1


def test_virtualcam_through_the_real_pyvirtualcam_with_a_fake_device():
    """pyvirtualcam's own Camera (its shape and dtype checks) over a registered backend that
    stands in for v4l2loopback."""
    pyvirtualcam = pytest.importorskip("pyvirtualcam")
    got = []

    class LoopbackStandIn:  # pyvirtualcam's Backend interface
        def __init__(self, *, width, height, fps, fourcc, device, **kw):
            self.shape = (height, width, 3)

        def close(self):
            pass

        def send(self, frame):
            got.append(frame.reshape(self.shape).copy())

        def device(self):
            return "/dev/video-test"

        def native_fourcc(self):
            return None

    pyvirtualcam.register_backend("liveart-test", LoopbackStandIn)

    class Lib:
        PixelFormat = pyvirtualcam.PixelFormat

        @staticmethod
        def Camera(*a, **kw):  # noqa: N802
            return pyvirtualcam.Camera(*a, backend="liveart-test", **kw)

    out = VirtualCamOutput(fps=30, module=Lib)
    images = frames(3)
    for image in images:
        out.send(image)
    out.close()
    assert [g.tolist() for g in got] == [i.tolist() for i in images]


def test_virtualcam_on_linux_without_loopback_says_modprobe(monkeypatch):
    monkeypatch.setattr(vcam_out.sys, "platform", "linux")
    monkeypatch.setattr(vcam_out, "_installed", lambda: True)
    monkeypatch.setattr(vcam_out, "loopback_devices", lambda: [])
    with pytest.raises(UserError) as e:
        vcam_out.check()
    text = str(e.value)
    assert "v4l2loopback" in text and "sudo modprobe v4l2loopback" in text
    assert text.count(". ") == 0 and text.endswith(".")
    usable, reason, enable = vcam_out.availability()
    assert not usable and "v4l2loopback" in reason and enable.startswith("sudo modprobe")


# -- NDI --------------------------------------------------------------------------------------
def test_ndi_sender_gets_rgba_frames_as_cyndilib_expects():
    lib = fakes.fake_cyndilib_sender()
    slot = LatestSlot()
    images = frames(6)
    worker = OutputWorker("ndi", NdiOutput("stage", fps=30, module=lib), slot).start()
    feed_one_by_one(worker, slot, images)
    worker.stop()
    (sender,) = fakes.FakeSender.instances
    vf = sender.video_frame
    assert sender.ndi_name == "stage" and sender.closed and not sender.clock_video
    assert vf.fourcc == fakes.FourCC.RGBA and vf.get_resolution() == (32, 18)
    assert vf.frame_rate == 30
    assert len(sender.frames) == 6
    for sent, got in zip(images, sender.frames):
        assert got.shape == (18, 32, 4)
        assert np.array_equal(got[..., :3], sent) and (got[..., 3] == 255).all()


def test_ndi_source_publishes_rgb_and_matches_stream_names():
    from liveart.sources.ndi import NdiSource, matches

    assert matches("stage", "HOST (stage)") and matches("HOST (stage)", "HOST (stage)")
    assert not matches("stage", "HOST (stage 2)")
    lib = fakes.fake_cyndilib_receiver()
    fakes.FakeFinder.names = ["OTHER (x)", "HOST (stage)"]
    rgba = np.zeros((18, 32, 4), np.uint8)
    rgba[..., 0], rgba[..., 1], rgba[..., 2], rgba[..., 3] = 11, 22, 33, 255
    fakes.FakeReceiver.queue = [rgba.copy() for _ in range(3)]
    src = NdiSource("stage", size=(32, 18), module=lib, fallback_after=30).start()
    try:
        t0 = time.monotonic()
        while src.received < 3 and time.monotonic() - t0 < 5:
            time.sleep(0.01)
        frame = src.latest()
    finally:
        src.stop()
    assert src.connected_to == "HOST (stage)" and src.received == 3
    assert frame.image.shape == (18, 32, 3) and frame.image.flags.c_contiguous
    assert (frame.image == [11, 22, 33]).all() and src.size == (32, 18)


def test_ndi_source_connects_once_a_listed_source_resolves():
    from liveart.sources.ndi import NdiSource

    lib = fakes.fake_cyndilib_receiver()
    fakes.FakeFinder.names = ["HOST (stage)"]
    fakes.FakeFinder.valid = False
    fakes.FakeReceiver.queue = [np.full((18, 32, 4), 99, np.uint8)]
    src = NdiSource("stage", size=(32, 18), module=lib, fallback_after=30).start()
    try:
        time.sleep(0.5)
        assert src.connected_to is None and src.received == 0
        fakes.FakeFinder.valid = True
        t0 = time.monotonic()
        while src.received < 1 and time.monotonic() - t0 < 5:
            time.sleep(0.01)
    finally:
        src.stop()
    assert src.connected_to == "HOST (stage)" and src.received == 1


def test_ndi_source_stands_in_with_a_notice_until_the_stream_appears():
    from liveart.sources.ndi import NdiSource

    lib = fakes.fake_cyndilib_receiver()
    src = NdiSource("nowhere", size=(48, 27), module=lib, fallback_after=0.1).start()
    try:
        t0 = time.monotonic()
        while src.latest() is None and time.monotonic() - t0 < 5:
            time.sleep(0.01)
    finally:
        src.stop()
    assert src.latest().image.shape == (27, 48, 3)
    assert "nowhere" in src.notice and src.received == 0


def test_missing_cyndilib_is_one_sentence_with_the_pip_command(monkeypatch):
    monkeypatch.setattr(ndi_out, "_installed", lambda: False)
    with pytest.raises(UserError) as e:
        ndi_out.check()
    assert str(e.value) == ("--output ndi needs the cyndilib package, which is not installed: "
                            "pip install 'liveart[ndi]'.")
    monkeypatch.setitem(sys.modules, "cyndilib", None)  # import fails as if not installed
    with pytest.raises(UserError, match=r"--source ndi needs the cyndilib .*pip install 'liveart\[ndi\]'"):
        ndi_out.load_library(None, "--source ndi")


@pytest.mark.parametrize("mod,kind,extra", [(vcam_out, "virtualcam", "virtualcam"),
                                             (ndi_out, "ndi", "ndi"),
                                             (spout_out, "spout", "spout"),
                                             (syphon_out, "syphon", "syphon")])
def test_every_missing_package_names_its_pip_command(monkeypatch, mod, kind, extra):
    monkeypatch.setattr(mod, "_installed", lambda: False)
    platform = {"spout": "win32", "syphon": "darwin"}.get(kind, sys.platform)
    monkeypatch.setattr(sys, "platform", platform)
    if kind == "virtualcam":
        monkeypatch.setattr(vcam_out, "loopback_devices", lambda: ["/dev/video9"])
    with pytest.raises(UserError) as e:
        mod.check()
    assert f"pip install 'liveart[{extra}]'" in str(e.value)
    assert str(e.value).startswith(f"--output {kind} needs")
    usable, _, enable = mod.availability()
    assert not usable and f"pip install 'liveart[{extra}]'" in enable


# -- Spout and Syphon -------------------------------------------------------------------------
def test_spout_sends_rgba_images_and_frame_syncs():
    lib = fakes.fake_spoutgl()
    out = SpoutOutput("stage", module=lib)
    images = frames(4)
    for image in images:
        out.send(image)
    out.close()
    (sender,) = fakes.FakeSpoutSender.instances
    assert sender.name == "stage" and sender.syncs == 4 and sender.released
    for sent, got in zip(images, sender.images):
        assert np.array_equal(got[..., :3], sent) and (got[..., 3] == 255).all()


def test_syphon_publishes_a_metal_texture_per_frame():
    lib = fakes.fake_syphon()
    out = SyphonOutput("stage", module=lib)
    images = frames(3)
    for image in images:
        out.send(image)
    out.close()
    (server,) = fakes.FakeSyphonMetalServer.instances
    assert server.name == "stage" and server.stopped and len(server.published) == 3
    for sent, got in zip(images, server.published):
        assert np.array_equal(got[..., :3], sent) and (got[..., 3] == 255).all()


@pytest.mark.parametrize("mod,kind,os_name", [(spout_out, "spout", "Windows"),
                                              (syphon_out, "syphon", "macOS")])
def test_spout_and_syphon_elsewhere_are_one_clear_sentence(monkeypatch, mod, kind, os_name):
    monkeypatch.setattr(sys, "platform", "linux")
    with pytest.raises(UserError) as e:
        mod.check()
    assert str(e.value).startswith(f"--output {kind} needs {os_name}") and str(e.value).endswith(".")
    usable, reason, _ = mod.availability()
    assert not usable and os_name in reason


def test_start_outputs_runs_every_live_kind_on_fakes():
    from liveart.engine import Output

    engine = SimpleNamespace(out_slot=LatestSlot(), sinks=[])
    factories = {"virtualcam": fakes.fake_pyvirtualcam(), "ndi": fakes.fake_cyndilib_sender(),
                 "spout": fakes.fake_spoutgl(), "syphon": fakes.fake_syphon()}
    outs = registry.start_outputs(engine, ["window", "virtualcam", "ndi:a", "spout:b", "syphon:c"],
                                  SimpleNamespace(fps=24.0, headless=False), factories=factories)
    try:
        assert [o.name for o in outs] == ["virtualcam", "ndi:a", "spout:b", "syphon:c"]
        image = frames(1)[0]
        engine.out_slot.put(Output(image, 1))
        t0 = time.monotonic()
        while any(o.sent < 1 for o in outs) and time.monotonic() - t0 < 5:
            time.sleep(0.01)
    finally:
        registry.stop_outputs(outs)
    assert [o.sent for o in outs] == [1, 1, 1, 1]
    assert fakes.FakeSender.instances[0].ndi_name == "a"
    assert fakes.FakeSpoutSender.instances[0].name == "b"
    assert fakes.FakeSyphonMetalServer.instances[0].name == "c"
    assert "sent 1, skipped 0" in outs[0].summary()


def test_an_output_that_keeps_failing_is_switched_off_and_the_rest_go_on():
    from liveart.engine import Output

    class Broken:
        def send(self, image):
            raise OSError("device unplugged")

        def close(self):
            pass

    slot = LatestSlot()
    worker = OutputWorker("broken", Broken(), slot).start()
    for i in range(1, 40):
        slot.put(Output(frames(1)[0], i))
        time.sleep(0.02)
        if worker.failed:
            break
    worker.stop()
    assert worker.failed == "device unplugged" and worker.errors == registry.MAX_ERRORS
    assert "switched off" in worker.summary()


# -- a real NDI loop on this machine ----------------------------------------------------------
LOOP = textwrap.dedent("""
    import sys, time
    import numpy as np
    from liveart.outputs.ndi import NdiOutput
    from liveart.sources.ndi import NdiSource

    name = sys.argv[1]
    out = NdiOutput(name, fps=30)
    img = np.zeros((72, 128, 3), np.uint8)
    img[..., 0] = 200
    img[36:, :, 2] = 120  # bottom half: purple
    out.send(img)
    src = NdiSource(name, size=(128, 72), fallback_after=60).start()
    t0 = time.monotonic()
    while time.monotonic() - t0 < 20 and src.received < 5:
        out.send(img)
        time.sleep(1 / 30)
    f = src.latest()
    src.stop()
    out.close()
    if f is None:
        print("NOFRAME", src.connected_to)
        sys.exit(3)
    import json
    print("OK " + json.dumps({"name": src.connected_to, "received": src.received,
                              "shape": list(f.image.shape),
                              "top": f.image[:30].reshape(-1, 3).mean(0).tolist(),
                              "bottom": f.image[42:].reshape(-1, 3).mean(0).tolist()}))
""")


def _ndi_env(tmp_path) -> dict:
    """NDI finds senders by mDNS; containers and CI runners often block multicast, so NDI is
    also told to look for senders at 127.0.0.1 directly (its documented `networks.ips`)."""
    cfg = tmp_path / "ndi"
    cfg.mkdir()
    (cfg / "ndi-config.v1.json").write_text('{"ndi": {"networks": {"ips": "127.0.0.1"}}}')
    return {**os.environ, "NDI_CONFIG_DIR": str(cfg)}


def test_real_ndi_send_and_receive_loop(tmp_path):
    pytest.importorskip("cyndilib", reason="cyndilib (the NDI runtime) is not installed")
    script = tmp_path / "loop.py"
    script.write_text(LOOP)
    r = subprocess.run([sys.executable, str(script), f"liveart-test-{os.getpid()}"],
                       capture_output=True, text=True, timeout=90, env=_ndi_env(tmp_path))
    assert r.returncode == 0 and "OK" in r.stdout, r.stdout + r.stderr
    import json

    got = json.loads(r.stdout.split("OK ", 1)[1])
    assert got["shape"] == [72, 128, 3] and got["received"] >= 5
    assert got["name"].endswith(f"(liveart-test-{os.getpid()})")
    top, bottom = got["top"], got["bottom"]
    assert abs(top[0] - 200) < 12 and top[2] < 12  # red (NDI's codec is lossy: a margin)
    assert abs(bottom[2] - 120) < 12 and abs(bottom[0] - 200) < 12


def test_real_ndi_from_liveart_run_without_a_window(tmp_path):
    """`liveart run --output ndi:NAME` (no window: none is listed) sends the show over NDI;
    a receiver on this machine gets it."""
    pytest.importorskip("cyndilib", reason="cyndilib (the NDI runtime) is not installed")
    name = f"liveart-run-{os.getpid()}"
    env = _ndi_env(tmp_path)
    show = subprocess.Popen(
        [sys.executable, "-m", "liveart", "run", "--source", "synthetic", "--size", "64x36",
         "--window", "96x54", "--seconds", "60", "--output", f"ndi:{name}", "--no-osc",
         "--midi", "none", "--no-audio", "--fresh"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    recv = textwrap.dedent("""
        import sys, time
        from liveart.sources.ndi import NdiSource
        src = NdiSource(sys.argv[1], size=(96, 54), fallback_after=60).start()
        t0 = time.monotonic()
        while time.monotonic() - t0 < 60 and src.received < 3:
            time.sleep(0.05)
        f = src.latest()
        src.stop()
        print("GOT", src.received, None if f is None else f.image.shape, src.connected_to)
    """)
    try:
        r = subprocess.run([sys.executable, "-c", recv, name], capture_output=True, text=True,
                           timeout=120, env=env)
    finally:
        show.terminate()
        out, _ = show.communicate(timeout=30)
    assert "GOT" in r.stdout and "(54, 96, 3)" in r.stdout, r.stdout + r.stderr + out
    assert int(r.stdout.split("GOT", 1)[1].split()[0]) >= 3
