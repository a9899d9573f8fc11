"""Templates precompiled when the wheel is built (render.PRECOMPILED, setup.py): the output is
byte for byte the one compiled from the sources, and they are used only when their manifest
matches this Jinja, these settings and these template sources (else the sources are compiled,
as without them). The wheel itself is built and used in tests/e2e/test_readme_path.py."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import jinja2
import pytest

from naftiko_gen import render
from naftiko_gen.codegen import generate
from naftiko_gen.resources import template_folder
from tests.support import FIXTURES, ROOT


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A package's templates folder as the wheel has it: the precompiled modules in it."""
    folder = tmp_path_factory.mktemp("wheel") / "templates"
    render.precompile(folder / render.PRECOMPILED)
    return folder


@pytest.fixture
def use(installed: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """environment() looks for precompiled templates in `installed` (a fresh environment)."""
    monkeypatch.setattr(render, "template_folder_installed", lambda: installed)
    monkeypatch.setenv("NAFTIKO_GEN_NO_CACHE", "1")
    render.environment.cache_clear()
    yield installed
    render.environment.cache_clear()


def _outputs(specs: list[Path]) -> dict[str, str]:
    result = generate(specs, Path("out"))
    assert not result.report.has_errors(), [d.format() for d in result.report.errors]
    return result.files


def test_every_template_is_precompiled(use: Path) -> None:
    env = render.environment()
    assert isinstance(env.loader, jinja2.ChoiceLoader)
    compiled = jinja2.ModuleLoader(str(use / render.PRECOMPILED))
    names = sorted(p.name for p in template_folder().glob("*.j2"))
    assert len(names) >= 10
    for name in names:  # TemplateNotFound if one is missing
        assert compiled.load(env, name).render is not None


def test_precompiled_output_is_byte_identical(use: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Specs that use every kind of generated module, rendered from the precompiled templates
    and from the sources: the same bytes."""
    monkeypatch.chdir(ROOT)
    specs = [
        Path("specs/qovery-containers.yaml"),
        FIXTURES / "features" / "control" / "feat_control.yaml",
        FIXTURES / "features" / "mcp_content" / "feat_mcp_content.yaml",
        FIXTURES / "deploy" / "deploy_control_skills.yaml",
    ]
    precompiled = _outputs(specs)
    used = render.environment()
    monkeypatch.setattr(render, "template_folder_installed", lambda: Path("/nonexistent"))
    render.environment.cache_clear()
    assert isinstance(render.environment().loader, jinja2.FileSystemLoader)
    assert isinstance(used.loader, jinja2.ChoiceLoader)
    assert precompiled == _outputs(specs)
    modules = (
        "control_server.py",
        "mcp_server.py",
        "rest_server.py",
        "skill_server.py",
        "upstream.py",
    )
    for module in modules:
        assert any(path.endswith("/" + module) for path in precompiled), module


def _stale(use: Path, monkeypatch: pytest.MonkeyPatch, field: str, value: str) -> None:
    manifest = use / render.PRECOMPILED / "manifest.json"
    saved = manifest.read_text(encoding="utf-8")
    data = json.loads(saved)
    data[field] = value
    manifest.write_text(json.dumps(data), encoding="utf-8")
    try:
        render.environment.cache_clear()
        assert isinstance(render.environment().loader, jinja2.FileSystemLoader), field
    finally:
        manifest.write_text(saved, encoding="utf-8")


@pytest.mark.parametrize("field", ["jinja2", "settings", "templates"])
def test_another_jinja_or_setting_uses_the_sources(
    use: Path, monkeypatch: pytest.MonkeyPatch, field: str
) -> None:
    _stale(use, monkeypatch, field, "something else")


def test_an_edited_template_uses_the_sources(
    use: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    edited = tmp_path / "templates"
    shutil.copytree(template_folder(), edited)
    with (edited / "upstream.py.j2").open("a", encoding="utf-8") as fh:
        fh.write("# edited\n")
    monkeypatch.setattr(render, "template_folder", lambda: edited)
    render.environment.cache_clear()
    env = render.environment()
    assert isinstance(env.loader, jinja2.FileSystemLoader)
    assert env.get_template("upstream.py.j2").render is not None


def test_a_damaged_manifest_uses_the_sources(use: Path) -> None:
    manifest = use / render.PRECOMPILED / "manifest.json"
    saved = manifest.read_text(encoding="utf-8")
    manifest.write_text(saved[:20], encoding="utf-8")
    try:
        render.environment.cache_clear()
        assert isinstance(render.environment().loader, jinja2.FileSystemLoader)
    finally:
        manifest.write_text(saved, encoding="utf-8")
