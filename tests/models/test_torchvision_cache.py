"""torchvision's cached downloads: found by file name, listed in the zoo, VGG19 usable as a
dream network. The checkpoints here are built in the test with torchvision's key names and
shapes (random values): no network, no torchvision."""
import json
import subprocess
import sys

import pytest
import torch

from liveart.errors import UserError
from liveart.models import vgg16 as V
from liveart.models.torchvision_cache import cached_checkpoint


@pytest.fixture
def torch_home(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    V._load_vgg19_cpu.cache_clear()
    folder = tmp_path / "torch" / "hub" / "checkpoints"
    folder.mkdir(parents=True)
    yield folder
    V._load_vgg19_cpu.cache_clear()


def write_vgg19(folder, name="vgg19-dcbb9e9d.pth"):
    g = torch.Generator().manual_seed(0)
    state = {k: torch.randn(s, generator=g) * 0.05 for k, s in V.expected_shapes(V.CFG_VGG19).items()}
    state["classifier.0.weight"] = torch.zeros(4, 4)  # torchvision's file has the classifier too
    torch.save(state, folder / name)
    return state


def test_files_are_found_by_torchvisions_names(torch_home):
    assert cached_checkpoint("vgg19") is None
    (torch_home / "vgg19_bn-c79401a0.pth").write_bytes(b"x")  # batch-norm variant: not ours
    (torch_home / "googlenet-1378be20.pth").write_bytes(b"x")
    assert cached_checkpoint("vgg19") is None
    assert cached_checkpoint("googlenet").name == "googlenet-1378be20.pth"
    assert cached_checkpoint("inception_v3") is None


def test_vgg19_loads_and_taps_the_deepest_layer_only(torch_home):
    with pytest.raises(UserError, match="VGG19's weights are not in the torch hub cache"):
        V.load_vgg19()
    state = write_vgg19(torch_home)
    model = V.load_vgg19()
    assert torch.equal(model.features[34].weight, state["features.34.weight"])  # conv5_4
    x = torch.rand(1, 3, 64, 64)
    out = model.forward_taps(x, {"relu3_4", "relu5_4"})
    assert out["relu3_4"].shape == (1, 256, 16, 16) and out["relu5_4"].shape == (1, 512, 4, 4)


def test_a_damaged_vgg19_file_is_one_sentence(torch_home):
    (torch_home / "vgg19-dcbb9e9d.pth").write_bytes(b"not a checkpoint")
    with pytest.raises(UserError, match="Could not read torchvision's VGG19 checkpoint"):
        V.load_vgg19()


def test_models_list_and_layers_from_the_command_line(torch_home, tmp_path):
    env = {"TORCH_HOME": str(tmp_path / "torch"), "PATH": "/usr/bin:/bin"}
    run = lambda *a: subprocess.run([sys.executable, "-m", "liveart", "models", *a],  # noqa: E731
                                    env=env, capture_output=True, text=True)
    before = {e["name"]: e for e in json.loads(run("list", "--json").stdout)}
    assert not before["vgg19"]["installed"] and not before["googlenet"]["installed"]
    assert "torchvision.models.vgg19(weights='DEFAULT')" in before["vgg19"]["how_to_get"]
    write_vgg19(torch_home)
    after = {e["name"]: e for e in json.loads(run("list", "--json").stdout)}
    assert after["vgg19"]["installed"] and after["vgg19"]["size_bytes"] > 70e6
    layers = run("layers", "vgg19").stdout.split("\n")
    assert "relu4_4  (default)" in layers and "relu5_4" in layers
    r = run("layers", "googlenet")
    assert r.returncode == 2 and "not a dream network" in r.stderr


def test_the_dream_runs_on_vgg19(torch_home):
    from liveart.params import ParamStore
    from liveart.scenes.dream import DreamScene

    write_vgg19(torch_home)
    store = ParamStore({"dream.model": "vgg19", "dream.layer": "relu4_4", "dream.octaves": 1,
                        "dream.steps": 1})
    scene = DreamScene(torch.device("cpu"))
    frame = torch.rand(1, 3, 72, 128)
    out = scene.render(frame, store.snapshot())
    assert out.shape == frame.shape and torch.isfinite(out).all()
    assert scene.model_name == "vgg19" and (out - frame).abs().mean() > 1e-4
