"""Run liveart as a systemd user service, and talk to systemd while running.

`liveart service install [--dry-run] [--memory-max SIZE] [-- RUN ARGS...]` writes
~/.config/systemd/user/liveart.service: `python -m liveart run --install RUN ARGS`, restarted
whenever it ends (Restart=always) and whenever its tick loop stops answering (WatchdogSec=10).

The unit is sandboxed as far as a show on the desktop allows: NoNewPrivileges=yes,
PrivateTmp=yes (the X server's socket folder /tmp/.X11-unix bound in, read-only, so the window
still opens), ProtectSystem=strict (the whole file system read-only but for liveart's own
folders, listed in ReadWritePaths=: config, log, recordings, snapshots, styles, and the folders
of --log and record paths given), LimitNOFILE=8192 and, with --memory-max, MemoryMax=.
/dev stays as it is (cameras, GPUs, sound, MIDI), and sockets (Wayland, PipeWire, D-Bus) work
through read-only folders. Every `LIVEART_*_DIR` variable set at install time is carried into
the unit. An argument or a value with a control character (a line break could add a line to
the unit) is refused.

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
import re
import socket
import sys
import time
from pathlib import Path
from typing import Mapping, Sequence

from .atomic import remove_stale_temps, write_atomic
from .errors import UserError

log = logging.getLogger(__name__)

UNIT_NAME = "liveart.service"
WATCHDOG_SEC = 10
RESTART_SEC = 3
ENABLE_COMMAND = "systemctl --user daemon-reload && systemctl --user enable --now liveart"
LIMIT_NOFILE = 8192  # sockets, MIDI ports, the recorder's files, torch's: 1024 is tight
MIN_MEMORY = 512 << 20  # under this torch can't even load the networks: a restart loop
X11_SOCKETS = "/tmp/.X11-unix"
_DIR_VAR = re.compile(r"^LIVEART_[A-Z0-9_]+_DIR$")


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
# C0 controls, DEL, C1 controls and the Unicode line and paragraph separators: a line break in
# a value would end the unit's line and start another (ExecStartPre=..., a second ExecStart=)
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def _shown(text: str, limit: int = 60) -> str:
    return repr(text if len(text) <= limit else text[:limit] + "...")


def refuse_control_chars(value: str, what: str) -> None:
    """UserError (one sentence) when `value` holds a control character."""
    if _CONTROL.search(value):
        raise UserError(f"liveart service install refuses {what} {_shown(value)}: it holds a "
                        "control character (a line break, tab or the like), which would "
                        "change the unit file's lines.")


def _systemd_quote(arg: str) -> str:
    """One ExecStart= word: `%` and `$` escaped (systemd expands them), quoted when needed."""
    arg = arg.replace("%", "%%").replace("$", "$$")
    if arg and not any(c in arg for c in " \t\"'\\;"):
        return arg
    return '"' + arg.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _quoted(text: str) -> str:
    """A systemd word where `$` means nothing (Environment=, ReadWritePaths=): `%` escaped (a
    specifier otherwise); double-quoted, backslash and quote escaped, when it needs it."""
    text = text.replace("%", "%%")
    if text and not any(c in text for c in " \t\"'\\"):
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _env_line(name: str, value: str) -> str:
    """`Environment=NAME=value` (quoted as a whole when needed: `"NAME=my value"`); systemd
    unquotes it and expands only specifiers (`%`), never `$`."""
    return f"Environment={_quoted(f'{name}={value}')}"


def _bind_source(path: str) -> str:
    """A BindReadOnlyPaths= source: '-' (a missing one is skipped), ':' escaped (it separates
    source and destination there)."""
    return "-" + path.replace("%", "%%").replace("\\", "\\\\").replace(":", "\\:")


def carried_env(env: Mapping[str, str]) -> dict[str, str]:
    """The variables the unit sets because the install's environment had them: every
    `LIVEART_*_DIR` (config, log, recordings, snapshots, styles, cache ...)."""
    return {name: value for name, value in sorted(env.items())
            if _DIR_VAR.match(name) and value.strip()}


def writable_dirs(extra: Sequence[str | os.PathLike] = ()) -> list[Path]:
    """The folders the show writes to, as this process's environment names them (the unit
    carries the LIVEART_*_DIR variables, so the service sees the same): its config (presets,
    last state, MIDI maps, and the default recordings, snapshots and styles folders inside it),
    its log folder, the recordings, snapshots and styles folders, and `extra` (--log's folder,
    record paths' folders). Absolute, without duplicates or folders inside another listed."""
    from .outputs.recording import recordings_dir
    from .snapshot import snapshots_dir
    from .stylefolder import styles_dir
    from .userdirs import config_dir, log_dir

    dirs: list[Path] = []
    for d in [config_dir(), log_dir(), recordings_dir(), snapshots_dir(), styles_dir(), *extra]:
        d = Path(os.path.abspath(os.path.expanduser(d)))
        if not any(d == o or o in d.parents for o in dirs):
            dirs = [o for o in dirs if d not in o.parents] + [d]
    return dirs


def parse_memory_max(text: str) -> str:
    """`--memory-max`: bytes with K, M, G or T (1024-based, as systemd reads them; a fraction
    like 1.5G too), a percentage of the RAM, or `infinity`; at least 512M. Returns the value as
    MemoryMax= takes it; UserError with one sentence otherwise."""
    value = str(text).strip()
    refuse_control_chars(value, "--memory-max")
    if value == "infinity":
        return value
    m = re.fullmatch(r"(\d{1,3}(?:\.\d{1,2})?)%", value)
    if m:
        if 0 < float(m.group(1)) <= 100:
            return value
        raise UserError(f"--memory-max {value} must be a share of the RAM above 0% and at most "
                        "100%.")
    m = re.fullmatch(r"(\d{1,15}(?:\.\d{1,6})?)([KMGTkmgt]?)", value)
    if not m:
        raise UserError(f"--memory-max takes a size like 4G, 2048M or 50%, not {_shown(value)}.")
    unit = m.group(2).upper()
    size = float(m.group(1)) * 1024 ** " KMGT".index(unit or " ")
    if size < MIN_MEMORY:
        raise UserError(f"--memory-max {value} is too little for liveart to load its networks; "
                        "give it at least 512M.")
    return m.group(1) + unit


def unit_text(run_args: Sequence[str], python: str | None = None,
              env: Mapping[str, str] | None = None, workdir: str | None = None,
              memory_max: str | None = None,
              write_paths: Sequence[str | os.PathLike] = ()) -> str:
    """The unit file's text. UserError when an argument, the interpreter's path, the working
    folder or a carried variable holds a control character."""
    env = os.environ if env is None else env
    python = os.path.abspath(python or sys.executable)
    workdir = os.path.abspath(workdir or os.getcwd())
    for arg in run_args:
        refuse_control_chars(arg, "the argument")
    refuse_control_chars(python, "the Python interpreter's path")
    refuse_control_chars(workdir, "the working folder")
    carried = carried_env(env)
    for name, value in carried.items():
        refuse_control_chars(value, f"${name}")
    display = env.get("DISPLAY") or ":0"
    wayland = env.get("WAYLAND_DISPLAY", "")
    for name, value in (("DISPLAY", display), ("WAYLAND_DISPLAY", wayland)):
        refuse_control_chars(value, f"${name}")
    memory_max = parse_memory_max(memory_max) if memory_max else None
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
        # not quoted: systemd takes WorkingDirectory= as it stands (specifiers aside)
        f"WorkingDirectory={workdir.replace('%', '%%')}",
        "Restart=always",
        f"RestartSec={RESTART_SEC}",
        f"WatchdogSec={WATCHDOG_SEC}",
        "TimeoutStartSec=180",  # loading the networks on a slow CPU, before READY=1
        "Environment=PYTHONUNBUFFERED=1",
    ]
    if sys.platform.startswith("linux"):
        # the X display the window opens on: this session's, else the usual first one
        lines.append(_env_line("DISPLAY", display))
        if wayland:
            lines.append(_env_line("WAYLAND_DISPLAY", wayland))
    lines += [_env_line(name, value) for name, value in carried.items()]
    lines += [
        "# sandbox: what a show on the desktop allows (cameras, GPU, sound and MIDI in /dev,",
        "# the display's and sound server's sockets all still work)",
        "NoNewPrivileges=yes",
        "PrivateTmp=yes",
        f"BindReadOnlyPaths={_bind_source(X11_SOCKETS)}",  # X11's sockets live in /tmp
    ]
    xauth = env.get("XAUTHORITY", "")
    if xauth.startswith("/tmp/") and not _CONTROL.search(xauth):  # some login managers' cookie
        lines.append(f"BindReadOnlyPaths={_bind_source(xauth)}")
    lines.append("ProtectSystem=strict")
    lines += [f"ReadWritePaths={_quoted('-' + str(d))}"  # '-': a missing one is skipped
              for d in writable_dirs([os.path.join(workdir, p) for p in write_paths])]
    lines.append(f"LimitNOFILE={LIMIT_NOFILE}")
    if memory_max:
        lines.append(f"MemoryMax={memory_max}")
    lines += ["", "[Install]", "WantedBy=default.target", ""]
    return "\n".join(lines)


def unit_path(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    xdg = env.get("XDG_CONFIG_HOME", "").strip()
    home = Path(env.get("HOME") or Path.home())
    base = Path(xdg) if xdg and os.path.isabs(xdg) else home / ".config"
    return base / "systemd" / "user" / UNIT_NAME


def check_run_args(run_args: Sequence[str]) -> argparse.Namespace:
    """The arguments must make a valid `liveart run --install ...` (UserError if not); returns
    them parsed."""
    from .cli import build_parser
    from .installation import Installation

    try:
        parsed = build_parser().parse_args(["run", "--install", *run_args])
        Installation(parsed)
    except UserError as e:
        msg = str(e).removeprefix("liveart: ").rstrip(".")
        raise UserError(f"The options after -- must suit `liveart run --install`: {msg}.") from None
    return parsed


def run_write_paths(parsed: argparse.Namespace) -> list[str]:
    """The folders a run's own options write to: --log FILE's, each record path's (as given:
    relative ones are relative to the working folder)."""
    from .outputs.registry import parse_outputs

    files = [parsed.log] if getattr(parsed, "log", None) else []
    try:
        specs = parse_outputs(getattr(parsed, "output", None), getattr(parsed, "record", None))
    except UserError:
        specs = []
    files += [s.arg for s in specs if s.kind == "record" and s.arg]
    return [os.path.dirname(os.path.expanduser(f)) or "." for f in files]


def _service_options(head: Sequence[str]) -> tuple[bool, str | None, list[str]]:
    """The service's own flags among what argparse handed over before `--` (see cmd_service):
    (--dry-run, --memory-max's value, the rest: the run's options)."""
    dry_run, memory_max, rest = False, None, []
    items = iter(head)
    for item in items:
        if item == "--dry-run":
            dry_run = True
        elif item == "--memory-max":
            memory_max = next(items, None)
            if memory_max is None:
                raise UserError("--memory-max takes a size, e.g. --memory-max 4G.")
        elif item.startswith("--memory-max="):
            memory_max = item.partition("=")[2]
        else:
            rest.append(item)
    return dry_run, memory_max, rest


def cmd_service(args) -> int:
    run_args = list(args.run_args or [])
    for arg in run_args:  # before anything parses them
        refuse_control_chars(arg, "the argument")
    # argparse hands over everything after `install` (REMAINDER): service flags, then `--`,
    # then the run's own options (`liveart run` has no --dry-run or --memory-max, so they can't
    # be among them)
    head, tail = ((run_args[:run_args.index("--")], run_args[run_args.index("--") + 1:])
                  if "--" in run_args else (run_args, []))
    dry_run, memory_max, rest = _service_options(head)
    dry_run = dry_run or args.dry_run
    memory_max = memory_max or getattr(args, "memory_max", None)
    if memory_max is not None:
        memory_max = parse_memory_max(memory_max)
    run_args = rest + tail
    parsed = check_run_args(run_args)
    text = unit_text(run_args, memory_max=memory_max, write_paths=run_write_paths(parsed))
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
    # ProtectSystem=strict: the show can't make its folders where the file system is read-only
    # to it, so they are made now (ReadWritePaths= lists them, and skips a missing one)
    for folder in writable_dirs([os.path.join(os.getcwd(), p)
                                 for p in run_write_paths(parsed)]):
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise UserError(f"Can't make {folder}, which the service writes to: "
                            f"{e.strerror or e}.") from None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_temps([path.parent])  # an earlier install killed mid-write
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
    svc.add_argument("--memory-max", metavar="SIZE",
                     help="the most memory the show may use, e.g. 4G, 2048M or 50%% of the RAM "
                     "(systemd's MemoryMax=; past it the show is killed and restarted)")
    svc.add_argument("run_args", nargs=argparse.REMAINDER, metavar="-- RUN ARGS",
                     help="after --: options for `liveart run --install`, e.g. "
                     "-- --source camera:1 --schedule 09:00-20:00")

