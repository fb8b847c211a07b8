"""Hostile input against a real running show (`liveart run --headless`, loopback only, bounded
in count and time): after each attack the process is alive, its frame counter advances, the
files it had are intact, and the log says what happened in one sentence."""
import os
import re
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from pythonosc.osc_message import OscMessage
from pythonosc.udp_client import SimpleUDPClient

from liveart.errors import UserError


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Show:
    """A running headless show with OSC in and out on loopback; `frames()` reads its counter
    from the /liveart/health/fps and stats feedback it sends."""

    def __init__(self, tmp: Path, *extra: str, env: dict | None = None, seconds: int = 60):
        self.osc = free_port()
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.settimeout(0.1)
        self.log = tmp / "show.log"
        self.env = dict(os.environ, LIVEART_CONFIG_DIR=str(tmp / "cfg"),
                        LIVEART_STYLES_DIR=str(tmp / "styles"), **(env or {}))
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "liveart", "run", "--headless", "--source", "synthetic",
             "--size", "64x36", "--window", "128x72", "--seconds", str(seconds), "--no-audio",
             "--osc-port", str(self.osc), "--oscquery-port", "0", "--log", str(self.log),
             "--osc-out", f"127.0.0.1:{self.listener.getsockname()[1]}", *extra],
            env=self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.err: list[str] = []
        threading.Thread(target=lambda: self.err.extend(self.proc.stderr), daemon=True).start()
        self.client = SimpleUDPClient("127.0.0.1", self.osc)
        self.seen: dict[str, list] = {}
        # frames flowing: everything is bound (the stats are sent before the show starts)
        self.wait_for(lambda: self.seen.get("/liveart/stats/fps", [0])[0] > 0, 40,
                      "the show never came up")

    def pump(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            try:
                msg = OscMessage(self.listener.recv(65536))
                self.seen[msg.address] = msg.params
            except (socket.timeout, ValueError):
                pass

    def wait_for(self, cond, seconds: float, what: str) -> None:
        end = time.monotonic() + seconds
        while not cond():
            assert self.proc.poll() is None, f"the show died: {''.join(self.err)[-2000:]}"
            assert time.monotonic() < end, what
            self.pump(0.1)

    def alive_and_ticking(self) -> None:
        """The show answers and makes frames: a value set now comes back in its echo."""
        self.seen.pop("/liveart/dream/octaves", None)
        value = int(time.monotonic() * 10) % 3 + 2
        self.client.send_message("/liveart/dream/octaves", value)
        self.wait_for(lambda: self.seen.get("/liveart/dream/octaves") == [value], 5,
                      "the show stopped answering")
        self.seen.pop("/liveart/stats/fps", None)
        self.wait_for(lambda: self.seen.get("/liveart/stats/fps", [0])[0] > 0, 5,
                      "the show stopped making frames")

    def logged(self, pattern: str, seconds: float = 5) -> str:
        def found():
            return self.log.is_file() and re.search(pattern, self.log.read_text())
        tail = lambda: self.log.read_text()[-1500:] if self.log.is_file() else ""  # noqa: E731
        try:
            self.wait_for(found, seconds, "")
        except AssertionError:
            raise AssertionError(f"the log never said {pattern!r}; it ends:\n{tail()}") from None
        return re.search(pattern, self.log.read_text()).group(0)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)
        self.listener.close()


@pytest.fixture
def show(tmp_path):
    shows = []

    def start(*extra, **kw):
        s = Show(tmp_path, *extra, **kw)
        shows.append(s)
        return s

    yield start
    for s in shows:
        s.stop()


def test_controllers_load_presets_by_name_only(show, tmp_path):
    """/liveart/preset/load with a path (absolute, ../) or a symlink out of the preset folder
    (to /proc/kmsg, which blocks a plain read forever) loads nothing, blocks nothing."""
    evil = tmp_path / "evil.toml"
    evil.write_text("[dream]\nmix = 0.125\n")
    presets = tmp_path / "cfg" / "presets"
    presets.mkdir(parents=True)
    (presets / "kmsg.toml").symlink_to("/proc/kmsg")
    (presets / "outside.toml").symlink_to(evil)
    os.mkfifo(presets / "fifo.toml")  # inside the folder, but opening it to read would wait
    s = show("--fresh")
    for name in (str(evil), "../../evil", "kmsg", "outside", "fifo"):
        t = time.monotonic()
        s.client.send_message("/liveart/preset/load", name)
        s.alive_and_ticking()
        assert time.monotonic() - t < 3.0, f"preset/load {name} held the show up"
    s.client.send_message("/liveart/dream/mix", [])  # a query: the answer comes back to us
    s.pump(1.0)
    assert s.seen.get("/liveart/dream/mix") != [0.125]
    s.logged(r"Presets are loaded by name from a controller")  # later ones: rate-limited
    # what each of them says, from the same actions in this process
    from liveart.control.actions import Actions
    from liveart.params import ParamStore

    os.environ["LIVEART_CONFIG_DIR"] = str(tmp_path / "cfg")
    try:
        actions = Actions(ParamStore())
        said = {}
        for name in (str(evil), "../../evil", "kmsg", "outside", "fifo"):
            with pytest.raises(UserError) as e:
                actions.run("preset/load", name)
            said[name] = str(e.value)
    finally:
        del os.environ["LIVEART_CONFIG_DIR"]
    assert said[str(evil)].startswith("Presets are loaded by name from a controller")
    assert said["../../evil"].startswith("Presets are loaded by name from a controller")
    assert said["kmsg"] == "Preset 'kmsg' leads outside the preset folders; it is not loaded."
    assert said["outside"] == "Preset 'outside' leads outside the preset folders; it is not loaded."
    assert said["fifo"].endswith("fifo.toml is not a regular file.")


def test_a_decompression_bomb_as_a_style_picture_is_refused(show, tmp_path):
    from PIL import Image

    styles = tmp_path / "styles"
    styles.mkdir()
    Image.new("L", (12000, 12000)).save(styles / "bomb.png")  # 144 megapixels, 140 KB
    s = show("--fresh", "--scene", "style")
    s.client.send_message("/liveart/style/image", "bomb.png")
    s.logged(r"bomb\.png is 12000x12000 \(144 megapixels\); liveart reads pictures up to 64")
    s.alive_and_ticking()
    assert "Traceback" not in s.log.read_text()


def test_a_restored_state_never_stops_a_start(tmp_path):
    """A network that isn't installed, a 400-digit number and an unusable modulator in the
    last state: the show starts from defaults for those, each said once in the log."""
    from liveart.models import get_backbone

    try:
        get_backbone("vgg19").load()
        pytest.skip("VGG19 is installed here, so the saved state is usable")
    except UserError:
        pass
    cfg = tmp_path / "cfg"
    cfg.mkdir()
    state = cfg / "last-state.toml"
    state.write_text('description = "x"\n[dream]\nmodel = "vgg19"\nlayer = "relu4_4"\n'
                     f'octaves = 3{"9" * 400}\nmix = 0.5\n\n[[mod]]\ntarget = "dream.zzz"\n'
                     'source = "lfo"\namount = 1\n')
    log = tmp_path / "start.log"
    env = dict(os.environ, LIVEART_CONFIG_DIR=str(cfg))
    r = subprocess.run([sys.executable, "-m", "liveart", "run", "--headless", "--source",
                        "synthetic", "--size", "64x36", "--frames", "5", "--no-osc", "--no-audio",
                        "--log", str(log)], env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-1500:]
    text = log.read_text()
    assert "The saved state's dream.model = vgg19 can't be used here" in text
    assert "sets dream.octaves to a number too large to use; it starts at its default" in text
    assert "the saved modulators are left out" in text and "Traceback" not in text
    assert "5 frames" in r.stdout


def test_what_the_command_line_asks_for_still_stops_the_start(tmp_path):
    bad = tmp_path / "big.toml"
    bad.write_text(f"[dream]\noctaves = 3{'9' * 400}\n")
    r = subprocess.run([sys.executable, "-m", "liveart", "run", "--headless", "--frames", "1",
                        "--preset", str(bad)], capture_output=True, text=True, timeout=120,
                       env=dict(os.environ, LIVEART_CONFIG_DIR=str(tmp_path / "cfg")))
    assert r.returncode == 2
    assert r.stderr.strip().splitlines()[-1].endswith("sets dream.octaves to a number too large to use.")


def test_a_snapshot_from_elsewhere_can_not_name_files(tmp_path, cat):
    """`render --from` a PNG whose state names /etc/shadow as its style picture: not opened,
    not copied into the output's state."""
    from liveart.snapshot import read_state, state_json, write_png

    src = tmp_path / "theirs.png"
    state = state_json({"style.image": "/etc/shadow", "dream.octaves": 2}, "style")
    write_png(src, cat[:72, :128].copy(), state)
    out = tmp_path / "ours.png"
    env = dict(os.environ, LIVEART_CONFIG_DIR=str(tmp_path / "cfg"),
               LIVEART_STYLES_DIR=str(tmp_path / "styles"))
    r = subprocess.run([sys.executable, "-m", "liveart", "render", str(src), str(out), "--from",
                        str(src), "--size", "64x36"], env=env, capture_output=True, text=True,
                       timeout=180)
    assert r.returncode == 0, r.stderr[-1500:]
    assert "style.image over the network takes names of pictures" in r.stderr
    assert read_state(out)["params"]["style.image"] == ""
    assert read_state(out)["params"]["dream.octaves"] == 2


def _tmpfs(path: Path, size: str) -> bool:
    path.mkdir(parents=True, exist_ok=True)
    return subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                          capture_output=True).returncode == 0


def test_a_disk_that_fills_during_a_recording(show, tmp_path):
    """record/start on a small disk: the recording stops with one sentence when the disk is
    full, the show goes on, and the frames the log reports are the frames in the file."""
    disk = tmp_path / "disk"
    if not _tmpfs(disk, "1500k"):
        pytest.skip("no tmpfs here (mounting needs root and CAP_SYS_ADMIN)")
    try:
        s = show("--fresh", env={"LIVEART_RECORDINGS_DIR": str(disk)})
        s.client.send_message("/liveart/record/start", "full.mp4")
        said = s.logged(r"Recorded (\d+) frames \([\d.]+ s\) to \S+full\.mp4", 40)
        s.alive_and_ticking()
        text = s.log.read_text()
        assert "No space left on device" in text and "Traceback" not in text
        reported = int(re.search(r"Recorded (\d+) frames", said).group(1))
        import av

        with av.open(str(disk / "full.mp4")) as c:
            decodable = sum(1 for _ in c.decode(video=0))
        assert decodable == reported > 0
    finally:
        subprocess.run(["umount", "-l", str(disk)], capture_output=True)


def test_record_start_where_no_folder_can_be_made(show, tmp_path):
    """record/start (OSC, key C, MIDI) when the recordings folder can't exist: one sentence,
    the show goes on."""
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the recordings folder should be")
    s = show("--fresh", env={"LIVEART_RECORDINGS_DIR": str(blocker / "rec")})
    s.client.send_message("/liveart/record/start", [])
    s.logged(r"Can't record in \S+rec: Not a directory; the show goes on without recording\.")
    s.alive_and_ticking()
    assert "Traceback" not in s.log.read_text()
