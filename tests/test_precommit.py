"""The pre-commit hook `naftiko-gen-check` (.pre-commit-hooks.yaml), run for real by
`pre-commit run` in a throwaway git repository holding a spec, its generated output and a
.pre-commit-config.yaml that names this repository."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.support import ROOT

SEED = ROOT / "specs" / "qovery-containers.yaml"


def test_hook_definition() -> None:
    (hook,) = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    assert hook["id"] == "naftiko-gen-check"
    assert hook["entry"] == "naftiko-gen build --check --strict"
    assert hook["pass_filenames"] is False
    assert hook["language"] == "python"
    import re

    files = re.compile(hook["files"])
    assert files.search("specs/qovery-containers.yaml") and files.search("specs/x.yml")
    assert files.search("generated/qovery_containers/rest_server.py")
    assert not files.search("README.md")


def _git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args],
        cwd=repo,
        check=True,
        capture_output=True,
    )


def _hook_repo(dest: Path) -> Path:
    """This checkout as pre-commit would fetch it (what the hook installs), committed as it is now."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for folder in ("generator", "templates"):
        shutil.copytree(ROOT / folder, dest / folder, ignore=ignore)
    for name in ("pyproject.toml", "README.md", ".pre-commit-hooks.yaml"):
        shutil.copy(ROOT / name, dest / name)
    _git(dest, "init", "-q")
    _git(dest, "add", ".")
    _git(dest, "commit", "-q", "-m", "naftiko-gen")
    return dest


@pytest.mark.slow
def test_hook_in_a_project(tmp_path: Path) -> None:
    """A project whose .pre-commit-config.yaml names this repository at a commit, as users write
    it: `pre-commit run` installs the hook's environment once (PRE_COMMIT_HOME) and runs it twice,
    passing on fresh generated code and failing with a diff once the spec changed. (`try-repo`
    does the same with a fresh store, and so a fresh environment, each time.)"""
    pre_commit = shutil.which("pre-commit", path=str(Path(sys.executable).parent))
    if pre_commit is None:
        pytest.skip("pre-commit is not installed (pip install -e '.[test]')")
    hooks = _hook_repo(tmp_path / "naftiko-gen")
    rev = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=hooks, capture_output=True, text=True, check=True
    ).stdout.strip()
    repo = tmp_path / "project"
    (repo / "specs").mkdir(parents=True)
    shutil.copy(SEED, repo / "specs" / SEED.name)
    (repo / ".pre-commit-config.yaml").write_text(
        f"repos:\n  - repo: {hooks.as_posix()}\n    rev: {rev}\n    hooks:\n"
        "      - id: naftiko-gen-check\n",
        encoding="utf-8",
    )
    naftiko_gen = Path(sys.executable).parent / "naftiko-gen"
    subprocess.run([str(naftiko_gen), "build", "specs/"], cwd=repo, check=True, capture_output=True)
    _git(repo, "init", "-q")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "spec and generated code")
    # PIP_NO_COMPILE: pip's compiling every module it installs (black, rich, jinja2, ...) ahead
    # of time cost more than the two runs.
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "cache"), "PIP_NO_COMPILE": "1"}

    def run() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [pre_commit, "run", "naftiko-gen-check", "--all-files"],
            cwd=repo,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )

    fresh = run()
    assert fresh.returncode == 0, fresh.stdout + fresh.stderr
    assert "Passed" in fresh.stdout

    spec = repo / "specs" / SEED.name
    text = spec.read_text(encoding="utf-8")
    assert "name: clone-container\n" in text
    spec.write_text(text.replace("name: clone-container\n", "name: clone-a-container\n"), "utf-8")
    _git(repo, "add", "specs")  # pre-commit stashes unstaged changes: stage the edit
    stale = run()
    assert stale.returncode == 1, stale.stdout + stale.stderr
    assert "Failed" in stale.stdout and "is stale" in stale.stdout
