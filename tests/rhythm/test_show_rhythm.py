"""A running show listening to a song (--audio-in file:...), over real sockets: audio readouts,
the beat, the tempo followed from the music, modulators set over OSC and kept."""
import os
import socket
import subprocess
import sys
import threading
import time

from pythonosc.osc_message import OscMessage
from pythonosc.udp_client import SimpleUDPClient

from .signals import click_track
from .test_render_audio import write_wav


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_show_follows_the_music(tmp_path):
    samples, _ = click_track(120.0, 12.0)
    write_wav(tmp_path / "clicks.wav", samples)
    osc = free_port()
    listener = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    listener.bind(("127.0.0.1", 0))
    listener.settimeout(0.2)
    cfg = tmp_path / "cfg"
    env = dict(os.environ, LIVEART_CONFIG_DIR=str(cfg))
    proc = subprocess.Popen(
        [sys.executable, "-m", "liveart", "run", "--headless", "--source", "synthetic",
         "--size", "64x36", "--window", "128x72", "--seconds", "40", "--no-audio",
         "--audio-in", f"file:{tmp_path / 'clicks.wav'}", "--preset", "pulse",
         "--osc-port", str(osc), "--oscquery-port", "0",
         "--osc-out", f"127.0.0.1:{listener.getsockname()[1]}"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    err = []
    threading.Thread(target=lambda: err.extend(proc.stderr), daemon=True).start()
    seen, onsets, beats = {}, [], []
    try:
        client = SimpleUDPClient("127.0.0.1", osc)
        end = time.monotonic() + 30
        sent = False
        while time.monotonic() < end:
            try:
                msg = OscMessage(listener.recv(65536))
            except (socket.timeout, ValueError):
                assert proc.poll() is None, "".join(err)
                continue
            seen[msg.address] = msg.params
            if msg.address == "/liveart/audio/onset" and msg.params[0] > 0.5:
                onsets.append(time.monotonic())
            if msg.address == "/liveart/tempo/beat":
                beats.append(msg.params)
            if not sent and "/liveart/stats/fps" in seen:  # the show is up: play it over OSC
                client.send_message("/liveart/tempo/source", "audio")
                client.send_message("/liveart/mod/set", ["dream.mix", "audio.level", -0.5])
                client.send_message("/liveart/mod/set", ["dream.octaves", "lfo", 1.0,
                                                         "shape=square rate=2b"])
                client.send_message("/liveart/mod/clear", "dream.rotate")
                sent = True
            bpm = seen.get("/liveart/tempo/bpm", [0])[0]
            if sent and abs(bpm - 120.0) < 1.0 and len(beats) >= 4 and len(onsets) >= 4:
                break
        assert abs(seen["/liveart/tempo/bpm"][0] - 120.0) < 1.0, seen.get("/liveart/tempo/bpm")
        assert len(onsets) >= 4 and all(0 <= v <= 1 for a, v in
                                       ((a, p[0]) for a, p in seen.items() if a.startswith("/liveart/audio/")))
        assert {"/liveart/audio/level", "/liveart/audio/low", "/liveart/audio/mid",
                "/liveart/audio/high", "/liveart/audio/beat"} <= set(seen)
        numbers = [b[0] for b in beats]  # one message per beat, counting up
        assert all(b - a == 1 for a, b in zip(numbers, numbers[1:])), str(numbers)
        assert all(20 <= b[1] <= 300 for b in beats)
        client.send_message("/liveart/preset/save", "with-mods")
        time.sleep(0.5)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        listener.close()
    saved = (cfg / "presets" / "with-mods.toml").read_text()
    assert 'target = "dream.mix"' in saved and 'source = "audio.level"' in saved
    assert 'target = "dream.octaves"' in saved and 'rate = "2b"' in saved
    assert 'target = "dream.zoom"' in saved and 'target = "dream.rotate"' not in saved
    last = (cfg / "last-state.toml").read_text()  # the next run starts with them
    assert 'source = "audio.level"' in last and 'source = "audio"' in last
