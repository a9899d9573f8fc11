"""The rule registry, the invalid fixtures that exercise it, and the `naftiko-gen` CLI contract.

- every rule id the generator can emit is registered in naftiko_gen.rules.RULES;
- every registered rule has a fixture in tests/fixtures/invalid/ (snapshotted by
  tests/test_golden.py::test_diagnostics_match_snapshot) or is a command-line-only rule tested here;
- docs/rules.md carries the exact rule table;
- `validate` / `build` exit codes, text and JSON output formats; never a Python traceback.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from naftiko_gen.cli import EXIT_INTERNAL, cli
from naftiko_gen.codegen import validate
from naftiko_gen.rules import BY_ID, RULES, markdown_table
from tests.support import FIXTURES, ROOT, TUTORIAL

GENERATOR = ROOT / "generator" / "naftiko_gen"
INVALID = FIXTURES / "invalid"
SEED = ROOT / "specs" / "qovery-containers.yaml"

# Rules that need a command-line condition rather than a spec's content (tested below).
CLI_ONLY = {
    "naftiko-file-unreadable",
    "naftiko-no-specs",
    "naftiko-package-clash",
    "naftiko-file-too-large",
    "naftiko-file-encoding",
    # families: several specs at once (tests/test_family.py)
    "naftiko-family-tool-renamed",
    "naftiko-family-routes-prefixed",
    "naftiko-family-clash",
    "naftiko-family-auth",
    "naftiko-family-empty",
}

# Rule ids built at run time ("naftiko-unsupported-" + key, f"naftiko-unsupported-{kind}-adapter", ...).
DYNAMIC_FAMILIES: dict[str, tuple[str, ...]] = {}

_RULE_ID = re.compile(r"naftiko-[a-z0-9]+(?:-[a-z0-9]+)*")
_RULE_PREFIX = re.compile(r"naftiko-(?:[a-z0-9]+-)+")
NOT_RULES = {"naftiko-gen"}  # the program's name, also a string literal
LINE = re.compile(r"^[^:]+:\d+:\d+: (error|warning|note) naftiko-[a-z0-9-]+: .+$")
JSON_KEYS = {"file", "line", "column", "severity", "rule", "message"}
SKIP_KEYS = JSON_KEYS | {"skipped"}  # a skip warning also names the part and the rule behind it


def _literals() -> tuple[set[str], set[str]]:
    """(literal rule ids, prefixes of rule ids built at run time) found in generator/*.py."""
    ids: set[str] = set()
    prefixes: set[str] = set()
    for path in sorted(GENERATOR.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                if _RULE_ID.fullmatch(node.value) and node.value not in NOT_RULES:
                    ids.add(node.value)
                elif _RULE_PREFIX.fullmatch(node.value):
                    prefixes.add(node.value)
            elif isinstance(node, ast.JoinedStr) and node.values:
                first = node.values[0]
                if (
                    isinstance(first, ast.Constant)
                    and isinstance(first.value, str)
                    and _RULE_PREFIX.fullmatch(first.value)
                ):
                    prefixes.add(first.value)
    return ids, prefixes


def _fixtures() -> list[Path]:
    return sorted(INVALID.glob("*.yaml"))


def _fixture_rule(spec: Path) -> str:
    return spec.stem.split("--")[0]


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def _write_minimal(path: Path, namespace: str = "up", port: int = 9090) -> None:
    path.write_text(
        f"""naftiko: "1.0.0-alpha2"
info:
  label: Minimal
  description: Minimal capability.
capability:
  consumes:
    - type: http
      namespace: {namespace}
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
      port: {port}
      tools:
        - name: list-items
          description: List items.
          call: {namespace}.list-items
""",
        encoding="utf-8",
    )


# -- (a) registry ↔ code ↔ fixtures ---------------------------------------------------------------


def test_registry_is_well_formed() -> None:
    ids = [r.id for r in RULES]
    assert len(ids) == len(set(ids)), "a rule id is registered twice"
    for r in RULES:
        assert _RULE_ID.fullmatch(r.id), r.id
        assert r.severity in ("error", "warning", "note"), r
        assert r.meaning.strip() and r.fix.strip(), r


def test_every_emitted_rule_is_registered() -> None:
    ids, prefixes = _literals()
    assert len(ids) > 40, f"rule literal scan found too little: {sorted(ids)}"
    assert not sorted(
        ids - set(BY_ID)
    ), f"emitted but not in naftiko_gen.rules.RULES: {sorted(ids - set(BY_ID))}"
    unknown = prefixes - set(DYNAMIC_FAMILIES)
    assert (
        not unknown
    ), f"rule ids built at run time from unreviewed prefixes {sorted(unknown)}; list them here"
    for family in DYNAMIC_FAMILIES.values():
        assert not [
            i for i in family if i not in BY_ID
        ], f"dynamic rule ids not registered: {family}"


def test_every_registered_rule_is_emitted_somewhere() -> None:
    ids, _ = _literals()
    dynamic = {i for family in DYNAMIC_FAMILIES.values() for i in family}
    assert not sorted(set(BY_ID) - ids - dynamic), "registered rules the code never emits"


def test_every_registered_rule_has_a_fixture_or_cli_test() -> None:
    covered = {_fixture_rule(p) for p in _fixtures()}
    missing = sorted(set(BY_ID) - covered - CLI_ONLY)
    assert not missing, f"rules without a tests/fixtures/invalid/<rule>--<variant>.yaml: {missing}"
    assert set(BY_ID) >= CLI_ONLY
    assert not covered & CLI_ONLY, "CLI-only rules should not also need a fixture"


@pytest.mark.parametrize("spec", _fixtures(), ids=lambda p: p.stem)
def test_fixture_triggers_its_rule(spec: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Stricter than the golden test: the rule must be the rule of a diagnostic, not just appear
    somewhere in the output (fixture file names contain the rule id)."""
    monkeypatch.chdir(ROOT)
    rule = _fixture_rule(spec)
    assert rule in BY_ID, f"{spec.name}: '{rule}' is not a registered rule (misspelled file name?)"
    report, unreadable = validate([spec.relative_to(ROOT)])
    assert not unreadable
    rules = {d.rule for d in report.items}
    # A part that cannot be generated is skipped; its skip warning names the rule it broke.
    skipped = {
        d.message.rsplit("[", 1)[1].rstrip("]")
        for d in report.items
        if d.rule == "naftiko-operation-skipped" and d.message.endswith("]")
    }
    assert rule in rules | skipped, f"{spec.name} does not trigger {rule}; it gives {sorted(rules)}"
    assert rules <= set(BY_ID), f"unregistered rules emitted: {sorted(rules - set(BY_ID))}"


def _all_specs() -> list[Path]:
    found = [SEED, *sorted(p for p in FIXTURES.rglob("*.yaml") if TUTORIAL not in p.parents)]
    found += sorted(TUTORIAL.glob("*.yml")) + sorted((TUTORIAL / "shared").glob("*.y*ml"))
    return found


def test_all_emitted_diagnostics_are_registered_and_located(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(ROOT)
    for spec in _all_specs():
        report, _ = validate([spec])
        for d in report.items:
            assert d.rule in BY_ID, f"{spec}: unregistered rule {d.rule}"
            assert d.pos.line >= 1 and d.pos.col >= 1, d.format()
            assert LINE.match(d.format()), d.format()
            if d.rule not in (
                "naftiko-schema-required",
                "naftiko-rest-path",
            ):  # documented dual severity
                assert (
                    d.severity.value == BY_ID[d.rule].severity
                ), f"{d.format()} (registered as {BY_ID[d.rule].severity})"


# -- (b) docs/rules.md -----------------------------------------------------------------------------


def test_rules_doc_contains_rule_table() -> None:
    doc = ROOT / "docs" / "rules.md"
    assert markdown_table() in doc.read_text(
        encoding="utf-8"
    ), "docs/rules.md does not contain the current rule table; paste the output of 'naftiko-gen rules'"


def test_rules_command_prints_the_table() -> None:
    code, out, _ = _run("rules")
    assert code == 0
    assert out == markdown_table()


# -- (c) command-line-only rules -------------------------------------------------------------------


def test_missing_file_is_unreadable(tmp_path: Path) -> None:
    code, out, err = _run("validate", str(tmp_path / "nope.yaml"))
    assert code == 2, out + err
    assert "naftiko-file-unreadable" in out


def test_missing_file_is_unreadable_on_build(tmp_path: Path) -> None:
    code, out, err = _run("build", str(tmp_path / "nope.yaml"), "-o", str(tmp_path / "out"))
    assert code == 2, out + err
    assert "naftiko-file-unreadable" in err
    assert not (tmp_path / "out").exists()


def test_folder_without_specs_on_build(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("not a spec", encoding="utf-8")
    code, out, err = _run("build", str(tmp_path), "-o", str(tmp_path / "out"))
    assert code == 2, out + err
    assert "naftiko-no-specs" in err


def test_folder_without_specs_on_validate(tmp_path: Path) -> None:
    code, out, _err = _run("validate", str(tmp_path))
    assert "naftiko-no-specs" in out
    assert code != 0


def test_package_clash_on_build(tmp_path: Path) -> None:
    specs = tmp_path / "specs"
    specs.mkdir()
    _write_minimal(specs / "a-b.yaml")
    _write_minimal(specs / "a_b.yaml")
    code, out, err = _run("build", str(specs), "-o", str(tmp_path / "out"))
    assert code == 2, out + err
    assert "naftiko-package-clash" in err
    assert "a_b" in err
    assert not (tmp_path / "out").exists()


def test_non_utf8_file(tmp_path: Path) -> None:
    spec = tmp_path / "latin1.yaml"
    spec.write_bytes('naftiko: "1.0.0-alpha2"\ninfo:\n  label: Caf\xe9\n'.encode("latin-1"))
    code, out, err = _run("validate", str(spec))
    assert code == 2, out + err
    assert "naftiko-file-encoding" in out
    assert LINE.match(out.splitlines()[0]), out


def test_file_too_large(tmp_path: Path) -> None:
    spec = tmp_path / "huge.yaml"
    spec.write_bytes(b"# " + b"x" * (8 * 1024 * 1024) + b"\n")
    code, out, err = _run("validate", str(spec))
    assert code == 2, out + err
    assert "naftiko-file-too-large" in out


def test_unreadable_import_target_is_reported_in_the_imported_file(tmp_path: Path) -> None:
    (tmp_path / "shared.yaml").write_bytes(b"naftiko: \xff\n")
    spec = tmp_path / "cap.yaml"
    _write_minimal(spec)
    text = spec.read_text(encoding="utf-8").replace(
        "    - type: http\n      namespace: up\n",
        "    - import: up\n      location: ./shared.yaml\n    - type: http\n      namespace: other\n",
    )
    spec.write_text(text, encoding="utf-8")
    code, out, err = _run("validate", str(spec))
    assert "Traceback" not in out + err
    assert any(
        "shared.yaml" in line and "naftiko-file-encoding" in line for line in out.splitlines()
    ), out
    assert code in (1, 2)


# -- (d) exit codes and output formats -------------------------------------------------------------


def test_seed_validates_with_notes_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """The seed's deviations have one clear meaning: notes, hidden unless asked for."""
    monkeypatch.chdir(ROOT)
    code, out, err = _run("validate", "specs/qovery-containers.yaml")
    assert code == 0, out + err
    assert out == "", out
    assert re.search(r"^0 errors, 0 warnings, [1-9]\d* notes \(--notes lists them\)$", err, re.MULTILINE), err
    code, out, err = _run("validate", "--notes", "specs/qovery-containers.yaml")
    assert code == 0, out + err
    assert " note naftiko-schema-deviation: " in out and " warning " not in out
    assert re.search(r"^0 errors, 0 warnings, [1-9]\d* notes$", err, re.MULTILINE), err


def test_seed_passes_strict(monkeypatch: pytest.MonkeyPatch) -> None:
    """--strict fails on warnings, never on notes."""
    monkeypatch.chdir(ROOT)
    code, out, err = _run("validate", "--strict", "specs/qovery-containers.yaml")
    assert code == 0, out + err
    code, out, err = _run("validate", "specs/qovery-containers.yaml", "--strict")
    assert code == 0, out + err


def test_error_fixture_exits_1(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    code, out, err = _run(
        "validate", "tests/fixtures/invalid/naftiko-ports-unique--rest-and-mcp.yaml"
    )
    assert code == 1, out + err
    assert "error naftiko-ports-unique" in out


def test_warning_fixture_exits_0_and_1_when_strict(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    spec = "tests/fixtures/invalid/naftiko-get-with-body--get.yaml"
    assert _run("validate", spec)[0] == 0
    assert _run("validate", "--strict", spec)[0] == 1


def test_note_fixture_exits_0_even_when_strict(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    spec = "tests/fixtures/invalid/naftiko-lenient-method--lower-case.yaml"
    code, out, err = _run("validate", "--strict", spec)
    assert code == 0, out + err
    assert "naftiko-lenient-method" not in out
    assert "1 note" in err
    code, out, _ = _run("validate", "--strict", "--format", "json", spec)
    assert code == 0
    assert [i["severity"] for i in json.loads(out) if i["rule"] == "naftiko-lenient-method"] == [
        "note"
    ]


def test_unreadable_wins_over_errors(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(ROOT)
    code, out, _ = _run(
        "validate",
        "tests/fixtures/invalid/naftiko-ports-unique--rest-and-mcp.yaml",
        str(tmp_path / "nope.yaml"),
    )
    assert code == 2
    assert "naftiko-ports-unique" in out and "naftiko-file-unreadable" in out


def test_json_format(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    code, out, _ = _run(
        "validate", "--format", "json", "specs/qovery-containers.yaml",
        "tests/fixtures/invalid/naftiko-ports-unique--rest-and-mcp.yaml",
    )  # fmt: skip
    assert code == 1
    data = json.loads(out)
    assert isinstance(data, list) and data
    for item in data:
        assert set(item) == JSON_KEYS, item
        assert (
            isinstance(item["file"], str) and isinstance(item["message"], str) and item["message"]
        )
        assert isinstance(item["line"], int) and isinstance(item["column"], int)
        assert item["line"] >= 1 and item["column"] >= 1
        assert item["severity"] in ("error", "warning", "note")
        assert item["rule"] in BY_ID
    assert {
        "specs/qovery-containers.yaml",
        "tests/fixtures/invalid/naftiko-ports-unique--rest-and-mcp.yaml",
    } == {i["file"] for i in data}
    assert any(i["rule"] == "naftiko-ports-unique" and i["severity"] == "error" for i in data)


def test_json_format_on_clean_and_unreadable(tmp_path: Path) -> None:
    spec = tmp_path / "clean.yaml"
    _write_minimal(spec)
    code, out, _ = _run("validate", "--format", "json", str(spec))
    assert code == 0 and json.loads(out) == []
    code, out, _ = _run("validate", "--format", "json", str(tmp_path / "nope.yaml"))
    assert code == 2
    assert [i["rule"] for i in json.loads(out)] == ["naftiko-file-unreadable"]


def _every_input() -> list[Path]:
    return _all_specs()


@pytest.mark.parametrize("spec", _every_input(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_text_output_lines_and_no_traceback(spec: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    code, out, err = _run("validate", str(spec))
    assert code in (0, 1, 2), out + err
    assert code != EXIT_INTERNAL
    assert "Traceback" not in out + err and "internal error" not in err, out + err
    for line in out.splitlines():
        assert LINE.match(line), f"malformed diagnostic line: {line!r}"
    code, out, err = _run("validate", "--format", "json", str(spec))
    assert "Traceback" not in out + err
    for item in json.loads(out):
        if item["rule"] == "naftiko-operation-skipped":
            assert set(item) == SKIP_KEYS and set(item["skipped"]) == {"part", "because"}, item
            assert item["message"].endswith(f"[{item['skipped']['because']}]"), item
        else:
            assert set(item) == JSON_KEYS, item


def test_no_traceback_on_build_of_invalid_fixtures(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    code, out, err = _run(
        "build", "-o", str(tmp_path / "out"), *[str(p.relative_to(ROOT)) for p in _fixtures()]
    )
    assert code == 2, out + err
    assert "Traceback" not in out + err and "internal error" not in err
    assert not (tmp_path / "out").exists()


def test_rule_table_covers_every_rule_once() -> None:
    table = markdown_table().splitlines()
    assert table[0].startswith("| rule |")
    rows = [line.split("|")[1].strip().strip("`") for line in table[2:]]
    assert rows == [r.id for r in RULES]


def test_no_orphan_diagnostic_snapshots() -> None:
    """NAFTIKO_UPDATE_GOLDEN=1 writes snapshots but never deletes one whose fixture was removed."""
    folder = ROOT / "tests" / "golden" / "diagnostics"
    if not folder.is_dir():
        pytest.skip("no diagnostic snapshots yet")
    stems = {p.stem for p in _fixtures()}
    orphans = sorted(p.name for p in folder.glob("*.txt") if p.stem not in stems)
    assert not orphans, f"snapshots without a fixture in tests/fixtures/invalid/: {orphans}"
