"""naftiko_gen.yaml_errors: PyYAML's syntax errors reworded, located on the line that is wrong."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from naftiko_gen.diagnostics import Report
from naftiko_gen.loader import parse_yaml
from naftiko_gen.yaml_errors import _LINE_BREAK, _indentation
from tests.support import FIXTURES, ROOT


def one_error(text: str) -> tuple[int, int, str]:
    report = Report()
    assert parse_yaml(text, "x.yaml", report) is None
    [d] = report.items
    assert d.rule == "naftiko-yaml-syntax"
    assert "<block" not in d.message and "Traceback" not in d.message
    return d.pos.line, d.pos.col, d.message


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        # one space short inside a list item: align with the sibling key
        (
            "a:\n  - type: http\n    namespace: up\n   baseUri: x\n",
            4,
            ["indented 3 spaces, less than 'namespace' on line 3", "align it with 'namespace'"],
        ),
        # more than a key that already has a value
        (
            "info:\n  label: x\n    description: y\n",
            3,
            ["indented more than 'label' on line 2", "end line 2 with ':'"],
        ),
        # between two blocks, after a nested mapping
        ("a:\n  b:\n      c: 1\n    d: 2\n", 4, ["less than 'c' on line 3", "more than 'b'"]),
        # a key line after a list: align with the key, not the '-'
        ("a:\n  b:\n    - 1\n    - 2\n   c: 3\n", 5, ["align it with 'b' (2 spaces)"]),
        # a list item aligned with the keys of the item above
        ("a:\n  - x: 1\n    - y: 2\n", 3, ["this list item is aligned with 'x'", "'-' with"]),
        # a list item between two columns
        ("a:\n  - x: 1\n   - y: 2\n", 3, ["align it with '- x: 1' (2 spaces)"]),
        # PyYAML reports this one a line late; the missing space is on line 2
        ("a:\n  b:1\n  c: 2\n", 2, ["'b:1' has no space after ':'", "write 'b: 1'"]),
        ("info:\n  description: Note: this\n", 2, ["': ' inside a value", "quotes"]),
        ('a: "abc\nb: 1\n', 1, ["never closed"]),
        ("a:\n\tb: 1\n", 2, ["tab", "spaces"]),
        # earlier lines the model must read through: block scalar, multi-line strings, compact list
        ("a: |\n  text: x\n   more: y\nb: 1\n c: 2\n", 5, ["indented more than 'b' on line 4"]),
        ("a: 'one\n  two'\nb:\n- x\n- y\nc: 1\n d: 2\n", 7, ["indented more than 'c' on line 6"]),
        ("---\na: [1,\n  2]\nb: 1\n c: 2\n", 5, ["indented more than 'b' on line 4"]),
    ],
)
def test_indentation_and_other_mistakes(text: str, line: int, words: list[str]) -> None:
    at, _, message = one_error(text)
    assert at == line, message
    for w in words:
        assert w in message, message


def test_unknown_constructs_keep_pyyaml_position() -> None:
    line, _, message = one_error('a: "\\q"\n')
    assert line == 1 and "unknown escape character" in message


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        # comments and blank lines above are skipped, not counted as entries
        ("# c\na:\n\n  b: 1\n   c: 2\n", 5, ("more than 'b' on line 4",)),
        # a plain value continued on the next line is not an entry
        ("a: some\n  text\nb:\n  c: 1\n   d: 2\n", 5, ("more than 'c' on line 4",)),
        ("  a: 1\n  x: 3\n b: 2\n", 3, ("less than the document's first line",)),
    ],
)
def test_the_model_skips_what_is_not_an_entry(text: str, line: int, words: tuple[str, ...]) -> None:
    at, _, message = one_error(text)
    assert at == line, message
    for w in words:
        assert w in message, message


def _valid_yaml_files() -> list[Path]:
    files = [ROOT / "specs" / "qovery-containers.yaml", *sorted(FIXTURES.rglob("*.y*ml"))]
    return [f for f in files if f.is_file()]


# What PyYAML accepts, asked of libyaml when it is there (as the loader does first): the pure
# Python parser took most of these tests' time.
_ACCEPTS = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def test_no_finding_on_valid_yaml() -> None:
    """The indentation model never blames a line of a file PyYAML accepts."""
    checked = 0
    for path in _valid_yaml_files():
        text = path.read_text(encoding="utf-8", errors="replace")
        try:
            yaml.compose(text, Loader=_ACCEPTS)
        except yaml.YAMLError:
            continue
        lines = _LINE_BREAK.split(text)
        assert _indentation(lines, len(lines)) is None, path
        checked += 1
    assert checked > 50


@pytest.mark.slow
def test_shifted_lines_of_the_seed_are_explained_as_indentation() -> None:
    """Shift each key line of the seed by one space: every failure names that line or the next."""
    lines = (ROOT / "specs" / "qovery-containers.yaml").read_text(encoding="utf-8").splitlines()
    failures = 0
    for i in range(0, len(lines), 7):
        if not lines[i].strip() or lines[i].lstrip().startswith("#"):
            continue
        for shifted in (" " + lines[i], lines[i][1:] if lines[i].startswith(" ") else None):
            if shifted is None:
                continue
            text = "\n".join([*lines[:i], shifted, *lines[i + 1 :]]) + "\n"
            try:
                yaml.compose(text, Loader=_ACCEPTS)
                continue
            except yaml.YAMLError:
                failures += 1
            at, _, message = one_error(text)
            assert "indent" in message or "': '" in message, message
            assert at == i + 1 or f"line {i + 1}" in message or at == i + 2, (i + 1, at, message)
    assert failures > 10
