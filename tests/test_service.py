"""`liveart service install` writes a systemd user unit; sd_notify talks to a real AF_UNIX datagram
socket standing in for systemd: READY=1, WATCHDOG=1 from the frame loop (and none once the loop
hangs), STOPPING=1."""
import os
import socket
import subprocess
import sys
import threading
import time

import pytest
import torch

from liveart.cli import main
from liveart.engine import Engine
from liveart.params import ParamStore
from liveart.scenes.base import Scene
from liveart.service import ENABLE_COMMAND, SdNotify, unit_text
from liveart.sources import open_source

CPU = torch.device("cpu")


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    return tmp_path


def test_dry_run_prints_the_unit_and_the_commands_and_writes_nothing(home, capsys):
    assert main(["service", "install", "--dry-run", "--", "--source", "camera:1",
                 "--schedule", "09:00-20:00"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert f"# would write {home}/xdg/systemd/user/liveart.service:" in lines
    python = os.path.abspath(sys.executable)
    assert (f"ExecStart={python} -m liveart run --install --source camera:1 "
            "--schedule 09:00-20:00") in lines
    for line in ["Type=notify", "NotifyAccess=main", "Restart=always", "RestartSec=3",
                 "WatchdogSec=10", "WantedBy=default.target", "StartLimitIntervalSec=0",
                 ENABLE_COMMAND]:
        assert line in lines
    assert any(line.startswith("Environment=DISPLAY=") for line in lines)
    assert not (home / "xdg").exists() and not (home / "home").exists()


def test_install_writes_the_user_unit(home, capsys):
    assert main(["service", "install"]) == 0
    path = home / "xdg" / "systemd" / "user" / "liveart.service"
    text = path.read_text()
    assert "ExecStart=" in text and text.count("[Service]") == 1
    assert text.splitlines()[text.splitlines().index("[Service]") + 1] == "Type=notify"
    out = capsys.readouterr().out
    assert str(path) in out and ENABLE_COMMAND in out


def test_without_xdg_config_home_the_unit_goes_under_home(home, monkeypatch, capsys):
    monkeypatch.delenv("XDG_CONFIG_HOME")
    assert main(["service", "install", "--", "--schedule", "20:00-02:00"]) == 0
    text = (home / "home" / ".config" / "systemd" / "user" / "liveart.service").read_text()
    assert "run --install --schedule 20:00-02:00\n" in text


def test_odd_paths_are_quoted_for_systemd():
    text = unit_text(["--source", "video:/srv/my show/100% loop.mp4"],
                     python="/opt/py 3/bin/python", env={"DISPLAY": ":1"}, workdir="/srv")
    assert ('ExecStart="/opt/py 3/bin/python" -m liveart run --install --source '
            '"video:/srv/my show/100%% loop.mp4"') in text
    if sys.platform.startswith("linux"):
        assert "Environment=DISPLAY=:1" in text


@pytest.mark.parametrize("argv,message", [
    (["service", "install", "--dry-run", "--", "--schedule", "25:00-26:00"], "impossible time"),
    (["service", "install", "--", "--status-port", "70000"], "--status-port must be a port"),
    (["service", "install", "--", "--bogus"], "unrecognized arguments: --bogus"),
])
def test_bad_run_options_are_refused_before_writing(argv, message, home, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err and err.startswith("liveart: ")
    assert not (home / "xdg").exists()


# -- sd_notify ------------------------------------------------------------------------------
@pytest.fixture
def systemd(tmp_path):
    """A datagram socket where systemd's would be; yields (path, received list)."""
    path = str(tmp_path / "notify")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(0.1)
    got: list[tuple[float, str]] = []
    stop = threading.Event()

    def listen():
        while not stop.is_set():
            try:
                got.append((time.monotonic(), sock.recv(4096).decode()))
            except socket.timeout:
                pass

    t = threading.Thread(target=listen, daemon=True)
    t.start()
    try:
        yield path, got
    finally:
        stop.set()
        t.join()
        sock.close()


def test_the_watchdog_interval_follows_systemd():
    assert SdNotify({"NOTIFY_SOCKET": "/x", "WATCHDOG_USEC": "10000000"}).interval == \
        pytest.approx(10 / 3)
    assert SdNotify({"NOTIFY_SOCKET": "/x"}).interval is None
    assert SdNotify({"NOTIFY_SOCKET": "/x", "WATCHDOG_USEC": "10000000",
                     "WATCHDOG_PID": "1"}).interval is None  # someone else's watchdog
    assert not SdNotify({}).enabled and SdNotify({}).send("READY=1") is False


def test_abstract_namespace_sockets():
    name = f"liveart-test-{os.getpid()}"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind("\0" + name)
    sock.settimeout(2)
    try:
        n = SdNotify({"NOTIFY_SOCKET": "@" + name})
        assert n.send("STATUS=hello")
        assert sock.recv(100) == b"STATUS=hello"
    finally:
        sock.close()


def test_a_gone_systemd_is_not_fatal(tmp_path):
    n = SdNotify({"NOTIFY_SOCKET": str(tmp_path / "nobody")})
    assert n.send("WATCHDOG=1") is False
    n.heartbeat(5)
    n.stopping()


def test_a_real_run_says_ready_then_pings_the_watchdog(systemd, tmp_path):
    path, got = systemd
    env = dict(os.environ, NOTIFY_SOCKET=path, WATCHDOG_USEC="600000",  # ping every 0.2 s
               LIVEART_CONFIG_DIR=str(tmp_path / "cfg"))
    env.pop("WATCHDOG_PID", None)
    for name in ("OMP_WAIT_POLICY", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env.pop(name, None)  # liveart's own thread choice (cpu_threads.py), not the runner's
    proc = subprocess.run(
        [sys.executable, "-m", "liveart", "run", "--headless", "--source", "synthetic",
         "--size", "64x36", "--seconds", "4", "--no-osc", "--midi", "none"],
        env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    time.sleep(0.3)
    states = [s for _, s in got]
    assert states[0].startswith("READY=1")
    assert states[-1] == "STOPPING=1"
    pings = [t for t, s in got if s == "WATCHDOG=1"]
    # 4 s at one per 0.2 s at most, one per loop pass at least: fewer when ticks are slow.
    # Beside a busy process, torch's spinning OpenMP threads once made single ticks take
    # 1.3-6 s here (1-3 pings); with cpu_threads' choice 17-19 came, gaps at most 0.4 s
    assert len(pings) >= 3, (got, proc.stderr)
    gaps = [b - a for a, b in zip(pings, pings[1:])]
    # (arrival times jitter with this machine's load: the spacing itself is tested below)
    assert (pings[-1] - pings[0]) / len(gaps) >= 0.19  # not more often than WatchdogSec/3
    print(f"watchdog pings: {len(pings)}, gaps mean {(pings[-1] - pings[0]) / len(gaps):.3f} s, "
          f"median {sorted(gaps)[len(gaps) // 2]:.3f} s, max {max(gaps):.3f} s")


def test_pings_are_spaced_by_a_third_of_the_watchdog_time(tmp_path):
    now = [100.0]
    n = SdNotify({"NOTIFY_SOCKET": str(tmp_path / "nobody"), "WATCHDOG_USEC": "3000000"},
                 clock=lambda: now[0])
    sent = []
    n.send = lambda state: sent.append((now[0], state)) or True
    n.heartbeat(0)
    assert sent == []  # no READY before the first frame
    for _ in range(400):  # a loop pass every 10 ms for 4 s
        n.heartbeat(1)
        now[0] += 0.01
    assert sent[0] == (100.0, "READY=1\nSTATUS=showing frames")
    pings = [t for t, s in sent if s == "WATCHDOG=1"]
    assert len(pings) == 4 and all(b - a >= 1.0 - 1e-9 for a, b in zip(pings, pings[1:]))


class Hangs(Scene):
    """Works for a few ticks, then hangs inside process() until released."""
    name = "hangs"

    def __init__(self, after):
        super().__init__(CPU)
        self.after, self.calls = after, 0
        self.release = threading.Event()

    def process(self, frame, snap):
        self.calls += 1
        if self.calls > self.after:
            self.release.wait(30)
        time.sleep(0.01)  # a tick's worth of work
        return frame


def test_a_hung_tick_stops_the_watchdog_pings(systemd):
    path, got = systemd
    source = open_source("synthetic", size=(64, 36), seed=0)
    source.start()
    scene = Hangs(after=40)
    engine = Engine(source, scene, ParamStore(), CPU, (64, 36))
    notify = SdNotify({"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "150000"})  # every 0.05 s
    engine.loop_hooks.append(lambda: notify.heartbeat(engine.stats.frames))
    engine.start()
    try:
        end = time.monotonic() + 20
        while scene.calls <= scene.after and time.monotonic() < end:
            time.sleep(0.01)
        assert scene.calls > scene.after, "the scene never got to hang"
        hung_at = time.monotonic()
        time.sleep(1.0)
        before = [t for t, s in got if s == "WATCHDOG=1" and t < hung_at]
        after = [t for t, s in got if s == "WATCHDOG=1" and t > hung_at + 0.1]
        assert [s for _, s in got][0].startswith("READY=1")
        assert len(before) >= 2 and after == []  # systemd would now restart the service
        scene.release.set()
        end = time.monotonic() + 10
        while time.monotonic() < end and not [t for t, s in got if s == "WATCHDOG=1"
                                                and t > hung_at + 1.0]:
            time.sleep(0.05)
        assert [t for t, s in got if s == "WATCHDOG=1" and t > hung_at + 1.0]  # back alive
    finally:
        scene.release.set()
        engine.stop()
        source.stop()


def test_systemd_accepts_the_unit(home, tmp_path):
    """`systemd-analyze verify` (where installed) parses the unit as systemd will."""
    import shutil

    if not shutil.which("systemd-analyze"):
        pytest.skip("systemd-analyze is not installed")
    assert main(["service", "install", "--", "--source", "video:/srv/my show/100% loop.mp4",
                 "--schedule", "09:00-20:00"]) == 0
    unit = home / "xdg" / "systemd" / "user" / "liveart.service"
    proc = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "liveart.service" not in proc.stderr, proc.stderr  # no warnings about our unit


# -- a hostile argument, the sandbox, the folders ----------------------------------------------
@pytest.mark.parametrize("bad", [
    "camera:1\nExecStartPre=/bin/touch /tmp/pwned",  # a line of its own in the unit
    "camera:1\r\nExecStartPre=/bin/true", "camera:1\x00", "a\tb", "\x1b[31mred", "x\x7f",
    "camera:1\u2028ExecStartPre=/bin/true",
], ids=["newline", "crlf", "nul", "tab", "escape", "del", "line-separator"])
@pytest.mark.parametrize("where", ["run", "service"])
def test_a_control_character_in_an_argument_is_refused_in_one_sentence(bad, where, home,
                                                                        capsys):
    argv = (["service", "install", "--", "--source", bad] if where == "run"
            else ["service", "install", "--memory-max", bad])
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("liveart: liveart service install refuses ") and "\n" not in err
    assert "control character" in err and err.endswith(".")
    assert not (home / "xdg").exists()


def test_a_control_character_in_a_carried_folder_variable_is_refused(home, monkeypatch,
                                                                     capsys):
    monkeypatch.setenv("LIVEART_STYLES_DIR", "/srv/styles\nExecStartPre=/bin/true")
    assert main(["service", "install"]) == 2
    err = capsys.readouterr().err.strip()
    assert "$LIVEART_STYLES_DIR" in err and "\n" not in err
    assert not (home / "xdg").exists()


def _unit(home) -> list[str]:
    return (home / "xdg" / "systemd" / "user" / "liveart.service").read_text().splitlines()


ODD = 'odd dir 100% $HOME "q" back\\slash'  # every character systemd treats specially


def _odd_folders(home, monkeypatch) -> dict[str, str]:
    dirs = {"LIVEART_CONFIG_DIR": home / "cfg", "LIVEART_LOG_DIR": home / "logs",
            "LIVEART_RECORDINGS_DIR": home / "rec", "LIVEART_SNAPSHOTS_DIR": home / ODD,
            "LIVEART_STYLES_DIR": home / "my styles", "LIVEART_CACHE_DIR": home / "cache"}
    for name, value in dirs.items():
        monkeypatch.setenv(name, str(value))
    return {k: str(v) for k, v in dirs.items()}


def _systemd_unquote(word: str) -> str:
    """What systemd makes of one double-quoted word of Environment=/ReadWritePaths= (the
    escapes this test's values use: \\\\, \\" and %%)."""
    if word.startswith('"'):
        assert word.endswith('"')
        word = word[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    return word.replace("%%", "%")


def test_the_unit_is_sandboxed_and_carries_every_folder_variable(home, monkeypatch, capsys):
    dirs = _odd_folders(home, monkeypatch)
    monkeypatch.chdir(home)  # the working folder: relative paths of the run are in it
    assert main(["service", "install", "--memory-max", "4G", "--", "--log", "logs2/show.log",
                 "--record", str(home / "out" / "show.mp4")]) == 0
    lines = _unit(home)
    for line in ["NoNewPrivileges=yes", "PrivateTmp=yes", "ProtectSystem=strict",
                 "LimitNOFILE=8192", "MemoryMax=4G", "BindReadOnlyPaths=-/tmp/.X11-unix"]:
        assert line in lines, line
    env = dict(_systemd_unquote(l.removeprefix("Environment=")).split("=", 1)
               for l in lines if l.startswith("Environment="))
    for name, value in dirs.items():  # the recordings, snapshots, styles and cache ones too
        assert env[name] == value, name
    writable = [_systemd_unquote(l.removeprefix("ReadWritePaths=")) for l in lines
                if l.startswith("ReadWritePaths=")]
    expected = [dirs["LIVEART_CONFIG_DIR"], dirs["LIVEART_LOG_DIR"],
                dirs["LIVEART_RECORDINGS_DIR"], dirs["LIVEART_SNAPSHOTS_DIR"],
                dirs["LIVEART_STYLES_DIR"], str(home / "logs2"), str(home / "out")]
    assert writable == ["-" + d for d in expected]
    # ProtectSystem=strict: the show couldn't make them itself, so install did
    assert all(os.path.isdir(d) for d in expected)


def test_without_folder_variables_the_default_folders_are_writable(home, monkeypatch, capsys):
    for name in [n for n in os.environ if n.startswith("LIVEART_")]:
        monkeypatch.delenv(name)
    assert main(["service", "install", "--dry-run"]) == 0
    lines = capsys.readouterr().out.splitlines()
    config = home / "xdg" / "liveart"  # recordings, snapshots and styles live inside it
    assert [l for l in lines if l.startswith("ReadWritePaths=")] == [
        f"ReadWritePaths=-{config}", f"ReadWritePaths=-{home}/home/.local/state/liveart/log"]
    assert not [l for l in lines if l.startswith("Environment=LIVEART_")]
    assert not [l for l in lines if l.startswith("MemoryMax=")]


@pytest.mark.parametrize("value,shown", [("4G", "4G"), ("2048m", "2048M"), ("1.5G", "1.5G"),
                                         ("50%", "50%"), ("infinity", "infinity")])
def test_memory_max_is_written_as_systemd_reads_it(value, shown, home, capsys):
    assert main(["service", "install", "--dry-run", "--memory-max", value]) == 0
    assert f"MemoryMax={shown}" in capsys.readouterr().out.splitlines()


@pytest.mark.parametrize("value,message", [
    ("4X", "takes a size like 4G"), ("lots", "takes a size like 4G"), ("-1G", "takes a size"),
    ("100M", "too little"), ("0", "too little"), ("0%", "above 0%"), ("150%", "at most 100%"),
])
def test_a_bad_memory_max_is_refused_in_one_sentence(value, message, home, capsys):
    assert main(["service", "install", f"--memory-max={value}"]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err and err.startswith("liveart: --memory-max")
    assert not (home / "xdg").exists()


def test_systemd_accepts_the_sandboxed_unit_with_odd_folders(home, monkeypatch, tmp_path):
    """`systemd-analyze verify` parses the unit as systemd will (no warning about any line),
    and `systemd-analyze security --offline` reads the sandbox from it."""
    import json
    import shutil

    if not shutil.which("systemd-analyze"):
        pytest.skip("systemd-analyze is not installed")
    _odd_folders(home, monkeypatch)
    monkeypatch.setenv("XAUTHORITY", "/tmp/xauth_Ab:1")
    assert main(["service", "install", "--memory-max", "50%", "--", "--source",
                 "video:/srv/my show/100% loop.mp4", "--record", str(home / ODD / "a.mp4")]) == 0
    unit = home / "xdg" / "systemd" / "user" / "liveart.service"
    proc = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "liveart.service" not in proc.stderr, proc.stderr
    sec = subprocess.run(["systemd-analyze", "security", "--offline=true", "--json=short",
                          str(unit)], capture_output=True, text=True, timeout=60)
    if sec.returncode != 0 and "offline" in sec.stderr:
        pytest.skip("this systemd-analyze has no --offline security check")
    assert "liveart.service:" not in sec.stderr, sec.stderr  # no line it could not read
    checks = {e["name"]: e["set"] for e in json.loads(sec.stdout)}
    assert checks["NoNewPrivileges="] and checks["PrivateTmp="] and checks["ProtectSystem="]
