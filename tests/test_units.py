"""Unit tests of the generator's pieces: JSONPath, Mustache, literals, body templates, wiring."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from naftiko_gen import mustache, pyexpr
from naftiko_gen.codegen import analyse
from naftiko_gen.diagnostics import Report
from naftiko_gen.jsonpath import JsonPathError, Step, compile_path
from naftiko_gen.plan.bodies import QuotedTemplate, parse_json_template
from naftiko_gen.plan.ir import ArgRef, SecretRef, TextTemplate
from naftiko_gen.pyliteral import py
from tests.support import FIXTURES, ROOT


@pytest.mark.parametrize(
    ("expr", "steps"),
    [
        ("$", ()),
        ("$.", ()),
        ("$.a.b", (Step("key", "a"), Step("key", "b"))),
        ("$['a b']", (Step("key", "a b"),)),
        ("$[0]", (Step("index", 0),)),
        ("$[-1].x", (Step("index", -1), Step("key", "x"))),
        ("$.items[*].id", (Step("key", "items"), Step("each"), Step("key", "id"))),
        ("$.a.*", (Step("key", "a"), Step("each"))),
        (
            "$.deployment.termination_grace_period_seconds",
            (Step("key", "deployment"), Step("key", "termination_grace_period_seconds")),
        ),
    ],
)
def test_jsonpath_subset_compiles(expr: str, steps: tuple[Step, ...]) -> None:
    assert compile_path(expr) == steps


@pytest.mark.parametrize(
    "expr", ["a.b", "$..a", "$[?(@.x)]", "$[0:2]", "$['a','b']", "$.a[", "$.!"]
)
def test_jsonpath_outside_the_subset_is_rejected(expr: str) -> None:
    with pytest.raises(JsonPathError):
        compile_path(expr)


def test_mustache_and_single_brace_placeholders() -> None:
    assert mustache.path_vars("/a/{id}/b/{{tools.user_id}}/c") == ["id", "tools.user_id"]
    assert mustache.parse("Bearer {{ env.TOKEN }}") == ("Bearer ", mustache.Var("env.TOKEN"))


@pytest.mark.parametrize(
    "value",
    [
        '"""',
        "'''",
        "\\",
        "a\nb",
        "{{ x }}",
        "{% if %}",
        "</script>",
        "# DO NOT EDIT",
        "é✓🚢",
        "x" * 10_000,
        float("inf"),
        None,
        True,
        [1, {"k": "v"}],
    ],
)
def test_py_literals_round_trip(value: object) -> None:
    source = py(value)
    assert ast.literal_eval(source) == value if value != float("inf") else source == "float('inf')"


def test_text_templates_render_spec_text_as_literals_never_as_code() -> None:
    hostile = "a'); import os; ('\"{x}"
    source = pyexpr.value(TextTemplate((hostile, ArgRef("x"), SecretRef("env.K"))))
    tree = ast.parse(source, mode="eval")
    literals = [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant)]
    calls = {ast.unparse(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    assert hostile in literals
    assert calls == {"rt.text", "client.secret"}
    assert source == repr(hostile) + " + rt.text(x) + client.secret('env.K')"


def test_json_template_is_parsed_structurally() -> None:
    data = parse_json_template(
        '{"imo": "{{shipImo}}", "crew": {{crewIds}}, "note": "by {{who}}", "n": 1}'
    )
    assert data == {"imo": "{{shipImo}}", "crew": "{{crewIds}}", "note": "by {{who}}", "n": 1}
    assert isinstance(data["imo"], QuotedTemplate)  # quoted: always text
    assert not isinstance(data["crew"], QuotedTemplate)  # bare: the value itself
    assert parse_json_template('{"a": {{x}') is None


def _plan(tmp_path: Path, text: str):  # type: ignore[no-untyped-def]
    spec = tmp_path / "cap.yaml"
    spec.write_text(text)
    report = Report()
    return analyse(spec, tmp_path / "out", report), report


SPEC = """
naftiko: 1.0.0-alpha2
capability:
  consumes:
    - type: http
      namespace: up
      baseUri: https://up.example.com
      resources:
        - name: r
          path: /orgs/{organizationId}/things/{thingId}
          operations:
            - name: get-thing
              method: GET
              inputParameters:
                - name: verbose
                  in: query
  exposes:
    - type: rest
      namespace: api
      port: 8000
      resources:
        - path: /o/{org}/t/{thing}
          operations:
            - method: GET
              call: up.get-thing
    - type: mcp
      namespace: tools
      port: 8001
      tools:
        - name: get-thing
          call: up.get-thing
          with:
            verbose: true
"""


def test_rest_path_params_match_by_position_and_mcp_advertises_consumed_names(
    tmp_path: Path,
) -> None:
    plan, report = _plan(tmp_path, SPEC)
    assert plan is not None, [d.format() for d in report.errors]
    action = plan.rest[0].routes[0].action
    assert action.call is not None
    kwargs = dict(action.call.kwargs)
    assert kwargs["organization_id"] == ArgRef("org")
    assert kwargs["thing_id"] == ArgRef("thing")
    assert [i.name for i in action.inputs] == ["org", "thing", "verbose"]
    tool = plan.mcp[0].tools[0]
    assert tool.schema == {
        "type": "object",
        "properties": {"organizationId": {"type": "string"}, "thingId": {"type": "string"}},
        "required": ["organizationId", "thingId"],
    }
    assert tool.action.call is not None
    assert dict(tool.action.call.kwargs)["verbose"] is True


def test_call_to_unknown_operation_is_a_located_error(tmp_path: Path) -> None:
    plan, report = _plan(
        tmp_path,
        SPEC.replace("call: up.get-thing\n    - type: mcp", "call: up.nope\n    - type: mcp"),
    )
    # The route is skipped (located, with the reason); the tool still builds.
    assert plan is not None and not report.errors
    assert [r.method for r in plan.rest[0].routes] == [] and len(plan.mcp[0].tools) == 1
    [skipped] = [d for d in report.warnings if d.rule == "naftiko-operation-skipped"]
    assert (skipped.pos.line, skipped.pos.col) == (25, 21)
    assert "up.nope" in skipped.message and "up.get-thing" in skipped.message
    assert skipped.message.endswith("[naftiko-call-resolves]")


def test_a_spec_with_nothing_buildable_is_an_error(tmp_path: Path) -> None:
    spec = SPEC.replace("call: up.get-thing", "call: up.nope")
    plan, report = _plan(tmp_path, spec)
    assert plan is None
    assert {e.rule for e in report.errors} == {"naftiko-call-resolves"}


def test_every_generator_package_is_installed() -> None:
    """A non-editable install ships only the packages pyproject.toml lists: list them all."""
    import tomllib

    listed = set(
        tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"][
            "packages"
        ]
    )
    on_disk = {
        ".".join(p.parent.relative_to(ROOT / "generator").parts)
        for p in (ROOT / "generator").rglob("__init__.py")
    }
    assert on_disk <= listed, sorted(on_disk - listed)


@pytest.mark.parametrize("fixed", ["}", "{", '"', "'", "\\\\", "{x}", "a}b{c", "\x00", "a\tb"])
def test_fixed_path_values_never_break_the_generated_path(tmp_path: Path, fixed: str) -> None:
    """A consumed path parameter's fixed `value` is spec text: found by the property test when a
    lone '}' went into an f-string (invalid Python; the formatter refused the module)."""
    import yaml

    from naftiko_gen.codegen import generate

    spec = yaml.safe_load((FIXTURES / "features" / "feat_path_value.yaml").read_text())
    spec["capability"]["consumes"][0]["inputParameters"][0]["value"] = fixed
    path = tmp_path / "feat_path_value.yaml"
    path.write_text(yaml.safe_dump(spec), encoding="utf-8")
    result = generate([path], tmp_path / "out")
    assert not result.report.has_errors(), [d.format() for d in result.report.errors]
    upstream = result.files["feat_path_value/upstream.py"]
    tree = ast.parse(upstream)
    pieces = [
        n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)
    ]
    assert fixed in pieces or any(fixed in p for p in pieces), pieces


def test_environment_values_in_upstream_auth_are_imported_and_text(tmp_path: Path) -> None:
    """`{{env.X}}` in an auth block that no bind declares reads the environment: upstream.py must
    import os, and a missing variable is text, not None + str (found by the property test)."""
    from naftiko_gen.codegen import generate

    spec = tmp_path / "qovery-containers.yaml"
    spec.write_text(
        (ROOT / "specs" / "qovery-containers.yaml")
        .read_text(encoding="utf-8")
        .replace("- namespace: env\n", "- namespace: other\n"),
        encoding="utf-8",
    )
    result = generate([spec], tmp_path / "out")
    upstream = result.files["qovery_containers/upstream.py"]
    assert "\nimport os\n" in upstream
    assert '"Bearer " + rt.text(os.environ.get("QOVERY_API_KEY"))' in upstream


def test_a_spec_path_under_docs_keeps_its_route_and_turns_the_page_off(tmp_path: Path) -> None:
    """/docs is the API docs page unless the spec's own paths are there: its route stays (and
    stays behind the caller checks, which leave only the page's routes open), with a warning."""
    from aiohttp import web

    from naftiko_gen.codegen import generate
    from naftiko_gen.writer import apply_changes, plan_changes
    from tests.support import import_module

    spec = FIXTURES / "invalid" / "naftiko-rest-docs-path--under.yaml"
    out = tmp_path / "out"
    result = generate([spec], out)
    assert [d.rule for d in result.report.warnings] == ["naftiko-rest-docs-path"]
    apply_changes(plan_changes(result.files, result.specs, out), out)
    app: web.Application = import_module(out, result.packages[0], "rest_server").create_app()
    names = {r.name for r in app.router.resources()}
    paths = {r.canonical for r in app.router.resources()}
    assert not names & {"naftiko-docs", "naftiko-docs-slash", "naftiko-docs-asset"}
    assert "/docs/{id}" in paths and "/openapi.json" in paths
