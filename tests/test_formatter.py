"""ruff's formatter stands in for black (issue #10: ~100x faster): the output must be black's.

Every module the fixtures generate, unformatted, goes through both; they must agree byte for
byte. If a ruff release ever disagrees, NAFTIKO_GEN_FORMATTER=black is the way back.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from naftiko_gen import render
from naftiko_gen.codegen import generate
from tests.support import FIXTURES, ROOT

pytestmark = pytest.mark.slow

SPECS = [ROOT / "specs", *sorted((FIXTURES / "features").glob("feat_*.yaml")),
         *sorted((FIXTURES / "golden").glob("*.yaml"))]  # fmt: skip


def test_ruff_formats_every_generated_module_as_black_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if render._ruff() is None:
        pytest.skip("ruff is not installed")
    raw: list[str] = []

    def capture(source: str, name: str) -> str:
        raw.append(source)
        return source

    monkeypatch.setenv("NAFTIKO_GEN_NO_CACHE", "1")
    monkeypatch.setattr(render, "format_python", capture)
    for spec in SPECS:
        generate([spec], tmp_path / "out")
    assert len(raw) > 40
    by_ruff = render._ruff_format(raw)
    assert by_ruff is not None
    for source, ruffed in zip(raw, by_ruff, strict=True):
        assert ruffed == render._black(source)
