"""The registry is the lowest layer: importing it (and the commands that only need it) loads
no torch, so `liveart params`, presets and MIDI map checks answer at once."""
import subprocess
import sys
import time

import pytest


def _modules_after(code: str) -> set[str]:
    probe = code + "\nimport sys; print(' '.join(m for m in ('torch', 'numpy', 'cv2') if m in sys.modules))"
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return set(proc.stdout.split())


def test_the_registry_imports_neither_torch_nor_numpy():
    assert _modules_after("import liveart.params as p; assert len(p.REGISTRY) > 50") == set()


@pytest.mark.parametrize("argv", [["params"], ["params", "--json"], ["presets"], ["midi", "list"],
                                  ["midi", "check", "nanokontrol2"]])
def test_commands_that_run_no_network_load_no_torch(argv):
    code = ("import contextlib, io\nfrom liveart.cli import main\n"
            f"with contextlib.redirect_stdout(io.StringIO()):\n    rc = main({argv!r})\n"
            "assert rc == 0, rc")
    assert "torch" not in _modules_after(code)


def test_liveart_params_starts_in_well_under_a_second():
    # a coarse guard only (the cause, torch, is tested above): measured 0.24 s on 2 cores,
    # against 1.2 s when the registry loaded torch; the best of three, so a busy moment of the
    # machine does not count
    times = []
    for _ in range(3):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "liveart", "params"], capture_output=True,
                       check=True, timeout=60)
        times.append(time.perf_counter() - start)
    assert min(times) < 1.0, times


def test_the_declared_layer_names_are_the_networks_own():
    from liveart.models.efficientnet_lite import EfficientNetLite0
    from liveart.models.vgg16 import VGG16Features, vgg19_layer_names
    from liveart.params.dream import DEFAULT_LAYERS, MODEL_LAYERS

    assert MODEL_LAYERS["efficientnet_lite0"] == tuple(EfficientNetLite0.layer_names())
    assert MODEL_LAYERS["vgg16"] == tuple(VGG16Features.layer_names())
    assert MODEL_LAYERS["vgg19"] == tuple(vgg19_layer_names())
    assert all(DEFAULT_LAYERS[m] in layers for m, layers in MODEL_LAYERS.items())


def test_the_declared_scene_names_are_the_scenes():
    from liveart.params.scene import SCENE_NAMES
    from liveart.scenes import SCENES

    assert tuple(SCENES) == SCENE_NAMES
