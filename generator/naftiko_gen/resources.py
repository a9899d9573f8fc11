"""Where the generator's own files are: its templates and the runtime modules it ships.

Light on purpose (no Jinja, no plan): a fully cached build needs these paths for its cache key
without importing the render stage.
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
# A source checkout (templates/ beside generator/), then the installed package (naftiko_gen/templates).
TEMPLATE_DIRS = (_PACKAGE.parent.parent / "templates", _PACKAGE / "templates")
RUNTIME_DIR = _PACKAGE / "runtime"


def template_folder() -> Path:
    """The folder the templates are read from."""
    for folder in TEMPLATE_DIRS:
        if (folder / "rest_server.py.j2").is_file():
            return folder
    raise FileNotFoundError("naftiko-gen's templates are missing; reinstall naftiko-gen")


@functools.cache
def runtime_source(name: str) -> str:
    """A runtime module as it ships: a real, linted Python file in naftiko_gen/runtime/."""
    return (RUNTIME_DIR / name).read_text(encoding="utf-8")


def runtime_closure(names: tuple[str, ...]) -> tuple[str, ...]:
    """`names` and every runtime module they import, at any depth (function-level imports too:
    a module a server imports on demand must ship with it), sorted."""
    found: set[str] = set()
    todo = list(names)
    while todo:
        name = todo.pop()
        if name in found:
            continue
        found.add(name)
        for node in ast.walk(ast.parse(runtime_source(name))):
            if isinstance(node, ast.ImportFrom) and node.level == 1:
                targets = [node.module] if node.module else [a.name for a in node.names]
                todo.extend(f"{t.split('.')[0]}.py" for t in targets)
    return tuple(sorted(found))
