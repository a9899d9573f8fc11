"""The map matches the house: no import cycles in the generator (function-level imports
included), ARCHITECTURE.md names every module, and the stages import only downstream.

Run alone as a script to print the import graph's cycles: `python tests/test_architecture.py`.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "generator" / "naftiko_gen"
# Shipped into generated packages, never imported by the generator's own modules at build time
# except as data (render reads them as text); they import only each other.
RUNTIME = "naftiko_gen.runtime"


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {
        _module_name(p): p
        for p in sorted(PACKAGE.rglob("*.py"))
        if "__pycache__" not in p.parts and not _module_name(p).startswith(RUNTIME + ".")
    }


def _type_checking_only(node: ast.AST) -> bool:
    test = getattr(node, "test", None)
    return isinstance(node, ast.If) and (
        (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING")
        or (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")
    )


def _imports(tree: ast.AST, here: str, is_package: bool) -> set[str]:
    """Every module `here` imports at run time, wherever the import statement stands."""
    found: set[str] = set()
    base = here if is_package else here.rpartition(".")[0]

    def visit(node: ast.AST) -> None:
        if _type_checking_only(node):
            for child in getattr(node, "orelse", []):
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = base
                for _ in range(node.level - 1):
                    anchor = anchor.rpartition(".")[0]
                target = f"{anchor}.{node.module}" if node.module else anchor
            else:
                target = node.module or ""
            found.add(target)
            found.update(f"{target}.{alias.name}" for alias in node.names)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def import_graph() -> dict[str, set[str]]:
    known = modules()
    graph: dict[str, set[str]] = {}
    for name, path in known.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        targets = _imports(tree, name, path.name == "__init__.py")
        graph[name] = {t for t in targets if t in known and t != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def connect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    for v in sorted(graph):
        if v not in index:
            connect(v)
    return sorted(found)


def test_no_import_cycles() -> None:
    found = cycles(import_graph())
    assert found == [], "import cycles (function-level imports count too):\n" + "\n".join(
        " <-> ".join(c) for c in found
    )


def test_the_pipeline_stages_import_only_what_comes_before_them() -> None:
    """load → read → check → plan → render → format; the writer and the cache know no stage."""
    graph = import_graph()
    order = ["loader", "reader", "checks", "plan", "render", "formatting"]

    def stage(module: str) -> int | None:
        rest = module.removeprefix("naftiko_gen.")
        head = rest.split(".", 1)[0]
        return order.index(head) if head in order else None

    wrong = []
    for module, targets in graph.items():
        mine = stage(module)
        if mine is None:
            continue
        for target in targets:
            theirs = stage(target)
            if theirs is not None and theirs > mine:
                wrong.append(f"{module} -> {target}")
    assert wrong == [], wrong
    for module in ("naftiko_gen.writer", "naftiko_gen.cache"):
        assert not {t for t in graph[module] if stage(t) is not None}, graph[module]


def test_architecture_map_names_every_module() -> None:
    text = (ROOT / "ARCHITECTURE.md").read_text(encoding="utf-8")
    missing = []
    for name, path in modules().items():
        if name == "naftiko_gen" or path.name in ("__main__.py",):
            continue
        rel = path.relative_to(PACKAGE).as_posix()
        shown = rel.removesuffix("/__init__.py") + ("/" if path.name == "__init__.py" else "")
        if shown not in text and rel not in text:
            missing.append(rel)
    assert missing == [], f"ARCHITECTURE.md does not mention: {missing}"
    for folder in ("generator/naftiko_gen/", "templates/", "generated/", "tests/", "bench/"):
        assert folder in text, folder


if __name__ == "__main__":
    for cycle in cycles(import_graph()):
        print(" <-> ".join(cycle))
