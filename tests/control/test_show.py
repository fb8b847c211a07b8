"""OSC and OSCQuery against a real running `liveart run --headless`, over real sockets."""
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request

from pythonosc.osc_message import OscMessage
from pythonosc.udp_client import SimpleUDPClient


def free_port(kind=socket.SOCK_DGRAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_running_show_answers_osc_and_oscquery(tmp_path):
    osc, query = free_port(), free_port(socket.SOCK_STREAM)
    listener = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    listener.bind(("127.0.0.1", 0))
    listener.settimeout(0.2)
    env = dict(os.environ, LIVEART_CONFIG_DIR=str(tmp_path / "cfg"))
    proc = subprocess.Popen(
        [sys.executable, "-m", "liveart", "run", "--headless", "--source", "synthetic",
         "--size", "64x36", "--window", "128x72", "--seconds", "40", "--osc-port", str(osc),
         "--oscquery-port", str(query), "--osc-out", f"127.0.0.1:{listener.getsockname()[1]}"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    err_lines = []  # read as it comes: the scene switch is announced on stderr
    reader = threading.Thread(target=lambda: err_lines.extend(proc.stderr), daemon=True)
    reader.start()
    try:
        def get(path):
            with urllib.request.urlopen(f"http://127.0.0.1:{query}{path}", timeout=2) as r:
                return json.loads(r.read())

        end = time.monotonic() + 30
        while True:  # wait for the show to come up
            try:
                get("/?HOST_INFO")
                break
            except OSError:
                assert time.monotonic() < end and proc.poll() is None, "".join(err_lines)
                time.sleep(0.2)
        assert get("/?HOST_INFO")["OSC_PORT"] == osc

        client = SimpleUDPClient("127.0.0.1", osc)
        client.send_message("/liveart/dream/octaves", 2)
        client.send_message("/liveart/dream/mix", 7.5)  # clamped to 1
        client.send_message("/liveart/preset/save", "from-osc")
        client.send_message("/liveart/scene", "dream+dream")
        client.send_message("/liveart/music/enabled", True)
        time.sleep(0.5)
        assert get("/liveart/dream/octaves?VALUE") == {"VALUE": [2]}
        assert get("/liveart/dream/mix?VALUE") == {"VALUE": [1.0]}
        assert (tmp_path / "cfg" / "presets" / "from-osc.toml").is_file()

        seen = {}
        end = time.monotonic() + 20
        wanted = ("/liveart/net/novelty", "/liveart/net/centroid", "/liveart/net/energy",
                  "/liveart/music/note")
        # the first feedback is the full state (octaves 4), then the change we made; the
        # activation summary and the music voice's notes follow once the dream runs
        while time.monotonic() < end and not (seen.get("/liveart/dream/octaves") == [2]
                                               and seen.get("/liveart/stats/fps", [0])[0] > 0
                                               and all(a in seen for a in wanted)
                                               and any("dream+dream ready" in x for x in err_lines)):
            try:
                msg = OscMessage(listener.recv(65536))
                seen[msg.address] = msg.params
            except (socket.timeout, ValueError):
                pass
        assert seen["/liveart/dream/octaves"] == [2]
        assert seen["/liveart/stats/fps"][0] > 0
        assert 0.0 <= seen["/liveart/net/novelty"][0] <= 1.0
        assert all(0.0 <= v <= 1.0 for v in seen["/liveart/net/centroid"])
        assert seen["/liveart/net/energy"][0] > 0
        pitch, velocity, duration = seen["/liveart/music/note"]
        assert 0 <= pitch <= 127 and 1 <= velocity <= 127 and duration > 0
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        reader.join(timeout=5)
        listener.close()
    assert any("scene dream+dream ready" in x for x in err_lines), "".join(err_lines)
