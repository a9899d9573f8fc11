"""The build cache (issue #10): black's output by content, whole specs by their inputs.

Every test runs with its own cache folder; conftest.py already keeps the whole session away from
the user's real cache.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from naftiko_gen import cache, codegen, render
from naftiko_gen.codegen import generate

pytestmark = pytest.mark.slow  # every test builds specs, several of them twice

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "specs" / "qovery-containers.yaml"
IMPORTS = ROOT / "tests" / "fixtures" / "features" / "imports"
SOURCE = "x = {  'a':1 }\n"


@pytest.fixture(autouse=True)
def fresh_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    folder = tmp_path / "cache"
    monkeypatch.setenv("NAFTIKO_GEN_CACHE_DIR", str(folder))
    monkeypatch.delenv("NAFTIKO_GEN_NO_CACHE", raising=False)
    forget_memory()
    yield folder
    forget_memory()


def forget_memory() -> None:
    """What a new process starts with: only the disk cache."""
    cache._formatted.clear()
    cache._fingerprints.clear()
    cache._versions.clear()
    cache._STORE = None


@pytest.fixture
def black_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []
    real = render._black

    def counting(source: str) -> str:
        calls.append(source)
        return real(source)

    monkeypatch.setattr(render, "_black", counting)
    # These tests count black's calls: use black itself, not ruff's formatter.
    monkeypatch.setenv("NAFTIKO_GEN_FORMATTER", "black")
    monkeypatch.setattr(render, "_RUFF", [])
    return calls


def entries(folder: Path, kind: str) -> list[Path]:
    return sorted(p for p in (folder / f"v{cache.CACHE_FORMAT}" / kind).rglob("*") if p.is_file())


# --- black's output


def test_format_hit_across_processes(fresh_cache: Path, black_calls: list[str]) -> None:
    first = render.format_python(SOURCE, "m.py")
    assert first == 'x = {"a": 1}\n'
    assert len(entries(fresh_cache, "black")) == 1
    forget_memory()
    assert render.format_python(SOURCE, "m.py") == first
    assert len(black_calls) == 1, "the second call must come from the disk cache"


def test_format_miss_on_other_text(black_calls: list[str]) -> None:
    render.format_python(SOURCE, "m.py")
    render.format_python(SOURCE + "y = 2\n", "m.py")
    assert len(black_calls) == 2


def test_format_miss_on_other_black_version(
    black_calls: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    render.format_python(SOURCE, "m.py")
    forget_memory()
    monkeypatch.setitem(cache._versions, "black", "0.0.test")
    render.format_python(SOURCE, "m.py")
    assert len(black_calls) == 2


def test_format_miss_on_other_black_options(
    black_calls: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    render.format_python(SOURCE, "m.py")
    monkeypatch.setattr(render, "BLACK_OPTIONS", {**render.BLACK_OPTIONS, "line_length": 90})
    monkeypatch.setattr(render, "_MODE", None)
    render.format_python(SOURCE, "m.py")
    assert len(black_calls) == 2


def test_black_version_is_read_without_importing_black() -> None:
    import black

    assert cache.black_version() == black.__version__


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
def test_corrupt_format_entry_is_ignored(
    fresh_cache: Path, black_calls: list[str], damage: Any
) -> None:
    good = render.format_python(SOURCE, "m.py")
    (entry,) = entries(fresh_cache, "black")
    entry.write_bytes(damage(entry.read_bytes()))
    forget_memory()
    assert render.format_python(SOURCE, "m.py") == good
    assert len(black_calls) == 2
    forget_memory()
    assert render.format_python(SOURCE, "m.py") == good  # rewritten whole
    assert len(black_calls) == 2


def test_unusable_cache_folder_is_no_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, black_calls: list[str]
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("NAFTIKO_GEN_CACHE_DIR", str(blocker / "cache"))
    forget_memory()
    assert render.format_python(SOURCE, "m.py") == 'x = {"a": 1}\n'
    result = generate([SEED], tmp_path / "out")
    assert not result.report.has_errors() and result.files
    assert blocker.read_text() == "not a folder"


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_read_only_cache_folder_is_no_error(fresh_cache: Path, black_calls: list[str]) -> None:
    fresh_cache.mkdir()
    fresh_cache.chmod(0o500)
    try:
        assert render.format_python(SOURCE, "m.py") == 'x = {"a": 1}\n'
    finally:
        fresh_cache.chmod(0o700)


def test_no_cache_switch(
    fresh_cache: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("NAFTIKO_GEN_NO_CACHE", "1")
    forget_memory()
    assert cache.cache_dir() is None
    generate([SEED], tmp_path / "out")
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


# --- whole specs


def shown(result: codegen.Generated) -> tuple[dict[str, str], list[str], dict[str, str]]:
    return result.files, [d.format() for d in result.report.items], result.specs


@pytest.fixture
def no_analysis(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Record every spec that is analysed (a cache hit is not)."""
    analysed: list[Path] = []
    real = codegen.analyse

    def recording(spec: Path, *args: Any) -> Any:
        analysed.append(spec)
        return real(spec, *args)

    monkeypatch.setattr(codegen, "analyse", recording)
    return analysed


def test_spec_hit_replays_files_and_diagnostics(
    tmp_path: Path, no_analysis: list[Path], black_calls: list[str]
) -> None:
    first = generate([SEED], tmp_path / "out")
    assert first.report.items, "the seed has warnings: they must be replayed"
    assert no_analysis == [SEED]
    forget_memory()
    again = generate([SEED], tmp_path / "out")
    assert no_analysis == [SEED], "the second build must come from the cache"
    assert shown(again) == shown(first)
    assert [d.severity for d in again.report.items] == [d.severity for d in first.report.items]


def test_same_output_with_and_without_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    specs = [SEED, *sorted((ROOT / "tests" / "fixtures" / "golden").glob("*.yaml"))]
    cold = shown(generate(specs, tmp_path / "out"))
    forget_memory()
    warm = shown(generate(specs, tmp_path / "out"))
    monkeypatch.setenv("NAFTIKO_GEN_NO_CACHE", "1")
    forget_memory()
    uncached = shown(generate(specs, tmp_path / "out"))
    assert cold == warm == uncached


def test_spec_miss_when_the_spec_changes(tmp_path: Path, no_analysis: list[Path]) -> None:
    spec = tmp_path / "svc.yaml"
    spec.write_bytes(SEED.read_bytes())
    generate([spec], tmp_path / "out")
    generate([spec], tmp_path / "out")
    assert len(no_analysis) == 1
    spec.write_text(SEED.read_text().replace("Clone container", "Clone a container"))
    changed = generate([spec], tmp_path / "out")
    assert len(no_analysis) == 2
    assert "Clone a container" in changed.files["svc/mcp_server.py"]


def test_spec_miss_when_the_output_folder_changes(tmp_path: Path, no_analysis: list[Path]) -> None:
    generate([SEED], tmp_path / "out")
    generate([SEED], tmp_path / "elsewhere")
    assert len(no_analysis) == 2


def test_spec_miss_when_an_imported_file_changes(tmp_path: Path, no_analysis: list[Path]) -> None:
    shutil.copytree(IMPORTS, tmp_path / "specs")
    spec = tmp_path / "specs" / "feat_imports.yaml"
    shared = tmp_path / "specs" / "shared.yaml"
    first = generate([spec], tmp_path / "out")
    assert not first.report.has_errors()
    generate([spec], tmp_path / "out")
    assert len(no_analysis) == 1
    shared.write_text(shared.read_text().replace("https://", "https://new."))
    changed = generate([spec], tmp_path / "out")
    assert len(no_analysis) == 2
    assert changed.files != first.files
    shared.unlink()
    gone = generate([spec], tmp_path / "out")
    assert len(no_analysis) == 3
    assert gone.report.has_errors()


def test_spec_miss_when_a_template_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_analysis: list[Path]
) -> None:
    templates = tmp_path / "templates"
    for folder in render.TEMPLATE_DIRS:
        if folder.is_dir():
            shutil.copytree(folder, templates)
            break
    monkeypatch.setattr(cache, "TEMPLATE_DIRS", (templates,))
    generate([SEED], tmp_path / "out")
    forget_memory()
    generate([SEED], tmp_path / "out")
    assert len(no_analysis) == 1
    some = sorted(templates.glob("*.j2"))[0]
    some.write_text(some.read_text() + "\n")
    forget_memory()
    generate([SEED], tmp_path / "out")
    assert len(no_analysis) == 2


def test_fingerprint_covers_generator_and_tools(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = cache.generator_fingerprint()
    forget_memory()
    assert cache.generator_fingerprint() == base
    forget_memory()
    monkeypatch.setitem(cache._versions, "black", "0.0.test")
    assert cache.generator_fingerprint() != base
    forget_memory()
    (tmp_path / "extra.j2").write_text("{{ x }}")
    assert cache.generator_fingerprint((tmp_path,)) != base


def test_corrupt_spec_entry_is_ignored(
    fresh_cache: Path, tmp_path: Path, no_analysis: list[Path]
) -> None:
    first = generate([SEED], tmp_path / "out")
    for entry in entries(fresh_cache, "spec"):
        entry.write_bytes(entry.read_bytes()[:-10])
    forget_memory()
    again = generate([SEED], tmp_path / "out")
    assert len(no_analysis) == 2
    assert shown(again) == shown(first)


def test_specs_with_errors_are_not_cached(fresh_cache: Path, tmp_path: Path) -> None:
    spec = tmp_path / "broken.yaml"
    spec.write_text(SEED.read_text().replace("baseUri: https://api.qovery.com", "baseUri: 42"))
    result = generate([spec], tmp_path / "out")
    assert result.report.has_errors()
    assert entries(fresh_cache, "spec") == []


def test_parallel_formatting_gives_the_same_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    specs = [SEED, *sorted((ROOT / "tests" / "fixtures" / "golden").glob("*.yaml"))]
    monkeypatch.setenv("NAFTIKO_GEN_JOBS", "1")
    serial = shown(generate(specs, tmp_path / "out"))
    monkeypatch.setenv("NAFTIKO_GEN_CACHE_DIR", str(tmp_path / "other-cache"))
    monkeypatch.setenv("NAFTIKO_GEN_JOBS", "2")
    monkeypatch.setattr(render, "PARALLEL_MIN_LINES", 0)
    monkeypatch.setattr(codegen, "PARALLEL_MIN_SPECS", 2)
    forget_memory()
    parallel = shown(generate(specs, tmp_path / "out"))
    assert parallel == serial
    assert len(entries(tmp_path / "other-cache", "spec")) == len(specs)  # saved by the workers


def test_compiled_templates_are_kept_like_compiled_modules(
    fresh_cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Beside the templates (as pip's .pyc files are), even under PYTHONDONTWRITEBYTECODE; in
    the cache folder where that folder cannot be written. A cold cache folder still finds them."""
    beside = tmp_path / "pycache"
    monkeypatch.setattr(cache, "_pycache_folder", lambda templates: beside)
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    monkeypatch.setattr(render, "_ENV", None)
    first = generate([SEED], tmp_path / "out")
    assert (
        sorted(p.name for p in beside.iterdir())
        and not (fresh_cache / f"v{cache.CACHE_FORMAT}" / "jinja").exists()
    )
    read_only = tmp_path / "a-file" / "pycache"  # cannot be created: its parent is a file
    (tmp_path / "a-file").write_text("")
    monkeypatch.setattr(cache, "_pycache_folder", lambda templates: read_only)
    monkeypatch.setattr(render, "_ENV", None)
    forget_memory()
    assert generate([SEED], tmp_path / "again").files == first.files
    assert sorted((fresh_cache / f"v{cache.CACHE_FORMAT}" / "jinja").iterdir())


def test_damaged_compiled_templates_are_ignored(
    fresh_cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    beside = tmp_path / "pycache"
    monkeypatch.setattr(cache, "_pycache_folder", lambda templates: beside)
    monkeypatch.setattr(render, "_ENV", None)
    first = generate([SEED], tmp_path / "out")
    compiled = sorted(beside.iterdir())
    assert compiled, "compiled templates are kept beside the templates"
    in_cache = fresh_cache / f"v{cache.CACHE_FORMAT}" / "jinja"
    in_cache.mkdir(parents=True)
    for i, entry in enumerate(compiled):
        (in_cache / entry.name).write_bytes(b"not a compiled template")
        entry.write_bytes(entry.read_bytes()[: 20 * i])
    monkeypatch.setattr(render, "_ENV", None)
    forget_memory()
    again = generate([SEED], tmp_path / "elsewhere")
    assert again.files == first.files


def test_fingerprint_covers_every_template_folder() -> None:
    package = Path(cache.__file__).resolve().parent
    for folder in render.TEMPLATE_DIRS:
        assert folder in cache.TEMPLATE_DIRS or folder.is_relative_to(package), folder


def test_cached_build_imports_neither_black_nor_jinja(tmp_path: Path) -> None:
    import subprocess
    import sys

    out = tmp_path / "out"
    env = {**os.environ, "NAFTIKO_GEN_CACHE_DIR": str(tmp_path / "cache")}
    build = [sys.executable, "-m", "naftiko_gen", "build", "-q", str(SEED), "-o", str(out)]
    subprocess.run(build, check=True, env=env, capture_output=True)
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
    )
    assert "HEAVY [] 0" in done.stdout, done.stdout + done.stderr


def test_cached_diagnostics_keep_every_field() -> None:
    """Entries store a diagnostic's fields by position: a new field must be added there too."""
    import dataclasses

    from naftiko_gen.diagnostics import Diagnostic, Pos, Severity

    assert tuple(f.name for f in dataclasses.fields(Diagnostic)) == cache.DIAGNOSTIC_FIELDS
    d = Diagnostic(Severity.WARNING, "naftiko-x", "a message", Pos("specs/a.yaml", 3, 7))
    assert cache._decode_diagnostic(cache._encode_diagnostic(d)) == d
