"""Print the circles in liveart's import graph (strongly connected components of more than one
module), counting imports at module level and, with --all, inside functions too.

    python tools/import_cycles.py [--all] [PACKAGE_DIR]
"""
from __future__ import annotations

import ast
import sys
from pathlib import Path


def module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports(root: Path, path: Path, everywhere: bool) -> set[str]:
    name = module_name(root, path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    tree = ast.parse(path.read_text())
    nodes = ast.walk(tree) if everywhere else tree.body
    found: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.If):  # `if TYPE_CHECKING:` blocks are not imports at run time
            continue
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")
                up = up[:len(up) - node.level + 1]
                base = ".".join(up + ([base] if base else []))
            found.add(base)
            found |= {f"{base}.{a.name}" for a in node.names}
    return found


def graph(root: Path, everywhere: bool) -> dict[str, set[str]]:
    files = {module_name(root, p): p for p in root.rglob("*.py")}
    edges = {}
    for name, path in files.items():
        targets = set()
        for imp in imports(root, path, everywhere):
            while imp and imp not in files:
                imp = imp.rpartition(".")[0]
            if imp and imp != name:
                targets.add(imp)
            # importing a.b.c runs a/__init__ and a/b/__init__ too
            while "." in imp:
                imp = imp.rpartition(".")[0]
                if imp in files and imp != name and not name.startswith(imp + "."):
                    targets.add(imp)
        edges[name] = targets
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components, those of 2 or more modules."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    sys.setrecursionlimit(10000)

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def main() -> None:
    args = [a for a in sys.argv[1:] if a != "--all"]
    root = Path(args[0] if args else Path(__file__).resolve().parent.parent / "liveart")
    found = cycles(graph(root, "--all" in sys.argv))
    for comp in found:
        print(f"{len(comp)} modules: {' '.join(comp)}")
    print(f"{len(found)} circle(s)")


if __name__ == "__main__":
    main()
