"""One run, three faults: the camera, the MIDI controller and the sound device each vanish and
return while the show runs. The output never stalls for more than 200 ms and each part comes
back by itself. (The hardware is simulated behind the interfaces the real parts use: this
machine has no camera, MIDI port or sound card.)"""
import sys
import threading
import time

import numpy as np
import pytest
import torch

from liveart.control.actions import Actions
from liveart.control.midi import MidiHandler
from liveart.control.midiports import PortWatch
from liveart.engine import Engine
from liveart.music.outputs import MusicVoice
from liveart.music.summary import ActivationSummary
from liveart.music.synth import Synth
from liveart.params import ParamStore
from liveart.scenes.base import Scene
from liveart.sources.camera import CameraSource

from .control.midifakes import FakeBackend, cc, make_map
from .music.fake_sounddevice import FakeSoundDevice
from .sources.test_camera import SIZE, TIMINGS, FakeCamera

NANO = "nanoKONTROL2:nanoKONTROL2 MIDI 1 24:0"
MAX_STALL_S = 0.2


class Passthrough(Scene):
    name = "passthrough"

    def process(self, frame, snap):
        return frame


def wait_for(condition, seconds=5.0, what="it"):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if condition():
            return
        time.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}")


def test_camera_midi_and_audio_vanish_and_return_while_the_picture_flows(monkeypatch):
    sd = FakeSoundDevice()
    monkeypatch.setitem(sys.modules, "sounddevice", sd)
    monkeypatch.setattr(Synth, "STALL_S", 0.3)
    monkeypatch.setattr(Synth, "RETRY_S", 0.2)
    cpu = torch.device("cpu")
    store = ParamStore({"music.enabled": True, "music.density": 1.0})

    cam = FakeCamera("ok")
    source = CameraSource(0, size=SIZE, opener=cam.open, seed=3, **TIMINGS)
    engine = Engine(source, Passthrough(cpu), store, cpu, (32, 24))
    times: list[float] = []
    engine.sinks.append(lambda out: times.append(time.monotonic()))

    backend = FakeBackend([NANO])
    handler = MidiHandler(store, Actions(store),
                          make_map('[[cc]]\ncc = 0\nparam = "dream.mix"\npickup = false\n'))
    watch = PortWatch("nanoKONTROL2", handler, interval=0.1, **backend.functions())
    summary = ActivationSummary(np.ones(8, np.float32), [1, 2], 1.0, 0.3, (0.5, 0.5), [])
    voice = MusicVoice(store, lambda: summary, seed=1)

    source.start()
    engine.start()
    watch.start()
    voice.start()
    try:
        wait_for(lambda: source.live and len(times) > 10, what="the camera")
        wait_for(lambda: watch.port is not None, what="the MIDI port")
        wait_for(lambda: voice.synth.callbacks > 5, what="the sound")
        t_start = times[-1]

        cam.mode = "unplugged"  # 1. the camera's cable is pulled, and plugged back
        time.sleep(1.0)
        assert not source.live and source.notice
        cam.mode = "ok"
        wait_for(lambda: source.live and source.notice is None, what="the camera to return")

        backend.inputs = []  # 2. the controller is unplugged, and plugged back
        wait_for(lambda: watch.port is None, what="the MIDI port to be closed")
        backend.inputs = [NANO]
        wait_for(lambda: watch.port is not None and watch.opens == 2, what="the MIDI port again")
        backend.port.feed(cc(0, 127))
        assert store.get("dream.mix") == 1.0

        sd.present = False  # 3. the sound interface is unplugged, and plugged back
        wait_for(lambda: voice.synth.stream is None, what="the dead stream to be dropped")
        sd.present = True
        n = voice.synth.callbacks
        wait_for(lambda: voice.synth.callbacks > n + 5, what="the sound to return")
        assert voice.synth.restarts >= 1 and sd.opened >= 2
        t_end = times[-1]
    finally:
        voice.stop()
        watch.stop()
        engine.stop()
        cam.unhang.set()
        source.stop()

    run = [t for t in times if t_start <= t <= t_end]
    gaps = np.diff(run)
    # the camera alone is away for a full second; the other faults recover faster
    assert t_end - t_start > 1.0 and len(run) > 20
    print(f"{len(run)} frames over {t_end - t_start:.2f} s, longest gap {gaps.max() * 1000:.1f} ms")
    assert gaps.max() <= MAX_STALL_S, f"the output stalled for {gaps.max() * 1000:.0f} ms"
