"""Dialects of real-world specs (#8): one fixture spec per dialect in
tests/fixtures/features/dialects/, each built (its rule id reported at the dialect's line) and
driven through REST and MCP against the validating fake upstream, asserting the exact upstream
request. Plus the `with: {apiTokenId: rest.apiTokenId}` path-placeholder bug (names matching
ignoring case)."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from naftiko_gen.codegen import generate
from tests.features.upstream import (
    FIXTURES,
    Bearer,
    FakeUpstream,
    Harness,
    build_package,
    harness,
    mcp_json,
    mcp_text,
    run_fake,
)

pytestmark = pytest.mark.anyio

DIALECTS = FIXTURES / "dialects"


def rules_of(spec: Path) -> list[tuple[str, int]]:
    """(rule, line) of every diagnostic building the spec reports (it has no errors)."""
    result = generate([spec], Path("/nonexistent-out"))
    assert not result.report.errors, [d.format() for d in result.report.errors]
    return [(d.rule, d.pos.line) for d in result.report.items]


def line_of(spec: Path, needle: str, first: bool = False) -> int:
    """The line holding `needle` (a whole stripped line, else the one line containing it)."""
    lines = spec.read_text().splitlines()
    exact = [i + 1 for i, t in enumerate(lines) if t.strip() == needle]
    found = exact or [i + 1 for i, t in enumerate(lines) if needle in t]
    assert first or len(found) == 1, (needle, found)
    return found[0]


@asynccontextmanager
async def running(
    spec: Path, tmp_path: Path, fake: FakeUpstream | None = None, **kwargs: Any
) -> AsyncIterator[Harness]:
    built = build_package(spec, tmp_path / "out")
    async with harness(built, {"UP": fake or FakeUpstream(name="up")}, **kwargs) as h:
        yield h


async def both(
    h: Harness, rest: tuple[str, str], tool: tuple[str, dict[str, Any]], **rest_kwargs: Any
) -> tuple[Any, Any]:
    """Call the REST route, then the tool; each must reach the upstream exactly once."""
    got = await h.rest(*rest, **rest_kwargs)
    first = h.fake.only()
    assert got.status < 400, (got.status, got.body)
    h.fake.clear()
    result = await h.tool(*tool)
    second = h.fake.only()
    assert not result.is_error, mcp_text(result)
    for seen in (first, second):
        assert not seen.problems, seen.problems
    return first, second


# -- dialects already read (id, path, query string, auth key, body types, json, in, secrets, ...) --


async def test_operation_id(tmp_path: Path) -> None:
    spec = DIALECTS / "operation_id.yaml"
    assert ("naftiko-dialect-operation-id", line_of(spec, "- id: fetch-item")) in rules_of(spec)
    async with running(spec, tmp_path) as h:
        h.fake.expect("GET", "/items/7", query=[], no_body=True, reply={"id": 7})
        for seen in await both(h, ("GET", "/items/7"), ("fetch-item", {"id": "7"})):
            assert (seen.method, seen.raw_path, seen.query_string) == ("GET", "/items/7", "")


async def test_operation_path(tmp_path: Path) -> None:
    spec = DIALECTS / "operation_path.yaml"
    assert ("naftiko-dialect-operation-path", line_of(spec, 'path: "/{{id}}')) in rules_of(spec)
    async with running(spec, tmp_path) as h:
        h.fake.expect("POST", "/items/7/archive", query=[], reply={"ok": True})
        for seen in await both(h, ("POST", "/items/7/archive"), ("archive-item", {"id": "7"})):
            assert (seen.method, seen.raw_path, seen.query_string) == (
                "POST",
                "/items/7/archive",
                "",
            )


async def test_path_query(tmp_path: Path) -> None:
    spec = DIALECTS / "path_query.yaml"
    assert ("naftiko-dialect-path-query", line_of(spec, "/search?type")) in rules_of(spec)
    async with running(spec, tmp_path) as h:
        h.fake.expect("GET", "/search", no_body=True, reply=[])
        for seen in await both(h, ("GET", "/search"), ("search-all", {})):
            assert (seen.raw_path, seen.query) == ("/search", [("type", "all"), ("sort", "new")])


async def test_auth_key(tmp_path: Path) -> None:
    spec = DIALECTS / "auth_key.yaml"
    assert ("naftiko-dialect-auth-key", line_of(spec, "auth:")) in rules_of(spec)
    fake = FakeUpstream(auth=Bearer("t-123"), name="up")
    async with running(spec, tmp_path, fake, env={"UP_TOKEN": "t-123"}) as h:
        h.fake.expect("GET", "/me", reply={"me": 1})
        for seen in await both(h, ("GET", "/me"), ("get-me", {})):
            assert seen.headers["Authorization"] == "Bearer t-123"


async def test_body_type_form_and_multipart(tmp_path: Path) -> None:
    spec = DIALECTS / "body_type.yaml"
    found = rules_of(spec)
    assert ("naftiko-dialect-body-type", line_of(spec, "type: form")) in found
    assert ("naftiko-dialect-body-type", line_of(spec, "type: multipart")) in found
    async with running(spec, tmp_path) as h:
        form = [("grant_type", "client_credentials"), ("scope", "read write")]
        h.fake.expect("POST", "/token", form_body=form, reply={"token": "x"})
        for seen in await both(
            h, ("POST", "/token"), ("get-token", {"scope": "read write"}),
            params={"scope": "read write"},
        ):  # fmt: skip
            assert seen.content_type.startswith("application/x-www-form-urlencoded")
            assert seen.form == form
        h.fake.clear()
        h.fake.expect("POST", "/upload", content_type="multipart/form-data", reply={})
        for seen in await both(
            h, ("POST", "/upload"), ("upload-note", {"title": "Notes"}), params={"title": "Notes"}
        ):
            assert [(p["name"], p["value"]) for p in seen.multipart()] == [("title", "Notes")]


async def test_param_type_json(tmp_path: Path) -> None:
    spec = DIALECTS / "param_type.yaml"
    assert [r for r in rules_of(spec) if r[0] == "naftiko-dialect-param-type"]
    meta = {"tags": ["a", 1, None], "deep": {"x": True}}
    async with running(spec, tmp_path) as h:
        h.fake.expect("POST", "/items", json_body={"meta": meta}, reply={"id": 1})
        for seen in await both(
            h, ("POST", "/items"), ("create-item", {"meta": meta}), json_body={"meta": meta}
        ):
            assert seen.json == {"meta": meta}


async def test_param_without_in_is_query(tmp_path: Path) -> None:
    spec = DIALECTS / "param_in.yaml"
    assert (
        "naftiko-dialect-param-in",
        line_of(spec, "type: string, description: Status filter}", first=True),
    ) in rules_of(spec)
    async with running(spec, tmp_path) as h:
        h.fake.expect("GET", "/items", query=[("status", "open")], no_body=True, reply=[])
        for seen in await both(
            h, ("GET", "/items?status=open"), ("list-items", {"status": "open"})
        ):
            assert seen.query == [("status", "open")]


async def test_secret_without_bind_is_env(tmp_path: Path) -> None:
    spec = DIALECTS / "secret_env.yaml"
    assert ("naftiko-dialect-secret-env", line_of(spec, 'token: "{{UP_SECRET_KEY}}"')) in rules_of(
        spec
    )
    fake = FakeUpstream(auth=Bearer("s-9"), name="up")
    async with running(spec, tmp_path, fake, env={"UP_SECRET_KEY": "s-9"}) as h:
        h.fake.expect("GET", "/me", reply={})
        for seen in await both(h, ("GET", "/me"), ("get-me", {})):
            assert seen.headers["Authorization"] == "Bearer s-9"


async def test_unfilled_path_param_is_required_input(tmp_path: Path) -> None:
    spec = DIALECTS / "path_param_input.yaml"
    assert [r for r in rules_of(spec) if r[0] == "naftiko-dialect-path-param-input"]
    async with running(spec, tmp_path) as h:
        h.fake.expect("GET", "/items/i-4", query=[], reply={"id": "i-4"})
        for seen in await both(h, ("GET", "/item?itemId=i-4"), ("get-item", {"itemId": "i-4"})):
            assert (seen.raw_path, seen.query_string) == ("/items/i-4", "")
        h.fake.clear()
        missing = await h.rest("GET", "/item")
        assert missing.status == 400 and "itemId" in missing.text
        assert not h.fake.requests


# -- dialects built here ------------------------------------------------------------------------


async def test_baseuri_from_environment(tmp_path: Path) -> None:
    spec = DIALECTS / "baseuri_env.yaml"
    found = rules_of(spec)
    for needle in ("{{SNOWFLAKE", "{{env.SALESFORCE", "{organization}"):
        assert ("naftiko-dialect-baseuri-env", line_of(spec, needle)) in found
    built = build_package(spec, tmp_path / "out")
    fake = FakeUpstream(name="all")
    async with run_fake(fake):
        env = {
            "SNOWFLAKE_ACCOUNT_URL": fake.base_url,
            "SALESFORCE_INSTANCE_URL": fake.base_url + "/sf",
            "ADO_ROOT": fake.base_url,
            "ORGANIZATION": "acme",
        }
        async with harness(built, {}, env=env) as h:
            h.fakes = {"ALL": fake}
            cases = [
                ("/statements", "list-statements", "/api/v2/statements"),
                ("/limits", "get-limits", "/sf/services/data/v59.0/limits"),
                ("/projects", "list-projects", "/acme/_apis/projects"),
            ]
            for rest_path, tool, upstream_path in cases:
                fake.expect("GET", upstream_path, query=[], reply={"at": upstream_path})
                for seen in await both(h, ("GET", rest_path), (tool, {})):
                    assert (seen.method, seen.raw_path) == ("GET", upstream_path)
                fake.clear()


def test_baseuri_variable_missing_stops_startup(tmp_path: Path) -> None:
    built = build_package(DIALECTS / "baseuri_env.yaml", tmp_path / "out")
    assert built.rest is not None
    config = __import__(f"{built.package}._config", fromlist=["load_config"])
    upstream = __import__(f"{built.package}.upstream", fromlist=["UPSTREAMS"])
    environ = {"SNOWFLAKE_ACCOUNT_URL": "https://snow.example", "ADO_ROOT": "https://dev.example"}
    with pytest.raises(config.ConfigError, match=r"^SALESFORCE_INSTANCE_URL is not set"):
        config.load_config(upstream.UPSTREAMS.values(), {}, environ)
    environ["SALESFORCE_INSTANCE_URL"] = "https://sf.example"
    with pytest.raises(config.ConfigError, match=r"^ORGANIZATION is not set"):
        config.load_config(upstream.UPSTREAMS.values(), {}, environ)
    environ |= {"ORGANIZATION": "acme", "ADO_BASE_URL": "https://override.example/x"}
    got = config.load_config(upstream.UPSTREAMS.values(), {}, environ).upstreams
    assert got["ado"].base_url == "https://override.example/x"  # <NS>_BASE_URL still wins
    assert got["sf"].base_url == "https://sf.example/services/data/v59.0"


async def test_rest_path_percent_encoded(tmp_path: Path) -> None:
    spec = DIALECTS / "rest_path_encoded.yaml"
    found = rules_of(spec)
    assert ("naftiko-dialect-rest-path-encoded", line_of(spec, "/price list/")) in found
    assert ("naftiko-dialect-rest-path-encoded", line_of(spec, "/cafés")) in found
    async with running(spec, tmp_path) as h:
        h.fake.expect("GET", "/prices/p%201", query=[], reply={"price": 3})
        for seen in await both(h, ("GET", "/price%20list/p%201"), ("get-price", {"id": "p 1"})):
            assert seen.raw_path == "/prices/p%201"
        h.fake.clear()
        h.fake.expect("GET", "/cafes", query=[], reply=[])
        got = await h.rest("GET", "/caf%C3%A9s")
        assert got.status == 200 and h.fake.only().raw_path == "/cafes"
        doc = (await h.rest("GET", "/openapi.json")).json
        assert set(doc["paths"]) == {"/price%20list/{id}", "/caf%C3%A9s"}


async def test_head_and_options(tmp_path: Path) -> None:
    spec = DIALECTS / "method.yaml"
    notes = [r for r in rules_of(spec) if r[0] == "naftiko-dialect-method"]
    assert len(notes) == 4
    async with running(spec, tmp_path) as h:
        for method, tool in (("HEAD", "head-item"), ("OPTIONS", "options-item")):
            h.fake.expect(method, "/items/7", query=[], no_body=True, reply={})
            for seen in await both(h, (method, "/items/7"), (tool, {"id": "7"})):
                assert (seen.method, seen.raw_path) == (method, "/items/7")
            h.fake.clear()
        h.fake.expect("GET", "/items/7", query=[], reply={"id": 7})
        got = await h.rest("GET", "/items/7")
        assert (got.status, got.json, h.fake.only().method) == (200, {"id": 7}, "GET")
        doc = (await h.rest("GET", "/openapi.json")).json
        assert set(doc["paths"]["/items/{id}"]) == {"head", "options", "get"}


async def test_consumes_namespace_twice(tmp_path: Path) -> None:
    spec = DIALECTS / "consumes_twice.yaml"
    found = rules_of(spec)
    second = [i + 1 for i, t in enumerate(spec.read_text().splitlines()) if "namespace: up" in t][1]
    assert ("naftiko-dialect-consumes-twice", second) in found
    assert ("naftiko-operation-skipped", line_of(spec, "call: up.list-orders")) in found
    async with running(spec, tmp_path) as h:
        h.fake.expect("GET", "/items", query=[], reply=[1])
        for seen in await both(h, ("GET", "/items"), ("list-items", {})):
            assert seen.raw_path == "/items"  # the first declaration's path, not /v2/items
        assert (await h.rest("GET", "/orders")).status == 404


def test_mcp_default_port(tmp_path: Path) -> None:
    spec = DIALECTS / "mcp_default_port.yaml"
    assert ("naftiko-dialect-mcp-default-port", line_of(spec, "- type: mcp")) in rules_of(spec)
    built = build_package(spec, tmp_path / "out", rest=False)
    assert built.mcp is not None and built.mcp.DEFAULT_PORT == 9091  # 9090 is the REST adapter's


async def test_call_without_operation_is_skipped(tmp_path: Path) -> None:
    spec = DIALECTS / "call_no_operation.yaml"
    found = rules_of(spec)
    assert ("naftiko-operation-skipped", line_of(spec, "call: up")) in found
    assert ("naftiko-operation-skipped", line_of(spec, 'call: ""')) in found
    async with running(spec, tmp_path) as h:
        assert (await h.rest("POST", "/items")).status == 405
        assert [t.name for t in (await h.mcp.list_tools()).tools] == ["list-items"]
        h.fake.expect("GET", "/items", query=[], reply=[])
        await both(h, ("GET", "/items"), ("list-items", {}))


async def test_body_binary(tmp_path: Path) -> None:
    spec = DIALECTS / "body_binary.yaml"
    assert ("naftiko-dialect-body-binary", line_of(spec, "type: binary")) in rules_of(spec)
    png = b"\x89PNG\r\n\x1a\n\x00\xff{not json}\r\n"
    async with running(spec, tmp_path) as h:
        h.fake.expect("PUT", "/images/cat", query=[], content_type="image/png", reply={"ok": 1})
        rest, tool = await both(
            h, ("PUT", "/images/cat"),
            ("put-image", {"name": "cat", "body": base64.b64encode(png).decode(),
                           "contentType": "image/png"}),
            data=png, headers={"Content-Type": "image/png"},
        )  # fmt: skip
        for seen in (rest, tool):
            assert (seen.body, seen.content_type) == (png, "image/png")
        h.fake.clear()
        # MCP without contentType: application/octet-stream
        h.fake.expect("PUT", "/images/cat", content_type="application/octet-stream", reply={})
        result = await h.tool("put-image", {"name": "cat", "body": base64.b64encode(png).decode()})
        assert not result.is_error and h.fake.only().body == png
        h.fake.clear()
        # a web page of another origin: refused before any handler, nothing upstream
        evil = {"Content-Type": "image/png", "Origin": "http://evil.example"}
        refused = await h.rest("PUT", "/images/cat", data=png, headers=evil)
        assert refused.status == 403 and not h.fake.requests
        # invalid base64: an error naming the argument, nothing upstream
        bad = await h.tool("put-image", {"name": "cat", "body": "not base64!"})
        assert bad.is_error and "'body'" in mcp_text(bad) and not h.fake.requests
        tools = {t.name: t for t in (await h.mcp.list_tools()).tools}
        assert tools["put-image"].input_schema["properties"]["body"]["contentEncoding"] == "base64"
        assert tools["put-image"].input_schema["required"] == ["name", "body"]
        doc = (await h.rest("GET", "/openapi.json")).json
        assert doc["paths"]["/images/{name}"]["put"]["requestBody"]["content"] == {"*/*": {}}


def test_nothing_exposed_says_what_to_add() -> None:
    spec = FIXTURES.parent / "invalid" / "naftiko-exposes-required--no-exposes.yaml"
    result = generate([spec], Path("/nonexistent-out"))
    [error] = result.report.errors
    assert error.rule == "naftiko-exposes-required"
    assert "add a 'rest' or 'mcp' adapter under 'exposes'" in error.message


# -- the bug: a `with` value read from a path placeholder whose name differs in case -----------


async def test_with_reads_path_placeholder_ignoring_case(tmp_path: Path) -> None:
    spec = FIXTURES / "feat_with_path_case.yaml"
    async with running(spec, tmp_path) as h:
        path = "/organization/org-1/apiToken/tok-2"
        h.fake.expect("GET", path, query=[], no_body=True, reply={"id": "tok-2"})
        got = await h.rest("GET", "/v1/organization/org-1/apitoken/tok-2")
        assert (got.status, got.json) == (200, {"id": "tok-2"})
        seen = h.fake.only()
        assert (seen.raw_path, seen.query_string) == (path, "")
        h.fake.clear()
        result = await h.tool("get-token", {"organizationId": "org-1", "apiTokenId": "tok-2"})
        assert mcp_json(result) == {"id": "tok-2"}
        assert h.fake.only().raw_path == path
