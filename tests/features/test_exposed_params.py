"""Exposed inputParameters: REST (in query/header/path/body, type, pattern, JSONPath `value`)
and MCP (name, type, description, required default true) → OpenAPI and inputSchema, and
validation (REST 400 / MCP isError naming the parameter)."""

from __future__ import annotations

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

SPEC = FIXTURES / "feat_exposed_params.yaml"
CREATED = {"orderId": "o-1", "status": "placed"}
PATH = "/customers/c-7/orders"


STACK = Stack(SPEC, lambda: {"ORDERS": FakeUpstream(name="orders")})


async def test_rest_inputs_reach_upstream(h: Harness) -> None:
    body = {"sku": "S-1", "quantity": 3, "note": 'say "hi"'}
    h.fake.expect(
        "POST",
        PATH,
        query=[("priority", "2")],
        headers={"X-Tenant-Id": "acme"},
        json_body=body,
        content_type="application/json",
        status=201,
        reply=CREATED,
    )
    got = await h.rest(
        "POST",
        PATH + "?priority=2",
        headers={"X-Tenant": "acme"},
        json_body={"item": {"sku": "S-1", "qty": 3}, "note": 'say "hi"', "ignored": True},
    )
    seen = h.fake.only()
    assert (seen.method, seen.raw_path, seen.query) == ("POST", PATH, [("priority", "2")])
    assert seen.headers.getall("X-Tenant-Id") == ["acme"]
    assert "X-Tenant" not in seen.headers
    assert seen.json == body
    assert (got.status, got.json) == (201, CREATED)


async def test_rest_optional_inputs_absent(h: Harness) -> None:
    h.fake.expect("POST", PATH, status=201, reply=CREATED)
    got = await h.rest("POST", PATH, json_body={"item": {"sku": "S-2"}})
    seen = h.fake.only()
    assert seen.query == []
    assert "X-Tenant-Id" not in seen.headers
    assert seen.json == {"sku": "S-2"}
    assert got.status == 201


@pytest.mark.parametrize(
    ("case", "path", "headers", "body", "name"),
    [
        ("path-pattern", "/customers/x-7/orders", {}, {"item": {"sku": "S"}}, "customerId"),
        ("query-type", PATH + "?priority=high", {}, {"item": {"sku": "S"}}, "priority"),
        ("header-pattern", PATH, {"X-Tenant": "ACME!"}, {"item": {"sku": "S"}}, "X-Tenant"),
        ("body-type", PATH, {}, {"item": {"sku": "S", "qty": "three"}}, "quantity"),
        ("body-jsonpath-type", PATH, {}, {"item": {"sku": 12}}, "sku"),
        ("body-field-type", PATH, {}, {"item": {"sku": "S"}, "note": ["x"]}, "note"),
    ],
)
async def test_rest_validation(
    h: Harness, case: str, path: str, headers: dict[str, str], body: Any, name: str
) -> None:
    got = await h.rest("POST", path, headers=headers, json_body=body)
    assert got.status == 400, (case, got.text)
    assert f"'{name}'" in got.json["error"]
    assert h.fake.requests == []


async def test_rest_invalid_json_body_is_400(h: Harness) -> None:
    got = await h.rest(
        "POST", PATH, data=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert got.status == 400
    assert h.fake.requests == []


async def test_openapi_documents_rest_inputs(h: Harness) -> None:
    doc = (await h.rest("GET", "/openapi.json")).json
    op = doc["paths"]["/customers/{customerId}/orders"]["post"]
    params = {(p["in"], p["name"]): p for p in op["parameters"]}
    assert params[("path", "customerId")] == {
        "name": "customerId",
        "in": "path",
        "required": True,
        "schema": {"type": "string", "pattern": "^c-[0-9]+$"},
        "description": "Customer id (c-<digits>)",
    }
    assert params[("query", "priority")]["schema"] == {"type": "integer"}
    assert params[("query", "priority")]["required"] is False
    assert params[("query", "priority")]["description"] == "Priority, 1 is highest"
    assert params[("header", "X-Tenant")]["schema"] == {"type": "string", "pattern": "^[a-z]+$"}
    assert set(params) == {("path", "customerId"), ("query", "priority"), ("header", "X-Tenant")}
    assert "application/json" in op["requestBody"]["content"]


async def test_openapi_body_schema_follows_jsonpath(h: Harness) -> None:
    """`sku` is read from `$.item.sku` and `quantity` from `$.item.qty`: the documented body
    must have that shape, or clients following the document send fields that are ignored."""
    doc = (await h.rest("GET", "/openapi.json")).json
    op = doc["paths"]["/customers/{customerId}/orders"]["post"]
    schema = op["requestBody"]["content"]["application/json"]["schema"]
    item = schema["properties"]["item"]
    assert item["properties"]["sku"]["type"] == "string"
    assert item["properties"]["qty"]["type"] == "integer"
    assert schema["properties"]["note"]["type"] == "string"


async def test_mcp_input_schema(h: Harness) -> None:
    tools = {t.name: t for t in (await h.mcp.list_tools()).tools}
    schema = tools["place-order"].input_schema
    assert schema["type"] == "object"
    assert schema["properties"] == {
        "customerId": {"type": "string", "description": "Customer id"},
        "sku": {"type": "string", "description": "Stock keeping unit"},
        "quantity": {"type": "integer", "description": "How many"},
        "priority": {"type": "integer", "description": "Priority, 1 is highest"},
        "tenant": {"type": "string", "description": "Tenant slug"},
        "note": {"type": "string", "description": "Free text"},
        "gift": {"type": "boolean", "description": "Gift wrapping"},
        "options": {"type": "object", "description": "Extra options"},
        "ratio": {"type": "number", "description": "A ratio"},
    }
    assert sorted(schema["required"]) == ["customerId", "quantity", "sku"]


async def test_mcp_inputs_reach_upstream(h: Harness) -> None:
    body = {"sku": "S-1", "quantity": 3, "note": "n"}
    h.fake.expect(
        "POST",
        PATH,
        query=[("priority", "1")],
        headers={"X-Tenant-Id": "acme"},
        json_body=body,
        status=201,
        reply=CREATED,
    )
    result = await h.tool(
        "place-order",
        {
            "customerId": "c-7",
            "sku": "S-1",
            "quantity": 3,
            "priority": 1,
            "tenant": "acme",
            "note": "n",
            "gift": True,
            "options": {"a": 1},
            "ratio": 2,
        },
    )
    seen = h.fake.only()
    assert (seen.method, seen.raw_path, seen.query) == ("POST", PATH, [("priority", "1")])
    assert seen.headers.getall("X-Tenant-Id") == ["acme"]
    assert seen.json == body
    assert mcp_json(result) == CREATED


@pytest.mark.parametrize(
    ("case", "args", "name"),
    [
        ("missing-required", {"sku": "S", "quantity": 1}, "customerId"),
        ("missing-required-2", {"customerId": "c-1", "quantity": 1}, "sku"),
        ("integer-type", {"customerId": "c-1", "sku": "S", "quantity": "3"}, "quantity"),
        ("integer-not-bool", {"customerId": "c-1", "sku": "S", "quantity": True}, "quantity"),
        ("integer-not-float", {"customerId": "c-1", "sku": "S", "quantity": 1.5}, "quantity"),
        ("string-type", {"customerId": 7, "sku": "S", "quantity": 1}, "customerId"),
        ("boolean-type", {"customerId": "c-1", "sku": "S", "quantity": 1, "gift": "yes"}, "gift"),
        (
            "object-type",
            {"customerId": "c-1", "sku": "S", "quantity": 1, "options": [1]},
            "options",
        ),
        ("number-type", {"customerId": "c-1", "sku": "S", "quantity": 1, "ratio": "2"}, "ratio"),
    ],
)
async def test_mcp_validation(h: Harness, case: str, args: dict[str, Any], name: str) -> None:
    result = await h.tool("place-order", args)
    assert result.is_error, case
    assert f"'{name}'" in mcp_text(result)
    assert h.fake.requests == []
