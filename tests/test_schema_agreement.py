"""Our structural checks agree with the OFFICIAL Naftiko 1.0.0-alpha2 JSON Schema.

For every tutorial file, every fixture and the seed: validate it with `jsonschema` against
tests/fixtures/schema/naftiko-schema-1.0.0-alpha2.json (vendored, Apache-2.0), after relaxing the three real-world
deviations naftiko-gen deliberately accepts (with warnings):

1. `description` on `type: rest` adapters,
2. `type` / `description` / `required` on consumed inputParameters,
3. `{type: object, mapping: ...}` outputs without `properties`,

and compare with `naftiko_gen.codegen.validate`.

Our *structural verdict* is the lead's definition: no error whose rule starts with naftiko-schema-,
naftiko-yaml-, naftiko-version or naftiko-exposes-required. Some schema constraints are reported
under other rule ids (patterns and ranges: SCHEMA_LEVEL_RULES) or accepted with a warning on purpose
(TOLERATED_WARNINGS), so the comparison is made in both directions:

- schema-valid   ⇒ no structural error, no schema-level error, no tolerated-deviation warning;
- schema-invalid ⇒ validate says so: a structural or schema-level error, a tolerated-deviation
  warning, or (printed as such) an error from another rule, so the file is rejected anyway.

Disagreements that are generator defects are xfail with the reason: those listed in DEFECTS, and
any spec the schema rejects only through SILENT_EXTENSIONS (constructs the reader accepts without a
single diagnostic; the xfail reason names the ones found). Deliberate disagreements are listed in
BY_DESIGN and asserted as they stand.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from naftiko_gen.codegen import validate
from naftiko_gen.diagnostics import Severity
from tests.support import FIXTURES, OFFICIAL_SCHEMA, ROOT, TUTORIAL

SCHEMA_FILE = OFFICIAL_SCHEMA

jsonschema = pytest.importorskip("jsonschema")

SEED = ROOT / "specs" / "qovery-containers.yaml"

STRUCTURAL_PREFIXES = (
    "naftiko-schema-",
    "naftiko-yaml-",
    "naftiko-version",
    "naftiko-exposes-required",
)
# The three relaxed deviations as naftiko-gen reports them (rule, message pattern). Other
# naftiko-schema-deviation warnings (apikey 'in'/'name', 'label' on adapters ...) are not relaxed.
RELAXED_DEVIATIONS = (
    ("naftiko-schema-deviation", re.compile(r"^'description' is not part of a rest adapter ")),
    (
        "naftiko-schema-deviation",
        re.compile(r"^'(type|description|required)' is not part of a consumed input parameter "),
    ),
    ("naftiko-object-without-properties", re.compile(r"")),
)
# Errors under non-schema rule ids that encode a schema pattern, range or enum.
SCHEMA_LEVEL_RULES = (
    "naftiko-address",  # $defs/Address
    "naftiko-port-range",  # port minimum/maximum
    "naftiko-call-format",  # call pattern ns.op
    "naftiko-mcp-tool-name-format",  # IdentifierKebab (ours is laxer: also '.' and '_')
    "naftiko-consumes-baseuri-format",  # baseUri pattern
    "naftiko-unsupported-consumes",  # type const http
)
# Warnings for schema violations that naftiko-gen accepts on purpose.
TOLERATED_WARNINGS = (
    "naftiko-unknown-key",  # additionalProperties: false
    "naftiko-lenient-boolean",
    "naftiko-lenient-integer",
    "naftiko-lenient-method",
    "naftiko-schema-required",  # the warning variants: a default is assumed
    "naftiko-schema-type",
    "naftiko-mcp-stdio-port",  # stdio forbids port
    "naftiko-schema-deviation",  # those not relaxed above
    "naftiko-auth-extension",  # signed auth kinds the schema does not list
)
# Dialects are schema deviations read with one meaning (a note each): they flag the problem.
DIALECT_PREFIX = "naftiko-dialect-"

# Known disagreements that are generator defects → xfail (reason = the defect).
DEFECTS: dict[str, str] = {
}

# Deliberate disagreements: (official valid?, our structural verdict valid?) and why.
BY_DESIGN: dict[str, tuple[bool, bool, str]] = {
    "tests/fixtures/invalid/naftiko-exposes-required--no-exposes.yaml": (
        True,
        False,
        ("the schema allows a capability with only 'consumes'; the engine throws on empty exposes and "
        "naftiko-gen has nothing to generate"),
    ),
}


# -- the official side -------------------------------------------------------------------------------


class _StrictLoader(yaml.SafeLoader):
    """YAML as a JSON-minded validator sees it: dates stay strings, duplicate keys are errors."""


_StrictLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode, deep: bool = False) -> Any:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, (str, int, float, bool)) and key is not None:
            raise yaml.constructor.ConstructorError(
                None, None, "a mapping key is not a scalar", key_node.start_mark
            )
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        seen.add(key)
    return yaml.SafeLoader.construct_mapping(loader, node, deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _params(holder: Any) -> None:
    if isinstance(holder, dict) and isinstance(holder.get("inputParameters"), list):
        for p in holder["inputParameters"]:
            if isinstance(p, dict):
                for key in ("type", "description", "required"):
                    p.pop(key, None)


def _relax_consumes(entries: Any) -> None:
    if not isinstance(entries, list):
        return
    for c in entries:
        if not isinstance(c, dict):
            continue
        _params(c)
        resources = c.get("resources")
        for r in resources if isinstance(resources, list) else []:
            _params(r)
            ops = r.get("operations") if isinstance(r, dict) else None
            for o in ops if isinstance(ops, list) else []:
                _params(o)


def _relax_objects(x: Any) -> None:
    if isinstance(x, dict):
        if x.get("type") == "object" and "mapping" in x and "properties" not in x:
            x["properties"] = {}
        for v in x.values():
            _relax_objects(v)
    elif isinstance(x, list):
        for v in x:
            _relax_objects(v)


def _relax_rest_description(cap: dict[str, Any]) -> None:
    exposes = cap.get("exposes")
    for e in exposes if isinstance(exposes, list) else []:
        if isinstance(e, dict) and e.get("type") == "rest":
            e.pop("description", None)


def _relax_consumed_params(cap: dict[str, Any]) -> None:
    _relax_consumes(cap.get("consumes"))


def _relax_object_outputs(cap: dict[str, Any]) -> None:
    _relax_objects(cap.get("exposes"))


RELAXATIONS = (
    ("description on rest adapters", _relax_rest_description),
    ("type/description/required on consumed inputParameters", _relax_consumed_params),
    ("object outputs with mapping and no properties", _relax_object_outputs),
)


def relax(doc: Any, skip: str | None = None) -> Any:
    """A copy of the document with the known real-world deviations removed (all but `skip`)."""
    doc = copy.deepcopy(doc)
    if not isinstance(doc, dict):
        return doc
    _relax_consumes(doc.get("consumes"))  # shared consumes files
    cap = doc.get("capability")
    if isinstance(cap, dict):
        for name, fn in RELAXATIONS:
            if name != skip:
                fn(cap)
    return doc


# naftiko-gen extensions the schema rejects and the reader accepts WITHOUT any diagnostic (a defect:
# `validate` says nothing). A spec that is schema-invalid only through these is xfail, naming them.


def _outputs_of(cap: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(kind, holder) for every exposed REST operation and MCP tool: kind is 'rest', 'call' or 'mock'."""
    found: list[tuple[str, dict[str, Any]]] = []
    exposes = cap.get("exposes")
    for e in exposes if isinstance(exposes, list) else []:
        if not isinstance(e, dict):
            continue
        for r in (
            e.get("resources") or []
            if e.get("type") == "rest" and isinstance(e.get("resources"), list)
            else []
        ):
            ops = r.get("operations") if isinstance(r, dict) else None
            for o in ops if isinstance(ops, list) else []:
                if isinstance(o, dict):
                    found.append(("rest", o))
        for tool in e.get("tools") or [] if isinstance(e.get("tools"), list) else []:
            if isinstance(tool, dict):
                found.append(("call" if "call" in tool else "mock", tool))
    return found


def _each_output(x: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    if isinstance(x, list):
        for v in x:
            out += _each_output(v)
    elif isinstance(x, dict) and "type" in x:
        out.append(x)
        if isinstance(x.get("properties"), dict):
            out += _each_output(list(x["properties"].values()))
        if isinstance(x.get("items"), (dict, list)):
            out += _each_output(x["items"])
    return out


def _ext_output_names(cap: dict[str, Any]) -> bool:
    changed = False
    for kind, holder in _outputs_of(cap):
        if kind in ("rest", "call") and "steps" not in holder:
            for o in (
                holder.get("outputParameters") or []
                if isinstance(holder.get("outputParameters"), list)
                else []
            ):
                if isinstance(o, dict) and "name" in o:
                    del o["name"]
                    changed = True
    return changed


def _ext_integer_type(cap: dict[str, Any]) -> bool:
    changed = False
    for _, holder in _outputs_of(cap):
        for o in _each_output(holder.get("outputParameters")):
            if o.get("type") == "integer":
                o["type"] = "number"
                changed = True
    return changed


def _ext_array_without_items(cap: dict[str, Any]) -> bool:
    changed = False
    for _, holder in _outputs_of(cap):
        for o in _each_output(holder.get("outputParameters")):
            if o.get("type") == "array" and "items" not in o:
                o["items"] = {"type": "string", "mapping": "$"}
                changed = True
    return changed


def _ext_with_values(cap: dict[str, Any]) -> bool:
    changed = False
    for _, holder in _outputs_of(cap):
        w = holder.get("with")
        if isinstance(w, dict):
            for k, v in w.items():
                if not isinstance(v, (str, int, float)) or isinstance(v, bool):
                    w[k] = json.dumps(v)
                    changed = True
    return changed


def _ext_param_description(cap: dict[str, Any]) -> bool:
    changed = False
    holders: list[Any] = [h for _, h in _outputs_of(cap)]
    exposes = cap.get("exposes")
    for e in exposes if isinstance(exposes, list) else []:
        if isinstance(e, dict) and e.get("type") == "rest" and isinstance(e.get("resources"), list):
            holders += e["resources"]
    for h in holders:
        params = h.get("inputParameters") if isinstance(h, dict) else None
        for prm in params if isinstance(params, list) else []:
            if isinstance(prm, dict) and "description" not in prm:
                prm["description"] = ""
                changed = True
    return changed


_KEBAB = re.compile(r"^[a-zA-Z0-9-]+$")


def _kebab(value: str) -> str:
    return re.sub(r"[^a-zA-Z0-9-]", "-", value) or "x"


def _ext_tool_names(cap: dict[str, Any]) -> bool:
    changed = False
    for kind, holder in _outputs_of(cap):
        name = holder.get("name")
        if kind != "rest" and isinstance(name, str) and not _KEBAB.match(name):
            holder["name"] = _kebab(name)
            changed = True
    return changed


SILENT_EXTENSIONS = (
    (
        "'name' on call-mode or REST outputs (MappedOutputParameter has no 'name')",
        _ext_output_names,
    ),
    (
        "output type 'integer' (not in the MappedOutputParameter/MockOutputParameter type enums)",
        _ext_integer_type,
    ),
    (
        "'array' output without 'items' (MappedOutputParameterArray requires it)",
        _ext_array_without_items,
    ),
    (
        "'with' values that are booleans, lists or maps (WithInjector allows string or number)",
        _ext_with_values,
    ),
    (
        ("MCP tool names with '.' or '_' (IdentifierKebab is ^[a-zA-Z0-9-]+$; naftiko-mcp-tool-name-format "
        "accepts the wider MCP set ^[A-Za-z0-9._-]{1,128}$)"),
        _ext_tool_names,
    ),
    (
        ("exposed inputParameters without 'description' (required by McpToolInputParameter and "
        "ExposedInputParameter)"),
        _ext_param_description,
    ),
)


def silent_extensions(path: Path) -> tuple[bool, list[str]]:
    """(is the relaxed spec schema-valid once the silent extensions are removed?, which were found)."""
    doc = relax(load_official(path))
    found: list[str] = []
    cap = doc.get("capability") if isinstance(doc, dict) else None
    if isinstance(cap, dict):
        for name, fn in SILENT_EXTENSIONS:
            if fn(cap):
                found.append(name)
    return not list(_validator().iter_errors(doc)), found


_VALIDATOR: Any = None


def _validator() -> Any:
    global _VALIDATOR
    if _VALIDATOR is None:
        schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
        cls = jsonschema.validators.validator_for(schema)
        cls.check_schema(schema)
        _VALIDATOR = cls(schema)
    return _VALIDATOR


def _leaves(err: Any) -> list[Any]:
    """The errors that explain a oneOf/anyOf failure: those of branches whose 'type' matched."""
    if not err.context:
        return [err]
    branches: dict[Any, list[Any]] = {}
    for e in err.context:
        branches.setdefault(e.relative_schema_path[0], []).append(e)

    def wrong_kind(es: list[Any]) -> bool:
        return any(e.validator == "const" and list(e.relative_path)[-1:] == ["type"] for e in es)

    keep = [es for es in branches.values() if not wrong_kind(es)] or list(branches.values())
    return [leaf for es in keep for e in es for leaf in _leaves(e)]


def load_official(path: Path) -> Any:
    return yaml.load(path.read_text(encoding="utf-8"), Loader=_StrictLoader)  # noqa: S506 - a SafeLoader


def official_verdict(path: Path, relaxed: bool = True) -> tuple[bool, list[str]]:
    try:
        doc = load_official(path)
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        return False, [f"YAML: {str(exc).splitlines()[0]}"]
    if doc is None:
        return False, ["empty document"]
    if relaxed:
        doc = relax(doc)
    errors = list(_validator().iter_errors(doc))
    reasons = sorted(
        {f"{leaf.json_path}: {leaf.message[:140]}" for e in errors for leaf in _leaves(e)}
    )
    return not errors, reasons


# -- our side ----------------------------------------------------------------------------------------


@dataclass
class Ours:
    structural: list[str] = field(default_factory=list)  # errors, lead's definition
    schema_level: list[str] = field(default_factory=list)  # errors under SCHEMA_LEVEL_RULES
    tolerated: list[str] = field(default_factory=list)  # warnings under TOLERATED_WARNINGS
    other_errors: list[str] = field(default_factory=list)
    deviations: list[str] = field(default_factory=list)
    dialects: list[str] = field(default_factory=list)  # deviations read with one meaning

    @property
    def structurally_valid(self) -> bool:
        return not self.structural

    @property
    def flags_schema_problem(self) -> bool:
        return bool(self.structural or self.schema_level or self.tolerated or self.dialects)

    def summary(self) -> str:
        parts = [
            f"structural={self.structural}",
            f"schema-level={self.schema_level}",
            f"tolerated={self.tolerated}",
            f"other-errors={self.other_errors}",
        ]
        return "; ".join(parts)


def our_verdict(path: Path) -> Ours:
    report, _ = validate([path])
    ours = Ours()
    for d in report.sorted():
        label = f"{d.rule}@{d.pos.line}:{d.pos.col}"
        if d.rule == "naftiko-operation-skipped" and d.message.endswith("]"):
            # A skipped part carries the rule it broke: judge it as that error.
            inner = d.message.rsplit("[", 1)[1].rstrip("]")
            d = dataclasses.replace(d, rule=inner, severity=Severity.ERROR)
            label = f"{d.rule}@{d.pos.line}:{d.pos.col}"
        if any(d.rule == rule and rx.match(d.message) for rule, rx in RELAXED_DEVIATIONS):
            ours.deviations.append(label)
        elif d.severity is Severity.ERROR and d.rule.startswith(STRUCTURAL_PREFIXES):
            ours.structural.append(label)
        elif d.severity is Severity.ERROR and d.rule in SCHEMA_LEVEL_RULES:
            ours.schema_level.append(label)
        elif d.severity in (Severity.WARNING, Severity.NOTE) and d.rule in TOLERATED_WARNINGS:
            ours.tolerated.append(label)
        elif d.rule.startswith(DIALECT_PREFIX):
            ours.dialects.append(label)
        elif d.severity is Severity.ERROR:
            ours.other_errors.append(label)
    return ours


# -- the cases ---------------------------------------------------------------------------------------


def _cases() -> list[Path]:
    found: list[Path] = []
    found += sorted(TUTORIAL.glob("*.yml")) + sorted(TUTORIAL.glob("*.yaml"))
    shared = TUTORIAL / "shared"
    found += sorted(p for p in shared.glob("*") if p.suffix in (".yaml", ".yml"))
    found += sorted(
        p for p in FIXTURES.rglob("*.yaml") if TUTORIAL not in p.parents and not _other_version(p)
    )
    found += sorted((ROOT / "specs").glob("*.yaml"))
    return found


def _other_version(path: Path) -> bool:
    """Documents of another published version (alpha1, alpha3, ikanos beta: read by
    reader/versions.py, tested in tests/versions/): the alpha2 schema is not theirs."""
    parts = path.relative_to(FIXTURES).parts
    if parts[0] in ("versions", "ikanos-beta5"):
        return True
    return parts[0] == "invalid" and path.stem.startswith("naftiko-version-") and "--" not in (
        path.stem.split("naftiko-version", 1)[1][:2]
    )


def _key(path: Path) -> str:
    return path.resolve().relative_to(ROOT).as_posix()


def _param(path: Path) -> Any:
    key = _key(path)
    marks = []
    if key in DEFECTS:
        marks.append(pytest.mark.xfail(reason=DEFECTS[key], strict=False))
    return pytest.param(path, id=key, marks=marks)


@pytest.mark.parametrize("spec", [_param(p) for p in _cases()])
def test_official_schema_agrees_with_our_structural_verdict(
    spec: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    key = _key(spec)
    official_ok, reasons = official_verdict(spec)
    ours = our_verdict(spec)
    verdicts = (
        f"{key}\n  official schema (relaxed): {'valid' if official_ok else 'INVALID'} {reasons[:6]}\n"
        f"  naftiko-gen structural verdict: {'valid' if ours.structurally_valid else 'INVALID'}; {ours.summary()}"
    )
    if key in BY_DESIGN:
        expect_official, expect_ours, why = BY_DESIGN[key]
        assert (official_ok, ours.structurally_valid) == (
            expect_official,
            expect_ours,
        ), f"documented disagreement changed ({why}):\n{verdicts}"
        return
    if official_ok:
        if ours.structural or ours.schema_level or ours.tolerated:
            print("DISAGREE (naftiko-gen stricter than the schema):\n" + verdicts)
        assert not ours.structural, (
            "schema-valid, but naftiko-gen reports structural errors:\n" + verdicts
        )
        assert not ours.schema_level, (
            "schema-valid, but naftiko-gen reports schema-level errors:\n" + verdicts
        )
        assert not ours.tolerated, (
            "schema-valid, but naftiko-gen warns of a schema violation:\n" + verdicts
        )
    else:
        if not ours.flags_schema_problem and not ours.other_errors:
            valid_without, found = silent_extensions(spec)
            if valid_without and found:
                pytest.xfail(
                    "generator defect: reader.py accepts without any diagnostic these schema violations: "
                    + "; ".join(found)
                )
        if not ours.flags_schema_problem:
            if ours.other_errors:
                print(
                    "NOTE (schema-invalid; naftiko-gen rejects it under another rule):\n" + verdicts
                )
            else:
                print("DISAGREE (naftiko-gen accepts a schema-invalid spec):\n" + verdicts)
        rejected = ours.flags_schema_problem or bool(ours.other_errors)
        assert rejected, (
            "the official schema rejects this spec, but naftiko-gen validate accepts it silently:\n"
            + verdicts
        )


def test_lead_structural_verdict_matches_on_tutorials(monkeypatch: pytest.MonkeyPatch) -> None:
    """On the reference tutorial files the plain definition (errors only) agrees exactly."""
    monkeypatch.chdir(ROOT)
    files = [p for p in _cases() if TUTORIAL in p.parents]
    assert files
    mismatches = []
    for spec in files:
        official_ok, reasons = official_verdict(spec)
        ours = our_verdict(spec)
        if official_ok != ours.structurally_valid:
            mismatches.append(
                f"{_key(spec)}: official={official_ok} ours={ours.structurally_valid} {reasons[:3]}"
            )
    assert not mismatches, "\n".join(mismatches)


# -- the seed: exactly three deviations, each reported as a note -------------------------------------


def _seed_doc() -> Any:
    return load_official(SEED)


def test_seed_is_schema_invalid_only_through_the_three_deviations() -> None:
    raw_ok, _ = official_verdict(SEED, relaxed=False)
    assert not raw_ok, "the seed validates against the official schema unrelaxed; update the notes"
    relaxed_ok, reasons = official_verdict(SEED, relaxed=True)
    assert relaxed_ok, reasons
    doc = _seed_doc()
    for name, _ in RELAXATIONS:
        errors = list(_validator().iter_errors(relax(doc, skip=name)))
        assert errors, f"relaxing '{name}' is unnecessary for the seed"


def test_seed_reports_each_deviation_as_a_warning(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    report, _ = validate([SEED.relative_to(ROOT)])
    assert not report.has_errors(), [d.format() for d in report.errors]
    doc = _seed_doc()
    # Accepted deviations with one clear meaning: notes, not warnings (`build` stays quiet).
    assert not report.warnings, [d.format() for d in report.warnings]
    warnings = report.notes
    assert all(d.severity is Severity.NOTE for d in warnings)

    rest_descriptions = sum(
        1 for e in doc["capability"]["exposes"] if e["type"] == "rest" and "description" in e
    )
    rest_warnings = [
        d
        for d in warnings
        if d.rule == "naftiko-schema-deviation"
        and "'description'" in d.message
        and "rest adapter" in d.message
    ]
    assert rest_descriptions >= 1
    assert len(rest_warnings) == rest_descriptions, [d.format() for d in rest_warnings]

    consumed_keys = 0
    for c in doc["capability"]["consumes"]:
        for holder in [
            c,
            *c.get("resources", []),
            *(o for r in c.get("resources", []) for o in r.get("operations", [])),
        ]:
            for p in holder.get("inputParameters", []) or []:
                consumed_keys += sum(1 for k in ("type", "description", "required") if k in p)
    param_warnings = [
        d
        for d in warnings
        if d.rule == "naftiko-schema-deviation" and "consumed input parameter" in d.message
    ]
    assert consumed_keys >= 1
    assert len(param_warnings) == consumed_keys, (consumed_keys, len(param_warnings))

    objects = 0

    def count(outputs: Any) -> None:
        nonlocal objects
        for o in outputs or []:
            if o.get("type") == "object" and "mapping" in o and "properties" not in o:
                objects += 1

    for e in doc["capability"]["exposes"]:
        for r in e.get("resources", []):
            for op in r.get("operations", []):
                count(op.get("outputParameters"))
        for t in e.get("tools", []):
            count(t.get("outputParameters"))
    object_warnings = [d for d in warnings if d.rule == "naftiko-object-without-properties"]
    assert objects >= 1
    assert len(object_warnings) == objects, (objects, len(object_warnings))

    # Nothing else: the seed's only findings are the three deviations.
    assert {d.rule for d in warnings} == {
        "naftiko-schema-deviation",
        "naftiko-object-without-properties",
    }


def test_seed_deviation_warnings_point_at_the_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each naftiko-schema-deviation warning names the line and column of the offending key."""
    monkeypatch.chdir(ROOT)
    report, _ = validate([SEED.relative_to(ROOT)])
    lines = SEED.read_text(encoding="utf-8").splitlines()
    for d in report.notes:
        if d.rule != "naftiko-schema-deviation":
            continue
        key = d.message.split("'")[1]
        text = lines[d.pos.line - 1]
        assert text[d.pos.col - 1 :].startswith(key + ":"), f"{d.format()} points at {text!r}"


def test_relax_is_a_no_op_on_clean_documents() -> None:
    doc = {
        "naftiko": "1.0.0-alpha2",
        "capability": {
            "consumes": [
                {"type": "http", "namespace": "a", "baseUri": "https://x", "resources": []}
            ],
            "exposes": [{"type": "rest", "namespace": "b", "port": 1, "resources": []}],
        },
    }
    assert relax(doc) == doc
