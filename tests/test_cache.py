"""The build cache: whole specs by their inputs (spec, imports, generator, formatter identity).

Every test runs with its own cache folder; conftest.py already keeps the whole session away from
the user's real cache.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from naftiko_gen import build as build_module
from naftiko_gen import cache, codegen, formatting, render, resources
from naftiko_gen.build import build
from naftiko_gen.cli import EXIT_DIFF, EXIT_OK, cli
from naftiko_gen.codegen import generate

pytestmark = pytest.mark.slow  # every test builds specs, several of them twice

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "specs" / "qovery-containers.yaml"
IMPORTS = ROOT / "tests" / "fixtures" / "features" / "imports"
SPECS = [SEED, *sorted((ROOT / "tests" / "fixtures" / "golden").glob("*.yaml"))]


@pytest.fixture(autouse=True)
def fresh_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    folder = tmp_path / "cache"
    monkeypatch.setenv("NAFTIKO_GEN_CACHE_DIR", str(folder))
    monkeypatch.delenv("NAFTIKO_GEN_NO_CACHE", raising=False)
    monkeypatch.delenv("NAFTIKO_GEN_FORMATTER", raising=False)
    render.environment.cache_clear()  # its compiled-template folder is the cache's
    yield folder
    render.environment.cache_clear()


def entries(folder: Path, kind: str) -> list[Path]:
    return sorted(p for p in (folder / f"v{cache.CACHE_FORMAT}" / kind).rglob("*") if p.is_file())


def shown(result: codegen.Generated) -> tuple[dict[str, str], list[str], dict[str, str]]:
    return result.files, [d.format() for d in result.report.items], result.specs


@pytest.fixture
def analysed(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Every spec that is analysed (a cache hit is not)."""
    seen: list[Path] = []
    real = codegen.analyse

    def counting(spec: Path, *args: Any) -> Any:
        seen.append(spec)
        return real(spec, *args)

    monkeypatch.setattr(codegen, "analyse", counting)
    return seen


# --- where the cache is


def test_no_cache_switch(fresh_cache: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("NAFTIKO_GEN_NO_CACHE", "1")
    assert cache.cache_dir() is None
    build([SEED], tmp_path / "out")
    assert not fresh_cache.exists()


def test_cache_folder_choice(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("NAFTIKO_GEN_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache.cache_dir() == tmp_path / "xdg" / "naftiko-gen"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/is/ignored")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache.cache_dir() == tmp_path / "home" / ".cache" / "naftiko-gen"
    monkeypatch.setenv("NAFTIKO_GEN_CACHE_DIR", str(tmp_path / "mine"))
    assert cache.cache_dir() == tmp_path / "mine"
    monkeypatch.setenv("NAFTIKO_GEN_NO_CACHE", "0")
    assert cache.cache_dir() == tmp_path / "mine"


def test_unusable_cache_folder_is_no_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("NAFTIKO_GEN_CACHE_DIR", str(blocker / "cache"))
    result = build([SEED], tmp_path / "out")
    assert not result.report.has_errors() and result.files
    assert blocker.read_text() == "not a folder"


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_read_only_cache_folder_is_no_error(fresh_cache: Path, tmp_path: Path) -> None:
    fresh_cache.mkdir()
    fresh_cache.chmod(0o500)
    try:
        result = build([SEED], tmp_path / "out")
        assert not result.report.has_errors() and result.files
    finally:
        fresh_cache.chmod(0o700)


def test_nothing_is_written_beside_the_generator_or_its_templates(
    fresh_cache: Path, tmp_path: Path
) -> None:
    """Compiled templates live in the cache folder; the installation is never written."""
    package = Path(resources.__file__).resolve().parent
    folders = [package, resources.template_folder()]

    def listing() -> set[Path]:
        return {p for folder in folders for p in folder.rglob("*") if "__pycache__" not in p.parts}

    def pycache() -> set[Path]:
        return {p for p in resources.template_folder().rglob("*") if "__pycache__" in p.parts}

    before, compiled_before = listing(), pycache()
    build([SEED], tmp_path / "out")
    assert listing() == before
    assert pycache() == compiled_before  # no Jinja bytecode beside the templates
    assert entries(fresh_cache, "jinja"), "compiled templates are kept in the cache folder"


# --- whole specs


def test_spec_hit_replays_files_and_diagnostics(tmp_path: Path, analysed: list[Path]) -> None:
    first = build([SEED], tmp_path / "out")
    assert first.report.items, "the seed has notes: they must be replayed"
    assert analysed == [SEED]
    again = build([SEED], tmp_path / "out")
    assert analysed == [SEED], "the second build must come from the cache"
    assert shown(again) == shown(first)
    assert again.report.items == first.report.items  # every field, severity and skip included


def test_skip_fields_survive_the_cache(tmp_path: Path) -> None:
    spec = ROOT / "tests" / "fixtures" / "features" / "errors" / "feat_one_broken_operation.yaml"
    first = build([spec], tmp_path / "out")
    skips = [d for d in first.report.items if d.skip is not None]
    assert skips, "the fixture skips one operation"
    again = build([spec], tmp_path / "out")
    assert [d.skip for d in again.report.items if d.skip] == [d.skip for d in skips]


def test_same_output_cold_warm_uncached_and_pure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cold = shown(build(SPECS, tmp_path / "out"))
    warm = shown(build(SPECS, tmp_path / "out"))
    pure = shown(generate(SPECS, tmp_path / "out"))
    monkeypatch.setenv("NAFTIKO_GEN_NO_CACHE", "1")
    uncached = shown(build(SPECS, tmp_path / "out"))
    assert cold == warm == uncached == pure


def test_worker_processes_give_the_same_result(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NAFTIKO_GEN_JOBS", "1")
    serial = shown(build(SPECS, tmp_path / "out"))
    monkeypatch.setenv("NAFTIKO_GEN_CACHE_DIR", str(tmp_path / "other-cache"))
    monkeypatch.setenv("NAFTIKO_GEN_JOBS", "2")
    monkeypatch.setattr(build_module, "PARALLEL_MIN_SPECS", 2)
    monkeypatch.setattr(build_module, "CHUNK", 2)
    parallel = shown(build(SPECS, tmp_path / "out"))
    assert parallel == serial
    assert len(entries(tmp_path / "other-cache", "spec")) == len(SPECS)  # saved from the workers


def test_spec_miss_when_the_spec_changes(tmp_path: Path, analysed: list[Path]) -> None:
    spec = tmp_path / "svc.yaml"
    spec.write_bytes(SEED.read_bytes())
    build([spec], tmp_path / "out")
    build([spec], tmp_path / "out")
    assert len(analysed) == 1
    spec.write_text(SEED.read_text().replace("Clone container", "Clone a container"))
    changed = build([spec], tmp_path / "out")
    assert len(analysed) == 2
    assert "Clone a container" in changed.files["svc/mcp_server.py"]


def test_spec_miss_when_the_output_folder_changes(tmp_path: Path, analysed: list[Path]) -> None:
    build([SEED], tmp_path / "out")
    build([SEED], tmp_path / "elsewhere")
    assert len(analysed) == 2


def test_spec_miss_when_an_imported_file_changes(tmp_path: Path, analysed: list[Path]) -> None:
    shutil.copytree(IMPORTS, tmp_path / "specs")
    spec = tmp_path / "specs" / "feat_imports.yaml"
    shared = tmp_path / "specs" / "shared.yaml"
    first = build([spec], tmp_path / "out")
    assert not first.report.has_errors()
    build([spec], tmp_path / "out")
    assert len(analysed) == 1
    shared.write_text(shared.read_text().replace("https://", "https://new."))
    changed = build([spec], tmp_path / "out")
    assert len(analysed) == 2
    assert changed.files != first.files
    shared.unlink()
    gone = build([spec], tmp_path / "out")
    assert len(analysed) == 3
    assert gone.report.has_errors()


def test_spec_miss_when_a_template_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, analysed: list[Path]
) -> None:
    templates = tmp_path / "templates"
    shutil.copytree(resources.template_folder(), templates)
    monkeypatch.setattr(resources, "TEMPLATE_DIRS", (templates,))
    monkeypatch.setattr(build_module, "TEMPLATE_DIRS", (templates,))
    build([SEED], tmp_path / "out")
    build([SEED], tmp_path / "out")
    assert len(analysed) == 1
    some = sorted(templates.glob("*.j2"))[0]
    some.write_text(some.read_text() + "\n")
    build([SEED], tmp_path / "out")
    assert len(analysed) == 2


def test_fingerprint_covers_generator_tools_and_formatter(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dirs, ruff = resources.TEMPLATE_DIRS, formatting.identity()
    base = cache.generator_fingerprint(dirs, ruff)
    assert cache.generator_fingerprint(dirs, ruff) == base
    (tmp_path / "extra.j2").write_text("{{ x }}")
    assert cache.generator_fingerprint((*dirs, tmp_path), ruff) != base
    monkeypatch.setenv("NAFTIKO_GEN_FORMATTER", "black")
    assert formatting.identity() != ruff
    assert cache.generator_fingerprint(dirs, formatting.identity()) != base
    monkeypatch.setattr(cache, "_installed", lambda name: "0.0.test")  # Jinja, PyYAML
    assert cache.generator_fingerprint(dirs, ruff) != base


def test_formatter_identity_is_in_the_key_of_the_regeneration_gate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, analysed: list[Path]
) -> None:
    """A warm cache must not say "up to date" for output another formatter would print."""
    out = tmp_path / "out"
    runner = CliRunner()
    built = runner.invoke(cli, ["build", "-q", str(SEED), "-o", str(out)])
    assert built.exit_code == EXIT_OK, built.output
    checked = runner.invoke(cli, ["build", "--check", str(SEED), "-o", str(out)])
    assert checked.exit_code == EXIT_OK and len(analysed) == 1, checked.output  # a cache hit
    # Another formatter release that prints other bytes: same spec, same generator.
    real = formatting.format_sources
    monkeypatch.setattr(formatting, "identity", lambda: "ruff==99.0.0 line-length=100")
    monkeypatch.setattr(
        formatting, "format_sources", lambda sources: [t + "# v99\n" for t in real(sources)]
    )
    stale = runner.invoke(cli, ["build", "--check", str(SEED), "-o", str(out)])
    assert stale.exit_code == EXIT_DIFF, stale.output
    assert "is stale" in stale.output and "+# v99" in stale.output
    assert len(analysed) == 2, "the formatter's identity changed: the cache entry is not used"


def test_unknown_formatter_is_one_error_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NAFTIKO_GEN_FORMATTER", "yapf")
    done = CliRunner().invoke(cli, ["build", str(SEED), "-o", str(tmp_path / "out")])
    assert done.exit_code != EXIT_OK
    assert "NAFTIKO_GEN_FORMATTER='yapf'" in done.output and "Traceback" not in done.output


@pytest.mark.parametrize(
    "damage",
    [
        lambda data: b"",
        lambda data: data[: len(data) // 2],
        lambda data: data[:-1] + b"!",
        lambda data: b"garbage\n" * 10,
        lambda data: data.replace(b"naftiko-gen-cache", b"other-cache"),
    ],
    ids=["empty", "torn", "edited", "garbage", "foreign"],
)
def test_corrupt_entries_are_ignored(
    fresh_cache: Path, tmp_path: Path, analysed: list[Path], damage: Any
) -> None:
    first = build([SEED], tmp_path / "out")
    for entry in entries(fresh_cache, "spec") + entries(fresh_cache, "blob"):
        entry.write_bytes(damage(entry.read_bytes()))
    again = build([SEED], tmp_path / "out")
    assert len(analysed) == 2
    assert shown(again) == shown(first)


def test_damaged_compiled_templates_are_ignored(fresh_cache: Path, tmp_path: Path) -> None:
    first = build([SEED], tmp_path / "out")
    compiled = entries(fresh_cache, "jinja")
    assert compiled
    for i, entry in enumerate(compiled):
        entry.write_bytes(entry.read_bytes()[: 20 * i] if i else b"not a compiled template")
    for entry in entries(fresh_cache, "spec"):
        entry.unlink()
    render.environment.cache_clear()
    assert build([SEED], tmp_path / "out").files == first.files


def test_specs_with_errors_are_not_cached(fresh_cache: Path, tmp_path: Path) -> None:
    spec = tmp_path / "broken.yaml"
    spec.write_text(SEED.read_text().replace("baseUri: https://api.qovery.com", "baseUri: 42"))
    result = build([spec], tmp_path / "out")
    assert result.report.has_errors()
    assert entries(fresh_cache, "spec") == []


def test_cached_check_imports_neither_the_formatter_nor_jinja(tmp_path: Path) -> None:
    out = tmp_path / "out"
    env = {**os.environ, "NAFTIKO_GEN_CACHE_DIR": str(tmp_path / "cache")}
    command = [sys.executable, "-m", "naftiko_gen", "build", "-q", str(SEED), "-o", str(out)]
    subprocess.run(command, check=True, env=env, capture_output=True)
    probe = (
        "import sys; from naftiko_gen.cli import main\n"
        "try:\n    main(sys.argv[1:])\nexcept SystemExit as e:\n    code = e.code\n"
        "heavy = sorted(m for m in ('black', 'jinja2', 'naftiko_gen.reader', 'naftiko_gen.render')"
        " if m in sys.modules)\n"
        "print('HEAVY', heavy, code)"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe, "build", "--check", str(SEED), "-o", str(out)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert "HEAVY [] 0" in done.stdout, done.stdout + done.stderr


def test_cached_diagnostics_keep_every_field() -> None:
    """Entries store a diagnostic's fields by position: a new field must be added there too."""
    import dataclasses

    from naftiko_gen.diagnostics import Diagnostic, Pos, Severity, Skip

    assert tuple(f.name for f in dataclasses.fields(Diagnostic)) == cache.DIAGNOSTIC_FIELDS
    d = Diagnostic(Severity.WARNING, "naftiko-x", "a message", Pos("specs/a.yaml", 3, 7))
    assert cache._decode_diagnostic(cache._encode_diagnostic(d)) == d
    skip = Diagnostic(d.severity, d.rule, d.message, d.pos, Skip("tool 'x'", "naftiko-y", "why"))
    assert cache._decode_diagnostic(cache._encode_diagnostic(skip)) == skip
