"""New packages are written while the build runs (writer.Stager, issue #10), and the result is
the one file-by-file writing gives: same files, same modes, nothing left behind, nothing made
when the build fails."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from naftiko_gen import cli, codegen
from naftiko_gen.codegen import generate
from naftiko_gen.writer import Stager, apply_changes, plan_changes
from tests.support import FIXTURES, ROOT

SPECS = [ROOT / "specs" / "qovery-containers.yaml", *sorted((FIXTURES / "golden").glob("*.yaml"))]


def tree(root: Path) -> dict[str, tuple[int, bytes | None]]:
    return {
        p.relative_to(root).as_posix(): (p.stat().st_mode, p.read_bytes() if p.is_file() else None)
        for p in sorted(root.rglob("*"))
    }


def plain_build(out: Path) -> None:
    """The build without staging: every file written by apply_changes."""
    result = generate(SPECS, out)
    assert not result.report.has_errors()
    apply_changes(plan_changes(result.files, result.specs, out), out)


@pytest.fixture(autouse=True)
def no_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NAFTIKO_GEN_NO_CACHE", "1")


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_staged_build_writes_what_plain_writing_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, jobs: str
) -> None:
    monkeypatch.setenv("NAFTIKO_GEN_JOBS", jobs)
    monkeypatch.setattr(codegen, "PARALLEL_MIN_SPECS", 2)
    monkeypatch.setattr(codegen, "STAGE_GROUP", 2)
    plain_build(tmp_path / "p" / "plain")  # the same depth: the manifest names the specs
    out = tmp_path / "deep" / "staged"
    moved: list[str] = []
    real = os.rename

    def rename(source: str, target: Path) -> None:
        moved.append(str(target))
        real(source, target)

    monkeypatch.setattr(os, "rename", rename)
    assert cli._build(SPECS, out, False, True, False) == cli.EXIT_OK
    assert len(moved) == len(SPECS), "every package folder was staged and moved whole"
    assert tree(out) == tree(tmp_path / "p" / "plain")
    assert not [p for p in out.rglob(".naftiko-*") if p.name != ".naftiko-gen.json"]


def test_only_new_package_folders_are_staged(tmp_path: Path) -> None:
    out = tmp_path / "out"
    plain_build(out)
    package = sorted(p for p in out.iterdir() if p.is_dir())[0]
    (package / "upstream.py").write_text("# edited\n", encoding="utf-8")
    stager = Stager(out)
    assert stager(package.name, {f"{package.name}/x.py": "x = 1\n"}) is None
    shutil.rmtree(out / sorted(p.name for p in out.iterdir() if p.is_dir())[1])
    assert cli._build(SPECS, out, False, True, False) == cli.EXIT_OK
    fresh = tmp_path / "fresh"
    plain_build(fresh)
    assert tree(out) == tree(fresh)


def test_a_failed_build_makes_nothing(tmp_path: Path) -> None:
    specs = tmp_path / "specs"
    specs.mkdir()
    for spec in SPECS:
        shutil.copy(spec, specs / spec.name)
    (specs / "zz-broken.yaml").write_text(
        SPECS[0].read_text(encoding="utf-8").replace("naftiko:", "naftikoo:", 1), encoding="utf-8"
    )
    out = tmp_path / "a" / "b"
    assert cli._build([specs], out, False, True, False) == cli.EXIT_INVALID
    assert not (tmp_path / "a").exists()
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "keep.txt").write_text("mine\n", encoding="utf-8")
    assert cli._build([specs], tmp_path / "a", False, True, False) == cli.EXIT_INVALID
    assert sorted(os.listdir(tmp_path / "a")) == ["keep.txt"]


def test_a_staged_folder_is_not_used_once_the_package_exists(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    result = generate(SPECS[:1], out)
    package = result.packages[0]
    files = {k: v for k, v in result.files.items() if k.startswith(package + "/")}
    stager = Stager(out)
    staged = stager(package, files)
    assert staged is not None and Path(staged[0]).parent.name.startswith(".naftiko-stage-")
    changes = plan_changes(result.files, result.specs, out)
    (out / package).mkdir()  # appeared meanwhile: written file by file instead
    apply_changes(changes, out, packages={package: staged})
    stager.discard()
    assert sorted(os.listdir(out)) == [".naftiko-gen.json", package]
    for rel, text in files.items():
        assert (out / rel).read_text(encoding="utf-8") == text


def test_packages_from_the_cache_are_staged_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NAFTIKO_GEN_NO_CACHE", "")
    monkeypatch.setenv("NAFTIKO_GEN_CACHE_DIR", str(tmp_path / "cache"))
    specs = tmp_path / "specs"
    specs.mkdir()
    shutil.copy(SPECS[0], specs)
    assert cli._build([specs], tmp_path / "first", False, True, False) == cli.EXIT_OK
    stager = Stager(tmp_path / "out")
    (tmp_path / "out").mkdir()
    result = generate([specs], tmp_path / "out", stage=stager)  # every spec is a cache hit
    assert result.staged and all(
        Path(folder).parent == stager.folder for folder, _ in result.staged.values()
    )
    stager.discard()
    assert not stager.folder.exists()


def test_the_staging_folder_asks_to_spread_its_subfolders(tmp_path: Path) -> None:
    """ext4 only (generator/spread.py); elsewhere the hint is skipped and nothing fails."""
    import fcntl
    import struct

    from naftiko_gen.spread import spread_subfolders

    assert spread_subfolders(tmp_path / "missing") is False
    (tmp_path / "file").write_text("x")
    assert spread_subfolders(tmp_path / "file") is False
    probe = tmp_path / "probe"
    probe.mkdir()
    if not spread_subfolders(probe):
        pytest.skip("this filesystem takes no allocation hint (not ext2/3/4)")
    out = tmp_path / "out"
    out.mkdir()
    stager = Stager(out)
    assert stager("pkg", {"pkg/a.py": "a = 1\n"}) is not None
    fd = os.open(stager.folder, os.O_RDONLY)
    try:
        (flags,) = struct.unpack("i", fcntl.ioctl(fd, 0x80086601, struct.pack("i", 0)))
    finally:
        os.close(fd)
    assert flags & 0x00020000, "the staging folder carries ext4's top-directory hint"
    assert not (out / "pkg").exists()  # staged, not yet in place
    stager.discard()
    assert sorted(os.listdir(out)) == []


def test_a_killed_builds_staging_folders_are_removed_by_the_next_build(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import subprocess
    import sys

    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], text=True,
                          capture_output=True, check=True)  # fmt: skip
    dead = int(gone.stdout)
    out = tmp_path / "out"
    for name in (f".naftiko-stage-{dead}", f".naftiko-stage-{dead}-pkg", ".naftiko-stage-1"):
        (out / name / "pkg").mkdir(parents=True)
        (out / name / "pkg" / "x.py").write_text("x = 1\n")
    (out / ".naftiko-stage-notes").mkdir()  # not a staging folder's name: kept
    specs = tmp_path / "specs"
    specs.mkdir()
    shutil.copy(SPECS[0], specs)
    assert cli._build([specs], out, False, True, False) == cli.EXIT_OK
    left = sorted(n for n in os.listdir(out) if n.startswith(".naftiko-stage"))
    assert left == [".naftiko-stage-1", ".naftiko-stage-notes"]  # pid 1 is alive: not ours
    err = capsys.readouterr().err
    assert f"removed .naftiko-stage-{dead}/, left by a build that was killed" in err
