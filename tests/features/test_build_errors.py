"""A `call:` into an undeclared namespace or operation fails the build with a diagnostic at
the `call:` line (file:line:col), and no files are generated."""

from __future__ import annotations

from pathlib import Path

import pytest

from generator.codegen import generate
from tests.features.upstream import FIXTURES
from tests.support import ROOT

ERRORS = FIXTURES / "errors"


def _line_of(spec: Path, needle: str) -> int:
    lines = spec.read_text().splitlines()
    matches = [i + 1 for i, line in enumerate(lines) if line.strip() == needle]
    assert len(matches) == 1, needle
    return matches[0]


@pytest.mark.parametrize(
    ("spec_name", "call_line", "mentions"),
    [
        ("feat_bad_namespace.yaml", "call: registy.list-ships", ["registy.list-ships", "registy"]),
        ("feat_bad_operation.yaml", "call: registry.get-ship", ["registry.get-ship", "get-ship"]),
    ],
)
def test_unresolved_call_is_a_located_build_error(
    spec_name: str,
    call_line: str,
    mentions: list[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(ROOT)
    spec = ERRORS / spec_name
    rel = spec.relative_to(ROOT).as_posix()
    result = generate([Path(rel)], tmp_path / "out")
    errors = result.report.errors
    assert errors, "the build must fail"
    assert result.files == {} and result.packages == []
    text = errors[0].format()
    line = _line_of(spec, call_line)
    column = spec.read_text().splitlines()[line - 1].index("call:") + 1
    assert text.startswith(f"{rel}:{line}:"), text
    assert errors[0].pos.line == line
    assert errors[0].pos.col in (column, column + len("call: ")), text
    assert " error " in text
    for word in mentions:
        assert word in text, (word, text)


def test_build_error_with_absolute_path(tmp_path: Path) -> None:
    spec = ERRORS / "feat_bad_operation.yaml"
    result = generate([spec], tmp_path / "out")
    (first, *_) = result.report.errors
    assert first.pos.line == _line_of(spec, "call: registry.get-ship")
    assert first.format().split(":")[0].endswith("feat_bad_operation.yaml")
