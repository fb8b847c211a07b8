"""Every save is atomic: a process killed mid-save (SIGKILL, at a random moment) leaves the old
file or the new one, never half; a broken last state is moved aside at start and the show
starts from the defaults; unfinished saves' temporary files are cleared at start; a failing
disk keeps the old file, leaves no temporary file and is said once."""
from __future__ import annotations

import errno
import io
import logging
import os
import random
import select
import signal
import subprocess
import sys
import time
import tomllib
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from liveart import atomic
from liveart.atomic import TEMP_NAME, remove_stale_temps, write_atomic
from liveart.errors import UserError
from liveart.params import ParamStore

pytestmark = pytest.mark.skipif(os.name == "nt", reason="SIGKILL and fsync of folders are POSIX")

# The child saves the same file over and over, alternating between two versions, until it is
# killed. It first writes both versions to refs/ (the bytes the target may hold) and the first
# one to the target, then says "ready".
#
# Every write the saver makes is slowed down: 16 kB pieces, each flushed to the OS, with a
# short sleep between. Without that a save is one fast write() call and a kill at a random
# moment would rarely land inside it, so an in-place writer (open, truncate, write) would pass
# by luck; with it, most kills land mid-write. The real save functions and the real OS calls
# still do all the writing; only the module's open() is wrapped.
CHILD = r'''
import io, os, shutil, sys, time
from pathlib import Path

mode, target, refs = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])

import liveart.atomic as atomic

class Slow(io.BufferedWriter):
    def write(self, data):
        view = memoryview(data).cast("B")
        for i in range(0, len(view), 16384):
            super().write(view[i:i + 16384])
            super().flush()
            time.sleep(0.0005)
        return len(view)

atomic.open = lambda file, mode="r", *a, **k: Slow(io.FileIO(file, mode))

def declare():
    # the registry decides what a preset holds; the scenes' parameters would need torch
    # (1.5 s a start), so the child declares 300 of its own, with long values
    from liveart import params
    for i in range(300):
        params.declare(f"kill.p{i:03d}", "str", "", "a parameter of the kill test")
    return [{f"kill.p{i:03d}": f"{v}{i}-" * 200 for i in range(300)} for v in "AB"]

if mode == "preset":
    from liveart.presets import write_preset
    versions = declare()
    texts = ["A" * 100_000, "B" * 90_000]  # long descriptions: the two differ in size too
    def save(n, path=target):
        write_preset(path, versions[n], texts[n])
    for n in (0, 1):
        save(n, refs / f"{n}")
elif mode == "png":
    import numpy as np
    from liveart.snapshot import write_png
    rng = np.random.default_rng(0)  # noise: PNG can't shrink it, ~440 kB a picture
    pictures = [rng.integers(0, 256, (384, 384, 3), dtype=np.uint8) for _ in "AB"]
    states = ['{"version": "A"}', '{"version": "B", "pad": "' + "x" * 5000 + '"}']
    def save(n, path=target):
        write_png(path, pictures[n], states[n])
    for n in (0, 1):
        save(n, refs / f"{n}")
elif mode == "laststate":
    from liveart.laststate import LastStateSaver, last_state_path
    assert last_state_path() == target
    versions = declare()
    class Mods:
        def as_dicts(self):
            return []
    class Store:  # the saver reads targets() and mods only (a stand-in, to stay light)
        values = {}
        mods = Mods()
        def targets(self):
            return dict(self.values)
    store = Store()
    saver = LastStateSaver(store)  # its save(), as the 2 s timer and the exit call it
    def save(n, path=None):
        store.values = versions[n]
        saver.save()
    for n in (0, 1):
        save(n)
        shutil.copyfile(target, refs / f"{n}")
start = time.monotonic()
save(0)
print(f"ready {time.monotonic() - start:.4f}", flush=True)  # how long one save takes here
n = 1
while True:
    save(n)
    n = 1 - n
'''


def _wait_ready(proc: subprocess.Popen, timeout: float = 30.0) -> float:
    """Wait for the child's "ready SECONDS"; returns how long one of its saves takes."""
    end = time.monotonic() + timeout
    line = b""
    while not line.endswith(b"\n"):
        ready, _, _ = select.select([proc.stdout], [], [], max(0.0, end - time.monotonic()))
        if not ready:
            proc.kill()
            raise AssertionError("the saving child never said ready")
        chunk = os.read(proc.stdout.fileno(), 64)
        if not chunk:
            proc.wait()
            raise AssertionError(f"the saving child died: {proc.stderr.read().decode()[-2000:]}")
        line += chunk
    word, seconds = line.split()
    assert word == b"ready", line
    return float(seconds)


def check_preset(data: bytes) -> None:
    table = tomllib.loads(data.decode("utf-8"))
    assert len(table["kill"]) == 300 and len(table["description"]) >= 90_000


def check_state(data: bytes) -> None:
    table = tomllib.loads(data.decode("utf-8"))
    assert len(table["kill"]) == 300 and table["description"].startswith("the state liveart")


def check_png(data: bytes) -> None:
    with Image.open(io.BytesIO(data)) as im:
        im.load()  # decodes every pixel: a truncated PNG raises here
        assert im.size == (384, 384) and im.info["liveart"].startswith('{"version": ')


def kill_loop(mode: str, target: Path, iterations: int, tmp_path: Path, check) -> Counter:
    """Start the child `iterations` times, SIGKILL it at a random moment of its saving, and
    check the target is each time exactly one of the two versions and `check` accepts it."""
    refs = tmp_path / f"refs-{mode}"
    refs.mkdir()
    rng = random.Random()
    outcomes: Counter = Counter()
    versions: list[bytes] = []
    for i in range(iterations):
        proc = subprocess.Popen([sys.executable, "-c", CHILD, mode, str(target), str(refs)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            one_save = _wait_ready(proc)
            if not versions:
                versions = [(refs / "0").read_bytes(), (refs / "1").read_bytes()]
                assert versions[0] != versions[1]
            # any moment of the next two saves (of version 1, then 0), however fast this
            # machine saves: each version is then the outcome about half the time
            time.sleep(rng.uniform(0.0, 2 * one_save))
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            proc.stdout.close()
            proc.stderr.close()
        assert proc.returncode == -signal.SIGKILL
        data = target.read_bytes()
        assert data in versions, (f"kill {i + 1}: {target.name} is {len(data)} bytes, neither "
                                  f"the old version ({len(versions[0])}) nor the new "
                                  f"({len(versions[1])})")
        check(data)
        outcomes[versions.index(data)] += 1
        temps = sorted(p for p in target.parent.iterdir() if TEMP_NAME.match(p.name))
        outcomes["killed mid-save"] += bool(temps)
        assert sorted(remove_stale_temps([target.parent], older_than=0)) == temps
    print(f"{mode}: {iterations} kills, {dict(outcomes)}")
    return outcomes


@pytest.mark.parametrize("mode, iterations", [("preset", 16), ("png", 12), ("laststate", 12)])
def test_a_save_killed_at_any_moment_leaves_the_old_or_the_new_file(mode, iterations, tmp_path,
                                                                     user_config):
    if mode == "laststate":
        target, check = user_config / "last-state.toml", check_state
    else:
        target = tmp_path / ("look.png" if mode == "png" else "look.toml")
        check = check_png if mode == "png" else check_preset
    outcomes = kill_loop(mode, target, iterations, tmp_path, check)
    # the kills really landed inside saves (a temporary file was left), and both versions
    # were seen (the saves did replace the file; all alike by chance: 2 in 2**iterations)
    assert outcomes["killed mid-save"] >= iterations // 3, outcomes
    assert outcomes[0] and outcomes[1], outcomes


# -- a broken last state at start ------------------------------------------------------------
def _saved_state(user_config: Path) -> bytes:
    from liveart import scenes  # noqa: F401  (declares the scene parameters)
    from liveart.laststate import last_state_path
    from liveart.presets import write_preset

    write_preset(last_state_path(), {"dream.octaves": 2, "dream.guide": "tabby cat",
                                     "dream.mix": 0.25})
    return last_state_path().read_bytes()


def _broken(user_config: Path) -> list[Path]:
    return sorted(user_config.glob("last-state.toml.broken-*"))


def test_a_truncated_last_state_is_moved_aside_and_a_real_run_starts_from_defaults(user_config):
    good = _saved_state(user_config)
    cut = good[:good.index(b'"tabby') + 4]  # half a string: what a non-atomic save could leave
    (user_config / "last-state.toml").write_bytes(cut)
    stale = user_config / ".last-state.toml.4242.0badc0de.tmp"  # a killed save's leftover
    stale.write_bytes(good[:100])
    os.utime(stale, (time.time() - 3600,) * 2)
    run = subprocess.run([sys.executable, "-m", "liveart", "run", "--headless", "--source",
                          "synthetic", "--frames", "3", "--size", "64x36", "--no-osc"],
                         capture_output=True, text=True, timeout=240)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "Traceback" not in run.stderr
    said = [line for line in run.stderr.splitlines() if "saved state" in line]
    assert len(said) == 1 and "moved to" in said[0] and said[0].endswith("defaults."), said
    (aside,) = _broken(user_config)
    assert str(aside) in said[0] and aside.read_bytes() == cut  # kept as it was, for a look
    assert not stale.exists()
    # the show saved its own state at exit: a good file again, from the defaults
    assert tomllib.loads((user_config / "last-state.toml").read_text())["dream"]["octaves"] != 2


@pytest.mark.parametrize("content", [
    b"\x00\xff\xfe garbage \x89PNG\r\n",           # not text
    b"[dream\noctaves = ",                           # not TOML
    b"<html>not a state</html>\n",                   # text, not TOML
], ids=["binary", "truncated", "html"])
def test_an_unusable_last_state_is_moved_aside_once_with_one_sentence(content, user_config,
                                                                      caplog):
    from liveart import scenes  # noqa: F401
    from liveart.laststate import last_state_path, load_last_state

    last_state_path().write_bytes(content)
    with caplog.at_level(logging.INFO, logger="liveart"):
        assert load_last_state() == {}
        assert load_last_state() == {}  # the next start: nothing left to complain about
    (warning,) = [r for r in caplog.records if r.levelno >= logging.WARNING]
    text = warning.getMessage()
    assert warning.exc_info is None and "\n" not in text and text.endswith("defaults.")
    (aside,) = _broken(user_config)
    assert f"moved to {aside}" in text and aside.read_bytes() == content
    assert not last_state_path().exists()


@pytest.mark.parametrize("content, bad", [
    (b"[dream]\noctaves = 999\nmix = 0.25\n", ["dream.octaves"]),             # out of range
    (b"[dream]\nno_such_knob = 1\nmix = 0.25\n", ["dream.no_such_knob"]),     # unknown
], ids=["out-of-range", "unknown"])
def test_a_last_state_with_unusable_values_keeps_the_rest(content, bad, user_config, caplog):
    """A readable state is advice: each value that can't be used is one sentence and starts at
    its default; the rest is restored and the file stays where it is."""
    from liveart import scenes  # noqa: F401
    from liveart.laststate import last_state_path, load_last_state

    last_state_path().write_bytes(content)
    with caplog.at_level(logging.INFO, logger="liveart"):
        assert load_last_state() == {"dream.mix": 0.25}
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == len(bad) and all(n in w for n, w in zip(bad, warnings)), warnings
    assert all("\n" not in w and w.endswith("default instead.") for w in warnings)
    assert _broken(user_config) == [] and last_state_path().read_bytes() == content


def test_a_second_broken_state_in_the_same_second_does_not_overwrite_the_first(user_config):
    from liveart.laststate import last_state_path, load_last_state

    for content in (b"one [", b"two ["):
        last_state_path().write_bytes(content)
        load_last_state()
    assert sorted(p.read_bytes() for p in _broken(user_config)) == [b"one [", b"two ["]


# -- leftovers of killed saves ---------------------------------------------------------------
def test_unfinished_saves_are_cleared_at_start_but_nothing_else(user_config, monkeypatch,
                                                                tmp_path):
    from liveart.laststate import LastStateSaver

    snaps = tmp_path / "snaps"
    monkeypatch.setenv("LIVEART_SNAPSHOTS_DIR", str(snaps))
    presets = user_config / "presets"
    presets.mkdir()
    snaps.mkdir()
    old = time.time() - 3600
    stale = [user_config / ".last-state.toml.123.0a1b2c3d.tmp",
             presets / ".my look.toml.99.ffffffff.tmp",
             snaps / ".liveart-20250101-101010-000.png.7.12ab34cd.tmp"]
    kept = [presets / ".fresh.toml.5.abcdef01.tmp",  # a save in progress in another liveart
            presets / "notes.tmp", user_config / ".hidden.tmp",  # not liveart's to remove
            presets / "mine.toml"]
    for p in stale + kept:
        p.write_text("x")
    for p in stale + kept[1:]:
        os.utime(p, (old, old))
    saver = LastStateSaver(ParamStore()).start()
    saver.stop()
    assert [p for p in stale if p.exists()] == []
    assert [p for p in kept if not p.exists()] == []


# -- a failing disk --------------------------------------------------------------------------
def _enospc(*args, **kwargs):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def _erofs(*args, **kwargs):
    raise OSError(errno.EROFS, os.strerror(errno.EROFS))


def _temps(folder: Path) -> list[Path]:
    return [p for p in folder.iterdir() if TEMP_NAME.match(p.name)]


@pytest.mark.parametrize("call", ["fsync", "replace", "write"])
def test_a_full_disk_keeps_the_old_preset_and_leaves_no_temporary_file(call, user_config,
                                                                       monkeypatch):
    from liveart import scenes  # noqa: F401
    from liveart.presets import load_preset, save_preset

    path = save_preset("look", {"dream.octaves": 2})
    before = path.read_bytes()
    with monkeypatch.context() as m, pytest.raises(UserError) as e:
        if call == "write":  # the disk fills while the bytes go out
            m.setattr(atomic, "open", lambda *a, **k: _FullFile(*a), raising=False)
        else:  # the simulated hardware fault, at the OS call that reports it
            m.setattr(atomic.os, call, _enospc)
        save_preset("look", {"dream.octaves": 3})
    text = str(e.value)
    assert text == f"Could not save preset 'look' to {path}: No space left on device."
    assert path.read_bytes() == before and load_preset("look")[0]["dream.octaves"] == 2
    assert _temps(path.parent) == []


class _FullFile(io.FileIO):
    """A file on a disk with 16 bytes left."""

    def write(self, data):
        if self.tell() + len(data) > 16:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return super().write(data)


def test_a_full_disk_keeps_the_old_snapshot_and_midi_map(tmp_path, cat, monkeypatch):
    from liveart.control.midi import Binding, save_binding
    from liveart.snapshot import read_state, write_png

    png = write_png(tmp_path / "look.png", cat, '{"params": {}, "scene": "dream"}')
    png_before = png.read_bytes()
    midi = tmp_path / "map.toml"
    save_binding(midi, Binding(kind="cc", channel=0, number=1, param="dream.mix"))
    midi_before = midi.read_bytes()
    with monkeypatch.context() as m:
        m.setattr(atomic, "open", lambda *a, **k: _FullFile(*a), raising=False)
        with pytest.raises(UserError, match=r"^Could not write .*look\.png: No space left on device\.$"):
            write_png(png, cat[::-1].copy(), '{"params": {}, "scene": "dream"}')
        with pytest.raises(UserError, match=r"^Could not save MIDI map .*: No space left on device\.$"):
            save_binding(midi, Binding(kind="cc", channel=0, number=2, param="dream.mix"))
    assert png.read_bytes() == png_before and read_state(png)["scene"] == "dream"
    assert midi.read_bytes() == midi_before
    assert _temps(tmp_path) == []


def test_a_folder_that_is_a_file_is_a_plain_oserror_and_leaves_nothing(tmp_path):
    (tmp_path / "presets").write_text("not a folder")
    with pytest.raises(OSError):
        write_atomic(tmp_path / "presets" / "look.toml", "x = 1\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["presets"]


def test_the_last_state_saver_says_a_failing_disk_once_not_every_two_seconds(user_config,
                                                                             monkeypatch, caplog):
    from liveart import scenes  # noqa: F401
    from liveart.laststate import LastStateSaver, last_state_path

    store = ParamStore()
    saver = LastStateSaver(store)
    store.set("dream.octaves", 2)
    saver.save()
    before = last_state_path().read_bytes()
    with caplog.at_level(logging.INFO, logger="liveart"):
        with monkeypatch.context() as m:
            m.setattr(atomic.os, "replace", _enospc)
            for octaves in (3, 4, 5, 6):  # four ticks of the 2 s timer, the state changing
                store.set("dream.octaves", octaves)
                saver.save()
            m.setattr(atomic.os, "replace", _erofs)  # another problem: said again, once
            saver.save()
            saver.save()
        assert last_state_path().read_bytes() == before and _temps(user_config) == []
        saver.save()  # the disk has room again
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 2, warnings
    assert "No space left on device" in warnings[0] and "Read-only" in warnings[1]
    assert all(r.exc_info is None for r in caplog.records)
    assert any("saved to" in r.getMessage() and "again" in r.getMessage() for r in caplog.records)
    assert tomllib.loads(last_state_path().read_text())["dream"]["octaves"] == 6


# -- the helper itself -----------------------------------------------------------------------
def test_an_error_inside_the_block_leaves_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "f.bin"
    write_atomic(path, b"old")
    with pytest.raises(ZeroDivisionError):
        with atomic.atomic_file(path) as f:
            f.write(b"half of the n")
            1 / 0
    assert path.read_bytes() == b"old" and os.listdir(tmp_path) == ["f.bin"]


def test_a_replaced_file_keeps_its_permissions_and_a_link_stays_a_link(tmp_path):
    real = tmp_path / "real.toml"
    write_atomic(real, "a = 1\n")
    os.chmod(real, 0o600)
    link = tmp_path / "link.toml"
    link.symlink_to(real)
    write_atomic(link, "a = 2\n")
    assert link.is_symlink() and real.read_text() == "a = 2\n"
    assert (real.stat().st_mode & 0o777) == 0o600
