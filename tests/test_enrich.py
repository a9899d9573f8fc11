"""OpenAPI enrichment (#11): tool and OpenAPI schemas from the upstream's own document.

The seed with tests/fixtures/openapi/qovery-containers-subset.yaml (our own small document for its
8 operations): schemas in the plan and the generated files, `mcp.json` beside the package,
unmatched operations, the convention folder, and the command line.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from naftiko_gen.cli import cli
from naftiko_gen.codegen import generate
from naftiko_gen.plan.enrich import example_from_schema, load_document, shape
from tests.support import FIXTURES, ROOT

SEED = ROOT / "specs" / "qovery-containers.yaml"
SUBSET = FIXTURES / "openapi" / "qovery-containers-subset.yaml"
NS = "qovery-containers"
REQUIRED = ["name", "registry_id", "image_name", "tag", "healthchecks"]


@pytest.fixture(scope="module")
def enriched(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    out = tmp_path_factory.mktemp("enriched")
    result = generate([SEED], out, {NS: SUBSET})
    assert not result.report.errors, [d.format() for d in result.report.errors]
    assert not result.report.warnings, [d.format() for d in result.report.warnings]
    return result.files


def _tool_schemas(files: dict[str, str]) -> dict[str, tuple[dict, dict | None]]:
    """Tool name → (input_schema, output_schema), read by importing nothing: eval of literals."""
    import ast

    tree = ast.parse(files["qovery_containers/mcp_server.py"])
    out = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "Tool":
            kw = {k.arg: k.value for k in node.keywords}
            name = ast.literal_eval(kw["name"])
            output = ast.literal_eval(kw["output_schema"]) if "output_schema" in kw else None
            out[name] = (ast.literal_eval(kw["input_schema"]), output)
    return out


def test_body_schema_lists_required_fields(enriched: dict[str, str]) -> None:
    schemas = _tool_schemas(enriched)
    body = schemas["create-container"][0]["properties"]["body"]
    assert body["type"] == "object"
    assert body["required"] == REQUIRED
    # allOf merged, $refs resolved, nullable allOf enum translated
    props = body["properties"]
    assert {"storage", "ports", "name", "tag", "healthchecks", "cpu_architecture"} <= set(props)
    assert props["cpu_architecture"]["enum"] == ["AMD64", "ARM64", None]
    assert props["ports"]["items"]["properties"]["protocol"]["enum"] == ["HTTP", "GRPC", "TCP", "UDP"]
    assert props["healthchecks"]["properties"]["readiness_probe"]["type"] == ["object", "null"]
    assert "$ref" not in json.dumps(body)
    # the body itself stays optional (the document does not require it); the path parameter is
    assert schemas["create-container"][0]["required"] == ["environmentId"]
    clone = schemas["clone-container"][0]["properties"]["body"]
    assert clone["required"] == ["name", "environment_id"]


def test_output_schema_only_for_pass_through_objects(enriched: dict[str, str]) -> None:
    schemas = _tool_schemas(enriched)
    out = schemas["create-container"][1]
    assert out is not None and out["type"] == "object"
    # readOnly fields stay in responses (Reference.id), required merged from allOf
    assert "id" in out["properties"] and "id" in out["required"]
    listed = schemas["list-containers"][1]
    assert listed is not None and listed["properties"]["results"]["type"] == "array"


def test_generated_module_validates_and_ships_validate(enriched: dict[str, str]) -> None:
    source = enriched["qovery_containers/mcp_server.py"]
    assert "_validate.checked(CREATE_CONTAINER, create_container)" in source
    # tools whose inputs got nothing from the document are not wrapped
    assert "(LIST_CONTAINERS, list_containers)" in source
    assert "qovery_containers/_validate.py" in enriched


def test_served_openapi_document(enriched: dict[str, str]) -> None:
    doc = json.loads(enriched["qovery_containers/openapi.json"])
    post = doc["paths"]["/v1/environment/{environmentid}/container"]["post"]
    schema = post["requestBody"]["content"]["application/json"]["schema"]
    assert schema["required"] == REQUIRED
    assert "201" in post["responses"]
    created = post["responses"]["201"]["content"]["application/json"]["schema"]
    assert created["properties"]["service_type"]["enum"] == ["CONTAINER"]


def test_plain_build_is_unchanged_by_the_feature(tmp_path: Path) -> None:
    result = generate([SEED], tmp_path)
    assert "qovery_containers/_validate.py" not in result.files
    assert "output_schema" not in result.files["qovery_containers/mcp_server.py"]
    committed = ROOT / "generated" / "qovery_containers" / "mcp.json"
    assert json.loads(result.files["qovery_containers/mcp.json"]) == json.loads(
        committed.read_text(encoding="utf-8")
    )


def test_mcp_json_configuration(enriched: dict[str, str]) -> None:
    config = json.loads(enriched["qovery_containers/mcp.json"])
    claude = config["claudeDesktop"]["mcpServers"]["qovery-containers-mcp"]
    assert claude["args"] == ["-m", "qovery_containers.mcp_server", "--stdio"]
    assert set(claude["env"]) == {"PYTHONPATH", "QOVERY_API_KEY"}
    servers = config["vscode"]["servers"]
    assert servers["qovery-containers-mcp"] == {
        "type": "http",
        "url": "http://127.0.0.1:9090/mcp",
    }
    assert servers["qovery-containers-mcp-stdio"]["type"] == "stdio"
    assert servers["qovery-containers-mcp-stdio"]["env"]["QOVERY_API_KEY"] == (
        "${env:QOVERY_API_KEY}"
    )


def test_unmatched_operation_is_a_warning(tmp_path: Path) -> None:
    doc = tmp_path / "doc.yaml"
    doc.write_text(
        "openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths:\n"
        "  /defaultContainerAdvancedSettings:\n    get:\n      responses:\n"
        "        '200': {description: ok}\n",
        encoding="utf-8",
    )
    result = generate([SEED], tmp_path / "out", {NS: doc})
    assert not result.report.errors
    unmatched = [d for d in result.report.warnings if d.rule == "naftiko-openapi-unmatched"]
    assert len(unmatched) == 7  # every operation but the one in the document
    assert any(
        d.message.startswith("POST /environment/{environmentId}/container is not in")
        for d in unmatched
    )
    plain = generate([SEED], tmp_path / "plain")
    assert (
        result.files["qovery_containers/mcp_server.py"]
        == plain.files["qovery_containers/mcp_server.py"]
    )


def test_unknown_namespace_and_unreadable_document(tmp_path: Path) -> None:
    result = generate([SEED], tmp_path / "a", {"nope": SUBSET})
    assert [d.rule for d in result.report.warnings] == ["naftiko-openapi-unmatched"]
    bad = tmp_path / "bad.yaml"
    bad.write_text("just: text\n", encoding="utf-8")
    result = generate([SEED], tmp_path / "b", {NS: bad})
    assert [d.rule for d in result.report.errors] == ["naftiko-openapi-unreadable"]
    assert "not an OpenAPI" in result.report.errors[0].message
    result = generate([SEED], tmp_path / "c", {NS: tmp_path / "missing.yaml"})
    assert [d.rule for d in result.report.errors] == ["naftiko-openapi-unreadable"]


def test_convention_folder_beside_the_spec(tmp_path: Path, enriched: dict[str, str]) -> None:
    specs = tmp_path / "specs"
    (specs / "openapi").mkdir(parents=True)
    shutil.copy(SEED, specs / SEED.name)
    shutil.copy(SUBSET, specs / "openapi" / f"{NS}.yaml")
    result = generate([specs], tmp_path / "out")
    assert not result.report.errors and not result.report.warnings

    def body(text: str) -> str:  # without the DO NOT EDIT line, which names the spec's path
        return text.split("\n", 1)[1]

    for name in ("mcp_server.py", "openapi.json", "_validate.py"):
        key = f"qovery_containers/{name}"
        assert body(result.files[key]) == body(enriched[key]) or name == "openapi.json"
    assert result.files["qovery_containers/openapi.json"] == enriched["qovery_containers/openapi.json"]


def test_cli_option(tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "out"
    res = runner.invoke(cli, ["build", str(SEED), "-o", str(out), "--openapi", f"{NS}={SUBSET}"])
    assert res.exit_code == 0, res.output
    assert (out / "qovery_containers" / "_validate.py").is_file()
    res = runner.invoke(cli, ["validate", str(SEED), "--openapi", f"{NS}={SUBSET}"])
    assert res.exit_code == 0, res.output
    res = runner.invoke(cli, ["build", str(SEED), "-o", str(out), "--openapi", "no-equals"])
    assert res.exit_code == 2 and "NAMESPACE=FILE" in res.output


def test_schema_conversion_details(tmp_path: Path) -> None:
    doc = tmp_path / "doc.yaml"
    doc.write_text(
        """
openapi: 3.0.3
info: {title: t, version: '1'}
paths:
  /nodes/{id}:
    post:
      parameters:
        - {name: id, in: path, required: true, schema: {type: string}}
        - {name: mode, in: query, required: true, schema: {type: string, enum: [a, b]}}
      requestBody:
        required: true
        content:
          application/json:
            schema: {$ref: '#/components/schemas/Node'}
      responses:
        '200':
          description: ok
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Node'}
components:
  schemas:
    Node:
      type: object
      required: [id, name]
      properties:
        id: {type: string, readOnly: true}
        secret: {type: string, writeOnly: true}
        name: {type: string, pattern: '^[a-z]+$'}
        weight: {type: number, minimum: 0, exclusiveMinimum: true}
        children:
          type: array
          items: {$ref: '#/components/schemas/Node'}
""",
        encoding="utf-8",
    )
    info = load_document(doc).operation("POST", "/nodes/{{nodeId}}")
    assert info is not None and info.body_required
    body = info.body_schema
    assert body is not None
    assert "id" not in body["properties"] and body["required"] == ["name"]  # readOnly: not sent
    assert body["properties"]["weight"] == {"type": "number", "exclusiveMinimum": 0}
    assert body["properties"]["children"]["items"] == {}  # the cycle is cut
    assert info.query["mode"].required and info.query["mode"].schema["enum"] == ["a", "b"]
    response = info.response_schema
    assert response is not None and "secret" not in response["properties"]
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.Draft202012Validator.check_schema(body)
    assert shape("/a/{{x}}/b/{y}") == "/a/{}/b/{}"


def test_examples_are_valid_against_their_schemas() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    document = load_document(SUBSET)
    for path, item in document.doc["paths"].items():
        for method in item:
            if method == "parameters":
                continue
            info = document.operation(method, path)
            assert info is not None and info.response_schema is not None
            example = example_from_schema(info.response_schema)
            jsonschema.Draft202012Validator(info.response_schema).validate(example)


def test_enriched_seed_matches_snapshot(monkeypatch: pytest.MonkeyPatch) -> None:
    """The seed built with the subset document, byte for byte (tests/golden/enriched/).

    generated/ stays un-enriched: specs/ has no openapi/ folder. Refresh like the other
    snapshots: NAFTIKO_UPDATE_GOLDEN=1 pytest tests/test_enrich.py.
    """
    from tests.test_golden import GOLDEN, RUNTIME, _body, _compare

    monkeypatch.chdir(ROOT)
    result = generate([Path("specs") / SEED.name], Path("generated"), {NS: SUBSET})
    assert not result.report.errors and not result.report.warnings
    files = dict(result.files)
    shipped = []
    for source in sorted(RUNTIME.glob("_[a-z]*.py")):
        text = files.pop(f"qovery_containers/{source.name}", None)
        if text is not None:
            assert _body(text) == source.read_text(encoding="utf-8"), source.name
            shipped.append(source.name)
    files["qovery_containers/RUNTIME.txt"] = "".join(name + "\n" for name in shipped)
    _compare(GOLDEN / "enriched" / "qovery-containers", files)
    assert not (ROOT / "specs" / "openapi").exists()
