"""ruff's formatter (the default) prints what black (the documented alternative) prints.

Every module the fixtures generate, unformatted, goes through both; they must agree byte for
byte, so `NAFTIKO_GEN_FORMATTER=black` is a way back that changes nothing. Both are pinned in
pyproject.toml: a new release of either is a deliberate change, checked here.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from naftiko_gen import formatting
from naftiko_gen.codegen import generate
from tests.support import FIXTURES, ROOT

pytestmark = pytest.mark.slow

SPECS = [ROOT / "specs", *sorted((FIXTURES / "features").glob("feat_*.yaml")),
         *sorted((FIXTURES / "golden").glob("*.yaml"))]  # fmt: skip


def test_ruff_formats_every_generated_module_as_black_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw: list[str] = []

    def capture(sources: list[str]) -> list[str]:
        raw.extend(sources)
        return sources

    monkeypatch.setattr(formatting, "format_sources", capture)
    generate(SPECS, tmp_path / "out")
    monkeypatch.undo()
    raw = list(dict.fromkeys(raw))  # runtime modules repeat in every package: each once
    assert len(raw) > 40
    by_ruff = formatting.format_sources(raw)
    monkeypatch.setenv(formatting.FORMATTER_VARIABLE, "black")
    by_black = formatting.format_sources(raw)
    for source, ruffed, blacked in zip(raw, by_ruff, by_black, strict=True):
        assert ruffed == blacked, source[:200]


def test_formatters_are_pinned_exactly() -> None:
    """Two machines with the same naftiko-gen print the same bytes: == pins, not ranges."""
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    pins = {d.split("==")[0].strip(): d for d in project["dependencies"] if "==" in d}
    assert {"ruff", "black"} <= set(pins), project["dependencies"]
    identity = formatting.identity()
    assert identity.startswith(pins["ruff"].split(";")[0].split("#")[0].strip()), identity
