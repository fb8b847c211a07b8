"""The registry is the bottom layer of the house: what it imports imports nothing above it, so
no import circle runs through it (tools/import_cycles.py prints the circles that remain)."""
import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# what the registry may lean on: small torch-free modules that import nothing of liveart's
# beyond liveart.errors
BELOW = {"liveart.errors", "liveart.imagenet", "liveart.stylefolder"}


def _tool():
    spec = importlib.util.spec_from_file_location("import_cycles", ROOT / "tools" / "import_cycles.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_registry_imports_only_itself_and_what_is_below_it():
    tool = _tool()
    edges = tool.graph(ROOT / "liveart", everywhere=True)  # function-level imports too
    for name, targets in edges.items():
        if name == "liveart.params" or name.startswith("liveart.params."):
            above = {t for t in targets if not t.startswith("liveart.params") and t not in BELOW
                     and t != "liveart"}
            assert not above, f"{name} imports {sorted(above)}"
    for low in BELOW:
        assert edges[low] <= {"liveart.errors", "liveart"}, f"{low} imports {sorted(edges[low])}"


def test_no_import_circle_runs_through_the_registry():
    tool = _tool()
    for circle in tool.cycles(tool.graph(ROOT / "liveart", everywhere=True)):
        assert not any(m.startswith("liveart.params") for m in circle), circle
