"""The shape of the generated code: what a reviewer reads and greps (issue #7).

- one function per consumed operation, route and tool, names and routes written whole;
- a small runtime core, and feature modules only where the spec uses the feature;
- a change to one operation changes only that operation's lines.
"""

from __future__ import annotations

import ast
import difflib
import re
from pathlib import Path

import pytest
import yaml

from naftiko_gen.codegen import display_path, generate
from tests.support import FIXTURES, ROOT

SEED = ROOT / "specs" / "qovery-containers.yaml"
GOLDEN_SPECS = sorted((FIXTURES / "golden").glob("*.yaml")) + sorted(
    (FIXTURES / "features").glob("feat_*.yaml")
)


def _build(spec: Path, tmp_path: Path) -> dict[str, str]:
    result = generate([spec], tmp_path / "out")
    assert not result.report.has_errors(), [d.format() for d in result.report.errors]
    return result.files


def _sources(files: dict[str, str]) -> str:
    """The generated Python code, without the lines that name the spec file."""
    return "\n".join(
        line
        for rel, text in files.items()
        if rel.endswith(".py")
        for line in text.splitlines()
        if ".yaml" not in line and ".yml" not in line
    )


def test_seed_gets_only_the_runtime_modules_it_uses(tmp_path: Path) -> None:
    files = _build(SEED, tmp_path)
    names = {Path(rel).name for rel in files}
    assert "qovery_containers/_runtime.py" in files
    # The seed is bearer auth, JSON bodies, JSON outputs passed through: nothing else ships.
    assert {n for n in names if n.startswith("_") and n != "__init__.py"} == {
        "_runtime.py", "_config.py", "_limits.py", "_guard.py", "_inputs.py", "_rest.py", "_mcp.py", "_secrets.py",
        "_mcp_eras.py", "_mcp_http.py", "_mcp_modern.py", "_mcp_sdk.py", "_mcp_stdio.py",
        "_mcp_surface.py", "_mcp_tools.py", "_mcp_wire.py", "_serve.py", "_docs.py",
    }  # fmt: skip
    code = _sources(files)
    for feature in ("Digest", "multipart", "FormData", "ElementTree", "csv", "import yaml", "hmac"):
        assert feature not in code, feature


def _sdk_imports(source: str) -> list[str]:
    """The module-level imports of the `mcp` SDK in `source` (function bodies excepted)."""
    found = []
    for node in ast.parse(source).body:
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.split(".")[0] == "mcp"]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "mcp":
            found.append(node.module or "")
    return found


@pytest.mark.parametrize(
    "spec", [SEED, FIXTURES / "features" / "mcp_content" / "feat_mcp_content.yaml"],
    ids=lambda p: p.stem,
)  # fmt: skip
def test_the_mcp_server_imports_no_sdk_unless_asked(spec: Path, tmp_path: Path) -> None:
    """Importing `mcp` costs ~1 s of start-up: only _mcp_sdk.py (--sdk) may, and it does."""
    files = _build(spec, tmp_path)
    python = {Path(rel).name: text for rel, text in files.items() if rel.endswith(".py")}
    assert {name for name, text in python.items() if _sdk_imports(text)} == {"_mcp_sdk.py"}
    server = python["mcp_server.py"]
    assert "from . import _mcp_sdk" in server  # inside --sdk, create_sdk_app, build_sdk_server


def test_a_bearer_only_json_spec_gets_no_code_for_other_features(tmp_path: Path) -> None:
    spec = tmp_path / "bearer-only.yaml"
    spec.write_text(
        """naftiko: 1.0.0-alpha2
info: {label: Bearer only, description: One JSON call with a bearer token}
binds:
  - namespace: env
    keys: {API_TOKEN: API_TOKEN}
capability:
  consumes:
    - type: http
      namespace: api
      baseUri: https://api.example.com
      authentication: {type: bearer, token: '{{API_TOKEN}}'}
      resources:
        - name: items
          path: /items/{id}
          operations:
            - {name: get-item, method: GET}
  exposes:
    - type: rest
      namespace: rest
      port: 8080
      resources:
        - path: /items/{id}
          operations:
            - {method: GET, call: api.get-item}
""",
        encoding="utf-8",
    )
    files = _build(spec, tmp_path)
    shipped = sorted(Path(rel).name for rel in files if Path(rel).name.startswith("_"))
    assert shipped == [
        "__init__.py", "_config.py", "_docs.py", "_guard.py", "_inputs.py", "_limits.py", "_rest.py",
        "_runtime.py", "_secrets.py", "_serve.py",
    ]  # fmt: skip
    code = _sources(files)
    for absent in ("DigestAuthMiddleware", "multipart", "FormData", "ElementTree", "csv.",
                   "import yaml", "Credentials", "_mcp", "select("):  # fmt: skip
        assert absent not in code, absent


def _declared_names(spec: Path) -> tuple[set[str], set[str], set[str]]:
    data = yaml.safe_load(spec.read_text(encoding="utf-8"))
    cap = data["capability"]
    ops = {
        f"{c['namespace']}.{o['name']}"
        for c in cap.get("consumes", [])
        if "resources" in c
        for r in c["resources"]
        for o in r.get("operations", [])
    }
    routes: set[str] = set()
    tools: set[str] = set()
    for adapter in cap.get("exposes", []):
        if adapter["type"] == "rest":
            routes |= {r["path"] for r in adapter.get("resources", [])}
        elif adapter["type"] == "mcp":
            tools |= {t["name"] for t in adapter.get("tools", [])}
    return ops, routes, tools


@pytest.mark.parametrize("spec", [SEED, *GOLDEN_SPECS], ids=lambda p: p.stem)
def test_routes_tools_and_operation_keys_appear_verbatim(spec: Path, tmp_path: Path) -> None:
    files = _build(spec, tmp_path)
    code = _sources(files)
    ops, routes, tools = _declared_names(spec)
    used_ops = {op for op in ops if op.split(".", 1)[1] and op in code}
    called = set(re.findall(r"call: ([\w.\-]+)", spec.read_text(encoding="utf-8")))
    for op in ops & called:
        assert op in used_ops, f"operation key {op} not found verbatim"
    for path in routes:
        shown = path.replace("{{", "{").replace("}}", "}")
        assert f'"{shown if shown.startswith("/") else "/" + shown}"' in code, path
    for tool in tools:
        assert f'name="{tool}"' in code, tool


def _top_level_spans(source: str) -> list[tuple[int, int, str]]:
    spans = []
    for node in ast.parse(source).body:
        start = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
        name = getattr(node, "name", None)
        if name is None and isinstance(node, (ast.Assign, ast.AnnAssign)):
            target = node.targets[0] if isinstance(node, ast.Assign) else node.target
            name = ast.unparse(target)
        spans.append((start, node.end_lineno or node.lineno, name or type(node).__name__))
    return spans


def _changed_definitions(old: str, new: str) -> set[str]:
    """The top-level definitions (functions, constants) whose lines differ between two sources."""
    old_spans, new_spans = _top_level_spans(old), _top_level_spans(new)

    def owner(spans: list[tuple[int, int, str]], line: int) -> str:
        for start, end, name in spans:
            if start <= line <= end:
                return name
        return f"<line {line} between definitions>"

    changed: set[str] = set()
    matcher = difflib.SequenceMatcher(None, old.splitlines(), new.splitlines(), autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        changed |= {owner(old_spans, n + 1) for n in range(i1, i2)}
        changed |= {owner(new_spans, n + 1) for n in range(j1, j2)}
        if i1 == i2:  # pure insertion: the definition around the insertion point
            changed.add(owner(new_spans, j1 + 1))
    return changed


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (  # the consumed path of one operation
            ("path: /environment/{environmentId}/container/status",
             "path: /environment/{environmentId}/container/state"),
            {"upstream.py": {"getenvironmentcontainerstatus"}},
        ),
        (  # a new query parameter on one consumed operation
            ("      - name: listcontainer\n        method: GET\n",
             ("      - name: listcontainer\n        method: GET\n        inputParameters:\n"
             "        - name: archived\n          in: query\n")),
            {
                "upstream.py": {"listcontainer"},
                "rest_server.py": {"listcontainer"},
                "mcp_server.py": {"LIST_CONTAINERS", "list_containers"},
            },
        ),
    ],
    ids=["consumed-path", "query-parameter"],
)  # fmt: skip
def test_changing_one_operation_changes_only_its_lines(
    edit: tuple[str, str], expected: dict[str, set[str]], tmp_path: Path
) -> None:
    before = _build(SEED, tmp_path / "before")
    text = SEED.read_text(encoding="utf-8")
    assert text.count(edit[0]) == 1
    changed_spec = tmp_path / "qovery-containers.yaml"
    changed_spec.write_text(text.replace(edit[0], edit[1]), encoding="utf-8")
    after = _build(changed_spec, tmp_path / "after")
    assert set(before) == set(after)

    # The header and the package docstring name the spec file, which moved: compare the rest.
    def unnamed(text: str, spec: Path) -> str:
        return text.replace(display_path(spec), "SPEC").split("\n", 1)[1]

    differing = {
        Path(rel).name
        for rel in before
        if unnamed(before[rel], SEED) != unnamed(after[rel], changed_spec)
    }
    assert differing - {"openapi.json"} == set(expected), differing
    for name, definitions in expected.items():
        rel = f"qovery_containers/{name}"
        old, new = unnamed(before[rel], SEED), unnamed(after[rel], changed_spec)
        assert _changed_definitions(old, new) == definitions, name
