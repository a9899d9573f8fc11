"""Property-based robustness: mutated specs never crash naftiko-gen, and what it accepts runs.

Valid specs (tests/fixtures/robustness/*.yaml, specs/qovery-containers.yaml, and the golden and
feature fixtures of other suites) are mutated: keys dropped, renamed and duplicated, values
retyped, hostile strings injected, namespaces renamed, `call:` targets broken, list items
duplicated, the YAML text truncated or spliced. For every mutant:

* `generate` and `validate` never raise, and agree on the diagnostics;
* every diagnostic has a file, a 1-based line and column inside the file, and a known rule id;
* when `generate` reports no error, it gives the same files a second time; they are written
  with the real writer; every .py compiles and starts with the DO NOT EDIT line; openapi*.json
  parses; each server loads every secret it uses; and every server module imports and creates
  its app given the environment variables its secrets name (and raises only ConfigError
  without them).

The command line is run on mutants too (exit codes 0/1/2, never a traceback). Each defect these
tests found has a minimal regression test at the end of this file.

NAFTIKO_HYPOTHESIS_EXAMPLES sets the number of examples (default 300).
"""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from naftiko_gen.cli import cli
from naftiko_gen.codegen import display_path, generate, validate
from naftiko_gen.writer import apply_changes, plan_changes
from tests.robustness.helpers import (
    HEADER_PREFIX,
    HOSTILE,
    ROBUST_FIXTURES,
    check_diagnostics,
    check_secrets_loaded,
    create_apps,
    forget_package,
    secrets_environ,
)
from tests.support import FIXTURES, ROOT

pytestmark = pytest.mark.slow

EXAMPLES = int(os.environ.get("NAFTIKO_HYPOTHESIS_EXAMPLES", "300"))
CLI_EXAMPLES = max(15, EXAMPLES // 15)

SETTINGS = settings(
    max_examples=EXAMPLES,
    # CI sets NAFTIKO_HYPOTHESIS_DERANDOMIZE=1: the same examples every run, so a red CI means a
    # change broke something; other runs explore new examples (and find new bugs).
    derandomize=os.environ.get("NAFTIKO_HYPOTHESIS_DERANDOMIZE", "") == "1",
    deadline=None,
    database=None,
    print_blob=True,
    suppress_health_check=list(HealthCheck),
)


OWN_BASES = [*sorted(ROBUST_FIXTURES.glob("*.yaml")), ROOT / "specs" / "qovery-containers.yaml"]
# Other suites' valid specs widen what is mutated (bodies, formats, auth kinds, methods).
BORROWED_BASES = sorted((FIXTURES / "golden").glob("*.yaml")) + sorted(
    (FIXTURES / "features").glob("*.yaml")
)


def _bases() -> list[tuple[str, str]]:
    paths = OWN_BASES + BORROWED_BASES
    return [(p.stem, p.read_text(encoding="utf-8")) for p in paths if p.is_file()]


BASES = _bases()
# libyaml when it is there: every xdist worker collects this module (pure Python took 1 s each)
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
BASE_DATA = {stem: yaml.load(text, Loader=_LOADER) for stem, text in BASES}  # noqa: S506


# -- the mutations ------------------------------------------------------------------------------

Path_ = tuple[Any, ...]

KEYS = (
    "naftiko", "info", "label", "description", "capability", "consumes", "exposes", "binds",
    "keys", "namespace", "type", "baseUri", "resources", "path", "name", "operations", "method",
    "inputParameters", "outputParameters", "in", "value", "mapping", "properties", "items",
    "call", "with", "tools", "port", "transport", "authentication", "token", "hints", "body",
    "data", "location", "import", "address", "required", "steps", "ref", "forward", "placement",
    "outputRawFormat", "aggregates", "<<", "",
)  # fmt: skip

# Drawn by index: the strategies' repr (in Hypothesis statistics) stays short.
hostile_strings = st.integers(min_value=0, max_value=len(HOSTILE) - 1).map(HOSTILE.__getitem__)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    hostile_strings,
)
any_value = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.one_of(st.sampled_from(KEYS), st.text(max_size=6)), inner, max_size=3),
    ),
    max_leaves=6,
)
hostile_text = st.one_of(hostile_strings, st.text(min_size=0, max_size=40))
namespace_names = st.one_of(
    st.sampled_from(["api", "catalog", "mini-rest", "mini-mcp", "qovery-containers", "env", "keys",
                     "a.b", "rest", "tools", "mcp", "class", "import", "1x", "-", "_", "x" * 300]),
    st.from_regex(r"[A-Za-z0-9_.-]{1,12}", fullmatch=True),
    hostile_text,
)  # fmt: skip
# Names that become Python identifiers, dict keys or route variables in generated code.
tricky_names = st.one_of(
    st.sampled_from([
        "class", "import", "None", "True", "def", "lambda", "match", "_", "__init__", "__class__",
        "create_app", "main", "ROUTES", "TOOLS", "ACTIONS", "rt", "upstream", "json", "web",
        "types", "Any", "self", "inputs", "data", "args", "item", "request", "app", "client",
        "9x", "a-b", "a_b", "a.b", "A", "a", "ünï", "x" * 128, "body", "path", "query", "id",
    ]),
    st.from_regex(r"[A-Za-z0-9_.-]{1,10}", fullmatch=True),
)  # fmt: skip
broken_calls = st.one_of(
    st.sampled_from(["", ".", "..", "nodot", "api.", ".get-item", "a.b.c", "api.missing",
                     "missing.get-item", "api.get-item.extra", " api.get-item", "api .get-item"]),
    hostile_text,
)  # fmt: skip
splices = st.sampled_from([
    ":", ": ", "- ", "-", "&a ", "*a", "*undefined", "!!python/object/apply:os.system ['x']\n",
    "!!binary x", "{", "}", "[", "]", "\t", "%YAML 1.1\n", "\n---\n", "\n...\n", "? ", "|", ">",
    "'", '"', "#", "@", "`", "\x00", "\x1b", "\ufeff", "\ud800", "\n  bad: [indent\n", "<<: *a\n",
])  # fmt: skip


def _paths(node: Any, prefix: Path_ = ()) -> Iterator[Path_]:
    yield prefix
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _paths(v, (*prefix, i))


def _get(node: Any, path: Path_) -> Any:
    for k in path:
        node = node[k]
    return node


def _set(root: Any, path: Path_, value: Any) -> Any:
    if not path:
        return value
    _get(root, path[:-1])[path[-1]] = value
    return root


def _pick(draw: Any, candidates: list[Path_]) -> Path_ | None:
    return draw(st.sampled_from(candidates)) if candidates else None


def _mutate(draw: Any, data: Any, kind: str) -> tuple[Any, str]:
    """One mutation of the data tree; returns the new tree and a label for the failure report."""
    paths = list(_paths(data))
    inner = [p for p in paths if p]
    if kind == "drop":
        p = _pick(draw, inner)
        if p is None:
            return data, "drop: nothing"
        parent = _get(data, p[:-1])
        del parent[p[-1]]
        return data, f"drop {p}"
    if kind == "retype":
        p = draw(st.sampled_from(paths))
        value = draw(any_value)
        return _set(data, p, value), f"retype {p} = {value!r:.80}"
    if kind == "hostile":
        strings = [p for p in inner if isinstance(_get(data, p), str)]
        p = _pick(draw, strings)
        if p is None:
            return data, "hostile: nothing"
        old = _get(data, p)
        new = draw(hostile_text)
        how = draw(st.sampled_from(["replace", "prefix", "suffix"]))
        value = new if how == "replace" else new + old if how == "prefix" else old + new
        return _set(data, p, value), f"hostile {p} = {value!r:.80}"
    if kind == "text_field":  # free text: should stay accepted whatever it holds
        fields = [
            p for p in inner
            if isinstance(_get(data, p), str)
            and (p[-1] in ("description", "label") or "with" in p or p[-1] == "value")
        ]  # fmt: skip
        p = _pick(draw, fields)
        if p is None:
            return data, "text_field: nothing"
        value = draw(hostile_text)
        return _set(data, p, value), f"text {p} = {value!r:.80}"
    if kind == "ident":  # a name, a property key or a `with` key becomes something tricky
        named = [p for p in inner if p[-1] == "name" and isinstance(_get(data, p), str)]
        keyed = [p for p in inner if len(p) > 1 and p[-2] in ("properties", "with", "keys")]
        p = _pick(draw, named + keyed)
        if p is None:
            return data, "ident: nothing"
        new = draw(tricky_names)
        if p[-1] == "name":
            return _set(data, p, new), f"name {p} = {new!r}"
        parent = _get(data, p[:-1])
        items = [(new if k == p[-1] else k, v) for k, v in parent.items()]
        parent.clear()
        parent.update(items)
        return data, f"key {p} -> {new!r}"
    if kind == "rename_key":
        keyed = [p for p in inner if isinstance(_get(data, p[:-1]), dict)]
        p = _pick(draw, keyed)
        if p is None:
            return data, "rename_key: nothing"
        parent = _get(data, p[:-1])
        new_key = draw(st.one_of(st.sampled_from(KEYS), hostile_text))
        items = [(new_key if k == p[-1] else k, v) for k, v in parent.items()]
        parent.clear()
        parent.update(items)
        return data, f"rename key {p} -> {new_key!r:.60}"
    if kind == "rename_ns":
        ns_paths = [p for p in inner if p[-1] == "namespace" and isinstance(_get(data, p), str)]
        p = _pick(draw, ns_paths)
        if p is None:
            return data, "rename_ns: nothing"
        old = _get(data, p)
        new = draw(namespace_names)
        _set(data, p, new)
        consistent = draw(st.booleans())
        if consistent:  # follow the rename in `call:` targets and `with` prefixes
            for q in list(_paths(data)):
                v = _get(data, q) if q else None
                if isinstance(v, str) and v.startswith(old + ".") and q and q[-1] != "mapping":
                    _set(data, q, new + v[len(old):])
        return data, f"rename namespace {old!r} -> {new!r:.60} (consistent={consistent})"
    if kind == "break_call":
        calls = [p for p in inner if p[-1] == "call"]
        p = _pick(draw, calls)
        if p is None:
            return data, "break_call: nothing"
        value = draw(broken_calls)
        return _set(data, p, value), f"call {p} = {value!r:.60}"
    if kind == "dup_item":
        items = [p for p in inner if isinstance(p[-1], int)]
        p = _pick(draw, items)
        if p is None:
            return data, "dup_item: nothing"
        parent = _get(data, p[:-1])
        parent.insert(p[-1], copy.deepcopy(parent[p[-1]]))
        return data, f"duplicate item {p}"
    raise AssertionError(kind)


DATA_MUTATIONS = (
    "drop", "retype", "hostile", "rename_key", "rename_ns", "break_call", "dup_item",
    "text_field", "text_field", "text_field", "text_field", "ident", "ident", "ident",
)  # fmt: skip
TEXT_MUTATIONS = ("none", "none", "none", "truncate", "dup_key", "splice")
_KEY_LINE = re.compile(r"^(\s*)(- )?([A-Za-z_][\w-]*):(.*)$")


def _mutate_text(draw: Any, text: str, kind: str) -> tuple[str, str]:
    if kind == "truncate":
        at = draw(st.integers(min_value=0, max_value=len(text)))
        return text[:at], f"truncate at {at}"
    if kind == "dup_key":
        lines = text.split("\n")
        keyed = [i for i, line in enumerate(lines) if _KEY_LINE.match(line)]
        if not keyed:
            return text, "dup_key: nothing"
        i = draw(st.sampled_from(keyed))
        m = _KEY_LINE.match(lines[i])
        assert m is not None
        indent = m.group(1) + ("  " if m.group(2) else "")
        lines.insert(i + 1, f"{indent}{m.group(3)}:{m.group(4)}")
        return "\n".join(lines), f"duplicate key line {i + 1} ({m.group(3)})"
    if kind == "splice":
        at = draw(st.integers(min_value=0, max_value=len(text)))
        junk = draw(splices)
        return text[:at] + junk + text[at:], f"splice {junk!r} at {at}"
    return text, ""


@st.composite
def mutants(draw: Any) -> tuple[str, str, list[str]]:
    """(stem, spec text, the mutations applied)."""
    stem, text = draw(st.sampled_from(BASES))
    log: list[str] = []
    n = draw(st.integers(min_value=0, max_value=4))
    if n:
        data = copy.deepcopy(BASE_DATA[stem])
        for _ in range(n):
            data, label = _mutate(draw, data, draw(st.sampled_from(DATA_MUTATIONS)))
            log.append(label)
        text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
    text, label = _mutate_text(draw, text, draw(st.sampled_from(TEXT_MUTATIONS)))
    if label:
        log.append(label)
    return stem, text, log


# -- running one mutant ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def work() -> Iterator[Path]:
    """A folder for the module; spec paths stay the same across examples (see _cached_black)."""
    folder = Path(tempfile.mkdtemp(prefix="naftiko-robust-"))
    (folder / "specs").mkdir()
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def write_spec(work: Path, stem: str, text: str) -> Path:
    spec = work / "specs" / f"{stem}.yaml"
    # Unpaired surrogates from splicing cannot be UTF-8: they become invalid bytes on purpose.
    spec.write_bytes(text.encode("utf-8", "surrogatepass"))
    return spec


def _formatted(report: Any) -> list[str]:
    return [d.format() for d in report.sorted()]


def check_mutant(work: Path, stem: str, text: str) -> bool:
    """The properties for one spec text; returns whether generate accepted it."""
    spec = write_spec(work, stem, text)
    display = display_path(spec)
    out = work / "out" / uuid.uuid4().hex
    result = generate([spec], out)
    check_diagnostics(result.report, display, text)
    report, _unreadable = validate([spec])
    check_diagnostics(report, display, text)
    assert _formatted(report) == _formatted(result.report), "validate and generate disagree"
    if result.report.has_errors():
        assert not result.files and not result.packages
        return False
    again = generate([spec], out)
    assert again.files == result.files, "generate is not deterministic"
    try:
        assert len(result.packages) == 1
        package = result.packages[0]
        apply_changes(plan_changes(result.files, result.specs, out), out)
        for rel, source in result.files.items():
            on_disk = (out / rel).read_text(encoding="utf-8")
            assert on_disk == source, rel
            if rel.endswith(".py"):
                compile(source, rel, "exec")
                assert source.startswith(HEADER_PREFIX), rel
                assert source.splitlines()[0].endswith("DO NOT EDIT."), rel
            elif rel.endswith(".json"):
                json.loads(source)
        check_secrets_loaded(out, package, result.files)
        env = secrets_environ(out, package, work)
        create_apps(out, package, result.files, env)
        forget_package(package)
    finally:
        shutil.rmtree(out, ignore_errors=True)
    return True


@SETTINGS
@given(mutant=mutants())
def test_mutated_specs_never_crash_and_accepted_ones_run(
    work: Path, mutant: tuple[str, str, list[str]]
) -> None:
    stem, text, log = mutant
    try:
        event("accepted" if check_mutant(work, stem, text) else "rejected with diagnostics")
    except BaseException:
        print(f"mutations of {stem}: {log}")
        raise


def test_every_base_spec_is_accepted(work: Path) -> None:
    """The unmutated bases build and run: otherwise the property test proves little."""
    own = {p.stem for p in OWN_BASES}
    accepted = {stem for stem, text in BASES if check_mutant(work, stem, text)}
    assert own <= accepted, own - accepted
    assert len(accepted) >= len(BASES) // 2, sorted(accepted)


# -- the command line -----------------------------------------------------------------------------


def _check_cli_result(result: Any, allowed: set[int]) -> None:
    output = result.output  # stdout and stderr, interleaved (click >= 8.2)
    assert result.exit_code in allowed, (result.exit_code, output[-2000:])
    assert "Traceback (most recent call last)" not in output, output[-2000:]
    assert "internal error" not in output, output[-2000:]
    if result.exception is not None:
        assert isinstance(result.exception, SystemExit), repr(result.exception)


def check_cli(work: Path, stem: str, text: str) -> None:
    spec = write_spec(work, stem, text)
    out = work / "cli-out" / uuid.uuid4().hex
    runner = CliRunner()
    try:
        built = runner.invoke(cli, ["build", str(spec), "-o", str(out)])
        _check_cli_result(built, {0, 2})
        if built.exit_code == 0:
            checked = runner.invoke(cli, ["build", str(spec), "-o", str(out), "--check"])
            _check_cli_result(checked, {0})
        else:
            assert ": error " in built.stderr
            assert not out.exists(), "a failed build wrote files"
        text_result = runner.invoke(cli, ["validate", str(spec)])
        _check_cli_result(text_result, {0, 1, 2})
        assert (text_result.exit_code == 0) == (built.exit_code == 0)
        json_result = runner.invoke(cli, ["validate", "--format", "json", str(spec)])
        _check_cli_result(json_result, {0, 1, 2})
        items = json.loads(json_result.stdout)
        assert isinstance(items, list)
        for item in items:
            assert isinstance(item["file"], str) and item["file"]
            assert isinstance(item["line"], int) and item["line"] >= 1
            assert isinstance(item["column"], int) and item["column"] >= 1
            assert item["severity"] in ("error", "warning", "note")
            assert isinstance(item["rule"], str) and item["rule"].startswith("naftiko-")
            assert isinstance(item["message"], str) and item["message"]
        strict = runner.invoke(cli, ["validate", "--strict", str(spec)])
        _check_cli_result(strict, {0, 1, 2})
    finally:
        shutil.rmtree(out, ignore_errors=True)


@settings(SETTINGS, max_examples=CLI_EXAMPLES)
@given(mutant=mutants())
def test_cli_on_mutated_specs(work: Path, mutant: tuple[str, str, list[str]]) -> None:
    stem, text, log = mutant
    try:
        check_cli(work, stem, text)
    except BaseException:
        print(f"mutations of {stem}: {log}")
        raise


def _qovery() -> str:
    return (ROOT / "specs" / "qovery-containers.yaml").read_text(encoding="utf-8")


SUBPROCESS_CASES = {
    "truncated": lambda: _qovery()[: _qovery().index("{{env.QOVERY") + 5],
    "duplicate-key": lambda: _qovery().replace("  label:", "  label: one\n  label:", 1),
    # Every call broken: nothing is left to build (one broken call alone is skipped, not fatal).
    "broken-call": lambda: re.sub(r"call: qovery-containers\.\w+", "call: qovery-containers", _qovery()),
    "retyped-exposes": lambda: _qovery().replace("  exposes:\n", "  exposes: 42\n  unused:\n", 1),
    "binary": lambda: "naftiko: \x00\x01\x02\n",
    "empty": lambda: "",
    "valid": _qovery,
}


@pytest.mark.parametrize("case", sorted(SUBPROCESS_CASES))
def test_cli_subprocess(work: Path, case: str) -> None:
    """The installed entry point, in a real process: exit codes 0/1/2, never a traceback."""
    spec = write_spec(work, "qovery-containers", SUBPROCESS_CASES[case]())
    out = work / "subprocess-out" / case
    commands: list[tuple[list[str], set[int]]] = [
        (["build", str(spec), "-o", str(out)], {0, 2}),
        (["validate", "--format", "json", str(spec)], {0, 1, 2}),
    ]
    if case == "valid":
        commands.append((["build", str(spec), "-o", str(out), "--check"], {0}))
    for args, allowed in commands:
        proc = subprocess.run(
            [sys.executable, "-m", "naftiko_gen", *args],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=work,
        )
        both = proc.stdout + proc.stderr
        assert proc.returncode in allowed, (args, proc.returncode, both[-2000:])
        assert "Traceback (most recent call last)" not in both, both[-2000:]
        assert "internal error" not in both, both[-2000:]
        if case == "valid":
            assert proc.returncode == 0, both[-2000:]
        elif args[0] == "build":
            assert proc.returncode == 2, both[-2000:]
            assert re.search(r"^.+:\d+:\d+: error naftiko-[a-z0-9-]+: ", proc.stderr, re.MULTILINE), proc.stderr
    shutil.rmtree(out, ignore_errors=True)


# -- regression tests: each defect found so far, reduced to a minimal spec ------------------------


def _mini_mock(**changes: Any) -> dict[str, Any]:
    data = copy.deepcopy(BASE_DATA["mini-mock"])
    for dotted, value in changes.items():
        path = tuple(int(k) if k.isdigit() else k for k in dotted.split("/"))
        _set(data, path, value)
    return data


@pytest.mark.parametrize(
    "field,command",
    [("info/label", "build"), ("capability/exposes/1/tools/0/call", "validate"),
     ("capability/exposes/1/tools/0/call", "validate-json")],
    ids=["label-build", "call-validate", "call-validate-json"],
)  # fmt: skip
def test_lone_surrogate_is_a_diagnostic_not_a_crash(work: Path, field: str, command: str) -> None:
    """"\uD800" in YAML once crashed build (writing files) and validate (printing diagnostics)."""
    text = yaml.safe_dump(_mini_mock(**{field: "\ud800"}), allow_unicode=True)
    assert "\\uD800" in text
    spec = write_spec(work, "surrogate", text)
    out = work / "surrogate-out"
    args = {
        "build": ["build", str(spec), "-o", str(out)],
        "validate": ["validate", str(spec)],
        "validate-json": ["validate", "--format", "json", str(spec)],
    }[command]
    result = CliRunner().invoke(cli, args)
    _check_cli_result(result, {0, 1, 2})
    if command == "build" and result.exit_code == 2:
        assert not out.exists()
    shutil.rmtree(out, ignore_errors=True)


@pytest.mark.parametrize(
    "namespace",
    ["a\\b", "a'b", "a\nb", "'''", 'a"b'],
    ids=["backslash", "quote", "newline", "quotes", "double-quote"],
)
def test_secret_names_with_quotes_or_backslashes(work: Path, namespace: str) -> None:
    """Secret names were read back from rendered source with a regex that kept repr() escapes."""
    spec = write_spec(
        work, "mini-mock", yaml.safe_dump(_mini_mock(**{"binds/0/namespace": namespace}))
    )
    out = work / "secret-names-out"
    result = generate([spec], out)
    if result.report.has_errors():
        return  # rejecting such names with a diagnostic is a fix too
    try:
        apply_changes(plan_changes(result.files, result.specs, out), out)
        package = result.packages[0]
        check_secrets_loaded(out, package, result.files)
        env = secrets_environ(out, package, work)
        create_apps(out, package, result.files, env)
        forget_package(package)
    finally:
        shutil.rmtree(out, ignore_errors=True)


def _alias_bomb(levels: int) -> str:
    lines = ['naftiko: "1.0.0-alpha2"', 'l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, levels):
        lines.append(f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 7) + "]")
    lines.append(f"capability: {{exposes: [*l{levels - 1}]}}")
    return "\n".join(lines) + "\n"


def test_alias_bomb_is_rejected_quickly(work: Path) -> None:
    """YAML aliases were once expanded without a limit ("billion laughs": minutes per KB)."""
    text = _alias_bomb(9)
    assert len(text) < 1024
    spec = write_spec(work, "bomb", text)
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "naftiko_gen", "validate", str(spec)],
            capture_output=True,
            text=True,
            timeout=5,
            cwd=work,
        )
    except subprocess.TimeoutExpired:
        pytest.fail("validate ran for over 5 s on a 1 KB spec")
    assert proc.returncode in (1, 2), proc.stderr[-2000:]
    assert "Traceback (most recent call last)" not in proc.stdout + proc.stderr


@pytest.mark.parametrize(
    "base_uri",
    ["https://[dock.example.com", "https://:dock.example.com", "https://a:99999", "https://?x",
     "https://#frag"],
)  # fmt: skip
def test_base_uri_is_checked_like_the_server_parses_it(work: Path, base_uri: str) -> None:
    """baseUris the server cannot parse were accepted; create_app then raised ValueError."""
    data = copy.deepcopy(BASE_DATA["mini-rest"])
    data["capability"]["consumes"][0]["baseUri"] = base_uri
    spec = write_spec(work, "mini-rest", yaml.safe_dump(data))
    out = work / "base-uri-out"
    result = generate([spec], out)
    if result.report.has_errors():
        assert any(d.rule == "naftiko-consumes-baseuri-format" for d in result.report.errors)
        return
    try:
        apply_changes(plan_changes(result.files, result.specs, out), out)
        package = result.packages[0]
        create_apps(out, package, result.files, secrets_environ(out, package, work))
        forget_package(package)
    finally:
        shutil.rmtree(out, ignore_errors=True)


_RUN_FROM_OUTPUT = """
import importlib, sys
package, modules = sys.argv[1], sys.argv[2:]
env = {"ROBUST_REST_KEY": "k"}
for name in modules:
    module = importlib.import_module(package + "." + name)
    module.create_app(env) if name.startswith("rest_server") else module.create_app(environ=env)
print("ok")
"""


@pytest.mark.parametrize("stem", ["email", "http", "json", "platform", "types", "mcp", "secrets"])
def test_spec_named_like_a_module_still_runs(work: Path, stem: str) -> None:
    """specs/email.yaml made a package 'email' that shadowed the standard library's."""
    spec = write_spec(work, stem, dict(BASES)["mini-mock"])
    out = work / f"shadow-{stem}"
    result = generate([spec], out)
    try:
        if result.report.has_errors():
            assert any(stem in d.message for d in result.report.errors)
            return  # refusing the name with a diagnostic is a fix too
        apply_changes(plan_changes(result.files, result.specs, out), out)
        package = result.packages[0]
        modules = sorted(Path(rel).stem for rel in result.files if "_server" in rel and rel.endswith(".py"))
        proc = subprocess.run(
            [sys.executable, "-c", _RUN_FROM_OUTPUT, package, *modules],
            cwd=out,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr[-1500:]
    finally:
        shutil.rmtree(out, ignore_errors=True)
        spec.unlink()
