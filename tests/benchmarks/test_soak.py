"""The soak benchmark's verdict: a heavy look that comes and goes is not a leak; creeping memory
and a slowdown are failures. (The soak itself runs for half an hour: a benchmark, not a test.)"""
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

SOAK = Path(__file__).resolve().parents[2] / "benchmarks" / "soak.py"


@pytest.fixture(scope="module")
def soak():
    spec = importlib.util.spec_from_file_location("soak", SOAK)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def rows(minutes=30, every_s=10, swing=28.0, creep_per_min=0.0, fps=(20.0, 20.0)):
    """Samples like the soak's: RSS swings up by `swing` MB for the 20 s of the heavy look in
    every 60 s round of morphs, and creeps by `creep_per_min`; fps goes linearly between two."""
    out = []
    n = int(minutes * 60 / every_s)
    for i in range(1, n + 1):
        t = i * every_s
        heavy = 20 <= t % 60 < 40
        base = 470.0 + creep_per_min * t / 60
        out.append({"minute": t / 60, "fps": fps[0] + (fps[1] - fps[0]) * i / n,
                    "rss_mb": base + (swing if heavy else 0), "gpu_mb": None,
                    "rss_max_mb": base + (swing if heavy else 0) + 1.0, "rss_min_mb": base})
    return out


def test_a_heavy_look_that_comes_and_goes_is_not_growth(soak):
    v = soak.judge(rows(swing=28.0), warmup_min=3)
    assert v["ok"], v["lines"]
    assert abs(v["rss_peak_growth_mb"]) < 1e-6 and len(v["rss_round_peaks_mb"]) == 27


def test_memory_that_creeps_fails(soak):
    v = soak.judge(rows(creep_per_min=1.5), warmup_min=3)  # 40 MB over the judged 27 minutes
    assert not v["ok"]
    assert v["rss_peak_growth_mb"] > 30 and "FAIL" in v["lines"][0]


def test_troughs_that_wander_are_reported_not_judged(soak):
    r = rows()
    for row in r[100:]:  # the allocator keeps 25 MB more between heavy looks from here on
        row["rss_min_mb"] += 25.0
    v = soak.judge(r, warmup_min=3)
    assert v["ok"] and v["rss_trough_growth_mb"] > 24 and "not judged" in v["lines"][0]


def test_a_single_late_spike_over_the_limit_fails(soak):
    r = rows()
    r[-30]["rss_max_mb"] = 470.0 + 28.0 + 1.0 + 35.0  # one late round peaks 35 MB higher
    v = soak.judge(r, warmup_min=3)
    assert not v["ok"] and v["rss_peak_growth_mb"] > 30


def test_a_slowdown_fails(soak):
    v = soak.judge(rows(fps=(20.0, 15.0)), warmup_min=3)
    assert not v["ok"] and v["fps_drop"] > 0.15 and "FAIL" in v["lines"][1]
    assert soak.judge(rows(fps=(20.0, 18.5)), warmup_min=3)["ok"]


def test_too_short_a_run_cannot_be_judged(soak):
    v = soak.judge(rows(minutes=4), warmup_min=3)
    assert not v["ok"] and "too few" in v["lines"][0]


def test_a_part_round_at_the_end_is_left_out(soak):
    groups = soak.rounds(rows(minutes=6.5), warmup_min=3, round_min=1.0)
    assert len(groups) == 3 and all(len(g) == 6 for g in groups)


def test_bad_arguments_get_one_sentence(soak):
    p = subprocess.run([sys.executable, str(SOAK), "--minutes", "1", "--warmup", "2"],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 2 and p.stderr.strip().count("\n") == 0 and "--warmup" in p.stderr


def test_a_saved_run_is_judged_again(soak, tmp_path):
    saved = tmp_path / "run.json"
    saved.write_text(json.dumps({"args": {"warmup": 3, "scene": "dream+style", "size": "256x144"},
                                 "rows": rows(creep_per_min=1.5)}))
    p = subprocess.run([sys.executable, str(SOAK), "--judge", str(saved)],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 1 and "FAIL" in p.stdout
    saved.write_text("{not json")
    p = subprocess.run([sys.executable, str(SOAK), "--judge", str(saved)],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 2 and p.stderr.startswith("soak: cannot read a saved run")
