"""Run liveart as a systemd user service, and talk to systemd while running.

`liveart service install [--dry-run] [-- RUN ARGS...]` writes
~/.config/systemd/user/liveart.service: `python -m liveart run --install RUN ARGS`, restarted
whenever it ends (Restart=always) and whenever its tick loop stops answering (WatchdogSec=10).

`SdNotify` is the process side of that: READY=1 once the first frame is out, WATCHDOG=1 from
the loop that makes the frames (so a frozen loop is restarted, not only a dead process) and
STOPPING=1 on the way out. It is written by hand rather than taken from a library: the protocol
is one datagram to the AF_UNIX socket named in $NOTIFY_SOCKET, and python-systemd needs the
libsystemd headers to build (sdnotify on PyPI does the same ten lines, unmaintained).
"""
from __future__ import annotations

import argparse
import logging
import os
import socket
import sys
import time
from pathlib import Path
from typing import Mapping, Sequence

from .atomic import write_atomic
from .errors import UserError

log = logging.getLogger(__name__)

UNIT_NAME = "liveart.service"
WATCHDOG_SEC = 10
RESTART_SEC = 3
ENABLE_COMMAND = "systemctl --user daemon-reload && systemctl --user enable --now liveart"


# -- the process side: sd_notify ------------------------------------------------------------
class SdNotify:
    """Sends sd_notify(3) states to $NOTIFY_SOCKET; does nothing when it is not set (not run by
    systemd, or Type= is not notify). Never raises: a lost datagram must not stop the show."""

    def __init__(self, env: Mapping[str, str] | None = None, clock=time.monotonic):
        env = os.environ if env is None else env
        path = env.get("NOTIFY_SOCKET", "")
        # '@' names a socket in Linux's abstract namespace: a leading NUL byte on the wire
        self.address = ("\0" + path[1:]) if path.startswith("@") else path
        self.interval = self._watchdog_interval(env)  # seconds between pings, None: no watchdog
        self.clock = clock
        self.ready = False
        self.sent: list[str] = []  # what was sent (the last few), for the log and tests
        self._last_ping = float("-inf")
        self._sock: socket.socket | None = None
        self._failed_logged = False
        self._withheld = False

    @staticmethod
    def _watchdog_interval(env: Mapping[str, str]) -> float | None:
        """WatchdogSec/3 from $WATCHDOG_USEC, as sd_watchdog_enabled(3) reads it (and only when
        $WATCHDOG_PID, if set, is this process)."""
        try:
            usec = int(env.get("WATCHDOG_USEC", ""))
        except ValueError:
            return None
        pid = env.get("WATCHDOG_PID", "")
        if usec <= 0 or (pid and pid != str(os.getpid())):
            return None
        return usec / 1e6 / 3.0

    @property
    def enabled(self) -> bool:
        return bool(self.address)

    def send(self, state: str) -> bool:
        if not self.address:
            return False
        try:
            if self._sock is None:
                self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
                self._sock.setblocking(False)
            self._sock.sendto(state.encode(), self.address)
        except OSError as e:
            if not self._failed_logged:
                self._failed_logged = True
                log.warning("Can't notify systemd at %s: %s", self.address.replace("\0", "@"), e)
            return False
        self.sent = (self.sent + [state])[-16:]
        return True

    def heartbeat(self, frames: int, alive: bool = True) -> None:
        """Call from every pass of the frame loop: READY=1 once `frames` > 0, then WATCHDOG=1 at
        most every WatchdogSec/3. `alive` False (another part of the show stopped answering)
        withholds the pings, so systemd restarts the show."""
        if not self.address:
            return
        if not alive:
            if self.ready and not self._withheld:
                self._withheld = True
                log.error("the window has stopped answering: watchdog pings withheld, systemd "
                          "restarts the show if it does not recover")
            return
        if self._withheld:
            self._withheld = False
            log.warning("the window answers again: watchdog pings resumed")
        if not self.ready:
            if frames <= 0:
                return
            self.ready = True
            self.send("READY=1\nSTATUS=showing frames")
        if self.interval is not None:
            now = self.clock()
            if now - self._last_ping >= self.interval:
                self._last_ping = now
                self.send("WATCHDOG=1")

    def stopping(self) -> None:
        if self.address:
            self.send("STOPPING=1")
        if self._sock is not None:
            self._sock.close()
            self._sock = None


# -- the unit file ----------------------------------------------------------------------------
def _systemd_quote(arg: str) -> str:
    """One ExecStart= word: `%` and `$` escaped (systemd expands them), quoted when needed."""
    arg = arg.replace("%", "%%").replace("$", "$$")
    if arg and not any(c in arg for c in " \t\"'\\;"):
        return arg
    return '"' + arg.replace("\\", "\\\\").replace('"', '\\"') + '"'


def unit_text(run_args: Sequence[str], python: str | None = None,
              env: Mapping[str, str] | None = None, workdir: str | None = None) -> str:
    env = os.environ if env is None else env
    python = os.path.abspath(python or sys.executable)
    cmd = [python, "-m", "liveart", "run", "--install", *run_args]
    lines = [
        "[Unit]",
        "Description=liveart installation (live neural visuals)",
        "After=graphical-session.target",
        "StartLimitIntervalSec=0",  # never give up restarting: nobody is there to do it
        "",
        "[Service]",
        "Type=notify",
        "NotifyAccess=main",
        "ExecStart=" + " ".join(_systemd_quote(a) for a in cmd),
        f"WorkingDirectory={_systemd_quote(workdir or os.getcwd())}",
        "Restart=always",
        f"RestartSec={RESTART_SEC}",
        f"WatchdogSec={WATCHDOG_SEC}",
        "TimeoutStartSec=180",  # loading the networks on a slow CPU, before READY=1
        "Environment=PYTHONUNBUFFERED=1",
    ]
    if sys.platform.startswith("linux"):
        # the X display the window opens on: this session's, else the usual first one
        display = env.get("DISPLAY") or ":0"
        lines.append(f"Environment=DISPLAY={_systemd_quote(display)}")
        if env.get("WAYLAND_DISPLAY"):
            lines.append(f"Environment=WAYLAND_DISPLAY={_systemd_quote(env['WAYLAND_DISPLAY'])}")
    for name in ("LIVEART_CONFIG_DIR", "LIVEART_LOG_DIR"):
        if env.get(name):
            lines.append(f"Environment={name}={_systemd_quote(env[name])}")
    lines += ["", "[Install]", "WantedBy=default.target", ""]
    return "\n".join(lines)


def unit_path(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    xdg = env.get("XDG_CONFIG_HOME", "").strip()
    home = Path(env.get("HOME") or Path.home())
    base = Path(xdg) if xdg and os.path.isabs(xdg) else home / ".config"
    return base / "systemd" / "user" / UNIT_NAME


def check_run_args(run_args: Sequence[str]) -> None:
    """The arguments must make a valid `liveart run --install ...` (UserError if not)."""
    from .cli import build_parser
    from .installation import Installation

    try:
        Installation(build_parser().parse_args(["run", "--install", *run_args]))
    except UserError as e:
        msg = str(e).removeprefix("liveart: ").rstrip(".")
        raise UserError(f"The options after -- must suit `liveart run --install`: {msg}.") from None


def cmd_service(args) -> int:
    run_args = list(args.run_args or [])
    # argparse hands over everything after `install` (REMAINDER): service flags, then `--`,
    # then the run's own options (`liveart run` has no --dry-run, so it can't be one of them)
    head, tail = ((run_args[:run_args.index("--")], run_args[run_args.index("--") + 1:])
                  if "--" in run_args else (run_args, []))
    dry_run = args.dry_run or "--dry-run" in head
    run_args = [a for a in head if a != "--dry-run"] + tail
    check_run_args(run_args)
    text = unit_text(run_args)
    path = unit_path()
    if dry_run:
        print(f"# would write {path}:")
        print(text)
        print("# then run:")
        print(ENABLE_COMMAND)
        print("# and, so it starts at boot without anyone logging in:")
        print("loginctl enable-linger $USER")
        return 0
    if not sys.platform.startswith("linux"):
        raise UserError("liveart service install writes a systemd unit, which only Linux runs; "
                        "--dry-run still shows it.")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, text)  # systemd never reads half a unit
    except OSError as e:
        raise UserError(f"Can't write {path}: {e.strerror or e}.") from None
    print(f"wrote {path}\nnow run:\n  {ENABLE_COMMAND}\n"
          "and, to start at boot without anyone logging in:\n  loginctl enable-linger $USER\n"
          "logs: journalctl --user -u liveart -f")
    return 0


def add_service_parser(sub) -> None:
    svc = sub.add_parser("service", help="run liveart as a systemd user service (installations)")
    svc.add_argument("what", choices=["install"], help="install: write the systemd user unit")
    svc.add_argument("--dry-run", action="store_true",
                     help="print the unit and the commands to enable it; write nothing")
    svc.add_argument("run_args", nargs=argparse.REMAINDER, metavar="-- RUN ARGS",
                     help="after --: options for `liveart run --install`, e.g. "
                     "-- --source camera:1 --schedule 09:00-20:00")

