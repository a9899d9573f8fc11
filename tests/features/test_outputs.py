"""Output mapping: `$.` passthrough, `$.data.items`, `$[0]`, `$.items[*].id`, typed objects
with properties, arrays with items, several named outputs → one object, and mocks (`value`,
no call).

MCP: a mapped output's declared types are the tool's outputSchema; an array is wrapped as the
official SDK's MCPServer and FastMCP wrap a non-object return (`{"result": ...}`, required,
FastMCP's `x-fastmcp-wrap-result` mark) and sent as structuredContent `{"result": [...]}`,
valid against the schema (the `mcp` client checks it too), by both the SDK-free server and the
`--sdk` one."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import jsonschema
import pytest

from tests.features.upstream import (
    FIXTURES,
    FakeUpstream,
    Harness,
    Stack,
    mcp_json,
    mcp_text,
)
from tests.support import serve_asgi

pytestmark = pytest.mark.anyio

SPEC = FIXTURES / "feat_outputs.yaml"
FLEET = {
    "data": {
        "items": [
            {
                "id": "s-1",
                "name": "Aurora",
                "specs": {"length": 120.5, "year": 2001},
                "crew": [{"name": "Ann", "role": "captain"}, {"name": "Bo", "role": "cook"}],
            },
            {"id": "s-2", "name": "Borealis", "specs": {"length": 98, "year": 2015}, "crew": []},
        ]
    },
    "total": 2,
    "page": {"next": None, "size": 50},
}
SHIPS = [{"imo": "9321483", "name": "Aurora"}, {"imo": "9334129", "name": "Borealis"}]

# (case, REST path, tool, upstream path, upstream reply, expected mapped output)
CASES: list[tuple[str, str, str, str, Any, Any]] = [
    ("passthrough", "/passthrough", "passthrough", "/fleet", FLEET, FLEET),
    ("subtree-array", "/items", "items", "/fleet", FLEET, FLEET["data"]["items"]),
    ("index", "/first", "first", "/ships", SHIPS, SHIPS[0]),
    ("wildcard", "/ids", "ids", "/fleet", FLEET, ["s-1", "s-2"]),
    (
        "typed-object",
        "/summary",
        "summary",
        "/fleet",
        FLEET,
        {
            "total": 2,
            "firstName": "Aurora",
            "firstLength": 120.5,
            "missing": None,
            "page": {"next": None, "size": 50},
        },
    ),
    (
        "array-items",
        "/ships",
        "ships",
        "/fleet",
        FLEET,
        [
            {"id": "s-1", "name": "Aurora", "year": 2001, "crew": ["Ann", "Bo"]},
            {"id": "s-2", "name": "Borealis", "year": 2015, "crew": []},
        ],
    ),
    (
        "named",
        "/named",
        "named",
        "/fleet",
        FLEET,
        {"total": 2, "names": ["Aurora", "Borealis"], "next": None},
    ),
]


STACK = Stack(SPEC, lambda: {"FLEET": FakeUpstream(name="fleet")})


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
async def test_mapping_through_rest(h: Harness, case: tuple[Any, ...]) -> None:
    _, path, _, up_path, reply, expected = case
    h.fake.expect("GET", up_path, query=[], reply=reply)
    got = await h.rest("GET", path)
    seen = h.fake.only()
    assert (seen.method, seen.raw_path) == ("GET", up_path)
    assert got.status == 200
    assert got.content_type.startswith("application/json")
    assert got.json == expected


# Tools whose output the spec types (an object with properties, arrays): an outputSchema.
TYPED = {"items", "ids", "summary", "ships", "named", "mock-status"}


@pytest.fixture(scope="module")
async def sdk(h: Harness, built: Any) -> AsyncIterator[Any]:
    """An `mcp` client of the same tools served by the official SDK (`--sdk`), with the fakes
    and environment of `h`."""
    from mcp import Client

    async with serve_asgi(built.mcp.create_sdk_app()) as url, Client(url + "/mcp") as client:
        yield client


@pytest.fixture(params=["default", "sdk"])
def mcp(request: pytest.FixtureRequest, h: Harness) -> Any:
    return h.mcp if request.param == "default" else request.getfixturevalue("sdk")


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
async def test_mapping_through_mcp(h: Harness, mcp: Any, case: tuple[Any, ...]) -> None:
    _, _, tool, up_path, reply, expected = case
    h.fake.expect("GET", up_path, query=[], reply=reply)
    result = await mcp.call_tool(tool, {})  # the client checks structuredContent on its schema
    assert h.fake.only().raw_path == up_path
    assert mcp_json(result) == expected  # the text is the value itself, never wrapped
    schema = {t.name: t.output_schema for t in (await mcp.list_tools()).tools}[tool]
    if isinstance(expected, list):
        assert schema is not None and schema["required"] == ["result"], schema
        assert schema["properties"]["result"]["type"] == ["array", "null"]
        assert schema["x-fastmcp-wrap-result"] is True
        assert result.structured_content == {"result": expected}
    elif isinstance(expected, dict):
        assert result.structured_content == expected
    assert (schema is not None) == (tool in TYPED), (tool, schema)
    if schema is not None:
        jsonschema.Draft202012Validator.check_schema(schema)
        jsonschema.Draft202012Validator(schema).validate(result.structured_content)


async def test_array_items_typed_in_output_schema(h: Harness) -> None:
    """The declared item properties reach the schema: a client sees the shape of each ship."""
    tools = {t.name: t for t in (await h.mcp.list_tools()).tools}
    items = tools["ships"].output_schema["properties"]["result"]["items"]
    assert items["type"] == "object"
    assert set(items["properties"]) == {"id", "name", "year", "crew"}
    assert items["properties"]["year"]["type"] == ["integer", "null"]
    assert items["properties"]["crew"]["type"] == ["array", "null"]


async def test_missing_array_is_wrapped_empty(h: Harness, mcp: Any) -> None:
    """A mapping over an array the upstream left out gives [], still wrapped."""
    h.fake.expect("GET", "/fleet", query=[], reply={"total": 0})
    result = await mcp.call_tool("ships", {})
    assert mcp_json(result) == []
    assert result.structured_content == {"result": []}


MOCK = {"status": "ok", "version": 3, "live": True, "echo": 'hello Ann "A"'}


async def test_mock_rest_operation(h: Harness) -> None:
    got = await h.rest("GET", "/mock/Ann%20%22A%22")
    assert (got.status, got.json) == (200, MOCK)
    assert h.fake.requests == []


async def test_mock_mcp_tool(h: Harness) -> None:
    result = await h.tool("mock-status", {"who": 'Ann "A"'})
    assert mcp_json(result) == MOCK
    assert result.structured_content == MOCK
    assert h.fake.requests == []


async def test_upstream_error_is_relayed(h: Harness) -> None:
    h.fake.expect("GET", "/fleet", status=404, reply={"message": "no fleet"})
    got = await h.rest("GET", "/summary")
    assert got.status == 404
    assert got.json == {"message": "no fleet"}
    result = await h.tool("summary")
    assert result.is_error
    assert "404" in mcp_text(result) and "no fleet" in mcp_text(result)
