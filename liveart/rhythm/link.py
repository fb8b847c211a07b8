"""Ableton Link: share tempo and beat with Live, Traktor, Resolume and every Link app on the
network, through `aalink` (the optional extra `liveart[link]`).

aalink's Link object wants a running asyncio loop, so a session runs one in a thread of its
own and creates the Link there; liveart only reads and writes its tempo and beat (thread-safe
through Link's app-thread API, serialised here by a lock) and never awaits its futures.
"""
from __future__ import annotations

import asyncio
import threading
import time

from ..errors import UserError

JOIN_TIMEOUT_S = 5.0


def link_available() -> str | None:
    """None when aalink can be imported, else one sentence why not (for `liveart devices`)."""
    try:
        import aalink  # noqa: F401
    except ImportError:
        return "Ableton Link needs aalink: pip install 'liveart[link]'."
    except OSError as e:  # a wheel for another platform's C++ runtime
        return f"Ableton Link's aalink could not load ({e})."
    return None


class LinkSession:
    """A member of the Link session on this network (enabled at once)."""

    def __init__(self, bpm: float = 120.0):
        why = link_available()
        if why is not None:
            raise UserError(why)
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._loop = asyncio.new_event_loop()
        self._link = None
        self._thread = threading.Thread(target=self._run, args=(float(bpm),), name="link",
                                        daemon=True)
        self._thread.start()
        if not self._ready.wait(JOIN_TIMEOUT_S) or self._link is None:
            raise UserError(f"Ableton Link did not start ({self._error or 'timed out'}).")

    def _run(self, bpm: float) -> None:
        asyncio.set_event_loop(self._loop)

        async def create():
            import aalink

            link = aalink.Link(bpm)
            link.enabled = True
            return link

        try:
            self._link = self._loop.run_until_complete(create())
        except Exception as e:  # noqa: BLE001 - reported by the constructor
            self._error = e
        self._ready.set()
        if self._link is not None:
            self._loop.run_forever()

    @property
    def peers(self) -> int:
        with self._lock:
            return int(self._link.num_peers)

    def tempo_and_beat(self, now: float | None = None) -> tuple[float, float]:
        """(the session's bpm, its beat now). Link's clock is its own: `now` is ignored (the
        beat is read at the moment of the call, which is the tick's)."""
        with self._lock:
            return float(self._link.tempo), float(self._link.beat)

    def set_tempo(self, bpm: float) -> None:
        with self._lock:
            self._link.tempo = float(bpm)

    def close(self) -> None:
        if self._link is not None:
            with self._lock:
                self._link.enabled = False
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=2.0)


def wait_for_peers(session: LinkSession, n: int = 1, timeout: float = 5.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if session.peers >= n:
            return True
        time.sleep(0.02)
    return False
