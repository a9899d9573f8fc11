"""Where the generator's own files are: its templates and the runtime modules it ships.

Light on purpose (no Jinja, no plan): a fully cached build needs these paths for its cache key
without importing the render stage.
"""

from __future__ import annotations

import functools
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
# A source checkout (templates/ beside generator/), then the installed package (naftiko_gen/templates).
INSTALLED_TEMPLATES = _PACKAGE / "templates"  # where the wheel puts them
TEMPLATE_DIRS = (_PACKAGE.parent.parent / "templates", INSTALLED_TEMPLATES)
RUNTIME_DIR = _PACKAGE / "runtime"


def template_folder() -> Path:
    """The folder the templates are read from."""
    for folder in TEMPLATE_DIRS:
        if (folder / "rest_server.py.j2").is_file():
            return folder
    raise FileNotFoundError("naftiko-gen's templates are missing; reinstall naftiko-gen")


def template_folder_installed() -> Path:
    """The templates' folder inside the package (naftiko_gen/templates), installed or not."""
    return INSTALLED_TEMPLATES


@functools.cache
def runtime_source(name: str) -> str:
    """A runtime module as it ships: a real, linted Python file in naftiko_gen/runtime/."""
    return (RUNTIME_DIR / name).read_text(encoding="utf-8")
