"""The health report: a real HTTP status page on loopback, its JSON, the last logged error, and
/liveart/health/* over OSC."""
import json
import logging
import socket
import time
import urllib.error
import urllib.request
from types import SimpleNamespace

import pytest
import torch
from pythonosc.osc_message import OscMessage

from liveart.cli import main
from liveart.control.osc import OscOut
from liveart.errors import UserError
from liveart.health import (HealthReport, LastErrorHandler, StatusServer, rss_mb,
                            temperatures_c)
from liveart.params import ParamStore
from liveart.stats import StageStats

KEYS = {"version", "pid", "time", "started", "uptime_s", "fps", "frames", "tick_errors", "scene",
        "device", "size", "rss_mb", "temps_c", "temp_c", "cuda_mb", "last_error",
        "last_error_time", "notice", "schedule", "level", "dark"}


def fake_engine(frames=30):
    stats = StageStats()
    for _ in range(frames):
        stats.tick()
        time.sleep(0.001)
    return SimpleNamespace(stats=stats, errors=2, scene=SimpleNamespace(name="dream"),
                           device=torch.device("cpu"), size=(256, 144), dimmer=None, dark=False,
                           notice="No camera: showing the synthetic scene",
                           source=SimpleNamespace(notice=None))


@pytest.fixture
def thermal(tmp_path):
    for i, (kind, milli) in enumerate([("acpitz", "41000"), ("x86_pkg_temp", "58500")]):
        zone = tmp_path / f"thermal_zone{i}"
        zone.mkdir()
        (zone / "temp").write_text(milli + "\n")
        (zone / "type").write_text(kind + "\n")
    (tmp_path / "thermal_zone9").mkdir()  # unreadable / empty zones are skipped
    return str(tmp_path)


@pytest.fixture
def server(thermal):
    report = HealthReport(fake_engine(), thermal_root=thermal).hook_logging()
    srv = StatusServer(report, "127.0.0.1", 0).start()
    try:
        yield srv
    finally:
        srv.stop()
        report.unhook_logging()


def get(srv, path):
    with urllib.request.urlopen(f"http://127.0.0.1:{srv.port}{path}", timeout=5) as r:
        return r.status, r.headers["Content-Type"], r.read().decode()


def test_health_json_over_real_http(server):
    status, ctype, body = get(server, "/health.json")
    assert status == 200 and ctype == "application/json"
    h = json.loads(body)
    assert set(h) == KEYS
    assert h["frames"] == 30 and h["fps"] > 0 and h["tick_errors"] == 2
    assert h["scene"] == "dream" and h["device"] == "cpu" and h["size"] == "256x144"
    assert h["rss_mb"] > 10
    assert h["temps_c"] == {"acpitz": 41.0, "x86_pkg_temp": 58.5} and h["temp_c"] == 58.5
    assert h["cuda_mb"] is None and h["last_error"] == "" and h["last_error_time"] is None
    assert h["notice"].startswith("No camera") and h["level"] == 1.0 and h["dark"] is False


def test_an_error_logged_anywhere_becomes_the_last_error(server):
    logging.getLogger("liveart.somewhere").error("camera %d fell off the wall", 1)
    logging.getLogger("liveart.somewhere").warning("only a warning")  # not an error
    h = json.loads(get(server, "/health.json")[2])
    assert h["last_error"] == "camera 1 fell off the wall"
    assert h["last_error_time"].startswith(time.strftime("%Y-%m-%dT"))
    status, ctype, page = get(server, "/")
    assert status == 200 and ctype.startswith("text/html")
    assert "camera 1 fell off the wall" in page and "<h1>liveart: running</h1><p style='color:#f88'>last error (" in page
    assert "58.5" in page and "/health.json" in page


def test_unknown_paths_are_404(server):
    with pytest.raises(urllib.error.HTTPError) as e:
        get(server, "/admin")
    assert e.value.code == 404


def test_the_last_error_keeps_the_exception():
    h = LastErrorHandler()
    logger = logging.getLogger("liveart.test_health")
    logger.addHandler(h)
    try:
        try:
            raise RuntimeError("kernel exploded")
        except RuntimeError:
            logger.exception("tick failed (3 so far)")
    finally:
        logger.removeHandler(h)
    assert h.message == "tick failed (3 so far) (RuntimeError: kernel exploded)" and h.count == 1


def test_rss_and_this_machines_temperatures_read_without_error():
    assert rss_mb() > 10
    temps = temperatures_c()  # may be {} on a VM: never raises
    assert all(isinstance(v, float) for v in temps.values())


def test_a_taken_port_is_one_sentence():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        with pytest.raises(UserError) as e:
            StatusServer(HealthReport(), "127.0.0.1", s.getsockname()[1]).start()
    assert "--status-port" in str(e.value) and "\n" not in str(e.value)


def test_listening_beyond_loopback_warns(caplog):
    srv = StatusServer(HealthReport(), "0.0.0.0", 0)
    with caplog.at_level(logging.WARNING, logger="liveart.health"):
        srv.start()
    try:
        assert any("beyond this machine" in r.getMessage() for r in caplog.records)
    finally:
        srv.stop()


@pytest.mark.parametrize("port", ["70000", "-1"])
def test_a_bad_status_port_exits_2(port, capsys):
    assert main(["run", "--headless", "--status-port", port]) == 2
    err = capsys.readouterr().err.strip()
    assert "--status-port must be a port number from 0 to 65535" in err and "\n" not in err


def test_health_over_osc_once_a_second(thermal):
    listener = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    listener.bind(("127.0.0.1", 0))
    listener.settimeout(0.2)
    report = HealthReport(fake_engine(), thermal_root=thermal)
    logging.getLogger("liveart.x").addHandler(report.errors)
    logging.getLogger("liveart.x").error("projector 2 unplugged")
    logging.getLogger("liveart.x").removeHandler(report.errors)
    out = OscOut(ParamStore(), [("127.0.0.1", listener.getsockname()[1])])
    out.health_source = report.osc_values
    out.health_interval = 0.2
    got: dict[str, list] = {}
    with out:
        end = time.monotonic() + 3
        while time.monotonic() < end and len(got.get("/liveart/health/error", [])) < 3:
            try:
                m = OscMessage(listener.recv(65536))
            except (socket.timeout, Exception):  # noqa: BLE001 - parameter echoes too
                continue
            if m.address.startswith("/liveart/health/"):
                got.setdefault(m.address, []).append(m.params)
    listener.close()
    assert set(got) == {"/liveart/health/fps", "/liveart/health/rss_mb", "/liveart/health/temp_c",
                        "/liveart/health/error"}
    assert got["/liveart/health/temp_c"][0] == [pytest.approx(58.5)]
    assert got["/liveart/health/rss_mb"][0][0] > 10
    assert got["/liveart/health/error"][0] == ["projector 2 unplugged"]
    assert len(got["/liveart/health/error"]) >= 3  # repeated at the health interval


def test_no_temperature_no_temp_message(tmp_path):
    report = HealthReport(fake_engine(2), thermal_root=str(tmp_path))
    values = report.osc_values()
    if not values["temp_c"]:  # psutil may still find sensors on a real machine
        assert values["temp_c"] is None and values["error"] == ""
