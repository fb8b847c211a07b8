"""Deep Dream: gradient ascent on the live frame to make a layer of the network fire harder.

Google's original recipe (octaves of scale 1.4, steps of 0.02 x gradient / mean |gradient|,
random jitter, objective: mean squared activation of a layer), arranged for a live loop:

- live (`process`): each tick runs `dream.steps` steps at one octave, cycling from coarse to
  fine across ticks; the dream's detail (output minus camera) carries into the next tick
  (`dream.persist`), so the dream grows over a few ticks without ghosting the camera's own
  picture (the detail stays where it grew; a fast pan smears it until it regrows). `dream.feedback` carries the whole previous output instead: the "whatever you see,
  I want more of it" loop, transformed each tick by zoom/rotate/drift for the infinite zoom.
- offline (`render`): the full octave pyramid with `dream.steps` steps per octave, per frame.
"""
from __future__ import annotations

import logging
import math
import random
import threading
import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Callable

import torch
import torch.nn.functional as F

from ..errors import UserError
from ..flow import MotionFollower
from ..frames import all_finite
from ..models import BACKBONES, imagenet_labels, load_backbone
from ..models.gradient_graph import GradientGraphs
from ..music.summary import summarize
from ..params import Snapshot
from ..params.dream import DEFAULT_MODEL, parse_guide  # noqa: F401  (parse_guide: re-exported)
from ..resample import resize
from .base import Scene

log = logging.getLogger(__name__)


class GaussianBlur:
    """Depthwise gaussian blur with kernels cached per sigma (for gradient smoothing)."""

    def __init__(self):
        self._cache: dict[tuple, torch.Tensor] = {}

    def __call__(self, x: torch.Tensor, sigma: float) -> torch.Tensor:
        sigma = round(sigma, 2)
        if sigma < 0.1:
            return x
        key = (sigma, x.device, x.dtype)
        k = self._cache.get(key)
        if k is None:
            r = max(1, int(math.ceil(2.5 * sigma)))
            t = torch.arange(-r, r + 1, dtype=torch.float32)
            g = torch.exp(-0.5 * (t / sigma) ** 2)
            k = (g / g.sum()).to(x.device, x.dtype)
            self._cache[key] = k
        c, r = x.shape[1], (k.numel() - 1) // 2
        x = F.pad(x, (r, r, r, r), mode="reflect")
        x = F.conv2d(x, k.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)
        return F.conv2d(x, k.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)


def octave_shapes(h: int, w: int, octaves: int, scale: float, min_side: int = 32):
    """Sizes from finest (the frame's) to coarsest; coarse octaves stop at `min_side`."""
    shapes = [(h, w)]
    for o in range(1, octaves):
        f = scale ** -o
        sh, sw = int(round(h * f)), int(round(w * f))
        if min(sh, sw) < min_side:
            break
        shapes.append((sh, sw))
    return shapes


class DreamScene(Scene):
    name = "dream"
    LABEL_EVERY = 8  # ticks between classifications of the live frame (for the HUD)
    on_step: Callable[[], None] | None = None  # render(): called after each step (progress)

    def __init__(self, device: torch.device, half: bool = False, seed: int = 0):
        super().__init__(device, half)
        self.model_name = DEFAULT_MODEL
        self.model = load_backbone(DEFAULT_MODEL, device, half=half)
        self._loading: tuple[str, Future] | None = None
        self._load_failed: dict[str, float] = {}  # model -> monotonic time of the failure
        self._warned: set[str] = set()
        self.blur = GaussianBlur()
        self.graphs = GradientGraphs()  # the gradient as one ONNX Runtime graph (CPU, Lite0)
        self.wait_for_graphs = False  # render(): use the graph from the first step
        self.use_graphs = True  # False: torch's autograd (`liveart bench --compare autograd`)
        self.motion = MotionFollower()
        self._following = False  # dream.follow as of the last tick (frame_arrived)
        self.rng = random.Random(seed)
        self.tick = 0
        self._labels: list[tuple[str, float]] = []
        self._label_pool: ThreadPoolExecutor | None = None
        self._labelling: tuple[torch.nn.Module, Future] | None = None  # (network, its result)
        self._guide_text: str | None = None
        self._guide = None
        self.last_energy = 0.0  # objective value of the last step, for tests and the HUD
        self._engine = "torch"  # what computed the last gradient (gradient_engine())
        self._act = None  # the layer's activation in the last step, for the music summary
        self._summary_lock = threading.Lock()  # the fields below, held only to read or set them
        self._summarizing = threading.Lock()  # held by the one making a summary
        self._summary_generation = 0  # counts the summaries set from outside (render)
        self._summary = None  # ActivationSummary of the last tick (liveart.music): see summary
        self._summarized = -1  # the number of the activation it summarizes
        self._heard_count = 0  # activations heard so far
        # (number, activation, labels) of the last two ticks, for summary to make when asked
        self._heard: deque = deque(maxlen=2)
        self.reset()

    # -- the network ---------------------------------------------------------------------------
    def prepare(self, snap: Snapshot) -> None:
        """Load the model the parameters ask for now (UserError if it isn't installed)."""
        if snap["dream.model"] != self.model_name:
            self._switch(snap["dream.model"], load_backbone(snap["dream.model"], self.device, self.half))

    def _switch(self, name: str, model: torch.nn.Module) -> None:
        self.model_name, self.model = name, model
        self._labels = []
        self.reset()
        log.info("dream now runs on %s", name)

    def _sync_model(self, name: str) -> None:
        """Swap to model `name`, loading it in the background so the show never waits."""
        if name == self.model_name:
            return
        if self._loading is None:
            if time.monotonic() - self._load_failed.get(name, -1e9) < 10.0:
                return  # failed recently: don't hammer the disk every tick
            pool = ThreadPoolExecutor(max_workers=1)
            self._loading = (name, pool.submit(load_backbone, name, self.device, self.half))
            pool.shutdown(wait=False)
            return
        loading, future = self._loading
        if not future.done():
            return
        self._loading = None
        try:
            model = future.result()
        except UserError as e:
            self._load_failed[loading] = time.monotonic()
            log.warning("%s", e)
            return
        if loading == name:
            self._switch(name, model)

    def _layer(self, snap: Snapshot) -> str:
        layer, backbone = snap["dream.layer"], BACKBONES[self.model_name]
        if layer in backbone.layers:
            return layer
        if (self.model_name, layer) not in self._warned:
            self._warned.add((self.model_name, layer))
            log.warning("%s has no layer %s; dreaming at %s", self.model_name, layer,
                        backbone.default_layer)
        return backbone.default_layer

    # -- state -------------------------------------------------------------------------------
    def reset(self) -> None:
        self.prev_out: torch.Tensor | None = None
        self.detail: torch.Tensor | None = None
        self.motion.reset()

    def labels(self) -> list[tuple[str, float]]:
        return self._labels

    def _guide_for(self, text: str):
        if text != self._guide_text:
            self._guide_text = text
            try:
                self._guide = parse_guide(text)
            except UserError as e:  # from OSC/MIDI: say it once, dream unguided meanwhile
                log.warning("%s", e)
                self._guide = None
        return self._guide

    # -- the gradient step -------------------------------------------------------------------
    def objective(self, img: torch.Tensor, layer: str, guide) -> torch.Tensor:
        x = img.to(memory_format=torch.channels_last)
        if self.half:
            x = x.half()
        if guide is not None and guide[0] == "class" and BACKBONES[self.model_name].classifier:
            logits = self.model.forward_taps(x, set(), logits=True)["logits"].float()
            return logits.log_softmax(1)[0, guide[1]] + 0.05 * logits[0, guide[1]]
        act = self.model.forward_taps(x, {layer})[layer].float()
        self._act = act.detach()
        if guide is not None and guide[0] == "channel":  # one channel of the layer
            act = act[:, guide[1] % act.shape[1]]
        return act.pow(2).mean()

    def _graph_for(self, layer: str, guide):
        """The ONNX Runtime gradient for this step, or None for torch's autograd: only on the
        CPU in fp32, for the objective as written here (a subclass may change it), for the
        whole layer or one channel of it (a class guide goes through the classifier)."""
        if (not self.use_graphs or self.device.type != "cpu" or self.half
                or type(self).objective is not DreamScene.objective
                or (guide is not None and guide[0] != "channel")):
            return None
        return self.graphs.get(self.model, layer, wait=self.wait_for_graphs)

    def gradient_engine(self) -> str:
        """What computed the last step's gradient: "onnxruntime" or "torch"."""
        return self._engine

    def gradient(self, img: torch.Tensor, layer: str, guide) -> tuple[torch.Tensor, torch.Tensor]:
        """(d objective / d img, objective) for `img` (1x3xhxw, detached)."""
        graph = self._graph_for(layer, guide)
        self._engine = "torch" if graph is None else "onnxruntime"
        if graph is not None:
            grad, self._act, loss = graph(img, guide[1] if guide is not None else None)
            return grad, loss
        img = img.detach().requires_grad_(True)
        loss = self.objective(img, layer, guide)
        (grad,) = torch.autograd.grad(loss, img)
        return grad, loss.detach()

    def step(self, img: torch.Tensor, snap: Snapshot) -> torch.Tensor:
        """One gradient-ascent step on `img` (detached, 1x3xhxw); returns the new image."""
        h, w = img.shape[-2:]
        j = min(int(snap["dream.jitter"]), h // 4, w // 4)
        ox, oy = (self.rng.randint(-j, j), self.rng.randint(-j, j)) if j else (0, 0)
        img = img.detach()
        shifted = torch.roll(img, shifts=(oy, ox), dims=(2, 3)) if j else img
        grad, self.last_energy = self.gradient(shifted, self._layer(snap), self._guide_for(snap["dream.guide"]))
        if j:  # the gradient is with respect to the shifted image: shift it back
            grad = torch.roll(grad, shifts=(-oy, -ox), dims=(2, 3))
        grad = self.blur(grad, snap["dream.smooth"])
        # step_size / (mean |grad| + 1e-8), in two operations rather than four (one pass for
        # the norm), without reading the value back (no device sync on a GPU)
        n = grad.numel()
        l1 = torch.linalg.vector_norm(grad, 1, dtype=torch.float32)
        scale = (snap["dream.step_size"] * n) / (l1 + 1e-8 * n)
        return torch.addcmul(img, grad, scale).clamp_(0.0, 1.0)

    # -- feedback transform ------------------------------------------------------------------
    def warp(self, x: torch.Tensor, snap: Snapshot) -> torch.Tensor:
        zoom, rot = snap["dream.zoom"], snap["dream.rotate"]
        dx, dy = snap["dream.drift"], snap["dream.drift_y"]
        if zoom == 0 and rot == 0 and dx == 0 and dy == 0:
            return x
        h, w = x.shape[-2:]
        s = 1.0 / (1.0 + zoom)
        a = math.radians(rot)
        # affine_grid works in normalised coordinates; correct rotation for the aspect ratio
        theta = torch.tensor([[s * math.cos(a), -s * math.sin(a) * h / w, -2.0 * dx / w],
                              [s * math.sin(a) * w / h, s * math.cos(a), -2.0 * dy / h]],
                             dtype=x.dtype, device=x.device)[None]
        grid = F.affine_grid(theta, list(x.shape), align_corners=False)
        return F.grid_sample(x, grid, mode="bilinear", padding_mode="reflection",
                             align_corners=False)

    def frame_arrived(self, frame: torch.Tensor) -> None:
        if self._following:  # the optical flow, ahead of the tick (MotionFollower.ahead)
            self.motion.ahead(frame)

    def _start(self, frame: torch.Tensor, snap: Snapshot) -> torch.Tensor:
        """The image this tick dreams on: the frame plus what carries over from the last."""
        if snap.fired("dream.reset") or (self.prev_out is not None
                                         and self.prev_out.shape != frame.shape):
            self.reset()
        self._following = snap["dream.follow"]
        if self._following:
            self.motion.update(frame)
        follow = self.motion.warp if snap["dream.follow"] else (lambda t: t)
        start = frame
        if self.detail is not None and snap["dream.persist"] > 0:
            start = torch.add(start, self.warp(follow(self.detail), snap), alpha=snap["dream.persist"])
        if self.prev_out is not None and snap["dream.feedback"] > 0:
            start = torch.lerp(start, self.warp(follow(self.prev_out), snap), snap["dream.feedback"])
        return start.clamp(0.0, 1.0)

    def _finish(self, frame: torch.Tensor, out: torch.Tensor, wait: bool = False) -> torch.Tensor:
        if self._act is not None:  # publish what the last step heard (no extra forward pass)
            self._publish_summary(self._act, wait)
            self._act = None
        if not all_finite(out):  # a NaN would otherwise live forever in feedback
            log.warning("dream state went non-finite; reset")
            self.reset()
            return frame
        self.prev_out = out
        self.detail = out - frame
        return out

    @property
    def summary(self):
        """The ActivationSummary of the last tick's activation, for the music voice, OSC and the
        HUD. Live, it is made when first asked for, in the asker's thread: a dozen small
        operations that cost 0.3 ms a tick in line, just after the network's pass has pushed
        them out of the CPU's caches (docs/benchmarks.md), and nobody may ask (the music is
        optional). Its novelty still compares the last tick with the one before it: the
        tick before's summary is made too, when it was not asked for."""
        with self._summarizing:  # one asker makes it, the others wait for it; never the tick
            with self._summary_lock:
                heard, done, current, generation = (list(self._heard), self._summarized,
                                                    self._summary, self._summary_generation)
            if not heard or heard[-1][0] == done:
                return current
            number, act, labels = heard[-1]
            try:
                previous = current
                if len(heard) == 2 and heard[0][0] != done:
                    previous = summarize(heard[0][1], None, heard[0][2])
                made = summarize(act, previous, labels)
            except Exception:  # noqa: BLE001 - it feeds the music: never stop the dream
                log.debug("summarizing the activation failed", exc_info=True)
                made = current
            with self._summary_lock:
                if self._summary_generation == generation:  # not set meanwhile (render, tests)
                    self._summary, self._summarized = made, number
                return self._summary

    @summary.setter
    def summary(self, value) -> None:
        with self._summary_lock:
            self._summary = value
            self._summary_generation += 1
            self._heard.clear()

    def _publish_summary(self, act: torch.Tensor, wait: bool) -> None:
        """Live: keep the activation for `summary`. `wait` (render): summarize it here and
        now, every frame alike."""
        if wait:
            self.summary = summarize(act, self._summary, self._labels)
            return
        with self._summary_lock:
            self._heard_count += 1
            self._heard.append((self._heard_count, act, self._labels))

    def _update_labels(self, frame: torch.Tensor, wait: bool = False) -> None:
        """Every LABEL_EVERY ticks, classify the frame for the HUD and the music summary. Live,
        the classification (a whole forward pass to the logits) runs in a thread of its own,
        on the core torch leaves free, and its labels arrive a tick or two later, instead of
        stalling every eighth tick; `wait` (render) classifies in line, deterministically."""
        pending = self._labelling
        if pending is not None and (wait or pending[1].done()):
            self._labelling = None
            try:
                labels = pending[1].result()
            except Exception:  # noqa: BLE001 - labels are decoration: never stop the dream
                log.debug("classifying the frame failed", exc_info=True)
            else:
                if pending[0] is self.model:  # not from a network switched away from since
                    self._labels = labels
        if self.tick % self.LABEL_EVERY or not BACKBONES[self.model_name].classifier:
            return
        if wait:
            self._labels = self._classify(self.model, frame)
        elif self._labelling is None:
            if self._label_pool is None:
                self._label_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="labels")
            self._labelling = (self.model, self._label_pool.submit(self._classify, self.model, frame))

    def _classify(self, model: torch.nn.Module, frame: torch.Tensor) -> list[tuple[str, float]]:
        # on the CPU in fp32, ONNX Runtime's forward pass: about half torch's time, and it holds
        # the interpreter once per pass instead of once per layer, so the dream runs beside it
        onnx = self.graphs.classifier(model) if self.device.type == "cpu" and not self.half else None
        with torch.no_grad():
            if onnx is not None:
                logits = onnx(frame)
            else:
                x = frame.to(memory_format=torch.channels_last)
                logits = model.forward_taps(x.half() if self.half else x, set(), logits=True)["logits"]
            p = logits.float().softmax(1)[0]
            v, i = p.topk(3)
        names = imagenet_labels()
        return [(names[k], float(q)) for q, k in zip(v.tolist(), i.tolist())]

    # -- live and offline --------------------------------------------------------------------
    def process(self, frame: torch.Tensor, snap: Snapshot) -> torch.Tensor:
        self._sync_model(snap["dream.model"])
        self._update_labels(frame)
        start = self._start(frame, snap)
        h, w = frame.shape[-2:]
        shapes = octave_shapes(h, w, snap["dream.octaves"], snap["dream.octave_scale"])
        octave = len(shapes) - 1 - self.tick % len(shapes)  # coarse to fine across ticks
        self.tick += 1
        img = resize(start, shapes[octave])
        base = img
        for _ in range(snap["dream.steps"]):
            img = self.step(img, snap)
        delta = resize(img - base, (h, w))
        return self._mix(frame, self._finish(frame, (start + delta).clamp_(0.0, 1.0)), snap)

    def render_steps(self, hw: tuple[int, int], snap: Snapshot) -> int:
        """The gradient steps render() takes on an h x w frame: octaves x steps (coarse
        octaves stop at 32 px, so a small frame has fewer)."""
        shapes = octave_shapes(*hw, snap["dream.octaves"], snap["dream.octave_scale"])
        return len(shapes) * snap["dream.steps"]

    def render(self, frame: torch.Tensor, snap: Snapshot) -> torch.Tensor:
        """Google's full octave pyramid on one frame: steps per octave, coarse to fine."""
        if snap["dream.model"] != self.model_name:  # offline: wait for the model
            self.prepare(snap)
        self.wait_for_graphs = True  # offline: the same gradient from the first frame on
        self._update_labels(frame, wait=True)
        self.tick += 1
        start = self._start(frame, snap)
        h, w = frame.shape[-2:]
        shapes = octave_shapes(h, w, snap["dream.octaves"], snap["dream.octave_scale"])
        detail = None
        for shape in reversed(shapes):
            base = resize(start, shape)
            if detail is not None:
                detail = resize(detail, shape)
            img = base if detail is None else (base + detail).clamp(0.0, 1.0)
            for _ in range(snap["dream.steps"]):
                img = self.step(img, snap)
                if self.on_step is not None:
                    self.on_step()
            detail = img - base
        return self._mix(frame, self._finish(frame, (start + detail).clamp_(0.0, 1.0), wait=True), snap)

    @staticmethod
    def _mix(frame: torch.Tensor, out: torch.Tensor, snap: Snapshot) -> torch.Tensor:
        # the state keeps the full dream; only what is shown is blended with the live frame
        mix = snap["dream.mix"]
        return out if mix >= 1.0 else torch.lerp(frame, out, mix)
