"""What every generated MCP server shares: the server (its tools, from _mcp_tools.py, and the
resources and prompts of _mcp_content.py) and the JSON-RPC dispatcher.

No `mcp` SDK here: importing it (the pydantic models of two protocol eras) takes most of a
second, and a server must answer its first request well before that. The MCP wire format is
plain JSON, so each declaration builds its JSON once, at import, and the dispatcher answers
both protocol eras exactly as the SDK's low-level server does: the same results, error codes
and messages (tests/test_mcp_differential.py drives both), except where the SDK deviates
from the specifications: the wire rules of _mcp_wire.py, which `--sdk` applies too. Which
protocol era a request is in, and what each era means, is the era table's (_mcp_eras.py): the
handshake eras (initialize ... 2025-11-25) are answered here; the envelope eras (2026-07-28: a
per-request envelope, no handshake) in _mcp_modern.py. The SDK's server stays available,
built from the same declarations (_mcp_sdk.py, `--sdk`). Transports: stdio in _mcp_stdio.py
(newline-delimited JSON-RPC; a connection's first request decides its era, as in the SDK),
streamable HTTP in _mcp_http.py.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

from . import _mcp_eras
from . import _runtime as rt
from ._mcp_eras import Era, Eras
from ._mcp_surface import SURFACES, bad_params
from ._mcp_tools import (  # re-exported: the names generated modules use
    MAX_RESULT_BYTES,
    Args,
    Tool,
    ToolFunction,
    arg,
    binary,
    call_tool,
    error,
    result,
)
from ._mcp_wire import (  # re-exported: the error codes and messages every MCP module uses
    INTERNAL_ERROR,
    INVALID_PARAMS,
    INVALID_REQUEST,
    METHOD_NOT_FOUND,
    PARSE_ERROR,
    UNSUPPORTED_VERSION,
    Failure,
    answer,
    classify,
    encode,
)

__all__ = [
    "INTERNAL_ERROR",
    "INVALID_PARAMS",
    "INVALID_REQUEST",
    "MAX_RESULT_BYTES",
    "METHOD_NOT_FOUND",
    "PARSE_ERROR",
    "UNSUPPORTED_VERSION",
    "Args",
    "Failure",
    "Tool",
    "ToolFunction",
    "answer",
    "arg",
    "binary",
    "call_tool",
    "classify",
    "encode",
    "error",
    "result",
]  # fmt: skip

LOG = logging.getLogger("naftiko.mcp")


# -- sessions ------------------------------------------------------------------------------


class Session:
    """A client's protocol state: stdio opens with `initialize`, which negotiates its era; a
    stateless HTTP request is ready at once, in the era its MCP-Protocol-Version names."""

    __slots__ = ("era", "ready")

    def __init__(self, era: Era, ready: bool = False) -> None:
        self.era, self.ready = era, ready


Handler = Callable[[rt.Client, Mapping[str, Any]], Awaitable[dict[str, Any]]]


class Server:
    """The MCP server: tools (and resources and prompts, when declared) over one upstream client."""

    def __init__(
        self,
        name: str,
        version: str,
        instructions: str | None,
        tools: Sequence[tuple[Tool, ToolFunction]],
        client: Callable[[], Any],
        content: Sequence[Any] = (),
        eras: Eras | None = None,
    ) -> None:
        """`client`: opens the upstream client (an async context manager); `content`: the
        Resources and Prompts of _mcp_content, each offering `handlers()`; `eras`: the protocol
        eras served (_mcp_eras.TABLE when None)."""
        self.name, self.version, self.instructions = name, version, instructions
        self.eras = eras or _mcp_eras.TABLE
        # version → method → what that era adds to the method's results
        self.stamps = self.eras.stamps({"name": name, "version": version})
        self.tools = tuple(tools)
        self.functions = {tool.name: function for tool, function in self.tools}
        self.wrapping = frozenset(tool.name for tool, _ in self.tools if tool.wraps)
        self.client_factory = client
        self.client: rt.Client | None = None
        self.listed = {"tools": [tool.wire for tool, _ in self.tools]}
        self.handlers: dict[str, Handler] = {"tools/list": self._list, "tools/call": self._call}
        capabilities: dict[str, Any] = {}
        for part in content:
            self.handlers.update(part.handlers())
        if "prompts/list" in self.handlers:
            capabilities["prompts"] = {"listChanged": False}
        if "resources/list" in self.handlers:
            capabilities["resources"] = {"subscribe": False, "listChanged": False}
        capabilities["tools"] = {"listChanged": False}
        self.capabilities = capabilities

    @asynccontextmanager
    async def running(self) -> AsyncIterator[Server]:
        """The one upstream client of the process, open while the server runs."""
        async with self.client_factory() as opened:
            self.client = opened
            try:
                yield self
            finally:
                self.client = None

    async def _list(self, client: rt.Client, params: Mapping[str, Any]) -> dict[str, Any]:
        return self.listed

    async def _call(self, client: rt.Client, params: Mapping[str, Any]) -> dict[str, Any]:
        name = params["name"]
        function = self.functions.get(name)
        if function is None:  # a protocol error, not a tool result (MCP 2025-11-25, tools)
            raise Failure(INVALID_PARAMS, f"Unknown tool: {name}")
        arguments = params.get("arguments") or {}
        return await call_tool(function, client, arguments, name in self.wrapping)

    def initialize(self, params: Mapping[str, Any], session: Session) -> dict[str, Any]:
        session.era = self.eras.negotiate(params["protocolVersion"])
        session.ready = True
        found: dict[str, Any] = {
            "protocolVersion": session.era.version,
            "capabilities": self.capabilities,
            "serverInfo": {"name": self.name, "version": self.version},
        }
        if self.instructions is not None:
            found["instructions"] = self.instructions
        return found

    async def request(
        self, method: str, params: Mapping[str, Any] | None, session: Session
    ) -> dict[str, Any]:
        """The result of one request of the session's era; Failure for a JSON-RPC error."""
        given = params or {}
        check = SURFACES[session.era.schema].get(
            method
        )  # methods of the era's schema, served or not
        if check is not None and not check(given):
            raise bad_params()
        if method == "initialize":
            found = self.initialize(given, session)
        elif method == "ping":
            found = {}
        else:
            handler = self.handlers.get(method)
            if handler is None:
                raise Failure(METHOD_NOT_FOUND, "Method not found", method)
            if not session.ready:  # stdio: nothing but ping before initialize (the SDK's answer)
                raise bad_params()
            if self.client is None:
                raise Failure(INTERNAL_ERROR, "the server is not running")
            found = await handler(self.client, given)
        # What the answering era adds (for initialize: the era it negotiated).
        stamp = self.stamps[session.era.version].get(method)
        return {**found, **stamp} if stamp else found

    async def handle(self, message: dict[str, Any], session: Session) -> dict[str, Any]:
        """One classified request → its JSON-RPC answer (never raises for a client's error)."""
        try:
            outcome: dict[str, Any] | Failure = await self.request(
                message["method"], message.get("params"), session
            )
        except Failure as failure:
            outcome = failure
        except Exception:  # a bug, not a client's error: logged here, a generic error there
            LOG.exception("request %s failed", message["method"])
            outcome = Failure(INTERNAL_ERROR, "Internal error")
        return answer(message["id"], outcome)
