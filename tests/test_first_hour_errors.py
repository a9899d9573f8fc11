"""Issue #12, "the first hour": what a newcomer's first mistakes look like, snapshotted.

Each case runs the real command line (in process) from a scratch folder and compares what it
prints with tests/golden/first_hour/<case>.txt. Refresh after an intended change with
NAFTIKO_UPDATE_GOLDEN=1 pytest tests/test_first_hour_errors.py, and review the diff.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from naftiko_gen.cli import EXIT_DIFF, EXIT_INVALID, EXIT_OK, cli
from naftiko_gen.suggest import closest, did_you_mean
from naftiko_gen.writer import MANIFEST

GOLDEN = Path(__file__).resolve().parent / "golden" / "first_hour"
UPDATE = os.environ.get("NAFTIKO_UPDATE_GOLDEN") == "1"

SPEC = """\
naftiko: "1.0.0-alpha2"
info:
  label: Items
  description: A first capability.
capability:
  consumes:
    - type: http
      namespace: up
      baseUri: https://api.example.com
      resources:
        - name: items
          path: /items
          operations:
            - name: list-items
              method: GET
  exposes:
    - type: mcp
      namespace: tools
      port: 9090
      tools:
        - name: list-items
          description: List items.
          call: up.list-items
"""


def run(*args: str, color: bool = False) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False, color=color)
    return result.exit_code, result.stdout, result.stderr


def snapshot(case: str, text: str) -> None:
    expected = GOLDEN / f"{case}.txt"
    if UPDATE:
        expected.write_text(text, encoding="utf-8")
        return
    assert expected.is_file(), f"no snapshot {expected}; run NAFTIKO_UPDATE_GOLDEN=1 pytest"
    assert text == expected.read_text(encoding="utf-8")


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "items.yaml").write_text(SPEC, encoding="utf-8")
    return tmp_path


def _transcript(code: int, out: str, err: str) -> str:
    return f"exit {code}\n--- stdout\n{out}--- stderr\n{err}"


# -- snapshots of the three first mistakes ----------------------------------------------------------


def test_typo_in_call_suggests_the_operation(project: Path) -> None:
    spec = project / "specs" / "items.yaml"
    spec.write_text(SPEC.replace("call: up.list-items", "call: up.list-itemz"), encoding="utf-8")
    code, out, err = run("build", "specs", "-o", "out")
    assert code == EXIT_INVALID
    assert "did you mean 'up.list-items'?" in err
    assert not (project / "out").exists()
    snapshot("call-typo", _transcript(code, out, err))


def test_typo_in_call_namespace_suggests_the_operation(project: Path) -> None:
    spec = project / "specs" / "items.yaml"
    spec.write_text(SPEC.replace("call: up.list-items", "call: upp.list-items"), encoding="utf-8")
    code, _, err = run("build", "specs", "-o", "out")
    assert code == EXIT_INVALID
    assert "no consumes adapter has namespace 'upp'; did you mean 'up.list-items'?" in err


def test_yaml_indentation_error_names_the_line_and_the_fix(project: Path) -> None:
    spec = project / "specs" / "items.yaml"
    spec.write_text(
        SPEC.replace(
            "      baseUri: https://api.example.com", "     baseUri: https://api.example.com"
        ),
        encoding="utf-8",
    )
    code, out, err = run("build", "specs", "-o", "out")
    assert code == EXIT_INVALID
    first = err.splitlines()[0]
    assert first.startswith("specs/items.yaml:9:6: error naftiko-yaml-syntax: bad indentation:")
    assert "align it with 'namespace' (6 spaces)" in first
    assert "<block" not in err
    snapshot("yaml-indentation", _transcript(code, out, err))


def test_output_pointing_at_a_file_is_one_line(project: Path) -> None:
    (project / "out.txt").write_text("mine\n", encoding="utf-8")
    code, out, err = run("build", "specs", "-o", "out.txt")
    assert code == EXIT_INVALID
    assert len(err.splitlines()) == 1 and "is a file, not a folder" in err
    assert (project / "out.txt").read_text(encoding="utf-8") == "mine\n"
    snapshot("output-is-a-file", _transcript(code, out, err))
    code, _, err = run("build", "specs", "-o", "out.txt/sub", "--check")
    assert code == EXIT_INVALID and "out.txt is a file" in err


# -- a file of the user's in a generated package -------------------------------------------------


def test_foreign_file_in_a_package_survives_build_and_check(project: Path) -> None:
    assert run("build", "specs", "-o", "out")[0] == EXIT_OK
    notes = project / "out" / "items" / "NOTES.md"
    notes.write_text("x\n", encoding="utf-8")

    code, out, err = run("build", "specs", "-o", "out")
    assert code == EXIT_OK, out + err
    assert notes.read_text(encoding="utf-8") == "x\n"
    assert "warning: out/items/NOTES.md was not written by naftiko-gen" in err

    code, out, err = run("build", "specs", "-o", "out", "--check")
    assert code == EXIT_OK, out + err
    assert "up to date" in out and "NOTES.md" not in out
    assert "warning: out/items/NOTES.md" in err
    assert notes.is_file()
    snapshot("foreign-file-check", _transcript(code, out, err))

    # The manifest lists exactly the generated files, not the user's.
    manifest = json.loads((project / "out" / MANIFEST).read_text(encoding="utf-8"))
    assert "NOTES.md" not in manifest["packages"]["items"]["files"]
    assert "mcp_server.py" in manifest["packages"]["items"]["files"]


def test_foreign_file_survives_when_its_package_is_dropped(project: Path) -> None:
    assert run("build", "specs", "-o", "out")[0] == EXIT_OK
    (project / "out" / "items" / "NOTES.md").write_text("x\n", encoding="utf-8")
    (project / "specs" / "other.yaml").write_text(SPEC, encoding="utf-8")
    (project / "specs" / "items.yaml").unlink()
    code, out, err = run("build", "specs", "-o", "out")
    assert code == EXIT_OK, out + err
    assert sorted(p.name for p in (project / "out" / "items").iterdir()) == ["NOTES.md"]
    assert "out/items/NOTES.md" in err
    assert run("build", "specs", "-o", "out", "--check")[0] == EXIT_OK


def test_build_refuses_to_overwrite_a_file_it_did_not_write(project: Path) -> None:
    package = project / "out" / "items"
    package.mkdir(parents=True)
    (package / "mcp_server.py").write_text("# my own server\n", encoding="utf-8")
    code, out, err = run("build", "specs", "-o", "out")
    assert code == EXIT_INVALID, out + err
    assert "refusing to overwrite out/items/mcp_server.py" in err
    assert (package / "mcp_server.py").read_text(encoding="utf-8") == "# my own server\n"
    assert not (project / "out" / MANIFEST).exists(), "nothing is written"
    # --check says the same, as an error.
    assert run("build", "specs", "-o", "out", "--check")[0] == EXIT_INVALID


def test_a_file_identical_to_the_generated_one_is_adopted(project: Path) -> None:
    assert run("build", "specs", "-o", "first")[0] == EXIT_OK
    package = project / "out" / "items"
    package.mkdir(parents=True)
    text = (project / "first" / "items" / "mcp_server.py").read_text(encoding="utf-8")
    (package / "mcp_server.py").write_text(text, encoding="utf-8")
    code, out, err = run("build", "specs", "-o", "out")
    assert code == EXIT_OK, out + err
    manifest = json.loads((project / "out" / MANIFEST).read_text(encoding="utf-8"))
    assert "mcp_server.py" in manifest["packages"]["items"]["files"]


def test_old_manifest_without_file_lists_owns_the_generated_names(project: Path) -> None:
    assert run("build", "specs", "-o", "out")[0] == EXIT_OK
    path = project / "out" / MANIFEST
    data = json.loads(path.read_text(encoding="utf-8"))
    del data["packages"]["items"]["files"]
    path.write_text(json.dumps(data), encoding="utf-8")
    server = project / "out" / "items" / "mcp_server.py"
    server.write_text("# edited by hand\n", encoding="utf-8")
    (project / "out" / "items" / "NOTES.md").write_text("x\n", encoding="utf-8")
    code, out, err = run("build", "specs", "-o", "out")
    assert code == EXIT_OK, out + err
    assert server.read_text(encoding="utf-8").startswith("# Code generated by naftiko-gen")
    assert (project / "out" / "items" / "NOTES.md").is_file()
    data = json.loads(path.read_text(encoding="utf-8"))
    assert "NOTES.md" not in data["packages"]["items"]["files"]


def test_broken_manifest_is_an_error_not_a_traceback(project: Path) -> None:
    assert run("build", "specs", "-o", "out")[0] == EXIT_OK
    (project / "out" / MANIFEST).write_text("<<<<<<< HEAD\n", encoding="utf-8")
    code, out, err = run("build", "specs", "-o", "out")
    assert code == EXIT_INVALID, out + err
    assert "is not a naftiko-gen manifest" in err and "Traceback" not in err


def test_verbose_lists_every_file_written_and_removed(project: Path) -> None:
    code, out, _ = run("build", "specs", "-o", "out", "-v")
    assert code == EXIT_OK
    written = sorted(
        line.split(" ", 1)[1] for line in out.splitlines() if line.startswith("wrote ")
    )
    assert "out/items/mcp_server.py" in written and f"out/{MANIFEST}" in written
    # Drop the MCP adapter: its server is removed, and -v says so.
    spec = project / "specs" / "items.yaml"
    text = SPEC.replace(
        "    - type: mcp\n      namespace: tools\n      port: 9090\n",
        "    - type: rest\n      namespace: api\n      port: 8080\n      resources:\n        - path: /items\n          operations:\n            - method: GET\n              call: up.list-items\n",
    )
    text = text[: text.index("      tools:")]
    spec.write_text(text, encoding="utf-8")
    code, out, err = run("build", "specs", "-o", "out", "--verbose")
    assert code == EXIT_OK, out + err
    assert "removed out/items/mcp_server.py" in out.splitlines()


# -- the command line -------------------------------------------------------------------------------


def test_global_options_after_the_command(project: Path) -> None:
    assert run("build", "specs", "-o", "out", "--debug")[0] == EXIT_OK
    assert run("validate", "specs", "--debug", "--no-color")[0] == EXIT_OK
    assert run("--debug", "build", "specs", "-o", "out", "--check")[0] == EXIT_OK


def test_errors_come_before_warnings_with_a_count(project: Path) -> None:
    spec = project / "specs" / "items.yaml"
    # The warning stands above the error in the file; the error is still printed first.
    text = SPEC.replace("      namespace: up\n", "      namespace: up\n      colour: red\n")
    text = text.replace("call: up.list-items", "call: up.nope")
    spec.write_text(text, encoding="utf-8")
    code, _, err = run("build", "specs", "-o", "out")
    assert code == EXIT_INVALID
    lines = err.splitlines()
    severities = [m.group(1) for line in lines if (m := re.search(r":\d+:\d+: (\w+) ", line))]
    assert severities == ["error", "warning"], err
    assert lines[-1] == "naftiko-gen: 1 error, 1 warning; nothing was written"
    code, _, err = run("validate", "specs")
    assert code == EXIT_DIFF
    assert err.splitlines()[-1] == "1 error, 1 warning"


def test_notes_are_counted_not_printed_by_build(project: Path) -> None:
    spec = project / "specs" / "items.yaml"
    spec.write_text(SPEC.replace("method: GET", "method: get"), encoding="utf-8")
    code, out, err = run("build", "specs", "-o", "out")
    assert code == EXIT_OK, out + err
    assert "naftiko-lenient-method" not in err
    assert "1 note (naftiko-gen validate specs --notes)" in err
    assert "warning" not in err
    code, out, _ = run("validate", "specs", "--notes", "--strict")
    assert code == EXIT_OK
    assert " note naftiko-lenient-method: " in out
    code, out, _ = run("validate", "specs", "--format", "json")
    assert [d["severity"] for d in json.loads(out)] == ["note"]


def test_help_documents_every_exit_code() -> None:
    for args in ([], ["build"], ["validate"], ["diff"]):
        code, out, _ = run(*args, "--help")
        assert code == 0
        for n in ("0", "1", "2", "3", "130"):
            assert re.search(rf"^\s+{n}\s+\S", out, re.MULTILINE), (args, n, out)


def test_check_diff_is_coloured_only_when_asked(project: Path) -> None:
    assert run("build", "specs", "-o", "out")[0] == EXIT_OK
    server = project / "out" / "items" / "mcp_server.py"
    server.write_text(server.read_text(encoding="utf-8") + "# edited\n", encoding="utf-8")
    code, plain, _ = run("build", "specs", "-o", "out", "--check")
    assert code == EXIT_DIFF and "\x1b[" not in plain and "-# edited" in plain
    code, coloured, _ = run("build", "specs", "-o", "out", "--check", color=True)
    assert code == EXIT_DIFF
    assert "\x1b[31m-# edited" in coloured


# -- suggest.closest --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "candidates", "expected"),
    [
        ("up.list-itemz", ["up.list-items", "up.get-item"], "up.list-items"),
        ("UP.LIST-ITEMS", ["up.list-items"], "up.list-items"),  # case-insensitive, exact first
        (
            "qovery.lsit-containers",
            ["qovery.list-containers", "qovery.get-container"],
            "qovery.list-containers",
        ),
        ("upp", ["up", "down"], "up"),
        ("weather", ["up.list-items", "tools"], None),  # nothing close: no suggestion
        ("", ["a"], None),
        ("x", [], None),
        ("get-item", ["get-items", "get-item"], "get-item"),  # the exact one beats a near one
        ("abc", ["abd", "abe"], "abd"),  # ties go to the first listed
    ],
)
def test_closest(name: str, candidates: list[str], expected: str | None) -> None:
    assert closest(name, candidates) == expected


def test_did_you_mean_phrase() -> None:
    assert did_you_mean("up.list-itemz", ["up.list-items"]) == "; did you mean 'up.list-items'?"
    assert did_you_mean("zzz", ["up.list-items"]) == ""
    assert closest("a", iter(["b", "a"])) == "a"  # any iterable, read once
