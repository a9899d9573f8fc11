"""What every generated MCP server shares: arguments, results, the server, HTTP and stdio."""

from __future__ import annotations

import base64
import json
import logging
import os
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

from mcp import types
from mcp.server import Server, ServerRequestContext

from . import _runtime as rt
from ._guard import Policy
from ._inputs import check

Args = Mapping[str, Any]
ToolFunction = Callable[[rt.Client, Args], Awaitable[rt.Result]]
Guard = Callable[[Mapping[str, str], Mapping[str, str]], bool]
MAX_RESULT_BYTES = 4 * 1024 * 1024  # what a model reads: cap it, say so
LOG = logging.getLogger("naftiko.mcp")


def arg(
    args: Args, name: str, kind: str, required: bool = False, pattern: str | None = None
) -> Any:
    """One tool argument: present when required, of its declared type."""
    value = args.get(name)
    if value is None:
        if required:
            raise rt.InputError(f"missing required argument '{name}'")
        return None
    return check(name, value, kind, pattern)


def binary(args: Args, name: str, required: bool = False) -> bytes | None:
    """A base64 tool argument (a binary body), decoded."""
    value = arg(args, name, "string", required)
    if value is None:
        return None
    try:
        return base64.b64decode(value, validate=True)
    except ValueError:
        raise rt.InputError(f"argument '{name}' must be base64-encoded bytes") from None


def error(message: str) -> types.CallToolResult:
    content: list[types.ContentBlock] = [types.TextContent(text=message)]
    return types.CallToolResult(content=content, is_error=True)


def result(answer: rt.Result) -> types.CallToolResult:
    """Upstream JSON objects as structured content (and text); errors as isError results."""
    if len(answer.body) > MAX_RESULT_BYTES:
        return error(
            f"the upstream answer is {len(answer.body)} bytes, over the {MAX_RESULT_BYTES}-byte "
            "limit for tool results; narrow the request"
        )
    text = answer.text()
    if 300 <= answer.status < 400:
        return error(f"upstream answered HTTP {answer.status} (a redirect), not a result")
    if not answer.ok:
        return error(f"upstream answered HTTP {answer.status}: {text}")
    data: Any = answer.data
    if not answer.is_json:
        try:
            data = json.loads(text) if text.strip() else None
        except (ValueError, RecursionError):
            data = None
    content: list[types.ContentBlock] = [types.TextContent(text=text)]
    if isinstance(data, dict):
        return types.CallToolResult(content=content, structured_content=data)
    return types.CallToolResult(content=content)


def build_server(
    name: str,
    version: str,
    instructions: str | None,
    tools: Sequence[tuple[types.Tool, ToolFunction]],
    client: Callable[[], rt.Client],
    handlers: Mapping[str, Any] | None = None,
) -> Server[dict[str, Any]]:
    """The low-level SDK server; its lifespan holds the one upstream client of the process.
    `handlers`: more request handlers (resources, prompts: generated only when declared)."""
    listed = types.ListToolsResult(tools=[tool for tool, _ in tools])
    functions = {tool.name: function for tool, function in tools}
    schemas = {tool.name: tool.input_schema for tool, _ in tools}

    @asynccontextmanager
    async def lifespan(server: Server[dict[str, Any]]) -> AsyncIterator[dict[str, Any]]:
        async with client() as opened:
            yield {"client": opened}

    async def list_tools(
        ctx: ServerRequestContext[dict[str, Any]], params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        return listed

    async def call_tool(
        ctx: ServerRequestContext[dict[str, Any]], params: types.CallToolRequestParams
    ) -> types.CallToolResult:
        function = functions.get(params.name)
        if function is None:
            return error(f"unknown tool '{params.name}'")
        try:
            answer = await function(ctx.lifespan_context["client"], params.arguments or {})
        except rt.InputError as exc:
            return error(f"invalid arguments: {exc}")
        except rt.UpstreamError as exc:
            return error(f"upstream error ({exc.status}): {exc}")
        return result(answer)

    return Server(
        name,
        version=version,
        instructions=instructions,
        lifespan=lifespan,
        on_list_tools=list_tools,
        on_call_tool=call_tool,
        get_tool_input_schema=schemas.get,
        **(handlers or {}),
    )


def http_app(
    server: Server[dict[str, Any]],
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
    app = server.streamable_http_app(
        streamable_http_path="/mcp",
        stateless_http=True,
        json_response=True,
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
        refused = self.policy.refuse(headers.get("Host"), headers.get("Origin"))
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
        await self.app(scope, receive, send)


async def _json(
    send: Any, status: int, data: Any, extra: list[tuple[bytes, bytes]] | None = None
) -> None:
    body = json.dumps(data).encode()
    headers = [(b"content-type", b"application/json"), *(extra or [])]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def serve_http(app: Any, host: str, port: int, tools: int, quiet: bool = False) -> None:
    """Run uvicorn; a port in use is one line naming it, not a traceback."""
    import socket

    import uvicorn

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        if exc.errno in (98, 48, 10048):
            sys.exit(f"error: port {port} on {host} is already in use; choose another with --port")
        sys.exit(f"error: cannot listen on {host}:{port}: {exc.strerror or exc}")
    logging.basicConfig(level=logging.WARNING if quiet else logging.INFO, format="%(message)s")
    logging.getLogger("mcp").setLevel(logging.WARNING)  # the SDK's per-request records
    shown = f"[{host}]" if ":" in host else host
    bound = sock.getsockname()[1]
    print(f"MCP on http://{shown}:{bound}/mcp ({tools} tools)", file=sys.stderr, flush=True)
    config = uvicorn.Config(
        app, log_level="warning", timeout_graceful_shutdown=10, http=_header_deadline()
    )
    uvicorn.Server(config).run(sockets=[sock])


# A client that has not sent a request's headers by then is dropped (NAFTIKO_HEADER_TIMEOUT).
HEADER_SECONDS = float(os.environ.get("NAFTIKO_HEADER_TIMEOUT", "10"))


def _header_deadline() -> Any:
    """uvicorn's HTTP/1.1 protocol, closing connections whose request headers stall.

    uvicorn times idle keep-alive connections out only after a response; a client that opens a
    connection and drips its headers would otherwise hold it (and a file descriptor) forever.
    """
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class HeaderDeadline(H11Protocol):
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

        def handle_events(self) -> None:
            before = self.cycle
            super().handle_events()
            if self.cycle is not before:  # a request's headers are in
                self.disarm()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            self.arm()  # the next request's headers, on this keep-alive connection

        def connection_lost(self, exc: Exception | None) -> None:
            self.disarm()
            super().connection_lost(exc)

    return HeaderDeadline


def serve_stdio(server: Server[dict[str, Any]]) -> None:
    import anyio
    from mcp.server.stdio import stdio_server

    async def run() -> None:
        async with stdio_server() as (read_stream, write_stream):
            await server.run(read_stream, write_stream, server.create_initialization_options())

    print("MCP on stdio", file=sys.stderr, flush=True)
    anyio.run(run)
