"""`naftiko-gen build` writes all or nothing, `--check` only reads, stale output is cleaned up,
and nothing outside the output folder is ever touched. Every test runs the real command line in
a subprocess, from a scratch folder, the way a developer or CI would.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.robustness.helpers import ROBUST_FIXTURES
from tests.support import run_cli as naftiko_gen

pytestmark = pytest.mark.slow

DIAGNOSTIC = re.compile(r"^(?P<file>[^\s:][^:]*):(?P<line>\d+):(?P<col>\d+): error naftiko-[a-z0-9-]+: ", re.MULTILINE)

GOOD = (ROBUST_FIXTURES / "mini-rest.yaml").read_text(encoding="utf-8")
OTHER = (ROBUST_FIXTURES / "mini-mock.yaml").read_text(encoding="utf-8")

BAD_SPECS = {
    # Every call broken: nothing is left to build (one broken call alone is skipped, not fatal).
    "broken-call": GOOD.replace("call: api.", "call: api.no-such-").replace(
        "              name: status\n", "              name: status\n              call: api.gone\n"
    ),
    "yaml-syntax": GOOD[: GOOD.index("token:") + 12],
    "duplicate-key": GOOD.replace("  label: Mini REST\n", "  label: Mini REST\n  label: again\n"),
    "wrong-type": GOOD.replace("      port: 8301\n", "      port: [8301]\n"),
    "not-utf8": None,  # written as bytes below
}


def snapshot(root: Path, skip: str | None = None) -> dict[str, object]:
    """Every entry under root: bytes, mode and mtime of files, links and folders."""
    if not root.exists():
        return {}
    out: dict[str, object] = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if skip is not None and (rel == skip or rel.startswith(skip + "/")):
            continue
        if "__pycache__" in path.parts:
            continue
        st = path.lstat()
        if path.is_symlink():
            out[rel] = ("link", os.readlink(path))
        elif path.is_dir():
            out[rel + "/"] = ("dir", st.st_mode)
        else:
            out[rel] = ("file", path.read_bytes(), st.st_mode, st.st_mtime_ns)
    return out


def assert_clean_run(proc: subprocess.CompletedProcess[str], code: int) -> None:
    both = proc.stdout + proc.stderr
    assert proc.returncode == code, (proc.returncode, both[-3000:])
    assert "Traceback (most recent call last)" not in both, both[-3000:]
    assert "internal error" not in both, both[-3000:]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A scratch project: specs/good-one.yaml, a neighbour folder, and nothing built yet."""
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "good-one.yaml").write_text(GOOD, encoding="utf-8")
    neighbour = tmp_path / "neighbour"
    neighbour.mkdir()
    (neighbour / "keep.txt").write_text("not naftiko-gen's\n", encoding="utf-8")
    (neighbour / "good_one").mkdir()  # same name as a package, outside the output folder
    (neighbour / "good_one" / "rest_server.py").write_text("# mine\n", encoding="utf-8")
    return tmp_path


def write_bad(project: Path, kind: str) -> Path:
    bad = project / "specs" / "bad-one.yaml"
    text = BAD_SPECS[kind]
    if text is None:
        bad.write_bytes(GOOD.replace("Mini REST", "Mini R\xe9ST").encode("latin-1"))
    else:
        bad.write_text(text, encoding="utf-8")
    return bad


# -- all or nothing ------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", sorted(BAD_SPECS))
def test_invalid_spec_leaves_the_output_folder_as_it_was(project: Path, kind: str) -> None:
    assert_clean_run(naftiko_gen("build", "specs", "-o", "out", cwd=project), 0)
    (project / "out" / "README.txt").write_text("a file of the user's\n", encoding="utf-8")
    # The good spec changes too, so a partial build would show in its package.
    (project / "specs" / "good-one.yaml").write_text(
        GOOD.replace("Read one item", "Read exactly one item"), encoding="utf-8"
    )
    bad = write_bad(project, kind)
    before = snapshot(project / "out")
    outside = snapshot(project, skip="out")

    proc = naftiko_gen("build", "specs", "-o", "out", cwd=project)

    assert_clean_run(proc, 2)
    found = DIAGNOSTIC.search(proc.stderr)
    assert found, proc.stderr
    assert found.group("file") == "specs/bad-one.yaml", proc.stderr
    assert "nothing was written" in proc.stderr
    assert snapshot(project / "out") == before
    assert snapshot(project, skip="out") == outside
    assert bad.exists()


def test_invalid_spec_does_not_create_the_output_folder(project: Path) -> None:
    write_bad(project, "broken-call")
    outside = snapshot(project)
    proc = naftiko_gen("build", "specs", "-o", "out/nested", cwd=project)
    assert_clean_run(proc, 2)
    assert DIAGNOSTIC.search(proc.stderr), proc.stderr
    assert not (project / "out").exists()
    assert snapshot(project) == outside


def test_check_on_invalid_spec_is_an_error_not_a_diff(project: Path) -> None:
    assert_clean_run(naftiko_gen("build", "specs", "-o", "out", cwd=project), 0)
    write_bad(project, "yaml-syntax")
    before = snapshot(project)
    proc = naftiko_gen("build", "specs", "-o", "out", "--check", cwd=project)
    assert_clean_run(proc, 2)
    assert DIAGNOSTIC.search(proc.stderr), proc.stderr
    assert snapshot(project) == before


# -- --check --------------------------------------------------------------------------------------


def test_check_reports_changed_missing_and_extra_files_and_writes_nothing(project: Path) -> None:
    assert_clean_run(naftiko_gen("build", "specs", "-o", "out", cwd=project), 0)
    package = project / "out" / "good_one"
    assert (package / "rest_server.py").is_file()

    fresh = naftiko_gen("build", "specs", "-o", "out", "--check", cwd=project)
    assert_clean_run(fresh, 0)
    assert "up to date" in fresh.stdout

    # One byte of one generated file.
    target = package / "rest_server.py"
    data = bytearray(target.read_bytes())
    at = data.index(b"aiohttp REST server")
    data[at] = ord("A")
    target.write_bytes(bytes(data))
    before = snapshot(project)
    changed = naftiko_gen("build", "specs", "-o", "out", "--check", cwd=project)
    assert_clean_run(changed, 1)
    assert "--- a/out/good_one/rest_server.py" in changed.stdout, changed.stdout
    assert "+++ b/out/good_one/rest_server.py" in changed.stdout, changed.stdout
    assert re.search(r"^@@ -\d+(,\d+)? \+\d+(,\d+)? @@", changed.stdout, re.MULTILINE), changed.stdout
    assert re.search(r'^-"""Aiohttp REST server', changed.stdout, re.MULTILINE), changed.stdout
    assert re.search(r'^\+"""aiohttp REST server', changed.stdout, re.MULTILINE), changed.stdout
    assert "stale" in changed.stderr
    assert snapshot(project) == before, "--check wrote something"

    # A missing file, and a file of the user's (not the generator's: a warning, not a diff).
    (package / "upstream.py").unlink()
    (package / "extra.py").write_text("x = 1\n", encoding="utf-8")
    before = snapshot(project)
    both = naftiko_gen("build", "specs", "-o", "out", "--check", cwd=project)
    assert_clean_run(both, 1)
    assert "missing: out/good_one/upstream.py" in both.stdout, both.stdout
    assert "extra.py" not in both.stdout, both.stdout
    assert "warning: out/good_one/extra.py was not written by naftiko-gen" in both.stderr
    assert snapshot(project) == before, "--check wrote something"

    # build puts its own files back and leaves the user's; --check agrees, with the warning.
    assert_clean_run(naftiko_gen("build", "specs", "-o", "out", cwd=project), 0)
    assert (package / "extra.py").read_text(encoding="utf-8") == "x = 1\n"
    assert (package / "upstream.py").is_file()
    fresh = naftiko_gen("build", "specs", "-o", "out", "--check", cwd=project)
    assert_clean_run(fresh, 0)
    assert "out/good_one/extra.py" in fresh.stderr


def test_check_on_a_missing_output_folder_lists_every_file(project: Path) -> None:
    proc = naftiko_gen("build", "specs", "-o", "out", "--check", cwd=project)
    assert_clean_run(proc, 1)
    for name in ("__init__.py", "_runtime.py", "upstream.py", "rest_server.py", "openapi.json"):
        assert f"missing: out/good_one/{name}" in proc.stdout, proc.stdout
    assert not (project / "out").exists()


# -- stale output is removed, the rest is kept ----------------------------------------------------


def test_package_of_a_deleted_spec_is_removed(project: Path) -> None:
    (project / "specs" / "other-one.yaml").write_text(OTHER, encoding="utf-8")
    assert_clean_run(naftiko_gen("build", "specs", "-o", "out", cwd=project), 0)
    assert (project / "out" / "other_one" / "mcp_server.py").is_file()
    good_before = snapshot(project / "out" / "good_one")

    (project / "specs" / "other-one.yaml").unlink()
    outside = snapshot(project, skip="out")
    proc = naftiko_gen("build", "specs", "-o", "out", cwd=project)
    assert_clean_run(proc, 0)
    assert not (project / "out" / "other_one").exists()
    assert snapshot(project / "out" / "good_one") == good_before
    assert snapshot(project, skip="out") == outside
    manifest = (project / "out" / ".naftiko-gen.json").read_text(encoding="utf-8")
    assert "other_one" not in manifest and "good_one" in manifest
    assert_clean_run(naftiko_gen("build", "specs", "-o", "out", "--check", cwd=project), 0)


def test_package_not_built_this_time_is_kept(project: Path) -> None:
    (project / "specs" / "other-one.yaml").write_text(OTHER, encoding="utf-8")
    assert_clean_run(naftiko_gen("build", "specs", "-o", "out", cwd=project), 0)
    other_before = snapshot(project / "out" / "other_one")
    proc = naftiko_gen("build", "specs/good-one.yaml", "-o", "out", cwd=project)
    assert_clean_run(proc, 0)
    assert snapshot(project / "out" / "other_one") == other_before


def test_files_no_longer_produced_are_removed(project: Path) -> None:
    spec = project / "specs" / "other-one.yaml"
    spec.write_text(OTHER, encoding="utf-8")
    assert_clean_run(naftiko_gen("build", "specs", "-o", "out", cwd=project), 0)
    package = project / "out" / "other_one"
    assert {p.name for p in package.iterdir()} >= {"rest_server.py", "openapi.json", "mcp_server.py"}

    # Drop the MCP adapter: mcp_server.py goes, the REST files stay.
    text = OTHER[: OTHER.index("    - type: mcp")]
    spec.write_text(text, encoding="utf-8")
    assert_clean_run(naftiko_gen("build", "specs", "-o", "out", cwd=project), 0)
    names = {p.name for p in package.iterdir() if p.name != "__pycache__"}
    assert "mcp_server.py" not in names
    assert {"rest_server.py", "openapi.json", "upstream.py", "_runtime.py", "__init__.py"} <= names

    # A file that was never the generator's, inside the package folder, stays (and is named).
    (package / "stray.py").write_text("x = 1\n", encoding="utf-8")
    proc = naftiko_gen("build", "specs", "-o", "out", cwd=project)
    assert_clean_run(proc, 0)
    assert (package / "stray.py").is_file()
    assert "out/other_one/stray.py was not written by naftiko-gen" in proc.stderr
    assert_clean_run(naftiko_gen("build", "specs", "-o", "out", "--check", cwd=project), 0)


# -- nothing outside the output folder ------------------------------------------------------------


def test_nothing_outside_the_output_folder_is_touched(project: Path) -> None:
    (project / "specs" / "other-one.yaml").write_text(OTHER, encoding="utf-8")
    (project / "out").mkdir()
    (project / "out" / "mine.txt").write_text("the user's\n", encoding="utf-8")
    outside = snapshot(project, skip="out")
    for args in (
        ("build", "specs", "-o", "out"),
        ("build", "specs", "-o", "out", "--check"),
        ("validate", "specs"),
        ("validate", "--format", "json", "specs"),
    ):
        proc = naftiko_gen(*args, cwd=project)
        assert_clean_run(proc, 0)
        assert snapshot(project, skip="out") == outside, args
    (project / "specs" / "other-one.yaml").unlink()
    outside = snapshot(project, skip="out")
    assert_clean_run(naftiko_gen("build", "specs", "-o", "out", cwd=project), 0)
    assert snapshot(project, skip="out") == outside
    # A file of the user's at the top of the output folder is not the generator's.
    assert (project / "out" / "mine.txt").read_text(encoding="utf-8") == "the user's\n"
    leftovers = [p for p in project.rglob(".naftiko-*") if p.name != ".naftiko-gen.json"]
    assert leftovers == []


def test_output_folder_given_as_absolute_path(project: Path) -> None:
    out = project / "abs-out"
    outside = snapshot(project, skip="abs-out")
    work = project / "neighbour"
    proc = naftiko_gen("build", str(project / "specs"), "-o", str(out), cwd=work)
    assert_clean_run(proc, 0)
    assert (out / "good_one" / "rest_server.py").is_file()
    assert snapshot(project, skip="abs-out") == outside
    shutil.rmtree(out)


def test_package_kept_when_the_next_build_runs_from_another_folder(project: Path) -> None:
    (project / "specs" / "other-one.yaml").write_text(OTHER, encoding="utf-8")
    assert_clean_run(naftiko_gen("build", "specs/good-one.yaml", "-o", "out", cwd=project), 0)
    good_before = snapshot(project / "out" / "good_one")
    proc = naftiko_gen("build", "other-one.yaml", "-o", "../out", cwd=project / "specs")
    assert_clean_run(proc, 0)
    assert (project / "out" / "other_one" / "mcp_server.py").is_file()
    assert snapshot(project / "out" / "good_one") == good_before


def test_failed_write_leaves_no_temporary_files(project: Path) -> None:
    assert_clean_run(naftiko_gen("build", "specs", "-o", "out", cwd=project), 0)
    (project / "specs" / "good-one.yaml").write_text(
        GOOD.replace("Read one item", "Read exactly one item"), encoding="utf-8"
    )
    blocker = project / "out" / "good_one" / "upstream.py"
    blocker.unlink()
    blocker.mkdir()
    proc = naftiko_gen("build", "specs", "-o", "out", cwd=project)
    both = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "Traceback (most recent call last)" not in both, both[-3000:]
    assert "upstream.py" in both
    leftovers = [p.name for p in (project / "out").rglob(".naftiko-*") if p.name != ".naftiko-gen.json"]
    assert leftovers == []
    assert "internal error" not in both, both[-3000:]
