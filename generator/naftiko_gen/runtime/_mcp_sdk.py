"""The official `mcp` SDK's low-level server, built from the same declarations (`--sdk`).

The default server (_mcp.py, _mcp_http.py) answers without importing the SDK, to start fast;
this module is imported only when asked for: `--sdk`, `create_sdk_app()`, `build_sdk_server()`.
It serves both protocol eras (the handshake era and 2026-07-28) over streamable HTTP (uvicorn)
and stdio, with the SDK's own transports. The tools, resources and prompts answer the same
JSON, converted to the SDK's models.
"""

from __future__ import annotations

import logging
import os
import socket
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager, suppress
from typing import Any

from mcp import types
from mcp.server import Server, ServerRequestContext
from mcp.shared.exceptions import MCPError

from . import _mcp, _mcp_eras, _mcp_stdio, _mcp_wire
from ._guard import Policy

Guard = Callable[[Mapping[str, str], Mapping[str, str]], bool]
Context = ServerRequestContext[dict[str, Any]]
LOG = logging.getLogger("naftiko.mcp")

# method → (the SDK's handler keyword, its result model)
_HANDLERS: dict[str, tuple[str, Any]] = {
    "tools/list": ("on_list_tools", types.ListToolsResult),
    "tools/call": ("on_call_tool", types.CallToolResult),
    "resources/list": ("on_list_resources", types.ListResourcesResult),
    "resources/read": ("on_read_resource", types.ReadResourceResult),
    "resources/templates/list": ("on_list_resource_templates", types.ListResourceTemplatesResult),
    "prompts/list": ("on_list_prompts", types.ListPromptsResult),
    "prompts/get": ("on_get_prompt", types.GetPromptResult),
}


def _adapt(handler: _mcp.Handler, model: Any) -> Callable[[Context, Any], Awaitable[Any]]:
    """An SDK handler around a plain-JSON one: typed params → wire dict → result model."""

    async def handle(ctx: Context, params: Any) -> Any:
        given = (
            params.model_dump(mode="json", by_alias=True, exclude_none=True)
            if params is not None
            else {}
        )
        try:
            found = await handler(ctx.lifespan_context["client"], given)
        except _mcp.Failure as failure:
            raise MCPError(failure.code, failure.message, failure.data) from None
        return model.model_validate(found)

    return handle


def build_server(server: _mcp.Server) -> Server[dict[str, Any]]:
    """The low-level SDK server of `server`'s declarations; its lifespan opens the client."""

    @asynccontextmanager
    async def lifespan(sdk: Server[dict[str, Any]]) -> AsyncIterator[dict[str, Any]]:
        async with server.running():
            yield {"client": server.client}

    schemas = {tool.name: tool.input_schema for tool, _ in server.tools}
    handlers: dict[str, Any] = {
        _HANDLERS[method][0]: _adapt(handler, _HANDLERS[method][1])
        for method, handler in server.handlers.items()
    }
    return Server(
        server.name,
        version=server.version,
        instructions=server.instructions,
        lifespan=lifespan,
        # Without it, every 2026-era tools/call re-runs tools/list to check Mcp-Param headers.
        get_tool_input_schema=schemas.get,
        **handlers,
    )


def http_app(
    server: _mcp.Server,
    policy: Policy,
    guard: Guard | None = None,
    challenge: str = "Bearer",
    protect: Callable[[Any], Any] | None = None,
) -> Any:
    """Streamable HTTP at /mcp (stateless, JSON responses: any replica answers any request).

    `guard` checks callers' credentials (401 with `challenge`); `protect` wraps the SDK app
    (an OAuth 2.0 resource server's token checks and metadata document).
    """
    from mcp.server.transport_security import TransportSecuritySettings

    # Host and Origin are checked in Front (the same policy as the REST server's), on every
    # address: off loopback too, a browser must not drive this server from another origin.
    app = build_server(server).streamable_http_app(
        streamable_http_path="/mcp",
        stateless_http=True,
        json_response=True,
        max_request_body_size=_mcp_wire.MAX_REQUEST_BYTES,
        transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
    )
    return Front(protect(app) if protect else app, policy, guard, challenge)


class Front:
    """ASGI front: /health, an immediate 405 for GET and DELETE on /mcp, caller credentials.

    A stateless JSON server has no stream to offer on GET and no session to end on DELETE;
    answering at once keeps browsers and curl from hanging on an empty event stream.
    """

    def __init__(
        self, app: Any, policy: Policy, guard: Guard | None, challenge: str = "Bearer"
    ) -> None:
        self.app = app
        self.policy = policy
        self.guard = guard
        self.challenge = challenge

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path, method = scope["path"], scope["method"]
        started = time.perf_counter()
        status = 0

        async def logged(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.route(scope, receive, logged, path, method)
        finally:
            ms = (time.perf_counter() - started) * 1000
            LOG.info("%s %s %d %.1fms", method, path, status, ms)

    async def route(self, scope: Any, receive: Any, send: Any, path: str, method: str) -> None:
        if path == "/health":
            await _json(send, 200, {"status": "ok"})
            return
        headers = {k.decode("latin-1").title(): v.decode("latin-1") for k, v in scope["headers"]}
        site = headers.get("Sec-Fetch-Site")
        refused = self.policy.refuse(headers.get("Host"), headers.get("Origin"), site)
        if refused is not None:
            await _json(send, refused[0], {"error": refused[1], "status": refused[0]})
            return
        if self.guard is not None:
            from urllib.parse import parse_qsl

            query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
            if not self.guard(headers, query):
                message = {"error": "missing or invalid credentials", "status": 401}
                challenge = [(b"www-authenticate", self.challenge.encode("latin-1", "replace"))]
                await _json(send, 401, message, challenge)
                return
        if path.rstrip("/") == "/mcp" and method in ("GET", "DELETE"):
            message = {"error": "this stateless server answers POST only", "status": 405}
            await _json(send, 405, message, [(b"allow", b"POST")])
            return
        if path.rstrip("/") == "/mcp" and method == "POST":
            receive = await _screen(headers, receive, send)
            if receive is None:
                return
            # A media type is case-insensitive (RFC 9110 §8.3.1), the SDK's check is not: it
            # gets the Content-Type `_screen` accepted in its one spelling.
            plain = [(k, v) for k, v in scope["headers"] if k.lower() != b"content-type"]
            scope = {**scope, "headers": [*plain, (b"content-type", b"application/json")]}
        await self.app(scope, receive, send)


# How much of a body over the request limit is read (and dropped) before the 413 is sent.
DRAIN_BYTES = 4 * _mcp_wire.MAX_REQUEST_BYTES


async def _screen(headers: Mapping[str, str], receive: Any, send: Any) -> Any:
    """A POST to /mcp checked as the SDK-free server checks it (_mcp_wire: media types, the
    handshake era's -32700/-32600 answers); None when answered here, else the `receive` that
    hands the SDK the body already read. The 2026-07-28 era's bodies are the SDK's to judge:
    it answers them as the spec says."""
    if not _mcp_wire.is_json(headers.get("Content-Type")):
        message = "Unsupported Media Type: Content-Type must be application/json"
        await _rpc_error(send, 415, _mcp.Failure(_mcp.INVALID_REQUEST, message))
        return None
    if _mcp_eras.TABLE.over_http(headers.get("Mcp-Protocol-Version")) is None:
        return receive  # an envelope era's request
    if not _mcp_wire.accepts(headers.get("Accept", ""))[0]:
        message = "Not Acceptable: Client must accept application/json"
        await _rpc_error(send, 406, _mcp.Failure(_mcp.INVALID_REQUEST, message))
        return None
    limit = _mcp_wire.MAX_REQUEST_BYTES
    chunks: list[bytes] = []
    size, more = 0, True
    while more:
        message = await receive()
        if message["type"] != "http.request":  # the client went away
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        more = message.get("more_body", False)
        if size > limit:
            # Read on (to a bound) before answering: a client that sends its whole body
            # before reading would otherwise meet a closed socket, not the 413.
            while more and size <= DRAIN_BYTES:
                message = await receive()
                size += len(message.get("body", b""))
                more = message["type"] == "http.request" and message.get("more_body", False)
            await _plain(send, 413, b"Request body too large")
            return None
        chunks.append(chunk)
    body = b"".join(chunks)
    try:
        found = _mcp_wire.parse(body)
    except _mcp.Failure as failure:
        await _rpc_error(send, 400, failure)
        return None
    if not _mcp_wire.classify(found):
        await _rpc_error(send, 400, _mcp_wire.NOT_A_MESSAGE)
        return None
    given = False

    async def replay() -> Any:
        nonlocal given
        if not given:
            given = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


async def _rpc_error(send: Any, status: int, failure: _mcp.Failure) -> None:
    body = _mcp_wire.encode(_mcp_wire.answer(None, failure))
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json")]})  # fmt: skip
    await send({"type": "http.response.body", "body": body})


async def _plain(send: Any, status: int, body: bytes) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/plain; charset=utf-8")]})  # fmt: skip
    await send({"type": "http.response.body", "body": body})


async def _json(
    send: Any, status: int, data: Any, extra: list[tuple[bytes, bytes]] | None = None
) -> None:
    import json

    body = json.dumps(data).encode()
    headers = [(b"content-type", b"application/json"), *(extra or [])]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def serve_http(
    app: Any, host: str, port: int, tools: int, quiet: bool = False, workers: int = 1
) -> None:
    """Run uvicorn (in `workers` processes, as _serve.start runs them); a port in use is one
    line naming it, not a traceback."""
    import uvicorn

    from ._serve import base_url, start

    logging.basicConfig(level=logging.WARNING if quiet else logging.INFO, format="%(message)s")
    logging.getLogger("mcp").setLevel(logging.WARNING)  # the SDK's per-request records

    def announce(ports: list[int], note: str) -> None:
        line = f"MCP on {base_url(host, ports[0])}/mcp ({tools} tools){note}"
        print(line, file=sys.stderr, flush=True)

    class Announced(uvicorn.Server):
        ready: Any = None  # called once it listens

        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets)
            if self.started:
                self.ready()

    def serve(sockets: list[socket.socket], ready: Any) -> None:
        config = uvicorn.Config(
            app, log_level="warning", timeout_graceful_shutdown=10, http=_header_deadline()
        )
        server = Announced(config)
        server.ready = ready
        server.run(sockets=sockets)

    start([(host, port)], workers, serve, announce)


# A client that has not sent a request's headers by then is dropped (NAFTIKO_HEADER_TIMEOUT).
HEADER_SECONDS = float(os.environ.get("NAFTIKO_HEADER_TIMEOUT", "10"))


def _header_deadline() -> Any:
    """uvicorn's HTTP/1.1 protocol, closing connections whose request headers stall: the
    httptools parser when installed (uvicorn's own default; C, about a tenth of the CPU of a
    request that h11, pure Python, takes), else h11.

    uvicorn times idle keep-alive connections out only after a response; a client that opens a
    connection and drips its headers would otherwise hold it (and a file descriptor) forever.
    """
    base: Any
    try:
        import httptools  # noqa: F401
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

        base = HttpToolsProtocol
    except ImportError:
        from uvicorn.protocols.http.h11_impl import H11Protocol

        base = H11Protocol

    class HeaderDeadline(base):  # type: ignore[misc]
        deadline: Any = None

        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            self.arm()

        def arm(self) -> None:
            if self.deadline is None:
                self.deadline = self.loop.call_later(HEADER_SECONDS, self.transport.close)

        def disarm(self) -> None:
            if self.deadline is not None:
                self.deadline.cancel()
                self.deadline = None

        def on_headers_complete(self) -> None:  # httptools: a request's headers are in
            super().on_headers_complete()
            self.disarm()

        def handle_events(self) -> None:  # h11: a new cycle means a request's headers are in
            before = self.cycle
            super().handle_events()
            if self.cycle is not before:
                self.disarm()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if self.cycle is None or self.cycle.response_complete:  # idle, not pipelining
                self.arm()  # the next request's headers, on this keep-alive connection

        def connection_lost(self, exc: Exception | None) -> None:
            self.disarm()
            super().connection_lost(exc)

    return HeaderDeadline


def serve_stdio(server: _mcp.Server) -> None:
    """The SDK's server on stdio, behind the SDK-free server's line reader (_mcp_stdio.screen): a
    line that is not a JSON-RPC message is answered -32700/-32600 here (the SDK would log it
    and answer nothing), so the SDK reads only messages, and no line can stop the server."""
    import anyio
    from mcp.server.stdio import stdio_server

    sdk = build_server(server)
    logging.basicConfig(level=logging.WARNING, format="%(message)s", stream=sys.stderr)
    # As in _mcp_stdio.serve_stdio: the wire gets its own descriptor, fd 1 becomes stderr.
    wire = os.fdopen(os.dup(sys.stdout.fileno()), "wb", buffering=0)
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    source = sys.stdin.buffer

    class Out:
        """The SDK's writer; ours writes to the same descriptor, one write per message, from
        the event loop's thread, so frames never interleave."""

        async def write(self, text: str) -> None:
            wire.write(text.encode("utf-8", "replace"))

        async def flush(self) -> None:
            pass

    class In:
        """The lines the SDK reads: messages only."""

        def __aiter__(self) -> In:
            return self

        async def __anext__(self) -> str:
            while True:
                line = await anyio.to_thread.run_sync(
                    _mcp_stdio.read_line, source, abandon_on_cancel=True
                )
                if not line:
                    raise StopAsyncIteration
                message, refusal = _mcp_stdio.screen(line)
                if refusal is not None:
                    LOG.warning("answered a line that is not a JSON-RPC message: %s",
                                refusal["error"]["message"][:200])  # fmt: skip
                    wire.write(_mcp_wire.encode(refusal) + b"\n")
                elif message is not None:
                    return line.decode("utf-8")

    async def run() -> None:
        streams: Any = (In(), Out())
        async with stdio_server(*streams) as (read_stream, write_stream):
            await sdk.run(read_stream, write_stream, sdk.create_initialization_options())

    print("MCP on stdio", file=sys.stderr, flush=True)
    with suppress(KeyboardInterrupt):
        anyio.run(run)
