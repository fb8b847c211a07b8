"""OSC and OSCQuery against a real running `liveart run --headless`, over real sockets."""
import json
import os
import socket
import subprocess
import sys
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
                assert time.monotonic() < end and proc.poll() is None, proc.stderr.read()
                time.sleep(0.2)
        assert get("/?HOST_INFO")["OSC_PORT"] == osc

        client = SimpleUDPClient("127.0.0.1", osc)
        client.send_message("/liveart/dream/octaves", 2)
        client.send_message("/liveart/dream/mix", 7.5)  # clamped to 1
        client.send_message("/liveart/preset/save", "from-osc")
        client.send_message("/liveart/scene", "dream+dream")
        time.sleep(0.5)
        assert get("/liveart/dream/octaves?VALUE") == {"VALUE": [2]}
        assert get("/liveart/dream/mix?VALUE") == {"VALUE": [1.0]}
        assert (tmp_path / "cfg" / "presets" / "from-osc.toml").is_file()

        seen = {}
        end = time.monotonic() + 10
        # the first feedback is the full state (octaves 4), then the change we made
        while time.monotonic() < end and not (seen.get("/liveart/dream/octaves") == [2]
                                               and seen.get("/liveart/stats/fps", [0])[0] > 0):
            try:
                msg = OscMessage(listener.recv(65536))
                seen[msg.address] = msg.params
            except (socket.timeout, ValueError):
                pass
        assert seen["/liveart/dream/octaves"] == [2]
        assert seen["/liveart/stats/fps"][0] > 0
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=30)
        listener.close()
    assert "scene dream+dream ready" in err
