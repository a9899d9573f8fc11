"""Streamable HTTP for the generated MCP servers, on aiohttp, without the `mcp` SDK.

POST /mcp takes one JSON-RPC message and answers with one JSON body: stateless (no session, so
any replica answers any request) and JSON responses, the SDK's `stateless_http=True,
json_response=True` mode, with its status codes: 415 for a Content-Type that is not JSON
(a media type: `Application/JSON; charset=utf-8` is JSON, `application/jsonx` is not), 406
when the client does not accept JSON, 413 over MAX_REQUEST_BYTES, 400 for unparsable JSON
(-32700) or an invalid JSON-RPC message (-32600, JSON-RPC 2.0 §5.1; the SDK says -32602),
202 for notifications. GET and DELETE get 405 at once (there is no stream to
open and no session to end). A request whose MCP-Protocol-Version names no handshake era
(_mcp_eras.Eras.over_http) is an envelope era's (2026-07-28), answered as the SDK's
_streamable_http_modern.py does (`modern` below, _mcp_modern.py): routing headers checked
against the body, status codes from the JSON-RPC error.
The SDK-based app (`--sdk`) is in _mcp_sdk.py.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler

from . import _mcp_modern as modern_era
from . import _serve
from ._guard import Policy, add_cors, preflight
from ._mcp import (
    INVALID_REQUEST,
    PARSE_ERROR,
    Failure,
    Server,
    Session,
    answer,
    classify,
    encode,
)
from ._mcp_wire import MAX_REQUEST_BYTES, NOT_A_MESSAGE, is_json, parse
from ._mcp_wire import accepts as _accepts

Guard = Callable[[Mapping[str, str], Mapping[str, str]], bool]
MAX_BODY_BYTES = MAX_REQUEST_BYTES  # the one request limit (_mcp_wire), the SDK's too
SERVER = web.AppKey("mcp_server", Server)
MODERN = web.AppKey("mcp_modern", modern_era.Modern)
JSON = "application/json"


def _failure(status: int, code: int, message: str, request_id: Any = None) -> web.Response:
    body = encode(answer(request_id, Failure(code, message)))
    return web.Response(status=status, body=body, content_type=JSON)


def _unsupported_media() -> web.Response:
    """415 (RFC 9110 §15.5.16), in the SDK's words."""
    message = "Unsupported Media Type: Content-Type must be application/json"
    return _failure(415, INVALID_REQUEST, message)


def _refusal(status: int, message: str, headers: Mapping[str, str] | None = None) -> web.Response:
    body = json.dumps({"error": message, "status": status}).encode()
    return web.Response(status=status, body=body, content_type=JSON, headers=headers)


async def mcp(request: web.Request) -> web.StreamResponse:
    """One JSON-RPC message in, its answer out."""
    server = request.app[SERVER]
    version = request.headers.get("MCP-Protocol-Version")
    era = server.eras.over_http(version)
    if era is None:
        return await modern(request, version)
    if not is_json(request.headers.get("Content-Type")):
        return _unsupported_media()
    if not _accepts(request.headers.get("Accept", ""))[0]:
        message = "Not Acceptable: Client must accept application/json"
        return _failure(406, INVALID_REQUEST, message)
    if (request.content_length or 0) > MAX_BODY_BYTES:
        return web.Response(status=413, text="Request body too large")
    try:
        body = await request.read()
    except web.HTTPRequestEntityTooLarge:
        return web.Response(status=413, text="Request body too large")
    try:
        message = parse(body)
    except Failure as failure:
        return _failure(400, failure.code, failure.message)
    kind = classify(message)
    if not kind:
        return _failure(400, NOT_A_MESSAGE.code, NOT_A_MESSAGE.message)
    if kind != "request":
        return web.Response(status=202, content_type=JSON)  # notifications: nothing to answer
    reply = await server.handle(message, Session(era, ready=True))
    return web.Response(body=encode(reply), content_type=JSON)


# -- the envelope eras (mcp 2.3.0's server/_streamable_http_modern.py) --------------------

_ROUTING = frozenset(("mcp-protocol-version", "mcp-method", "mcp-name"))
_INVALID_BODY = "Body must be a single JSON-RPC request or notification object"


def _answer(request_id: Any, outcome: dict[str, Any] | Failure) -> web.Response:
    status = modern_era.STATUS.get(outcome.code, 200) if isinstance(outcome, Failure) else 200
    return web.Response(status=status, body=encode(answer(request_id, outcome)), content_type=JSON)


def _latin1(value: str | None) -> str | None:
    """A header value as the SDK's Starlette reads it (bytes as latin-1; aiohttp says UTF-8)."""
    if value is None or value.isascii():
        return value
    return value.encode("utf-8", "surrogateescape").decode("latin-1")


def _duplicated(headers: Mapping[str, str]) -> str | None:
    """The first routing header sent twice (readers of the first and last copy disagree)."""
    seen: set[str] = set()
    # items(), not the keys: iterating a multidict's keys skips repeated names.
    for name, _ in headers.items():  # noqa: PERF102
        key = name.lower()
        if key in _ROUTING:
            if key in seen:
                return key
            seen.add(key)
    return None


async def modern(request: web.Request, version: str | None) -> web.StreamResponse:
    """A request of an envelope era: one self-contained POST, no session."""
    if not is_json(request.headers.get("Content-Type")):
        return _unsupported_media()
    if (request.content_length or 0) > MAX_BODY_BYTES:
        return web.Response(status=413, text="Request body too large")
    json_ok, sse_ok = _accepts(request.headers.get("Accept", ""))
    if not json_ok:
        return web.Response(status=406)
    try:
        body = await request.read()
    except web.HTTPRequestEntityTooLarge:
        return web.Response(status=413, text="Request body too large")
    try:
        message = parse(body)
    except Failure:
        return _answer(None, Failure(PARSE_ERROR, "Parse error"))
    kind = classify(message)
    if isinstance(message, dict) and "id" not in message:
        if kind != "notification":
            return _answer(None, Failure(INVALID_REQUEST, _INVALID_BODY))
        eras = request.app[SERVER].eras
        if eras.envelope(version) is None:
            return _answer(None, modern_era.unsupported(eras, _latin1(version)))
        return web.Response(status=202)  # acknowledged and dropped, as the SDK does
    if kind != "request":  # a batch, a response, a malformed id or envelope
        return _answer(None, Failure(INVALID_REQUEST, _INVALID_BODY))
    method, params, request_id = message["method"], message.get("params"), message["id"]
    if method == "subscriptions/listen" and not sse_ok:
        return web.Response(status=406)
    headers = request.headers
    duplicated = _duplicated(headers)
    if duplicated is not None:
        failure = Failure(modern_era.HEADER_MISMATCH, f"{duplicated} header appears more than once")
        return _answer(request_id, failure)
    routing = (
        _latin1(headers.get("MCP-Protocol-Version")),
        _latin1(headers.get("Mcp-Method")),
        _latin1(headers.get("Mcp-Name")),
    )
    found = modern_era.route(request.app[SERVER].eras, method, params, routing)
    if isinstance(found, Failure):
        return _answer(request_id, found)
    return _answer(request_id, await request.app[MODERN].outcome(found, method, params))


async def health(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def front(policy: Policy, guard: Guard | None, challenge: str) -> Any:
    """Middleware: probes pass; then Host and Origin (421/403), then callers' credentials (401)."""

    @web.middleware
    async def check(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path == "/health":
            return await handler(request)
        got = request.headers
        origin = got.get("Origin")
        refused = policy.refuse(got.get("Host"), origin, got.get("Sec-Fetch-Site"))
        if refused is not None:
            return _refusal(*refused)
        if origin and request.method == "OPTIONS":  # answers carry CORS: see add_cors
            if (answer := preflight(origin, got)) is not None:
                return web.Response(status=204, headers=answer)
        if guard is not None and not guard(request.headers, request.query):
            headers = {"WWW-Authenticate": challenge}
            return _refusal(401, "missing or invalid credentials", headers)
        if request.method != "POST" and request.path.rstrip("/") == "/mcp":
            version = request.headers.get("MCP-Protocol-Version")
            handshake = request.app[SERVER].eras.over_http(version)
            if request.method not in ("GET", "DELETE") and handshake is None:
                return web.Response(status=405, headers={"Allow": "POST"})  # the SDK's words
            return _refusal(405, "this stateless server answers POST only", {"Allow": "POST"})
        try:
            return await handler(request)
        except web.HTTPException as exc:  # 404 and the like, as JSON like every other refusal
            if exc.status < 400:
                raise
            return _refusal(exc.status, exc.reason)

    return check


def application(
    server: Server, policy: Policy, guard: Guard | None = None, challenge: str = "Bearer"
) -> web.Application:
    """Streamable HTTP at /mcp (and /health); the upstream client opens as the app starts."""
    app = web.Application(
        middlewares=[front(policy, guard, challenge)], client_max_size=MAX_REQUEST_BYTES
    )
    app.on_response_prepare.append(add_cors(policy))
    app[SERVER] = server
    app[MODERN] = modern_era.Modern(server)

    async def running(app: web.Application) -> Any:
        async with server.running():
            yield

    app.cleanup_ctx.append(running)
    app.router.add_route("*", "/mcp", mcp)
    app.router.add_route("*", "/mcp/", mcp)
    app.router.add_get("/health", health)
    return app


def serve(
    app: web.Application, host: str, port: int, tools: int, quiet: bool = False, workers: int = 1
) -> None:
    """Run until interrupted (SIGINT, SIGTERM)."""
    _serve.run(app, host, port, lambda url: f"MCP on {url}/mcp ({tools} tools)", quiet, workers)
