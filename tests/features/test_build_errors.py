"""A `call:` into an undeclared namespace or operation: that route or tool is skipped with a
warning at the `call:` line (file:line:col) naming the rule, the rest of the spec is generated;
`build --strict` turns the skip into a failure that writes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from naftiko_gen.cli import cli
from naftiko_gen.codegen import generate
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
def test_unresolved_call_skips_that_part_with_a_located_warning(
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
    assert not result.report.errors
    [skip] = [d for d in result.report.warnings if d.rule == "naftiko-operation-skipped"]
    text = skip.format()
    line = _line_of(spec, call_line)
    column = spec.read_text().splitlines()[line - 1].index("call:") + 1
    assert text.startswith(f"{rel}:{line}:"), text
    assert skip.pos.col in (column, column + len("call: ")), text
    assert text.endswith("[naftiko-call-resolves]")
    for word in mentions:
        assert word in text, (word, text)
    assert result.packages and result.files  # the other adapter still builds


@pytest.mark.parametrize("spec_name", ["feat_bad_namespace.yaml", "feat_bad_operation.yaml"])
def test_build_strict_refuses_skips_and_writes_nothing(spec_name: str, tmp_path: Path) -> None:
    spec = ERRORS / spec_name
    out = tmp_path / "out"
    lenient = CliRunner().invoke(cli, ["build", str(spec), "-o", str(out)])
    assert lenient.exit_code == 0, lenient.output
    assert "skipped" in lenient.output and "naftiko-call-resolves" in lenient.output
    strict_out = tmp_path / "strict"
    strict = CliRunner().invoke(cli, ["build", str(spec), "-o", str(strict_out), "--strict"])
    assert strict.exit_code == 2, strict.output
    assert not strict_out.exists() or not any(strict_out.iterdir())


def test_build_error_with_absolute_path(tmp_path: Path) -> None:
    spec = ERRORS / "feat_bad_operation.yaml"
    result = generate([spec], tmp_path / "out")
    first, *_ = result.report.warnings
    assert first.pos.line == _line_of(spec, "call: registry.get-ship")
    assert first.format().split(":")[0].endswith("feat_bad_operation.yaml")


def test_one_broken_operation_among_good_ones(tmp_path: Path) -> None:
    """A consumed operation with an unknown method: `build` generates the good operations and
    exits 0 with a warning; `build --strict` exits 2 and writes nothing."""
    spec = ERRORS / "feat_one_broken_operation.yaml"
    out = tmp_path / "out"
    lenient = CliRunner().invoke(cli, ["build", str(spec), "-o", str(out)])
    assert lenient.exit_code == 0, lenient.output
    assert "skipped consumed operation 'archive-ship'" in lenient.output
    upstream = (out / "feat_one_broken_operation" / "upstream.py").read_text()
    assert "async def list_ships(" in upstream and "async def get_ship(" in upstream
    assert "archive" not in upstream
    strict_out = tmp_path / "strict"
    strict = CliRunner().invoke(cli, ["build", str(spec), "-o", str(strict_out), "--strict"])
    assert strict.exit_code == 2, strict.output
    assert not strict_out.exists() or not any(strict_out.iterdir())
