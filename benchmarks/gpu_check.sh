#!/usr/bin/env bash
# gpu_check.sh: the whole CUDA check of liveart in one call, on a fresh GPU machine.
#
#   bash benchmarks/gpu_check.sh            # from the repository root (or from anywhere)
#   bash benchmarks/gpu_check.sh dist/liveart-0.1.0-py3-none-any.whl
#   bash benchmarks/gpu_check.sh /path/to/liveart            # a source tree to install
#
# The machine already has Python 3.12 with a CUDA build of torch, OpenCV and onnxruntime. The
# script
#   1. installs liveart without touching torch: the wheel given as $1, else the newest
#      dist/liveart-*.whl, else the source tree ($1 or this checkout), with `pip install
#      --no-deps`; then the dependencies pyproject.toml lists (and pytest and scikit-image for
#      the tests) that are not installed yet, each with --no-deps, from the wheels in wheels/
#      (--find-links wheels --no-index; without a wheels/ folder pip asks its index). torch is
#      never installed or upgraded, and an installed opencv-python / onnxruntime-gpu counts
#      for opencv-python-headless / onnxruntime.
#      Make wheels/ on any machine with pip and the internet, e.g.
#        pip download -d wheels --only-binary=:all: --python-version 3.12 \
#            --platform manylinux2014_x86_64 --platform manylinux_2_28_x86_64 \
#            <the dependencies of pyproject.toml but torch> pytest scikit-image 'setuptools>=68'
#   2. prints the GPU (nvidia-smi) and the torch / CUDA / cuDNN versions;
#   3. runs the GPU tests: python -m pytest -m cuda tests/test_cuda.py tests/test_half_numerics.py
#      (with the measured errors and cosines of the passing tests printed);
#   4. runs `liveart bench --device cuda --json --seconds 8` on: dream 640x360 with
#      dream.steps=1 and 2, dream 1280x720, style 1280x720 and 1920x1080, dream+style 640x360;
#      a bench that fails is marked FAILED in the table and the rest go on;
#   5. prints one table (scene, size, steps, fps, scene p50 ms, target) from the JSON outputs.
#
# Targets, on a current datacentre GPU (the issue "ready for the GPU"; docs/benchmarks.md's
# CUDA section is where the measured numbers go):
#   dream 640x360 with 2 steps per tick >= 120 fps;  style 1920x1080 >= 60 fps.
#
# Outputs (bench JSON and logs, pytest's output, summary.txt, summary.json) go to
# $GPU_CHECK_OUT, else $OUT (the device runner's folder), else ./gpu_check_out.
# Settings: PYTHON (default python3), GPU_CHECK_SECONDS (8), GPU_CHECK_WARMUP (3),
# GPU_CHECK_BENCH_TIMEOUT (180 s per bench), GPU_CHECK_TEST_TIMEOUT (900 s),
# GPU_CHECK_WHEELS (default: wheels/ in the current folder, else in the repository root).
# Exit status: 0 all passed; 1 the tests failed (or CUDA is not available, or the install
# failed); 2 the tests passed but a bench failed.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-$(command -v python3 || command -v python)}"
BENCH_SECONDS="${GPU_CHECK_SECONDS:-8}"
BENCH_WARMUP="${GPU_CHECK_WARMUP:-3}"
BENCH_TIMEOUT="${GPU_CHECK_BENCH_TIMEOUT:-180}"
TEST_TIMEOUT="${GPU_CHECK_TEST_TIMEOUT:-900}"
OUT_DIR="${GPU_CHECK_OUT:-${OUT:-$PWD/gpu_check_out}}"
mkdir -p "$OUT_DIR"
OUT_DIR="$(cd "$OUT_DIR" && pwd)"

if [[ -n "${GPU_CHECK_WHEELS:-}" ]]; then
    WHEELS="$GPU_CHECK_WHEELS"
elif [[ -d "$PWD/wheels" ]]; then
    WHEELS="$PWD/wheels"
else
    WHEELS="$ROOT/wheels"
fi

say() { printf '\n=== %s\n' "$*"; }

install_failed=0
tests_failed=0

# -- 1. install ----------------------------------------------------------------------------------
say "installing liveart with $PYTHON ($("$PYTHON" --version 2>&1))"
PIP=("$PYTHON" -m pip install --disable-pip-version-check --no-input)
if "$PYTHON" - <<'EOF'
import os, sys, sysconfig
marker = os.path.join(sysconfig.get_path("stdlib"), "EXTERNALLY-MANAGED")
sys.exit(0 if os.path.exists(marker) and sys.prefix == sys.base_prefix else 1)
EOF
then
    PIP+=(--break-system-packages)  # a distribution's Python (PEP 668) that already has torch
fi
if [[ -d "$WHEELS" ]]; then
    echo "local wheels: $WHEELS ($(find "$WHEELS" -maxdepth 1 -name '*.whl' | wc -l) files)"
    PIP+=(--no-index --find-links "$WHEELS")
else
    echo "no wheels folder at $WHEELS: pip uses its index for what is missing"
fi

target="${1:-}"
if [[ -z "$target" ]]; then
    newest="$(find "$ROOT/dist" -maxdepth 1 -name 'liveart-*.whl' -printf '%T@ %p\n' 2>/dev/null \
              | sort -n | tail -n 1 | cut -d' ' -f2- || true)"
    target="${newest:-$ROOT}"
fi
build_flags=()
if [[ -d "$target" ]] && "$PYTHON" -c "
import sys, setuptools
sys.exit(0 if int(setuptools.__version__.split('.')[0]) >= 68 else 1)" 2>/dev/null; then
    build_flags=(--no-build-isolation)  # offline: build with the installed setuptools
fi
echo "project: $target"
if ! "${PIP[@]}" --no-deps --force-reinstall "${build_flags[@]}" "$target"; then
    echo "ERROR: installing $target failed"
    install_failed=1
fi

# What liveart needs (pyproject.toml's dependencies, or the installed package's metadata) and
# the tests need, followed through the installed packages' own requirements: one missing
# requirement a line. torch is only checked, never installed.
missing_requirements() {
    "$PYTHON" - "$ROOT/pyproject.toml" <<'EOF'
import importlib.metadata as md
import os
import re
import sys

try:
    from packaging.requirements import Requirement
except ImportError:
    from pip._vendor.packaging.requirements import Requirement

try:
    import tomllib
except ImportError:
    tomllib = None
if tomllib is not None and os.path.exists(sys.argv[1]):
    with open(sys.argv[1], "rb") as f:
        wanted = tomllib.load(f)["project"]["dependencies"]
else:
    wanted = [r for r in (md.requires("liveart") or []) if "extra ==" not in r]
wanted += ["pytest>=7", "scikit-image>=0.21"]  # the GPU tests' part of the test extra

# installed distributions that stand in for a requirement's (same import name)
ALTERNATES = {
    "opencv-python-headless": ["opencv-python", "opencv-contrib-python", "opencv-contrib-python-headless"],
    "opencv-python": ["opencv-python-headless", "opencv-contrib-python", "opencv-contrib-python-headless"],
    "onnxruntime": ["onnxruntime-gpu", "onnxruntime-directml", "onnxruntime-openvino"],
}
NEVER = {"torch"}


def norm(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def installed(name):
    for candidate in [name] + ALTERNATES.get(norm(name), []):
        try:
            return candidate, md.version(candidate)
        except md.PackageNotFoundError:
            continue
    return None, None


missing, seen, todo = [], set(), list(wanted)
while todo:
    req = Requirement(todo.pop(0))
    if req.marker is not None and not req.marker.evaluate({"extra": ""}):
        continue
    key = norm(req.name)
    if key in seen:
        continue
    seen.add(key)
    dist, version = installed(req.name)
    if version is None:
        ok = False
    elif norm(dist) != key:  # a stand-in (opencv-python for -headless, onnxruntime-gpu, ...)
        ok = True
    else:
        ok = req.specifier.contains(version, prereleases=True)
    if key in NEVER:
        if not ok:
            print(f"WARNING: {req} is not satisfied (installed: {version}); torch is left "
                  "as it is", file=sys.stderr)
        continue
    if not ok:
        missing.append(str(req))
        continue
    todo += [r for r in (md.requires(dist) or [])]
print("\n".join(missing))
EOF
}

for round in 1 2 3 4 5 6; do
    if ! list="$(missing_requirements)"; then
        echo "ERROR: could not work out the missing dependencies"
        install_failed=1
        break
    fi
    if [[ -z "$list" ]]; then
        echo "all dependencies are installed"
        break
    fi
    mapfile -t need <<<"$list"
    echo "round $round: installing ${need[*]}"
    if ! "${PIP[@]}" --no-deps "${need[@]}"; then
        echo "some failed together; one at a time:"
        for req in "${need[@]}"; do
            "${PIP[@]}" --no-deps "$req" || echo "WARNING: could not install $req"
        done
    fi
    if [[ $round -eq 6 ]]; then
        echo "WARNING: still missing after 6 rounds: $(missing_requirements | tr '\n' ' ')"
        install_failed=1
    fi
done

# -- 2. the machine ------------------------------------------------------------------------------
say "GPU"
nvidia-smi --query-gpu=name,memory.total --format=csv || echo "WARNING: nvidia-smi failed"
say "versions"
cuda_ok=1
"$PYTHON" - <<'EOF' || cuda_ok=0
import sys
import torch
print("python", sys.version.split()[0])
print("torch", torch.__version__, "| CUDA", torch.version.cuda, "| cuDNN",
      torch.backends.cudnn.version(), "| cuda available:", torch.cuda.is_available())
for name in ("cv2", "onnxruntime", "liveart"):
    try:
        module = __import__(name)
        extra = ""
        if name == "onnxruntime":
            extra = f" providers {module.get_available_providers()}"
        print(name, getattr(module, "__version__", "?"), extra, "from", module.__file__)
    except Exception as e:  # noqa: BLE001
        print(name, "FAILED to import:", e)
if not torch.cuda.is_available():
    print("ERROR: torch sees no CUDA device")
    sys.exit(1)
for i in range(torch.cuda.device_count()):
    p = torch.cuda.get_device_properties(i)
    print(f"cuda:{i} {p.name}, {p.total_memory / 2**30:.1f} GiB, compute capability {p.major}.{p.minor}")
EOF

LIVEART=("$PYTHON" -m liveart)
scripts="$("$PYTHON" -c 'import sysconfig; print(sysconfig.get_path("scripts"))')"
if [[ -x "$scripts/liveart" ]]; then
    LIVEART=("$scripts/liveart")
elif command -v liveart >/dev/null; then
    LIVEART=(liveart)
fi

# -- 3. the GPU tests ----------------------------------------------------------------------------
say "tests: python -m pytest -m cuda tests/test_cuda.py tests/test_half_numerics.py -q"
if [[ $cuda_ok -eq 0 ]]; then
    echo "ERROR: no CUDA device for torch: the cuda tests would only skip"
    tests_failed=1
fi
if [[ -f "$ROOT/tests/test_cuda.py" ]]; then
    if (cd "$ROOT" && timeout "$TEST_TIMEOUT" "$PYTHON" -m pytest -m cuda tests/test_cuda.py \
            tests/test_half_numerics.py -q -rA -p no:cacheprovider) 2>&1 \
            | tee "$OUT_DIR/pytest.txt"; then
        echo "tests passed"
    else
        echo "TESTS FAILED"
        tests_failed=1
    fi
else
    echo "ERROR: $ROOT/tests/test_cuda.py not found (run this from a checkout of liveart)"
    tests_failed=1
fi

# -- 4. the benches ------------------------------------------------------------------------------
: >"$OUT_DIR/benches.tsv"
bench() {  # name, steps (for the table), scene, size, extra arguments...
    local name=$1 steps=$2 scene=$3 size=$4 status=ok rc=0
    shift 4
    say "bench $name: liveart bench --device cuda --json --seconds $BENCH_SECONDS --scene $scene --size $size $*"
    (cd "$OUT_DIR" && timeout "$BENCH_TIMEOUT" "${LIVEART[@]}" bench --device cuda --json \
        --seconds "$BENCH_SECONDS" --warmup "$BENCH_WARMUP" --scene "$scene" --size "$size" "$@") \
        >"$OUT_DIR/bench-$name.json" 2>"$OUT_DIR/bench-$name.log" || rc=$?
    if [[ $rc -ne 0 ]]; then
        status="FAILED(exit $rc)"
        echo "FAILED (exit $rc); the end of its log:"
        tail -n 15 "$OUT_DIR/bench-$name.log" || true
    else
        tail -n 1 "$OUT_DIR/bench-$name.json"
    fi
    printf '%s\t%s\t%s\t%s\t%s\n' "$name" "$scene" "$size" "$steps" "$status" >>"$OUT_DIR/benches.tsv"
}
bench dream-640x360-1step 1 dream 640x360 --set dream.steps=1
bench dream-640x360-2steps 2 dream 640x360 --set dream.steps=2
bench dream-1280x720 1 dream 1280x720
bench style-1280x720 - style 1280x720
bench style-1920x1080 - style 1920x1080
bench dream+style-640x360 1 dream+style 640x360

# -- 5. the table --------------------------------------------------------------------------------
say "results"
benches_failed=0
"$PYTHON" - "$OUT_DIR" <<'EOF' | tee "$OUT_DIR/summary.txt" || benches_failed=1
import json
import os
import sys

out = sys.argv[1]
TARGETS = {("dream", "640x360", "2"): 120.0, ("style", "1920x1080", "-"): 60.0}
rows, results, failed = [], [], 0
with open(os.path.join(out, "benches.tsv")) as f:
    for line in f:
        name, scene, size, steps, status = line.rstrip("\n").split("\t")
        fps = p50 = None
        if status == "ok":
            try:
                with open(os.path.join(out, f"bench-{name}.json")) as g:
                    text = [t for t in g.read().splitlines() if t.startswith("{")][-1]
                result = json.loads(text)
                fps, p50 = float(result["fps"]), float(result["stages"]["scene"]["p50_ms"])
                results.append(result | {"name": name, "steps": steps})
            except (OSError, IndexError, KeyError, ValueError) as e:
                status = f"FAILED(bad JSON: {type(e).__name__})"
        if status != "ok":
            failed += 1
        target = TARGETS.get((scene, size, steps))
        verdict = "" if target is None else (
            f">= {target:.0f}: " + ("?" if fps is None else "met" if fps >= target else "MISSED"))
        rows.append((scene, size, steps, status if fps is None else f"{fps:.1f}",
                     "" if p50 is None else f"{p50:.2f}", verdict))
head = ("scene", "size", "steps", "fps", "scene p50 ms", "target fps")
widths = [max(len(str(r[i])) for r in rows + [head]) for i in range(len(head))]
for r in [head] + rows:
    print("  ".join(str(v).ljust(w) for v, w in zip(r, widths)).rstrip())
with open(os.path.join(out, "summary.json"), "w") as f:
    json.dump(results, f, indent=1)
sys.exit(1 if failed else 0)
EOF

say "outputs in $OUT_DIR"
if [[ $install_failed -ne 0 || $tests_failed -ne 0 ]]; then
    echo "RESULT: tests FAILED (install failed: $install_failed, tests failed: $tests_failed)"
    exit 1
fi
if [[ $benches_failed -ne 0 ]]; then
    echo "RESULT: tests passed, a bench FAILED"
    exit 2
fi
echo "RESULT: all passed"
