"""Saves under attack and on a dying disk (findings 6 and 7 of a hostile test of a running show):
a symlink planted where a temporary file goes is never followed; a real full disk (a tiny
tmpfs) keeps the old files, leaves no temporary file and says one sentence; a disk that flaps
between full and not is said at most once a minute; a killed save's leftover that is still
young when systemd restarts the show is cleared once it is old enough."""
from __future__ import annotations

import errno
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time

import pytest

from liveart import atomic
from liveart.atomic import TEMP_NAME, write_atomic
from liveart.params import ParamStore

pytestmark = pytest.mark.skipif(os.name == "nt", reason="symlinks, umask and tmpfs are POSIX")


# -- 7: a planted symlink --------------------------------------------------------------------
def _names(*names):
    """tempfile's random names, made predictable: mkstemp takes them in this order."""
    return lambda: iter(names)


def test_a_symlink_planted_at_a_temporary_name_is_never_followed(user_config, tmp_path,
                                                                 monkeypatch):
    from liveart import scenes  # noqa: F401  (declares the parameters a preset holds)
    from liveart.laststate import remove_unfinished_saves
    from liveart.presets import load_preset, save_preset

    outside = tmp_path / "outside" / "precious.txt"  # what an attacker wants overwritten
    outside.parent.mkdir()
    outside.write_bytes(b"not liveart's to touch\n")
    presets = user_config / "presets"
    presets.mkdir()
    pid = os.getpid()
    planted = [presets / "look.toml.tmp", presets / ".look.toml.tmp",  # fixed names of old
               presets / f".look.toml.{pid}.planted0.liveart.tmp"]  # the next random name
    for link in planted:
        link.symlink_to(outside)
    dangling = presets / f".look.toml.{pid}.dangling.liveart.tmp"  # would create a file
    dangling.symlink_to(tmp_path / "outside" / "new")
    monkeypatch.setattr(tempfile, "_get_candidate_names", _names("planted0", "dangling",
                                                                 "fresh001"))
    path = save_preset("look", {"dream.octaves": 3})
    assert outside.read_bytes() == b"not liveart's to touch\n"
    assert not (tmp_path / "outside" / "new").exists()
    assert load_preset("look")[0]["dream.octaves"] == 3 and not path.is_symlink()
    # the start-up cleanup leaves links alone (not liveart's files) and never follows them
    for link in planted:
        os.utime(link, (0, 0), follow_symlinks=False)
    remove_unfinished_saves()
    assert all(link.is_symlink() for link in planted)
    assert outside.read_bytes() == b"not liveart's to touch\n"


def test_a_snapshot_never_follows_a_planted_symlink_either(tmp_path, cat, monkeypatch):
    from liveart.snapshot import write_png

    outside = tmp_path / "precious.png"
    outside.write_bytes(b"mine")
    shots = tmp_path / "snaps"
    shots.mkdir()
    (shots / f".shot.png.{os.getpid()}.planted0.liveart.tmp").symlink_to(outside)
    (shots / "shot.png.tmp").symlink_to(outside)
    monkeypatch.setattr(tempfile, "_get_candidate_names", _names("planted0", "fresh001"))
    write_png(shots / "shot.png", cat, '{"params": {}, "scene": "dream"}')
    assert outside.read_bytes() == b"mine" and (shots / "shot.png").stat().st_size > 1000


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_a_new_file_gets_the_mode_the_umask_gives_not_mkstemps_0600(umask, mode, tmp_path):
    old = os.umask(umask)
    try:
        path = write_atomic(tmp_path / "new.toml", "a = 1\n")
    finally:
        os.umask(old)
    assert (path.stat().st_mode & 0o777) == mode


# -- 6: a real full disk ---------------------------------------------------------------------
# Runs in a private mount namespace (unshare -rm) over a 64 kB tmpfs that it fills: the real
# kernel's ENOSPC, at whichever call the kernel chooses, not a simulated one.
FULL_DISK = textwrap.dedent(r'''
    import json, logging, os, sys
    from pathlib import Path
    folder = Path(sys.argv[1])
    os.environ["LIVEART_CONFIG_DIR"] = str(folder)
    records = []
    class Keep(logging.Handler):
        def emit(self, record):
            records.append([record.levelname, record.getMessage(), bool(record.exc_info)])
    logging.getLogger().addHandler(Keep())
    logging.getLogger().setLevel(logging.INFO)
    import numpy as np
    from liveart import params
    from liveart.errors import UserError
    for i in range(20):
        params.declare(f"full.p{i:02d}", "str", "", "a parameter of the full disk test")
    from liveart.laststate import LastStateSaver, last_state_path
    from liveart.presets import save_preset
    from liveart.snapshot import write_png

    class Mods:
        def as_dicts(self):
            return []
    class Store:  # what the saver reads
        mods = Mods()
        values = {}
        def targets(self):
            return dict(self.values)
    store = Store()
    saver = LastStateSaver(store)  # its save(), as the 2 s timer calls it; all of this takes
    def state(n):                  # well under the minute in which a problem is said once
        return {f"full.p{i:02d}": f"{n}-" * 100 for i in range(20)}
    store.values = state(0)
    saver.save()
    save_preset("look", state(0))
    picture = np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8)
    write_png(folder / "shot.png", picture, '{"params": {}, "scene": "dream"}')
    before = {str(p): p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    def fill():
        fd = os.open(folder / "filler", os.O_WRONLY | os.O_CREAT | os.O_APPEND)
        try:
            while True:
                os.write(fd, b"x" * 4096)
        except OSError:
            pass
        os.close(fd)
    fill()
    said = {}
    try:
        save_preset("look", state(1))
    except UserError as e:
        said["preset"] = str(e)
    try:
        write_png(folder / "shot.png", picture[::-1].copy(), '{"params": {}, "scene": "x"}')
    except UserError as e:
        said["png"] = str(e)
    def ticks(first, n):
        for k in range(first, first + n):  # the state changing every tick
            store.values = state(k)
            saver.save()
    ticks(1, 15)
    after = {str(p): p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    os.unlink(folder / "filler")  # room for a moment: one save gets through
    ticks(16, 1)
    fill()  # and full again, in the same minute
    ticks(17, 14)
    os.unlink(folder / "filler")
    ticks(31, 1)
    print(json.dumps({"said": said, "records": records,
                      "unchanged": all(after.get(k) == v for k, v in before.items()),
                      "left": sorted(set(after) - set(before) - {str(folder / "filler")}),
                      "saved": last_state_path().read_text().count("31-") > 0}))
''')


def _can_mount_tmpfs() -> bool:
    if not sys.platform.startswith("linux") or not shutil.which("unshare"):
        return False
    try:
        probe = subprocess.run(["unshare", "-rm", "sh", "-c",
                                "mount -t tmpfs -o size=64k tmpfs /mnt 2>/dev/null || "
                                "mount -t tmpfs -o size=64k tmpfs /tmp"],
                               capture_output=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return probe.returncode == 0


def test_a_real_full_disk_keeps_the_old_files_leaves_no_temporary_file_and_says_it_once(
        tmp_path):
    if not _can_mount_tmpfs():
        pytest.skip("no private mount namespace here (unshare -rm) to make a full tmpfs in")
    folder = tmp_path / "full"
    folder.mkdir()
    script = tmp_path / "full.py"
    script.write_text(FULL_DISK)
    run = subprocess.run(
        ["unshare", "-rm", "sh", "-c", 'mount -t tmpfs -o size=64k tmpfs "$1" && '
         'exec "$2" "$3" "$1"', "sh", str(folder), sys.executable, str(script)],
        capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "Traceback" not in run.stderr, run.stderr[-3000:]
    got = json.loads(run.stdout.splitlines()[-1])
    assert got["unchanged"] and got["left"] == [], got  # the old files, and no .tmp left
    assert got["said"]["preset"] == (f"Could not save preset 'look' to {folder}/presets/"
                                     "look.toml: No space left on device.")
    assert got["said"]["png"] == f"Could not write {folder}/shot.png: No space left on device."
    warnings = [r for r in got["records"] if r[0] == "WARNING"]
    assert len(warnings) == 1, warnings  # 29 failed ticks in a minute, full twice: once
    level, text, traceback = warnings[0]
    assert text.startswith("Could not save the state to ") and "No space left" in text
    assert "\n" not in text and not traceback
    assert len([r for r in got["records"] if "saved to" in r[1] and "again" in r[1]]) == 1
    assert got["saved"]  # and the state written once there was room


# -- 6: a disk that comes and goes -----------------------------------------------------------
class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def _failing_replace(problems):
    """os.replace that raises the next of `problems` (an errno, or None: works)."""
    real = os.replace
    it = iter(problems)

    def replace(a, b):
        code = next(it)
        if code is None:
            return real(a, b)
        raise OSError(code, os.strerror(code))

    return replace


def _ticks(saver, store, clock, n):
    for i in range(n):
        store.set("dream.mix", (i + 1) / 1000)  # the state changes: every tick saves
        saver.save()
        clock.now += 2.0  # the saver's 2 s timer


def test_a_disk_that_flaps_between_full_and_not_is_said_once_a_minute(user_config,
                                                                      monkeypatch, caplog):
    from liveart import scenes  # noqa: F401
    from liveart.laststate import LastStateSaver

    store, clock = ParamStore(), Clock()
    saver = LastStateSaver(store, clock=clock)
    monkeypatch.setattr(atomic.os, "replace",
                        _failing_replace([errno.ENOSPC, None] * 30))  # two minutes of it
    with caplog.at_level(logging.INFO, logger="liveart"):
        _ticks(saver, store, clock, 60)
    said = [(r.levelno, r.getMessage()) for r in caplog.records if r.name == "liveart.laststate"]
    warnings = [m for lvl, m in said if lvl == logging.WARNING]
    again = [m for lvl, m in said if lvl == logging.INFO and "again" in m]
    assert len(warnings) == 2 and len(again) == 2, said  # not 30 of each
    assert "No space left on device" in warnings[0]
    assert "failed 14 more times" in warnings[1]  # every other tick of the minute between
    assert all("\n" not in m and m.endswith(".") for m in warnings)
    assert all(r.exc_info is None for r in caplog.records)
    assert [p for p in user_config.iterdir() if TEMP_NAME.match(p.name)] == []


def test_two_problems_taking_turns_are_each_said_once_a_minute(user_config, monkeypatch,
                                                               caplog):
    from liveart import scenes  # noqa: F401
    from liveart.laststate import LastStateSaver

    store, clock = ParamStore(), Clock()
    saver = LastStateSaver(store, clock=clock)
    monkeypatch.setattr(atomic.os, "replace",
                        _failing_replace([errno.ENOSPC, errno.EROFS] * 15 + [None]))
    with caplog.at_level(logging.INFO, logger="liveart"):
        _ticks(saver, store, clock, 31)  # 58 s of failing, then it works
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2, warnings
    assert "No space left" in warnings[0] and "Read-only file system" in warnings[1]
    assert [r.getMessage() for r in caplog.records if "again" in r.getMessage()]


# -- 6: a killed save's leftover -------------------------------------------------------------
def test_a_leftover_still_young_at_a_restart_is_cleared_once_it_is_a_minute_old(
        user_config, monkeypatch, tmp_path):
    from liveart import laststate
    from liveart.laststate import LastStateSaver

    snaps = tmp_path / "snaps"
    monkeypatch.setenv("LIVEART_SNAPSHOTS_DIR", str(snaps))
    (user_config / "midi").mkdir()
    snaps.mkdir()
    now = time.time()
    # kill -9 in a snapshot save; systemd starts the show again 3 s later (RestartSec=3)
    young = snaps / ".liveart-20260101-101010-000.png.4242.k2j_9x0q.liveart.tmp"
    foreign = snaps / ".holiday.jpg.4242.k2j_9x0q.tmp"  # another program's, in a shared folder
    half_minute = user_config / ".last-state.toml.4243.abcdef01.tmp"  # older, not yet a minute
    midi = user_config / "midi" / ".nanokontrol2.toml.77.zz_9a0b1.liveart.tmp"  # an hour old
    ours = user_config / f".last-state.toml.{os.getpid()}.inflight.liveart.tmp"  # this run's
    for path, age in ((young, 3), (half_minute, 45), (midi, 3600), (ours, 3), (foreign, 3600)):
        path.write_bytes(b"half a save")
        os.utime(path, (now - age, now - age))
    clock = Clock()
    saver = LastStateSaver(ParamStore(), every=3600, clock=clock).start()
    try:
        assert young.exists() and half_minute.exists()  # maybe a save in progress elsewhere
        assert not midi.exists()
        for path in (young, half_minute, ours):  # time passes: they are untouched for 90 s
            os.utime(path, (now - 90, now - 90))
        saver.sweep()
        assert young.exists()  # not yet the time for the sweep
        clock.now += laststate.SWEEP_FIRST
        saver.sweep()
        assert not young.exists() and not half_minute.exists()
        assert ours.exists()  # this process's own save may still be waiting on the disk
        assert foreign.exists()  # not liveart's to remove
    finally:
        saver.stop()
