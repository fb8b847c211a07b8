"""Installation mode: what `liveart run --install` (and the options it turns on) adds to a show
that runs unattended in a room for months.

- full screen, HUD and notice bar hidden (H still shows them), mouse pointer hidden;
- the screen kept awake: SDL_VIDEO_ALLOW_SCREENSAVER=0 and, on X11, `xset s off s noblank`
  and `xset -dpms` (when xset is installed);
- the last state restored (as every run does; --install never implies --fresh);
- a rotating log (logfile.py) and the status page (health.py) on loopback;
- `--schedule`: black and no compute outside the opening hours (schedule.py, Engine.dimmer).

`--schedule`, `--log`, `--status-port` and the systemd notifications work without --install too.
"""
from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from typing import Any, Callable

from .health import DEFAULT_STATUS_PORT, HealthReport, StatusServer, check_status_port
from .logfile import close_log_file, log_path, open_log_file
from .schedule import parse_schedule
from .service import SdNotify

log = logging.getLogger(__name__)


def add_run_options(run) -> None:
    """`liveart run`'s installation options."""
    run.add_argument("--install", action="store_true",
                     help="installation mode: full screen, no HUD or pointer, screen kept awake, "
                     "rotating log, status page on 127.0.0.1:%d" % DEFAULT_STATUS_PORT)
    run.add_argument("--schedule", metavar="HH:MM-HH:MM[,...]",
                     help="show only in these hours (local time), e.g. 09:00-20:00 or "
                     "20:00-02:00; black and no compute outside them")
    run.add_argument("--schedule-fade", type=float, default=5.0, metavar="S",
                     help="seconds to fade in and out at the schedule's edges (default 5)")
    run.add_argument("--status-port", type=int, metavar="PORT",
                     help=f"HTTP status page port (default {DEFAULT_STATUS_PORT} with --install, "
                     "else none; 0: none)")
    run.add_argument("--status-host", default="127.0.0.1",
                     help="address the status page listens on (default 127.0.0.1)")
    run.add_argument("--log", metavar="FILE",
                     help="also log to FILE, rotated at 5 MB (with --install: liveart.log in "
                     "the log folder by default)")


def keep_screen_awake() -> list[str]:
    """Stop the screen saver and display power saving; returns what was done."""
    done = []
    os.environ["SDL_VIDEO_ALLOW_SCREENSAVER"] = "0"  # pygame/SDL: inhibit while the window is open
    done.append("SDL_VIDEO_ALLOW_SCREENSAVER=0")
    if os.environ.get("DISPLAY") and shutil.which("xset"):
        # X11 blanking and DPMS belong to the X server, not to SDL: switch them off too (two
        # calls: a server without the DPMS extension, like Xvfb, refuses -dpms)
        for cmd in (["xset", "s", "off", "s", "noblank"], ["xset", "-dpms"]):
            try:
                r = subprocess.run(cmd, timeout=5, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
                done.append(f"{' '.join(cmd)} (exit {r.returncode})")
            except (OSError, subprocess.SubprocessError) as e:
                log.debug("%s failed: %s", " ".join(cmd), e)
    return done


def watchdog_hook(engine: Any, notify: SdNotify) -> Callable[[], None]:
    """The engine's loop hook that pings systemd. The frame loop runs on its own thread and the
    window on the main one: a window stuck in the display driver would leave the loop pinging
    over a frozen screen, so the pings also need a window pass within two ping intervals."""
    def hook() -> None:
        beat = engine.presenter_beat
        within = 2 * (notify.interval or 0.0)
        alive = beat is None or not within or time.monotonic() - beat <= within
        notify.heartbeat(engine.stats.frames, alive)
    return hook


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


class Installation:
    """Made first (the options are checked; nothing else happens), then `open_log()`, started
    with the engine once the other controls run (dimmer, watchdog hook, status page) and
    stopped with them (STOPPING=1 to systemd)."""

    def __init__(self, args: Any):
        self.args = args
        if args.status_port is not None:
            check_status_port(args.status_port)
        self.schedule = (parse_schedule(args.schedule, args.schedule_fade)
                         if args.schedule else None)
        if args.install:
            args.fullscreen = True
        port = args.status_port
        self.status_port = (DEFAULT_STATUS_PORT if args.install else 0) if port is None else port
        self.log_handler: logging.Handler | None = None
        self.report = HealthReport(schedule=self.schedule)
        self.notify = SdNotify()
        self.status: StatusServer | None = None
        self._old_sigterm = None

    def open_log(self) -> "Installation":
        """The rotating log, with --install or --log: opened before the show loads, so the
        file has all of it."""
        if (self.args.install or self.args.log) and self.log_handler is None:
            self.log_handler = open_log_file(log_path(self.args.log))
            log.info("liveart %s: logging to %s", " ".join(sys.argv[1:]),
                     log_path(self.args.log))
        return self

    def start(self, engine: Any) -> "Installation":
        try:
            self._attach(engine)
            if self.status_port:
                self.status = StatusServer(self.report, self.args.status_host,
                                           self.status_port).start()
        except Exception:  # e.g. the port is taken: undo what was done before saying so
            self.stop()
            raise
        return self

    def _attach(self, engine: Any) -> None:
        args = self.args
        if args.install and not args.headless:
            log.info("keeping the screen awake: %s", "; ".join(keep_screen_awake()))
        self.report.hook_logging()
        self.report.engine = engine
        if self.schedule is not None:
            engine.dimmer = self.schedule.dimmer()
            log.info("schedule %s (fade %g s): now at %.0f%%", self.schedule.text,
                     self.schedule.fade, 100 * engine.dimmer())
        if ((args.install or self.notify.enabled)
                and threading.current_thread() is threading.main_thread()):
            # `systemctl stop` sends SIGTERM: end as Ctrl+C does, so the state is saved and
            # STOPPING=1 sent (Python's default would end the process on the spot)
            self._old_sigterm = signal.signal(signal.SIGTERM, _interrupt)
        if self.notify.enabled:
            engine.loop_hooks.append(watchdog_hook(engine, self.notify))
            log.info("systemd: notifying %s%s", os.environ.get("NOTIFY_SOCKET"),
                     f", watchdog ping every {self.notify.interval:.1f} s"
                     if self.notify.interval else "")

    def stop(self) -> None:
        if self.status is not None:
            self.status.stop()
            self.status = None
        self.notify.stopping()
        if self._old_sigterm is not None:
            signal.signal(signal.SIGTERM, self._old_sigterm)
            self._old_sigterm = None
        self.report.unhook_logging()
        if self.log_handler is not None:
            close_log_file(self.log_handler)
            self.log_handler = None
