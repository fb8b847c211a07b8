"""Every CLI error path: one sentence on stderr, exit code 2, nothing else."""
import json
import subprocess
import sys

import pytest

from liveart.cli import main


@pytest.fixture
def files(tmp_path):
    corrupt_png = tmp_path / "corrupt.png"
    corrupt_png.write_bytes(b"\x89PNG not really an image")
    corrupt_mp4 = tmp_path / "corrupt.mp4"
    corrupt_mp4.write_bytes(bytes(range(256)) * 40)
    bad_toml = tmp_path / "bad.toml"
    bad_toml.write_text("[dream\nlayer = 'blocks.3'\n")
    unknown_toml = tmp_path / "unknown.toml"
    unknown_toml.write_text("[dream]\nlayers = 'blocks.3'\n")
    range_toml = tmp_path / "range.toml"
    range_toml.write_text("[dream]\noctaves = 12\n")
    still = tmp_path / "still.png"
    import cv2
    import numpy as np

    cv2.imwrite(str(still), np.full((40, 60, 3), 128, np.uint8))
    return tmp_path


CASES = [
    (["run", "--set", "dream.octaves=lots"], "dream.octaves takes a number from 1 to 6"),
    (["run", "--set", "dream.octave=3"], "Unknown parameter 'dream.octave' (did you mean dream.octaves?)"),
    (["run", "--set", "octaves=3"], "did you mean dream.octaves?"),
    (["run", "--set", "dream.octaves=9"], "--set dream.octaves=9 is outside its range 1..6"),
    (["run", "--set", "dream.step_size=5"], "--set dream.step_size=5 is outside its range"),
    (["render", "{d}/still.png", "{d}/out.png", "--set", "dream.octaves=0"], "outside its range"),
    (["run", "--set", "dream.layer=blocks.99"], "must be one of blocks.0"),
    (["run", "--set", "nonsense"], "name=value"),
    (["run", "--source", "floppy"], "--source must be one of"),
    (["run", "--source", "video:{d}/missing.mp4"], "missing.mp4 does not exist"),
    (["run", "--source", "video:{d}/corrupt.mp4"], "corrupt.mp4 could not be read"),
    (["run", "--source", "image:{d}/corrupt.png"], "corrupt.png could not be read"),
    (["run", "--size", "big"], "--size takes WIDTHxHEIGHT"),
    (["run", "--size", "8x8"], "--size must be between"),
    (["run", "--window", "0x0"], "--window must be between"),
    (["run", "--device", "tpu"], "--device must be one of"),
    (["run", "--device", "cuda"], "sees no CUDA device"),
    (["run", "--preset", "nope"], "Unknown preset 'nope'; available presets are: bass-dream, breathe, deep-eyes"),
    (["run", "--preset", "{d}/bad.toml"], "bad.toml is not valid TOML"),
    (["run", "--preset", "{d}/unknown.toml"], "unknown.toml, line 2 sets unknown parameter 'dream.layers'"),
    (["run", "--preset", "{d}/range.toml"], "range.toml, line 2 sets dream.octaves = 12, outside its range"),
    (["run", "--preset", "{d}/missing.toml"], "missing.toml does not exist"),
    (["run", "--headless", "--frames", "0"], "--frames must be a positive number"),
    (["run", "--record", "{d}/out.gif"], "Cannot record to"),
    (["run", "--record", "{d}/no/such/dir/out.mp4"], "does not exist"),
    (["run", "--scene", "waltz"], "Unknown scene 'waltz'"),
    (["run", "--frames", "x"], "invalid int value"),
    (["render", "{d}/missing.png", "{d}/out.png"], "missing.png does not exist"),
    (["render", "{d}/still.png", "{d}/out.mp4"], "same kind"),
    (["render", "{d}/still.png", "{d}/out.txt"], "must end in an image"),
    (["render", "{d}/corrupt.png", "{d}/out.png"], "corrupt.png could not be read"),
    (["bench", "--seconds", "0"], "--seconds must be a positive number"),
    (["bench", "--scene", "style", "--compare", "reference"], "--compare reference compares the dream scene"),
    (["bench", "--scene", "dream", "--compare", "smooth"], "--compare smooth compares the style scene"),
    (["bench", "--scene", "style", "--compare", "autograd"], "--compare autograd compares the dream scene"),
    (["bench", "--scene", "dream", "--compare", "autograd", "--set", "dream.guide=goldfish"],
     "--compare autograd needs the ONNX Runtime gradient"),
    (["bench", "--scene", "style", "--compare", "smooth", "--set", "style.smooth=0"],
     "--compare smooth needs style.smooth above 0"),
    (["models", "layers", "alexnet"], "Unknown model 'alexnet'"),
    (["dance"], "invalid choice"),
    (["run", "--bogus"], "unrecognized arguments: --bogus"),
]


@pytest.mark.parametrize("argv,message", CASES, ids=[" ".join(c[0])[:40] for c in CASES])
def test_error_is_one_sentence_and_exit_2(argv, message, files, capsys):
    argv = [a.format(d=files) for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert message in err
    assert err.startswith("liveart") and "\n" not in err and "Traceback" not in err


def test_the_unknown_name_message_is_short_not_the_whole_registry(capsys):
    assert main(["run", "--set", "dream.octave=3"]) == 2
    assert len(capsys.readouterr().err) < 200


@pytest.mark.parametrize("argv,prefix", [(["foo"], "liveart: argument command"),
                                         (["run", "--frames", "x"], "liveart: run: argument --frames")])
def test_a_usage_error_says_liveart_once(argv, prefix, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(prefix) and err.count("liveart:") == 1


def test_help_does_not_load_torch():
    """`liveart --help` answers at once: building the parser must not import torch (4 s)."""
    code = ("import sys; from liveart.cli import build_parser; build_parser().format_help(); "
            "assert 'torch' not in sys.modules, 'torch was imported'; "
            "assert 'cv2' not in sys.modules, 'cv2 was imported'")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr


def test_console_script_exits_2_with_a_sentence():
    proc = subprocess.run([sys.executable, "-m", "liveart", "run", "--set", "dream.mix=x"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1] == \
        "liveart: dream.mix takes a number from 0 to 1, not 'x'."


def test_listing_commands_work(capsys):
    assert main(["models"]) == 0
    assert "efficientnet_lite0" in capsys.readouterr().out
    assert main(["models", "layers", "efficientnet_lite0"]) == 0
    layers = capsys.readouterr().out.split()
    assert layers[0] == "blocks.0" and "blocks.15" in layers and "head" in layers
    assert main(["models", "classes"]) == 0
    assert " 281 tabby cat" in capsys.readouterr().out
    assert main(["presets"]) == 0
    out = capsys.readouterr().out
    for name in ("gentle", "deep-eyes", "infinite-zoom", "ornaments"):
        assert name in out
    assert "broken" not in out


def test_devices_says_none_found_instead_of_failing(capsys):
    import json

    assert main(["devices"]) == 0
    out = capsys.readouterr().out
    assert "torch_devices:" in out and "cpu" in out
    assert main(["devices", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert set(data) >= {"cameras", "midi_inputs", "midi_outputs", "audio_outputs", "audio_inputs", "tempo_sources", "torch_devices"}


@pytest.mark.parametrize("scene,compare,keys", [
    ("dream", "reference", {"scene_p50_ms", "reference_p50_ms", "speedup", "gradient"}),
    ("dream", "autograd", {"graph_p50_ms", "autograd_p50_ms", "speedup", "gradients"}),
    ("style", "smooth", {"smoothed_p50_ms", "unsmoothed_p50_ms", "cost"})])
def test_bench_compares_both_sides_in_one_run(scene, compare, keys, capsys):
    assert main(["bench", "--scene", scene, "--compare", compare, "--seconds", "2",
                 "--warmup", "0.5", "--size", "128x72", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert keys <= set(result) and result["rounds"] == 4
    sides = [v for k, v in result.items() if k.endswith("_p50_ms")]
    assert all(len(side) == 4 and min(side) > 0 for side in sides)
    assert result["speedup" if compare != "smooth" else "cost"] > 0
    if compare == "reference":
        assert result["gradient"] == "onnxruntime"
    if compare == "autograd":  # each side ran on what it says
        assert result["gradients"] == [["onnxruntime"], ["torch"]]


def test_bench_compare_autograd_refuses_when_the_graph_is_switched_off(monkeypatch, capsys):
    monkeypatch.setenv("LIVEART_DREAM_GRADIENT", "torch")
    assert main(["bench", "--scene", "dream", "--compare", "autograd", "--seconds", "1"]) == 2
    err = capsys.readouterr().err
    assert "LIVEART_DREAM_GRADIENT=torch" in err and err.count("\n") == 1
