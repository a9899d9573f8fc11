"""Streamable HTTP for the generated MCP servers, on aiohttp, without the `mcp` SDK.

POST /mcp takes one JSON-RPC message and answers with one JSON body: stateless (no session, so
any replica answers any request) and JSON responses, the SDK's `stateless_http=True,
json_response=True` mode, with its status codes: 400 for a Content-Type that is not JSON,
406 when the client does not accept JSON, 413 over MAX_BODY_BYTES, 400 for unparseable or
invalid JSON-RPC, 202 for notifications. GET and DELETE get 405 at once (there is no stream to
open and no session to end). The SDK-based app (`--sdk`) is in _mcp_sdk.py.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler

from . import _serve
from ._guard import Policy
from ._mcp import (
    DEFAULT_VERSION,
    INVALID_PARAMS,
    INVALID_REQUEST,
    PARSE_ERROR,
    PROTOCOL_VERSIONS,
    UNSUPPORTED_VERSION,
    Failure,
    Server,
    Session,
    answer,
    classify,
    encode,
)

Guard = Callable[[Mapping[str, str], Mapping[str, str]], bool]
MAX_BODY_BYTES = 4 * 1024 * 1024  # the SDK's limit
SERVER = web.AppKey("mcp_server", Server)
JSON = "application/json"


def _failure(status: int, code: int, message: str, request_id: Any = None) -> web.Response:
    body = encode(answer(request_id, Failure(code, message)))
    return web.Response(status=status, body=body, content_type=JSON)


def _refusal(status: int, message: str, headers: Mapping[str, str] | None = None) -> web.Response:
    body = json.dumps({"error": message, "status": status}).encode()
    return web.Response(status=status, body=body, content_type=JSON, headers=headers)


def _accepts_json(accept: str) -> bool:
    """The SDK's reading of Accept: application/json, application/* or */* (none: 406)."""
    types = {part.split(";")[0].strip().lower() for part in accept.split(",")}
    return bool(types & {JSON, "application/*", "*/*"})


async def mcp(request: web.Request) -> web.StreamResponse:
    """One JSON-RPC message in, its answer out."""
    if not request.headers.get("Content-Type", "").lower().startswith(JSON):
        return web.Response(status=400, text="Invalid Content-Type header")
    if not _accepts_json(request.headers.get("Accept", "")):
        message = "Not Acceptable: Client must accept application/json"
        return _failure(406, INVALID_REQUEST, message)
    if (request.content_length or 0) > MAX_BODY_BYTES:
        return web.Response(status=413, text="Request body too large")
    try:
        body = await request.read()
    except web.HTTPRequestEntityTooLarge:
        return web.Response(status=413, text="Request body too large")
    try:
        message = json.loads(body)
    except (ValueError, RecursionError) as exc:
        return _failure(400, PARSE_ERROR, f"Parse error: {exc}")
    kind = classify(message)
    if not kind:
        return _failure(400, INVALID_PARAMS, "Validation error: not a JSON-RPC 2.0 message")
    version = request.headers.get("MCP-Protocol-Version")
    if version is not None and version not in PROTOCOL_VERSIONS:
        # 2026-07-28 (a per-request envelope instead of the handshake) is the SDK's (--sdk);
        # naming the versions served makes a client fall back to `initialize`.
        request_id = message.get("id") if kind == "request" else None
        data = {"supported": list(PROTOCOL_VERSIONS), "requested": version}
        failure = Failure(UNSUPPORTED_VERSION, "Unsupported protocol version", data)
        return web.Response(status=400, body=encode(answer(request_id, failure)), content_type=JSON)
    if kind != "request":
        return web.Response(status=202, content_type=JSON)  # notifications: nothing to answer
    session = Session(version or DEFAULT_VERSION, ready=True)
    reply = await request.app[SERVER].handle(message, session)
    return web.Response(body=encode(reply), content_type=JSON)


async def health(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def front(policy: Policy, guard: Guard | None, challenge: str) -> Any:
    """Middleware: probes pass; then Host and Origin (421/403), then callers' credentials (401)."""

    @web.middleware
    async def check(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path == "/health":
            return await handler(request)
        refused = policy.refuse(request.headers.get("Host"), request.headers.get("Origin"))
        if refused is not None:
            return _refusal(*refused)
        if guard is not None and not guard(request.headers, request.query):
            headers = {"WWW-Authenticate": challenge}
            return _refusal(401, "missing or invalid credentials", headers)
        if request.method != "POST" and request.path.rstrip("/") == "/mcp":
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
    app = web.Application(middlewares=[front(policy, guard, challenge)])
    app[SERVER] = server

    async def running(app: web.Application) -> Any:
        async with server.running():
            yield

    app.cleanup_ctx.append(running)
    app.router.add_route("*", "/mcp", mcp)
    app.router.add_route("*", "/mcp/", mcp)
    app.router.add_get("/health", health)
    return app


def serve(app: web.Application, host: str, port: int, tools: int, quiet: bool = False) -> None:
    """Run until interrupted (SIGINT, SIGTERM)."""
    _serve.run(app, host, port, lambda url: f"MCP on {url}/mcp ({tools} tools)", quiet)
