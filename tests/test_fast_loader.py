"""libyaml (issue #10) gives the same node trees, positions and diagnostics as pure Python."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from naftiko_gen import loader
from naftiko_gen.diagnostics import Report

ROOT = Path(__file__).resolve().parent.parent
YAML_FILES = sorted(
    p for folder in (ROOT / "specs", ROOT / "tests" / "fixtures") for p in folder.rglob("*.y*ml")
)
TRICKY = [
    "a: 1\na: 2\n",  # duplicate key
    "a: &x [1, 2]\nb: *x\nc: {<<: {k: v}}\n",  # aliases and merge keys
    "a: 'unclosed\nb: 2\n",
    'a: "\\ud800"\n',  # lone surrogate escape
    "a: b: c\n",
    "- a\nb: 1\n",
    "a:\n\t- 1\n",  # tab indentation
    "x: " + "[" * 1200 + "]" * 1200 + "\n",  # beyond libyaml's nesting limit
    "x: " + "[" * 300 + "]" * 300 + "\n",
    "---\na: 1\n---\nb: 2\n",
    "a: 2026-05-19\nb: !!binary aGVsbG8=\nc: 0x1F\nd: 1_000\ne: .inf\nf: ~\ng: yes\n",
    "? [1, 2]\n: v\n",
    "",
    "# only a comment\n",
    "a: \x07\n",
    "k: \u00e9\u4e2d\U0001f600 tail\nl: [\u00e9, \U0001f600, x]\n",
    # libyaml's events straight to Nodes (loader._fast_tree) and what it leaves to the composer
    "1: a\ntrue: b\n~: c\n2026-01-01: d\n1.5: e\nx: ! 12\ny: '12'\nz: [1.5, null, no, {}]\n",
    "a: {b: [{c: d}, []], e: ''}\nf: |\n  text\ng: >-\n  folded\n",
    "a: !!str 1\nb: !custom x\n",
    "a: &x 1\nb: 2\n",
    "<<: {a: 1}\n",
    "=: 1\na: =\n",
    "[a]: 1\n",
    "- a\n- " + "[" * 199 + "]" * 199 + "\n",
    "x: " + "[" * 199 + "]" * 199 + "\n",
    'a: "\\udc00x"\n"\\ud800": 1\n',
]


def tree(node: loader.Node | None) -> Any:
    if node is None:
        return None
    if isinstance(node.value, dict):
        return (
            node.pos,
            {k: (node.key_pos[k], tree(v)) for k, v in node.value.items()},
        )
    if isinstance(node.value, list):
        return (node.pos, [tree(v) for v in node.value])
    return (node.pos, type(node.value).__name__, node.value)


def both(text: str, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, Any]:
    fast_report, slow_report = Report(), Report()
    fast = tree(loader.parse_yaml(text, "f.yaml", fast_report))
    with monkeypatch.context() as mp:
        mp.setattr(loader, "_FAST_LOADER", None)
        slow = tree(loader.parse_yaml(text, "f.yaml", slow_report))
    return (fast, fast_report.items), (slow, slow_report.items)


def test_usual_specs_take_the_event_path() -> None:
    if loader._FAST_LOADER is None:
        pytest.skip("no libyaml")
    for path in (ROOT / "specs").glob("*.yaml"):
        text = path.read_bytes().decode("utf-8-sig")
        assert tree(loader._fast_tree(text, "f.yaml")) == tree(
            loader.parse_yaml(text, "f.yaml", Report())
        )


def test_same_errors_beyond_the_value_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(loader, "MAX_NODES", 50)
    for text in ("- 1\n" * 60, "a: {b: [x, y]}\n" * 1 + "c: [" + "1, " * 60 + "]\n"):
        fast, slow = both(text, monkeypatch)
        assert fast == slow
        assert fast[1], "too many values is an error"


def test_libyaml_is_used_when_installed() -> None:
    import yaml

    if getattr(yaml, "__with_libyaml__", False):
        assert loader._FAST_LOADER is yaml.CSafeLoader


@pytest.mark.parametrize("path", YAML_FILES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_same_trees_for_every_fixture(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = path.read_bytes().decode("utf-8-sig", errors="replace")
    fast, slow = both(text, monkeypatch)
    assert fast == slow


@pytest.mark.parametrize("text", TRICKY)
def test_same_trees_and_errors_for_tricky_yaml(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    fast, slow = both(text, monkeypatch)
    assert fast == slow
