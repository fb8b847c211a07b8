"""`liveart run --install` end to end: the status page and OSC health of a real run, the rotating
log, the last state restored, and under Xvfb a full-screen window that is black outside the
schedule."""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import datetime, timedelta

import numpy as np
from pythonosc.osc_message import OscMessage

from liveart.cli import build_parser
from liveart.health import DEFAULT_STATUS_PORT
from liveart.installation import Installation

from .conftest import _start_xvfb, grab, require_xvfb
from .test_service import systemd  # noqa: F401,F811 (a fixture)


def free_port(kind=socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def health(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/health.json", timeout=2) as r:
        return json.loads(r.read())


def wait_for_health(port, proc, cond, timeout=60):
    end = time.monotonic() + timeout
    while time.monotonic() < end and proc.poll() is None:
        try:
            h = health(port)
            if cond(h):
                return h
        except OSError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"the status page never showed it (exit {proc.poll()})")


def test_install_turns_on_what_an_installation_needs():
    args = build_parser().parse_args(["run", "--install"])
    inst = Installation(args)
    assert args.fullscreen and not args.fresh  # the last state is restored, as always
    assert inst.status_port == DEFAULT_STATUS_PORT and inst.schedule is None
    plain = build_parser().parse_args(["run"])
    assert Installation(plain).status_port == 0 and not plain.fullscreen  # off without --install
    args = build_parser().parse_args(["run", "--install", "--status-port", "0"])
    assert Installation(args).status_port == 0


def closed_schedule() -> str:
    """A window that opens two hours from now: closed for the whole test."""
    start = datetime.now() + timedelta(hours=2)
    end = start + timedelta(hours=1)
    return f"{start:%H:%M}-{end:%H:%M}"


def test_headless_install_run_reports_health_logs_and_restores(tmp_path):
    from liveart.presets import write_preset

    cfg, logs = tmp_path / "cfg", tmp_path / "logs"
    cfg.mkdir()
    write_preset(cfg / "last-state.toml", {"dream.octaves": 2}, "the last show")
    status = free_port()
    listener = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    listener.bind(("127.0.0.1", 0))
    listener.settimeout(0.2)
    env = dict(os.environ, LIVEART_CONFIG_DIR=str(cfg), LIVEART_LOG_DIR=str(logs))
    proc = subprocess.Popen(
        [sys.executable, "-m", "liveart", "run", "--install", "--headless", "--source",
         "synthetic", "--size", "64x36", "--seconds", "30", "--status-port", str(status),
         "--osc-port", str(free_port(socket.SOCK_DGRAM)), "--oscquery-port", str(free_port()),
         "--osc-out", f"127.0.0.1:{listener.getsockname()[1]}", "--midi", "none"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        h = wait_for_health(status, proc, lambda h: h["frames"] > 3 and h["fps"] > 0)
        got: dict[str, list] = {}
        end = time.monotonic() + 5
        while time.monotonic() < end and len(got.get("/liveart/health/error", [])) < 2:
            try:
                m = OscMessage(listener.recv(65536))
            except (socket.timeout, ValueError):
                continue
            if m.address.startswith("/liveart/health/"):
                got.setdefault(m.address, []).append(m.params)
        print("status page of a real run:", json.dumps(h))
    finally:
        proc.terminate()  # as `systemctl stop` does: SIGTERM ends the show cleanly
        out, err = proc.communicate(timeout=30)
        listener.close()
    assert proc.returncode == 0, err
    assert "frames" in out  # the summary line: it ended through the normal exit path
    assert h["dark"] is False and h["level"] == 1.0 and h["schedule"] is None
    assert h["rss_mb"] > 50 and h["scene"] == "dream" and h["last_error"] == ""
    assert {"/liveart/health/fps", "/liveart/health/rss_mb", "/liveart/health/error"} <= set(got)
    assert got["/liveart/health/error"][0] == [""]
    text = (logs / "liveart.log").read_text()
    assert "restored the last state" in text and "status page on http://127.0.0.1" in text
    assert text.splitlines()[0][:4].isdigit()  # timestamped lines


def test_install_window_is_full_screen_and_black_outside_the_schedule(xserver, tmp_path):
    status = free_port()
    env = dict(os.environ, DISPLAY=xserver, LIVEART_CONFIG_DIR=str(tmp_path / "cfg"),
               LIVEART_LOG_DIR=str(tmp_path / "logs"))
    env.pop("SDL_VIDEODRIVER", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "liveart", "run", "--install", "--source", "synthetic", "--size",
         "64x36", "--window", "320x180", "--seconds", "30", "--schedule", closed_schedule(),
         "--status-port", str(status), "--no-osc", "--midi", "none"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        h = wait_for_health(status, proc, lambda h: h["frames"] > 5)
        time.sleep(1.0)  # a few black frames presented
        shot = grab()
        tree = (subprocess.run(["xwininfo", "-root", "-tree"], env=env, capture_output=True,
                               text=True).stdout if shutil.which("xwininfo") else "")
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "on the x11 video driver" in err
    assert h["dark"] is True and h["level"] == 0.0
    assert h["fps"] < 15  # black frames at a low rate, no scene
    # full screen (1280x720, though the frames are 320x180) and black: no HUD, no notice bar
    if tree:
        ours = [line for line in tree.splitlines() if '"liveart"' in line]
        assert ours and "1280x720+0+0" in ours[0], tree
    assert shot.shape[:2] == (720, 1280)
    assert shot.max() <= 2, f"not black: max {shot.max()}, mean {shot.mean():.1f}"
    assert "keeping the screen awake: SDL_VIDEO_ALLOW_SCREENSAVER=0" in err
    if shutil.which("xset"):  # (Xvfb keeps its screen saver timeout whatever xset says)
        assert "xset s off s noblank (exit 0)" in err and "xset -dpms (exit" in err


def test_an_installation_without_a_display_exits_for_the_service_to_retry(tmp_path):
    """At boot the service can start before the desktop. pygame would fall back to an offscreen
    window nobody sees; an installation says so and exits, so systemd restarts it until the
    display is up."""
    env = dict(os.environ, DISPLAY=":65000", LIVEART_CONFIG_DIR=str(tmp_path / "cfg"),
               LIVEART_LOG_DIR=str(tmp_path / "logs"))
    for name in ("SDL_VIDEODRIVER", "WAYLAND_DISPLAY"):
        env.pop(name, None)
    out = subprocess.run(
        [sys.executable, "-m", "liveart", "run", "--install", "--source", "synthetic", "--size",
         "64x36", "--window", "320x180", "--seconds", "30", "--status-port", "0", "--no-osc",
         "--midi", "none", "--no-audio"],
        env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 2, out.stderr
    assert ("liveart: No display answered (DISPLAY=:65000); an installation needs a visible "
            "window, so it stops here.") in out.stderr


def test_window_without_hud_and_pointer(xserver):
    import pygame

    from liveart.outputs.window import HudInfo, Window

    win = Window((320, 180), hud=False, cursor=False)
    try:
        frame = np.full((180, 320, 3), 200, np.uint8)
        win.show(frame, HudInfo(fps=30.0, scene="dream"))
        assert not win.hud_visible and not pygame.mouse.get_visible()
        assert pygame.display.get_driver() == "x11"
    finally:
        win.close()


def test_a_frozen_window_stops_the_watchdog_while_the_frames_go_on(systemd, tmp_path):
    """The X server is stopped (SIGSTOP), as a hung display driver would: the window loop waits
    on it while the frame loop keeps computing. The watchdog pings stop, so systemd would
    restart the show; when the display answers again, they resume."""
    require_xvfb()
    path, got = systemd
    xvfb, number = _start_xvfb()  # our own: the test stops it
    status = free_port()
    env = dict(os.environ, DISPLAY=f":{number}", NOTIFY_SOCKET=path,
               WATCHDOG_USEC="1500000",  # ping every 0.5 s; the window may lag at most 1 s
               LIVEART_CONFIG_DIR=str(tmp_path / "cfg"), LIVEART_LOG_DIR=str(tmp_path / "logs"))
    for name in ("SDL_VIDEODRIVER", "WATCHDOG_PID"):
        env.pop(name, None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "liveart", "run", "--install", "--source", "synthetic", "--scene",
         "style", "--size", "64x36", "--window", "320x180", "--seconds", "60",
         "--status-port", str(status), "--no-osc", "--midi", "none"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    pings = lambda after: [t for t, s in got if s == "WATCHDOG=1" and t > after]  # noqa: E731
    try:
        wait_for_health(status, proc, lambda h: h["frames"] > 5)
        end = time.monotonic() + 10
        while len(pings(0)) < 2 and time.monotonic() < end:
            time.sleep(0.1)
        assert len(pings(0)) >= 2, got
        os.kill(xvfb.pid, signal.SIGSTOP)  # the display hangs
        frozen_at = time.monotonic()
        frames_then = health(status)["frames"]
        time.sleep(3.0)
        frames_now = health(status)["frames"]
        silent = pings(frozen_at + 1.2) == []  # a ping may still leave within the 1 s grace
        os.kill(xvfb.pid, signal.SIGCONT)
        thawed_at = time.monotonic()
        end = time.monotonic() + 10
        while not pings(thawed_at) and time.monotonic() < end:
            time.sleep(0.1)
        resumed = bool(pings(thawed_at))
    finally:
        os.kill(xvfb.pid, signal.SIGCONT)
        proc.terminate()
        out, err = proc.communicate(timeout=30)
        xvfb.terminate()
        xvfb.wait(timeout=10)
    assert frames_now > frames_then + 10, "the frame loop should go on while the window hangs"
    assert silent, f"pings went on over a frozen window: {pings(frozen_at)}"
    assert resumed, "the pings did not resume when the window answered again"
    assert "watchdog pings withheld" in err and "watchdog pings resumed" in err
