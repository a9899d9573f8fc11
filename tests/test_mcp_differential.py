"""The SDK-free MCP server (the default) and the official SDK's server (`--sdk`) give the same
answers: the same JSON-RPC requests, good and malformed, sent to both over streamable HTTP
and over stdio, and the answers compared as JSON.

Both protocol eras: the handshake era (`initialize`, 2024-11-05 ... 2025-11-25) and the
2026-07-28 era (a `_meta` envelope and routing headers on every request, `server/discover`).
The server is the conformance fixture (tools, resources, resource templates, prompts) in front
of tests/conformance/conformance_upstream.py. What may differ, and is asserted separately:
the wording of the handshake era's parse and envelope-validation errors (the SDK prints
pydantic's report there); in the 2026-07-28 era every answer is compared whole.

Where the SDK (mcp 2.3.0) deviates from the specifications, both servers follow the spec:
the `--sdk` server's front (_mcp_sdk._screen, its stdio reader) answers these before the SDK
sees them, with the SDK-free server's rules (_mcp_wire.py; tests/protocol/ has the table).
`test_the_sdk_alone_deviates` pins each deviation on the bare SDK app, so a later SDK that
fixes one is noticed:

* an invalid request object (`"jsonrpc": "1.0"`, a `null` body, a batch): the SDK answers
  -32602 "Validation error"; JSON-RPC 2.0 §5.1 says -32600 Invalid Request;
* a request id of `null`, `1.5` or `true`: the SDK reads a notification (202, no answer);
  MCP 2025-11-25 basic (a string or an integer, never null) and JSON-RPC 2.0 §4: -32600;
* a Content-Type of another case (`Application/JSON`): the SDK answers 415; RFC 9110 §8.3.1
  compares media types case-insensitively; a Content-Type that is not JSON is 415 in both
  (the SDK says 400 for `text/plain`: its transport-security check runs first);
* an unknown tool: the SDK's low-level server leaves it to the handler (ours raises -32602,
  MCP 2025-11-25 server/tools, Error Handling), so it is equal here;
* stdio lines that are not JSON-RPC messages: the SDK logs them and answers nothing, and
  they count among the eight lines kept before the first request; ours answers -32700 or
  -32600 with a null id and does not count them.
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

from naftiko_gen.runtime import _mcp, _mcp_stdio
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
    ),
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


async def post(url: str, body: Any, headers: Any = None, method: str = "POST") -> tuple[int, Any]:
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


# The bare SDK app (no front): (name, body, headers, the SDK's status and code, the spec's).
PING = rpc("ping")
SDK_DEVIATIONS: list[tuple[str, Any, dict[str, str], tuple[int, Any], tuple[int, Any]]] = [
    ("jsonrpc-1.0", {**PING, "jsonrpc": "1.0"}, JSON, (400, -32602), (400, -32600)),
    ("null-body", None, JSON, (400, -32602), (400, -32600)),
    ("batch", [PING], JSON, (400, -32602), (400, -32600)),
    ("id-null", {**PING, "id": None}, JSON, (202, None), (400, -32600)),
    ("id-float", {**PING, "id": 1.5}, JSON, (202, None), (400, -32600)),
    ("id-bool", {**PING, "id": True}, JSON, (202, None), (400, -32600)),
    ("content-type-case", PING, {**JSON, "Content-Type": "Application/JSON"}, (415, -32600),
     (200, None)),
    ("content-type-text", PING, {**JSON, "Content-Type": "text/plain"}, (400, None),
     (415, -32600)),
]  # fmt: skip


def _code(answer: tuple[int, Any]) -> tuple[int, Any]:
    status, body = answer
    error = body.get("error") if isinstance(body, dict) else None
    return status, error["code"] if isinstance(error, dict) else None


@pytest.mark.parametrize("case", SDK_DEVIATIONS, ids=[c[0] for c in SDK_DEVIATIONS])
async def test_the_sdk_alone_deviates(
    built: tuple[Path, Any], upstream: str, urls: tuple[str, str], case: tuple[Any, ...]
) -> None:
    """The SDK's own answer (its app without our front) against the spec's, which both our
    servers give."""
    _, body, headers, sdk_says, spec_says = case
    module = built[1]
    bare = module.build_sdk_server(module.load_config({"CONFORMANCE_BASE_URL": upstream}))
    from mcp.server.transport_security import TransportSecuritySettings

    app = bare.streamable_http_app(
        streamable_http_path="/mcp", stateless_http=True, json_response=True,
        transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
    )  # fmt: skip
    data = b"null" if body is None else body
    async with serve_asgi(app) as url:
        assert _code(await post(url + "/mcp", data, headers)) == sdk_says
    for ours in urls:
        assert _code(await post(ours + "/mcp", data, headers)) == spec_says


# -- the 2026-07-28 era over HTTP ------------------------------------------------------------

MODERN = "2026-07-28"
VERSION_KEY = "io.modelcontextprotocol/protocolVersion"
CAPABILITIES_KEY = "io.modelcontextprotocol/clientCapabilities"
INFO_KEY = "io.modelcontextprotocol/clientInfo"
ENVELOPE = {VERSION_KEY: MODERN, CAPABILITIES_KEY: {}, INFO_KEY: {"name": "diff", "version": "1"}}


def modern(method: str, params: Any = None, ident: Any = 1, **meta: Any) -> dict[str, Any]:
    """A 2026-07-28 request: `params` with the envelope in `_meta` (`meta` overrides keys)."""
    given = dict(params or {})
    given.setdefault("_meta", {**ENVELOPE, **{k.replace("__", "/"): v for k, v in meta.items()}})
    return rpc(method, given, ident)


def routing(method: str, name: str | None = None, **extra: str) -> dict[str, str]:
    """The headers of a 2026-07-28 POST (`extra` overrides, "" removes)."""
    found = {**JSON, "MCP-Protocol-Version": MODERN, "Mcp-Method": method}
    if name is not None:
        found["Mcp-Name"] = name
    found.update({k.replace("_", "-"): v for k, v in extra.items()})
    return {k: v for k, v in found.items() if v}


def cap(**values: Any) -> dict[str, Any]:
    return {**ENVELOPE, CAPABILITIES_KEY: values}


CALL = {"name": "test_simple_text", "arguments": {}}
PROMPT = "test_prompt_with_arguments"
# (name, body, headers[, HTTP method]): the whole answer (status and JSON) must be equal.
MODERN_REQUESTS: list[tuple[Any, ...]] = [
    # served
    ("discover", modern("server/discover"), routing("server/discover")),
    ("discover-extra-params", modern("server/discover", {"x": 1}), routing("server/discover")),
    ("tools-list", modern("tools/list"), routing("tools/list")),
    ("tools-list-cursor", modern("tools/list", {"cursor": "c"}), routing("tools/list")),
    ("id-string", modern("tools/list", ident="abc"), routing("tools/list")),
    ("call", modern("tools/call", CALL), routing("tools/call", "test_simple_text")),
    ("call-no-arguments", modern("tools/call", {"name": "test_simple_text"}),
     routing("tools/call", "test_simple_text")),
    ("call-upstream-500", modern("tools/call", {"name": "test_error_handling"}),
     routing("tools/call", "test_error_handling")),
    ("call-unknown-tool", modern("tools/call", {"name": "nope", "arguments": {"a": 1}}),
     routing("tools/call", "nope")),
    ("call-name-base64", modern("tools/call", CALL),
     routing("tools/call", "=?base64?dGVzdF9zaW1wbGVfdGV4dA==?=")),
    ("call-input-responses", modern("tools/call", {**CALL, "inputResponses": {
        "a": {"action": "accept", "content": {"x": ["y"], "n": 1}}, "b": {"roots": []},
        "c": {"model": "m", "role": "user", "content": {"type": "text", "text": "t"}}}}),
     routing("tools/call", "test_simple_text")),
    ("call-input-responses-bad", modern("tools/call", {**CALL, "inputResponses": {"a": {}}}),
     routing("tools/call", "test_simple_text")),
    ("resources-list", modern("resources/list"), routing("resources/list")),
    ("resource-templates-list", modern("resources/templates/list"),
     routing("resources/templates/list")),
    ("read", modern("resources/read", {"uri": "test://static-text"}),
     routing("resources/read", "test://static-text")),
    ("read-template", modern("resources/read", {"uri": "test://template/42/data"}),
     routing("resources/read", "test://template/42/data")),
    ("read-unknown", modern("resources/read", {"uri": "test://nope"}),
     routing("resources/read", "test://nope")),
    ("prompts-list", modern("prompts/list"), routing("prompts/list")),
    ("prompt", modern("prompts/get", {"name": "test_simple_prompt"}),
     routing("prompts/get", "test_simple_prompt")),
    ("prompt-arguments", modern("prompts/get", {"name": PROMPT, "arguments": {"arg1": "a",
                                                                           "arg2": "b"}}),
     routing("prompts/get", PROMPT)),
    ("prompt-missing-argument", modern("prompts/get", {"name": PROMPT}),
     routing("prompts/get", PROMPT)),
    ("no-client-info", modern("tools/list", io_modelcontextprotocol__clientInfo=None),
     routing("tools/list")),
    ("capabilities", modern("tools/list", **{CAPABILITIES_KEY.replace("/", "__"): {
        "sampling": {}, "roots": {"listChanged": True}, "elicitation": {"form": {}},
        "experimental": {"a": {}}, "unknown": 5}}), routing("tools/list")),
    ("progress-token-integral-float", modern("tools/list", progressToken=1.0),
     routing("tools/list")),
    ("accept-any", modern("tools/list"), routing("tools/list", Accept="*/*")),
    ("session-id-ignored", modern("tools/list"), routing("tools/list", Mcp_Session_Id="abc")),
    ("notification", note("notifications/initialized"), routing("notifications/initialized")),
    ("notification-id-null", {**note("notifications/initialized"), "id": None},
     routing("notifications/initialized")),
    # not in the 2026-07-28 era, or not served
    ("ping", modern("ping"), routing("ping")),
    ("initialize", modern("initialize", INIT), routing("initialize")),
    ("set-level", modern("logging/setLevel", {"level": "debug"}), routing("logging/setLevel")),
    ("subscribe", modern("resources/subscribe", {"uri": "test://static-text"}),
     routing("resources/subscribe")),
    ("complete", modern("completion/complete", {"ref": {"type": "ref/prompt", "name": "x"},
                                                "argument": {"name": "a", "value": "b"}}),
     routing("completion/complete")),
    ("complete-resource", modern("completion/complete", {
        "ref": {"type": "ref/resource", "uri": "x"}, "argument": {"name": "a", "value": "b"},
        "context": {"arguments": {"a": "b"}}}), routing("completion/complete")),
    ("listen", modern("subscriptions/listen", {"notifications": {"toolsListChanged": "yes"}}),
     routing("subscriptions/listen")),
    ("listen-json-only", modern("subscriptions/listen", {"notifications": {}}),
     routing("subscriptions/listen", Accept="application/json")),
    ("unknown-method", modern("foo/bar"), routing("foo/bar")),
    # the envelope
    ("no-params", rpc("tools/list"), routing("tools/list")),
    ("params-null", {**rpc("tools/list"), "params": None}, routing("tools/list")),
    ("meta-not-object", rpc("tools/list", {"_meta": 5}), routing("tools/list")),
    ("meta-empty", rpc("tools/list", {"_meta": {}}), routing("tools/list")),
    ("meta-no-capabilities", rpc("tools/list", {"_meta": {VERSION_KEY: MODERN}}),
     routing("tools/list")),
    ("version-not-string", modern("tools/list", io_modelcontextprotocol__protocolVersion=5),
     routing("tools/list")),
    ("unknown-version", modern("tools/list", io_modelcontextprotocol__protocolVersion="2099-01-01"),
     routing("tools/list", MCP_Protocol_Version="2099-01-01")),
    ("bad-capabilities", modern("tools/list", **{CAPABILITIES_KEY.replace("/", "__"): 5}),
     routing("tools/list")),
    ("bad-sampling", modern("tools/list", **{CAPABILITIES_KEY.replace("/", "__"): {
        "sampling": {"tools": 5}}}), routing("tools/list")),
    ("bad-experimental", modern("tools/list", **{CAPABILITIES_KEY.replace("/", "__"): {
        "experimental": {"a": 1}}}), routing("tools/list")),
    ("client-info-no-version", modern("tools/list", io_modelcontextprotocol__clientInfo={
        "name": "x"}), routing("tools/list")),
    ("client-info-bad-icon", modern("tools/list", io_modelcontextprotocol__clientInfo={
        "name": "x", "version": "1", "icons": [{"src": "a", "theme": "blue"}]}),
     routing("tools/list")),
    ("log-level-bad", modern("tools/list", io_modelcontextprotocol__logLevel="loud"),
     routing("tools/list")),
    ("progress-token-bad", modern("tools/list", progressToken=1.5), routing("tools/list")),
    # params
    ("cursor-not-string", modern("tools/list", {"cursor": 5}), routing("tools/list")),
    ("call-no-name", modern("tools/call", {}), routing("tools/call")),
    ("call-name-not-string", modern("tools/call", {"name": 5}), routing("tools/call", "5")),
    ("call-arguments-list", modern("tools/call", {**CALL, "arguments": [1]}),
     routing("tools/call", "test_simple_text")),
    ("call-request-state-bad", modern("tools/call", {**CALL, "requestState": 5}),
     routing("tools/call", "test_simple_text")),
    ("prompt-argument-not-string", modern("prompts/get", {"name": PROMPT, "arguments": {"a": 1}}),
     routing("prompts/get", PROMPT)),
    ("read-no-uri", modern("resources/read", {}), routing("resources/read")),
    ("read-uri-not-string", modern("resources/read", {"uri": 5}), routing("resources/read", "5")),
    ("complete-bad", modern("completion/complete", {}), routing("completion/complete")),
    ("complete-bad-ref", modern("completion/complete", {"ref": {"type": "ref/x", "uri": "x"},
                                                        "argument": {"name": "a", "value": "b"}}),
     routing("completion/complete")),
    ("listen-bad", modern("subscriptions/listen", {"notifications": {"toolsListChanged": 2}}),
     routing("subscriptions/listen")),
    # headers
    ("version-header-mismatch", modern("tools/list"),
     routing("tools/list", MCP_Protocol_Version="2099-01-01")),
    ("method-header-missing", modern("tools/list"), routing("tools/list", Mcp_Method="")),
    ("method-header-wrong", modern("tools/list"), routing("prompts/list")),
    ("name-header-missing", modern("tools/call", CALL), routing("tools/call")),
    ("name-header-wrong", modern("tools/call", CALL), routing("tools/call", "other")),
    ("name-header-bad-base64", modern("tools/call", CALL), routing("tools/call", "=?base64?dGVzd?=")),
    ("name-header-utf8-base64", modern("tools/call", {"name": "é"}),
     routing("tools/call", "=?base64?w6k=?=")),
    ("method-header-twice", modern("tools/list"),
     [*routing("tools/list").items(), ("Mcp-Method", "tools/list")]),
    ("version-header-twice", modern("tools/list"),
     [*routing("tools/list").items(), ("mcp-protocol-version", MODERN)]),
    ("name-header-twice", modern("tools/call", CALL),
     [*routing("tools/call", "test_simple_text").items(), ("Mcp-Name", "test_simple_text")]),
    # bodies
    ("notification-unknown-version", note("notifications/initialized"),
     routing("x", MCP_Protocol_Version="zzz")),
    ("notification-bad", {"jsonrpc": "2.0", "method": 5}, routing("x")),
    ("batch", [modern("tools/list")], routing("tools/list")),
    ("a-response", {"jsonrpc": "2.0", "id": 1, "result": {}}, routing("tools/list")),
    ("id-float", {**modern("tools/list"), "id": 1.5}, routing("tools/list")),
    ("id-null", {**modern("tools/list"), "id": None}, routing("tools/list")),
    ("id-bool", {**modern("tools/list"), "id": True}, routing("tools/list")),
    ("jsonrpc-1.0", {**modern("tools/list"), "jsonrpc": "1.0"}, routing("tools/list")),
    ("not-json", b"{not json", routing("tools/list")),
    ("empty-body", b"", routing("tools/list")),
    # HTTP
    ("content-type-text", modern("tools/list"), routing("tools/list", Content_Type="text/plain")),
    ("accept-sse-only", modern("tools/list"), routing("tools/list", Accept="text/event-stream")),
    ("too-large", b"x" * (4 * 1024 * 1024 + 1), routing("tools/list")),
    ("put", modern("tools/list"), routing("tools/list"), "PUT"),
    ("get", None, routing("tools/list"), "GET"),
    ("delete", None, routing("tools/list"), "DELETE"),
]  # fmt: skip


@pytest.mark.parametrize("case", MODERN_REQUESTS, ids=[c[0] for c in MODERN_REQUESTS])
async def test_same_modern_answer(urls: tuple[str, str], case: tuple[Any, ...]) -> None:
    _, body, headers, *method = case
    fast, sdk = urls
    got = await post(fast + "/mcp", body, headers, *method)
    assert got == await post(sdk + "/mcp", body, headers, *method)


async def test_modern_answers_carry_the_era_fields(urls: tuple[str, str]) -> None:
    status, body = await post(urls[0] + "/mcp", modern("tools/list"), routing("tools/list"))
    assert status == 200
    result = body["result"]
    assert (result["resultType"], result["cacheScope"], result["ttlMs"]) == (
        "complete",
        "private",
        0,
    )
    assert result["_meta"] == {
        "io.modelcontextprotocol/serverInfo": {"name": "conformance-mcp", "version": "1.0.0"}
    }
    status, body = await post(urls[0] + "/mcp", modern("server/discover"),
                              routing("server/discover"))  # fmt: skip
    assert (status, body["result"]["supportedVersions"]) == (200, [MODERN])


async def test_the_official_client_lands_on_2026_07_28(urls: tuple[str, str]) -> None:
    """`Client(url)` (auto mode) probes with `server/discover`: both servers answer it."""
    from mcp import Client

    for url in urls:
        async with Client(url + "/mcp") as client:
            assert client.session.protocol_version == MODERN
            result = await client.call_tool("test_simple_text", {})
            assert not result.is_error
            assert "simple text response" in result.content[0].text  # type: ignore[union-attr]
            prompt = await client.get_prompt(PROMPT, {"arg1": "a", "arg2": "b"})
            assert prompt.messages


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
    # the 2026-07-28 envelope on a connection opened with `initialize`: refused
    modern("tools/list", ident="enveloped-on-a-handshake-connection"),
    modern("tools/call", CALL, ident="enveloped-call-on-a-handshake-connection"),
]  # fmt: skip

# A connection whose first request carries the 2026-07-28 envelope: no handshake, each request
# judged on its own envelope (without headers: stdio has none).
STDIO_MODERN_LINES: list[Any] = [
    note("notifications/initialized"),  # before the first request: replayed, then dropped
    b"",
    modern("tools/list", ident="first"),
    rpc("initialize", INIT, ident="initialize"),  # refused, naming 2026-07-28
    rpc("initialize", {"protocolVersion": 5}, ident="initialize-bad-version"),
    rpc("tools/list", ident="no-envelope"),
    rpc("ping", ident="ping"),
    b"not json",
    [modern("ping", ident="in-a-batch")],
    *[{**body, "id": f"r-{name}"} for name, body, *_ in MODERN_REQUESTS
      if isinstance(body, dict) and body.get("jsonrpc") == "2.0"
      and isinstance(body.get("method"), str) and "id" in body],
]  # fmt: skip


def _answered(line: Any) -> bool:
    """Whether a stdio line gets an answer: a request, or a line that is not a message
    (-32700/-32600, JSON-RPC 2.0 §5.1; the SDK's own transport answers these with nothing)."""
    raw = line if isinstance(line, bytes) else json.dumps(line).encode()
    message, refusal = _mcp_stdio.screen(raw)
    return refusal is not None or (message is not None and _mcp.classify(message) == "request")


def _stdio(out: Path, upstream: str, sdk: bool, script: list[Any] = STDIO_LINES) -> dict[Any, Any]:
    lines = b"".join(
        (line if isinstance(line, bytes) else json.dumps(line).encode()) + b"\n" for line in script
    )
    argv = [sys.executable, "-m", f"{PACKAGE}.mcp_server", "--stdio", *(["--sdk"] if sdk else [])]
    env = {**os.environ, "PYTHONPATH": str(out), "CONFORMANCE_BASE_URL": upstream}
    # stdin stays open until every answer is in: closing it ends the session.
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env,
                            stderr=subprocess.DEVNULL)  # fmt: skip
    assert proc.stdin is not None and proc.stdout is not None
    expected = sum(1 for line in script if _answered(line))
    try:
        proc.stdin.write(lines)
        proc.stdin.flush()
        answers: dict[Any, Any] = {None: []}  # None: the null-id answers to lines not messages
        for count in range(expected):
            line = proc.stdout.readline()
            assert line, f"the server stopped after {count} answers"
            message = json.loads(line)
            if message.get("id") is None:
                answers[None].append(message)
            else:
                answers[message["id"]] = message
        answers[None].sort(key=json.dumps)
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
    assert fast["enveloped-on-a-handshake-connection"]["error"]["code"] == -32600


async def test_stdio_modern_answers_are_the_same(built: tuple[Path, Any], upstream: str) -> None:
    out = built[0]
    fast, sdk = await asyncio.gather(
        asyncio.to_thread(_stdio, out, upstream, False, STDIO_MODERN_LINES),
        asyncio.to_thread(_stdio, out, upstream, True, STDIO_MODERN_LINES),
    )
    assert fast == sdk
    assert fast["first"]["result"]["resultType"] == "complete"
    assert fast["initialize"]["error"]["code"] == -32022
    assert fast["no-envelope"]["error"]["code"] == -32602
    assert fast["r-discover"]["result"]["supportedVersions"] == [MODERN]
    assert fast["r-call"]["result"]["isError"] is False
    assert fast["r-version-header-mismatch"]["result"]["tools"]  # stdio: no headers to check


@pytest.mark.parametrize("blank", [7, 8])
async def test_stdio_keeps_eight_lines_before_the_first_request(
    built: tuple[Path, Any], upstream: str, blank: int
) -> None:
    """Messages before a connection's first request are replayed once its era is known, up to
    eight: a ninth `notifications/initialized` is lost, so the request is refused. Blank
    lines and lines that are not messages do not count: the transport skips or answers them
    (the SDK's own counts them)."""
    filler = [b"", b"not json", note("notifications/whatever")]
    script = [*filler[:2], *[filler[2]] * blank,
              note("notifications/initialized"), rpc("tools/list", ident="t")]  # fmt: skip
    out = built[0]
    fast, sdk = await asyncio.gather(
        asyncio.to_thread(_stdio, out, upstream, False, script),
        asyncio.to_thread(_stdio, out, upstream, True, script),
    )
    assert fast == sdk
    assert ("error" in fast["t"]) == (blank == 8)
