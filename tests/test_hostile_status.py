"""The installation's status page (liveart.health.StatusServer) against hostile clients: DNS
rebinding, hundreds of slow clients, a client that sends a byte at a time, a request that fails.
The real server on loopback; each problem is refused, counted and logged at most once per
interval, and the page goes on answering."""
from __future__ import annotations

import http.client
import socket
import threading
import time

import pytest

from liveart.health import STATUS_MAX_CONNECTIONS, HealthReport, StatusServer

from .conftest import wait_for


@pytest.fixture
def status():
    started = []

    def start(**limits) -> StatusServer:
        srv = StatusServer(HealthReport(), "127.0.0.1", 0, **limits).start()
        started.append(srv)
        return srv

    yield start
    for srv in started:
        srv.stop()


def get(srv, path: str = "/health.json", headers: dict | None = None) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=5)
    try:
        conn.request("GET", path, headers=headers or {})
        r = conn.getresponse()
        r.read()
        return r.status
    finally:
        conn.close()


def answers(srv) -> bool:
    try:
        return get(srv) == 200
    except (http.client.HTTPException, OSError):
        return False


def lines(caplog, text: str) -> int:
    return sum(text in r.getMessage() for r in caplog.records)


def test_host_must_name_this_machine(status, caplog):
    """DNS rebinding: a page at evil.example (resolving to 127.0.0.1) reads the page."""
    srv = status()
    for _ in range(20):
        assert get(srv, headers={"Host": f"evil.example:{srv.port}"}) == 403
    assert srv.refusals["host"] == 20
    assert lines(caplog, "for Host 'evil.example:") == 1
    for host in (f"127.0.0.1:{srv.port}", f"localhost:{srv.port}", socket.gethostname(),
                 f"{socket.gethostname().split('.')[0]}.local", None):
        assert get(srv, headers={"Host": host} if host else None) == 200, host


def slow_clients(port: int, count: int) -> list[socket.socket]:
    """Clients that start a request and never finish it."""
    socks = []
    for _ in range(count):
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        try:
            s.send(b"GET / HTTP/1.1\r\n")
        except OSError:  # refused already
            pass
        socks.append(s)
    return socks


def test_slow_clients_take_a_bounded_number_of_threads(status, caplog):
    """900 slow clients made 216 threads (one per connection, no timeout) before."""
    srv = status()
    threads_before = threading.active_count()
    socks = slow_clients(srv.port, 300)
    time.sleep(1.0)
    threads = threading.active_count() - threads_before
    refused = getattr(srv, "refusals", {}).get("connections", 0)
    print(f"300 slow clients: {threads} more threads, {refused} refused")
    try:
        assert threads <= STATUS_MAX_CONNECTIONS + 2, threads
        assert srv.refusals["connections"] >= 300 - STATUS_MAX_CONNECTIONS - 20
        assert lines(caplog, "status page: refused a connection") == 1
    finally:
        for s in socks:
            s.close()
    wait_for(lambda: answers(srv), timeout=5, what="the page answering again")


def test_a_connection_gets_a_deadline(status):
    srv = status(deadline=1.0, timeout=5.0)
    s = socket.create_connection(("127.0.0.1", srv.port))
    s.settimeout(0.2)
    t0, closed = time.monotonic(), False
    while time.monotonic() - t0 < 5 and not closed:
        try:
            s.send(b"G")  # a byte at a time: each read is quick, the request never ends
            closed = s.recv(1) == b""
        except socket.timeout:
            continue
        except OSError:
            closed = True
    took = time.monotonic() - t0
    s.close()
    print(f"a byte-at-a-time client was closed after {took:.1f} s")
    assert closed and took < 3.0
    assert srv.refusals["deadline"] == 1
    assert get(srv) == 200


def test_slow_clients_dont_keep_the_page_from_answering(status):
    srv = status(deadline=1.0, timeout=5.0, max_connections=8)
    socks = slow_clients(srv.port, 50)  # they hold every slot, then the deadline frees them
    try:
        wait_for(lambda: answers(srv), timeout=4, what="the page answering again")
    finally:
        for s in socks:
            s.close()


def test_a_failing_request_is_one_line_not_a_traceback(status, caplog, capfd, monkeypatch):
    srv = status()

    def broken():
        raise RuntimeError("no snapshot")

    monkeypatch.setattr(srv.report, "snapshot", broken)
    for _ in range(10):
        with pytest.raises((http.client.HTTPException, OSError)):
            get(srv)
    assert "Traceback" not in capfd.readouterr().err
    assert lines(caplog, "status page: a request from 127.0.0.1 failed (RuntimeError: no "
                         "snapshot)") == 1
    monkeypatch.undo()
    assert get(srv) == 200
