"""Soak: the whole show, headless, for minutes; fps and memory over time; fails on a leak or a slowdown.

    python benchmarks/soak.py --minutes 30 [--scene dream+style] [--size 256x144]
                              [--warmup 2] [--every 10] [--plot docs/soak.png] [--json out.json]
    python benchmarks/soak.py --judge out.json [--plot soak.png]   # a saved run, judged again

It runs `liveart run --headless --source synthetic` as a child process, the way a gallery would
(dream+style by default), with music on into an ALSA null sink (a `.asoundrc` in a temporary
HOME: no sound card needed, the synth's callback really runs) and OSC traffic: a fader stream
at 50 messages/s over several parameters, queries, and a preset morph every 20 s. It listens
to the show's own `--osc-out` echo for `/liveart/stats/fps` and reads the child's RSS from /proc
(GPU memory with nvidia-smi when the child runs on CUDA).

Every `--every` seconds it prints one line: elapsed, fps (mean over the interval), RSS MB now
and its peak over the interval (RSS is read once a second). At the end it judges, after
`--warmup` minutes, in whole rounds of morphs (60 s: each preset once). The looks need
different working sets, so RSS swings with the preset in play; the first round after warm-up
sets the baseline (its peak), and no later round's peak may be more than 30 MB above it
(troughs are reported, not judged). The mean fps of the last fifth of the rounds may fall at most 15% below the
first fifth's. Exit 0 when both hold, 1 when not. `--plot` draws fps and RSS over time (needs matplotlib:
pip install matplotlib).

This is a benchmark, not a test: run it on an otherwise idle machine.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from pythonosc.osc_message import OscMessage
from pythonosc.udp_client import SimpleUDPClient

MEMORY_GROWTH_MB = 30.0
FPS_DROP = 0.15
FADERS = ("dream.mix", "dream.step_size", "dream.zoom", "scene.mix", "style.w3", "style.w11",
          "music.density")


def free_port(kind: int = socket.SOCK_DGRAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        return None
    return None


def gpu_mb(pid: int) -> float | None:
    if not shutil.which("nvidia-smi"):
        return None
    try:
        out = subprocess.run(["nvidia-smi", "--query-compute-apps=pid,used_memory",
                              "--format=csv,noheader,nounits"], capture_output=True, text=True,
                             timeout=5).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    for line in out.splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) == 2 and parts[0] == str(pid):
            return float(parts[1])
    return None


class FpsListener:
    """Collects /liveart/stats/fps from the show's --osc-out echo."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.5)
        self.port = self.sock.getsockname()[1]
        self.samples: list[tuple[float, float]] = []
        self.notes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> "FpsListener":
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                msg = OscMessage(self.sock.recv(65536))
            except (socket.timeout, ValueError, OSError):
                continue
            if msg.address == "/liveart/stats/fps" and msg.params:
                self.samples.append((time.monotonic(), float(msg.params[0])))
            elif msg.address == "/liveart/music/note":
                self.notes += 1

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self.sock.close()


MORPH_EVERY_S = 20.0  # three presets in a minute: a judged stretch holds many whole rounds
MORPHS = ("gentle", "deep-eyes", "ornaments")  # in turn: the presets cost different amounts
ROUND_S = MORPH_EVERY_S * len(MORPHS)  # one round of morphs: every look once


def traffic(port: int, stop: threading.Event) -> None:
    """A performer who never rests: faders at 50 Hz, a query now and then, a morph every 20 s.
    The morphs go round the same three presets in order, so every stretch of the run that the
    verdict compares (a fifth of it, whole minutes) holds the same mix of light and heavy looks."""
    client = SimpleUDPClient("127.0.0.1", port)
    t0 = time.monotonic()
    n = 0
    last_morph = t0
    morphs = 0
    while not stop.wait(0.02):
        name = FADERS[n % len(FADERS)]
        phase = (time.monotonic() - t0) / 7.0 + n % len(FADERS)
        client.send_message("/liveart/" + name.replace(".", "/"), 0.5 + 0.45 * (phase % 2 - 1))
        if n % 250 == 0:
            client.send_message("/liveart/dream/octaves", [])  # a query
        if time.monotonic() - last_morph > MORPH_EVERY_S:
            last_morph = time.monotonic()
            client.send_message("/liveart/preset/morph", [MORPHS[morphs % len(MORPHS)], 5.0])
            morphs += 1
        n += 1


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=30.0)
    ap.add_argument("--warmup", type=float, default=2.0, help="minutes not judged")
    ap.add_argument("--every", type=float, default=10.0, help="seconds between report lines")
    ap.add_argument("--scene", default="dream+style")
    ap.add_argument("--size", default="256x144")
    ap.add_argument("--window", default="640x360", help="output size")
    ap.add_argument("--device", default=None)
    ap.add_argument("--plot", help="write a PNG of fps and RSS over time")
    ap.add_argument("--json", help="write the samples and the verdict as JSON")
    ap.add_argument("--judge", metavar="JSON", help="judge (and --plot) a run saved with --json "
                    "again, without running the show")
    args = ap.parse_args()
    if args.judge:
        return rejudge(args)
    # killed with SIGTERM: unwind like Ctrl-C, so the show started below is stopped too
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    if not args.minutes > args.warmup >= 0:
        print("soak: --minutes must be longer than --warmup.", file=sys.stderr)
        return 2

    home = Path(tempfile.mkdtemp(prefix="liveart-soak-"))
    (home / ".asoundrc").write_text("pcm.!default {\n  type null\n}\n")  # audio to a null sink
    env = dict(os.environ, HOME=str(home), LIVEART_CONFIG_DIR=str(home / "cfg"))
    env.pop("ALSA_CONFIG_PATH", None)
    osc, query = free_port(), free_port(socket.SOCK_STREAM)
    listener = FpsListener().start()
    cmd = [sys.executable, "-m", "liveart", "run", "--headless", "--fresh", "--source", "synthetic",
           "--scene", args.scene, "--size", args.size, "--window", args.window,
           "--seconds", str(args.minutes * 60 + 30), "--osc-port", str(osc),
           "--oscquery-port", str(query), "--osc-out", f"127.0.0.1:{listener.port}",
           "--set", "music.enabled=1"]
    if args.device:
        cmd += ["--device", args.device]
    log_path = home / "show.log"
    with open(log_path, "w") as log_file:
        child = subprocess.Popen(cmd, env=env, stdout=log_file, stderr=subprocess.STDOUT)
    stop = threading.Event()
    sender = threading.Thread(target=traffic, args=(osc, stop), daemon=True)
    rows: list[dict] = []
    t_start = time.monotonic()
    try:
        while not listener.samples:  # wait for the show to come up
            if child.poll() is not None or time.monotonic() - t_start > 120:
                print(log_path.read_text()[-3000:], file=sys.stderr)
                print("soak: the show did not start.", file=sys.stderr)
                return 1
            time.sleep(0.2)
        sender.start()
        t0 = time.monotonic()
        print(f"soak: {args.scene} at {args.size}, {args.minutes:g} min, pid {child.pid}")
        print(f"{'min':>6} {'fps':>6} {'rss MB':>8} {'peak MB':>8} {'gpu MB':>7}")
        next_at = t0 + args.every
        window: list[float] = []  # RSS once a second: the peaks of a heavy look are short
        while time.monotonic() - t0 < args.minutes * 60:
            while time.monotonic() < next_at:
                time.sleep(max(0.0, min(1.0, next_at - time.monotonic())))
                mb = rss_mb(child.pid)
                if mb is not None:
                    window.append(mb)
            if child.poll() is not None:
                print(log_path.read_text()[-3000:], file=sys.stderr)
                print(f"soak: the show exited early (code {child.returncode}).", file=sys.stderr)
                return 1
            now = time.monotonic()
            recent = [f for t, f in listener.samples if t > now - args.every]
            row = {"minute": (now - t0) / 60.0,
                   "fps": statistics.fmean(recent) if recent else 0.0,
                   "rss_mb": rss_mb(child.pid), "gpu_mb": gpu_mb(child.pid),
                   "rss_max_mb": max(window, default=None),
                   "rss_min_mb": min(window, default=None)}
            window = []
            rows.append(row)
            gpu = f"{row['gpu_mb']:7.0f}" if row["gpu_mb"] is not None else "      -"
            print(f"{row['minute']:6.2f} {row['fps']:6.1f} {row['rss_mb'] or 0:8.1f} "
                  f"{row['rss_max_mb'] or 0:8.1f} {gpu}", flush=True)
            next_at += args.every
    finally:
        stop.set()
        child.terminate()
        try:
            child.wait(timeout=30)
        except subprocess.TimeoutExpired:
            child.kill()
        listener.stop()

    verdict = judge(rows, args.warmup)
    verdict["music_notes_heard"] = listener.notes
    verdict["lines"].append(f"music: {listener.notes} notes echoed over OSC")
    for line in verdict["lines"]:
        print(line)
    if args.json:
        Path(args.json).write_text(json.dumps({"args": vars(args), "rows": rows, **verdict},
                                              indent=1))
    if args.plot:
        plot(rows, args, verdict, args.plot)
    shutil.rmtree(home, ignore_errors=True)
    return 0 if verdict["ok"] else 1


def rejudge(args) -> int:
    """`--judge saved.json`: the saved samples judged by this file's rules, plotted on request."""
    try:
        saved = json.loads(Path(args.judge).read_text())
        rows, run = saved["rows"], argparse.Namespace(**saved["args"])
    except (OSError, ValueError, KeyError, TypeError) as e:
        print(f"soak: cannot read a saved run from {args.judge} ({e}).", file=sys.stderr)
        return 2
    verdict = judge(rows, run.warmup)
    for line in verdict["lines"]:
        print(line)
    if args.plot:
        plot(rows, run, verdict, args.plot)
    return 0 if verdict["ok"] else 1


def rounds(rows: list[dict], warmup_min: float, round_min: float) -> list[list[dict]]:
    """The judged rows cut into whole morph rounds (a trailing part round is dropped)."""
    judged = [r for r in rows if r["minute"] > warmup_min and r.get("rss_max_mb") is not None]
    out: list[list[dict]] = []
    for r in judged:
        k = int((r["minute"] - warmup_min - 1e-9) // round_min)
        while len(out) <= k:
            out.append([])
        out[k].append(r)
    if out and judged and judged[-1]["minute"] < warmup_min + len(out) * round_min - 1e-6:
        out.pop()
    return [g for g in out if g]


def judge(rows: list[dict], warmup_min: float, round_min: float = ROUND_S / 60.0) -> dict:
    """Memory is judged round by round, not sample by sample: the looks the morphs go through
    need different working sets (a deep dream layer keeps more activations for its backward
    pass), so RSS swings with the preset in play. One round of morphs holds every look; the
    first round's peak after warm-up is the baseline, and no later round's peak may be more
    than MEMORY_GROWTH_MB above it: a leak or creeping fragmentation raises every peak after
    it, a heavy look that comes and goes does not. The troughs are reported, not judged: how
    low RSS falls between heavy looks depends on when the allocator hands pages back, and the
    peak above them already holds anything that leaked."""
    groups = rounds(rows, warmup_min, round_min)
    if len(groups) < 3:
        return {"ok": False, "lines": ["soak: too few whole morph rounds after warm-up to judge "
                                       f"(need 3 of {round_min:g} min)."]}
    peaks = [max(r["rss_max_mb"] for r in g) for g in groups]
    troughs = [min(r["rss_min_mb"] for r in g) for g in groups]
    growth_peak = max(peaks[1:]) - peaks[0]
    growth_trough = max(troughs[1:]) - troughs[0]
    growth_last = peaks[-1] - peaks[0]
    fifth = max(1, len(groups) // 5)  # in whole rounds: each holds the same mix of looks
    fps_first = statistics.fmean(r["fps"] for g in groups[:fifth] for r in g)
    fps_last = statistics.fmean(r["fps"] for g in groups[-fifth:] for r in g)
    drop = 1.0 - fps_last / fps_first if fps_first > 0 else 1.0
    mem_ok = growth_peak <= MEMORY_GROWTH_MB
    fps_ok = drop <= FPS_DROP
    lines = [
        f"RSS in the first round after warm-up: {troughs[0]:.1f}..{peaks[0]:.1f} MB; "
        f"over {len(groups)} rounds of {round_min:g} min the round peak grew at most "
        f"{growth_peak:+.1f} MB (limit {MEMORY_GROWTH_MB:.0f}): {'ok' if mem_ok else 'FAIL'}; "
        f"last round's peak {growth_last:+.1f} MB; round troughs moved by at most "
        f"{growth_trough:+.1f} MB (not judged)",
        f"fps first fifth {fps_first:.2f}, last fifth {fps_last:.2f}, drop {drop * 100:.1f}% "
        f"(limit {FPS_DROP * 100:.0f}%): {'ok' if fps_ok else 'FAIL'}",
    ]
    return {"ok": mem_ok and fps_ok, "lines": lines, "rss_base_peak_mb": peaks[0],
            "rss_base_trough_mb": troughs[0], "rss_round_peaks_mb": peaks,
            "rss_round_troughs_mb": troughs, "rss_peak_growth_mb": growth_peak,
            "rss_trough_growth_mb": growth_trough, "rss_growth_mb": growth_last,
            "fps_first": fps_first, "fps_last": fps_last, "fps_drop": drop}


def plot(rows: list[dict], args, verdict: dict, path: str) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("soak: no plot: pip install matplotlib.", file=sys.stderr)
        return
    minutes = [r["minute"] for r in rows]
    fig, (a, b) = plt.subplots(2, 1, figsize=(8, 5), sharex=True)
    a.plot(minutes, [r["fps"] for r in rows], color="tab:blue")
    a.set_ylabel("fps")
    a.set_ylim(bottom=0)
    a.set_title(f"liveart soak: {args.scene} at {args.size}, OSC traffic, music on "
                f"({'passed' if verdict['ok'] else 'failed'})", fontsize=10)
    b.fill_between(minutes, [r.get("rss_min_mb") or 0 for r in rows],
                   [r.get("rss_max_mb") or 0 for r in rows], color="tab:red", alpha=0.25, lw=0,
                   label="RSS range over each interval")
    b.plot(minutes, [r.get("rss_max_mb") or 0 for r in rows], color="tab:red", lw=1)
    if "rss_base_peak_mb" in verdict:
        limit = verdict["rss_base_peak_mb"] + MEMORY_GROWTH_MB
        b.axhline(limit, color="black", lw=0.8, ls=":",
                  label=f"limit: first round's peak + {MEMORY_GROWTH_MB:.0f} MB")
        b.legend(loc="lower right", fontsize=8)
    b.set_ylabel("RSS MB")
    b.set_xlabel("minutes")
    for ax in (a, b):
        ax.axvline(args.warmup, color="grey", lw=0.8, ls="--")
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    print(f"soak: plot written to {path}")


if __name__ == "__main__":
    sys.exit(main())
