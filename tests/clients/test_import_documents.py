"""#21 item 5: `naftiko-gen import openapi` keeps what real documents say.

Three vendored documents of the OpenAPI Initiative, one per version (tests/fixtures/openapi/NOTICE):
the Swagger 2.0 and OpenAPI 3.0 Petstore (expanded) and the OpenAPI 3.1 Tic Tac Toe. A fourth,
written here after Datadog's v2 API (OpenAPI 3.0: bracketed query names, an API key AND an
application key), is imported by the command, built and served for real: the upstream fake
records what reaches it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml
from aiohttp import web
from click.testing import CliRunner
from mcp import Client

from naftiko_gen.cli import cli
from naftiko_gen.codegen import generate
from naftiko_gen.openapi_import import import_openapi, load_document
from naftiko_gen.writer import apply_changes, plan_changes
from tests.support import FIXTURES, OFFICIAL_SCHEMA, import_module, serve_aiohttp, serve_asgi

DOCS = FIXTURES / "openapi"
SWAGGER2 = DOCS / "petstore-expanded-swagger2.json"
OPENAPI30 = DOCS / "petstore-expanded-openapi30.json"
OPENAPI31 = DOCS / "tictactoe-openapi31.yaml"

# After Datadog's v2 document (.generator/schemas/v2/openapi.yaml of DataDog/datadog-api-client-*):
# its security requirement, its two key schemes and the shape of its list operations.
DATADOG: dict[str, Any] = {
    "openapi": "3.0.0",
    "info": {"title": "Datadog API V2 Collection", "version": "1.0"},
    "servers": [{"url": "https://{subdomain}.{site}", "variables": {
        "site": {"default": "datadoghq.com"}, "subdomain": {"default": "api"}}}],
    "security": [{"apiKeyAuth": [], "appKeyAuth": []}],
    "components": {
        "securitySchemes": {
            "apiKeyAuth": {"type": "apiKey", "in": "header", "name": "DD-API-KEY"},
            "appKeyAuth": {"type": "apiKey", "in": "header", "name": "DD-APPLICATION-KEY"},
        },
        "parameters": {
            "PageSize": {"name": "page[size]", "in": "query", "required": False,
                         "schema": {"type": "integer", "format": "int64", "maximum": 100},
                         "description": "Size for a given page."},
        },
    },
    "paths": {
        "/api/v2/incidents/{incident_id}/todos": {
            "get": {
                "operationId": "ListIncidentTodos",
                "summary": "Get a list of an incident's todos",
                "tags": ["Incidents"],
                "parameters": [
                    {"name": "incident_id", "in": "path", "required": True,
                     "schema": {"type": "integer", "format": "int64"}},
                    {"$ref": "#/components/parameters/PageSize"},
                    {"name": "filter[status]", "in": "query",
                     "schema": {"type": "string", "enum": ["open", "done"]}},
                ],
                "responses": {"200": {"description": "OK", "content": {"application/json": {
                    "schema": {"type": "object", "properties": {
                        "data": {"type": "array", "items": {"type": "object"}}}}}}}},
            }
        },
        "/api/v2/team": {
            "get": {
                "operationId": "ListTeams",
                "summary": "Get all teams",
                "tags": ["Teams"],
                "parameters": [{"$ref": "#/components/parameters/PageSize"}],
                "responses": {"200": {"description": "OK"}},
            }
        },
    },
}  # fmt: skip


def _official_errors(spec: dict[str, Any]) -> list[str]:
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads(OFFICIAL_SCHEMA.read_text(encoding="utf-8"))
    validator = jsonschema.Draft202012Validator(schema)
    return [f"{list(e.path)}: {e.message}" for e in validator.iter_errors(spec)]


def _one(document: dict[str, Any], **options: Any) -> tuple[dict[str, Any], list[str]]:
    result = import_openapi(document, **options)
    assert len(result.files) == 1
    return yaml.safe_load(next(iter(result.files.values()))), result.notes


def _tools(spec: dict[str, Any]) -> dict[str, dict[str, Any]]:
    mcp = next(e for e in spec["capability"]["exposes"] if e["type"] == "mcp")
    return {t["name"]: t for t in mcp["tools"]}


def _inputs(tool: dict[str, Any]) -> dict[str, tuple[str, bool]]:
    return {p["name"]: (p["type"], p["required"]) for p in tool.get("inputParameters", [])}


@pytest.mark.parametrize("source", [SWAGGER2, OPENAPI30], ids=["swagger-2.0", "openapi-3.0"])
def test_petstore_types_and_path_parameters(source: Path) -> None:
    spec, notes = _one(load_document(source))
    assert notes == []
    assert _official_errors(spec) == []
    tools = _tools(spec)
    # Integer path parameters stay integers (Swagger 2.0 declares them on the parameter).
    assert _inputs(tools["find-pet-by-id"]) == {"id": ("integer", True)}
    assert _inputs(tools["delete-pet"]) == {"id": ("integer", True)}
    assert _inputs(tools["find-pets"]) == {"tags": ("array", False), "limit": ("integer", False)}
    assert _inputs(tools["add-pet"]) == {"body": ("object", True)}
    consumes = spec["capability"]["consumes"][0]
    assert [r["path"] for r in consumes["resources"]] == ["/pets", "/pets/{id}"]
    rest = spec["capability"]["exposes"][0]
    assert [r["path"] for r in rest["resources"]] == ["/v1/pets", "/v1/pets/{id}"]


def test_openapi31_tictactoe() -> None:
    spec, notes = _one(load_document(OPENAPI31), base_uri="https://ttt.example")
    assert notes == []
    assert _official_errors(spec) == []
    tools = _tools(spec)
    # $ref'd parameters (path-level) with a $ref'd integer schema.
    assert _inputs(tools["get-square"]) == {"row": ("integer", True), "column": ("integer", True)}
    assert _inputs(tools["put-square"])["body"] == ("string", True)  # the mark enum
    rest = spec["capability"]["exposes"][0]
    square = next(r for r in rest["resources"] if r["path"] == "/v1/board/{row}/{column}")
    assert [o["label"] for o in square["operations"]] == [
        "Get a single board square",
        "Set a single board square",
    ]
    # No document-level requirement: the first usable scheme.
    assert spec["capability"]["consumes"][0]["authentication"]["key"] == "api-key"


def test_bracketed_names_and_two_keys() -> None:
    spec, notes = _one(DATADOG, name="datadog", env_prefix="datadog")
    assert notes == []
    assert _official_errors(spec) == []
    consumes = spec["capability"]["consumes"][0]
    assert consumes["baseUri"] == "https://api.datadoghq.com"
    assert consumes["authentication"] == {
        "type": "apikey",
        "key": "DD-API-KEY",
        "value": "{{env.DATADOG_API_KEY}}",
        "placement": "header",
    }
    # The second key of the AND-ed requirement: sent with every request, from the environment.
    assert consumes["inputParameters"] == [
        {"name": "DD-APPLICATION-KEY", "in": "header", "value": "{{env.DATADOG_APP_KEY}}"}
    ]  # fmt: skip
    assert spec["binds"][0]["keys"] == {
        "DATADOG_API_KEY": "DATADOG_API_KEY",
        "DATADOG_APP_KEY": "DATADOG_APP_KEY",
    }
    todos = _tools(spec)["list-incident-todos"]
    assert _inputs(todos) == {
        "incident_id": ("integer", True),
        "page_size": ("integer", False),
        "filter_status": ("string", False),
    }


def test_by_path_and_filters() -> None:
    by_path = import_openapi(DATADOG, name="datadog", by="path")
    assert sorted(by_path.files) == ["datadog-incidents.yaml", "datadog-team.yaml"]
    for text in by_path.files.values():
        assert _official_errors(yaml.safe_load(text)) == []
    only = import_openapi(DATADOG, name="datadog", include=("ListTeams",))
    assert list(_tools(yaml.safe_load(only.files["datadog.yaml"]))) == ["list-teams"]
    without = import_openapi(DATADOG, name="datadog", exclude=("/api/v2/incidents/*",))
    assert list(_tools(yaml.safe_load(without.files["datadog.yaml"]))) == ["list-teams"]
    by_tag = import_openapi(DATADOG, name="datadog", by="tag", include=("Incidents",))
    assert list(by_tag.files) == ["datadog-incidents.yaml"]


# -- end to end: imported, built from the saved document, served ----------------------------------


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class _Upstream:
    """Datadog's side: checks both keys, records each request's path and query."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, list[tuple[str, str]], dict[str, str]]] = []
        self.app = web.Application()
        self.app.router.add_get("/{tail:.*}", self.handle)

    async def handle(self, request: web.Request) -> web.Response:
        keys = {k: request.headers.get(k, "") for k in ("DD-API-KEY", "DD-APPLICATION-KEY")}
        self.seen.append((request.path, list(request.query.items()), keys))
        if keys != {"DD-API-KEY": "api-secret", "DD-APPLICATION-KEY": "app-secret"}:
            return web.json_response({"errors": ["Forbidden"]}, status=403)
        return web.json_response({"data": [{"id": "t1"}]})


@pytest.mark.anyio
async def test_imported_datadog_serves_brackets_and_keys(tmp_path: Path) -> None:
    source = tmp_path / "datadog.json"
    source.write_text(json.dumps(DATADOG), encoding="utf-8")
    specs = tmp_path / "specs"
    ran = CliRunner().invoke(cli, ["import", "openapi", str(source), "--name", "datadog", "--env-prefix", "datadog", "-o", str(specs)])  # fmt: skip
    assert ran.exit_code == 0, ran.output
    assert "openapi/datadog.yaml" in ran.output
    kept = specs / "openapi" / "datadog.yaml"
    assert yaml.safe_load(kept.read_text(encoding="utf-8")) == DATADOG

    out = tmp_path / "generated"
    built = generate([specs], out)  # no --openapi: the document beside the spec is found
    assert not built.report.errors, [d.format() for d in built.report.errors]
    apply_changes(plan_changes(built.files, built.specs, out), out)
    rest_server = import_module(out, "datadog", "rest_server")
    mcp_server = import_module(out, "datadog", "mcp_server")

    upstream = _Upstream()
    async with serve_aiohttp(upstream.app) as upstream_url:
        environ = {
            "DATADOG_API_KEY": "api-secret",
            "DATADOG_APP_KEY": "app-secret",
            "DATADOG_BASE_URL": upstream_url,
        }
        async with serve_asgi(mcp_server.create_app(environ=environ)) as base:
            async with Client(base + "/mcp") as client:
                tools = {t.name: t for t in (await client.list_tools()).tools}
                props = tools["list-incident-todos"].input_schema["properties"]
                assert props["incident_id"]["type"] == "integer"
                # From the saved document: the format, bound and enum of each parameter.
                assert props["page_size"]["format"] == "int64"
                assert props["page_size"]["maximum"] == 100
                assert props["filter_status"]["enum"] == ["open", "done"]
                result = await client.call_tool(
                    "list-incident-todos",
                    {"incident_id": 42, "page_size": 5, "filter_status": "open"},
                )
                assert not result.is_error, result.content
        async with serve_aiohttp(rest_server.create_app(environ)) as base:
            async with aiohttp.ClientSession() as http:
                url = base + "/v1/api/v2/team?page_size=7"
                async with http.get(url) as response:
                    assert response.status == 200, await response.text()
                    assert await response.json() == {"data": [{"id": "t1"}]}
    assert upstream.seen == [
        (
            "/api/v2/incidents/42/todos",
            [("page[size]", "5"), ("filter[status]", "open")],
            {"DD-API-KEY": "api-secret", "DD-APPLICATION-KEY": "app-secret"},
        ),
        (
            "/api/v2/team",
            [("page[size]", "7")],
            {"DD-API-KEY": "api-secret", "DD-APPLICATION-KEY": "app-secret"},
        ),
    ]
