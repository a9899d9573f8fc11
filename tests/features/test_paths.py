"""Placeholders in consumed paths: {{tools.user_id}}, {{id}} and single-brace {id}; each value
is one percent-encoded path segment."""

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

SPEC = FIXTURES / "feat_paths.yaml"

# (case, REST path, tool, tool args, upstream raw path)
CASES: list[tuple[str, str, str, dict[str, Any], str]] = [
    ("tools-prefixed", "/users/u-1", "get-user", {"user_id": "u-1"}, "/v1/users/u-1"),
    ("mustache", "/orgs/acme/teams", "list-teams", {"id": "acme"}, "/v1/orgs/acme/teams"),
    (
        "single-brace",
        "/orgs/acme/teams/blue/members",
        "list-members",
        {"org": "acme", "team": "blue"},
        "/v1/orgs/acme/teams/blue/members",
    ),
    (
        "suffix-after-placeholder",
        "/avatars/u-9",
        "get-avatar",
        {"user": "u-9"},
        "/v1/users/u-9/avatar.png",
    ),
]


STACK = Stack(
    SPEC, lambda: {"PEOPLE": FakeUpstream(name="people")}, base_paths={"PEOPLE": "/v1"}
)


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
async def test_path_placeholders(case: tuple[Any, ...], h: Harness) -> None:
    _, rest_path, tool, args, upstream_path = case
    reply = {"path": upstream_path}
    h.fake.expect("GET", upstream_path, query=[], no_body=True, reply=reply)
    got = await h.rest("GET", rest_path)
    seen = h.fake.only()
    assert (seen.method, seen.raw_path, seen.query_string) == ("GET", upstream_path, "")
    assert (got.status, got.json) == (200, reply)
    h.fake.clear()
    result = await h.tool(tool, args)
    seen = h.fake.only()
    assert (seen.method, seen.raw_path, seen.query_string) == ("GET", upstream_path, "")
    assert mcp_json(result) == reply


async def test_mcp_schema_names_path_params(h: Harness) -> None:
    tools = {t.name: t for t in (await h.mcp.list_tools()).tools}
    assert tools["get-user"].input_schema["required"] == ["user_id"]
    assert tools["list-teams"].input_schema["required"] == ["id"]
    assert sorted(tools["list-members"].input_schema["required"]) == ["org", "team"]
    assert tools["get-avatar"].input_schema["properties"] == {"user": {"type": "string"}}


@pytest.mark.parametrize(
    ("value", "encoded"),
    [
        ("a b/c", "a%20b%2Fc"),
        ("x?y#z", "x%3Fy%23z"),
        ("..", "%2E%2E"),
        ("100%", "100%25"),
        ("é", "%C3%A9"),
    ],
)
async def test_values_are_encoded_as_one_segment(h: Harness, value: str, encoded: str) -> None:
    path = f"/v1/users/{encoded}"
    h.fake.expect("GET", path, reply={"ok": True})
    result = await h.tool("get-user", {"user_id": value})
    assert h.fake.only().raw_path == path
    assert mcp_json(result) == {"ok": True}


async def test_rest_encoded_segment_is_forwarded_encoded(h: Harness) -> None:
    h.fake.expect("GET", "/v1/orgs/a%20b/teams", reply={"ok": True})
    got = await h.rest("GET", "/orgs/a%20b/teams")
    assert h.fake.only().raw_path == "/v1/orgs/a%20b/teams"
    assert got.json == {"ok": True}


async def test_missing_path_value_is_an_input_error(h: Harness) -> None:
    result = await h.tool("list-teams", {})
    assert result.is_error
    assert "'id'" in mcp_text(result)
    result = await h.tool("get-user", {"user_id": ""})
    assert result.is_error
    assert h.fake.requests == []


async def test_rest_encoded_slash_stays_in_one_segment(h: Harness) -> None:
    h.fake.expect("GET", "/v1/users/team%2Fa", reply={"ok": True})
    got = await h.rest("GET", "/users/team%2Fa")
    assert h.fake.only().raw_path == "/v1/users/team%2Fa"
    assert (got.status, got.json) == (200, {"ok": True})
