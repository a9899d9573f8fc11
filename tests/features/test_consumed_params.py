"""Consumed inputParameters: query (typed, required, omitted when absent, booleans lower-case,
arrays repeated), header, cookie, path, environment, static and Mustache `value`."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.features.upstream import (
    FIXTURES,
    FakeUpstream,
    Harness,
    Stack,
    mcp_json,
    mcp_text,
)

pytestmark = pytest.mark.anyio

SPEC = FIXTURES / "feat_consumed_params.yaml"
REGION = "eu-west-3"
HITS = {"hits": [{"id": "p-1"}], "total": 1}


STACK = Stack(
    SPEC, lambda: {"CATALOG": FakeUpstream(name="catalog")}, env={"DEPLOY_REGION": REGION}
)


def _fixed_headers(seen: Any) -> None:
    assert seen.headers.getall("X-Client") == ["naftiko-features"]
    assert seen.headers.getall("X-Region") == [REGION]


FULL_QUERY = [
    ("q", "hemp rope"),
    ("limit", "5"),
    ("inStock", "true"),
    ("tags", "marine"),
    ("tags", "rope & line"),
    ("lang", "en"),
    ("filter", "name:hemp"),
]


def _without_filter(query: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return sorted(pair for pair in query if pair[0] != "filter")


async def test_rest_full_query_headers_cookie(h: Harness) -> None:
    h.fake.expect("GET", "/search", reply=HITS)
    got = await h.rest(
        "GET",
        "/search?q=hemp%20rope&limit=5&inStock=true&tags=marine&tags=rope%20%26%20line&term=hemp",
        headers={"X-Request-Id": "req-1", "Cookie": "session=s3cr3t"},
    )
    seen = h.fake.only()
    # `filter` (a Mustache value over the caller's `term`) is checked on its own below
    assert _without_filter(seen.query) == _without_filter(FULL_QUERY)
    assert seen.method == "GET" and seen.raw_path == "/search"
    _fixed_headers(seen)
    assert seen.headers.getall("X-Request-Id") == ["req-1"]
    assert seen.cookies == {"session": "s3cr3t"}
    assert seen.body == b""
    assert (got.status, got.json) == (200, HITS)


async def test_mcp_full_query_headers_cookie(h: Harness) -> None:
    h.fake.expect("GET", "/search", query=FULL_QUERY, reply=HITS)
    result = await h.tool(
        "search",
        {
            "q": "hemp rope",
            "limit": 5,
            "inStock": True,
            "tags": ["marine", "rope & line"],
            "term": "hemp",
            "X-Request-Id": "req-2",
            "session": "s3cr3t",
        },
    )
    seen = h.fake.only()
    assert sorted(seen.query) == sorted(FULL_QUERY)
    _fixed_headers(seen)
    assert seen.headers.getall("X-Request-Id") == ["req-2"]
    assert seen.cookies == {"session": "s3cr3t"}
    assert mcp_json(result) == HITS


async def test_rest_absent_optional_params_are_omitted(h: Harness) -> None:
    h.fake.expect("GET", "/search", reply=HITS)
    got = await h.rest("GET", "/search?q=rope&term=hemp")
    seen = h.fake.only()
    assert _without_filter(seen.query) == [("lang", "en"), ("q", "rope")]
    assert "X-Request-Id" not in seen.headers
    assert "Cookie" not in seen.headers
    _fixed_headers(seen)
    assert got.status == 200


async def test_rest_mustache_value_uses_declared_input(h: Harness) -> None:
    """`filter: {value: "name:{{term}}"}` renders against the caller's declared REST input
    `term` (no `with` needed: declared inputs are in the parameter map)."""
    h.fake.expect("GET", "/search", reply=HITS)
    await h.rest("GET", "/search?q=rope&term=hemp")
    assert ("filter", "name:hemp") in h.fake.only().query


async def test_mcp_absent_optional_params_are_omitted(h: Harness) -> None:
    h.fake.expect("GET", "/search", reply=HITS)
    result = await h.tool("search", {"q": "rope", "term": "hemp"})
    seen = h.fake.only()
    assert sorted(seen.query) == sorted([("q", "rope"), ("lang", "en"), ("filter", "name:hemp")])
    assert "X-Request-Id" not in seen.headers
    assert "Cookie" not in seen.headers
    assert mcp_json(result) == HITS


async def test_mcp_null_arguments_are_omitted(h: Harness) -> None:
    h.fake.expect("GET", "/search", reply=HITS)
    result = await h.tool(
        "search",
        {
            "q": "rope",
            "term": "hemp",
            "limit": None,
            "tags": None,
            "X-Request-Id": None,
            "session": None,
        },
    )
    assert not result.is_error, mcp_text(result)
    seen = h.fake.only()
    assert sorted(seen.query) == sorted([("q", "rope"), ("lang", "en"), ("filter", "name:hemp")])
    assert "X-Request-Id" not in seen.headers and "Cookie" not in seen.headers


async def test_undeclared_caller_inputs_are_not_forwarded(h: Harness) -> None:
    """Only declared parameters reach the upstream: not the caller's other query parameters,
    headers (including its Authorization) or cookies."""
    h.fake.expect("GET", "/search", reply=HITS)
    await h.rest(
        "GET",
        "/search?q=rope&term=t&debug=1&lang=fr",
        headers={
            "Authorization": "Bearer caller-token",
            "X-Undeclared": "1",
            "Cookie": "session=s; other=o",
        },
    )
    seen = h.fake.only()
    assert _without_filter(seen.query) == [("lang", "en"), ("q", "rope")]
    assert "Authorization" not in seen.headers and "X-Undeclared" not in seen.headers
    assert seen.cookies == {"session": "s"}
    h.fake.clear()
    await h.tool(
        "search", {"q": "rope", "term": "t", "debug": "1", "lang": "fr", "X-Client": "evil"}
    )
    seen = h.fake.only()
    assert sorted(seen.query) == sorted([("q", "rope"), ("lang", "en"), ("filter", "name:t")])
    assert seen.headers.getall("X-Client") == ["naftiko-features"]


@pytest.mark.parametrize("flag", [True, False])
async def test_booleans_are_lower_case(h: Harness, flag: bool) -> None:
    text = "true" if flag else "false"
    h.fake.expect("GET", "/search", reply=HITS)
    await h.rest("GET", f"/search?q=x&term=y&inStock={text}")
    assert ("inStock", text) in h.fake.only().query
    h.fake.clear()
    result = await h.tool("search", {"q": "x", "term": "y", "inStock": flag})
    assert not result.is_error, mcp_text(result)
    assert ("inStock", text) in h.fake.only().query


async def test_required_query_param_is_enforced(h: Harness) -> None:
    h.fake.expect("GET", "/search", reply=HITS)
    got = await h.rest("GET", "/search?term=hemp")
    assert got.status == 400
    assert "'q'" in got.json["error"]
    result = await h.tool("search", {"term": "hemp"})
    assert result.is_error
    assert "'q'" in mcp_text(result)
    assert h.fake.requests == []


async def test_query_types_are_validated(h: Harness) -> None:
    got = await h.rest("GET", "/search?q=x&term=y&limit=lots")
    assert got.status == 400 and "'limit'" in got.json["error"]
    result = await h.tool("search", {"q": "x", "term": "y", "limit": "lots"})
    assert result.is_error and "'limit'" in mcp_text(result)
    result = await h.tool("search", {"q": "x", "term": "y", "tags": "not-a-list"})
    assert result.is_error and "'tags'" in mcp_text(result)
    assert h.fake.requests == []


async def test_mcp_input_schema_from_consumed_params(h: Harness) -> None:
    tools = {t.name: t for t in (await h.mcp.list_tools()).tools}
    schema = tools["search"].input_schema
    props = schema["properties"]
    assert props["q"] == {"type": "string", "description": "Search text"}
    assert props["limit"] == {"type": "integer", "description": "Maximum number of results"}
    assert props["inStock"] == {"type": "boolean", "description": "Only products in stock"}
    assert props["tags"]["type"] == "array"
    assert props["X-Request-Id"] == {"type": "string", "description": "Correlation id"}
    assert props["session"] == {"type": "string", "description": "Session cookie"}
    assert props["term"] == {"type": "string", "description": "Name filter"}
    # fixed-value and environment parameters are not caller inputs
    assert not {"lang", "filter", "X-Client", "X-Region", "DEPLOY_REGION"} & set(props)
    assert "q" in schema["required"]
    assert not {"limit", "inStock", "tags", "X-Request-Id", "session"} & set(schema["required"])
    product = tools["get-product"].input_schema
    assert product["properties"]["productId"]["type"] == "string"
    assert product["required"] == ["productId"]


async def test_openapi_lists_consumed_params(h: Harness) -> None:
    doc = (await h.rest("GET", "/openapi.json")).json
    params = {(p["in"], p["name"]): p for p in doc["paths"]["/search"]["get"]["parameters"]}
    assert params[("query", "q")]["required"] is True
    assert params[("query", "q")]["schema"] == {"type": "string"}
    assert params[("query", "limit")]["schema"] == {"type": "integer"}
    assert params[("query", "limit")]["required"] is False
    assert params[("query", "inStock")]["schema"] == {"type": "boolean"}
    assert params[("query", "tags")]["schema"]["type"] == "array"
    assert ("header", "X-Request-Id") in params
    assert ("cookie", "session") in params
    assert ("query", "term") in params
    assert not {n for _, n in params} & {"lang", "filter", "X-Client", "X-Region", "DEPLOY_REGION"}
    (path_param,) = doc["paths"]["/products/{productId}"]["get"]["parameters"]
    assert {k: path_param[k] for k in ("name", "in", "required", "schema")} == {
        "name": "productId",
        "in": "path",
        "required": True,
        "schema": {"type": "string"},
    }


async def test_consumed_path_param_description_is_documented(h: Harness) -> None:
    """The consumed `productId` (in: path) has a description; the exposed path placeholder
    that feeds it is undeclared, so its docs should come from the consumed parameter."""
    tools = {t.name: t for t in (await h.mcp.list_tools()).tools}
    assert tools["get-product"].input_schema["properties"]["productId"] == {
        "type": "string",
        "description": "Product id",
    }
    doc = (await h.rest("GET", "/openapi.json")).json
    (path_param,) = doc["paths"]["/products/{productId}"]["get"]["parameters"]
    assert path_param.get("description") == "Product id"


async def test_path_param_rest_and_mcp(h: Harness) -> None:
    product = {"id": "p 1/x", "name": "cleat"}
    h.fake.expect("GET", "/products/p-77", query=[], reply={"id": "p-77"})
    got = await h.rest("GET", "/products/p-77")
    seen = h.fake.only()
    assert (seen.method, seen.raw_path, seen.query_string) == ("GET", "/products/p-77", "")
    _fixed_headers(seen)
    assert got.json == {"id": "p-77"}

    h.reset()
    h.fake.expect("GET", "/products/p%201%2Fx", query=[], reply=product)
    result = await h.tool("get-product", {"productId": "p 1/x"})
    assert h.fake.only().raw_path == "/products/p%201%2Fx"
    assert mcp_json(result) == product


async def test_environment_param_read_at_call_time(
    h: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEPLOY_REGION", "ap-south-1")
    h.fake.expect("GET", "/products/p-1", reply={"id": "p-1"})
    result = await h.tool("get-product", {"productId": "p-1"})
    assert json.loads(mcp_text(result)) == {"id": "p-1"}
    assert h.fake.only().headers.getall("X-Region") == ["ap-south-1"]


async def test_cookie_value_sent_verbatim(h: Harness) -> None:
    """A base64 session value is made of valid cookie octets ('+', '/', '=' included,
    RFC 6265): it must reach the upstream unchanged, not percent-encoded."""
    token = "dG9rZW4+/w=="
    h.fake.expect("GET", "/search", reply=HITS)
    await h.rest("GET", "/search?q=a&term=b", headers={"Cookie": f"session={token}"})
    assert h.fake.only().headers.getall("Cookie") == [f"session={token}"]
    h.fake.clear()
    await h.tool("search", {"q": "a", "term": "b", "session": token})
    assert h.fake.only().headers.getall("Cookie") == [f"session={token}"]


async def test_header_value_with_newline_is_an_input_error(h: Harness) -> None:
    """A caller-supplied header value containing CR/LF is invalid input: a tool error naming
    the parameter (not a JSON-RPC internal error), and nothing is sent upstream."""
    h.fake.expect("GET", "/search", reply=HITS)
    result = await h.tool(
        "search", {"q": "a", "term": "b", "X-Request-Id": "r-1\r\nX-Evil: injected"}
    )
    assert result.is_error
    assert "X-Request-Id" in mcp_text(result)
    assert h.fake.requests == []
