"""GET, POST, PUT, PATCH and DELETE reach the upstream with the right method, path and body,
through REST and through MCP, and the caller gets the upstream answer unchanged."""

from __future__ import annotations

from typing import Any

import pytest

from tests.features.upstream import (
    FIXTURES,
    FakeUpstream,
    Harness,
    Seen,
    Stack,
    mcp_json,
)

pytestmark = pytest.mark.anyio

SPEC = FIXTURES / "feat_methods.yaml"
ITEM = {"name": "anchor chain", "qty": 3, "tags": ["steel", "heavy"], "meta": {"ok": True}}

# (case, exposed method, exposed path, tool, tool args, upstream method, upstream raw path,
#  body sent by caller / expected upstream JSON body or None, upstream status, upstream reply)
CASES: list[tuple[str, str, str, str, dict[str, Any], str, str, Any, int, Any]] = [
    (
        "get-list",
        "GET",
        "/items",
        "list-items",
        {},
        "GET",
        "/api/v2/items",
        None,
        200,
        {"items": [{"id": "i-1"}, {"id": "i-2"}]},
    ),
    (
        "post",
        "POST",
        "/items",
        "create-item",
        {"body": ITEM},
        "POST",
        "/api/v2/items",
        ITEM,
        201,
        {"id": "i-9", **ITEM},
    ),
    (
        "get-one",
        "GET",
        "/items/i-42",
        "get-item",
        {"itemId": "i-42"},
        "GET",
        "/api/v2/items/i-42",
        None,
        200,
        {"id": "i-42", "name": "buoy"},
    ),
    (
        "put",
        "PUT",
        "/items/i-42",
        "replace-item",
        {"itemId": "i-42", "body": ITEM},
        "PUT",
        "/api/v2/items/i-42",
        ITEM,
        200,
        {"id": "i-42", **ITEM},
    ),
    (
        "patch",
        "PATCH",
        "/items/i-42",
        "patch-item",
        {"itemId": "i-42", "body": {"qty": 4}},
        "PATCH",
        "/api/v2/items/i-42",
        {"qty": 4},
        200,
        {"id": "i-42", "qty": 4},
    ),
    (
        "delete",
        "DELETE",
        "/items/i-42",
        "delete-item",
        {"itemId": "i-42"},
        "DELETE",
        "/api/v2/items/i-42",
        None,
        202,
        {"deleted": "i-42"},
    ),
]


STACK = Stack(
    SPEC, lambda: {"STORE": FakeUpstream(name="store")}, base_paths={"STORE": "/api/v2"}
)


def _expect(fake: FakeUpstream, method: str, path: str, body: Any, status: int, reply: Any) -> None:
    if body is None:
        fake.expect(method, path, query=[], no_body=True, status=status, reply=reply)
    else:
        fake.expect(
            method,
            path,
            query=[],
            json_body=body,
            content_type="application/json",
            status=status,
            reply=reply,
        )


def _check(seen: Seen, method: str, path: str, body: Any) -> None:
    assert seen.method == method
    assert seen.raw_path == path
    assert seen.query_string == ""
    if body is None:
        assert seen.body == b""
        assert "Content-Type" not in seen.headers
    else:
        assert seen.json == body
        assert seen.content_type.startswith("application/json")


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
async def test_method_through_rest(case: tuple[Any, ...], h: Harness) -> None:
    _, method, path, _, _, up_method, up_path, body, status, reply = case
    _expect(h.fake, up_method, up_path, body, status, reply)
    got = await h.rest(method, path, **({"json_body": body} if body is not None else {}))
    _check(h.fake.only(), up_method, up_path, body)
    assert got.status == status
    assert got.content_type.startswith("application/json")
    assert got.json == reply


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
async def test_method_through_mcp(case: tuple[Any, ...], h: Harness) -> None:
    _, _, _, tool, args, up_method, up_path, body, status, reply = case
    _expect(h.fake, up_method, up_path, body, status, reply)
    result = await h.tool(tool, args)
    _check(h.fake.only(), up_method, up_path, body)
    assert mcp_json(result) == reply
    assert result.structured_content == reply


async def test_mcp_tools_listed_for_every_method(h: Harness) -> None:
    tools = {t.name: t for t in (await h.mcp.list_tools()).tools}
    assert set(tools) == {
        "list-items",
        "create-item",
        "get-item",
        "replace-item",
        "patch-item",
        "delete-item",
    }
    assert tools["replace-item"].input_schema["required"] == ["itemId", "body"]
    assert tools["list-items"].input_schema.get("required", []) == []


async def test_wrong_method_on_rest_path_is_rejected(h: Harness) -> None:
    got = await h.rest("PATCH", "/items")
    assert got.status == 405
    assert h.fake.requests == []
