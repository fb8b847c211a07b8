"""--output specs, what `liveart run` makes of them, `liveart devices`' outputs section, and the
command line end to end."""
from __future__ import annotations

import json
import subprocess
import sys
from types import SimpleNamespace

import pytest

from liveart.errors import UserError
from liveart.outputs import registry
from liveart.outputs.registry import OutputSpec, parse_output, parse_outputs, plan_outputs, wants_window


@pytest.mark.parametrize("text,spec", [
    ("window", OutputSpec("window")),
    ("record:/tmp/a.mp4", OutputSpec("record", "/tmp/a.mp4")),
    ("record:C:/shows/a.mp4", OutputSpec("record", "C:/shows/a.mp4")),
    ("virtualcam", OutputSpec("virtualcam")),
    ("virtualcam:/dev/video10", OutputSpec("virtualcam", "/dev/video10")),
    ("ndi", OutputSpec("ndi")),
    ("ndi:Main stage", OutputSpec("ndi", "Main stage")),
    ("NDI:x", OutputSpec("ndi", "x")),
    ("spout:liveart", OutputSpec("spout", "liveart")),
    ("syphon", OutputSpec("syphon")),
])
def test_specs(text, spec):
    assert parse_output(text) == spec


@pytest.mark.parametrize("text", ["floppy", "", "window:2", "ndi:", "http://x", "recorder:a.mp4"])
def test_bad_spec_is_one_sentence_listing_the_kinds(text):
    with pytest.raises(UserError) as e:
        parse_output(text)
    msg = str(e.value)
    assert msg.startswith("--output must be one of window, record:PATH, virtualcam, ndi[:NAME], "
                          "spout[:NAME] or syphon[:NAME]") and msg.endswith(".")
    assert "\n" not in msg


def test_record_without_a_path():
    with pytest.raises(UserError, match="record needs a file"):
        parse_output("record")


def test_window_is_the_default_and_record_is_added():
    assert parse_outputs(None) == [OutputSpec("window")]
    assert parse_outputs(None, "a.mp4") == [OutputSpec("window"), OutputSpec("record", "a.mp4")]
    assert parse_outputs(["ndi", "ndi", "virtualcam"]) == [OutputSpec("ndi"), OutputSpec("virtualcam")]


def test_window_only_when_listed_or_by_default_and_never_headless():
    assert wants_window(parse_outputs(None))
    assert not wants_window(parse_outputs(None), headless=True)
    assert not wants_window(parse_outputs(["ndi"]))
    assert wants_window(parse_outputs(["ndi", "window"]))
    assert not wants_window(parse_outputs(["record:a.mp4"]))


def test_plan_the_first_record_is_the_shows_recording(tmp_path):
    checked = []
    args = SimpleNamespace(output=[f"record:{tmp_path}/a.mp4", f"record:{tmp_path}/b.mkv",
                                   "window"], record=None)
    rest = plan_outputs(args, check_path=checked.append)
    assert args.record == f"{tmp_path}/a.mp4"  # the same as --record: key C, OSC, sound
    assert rest == [OutputSpec("record", f"{tmp_path}/b.mkv"), OutputSpec("window")]
    assert checked == [f"{tmp_path}/a.mp4", f"{tmp_path}/b.mkv"]
    args = SimpleNamespace(output=None, record=f"{tmp_path}/c.mp4")  # --record alone
    assert plan_outputs(args) == [OutputSpec("window")] and args.record == f"{tmp_path}/c.mp4"


def test_plan_checks_availability_before_anything_starts(monkeypatch):
    from liveart.outputs import ndi

    monkeypatch.setattr(ndi, "_installed", lambda: False)
    with pytest.raises(UserError, match=r"pip install 'liveart\[ndi\]'"):
        plan_outputs(SimpleNamespace(output=["ndi:x"], record=None))


def test_availability_lists_every_kind_with_reason_and_command(monkeypatch):
    from liveart.devices import list_devices

    rows = {r["name"]: r for r in registry.availability()}
    assert list(rows) == ["window", "record:PATH", "virtualcam", "ndi[:NAME]", "spout[:NAME]",
                          "syphon[:NAME]"]
    for row in rows.values():
        assert set(row) == {"name", "usable", "reason", "enable"}
        assert row["usable"] or (row["reason"] and row["enable"])
    if sys.platform.startswith("linux"):
        assert not rows["spout[:NAME]"]["usable"] and "Windows" in rows["spout[:NAME]"]["reason"]
        assert not rows["syphon[:NAME]"]["usable"] and "macOS" in rows["syphon[:NAME]"]["reason"]
    found = list_devices()["outputs"]
    assert [r["name"] for r in found] == list(rows)
    assert all(r["description"].startswith(("usable", "unavailable")) for r in found)


def test_devices_prints_an_outputs_section(capsys):
    from liveart.cli import main

    assert main(["devices", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert {r["name"] for r in data["outputs"]} >= {"virtualcam", "ndi[:NAME]"}
    assert main(["devices"]) == 0
    text = capsys.readouterr().out
    section = text.split("outputs:", 1)[1]
    assert "virtualcam" in section and "spout[:NAME]" in section


# -- the command line, end to end -------------------------------------------------------------
def test_run_output_record_writes_a_video(tmp_path):
    import cv2

    out = tmp_path / "a.mp4"
    r = subprocess.run([sys.executable, "-m", "liveart", "run", "--headless", "--source",
                        "synthetic", "--size", "64x36", "--window", "128x72", "--seconds", "3",
                        "--output", f"record:{out}", "--no-osc", "--midi", "none", "--no-audio",
                        "--fresh"], capture_output=True, text=True, timeout=180)
    assert r.returncode == 0, r.stderr
    cap = cv2.VideoCapture(str(out))
    count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    ok, frame = cap.read()
    cap.release()
    assert count > 0 and ok and frame.shape == (72, 128, 3)
    assert "recorded" in r.stdout and str(out) in r.stdout


def test_run_bad_output_exits_2_with_one_sentence():
    r = subprocess.run([sys.executable, "-m", "liveart", "run", "--headless", "--source",
                        "synthetic", "--frames", "1", "--output", "floppy"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and r.stdout == ""
    lines = r.stderr.strip().splitlines()
    assert lines == ["liveart: --output must be one of window, record:PATH, virtualcam, "
                     "ndi[:NAME], spout[:NAME] or syphon[:NAME], not 'floppy'."]


def test_more_record_outputs_are_extra_files(tmp_path):
    """Headless, an extra record:PATH gets every frame (a blocking sink); live it is a worker
    on the slot whose Recorder drops rather than waits."""
    import cv2
    import numpy as np

    from liveart.engine import Output
    from liveart.slots import LatestSlot

    engine = SimpleNamespace(out_slot=LatestSlot(), sinks=[])
    path = tmp_path / "extra.avi"
    (sink,) = registry.start_outputs(engine, [f"record:{path}"],
                                     SimpleNamespace(fps=10.0, headless=True))
    assert isinstance(sink, registry.RecordSink) and len(engine.sinks) == 1
    for i in range(7):
        image = np.full((36, 64, 3), 30 * i, np.uint8)
        out = Output(image, i + 1)
        engine.out_slot.put(out)
        for s in list(engine.sinks):
            s(out)
    sink.stop()
    assert engine.sinks == [] and "recorded 7" in sink.summary()
    cap = cv2.VideoCapture(str(path))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) >= 7
    cap.release()

    live = registry.start_outputs(engine, [f"record:{tmp_path / 'live.mp4'}"],
                                  SimpleNamespace(fps=10.0, headless=False))
    assert isinstance(live[0], registry.OutputWorker)
    assert isinstance(live[0].backend, registry.RecorderBackend)
    assert live[0].backend.recorder.blocking is False
    registry.stop_outputs(live)
