"""The dream's gradient for EfficientNet-Lite0 as one ONNX Runtime graph, on the CPU.

A dream step needs d(objective)/d(image) for a frozen network. torch gets it from autograd:
a few hundred small operations a step, each costing 60-100 us of dispatch on top of its
arithmetic (oneDNN's per-call set-up for the depthwise convolutions is most of it), which is
most of a step at the live octave sizes. Here the forward pass *and its adjoint* are written
out as one ONNX graph, which ONNX Runtime plans once and runs with its own fused, blocked
kernels. No library builds this graph for us: torch's ONNX export has no backward pass, and
ONNX Runtime's training build (which has one) is not on PyPI for this Python. So the adjoint
of each layer is written here by hand; each is a textbook identity, checked against torch's
autograd in tests/models/test_gradient_graph.py (cosine 1.0 to 6 places at every layer, even
and odd sizes).

Inputs: `image` (1x3xHxW, RGB 0..1, any size) and `weights` (1xCx1x1, the objective's weight
of each channel of the layer). Outputs: the gradient (1x3xHxW), the layer's activation and the
objective, sum_c weights_c * mean_hw(act_c ** 2): weights 1/C give the dream's mean squared
activation, a one-hot the `channel:N` guide.

The adjoints, for a layer y = f(x) and the incoming gradient gy:
- ReLU6 (fused into the conv before it): gy * [0 < z < 6], from the layer's output z;
- a 1x1 convolution: a 1x1 convolution with the transposed weight matrix;
- a stride-1 convolution padded k//2 each side: the same convolution with the kernel flipped;
- a stride-2 convolution with TensorFlow's SAME padding: the transposed convolution, computed
  as its four output phases (even/odd row x even/odd column: each a stride-1 convolution of gy
  with a sub-kernel), interleaved (a ConvTranspose with one-hot kernels) and cropped to the
  input by the SAME padding's leading pad, which depends on the input's parity (so the graph
  takes any size);
- the residual add: the gradient goes to both branches and adds up where they meet;
- the input normalisation (x - mean) / std: gy / std.

ONNX Runtime runs the convolutions in its blocked layout; the masks' element-wise operators are
then made to run in that layout too (liveart/models/blocked_masks.py), checked against ONNX
Runtime's own plan before the session is used.
"""
from __future__ import annotations

import logging
import os
import tempfile
import threading
from collections import OrderedDict
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np
import torch

from .efficientnet_lite import EfficientNetLite0

log = logging.getLogger(__name__)

# `LIVEART_DREAM_GRADIENT=torch` keeps the dream on torch's autograd (to compare, or if this
# path ever misbehaves on a machine)
ENV = "LIVEART_DREAM_GRADIENT"


def supported(model: torch.nn.Module) -> bool:
    """The graph covers EfficientNet-Lite0 with its BatchNorms folded (as liveart loads it)."""
    if type(model) is not EfficientNetLite0:
        return False
    return all(isinstance(getattr(parent, bn), torch.nn.Identity)
               for parent, _, bn in model.conv_bn_pairs())


class _Graph:
    """Nodes and initializers of an ONNX graph under construction, with unique names."""

    def __init__(self):
        self.nodes, self.initializers, self._count = [], [], 0

    def _name(self, prefix: str) -> str:
        self._count += 1
        return f"{prefix}_{self._count}"

    def const(self, value, dtype=np.float32) -> str:
        from onnx import numpy_helper

        name = self._name("c")
        array = np.ascontiguousarray(np.asarray(value, dtype=dtype))
        self.initializers.append(numpy_helper.from_array(array, name))
        return name

    def op(self, kind: str, *inputs: str, name: str | None = None, **attrs) -> str:
        from onnx import helper

        out = name or self._name(kind.lower())
        self.nodes.append(helper.make_node(kind, list(inputs), [out], **attrs))
        return out


def _phase_kernels(weight: np.ndarray, depthwise: bool) -> list[np.ndarray]:
    """Sub-kernels of the transposed stride-2 convolution, one per output phase (ry, rx).

    In one dimension the transposed convolution is gx[2q + r] = sum_s W[r + 2s] gy[q - s];
    as a correlation over gy padded S-1 in front, S = ceil(k / 2), its kernel is
    K_r[s'] = W[r + 2 (S - 1 - s')] (zero where that tap is past the kernel's end)."""
    k = weight.shape[-1]
    size = (k + 1) // 2
    kernels = []
    for ry in (0, 1):
        for rx in (0, 1):
            if depthwise:
                kernel = np.zeros((weight.shape[0], 1, size, size), np.float32)
            else:  # a dense conv's adjoint also swaps its input and output channels
                kernel = np.zeros((weight.shape[1], weight.shape[0], size, size), np.float32)
            for sy in range(size):
                ty = ry + 2 * (size - 1 - sy)
                for sx in range(size):
                    tx = rx + 2 * (size - 1 - sx)
                    if ty < k and tx < k:
                        tap = weight[:, :, ty, tx]
                        kernel[:, :, sy, sx] = tap if depthwise else tap.T
            kernels.append(kernel)
    return kernels


def _forward(g: _Graph, model: EfficientNetLite0, depth: int) -> tuple[str, str, list[tuple]]:
    """The forward pass from `image` through layer number `depth` of layer_names() (the 16
    blocks, then the head): (the normalised input, the layer's output, the tape the backward
    pass walks, in forward order)."""
    tape: list[tuple] = []

    def conv(x: str, module: torch.nn.Conv2d, relu6: bool) -> str:
        layer = _Conv(module)
        k, stride = layer.kernel, layer.stride
        attrs = dict(kernel_shape=[k, k], strides=[stride, stride], group=layer.groups)
        if stride == 1:
            attrs["pads"] = [k // 2] * 4
        else:
            attrs["auto_pad"] = "SAME_UPPER"  # TF's SAME: the odd pixel goes at the end
        y = g.op("Conv", x, g.const(layer.weight), g.const(layer.bias), **attrs)
        if relu6:
            y = g.op("Clip", y, g.const(0.0), g.const(6.0))
        tape.append(("conv", layer, x, y, relu6))
        return y

    normalised = g.op("Mul", g.op("Sub", "image", g.const(model.MEAN)), g.const(1.0 / model.STD))
    x = conv(normalised, model._conv_stem, True)
    for block in model._blocks[: min(depth, len(model._blocks) - 1) + 1]:
        y = x
        if block.has_expand:
            y = conv(y, block._expand_conv, True)
        y = conv(y, block._depthwise_conv, True)
        y = conv(y, block._project_conv, False)
        if block.residual:
            total = g.op("Add", y, x)
            tape.append(("add", y, x, total))
            y = total
        x = y
    if depth >= len(model._blocks):
        x = conv(x, model._conv_head, True)
    return normalised, x, tape


def _io(name: str, shape):
    from onnx import TensorProto, helper

    return helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)


def _model(g: _Graph, name: str, inputs: list, outputs: list):
    from onnx import helper

    graph = helper.make_graph(g.nodes, name, inputs, outputs, g.initializers)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="liveart")


def build_classifier(model: EfficientNetLite0):
    """The ONNX model of the whole network: `image` -> ImageNet `logits` (for the HUD's labels)."""
    g = _Graph()
    _, head, _ = _forward(g, model, len(model.layer_names()) - 1)
    pooled = g.op("Flatten", g.op("GlobalAveragePool", head))
    fc = model._fc
    g.op("Gemm", pooled, g.const(fc.weight.detach().cpu().float().numpy()),
         g.const(fc.bias.detach().cpu().float().numpy()), transB=1, name="logits")
    return _model(g, "lite0_classifier", [_io("image", [1, 3, "H", "W"])], [_io("logits", None)])


def build_graph(model: EfficientNetLite0, layer: str):
    """The ONNX model of the forward pass to `layer` (blocks.N or head) and its gradient."""
    from onnx import TensorProto

    order = model.layer_names()
    if layer not in order:
        raise ValueError(f"EfficientNet-Lite0 has no layer {layer}")
    g = _Graph()
    normalised, x, tape = _forward(g, model, order.index(layer))
    act = g.op("Identity", x, name="act")

    # the objective and its gradient: d/da sum_c w_c mean_hw(a_c^2) = 2 w_c a / (h w)
    per_channel = g.op("ReduceMean", g.op("Mul", act, act), axes=[2, 3], keepdims=1)
    g.op("ReduceSum", g.op("Mul", per_channel, "weights"), keepdims=0, name="loss")
    hw = g.op("Slice", g.op("Shape", act), g.const([2], np.int64), g.const([4], np.int64))
    area = g.op("ReduceProd", g.op("Cast", hw, to=TensorProto.FLOAT), keepdims=0)
    grads = {x: g.op("Mul", act, g.op("Div", g.op("Mul", "weights", g.const(2.0)), area))}

    def accumulate(name: str, grad: str) -> None:
        grads[name] = g.op("Add", grads[name], grad) if name in grads else grad

    made_by = {entry[3]: entry for entry in tape if entry[0] == "conv"}
    done: set[str] = set()  # outputs whose adjoint was taken together with the next layer's
    for entry in reversed(tape):
        if entry[0] == "add":
            _, branch, skip, total = entry
            grad = grads.pop(total)
            accumulate(branch, grad)
            accumulate(skip, grad)
            continue
        _, layer, x_in, y_out, relu6 = entry
        if y_out in done:
            continue
        grad = grads.pop(y_out)
        if relu6:
            grad = _relu6_adjoint(g, y_out, grad)
        expand = made_by.get(x_in)
        if layer.stride == 2 and layer.depthwise and expand is not None and expand[1].kernel == 1:
            # the expansion before a strided depthwise conv: both adjoints at once, so that the
            # strided one's four phases are interleaved after the expansion's adjoint, at its
            # few input channels (16-40) rather than its many outputs (96-240)
            accumulate(expand[2], _expand_stride2_adjoint(g, expand[1], layer, expand[2], grad))
            done.add(x_in)
            continue
        accumulate(x_in, _conv_adjoint(g, layer, x_in, grad))
    g.op("Mul", grads.pop(normalised), g.const(1.0 / model.STD), name="grad")
    return _model(g, f"lite0_dream_gradient_{layer}",
                  [_io("image", [1, 3, "H", "W"]), _io("weights", [1, None, 1, 1])],
                  [_io("grad", None), _io("act", None), _io("loss", [])])


class _Conv:
    """A conv's numbers as the graph needs them (numpy, fp32, on the host)."""

    def __init__(self, module: torch.nn.Conv2d):
        self.weight = module.weight.detach().cpu().float().numpy()
        self.bias = module.bias.detach().cpu().float().numpy()
        self.kernel, self.stride, self.groups = module.kernel_size[0], module.stride[0], module.groups
        self.depthwise = self.groups > 1


def _relu6_adjoint(g: _Graph, z: str, grad: str) -> str:
    """grad * [0 < z < 6], from ReLU6's output z (z > 0 exactly when its input is)."""
    from onnx import TensorProto

    inside = g.op("And", g.op("Greater", z, g.const(0.0)), g.op("Less", z, g.const(6.0)))
    return g.op("Mul", grad, g.op("Cast", inside, to=TensorProto.FLOAT))


def _same_lead(g: _Graph, x: str, k: int) -> tuple[str, str]:
    """(the input's spatial size, the pixels TF's SAME padding put in front of it) for a
    stride-2 conv of kernel k: (k - 2 + n % 2) // 2."""
    n = g.op("Slice", g.op("Shape", x), g.const([2], np.int64), g.const([4], np.int64))
    lead = g.op("Div", g.op("Add", g.op("Mod", n, g.const([2, 2], np.int64)), g.const([k - 2] * 2, np.int64)),
                g.const([2, 2], np.int64))
    return n, lead


def _expand_stride2_adjoint(g: _Graph, expand: _Conv, dw: _Conv, x: str, grad: str) -> str:
    """The adjoint of x -> ReLU6(expand(x)) -> dw (stride 2), applied to `grad` (already through
    dw's ReLU6): the transposed dw conv's four phases P_r stay apart; each is masked by the
    expansion's ReLU6 at the same pixels, recomputed from the matching phase X_r of x (x padded
    by the SAME lead, every other row/column from r), and taken through the expansion's adjoint
    as one batch of four; then the phases are interleaved, at x's channels, and cropped."""
    size = (dw.kernel + 1) // 2
    phases = [g.op("Conv", grad, g.const(kern), kernel_shape=[size, size], pads=[size - 1] * 4,
                   group=dw.groups) for kern in _phase_kernels(dw.weight, True)]
    n, lead = _same_lead(g, x, dw.kernel)
    m = g.op("Slice", g.op("Shape", phases[0]), g.const([2], np.int64), g.const([4], np.int64))
    back = g.op("Sub", g.op("Sub", g.op("Mul", m, g.const([2, 2], np.int64)), n), lead)
    zero2 = g.const([0, 0], np.int64)
    padded = g.op("Pad", x, g.op("Concat", zero2, lead, zero2, back, axis=0))  # x[f - lead], 2m long
    big = g.const([1 << 30] * 2, np.int64)
    parts = [g.op("Slice", padded, g.const([ry, rx], np.int64), big, g.const([2, 3], np.int64),
                  g.const([2, 2], np.int64)) for ry in (0, 1) for rx in (0, 1)]
    z = g.op("Conv", g.op("Concat", *parts, axis=0), g.const(expand.weight), g.const(expand.bias),
             kernel_shape=[1, 1])
    z = g.op("Clip", z, g.const(0.0), g.const(6.0))
    masked = _relu6_adjoint(g, z, g.op("Concat", *phases, axis=0))
    back_x = g.op("Conv", masked, g.const(expand.weight[:, :, 0, 0].T[:, :, None, None]), kernel_shape=[1, 1])
    # batch of 4 phases -> channels (2 ry + rx) * C + c -> pixel (2q + ry, 2p + rx)
    stacked = g.op("Reshape", back_x, g.const([1, -1, 0, 0], np.int64))
    full = _interleave(g, stacked, expand.weight.shape[1], phase_major=True)
    return g.op("Slice", full, lead, g.op("Add", lead, n), g.const([2, 3], np.int64))


def _interleave(g: _Graph, stacked: str, channels: int, phase_major: bool) -> str:
    """The four output phases of a stride-2 adjoint, 1 x 4C x h x w, interleaved into
    1 x C x 2h x 2w: phase 2 ry + rx of channel c goes to pixel (2q + ry, 2p + rx). As a
    ConvTranspose of stride 2 with one-hot 2x2 kernels, which ONNX Runtime runs as a GEMM and a
    scatter, where its DepthToSpace is a general 6-d transpose: 2.7-7x faster alone, about 1%
    of the whole gradient, and as exact (each output is one input times 1 plus zeros).
    Channels c-major (c * 4 + phase) take a grouped ConvTranspose, one input channel per
    output pixel; phase-major ((phase) * C + c, the batched phases) a dense one over all 4C."""
    if phase_major:
        kernel = np.zeros((4 * channels, channels, 2, 2), np.float32)
        for ry in (0, 1):
            for rx in (0, 1):
                kernel[(2 * ry + rx) * channels + np.arange(channels), np.arange(channels), ry, rx] = 1.0
        return g.op("ConvTranspose", stacked, g.const(kernel), kernel_shape=[2, 2], strides=[2, 2])
    kernel = np.zeros((4 * channels, 1, 2, 2), np.float32)
    for ry in (0, 1):
        for rx in (0, 1):
            kernel[np.arange(channels) * 4 + 2 * ry + rx, 0, ry, rx] = 1.0
    return g.op("ConvTranspose", stacked, g.const(kernel), kernel_shape=[2, 2], strides=[2, 2],
                group=channels)


def _conv_adjoint(g: _Graph, layer: _Conv, x_in: str, grad: str) -> str:
    """d(conv)/d(input) applied to `grad` (see the module's docstring)."""
    weight, k, stride, groups = layer.weight, layer.kernel, layer.stride, layer.groups
    if k == 1:
        return g.op("Conv", grad, g.const(weight[:, :, 0, 0].T[:, :, None, None]), kernel_shape=[1, 1])
    if stride == 1:
        return g.op("Conv", grad, g.const(weight[:, :, ::-1, ::-1]), kernel_shape=[k, k],
                    pads=[k // 2] * 4, group=groups)
    size = (k + 1) // 2
    depthwise = layer.depthwise
    kernels = _phase_kernels(weight, depthwise)
    if depthwise:  # four depthwise convs (fast) rather than one with 4 outputs per group (slow)
        phases = [g.op("Conv", grad, g.const(kern), kernel_shape=[size, size],
                       pads=[size - 1] * 4, group=groups) for kern in kernels]
        stacked = g.op("Concat", *phases, axis=1)
        # channel (2 ry + rx) * C + c -> pixel (2q + ry, 2p + rx) of channel c
        full = g.op("DepthToSpace", stacked, blocksize=2, mode="DCR")
    else:  # the four phases of each input channel side by side (channel c * 4 + phase)
        stacked = g.op("Conv", grad, g.const(np.stack(kernels, 1).reshape(-1, *kernels[0].shape[1:])),
                       kernel_shape=[size, size], pads=[size - 1] * 4)
        full = _interleave(g, stacked, weight.shape[1], phase_major=False)
    n, lead = _same_lead(g, x_in, k)  # crop to the input
    return g.op("Slice", full, lead, g.op("Add", lead, n), g.const([2, 3], np.int64))


def _options(threads: int | None):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or torch.get_num_threads()
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    # like OMP_WAIT_POLICY=PASSIVE for torch (liveart/cpu_threads.py): never spin
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.log_severity_level = 3
    return options


def _session(onnx_model, threads: int | None = None):
    import onnxruntime as ort

    return ort.InferenceSession(onnx_model.SerializeToString(), _options(threads),
                                providers=["CPUExecutionProvider"])


def _gradient_session(onnx_model, channels: int, threads: int | None = None):
    """(the gradient graph's session, whether its ReLU6 masks run in the blocked layout): they
    do (liveart/models/blocked_masks.py) where the rewrite applies and gives the gradient
    ONNX Runtime's own plan gives; that plan runs otherwise."""
    import onnx
    import onnxruntime as ort

    from .blocked_masks import keep_masks_blocked
    from .mask_schedule import masks_wait_for_gradients

    with tempfile.TemporaryDirectory(prefix="liveart-graph-") as folder:
        options = _options(threads)
        options.optimized_model_filepath = os.path.join(folder, "optimized.onnx")
        planned = ort.InferenceSession(onnx_model.SerializeToString(), options,
                                       providers=["CPUExecutionProvider"])
        try:
            optimized = onnx.load(options.optimized_model_filepath)
            if not keep_masks_blocked(optimized.graph):
                return planned, False
            masks_wait_for_gradients(optimized.graph)
            options = _options(threads)
            options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
            rewritten = ort.InferenceSession(optimized.SerializeToString(), options,
                                             providers=["CPUExecutionProvider"])
        except Exception as e:  # noqa: BLE001 - the plain plan is as right, only slower
            log.info("the gradient's masks stay in ONNX Runtime's plan (%s)", e)
            return planned, False
    if not _same_gradient(planned, rewritten, channels):
        log.info("the gradient's rewritten masks disagreed with ONNX Runtime's plan; using that")
        return planned, False
    return rewritten, True


def _same_gradient(a, b, channels: int) -> bool:
    """Whether two sessions of one gradient graph agree on a test image (of odd sizes, for
    the stride-2 adjoints' other parity), to a rounding error."""
    feed = {"image": np.random.default_rng(0).random((1, 3, 75, 101), dtype=np.float32),
            "weights": np.full((1, channels, 1, 1), 1.0 / channels, np.float32)}
    ga, gb = (session.run(["grad"], feed)[0] for session in (a, b))
    scale = float(np.abs(ga).max())
    return bool(np.isfinite(gb).all() and scale > 0 and np.abs(ga - gb).max() <= 1e-4 * scale)


class OnnxClassifier:
    """The whole network to its logits in an ONNX Runtime session (no gradient)."""

    def __init__(self, model: EfficientNetLite0, threads: int | None = None):
        self.session = _session(build_classifier(model), threads)

    def __call__(self, image: torch.Tensor) -> torch.Tensor:
        (logits,) = self.session.run(None, {"image": image.detach().float().contiguous().numpy()})
        return torch.from_numpy(logits)


class OnnxDreamGradient:
    """One (network, layer)'s gradient graph in an ONNX Runtime session on the CPU."""

    def __init__(self, model: EfficientNetLite0, layer: str, threads: int | None = None):
        self.layer = layer
        self.channels = self.channels_of(model, layer)
        self.session, self.blocked_masks = _gradient_session(build_graph(model, layer), self.channels,
                                                             threads)
        self._weights: dict[int | None, np.ndarray] = {}

    @staticmethod
    def channels_of(model: EfficientNetLite0, layer: str) -> int:
        if layer == "head":
            return model._conv_head.out_channels
        return model._blocks[int(layer.split(".")[1])]._project_conv.out_channels

    def weights(self, channel: int | None) -> np.ndarray:
        """The objective's channel weights: the whole layer's mean, or one channel's."""
        w = self._weights.get(channel)
        if w is None:
            w = np.zeros((1, self.channels, 1, 1), np.float32)
            if channel is None:
                w[0, : self.channels] = 1.0 / self.channels
            else:
                w[0, channel % self.channels] = 1.0
            self._weights[channel] = w
        return w

    def __call__(self, image: torch.Tensor, channel: int | None = None):
        """(gradient 1x3xHxW, activation, objective as a 0-d tensor) for `image` (1x3xHxW)."""
        feed = {"image": image.detach().float().contiguous().numpy(), "weights": self.weights(channel)}
        grad, act, loss = self.session.run(None, feed)
        return torch.from_numpy(grad), torch.from_numpy(act), torch.from_numpy(np.asarray(loss))


def wanted() -> bool:
    return os.environ.get(ENV, "").strip().lower() != "torch"


class GradientGraphs:
    """Gradient graphs per (network, layer), built in a background thread the first time one
    is asked for (5-265 ms, deeper layers longer), so a layer change never stalls the show;
    until it is ready, and for good if it can not be built, the caller falls back to torch's
    autograd. The KEEP most recently used are kept: a graph holds its layers' weights, and all
    17 of Lite0's together took 312 MB (a performer stepping through every layer would keep
    them all)."""

    KEEP = 4

    def __init__(self):
        # keyed by the network itself (not its id, which a later network could reuse)
        self._ready: OrderedDict[tuple[torch.nn.Module, str], OnnxDreamGradient | None] = OrderedDict()
        self._building: dict[tuple[torch.nn.Module, str], Future] = {}
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        self._classifiers: dict[torch.nn.Module, OnnxClassifier | None] = {}

    def classifier(self, model: torch.nn.Module) -> OnnxClassifier | None:
        """The network to its logits, built here and now the first time (the dream classifies
        in a thread of its own live, and in line when rendering); None: use torch."""
        if model not in self._classifiers:
            built = None
            if wanted() and supported(model):
                try:
                    built = OnnxClassifier(model)
                except Exception as e:  # noqa: BLE001 - any failure here only costs speed
                    log.warning("the ONNX Runtime classifier could not be built (%s); labels stay "
                                "on torch", e)
            self._classifiers[model] = built
        return self._classifiers[model]

    def get(self, model: torch.nn.Module, layer: str, wait: bool = False) -> OnnxDreamGradient | None:
        key = (model, layer)
        if key in self._ready:
            self._ready.move_to_end(key)
            return self._ready[key]
        if not wanted() or not supported(model):
            self._ready[key] = None
            return None
        with self._lock:
            future = self._building.get(key)
            if future is None:
                if self._pool is None:
                    self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gradient-graph")
                future = self._pool.submit(OnnxDreamGradient, model, layer)
                self._building[key] = future
        if not (wait or future.done()):
            return None
        del self._building[key]
        try:
            self._ready[key] = future.result()
        except Exception as e:  # noqa: BLE001 - any failure here only costs speed
            log.warning("the dream's ONNX Runtime gradient could not be built (%s); it stays on "
                        "torch's autograd", e)
            self._ready[key] = None
        graph = self._ready[key]
        while len(self._ready) > self.KEEP:
            self._ready.popitem(last=False)
        return graph
