"""Degrade per part (#22 item 1): each fixture in tests/fixtures/versions/degrade_*.yaml has one
part that cannot be built as written. It is adapted or skipped with a located warning naming the
original rule, the rest is built, and both generated servers are started on 127.0.0.1 and called
through REST and MCP against a recording fake upstream. `validate --strict` still fails on each;
a spec with nothing left to serve is refused with the original errors."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from naftiko_gen.cli import cli
from naftiko_gen.codegen import generate
from naftiko_gen.degrade import SKIPPED
from naftiko_gen.diagnostics import Diagnostic
from tests.features.upstream import (
    ApiKeyHeader,
    Bearer,
    FakeUpstream,
    Harness,
    build_package,
    harness,
    mcp_text,
    run_fake,
    serve_mcp,
    serve_rest,
)
from tests.support import FIXTURES

pytestmark = pytest.mark.anyio

VERSIONS = FIXTURES / "versions"


def diagnostics(spec: Path) -> list[Diagnostic]:
    result = generate([spec], Path("/nonexistent-out"))
    assert not result.report.errors, [d.format() for d in result.report.errors]
    return result.report.items


def lines_of(spec: Path, needle: str) -> list[int]:
    return [i + 1 for i, t in enumerate(spec.read_text().splitlines()) if needle in t]


def line_of(spec: Path, needle: str) -> int:
    found = lines_of(spec, needle)
    assert len(found) == 1, (needle, found)
    return found[0]


def strict_fails(spec: Path) -> None:
    result = CliRunner().invoke(cli, ["validate", "--strict", str(spec)], catch_exceptions=False)
    assert result.exit_code != 0, result.output


async def both(
    h: Harness, rest: tuple[str, str], tool: tuple[str, dict[str, Any]], **kw: Any
) -> list[Any]:
    """The REST route, then the tool: each reaches the upstream exactly once; what it saw."""
    got = await h.rest(*rest, **kw)
    assert got.status == 200, (got.status, got.body)
    first = h.fake.only()
    h.fake.clear()
    result = await h.tool(*tool)
    assert not result.is_error, mcp_text(result)
    second = h.fake.only()
    for seen in (first, second):
        assert not seen.problems, seen.problems
    return [first, second]


async def test_apikey_without_key_and_value_reads_the_environment(tmp_path: Path) -> None:
    spec = VERSIONS / "degrade_apikey_env.yaml"
    warned = [d for d in diagnostics(spec) if d.rule == "naftiko-auth-from-env"]
    assert [(d.pos.line, "[naftiko-auth-incomplete]" in d.message) for d in warned] == [
        (line_of(spec, "type: apikey"), True)
    ] * 2
    assert {"UP_API_KEY_NAME", "UP_API_KEY"} == {
        w for d in warned for w in ("UP_API_KEY_NAME", "UP_API_KEY") if f" {w} " in d.message
    }
    strict_fails(spec)
    built = build_package(spec, tmp_path / "out")
    fake = FakeUpstream(auth=ApiKeyHeader("X-Team-Key", "k-123"), name="up")
    env = {"UP_API_KEY_NAME": "X-Team-Key", "UP_API_KEY": "k-123"}
    async with harness(built, {"UP": fake}, env=env) as h:
        h.fake.expect("GET", "/items", headers={"X-Team-Key": "k-123"}, reply=[{"id": 1}])
        for seen in await both(h, ("GET", "/items"), ("list-items", {})):
            assert (seen.raw_path, seen.headers["X-Team-Key"]) == ("/items", "k-123")


async def test_bearer_without_token_reads_the_environment(tmp_path: Path) -> None:
    spec = VERSIONS / "degrade_bearer_env.yaml"
    warned = [d for d in diagnostics(spec) if d.rule == "naftiko-auth-from-env"]
    assert [(d.pos.line, "[naftiko-schema-required]" in d.message) for d in warned] == [
        (line_of(spec, "type: bearer"), True)
    ]
    assert " UP_TOKEN " in warned[0].message
    strict_fails(spec)
    built = build_package(spec, tmp_path / "out")
    fake = FakeUpstream(auth=Bearer("t-987"), name="up")
    async with harness(built, {"UP": fake}, env={"UP_TOKEN": "t-987"}) as h:
        h.fake.expect("GET", "/items", reply=[])
        for seen in await both(h, ("GET", "/items"), ("list-items", {})):
            assert seen.headers["Authorization"] == "Bearer t-987"


@asynccontextmanager
async def from_environment(
    built: Any, fake: FakeUpstream, env: dict[str, str]
) -> AsyncIterator[Harness]:
    """Like `harness`, without <NS>_BASE_URL: the baseUri is built from `env` at start-up."""
    from mcp import Client

    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("UP_BASE_URL", raising=False)
        async with AsyncExitStack() as stack:
            await stack.enter_async_context(run_fake(fake))
            host, port = fake.base_url.removeprefix("http://").split(":")
            for key, value in (env | {"SERVER": host, "PORT": port, "UP_TIMEOUT": "5"}).items():
                mp.setenv(key, value)
            rest_url = await stack.enter_async_context(serve_rest(built))
            mcp_url = await stack.enter_async_context(serve_mcp(built))
            client = await stack.enter_async_context(Client(mcp_url + "/mcp"))
            yield Harness(rest_url, mcp_url, client, {"UP": fake})


async def test_baseuri_server_and_port_come_from_the_environment(tmp_path: Path) -> None:
    spec = VERSIONS / "degrade_baseuri_server_port.yaml"
    noted = [d for d in diagnostics(spec) if d.rule == "naftiko-dialect-baseuri-env"]
    assert [d.pos.line for d in noted] == [line_of(spec, "baseUri:")]
    assert "SERVER, PORT" in noted[0].message
    built = build_package(spec, tmp_path / "out")
    async with from_environment(built, FakeUpstream(name="up"), {}) as h:
        h.fake.expect("GET", "/v1/items", no_body=True, reply=[])
        for seen in await both(h, ("GET", "/items"), ("list-items", {})):
            assert (seen.method, seen.raw_path) == ("GET", "/v1/items")


async def test_a_call_that_does_not_resolve_skips_its_route_and_tool(tmp_path: Path) -> None:
    spec = VERSIONS / "degrade_call_unresolved.yaml"
    skipped = [d for d in diagnostics(spec) if d.rule == SKIPPED]
    parts = {d.skip.part: d for d in skipped if d.skip}
    assert set(parts) == {"route GET /orders", "tool 'list-orders'"}
    assert all(d.skip.rule == "naftiko-call-resolves" for d in parts.values() if d.skip)
    assert all("[naftiko-call-resolves]" in d.message for d in parts.values())
    route_line, tool_line = lines_of(spec, "call: up.list-orders")
    assert parts["route GET /orders"].pos.line == route_line
    assert parts["tool 'list-orders'"].pos.line == tool_line
    strict_fails(spec)
    built = build_package(spec, tmp_path / "out")
    async with harness(built, {"UP": FakeUpstream(name="up")}) as h:
        assert [t.name for t in (await h.mcp.list_tools()).tools] == ["list-items"]
        gone = await h.rest("GET", "/orders")
        assert gone.status == 404 and not h.fake.requests
        h.fake.expect("GET", "/items", no_body=True, reply=[{"id": 1}])
        for seen in await both(h, ("GET", "/items"), ("list-items", {})):
            assert seen.raw_path == "/items"


async def test_an_imported_file_that_is_not_there_skips_that_import(tmp_path: Path) -> None:
    spec = VERSIONS / "degrade_import_missing.yaml"
    skipped = {d.skip.part: d for d in diagnostics(spec) if d.rule == SKIPPED and d.skip}
    assert set(skipped) == {"imported consumes 'gone'", "route GET /gone", "tool 'list-things'"}
    imported = skipped["imported consumes 'gone'"]
    assert imported.skip is not None and imported.skip.rule == "naftiko-import-not-found"
    assert imported.pos.line == line_of(spec, "location: ./shared/not-there.yaml")
    strict_fails(spec)
    built = build_package(spec, tmp_path / "out")
    async with harness(built, {"UP": FakeUpstream(name="up")}) as h:
        assert [t.name for t in (await h.mcp.list_tools()).tools] == ["list-items"]
        assert (await h.rest("GET", "/gone")).status == 404
        h.fake.expect("GET", "/items", no_body=True, reply=[])
        for seen in await both(h, ("GET", "/items"), ("list-items", {})):
            assert seen.raw_path == "/items"


async def test_a_query_string_in_a_consumed_path_becomes_fixed_parameters(tmp_path: Path) -> None:
    spec = VERSIONS / "degrade_path_query.yaml"
    noted = [d for d in diagnostics(spec) if d.rule == "naftiko-dialect-path-query"]
    assert [d.pos.line for d in noted] == [line_of(spec, "/search?type=all")]
    built = build_package(spec, tmp_path / "out")
    async with harness(built, {"UP": FakeUpstream(name="up")}) as h:
        h.fake.expect("GET", "/search", no_body=True, reply=[])
        for seen in await both(
            h, ("GET", "/search"), ("search-all", {"q": "boats"}), params={"q": "boats"}
        ):
            assert seen.raw_path == "/search"
            assert sorted(seen.query) == [("q", "boats"), ("sort", "new"), ("type", "all")]


def test_nothing_left_to_serve_is_refused_with_the_original_errors() -> None:
    spec = VERSIONS / "degrade_nothing_left.yaml"
    report = generate([spec], Path("/nonexistent-out")).report
    assert {d.rule for d in report.errors} == {"naftiko-import-not-found", "naftiko-call-resolves"}
    assert not [d for d in report.items if d.rule == SKIPPED]
