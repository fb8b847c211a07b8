"""The wheel is what users get: it must carry every subpackage and its data, and no module may
be shadowed by a data folder of the same name (an editable install hides both mistakes: once
`liveart/presets/` in the wheel hid `liveart/presets.py` and every command died at import)."""
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path, PurePosixPath

import pytest

try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent


def test_every_subpackage_is_listed_for_the_wheel():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(config["packages"])
    found = {".".join(p.parent.relative_to(ROOT).parts)
             for p in (ROOT / "liveart").rglob("__init__.py")}
    assert found <= listed, f"not in pyproject's packages: {sorted(found - listed)}"
    for package, folder in config["package-dir"].items():
        assert (ROOT / folder / "__init__.py").is_file(), f"{package} -> {folder} has no __init__.py"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """A wheel built from a copy of the source tree (so the build's own folders never land in
    the checkout, and files git ignores stay out)."""
    if not shutil.which("git"):
        pytest.skip("needs git to list the source files")
    src = tmp_path_factory.mktemp("src")
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT,
                           capture_output=True, check=True).stdout.decode().split("\0")
    for name in filter(None, files):
        if (ROOT / name).is_file():
            (src / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, src / name)
    out = tmp_path_factory.mktemp("wheel")
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                           "-q", "-w", str(out), str(src)], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    (whl,) = out.glob("liveart-*.whl")
    return whl


def _names(whl: Path) -> list[PurePosixPath]:
    with zipfile.ZipFile(whl) as z:
        return [PurePosixPath(n) for n in z.namelist()]


def test_no_module_in_the_wheel_is_shadowed_by_a_folder(wheel):
    names = _names(wheel)
    folders = {p for n in names for p in n.parents}
    modules = [n for n in names if n.suffix == ".py" and n.parts[0] == "liveart"]
    shadowed = [str(m) for m in modules if m.with_suffix("") in folders]
    assert not shadowed, f"a folder hides these modules once installed: {shadowed}"


def test_the_wheel_carries_the_presets_maps_and_model_data(wheel):
    names = {str(n) for n in _names(wheel)}
    for preset in (ROOT / "presets").glob("*.toml"):
        assert f"liveart/shipped_presets/{preset.name}" in names
    for midimap in (ROOT / "patches" / "midi").glob("*.toml"):
        assert f"liveart/midimaps/{midimap.name}" in names
    assert "liveart/models/imagenet_classes.json" in names
    assert "liveart/presets.py" in names and "liveart/cli.py" in names
