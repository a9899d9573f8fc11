"""The SDK-free MCP server (the default) and the official SDK's server (`--sdk`) give the same
answers: the same JSON-RPC requests, good and malformed, sent to both over streamable HTTP
and over stdio, and the answers compared as JSON.

The server is the conformance fixture (tools, resources, resource templates, prompts) in front
of tests/conformance/conformance_upstream.py. What may differ, and is asserted separately:
the wording of parse and envelope-validation errors (the SDK prints pydantic's report), and
the 2026-07-28 era, which only --sdk serves (the fast path names the versions it serves, so
clients fall back to `initialize`).
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.support import ROOT, build, import_module, serve_asgi

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

FIXTURE = ROOT / "tests" / "conformance" / "conformance-capability.yaml"
UPSTREAM = ROOT / "tests" / "conformance" / "conformance_upstream.py"
PACKAGE = "conformance_capability"
JSON = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
INIT = {
    "protocolVersion": "2025-06-18",
    "capabilities": {},
    "clientInfo": {"name": "differential", "version": "1"},
}


def rpc(method: str, params: Any = None, ident: Any = 1) -> dict[str, Any]:
    message: dict[str, Any] = {"jsonrpc": "2.0", "id": ident, "method": method}
    if params is not None:
        message["params"] = params
    return message


def note(method: str, params: Any = None) -> dict[str, Any]:
    message: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
    if params is not None:
        message["params"] = params
    return message


# Requests whose answers must be equal, as JSON: (name, body).
REQUESTS: list[tuple[str, Any]] = [
    ("initialize", rpc("initialize", INIT)),
    ("initialize-2024", rpc("initialize", {**INIT, "protocolVersion": "2024-11-05"})),
    ("initialize-unknown-version", rpc("initialize", {**INIT, "protocolVersion": "1999-01-01"})),
    ("initialize-2026", rpc("initialize", {**INIT, "protocolVersion": "2026-07-28"})),
    ("initialize-no-client-info", rpc("initialize", {"protocolVersion": "2025-06-18"})),
    ("initialize-bad-capabilities", rpc("initialize", {**INIT, "capabilities": {"roots": 5}})),
    ("initialize-no-params", rpc("initialize")),
    ("ping", rpc("ping", ident="p-1")),
    ("ping-with-params", rpc("ping", {"_meta": {"progressToken": 3}})),
    ("tools-list", rpc("tools/list")),
    ("tools-list-cursor", rpc("tools/list", {"cursor": "next"})),
    ("tools-list-bad-cursor", rpc("tools/list", {"cursor": 5})),
    ("call-mock", rpc("tools/call", {"name": "test_simple_text", "arguments": {}})),
    ("call-no-arguments", rpc("tools/call", {"name": "test_simple_text"})),
    ("call-upstream-500", rpc("tools/call", {"name": "test_error_handling", "arguments": {}})),
    ("call-unknown-tool", rpc("tools/call", {"name": "nope", "arguments": {"a": 1}})),
    ("call-no-name", rpc("tools/call", {"arguments": {}})),
    ("call-name-not-string", rpc("tools/call", {"name": 5})),
    ("call-arguments-list", rpc("tools/call", {"name": "test_simple_text", "arguments": [1]})),
    ("call-bad-meta", rpc("tools/call", {"name": "test_simple_text", "_meta": 5})),
    ("call-no-params", rpc("tools/call")),
    ("resources-list", rpc("resources/list")),
    ("resource-templates-list", rpc("resources/templates/list")),
    ("read-dynamic", rpc("resources/read", {"uri": "test://static-text"})),
    ("read-template", rpc("resources/read", {"uri": "test://template/42/data"})),
    ("read-unknown", rpc("resources/read", {"uri": "test://nope"})),
    ("read-uri-not-string", rpc("resources/read", {"uri": 5})),
    ("read-no-uri", rpc("resources/read", {})),
    ("prompts-list", rpc("prompts/list")),
    ("prompt-simple", rpc("prompts/get", {"name": "test_simple_prompt"})),
    (
        "prompt-arguments",
        rpc("prompts/get", {"name": "test_prompt_with_arguments",
                            "arguments": {"arg1": "a", "arg2": "b"}}),
    ),  # fmt: skip
    ("prompt-missing-argument", rpc("prompts/get", {"name": "test_prompt_with_arguments"})),
    ("prompt-unknown", rpc("prompts/get", {"name": "nope"})),
    ("prompt-argument-not-string", rpc("prompts/get", {"name": "x", "arguments": {"a": 1}})),
    ("set-level", rpc("logging/setLevel", {"level": "debug"})),
    ("set-level-bad", rpc("logging/setLevel", {"level": "loud"})),
    ("complete-bad", rpc("completion/complete", {})),
    ("subscribe", rpc("resources/subscribe", {"uri": "test://static-text"})),
    ("discover", rpc("server/discover", {})),
    ("unknown-method", rpc("foo/bar")),
    ("initialized", note("notifications/initialized")),
    ("unknown-notification", note("notifications/whatever", {"a": 1})),
    ("cancelled", note("notifications/cancelled", {"requestId": 1})),
    ("id-null-is-a-notification", {"jsonrpc": "2.0", "id": None, "method": "ping"}),
    ("id-float-is-a-notification", {"jsonrpc": "2.0", "id": 1.5, "method": "ping"}),
    ("id-bool-is-a-notification", {"jsonrpc": "2.0", "id": True, "method": "ping"}),
    ("a-response", {"jsonrpc": "2.0", "id": 5, "result": {}}),
    ("an-error", {"jsonrpc": "2.0", "id": 5, "error": {"code": 1, "message": "x"}}),
]

# Malformed messages: the same status and error code; the SDK's message is pydantic's report.
MALFORMED: list[tuple[str, Any]] = [
    ("no-jsonrpc", {"id": 1, "method": "ping"}),
    ("jsonrpc-1.0", {"jsonrpc": "1.0", "id": 1, "method": "ping"}),
    ("method-not-string", {"jsonrpc": "2.0", "id": 1, "method": 5}),
    ("params-a-list", {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": [1]}),
    ("batch", [rpc("ping")]),
    ("scalar", 5),
    ("result-not-object", {"jsonrpc": "2.0", "id": 5, "result": 5}),
    ("not-json", b"{not json"),
    ("empty-body", b""),
]

# HTTP-level cases: (name, method, headers, body), compared on status (and JSON-RPC code).
HTTP: list[tuple[str, str, dict[str, str], Any]] = [
    ("no-accept", "POST", {"Content-Type": "application/json"}, rpc("ping")),
    ("accept-sse-only", "POST", {"Content-Type": "application/json", "Accept": "text/event-stream"},
     rpc("ping")),
    ("accept-any", "POST", {"Content-Type": "application/json", "Accept": "*/*"}, rpc("ping")),
    ("accept-application-any", "POST", {"Content-Type": "application/json",
                                        "Accept": "application/*"}, rpc("ping")),
    ("content-type-text", "POST", {"Content-Type": "text/plain", "Accept": "application/json"},
     rpc("ping")),
    ("content-type-charset", "POST", {"Content-Type": "application/json; charset=utf-8",
                                      "Accept": "application/json"}, rpc("ping")),
    ("handshake-version-header", "POST", {**JSON, "MCP-Protocol-Version": "2024-11-05"},
     rpc("tools/list")),
    ("session-id-ignored", "POST", {**JSON, "Mcp-Session-Id": "abc"}, rpc("ping")),
    ("get", "GET", {"Accept": "text/event-stream"}, None),
    ("delete", "DELETE", {}, None),
    ("too-large", "POST", JSON, b"x" * (4 * 1024 * 1024 + 1)),
    ("trailing-slash", "POST", JSON, rpc("ping")),
]  # fmt: skip


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def upstream() -> Iterator[str]:
    proc = subprocess.Popen([sys.executable, str(UPSTREAM)], stdout=subprocess.PIPE)
    try:
        assert proc.stdout is not None
        yield proc.stdout.readline().decode().strip()
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    out = tmp_path_factory.mktemp("differential")
    assert build(FIXTURE, out) == PACKAGE
    return out, import_module(out, PACKAGE, "mcp_server")


@pytest.fixture(scope="module")
async def urls(built: tuple[Path, Any], upstream: str) -> AsyncIterator[tuple[str, str]]:
    module = built[1]
    environ = {"CONFORMANCE_BASE_URL": upstream}
    async with (
        serve_asgi(module.create_app(environ=environ)) as fast,
        serve_asgi(module.create_sdk_app(environ=environ)) as sdk,
    ):
        yield fast, sdk


async def post(
    url: str, body: Any, headers: dict[str, str] | None = None, method: str = "POST"
) -> tuple[int, Any]:
    data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
    async with (
        aiohttp.ClientSession() as http,
        http.request(method, url, data=data, headers=headers or JSON) as resp,
    ):
        text = await resp.text()
        try:
            return resp.status, json.loads(text) if text else None
        except ValueError:
            return resp.status, text


@pytest.mark.parametrize(("name", "body"), REQUESTS, ids=[n for n, _ in REQUESTS])
async def test_same_answer(urls: tuple[str, str], name: str, body: Any) -> None:
    fast, sdk = urls
    assert await post(fast + "/mcp", body) == await post(sdk + "/mcp", body)


async def test_every_file_resource_reads_the_same(urls: tuple[str, str]) -> None:
    fast, sdk = urls
    _, listed = await post(fast + "/mcp", rpc("resources/list"))
    uris = [r["uri"] for r in listed["result"]["resources"]]
    assert len(uris) >= 2
    for uri in uris:
        request = rpc("resources/read", {"uri": uri})
        assert await post(fast + "/mcp", request) == await post(sdk + "/mcp", request), uri


def _shape(answer: tuple[int, Any]) -> tuple[int, Any]:
    """Status and JSON-RPC error code (and id), without the message's wording."""
    status, body = answer
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        return status, (body["id"], body["error"]["code"])
    return status, body


@pytest.mark.parametrize(("name", "body"), MALFORMED, ids=[n for n, _ in MALFORMED])
async def test_same_error_for_malformed_messages(
    urls: tuple[str, str], name: str, body: Any
) -> None:
    fast, sdk = urls
    got = await post(fast + "/mcp", body)
    assert _shape(got) == _shape(await post(sdk + "/mcp", body))
    assert got[0] == 400


@pytest.mark.parametrize(
    ("name", "method", "headers", "body"), HTTP, ids=[c[0] for c in HTTP]
)  # fmt: skip
async def test_same_http_answer(
    urls: tuple[str, str], name: str, method: str, headers: dict[str, str], body: Any
) -> None:
    path = "/mcp/" if name == "trailing-slash" else "/mcp"
    fast, sdk = urls
    got = await post(fast + path, body, headers, method)
    assert _shape(got) == _shape(await post(sdk + path, body, headers, method))


async def test_modern_era_is_sdk_only_and_the_fast_path_names_its_versions(
    urls: tuple[str, str],
) -> None:
    """A 2026-07-28 request: the SDK serves it; the fast path answers -32022 with the versions
    it serves, which makes a client's `server/discover` probe fall back to `initialize`."""
    fast, sdk = urls
    headers = {**JSON, "MCP-Protocol-Version": "2026-07-28"}
    status, body = await post(fast + "/mcp", rpc("server/discover", {}), headers)
    assert status == 400
    assert body["error"]["code"] == -32022
    assert body["error"]["data"]["supported"] == ["2024-11-05", "2025-03-26", "2025-06-18",
                                                  "2025-11-25"]  # fmt: skip
    from mcp import Client

    for url in (fast, sdk):  # the official client (auto mode) connects to both
        async with Client(url + "/mcp") as client:
            result = await client.call_tool("test_simple_text", {})
            assert not result.is_error
            assert "simple text response" in result.content[0].text  # type: ignore[union-attr]


# -- stdio ------------------------------------------------------------------------------------

STDIO_LINES: list[Any] = [
    rpc("tools/list", ident="before-initialize"),  # refused until initialize
    rpc("ping", ident="ping-before-initialize"),
    b"not json",
    [rpc("ping", ident="in-a-batch")],
    rpc("initialize", INIT, ident="init"),
    note("notifications/initialized"),
    *[{**body, "id": f"r-{name}"} for name, body in REQUESTS
      if isinstance(body.get("id"), int | str) and body.get("method") not in (None, "initialize")],
]  # fmt: skip


def _stdio(out: Path, upstream: str, sdk: bool) -> dict[Any, Any]:
    lines = b"".join(
        (line if isinstance(line, bytes) else json.dumps(line).encode()) + b"\n"
        for line in STDIO_LINES
    )
    argv = [sys.executable, "-m", f"{PACKAGE}.mcp_server", "--stdio", *(["--sdk"] if sdk else [])]
    env = {**os.environ, "PYTHONPATH": str(out), "CONFORMANCE_BASE_URL": upstream}
    # stdin stays open until every answer is in: closing it ends the session.
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env,
                            stderr=subprocess.DEVNULL)  # fmt: skip
    assert proc.stdin is not None and proc.stdout is not None
    expected = sum(1 for line in STDIO_LINES if isinstance(line, dict) and "id" in line)
    try:
        proc.stdin.write(lines)
        proc.stdin.flush()
        answers: dict[Any, Any] = {}
        while len(answers) < expected:
            line = proc.stdout.readline()
            assert line, f"the server stopped after {len(answers)} answers"
            message = json.loads(line)
            answers[message.get("id")] = message
        return answers
    finally:
        proc.stdin.close()
        proc.wait(20)


async def test_stdio_answers_are_the_same(built: tuple[Path, Any], upstream: str) -> None:
    out = built[0]
    fast, sdk = await asyncio.gather(
        asyncio.to_thread(_stdio, out, upstream, False),
        asyncio.to_thread(_stdio, out, upstream, True),
    )
    assert fast == sdk
    assert fast["before-initialize"]["error"]["code"] == -32602
    assert fast["ping-before-initialize"]["result"] == {}
    assert fast["r-call-mock"]["result"]["isError"] is False
