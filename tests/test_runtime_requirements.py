"""Every third-party module that generated code imports is a declared requirement.

The runtime modules (generator/runtime/*.py) are copied into every generated package; what they
import must be in the package's requirements.txt (render.REQUIREMENTS, plus the auth extras of
the module that needs them) and in the `runtime` (and `oauth1`) extras of pyproject.toml, which
the Dockerfile of `naftiko-gen deploy` installs. A module that only arrives as another
distribution's dependency can vanish with that distribution's next release.
"""

from __future__ import annotations

import ast
import functools
import importlib.metadata
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from naftiko_gen.plan.layout import (
    FORMAT_REQUIREMENTS,
    MODULE_REQUIREMENTS,
    REQUIREMENTS,
    REST_REQUIREMENTS,
)
from tests.support import ROOT

RUNTIME = ROOT / "generator" / "naftiko_gen" / "runtime"

# Modules that arrive through a declared distribution whose own API is built on them: aiohttp
# takes and returns yarl URLs, and the mcp SDK's servers run on anyio. They go only with it.
VIA = {"yarl": "aiohttp", "multidict": "aiohttp", "anyio": "mcp"}
# (runtime module, import) pairs that are optional: the module works without the import.
OPTIONAL = {("_binds", "yaml")}  # a flat `KEY: value` reader of its own stands in for PyYAML


def _imports(path: Path) -> set[str]:
    """Top-level names of absolute imports anywhere in the module, of
    importlib.import_module("name") calls (imported by name to spare type checkers stubs) and of
    find_spec("name") calls (a distribution's files located without importing it: _docs)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name.partition(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.partition(".")[0])
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in ("import_module", "find_spec")
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            names.add(node.args[0].value.partition(".")[0])
    return names - set(sys.stdlib_module_names) - {"__future__"}


def _third_party() -> dict[str, set[str]]:
    """runtime module stem → the third-party import names it needs."""
    found = {p.stem: _imports(p) for p in sorted(RUNTIME.glob("_*.py"))}
    return {stem: {n for n in names if (stem, n) not in OPTIONAL} for stem, names in found.items()}


@functools.cache
def _import_names() -> dict[str, list[str]]:
    """Import name → distributions; it reads every installed distribution's file list (a few
    seconds with the test extras), so once."""
    return dict(importlib.metadata.packages_distributions())


def _distributions(name: str) -> set[str]:
    """The (canonical) distributions that provide an import name in this environment."""
    dists = _import_names().get(name)
    assert dists, f"{name!r} is imported by a runtime module but not installed by the test extra"
    return {canonicalize_name(d) for d in dists}


def _names(requirements: list[str] | tuple[str, ...]) -> set[str]:
    return {canonicalize_name(Requirement(r).name) for r in requirements}


def _covered(name: str, declared: set[str]) -> bool:
    via = VIA.get(name)
    return bool(_distributions(name) & declared) or (
        via is not None and canonicalize_name(via) in declared
    )


def test_runtime_modules_import_something_third_party() -> None:
    """The scan sees the imports (an empty result would make the checks below vacuous)."""
    needed = set().union(*_third_party().values())
    assert {"aiohttp", "mcp", "jsonschema", "jwt", "swagger_ui"} <= needed, needed


def test_generated_requirements_declare_every_import() -> None:
    # Format extras are listed by format, not by module: any of them may cover a module.
    base = _names(REQUIREMENTS) | set().union(*(_names(r) for r in FORMAT_REQUIREMENTS.values()))
    base |= _names(REST_REQUIREMENTS)  # every package with a REST server (the seed: below)
    missing = []
    for stem, names in _third_party().items():
        declared = base | _names(MODULE_REQUIREMENTS.get(stem, ()))
        missing += [f"{stem}.py imports {n}" for n in sorted(names) if not _covered(n, declared)]
    assert not missing, "not in layout.REQUIREMENTS (or its module and format extras):\n" + "\n".join(
        missing
    )


def test_pyproject_extras_declare_every_import() -> None:
    extras = ("runtime", "oauth1", "avro", "otel", "cache")  # runtime, and what some specs need
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    optional = project["optional-dependencies"]
    declared = set().union(*(_names(optional[e]) for e in extras))
    declared |= {"pyyaml"} & _names(project["dependencies"])  # yaml/markdown formats
    needed = set().union(*_third_party().values())
    missing = sorted(n for n in needed if not _covered(n, declared))
    assert not missing, f"not in the {'/'.join(extras)} extras of pyproject.toml: {missing}"


def test_requirements_txt_of_a_built_package_lists_them() -> None:
    """The committed seed package's requirements.txt is what pip installs for it."""
    text = (ROOT / "generated" / "qovery_containers" / "requirements.txt").read_text("utf-8")
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    assert _names(REQUIREMENTS) | _names(REST_REQUIREMENTS) <= _names(lines)


@pytest.mark.parametrize("package", ["generated/qovery_containers", "examples/generated/petstore"])
def test_shipped_runtime_modules_bring_what_they_import(package: str) -> None:
    """Every runtime module a package holds has the runtime modules it imports beside it (a
    module split in two must not leave a package, or a family, with a dangling import)."""
    from naftiko_gen.resources import runtime_closure

    shipped = tuple(
        sorted(p.name for p in (ROOT / package).glob("_*.py") if p.name != "__init__.py")
    )
    assert runtime_closure(shipped) == shipped
