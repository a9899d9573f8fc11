"""What every generated MCP server shares: declarations, results and the JSON-RPC dispatcher.

No `mcp` SDK here: importing it (the pydantic models of two protocol eras) takes most of a
second, and a server must answer its first request well before that. The MCP wire format is
plain JSON, so each declaration builds its JSON once, at import, and the dispatcher answers
both protocol eras exactly as the SDK's low-level server does: the same results, error codes
and messages (tests/test_mcp_differential.py drives both), except where the SDK deviates
from the specifications: the wire rules of _mcp_wire.py, which `--sdk` applies too. The
handshake era (initialize ... 2025-11-25) is answered here; the 2026-07-28 era (a per-request
envelope, no handshake) in _mcp_modern.py. The SDK's server stays available, built from the
same declarations (_mcp_sdk.py, `--sdk`). Transports: stdio here (newline-delimited JSON-RPC;
a connection's first request decides its era, as in the SDK), streamable HTTP in
_mcp_http.py.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import os
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager, suppress
from typing import Any

from . import _runtime as rt
from ._inputs import check
from ._mcp_wire import (  # re-exported: the error codes and messages every MCP module uses
    INTERNAL_ERROR,
    INVALID_PARAMS,
    INVALID_REQUEST,
    MAX_REQUEST_BYTES,
    METHOD_NOT_FOUND,
    NOT_A_MESSAGE,
    PARSE_ERROR,
    TOO_LARGE,
    UNSUPPORTED_VERSION,
    Failure,
    answer,
    classify,
    encode,
    parse,
    upstream_json,
)

__all__ = [
    "INTERNAL_ERROR", "INVALID_PARAMS", "INVALID_REQUEST", "METHOD_NOT_FOUND", "PARSE_ERROR",
    "UNSUPPORTED_VERSION", "Failure", "answer", "classify", "encode",
]  # fmt: skip

Args = Mapping[str, Any]
ToolFunction = Callable[[rt.Client, Args], Awaitable[rt.Result]]
MAX_RESULT_BYTES = 4 * 1024 * 1024  # what a model reads: cap it, say so
LOG = logging.getLogger("naftiko.mcp")

# The handshake-era versions mcp 2.3.0 negotiates (mcp_types.version.HANDSHAKE_PROTOCOL_VERSIONS),
# oldest first; an unknown requested version is answered with the newest.
PROTOCOL_VERSIONS = ("2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25")
# A stateless HTTP request without MCP-Protocol-Version is taken as this one (the spec's rule).
DEFAULT_VERSION = "2025-03-26"


def _bad_params() -> Failure:
    # The SDK's words for every malformed request of a spec method.
    return Failure(INVALID_PARAMS, "Invalid request parameters", "")


class Tool:
    """One tool: its declaration as `tools/list` sends it, built once."""

    def __init__(
        self,
        name: str,
        input_schema: dict[str, Any],
        *,
        title: str | None = None,
        description: str | None = None,
        output_schema: dict[str, Any] | None = None,
        annotations: Mapping[str, bool | str] | None = None,  # hints, and title
    ) -> None:
        self.name, self.title, self.description = name, title, description
        self.input_schema, self.output_schema = input_schema, output_schema
        # An array or scalar result declared as {"result": ...} (the SDK's and FastMCP's way).
        self.wraps = bool(output_schema and output_schema.get(WRAP_MARK))
        self.annotations = dict(annotations or {})  # wire names: readOnlyHint, ...
        wire: dict[str, Any] = {"name": name}
        if title is not None:
            wire["title"] = title
        if description is not None:
            wire["description"] = description
        wire["inputSchema"] = input_schema
        if output_schema is not None:
            wire["outputSchema"] = output_schema
        if annotations:
            wire["annotations"] = self.annotations
        self.wire = wire


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


def error(message: str) -> dict[str, Any]:
    """A tool result the model reads as a failure (isError), not a protocol error."""
    return {"content": [{"type": "text", "text": message}], "isError": True}


WRAP_MARK = "x-fastmcp-wrap-result"  # FastMCP's clients unwrap {"result": ...} on this mark


def result(answer: rt.Result, wraps: bool = False) -> dict[str, Any]:
    """Upstream JSON objects as structured content (and text); errors as isError results.
    `wraps`: the tool declares its value under "result" (an array or a scalar), sent so; the
    text stays the value itself, as the SDK's and FastMCP's servers send it."""
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
        data, lax = upstream_json(text)
        if lax:  # the text a client parses must be the strict JSON of structuredContent
            text = json.dumps(data, ensure_ascii=False)
    found: dict[str, Any] = {"content": [{"type": "text", "text": text}]}
    if wraps:  # the outputSchema promises it: a list alone is an error on 2025-era clients
        found["structuredContent"] = {"result": data}
    elif isinstance(data, dict):  # only objects: a list is a protocol error on 2025-era clients
        found["structuredContent"] = data
    found["isError"] = False
    return found


async def call_tool(
    function: ToolFunction, client: rt.Client, args: Args, wraps: bool = False
) -> dict[str, Any]:
    """A tool function's answer as a result; bad arguments and upstream failures as isError."""
    try:
        answer = await function(client, args)
    except rt.InputError as exc:
        return error(f"invalid arguments: {exc}")
    except rt.UpstreamError as exc:
        return error(f"upstream error ({exc.status}): {exc}")
    return result(answer, wraps)


# -- request parameters: the checks the SDK's per-version models make ----------------------

CLIENT_CAPABILITIES = ("roots", "sampling", "elicitation", "experimental", "extensions", "tasks")
LOG_LEVELS = ("debug", "info", "notice", "warning", "error", "critical", "alert", "emergency")


def _string(params: Mapping[str, Any], key: str, required: bool = True) -> None:
    value = params.get(key)
    if not isinstance(value, str) and (required or value is not None):
        raise _bad_params()


def _object(params: Mapping[str, Any], key: str, required: bool = True) -> None:
    value = params.get(key)
    if not isinstance(value, dict) and (required or value is not None):
        raise _bad_params()


def check_params(method: str, params: Mapping[str, Any]) -> None:
    """Failure(INVALID_PARAMS) when `params` do not fit a spec method's request."""
    meta = params.get("_meta")
    if meta is not None:
        token = meta.get("progressToken") if isinstance(meta, dict) else None
        if not isinstance(meta, dict) or not isinstance(token, str | int | None):
            raise _bad_params()
    if method.endswith("/list"):
        _string(params, "cursor", required=False)
    elif method == "tools/call":
        _string(params, "name")
        _object(params, "arguments", required=False)
    elif method == "prompts/get":
        _string(params, "name")
        _object(params, "arguments", required=False)
        if any(not isinstance(v, str) for v in (params.get("arguments") or {}).values()):
            raise _bad_params()
    elif method in ("resources/read", "resources/subscribe", "resources/unsubscribe"):
        _string(params, "uri")
    elif method == "initialize":
        _string(params, "protocolVersion")
        _object(params, "capabilities")
        _object(params, "clientInfo")
        _string(params["clientInfo"], "name")
        _string(params["clientInfo"], "version")
        # Only the capabilities the spec defines have a shape; others are ignored (MCP
        # 2025-11-25, lifecycle: capabilities are negotiated, an unknown one is not an error).
        given = params["capabilities"]
        if any(not isinstance(given.get(k), dict | None) for k in CLIENT_CAPABILITIES):
            raise _bad_params()
    elif method == "logging/setLevel":
        if params.get("level") not in LOG_LEVELS:
            raise _bad_params()
    elif method == "completion/complete":
        _object(params, "ref")
        _object(params, "argument")
        _string(params["argument"], "name")
        _string(params["argument"], "value")


# Methods of the handshake-era protocol: their parameters are checked even when not served.
SPEC_METHODS = frozenset(
    ("initialize", "ping", "tools/list", "tools/call", "resources/list", "resources/read",
     "resources/templates/list", "resources/subscribe", "resources/unsubscribe", "prompts/list",
     "prompts/get", "logging/setLevel", "completion/complete")
)  # fmt: skip


# -- sessions ------------------------------------------------------------------------------


class Session:
    """A client's protocol state: stdio opens with `initialize`; a stateless HTTP request is
    ready at once, at the version its MCP-Protocol-Version header names."""

    __slots__ = ("ready", "version")

    def __init__(self, version: str = DEFAULT_VERSION, ready: bool = False) -> None:
        self.version, self.ready = version, ready


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
    ) -> None:
        """`client`: opens the upstream client (an async context manager); `content`: the
        Resources and Prompts of _mcp_content, each offering `handlers()`."""
        self.name, self.version, self.instructions = name, version, instructions
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
        requested = params["protocolVersion"]
        session.version = requested if requested in PROTOCOL_VERSIONS else PROTOCOL_VERSIONS[-1]
        session.ready = True
        found: dict[str, Any] = {
            "protocolVersion": session.version,
            "capabilities": self.capabilities,
            "serverInfo": {"name": self.name, "version": self.version},
        }
        if self.instructions is not None:
            found["instructions"] = self.instructions
        return found

    async def request(
        self, method: str, params: Mapping[str, Any] | None, session: Session
    ) -> dict[str, Any]:
        """The result of one request; Failure for a JSON-RPC error."""
        given = params or {}
        if method in SPEC_METHODS:
            check_params(method, given)
        if method == "initialize":
            return self.initialize(given, session)
        if method == "ping":
            return {}
        handler = self.handlers.get(method)
        if handler is None:
            raise Failure(METHOD_NOT_FOUND, "Method not found", method)
        if not session.ready:  # stdio: nothing but ping before initialize (the SDK's answer)
            raise _bad_params()
        if self.client is None:
            raise Failure(INTERNAL_ERROR, "the server is not running")
        return await handler(self.client, given)

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


# -- stdio -----------------------------------------------------------------------------------


def serve_stdio(server: Server) -> None:
    """Newline-delimited JSON-RPC on stdin/stdout; logs go to stderr."""
    logging.basicConfig(level=logging.WARNING, format="%(message)s", stream=sys.stderr)
    # The wire gets its own descriptor, and fd 1 becomes stderr: a stray print() anywhere
    # (a library, a debugging line) cannot corrupt the protocol stream.
    wire = os.fdopen(os.dup(sys.stdout.fileno()), "wb", buffering=0)
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    print("MCP on stdio", file=sys.stderr, flush=True)
    with suppress(KeyboardInterrupt):
        asyncio.run(_stdio(server, sys.stdin.buffer, wire))


# What `_lines` queues for a line over MAX_REQUEST_BYTES (its bytes are skipped, not kept).
OVERSIZED = b"\x00oversized"


def read_line(stdin: Any) -> bytes:
    """stdin's next line (b"" at the end), or OVERSIZED for one over MAX_REQUEST_BYTES, which
    is read through in pieces, never held whole."""
    line: bytes = stdin.readline(MAX_REQUEST_BYTES + 1)
    if len(line) <= MAX_REQUEST_BYTES or line.endswith(b"\n"):
        return line
    while line and not line.endswith(b"\n"):
        line = stdin.readline(MAX_REQUEST_BYTES)
    return OVERSIZED


def _lines(stdin: Any) -> asyncio.Queue[bytes]:
    """stdin's lines, read by a daemon thread (b"" at the end); a line over the request limit
    is read through (never held whole) and queued as OVERSIZED.

    A thread works for a pipe, a file and a terminal alike, and a daemon one never holds up
    the process's exit while it waits for a line that will not come (Ctrl-C).
    """
    import threading

    loop = asyncio.get_running_loop()
    lines: asyncio.Queue[bytes] = asyncio.Queue()

    def read() -> None:
        while True:
            line = read_line(stdin)
            try:
                loop.call_soon_threadsafe(lines.put_nowait, line)
            except RuntimeError:  # the loop is closed: the server is gone
                return
            if not line:
                return

    threading.Thread(target=read, name="mcp-stdin", daemon=True).start()
    return lines


def screen(line: bytes) -> tuple[Any, dict[str, Any] | None]:
    """One stdio line: (its message, None), (None, the error answer to write) or (None, None)
    for a blank line. Both servers read stdio through this (JSON-RPC 2.0 §5.1: a line that is
    not JSON is answered -32700, one that is not a message -32600, both with a null id)."""
    if line is OVERSIZED:
        return None, answer(None, TOO_LARGE)
    if not line.strip():
        return None, None
    try:
        message = parse(line)
    except Failure as failure:
        return None, answer(None, failure)
    if not classify(message):
        return None, answer(None, NOT_A_MESSAGE)
    return message, None


# Messages the SDK keeps from before a connection's first request (runner.py); later ones are
# lost. Lines answered (or skipped) by `screen` never reach it, so they do not count.
LEAD_LINES = 8


async def _stdio(server: Server, stdin: Any, wire: Any) -> None:
    from . import _mcp_modern  # here: it imports this module

    session = Session()
    modern = _mcp_modern.Modern(server)
    # The first request decides the connection's era, once: one carrying the 2026-07-28
    # envelope (and not `initialize`) opens a modern connection, anything else a handshake one.
    era = ""
    lead = 0
    pending: set[asyncio.Task[None]] = set()

    def write(message: Mapping[str, Any]) -> None:
        wire.write(encode(message) + b"\n")  # one write per message: frames never interleave

    async def respond(message: dict[str, Any], state: Session) -> None:
        write(await server.handle(message, state))

    async def respond_modern(message: dict[str, Any]) -> None:
        write(answer(message["id"], await modern.stdio(message["method"], message.get("params"))))

    def start(work: Awaitable[None]) -> None:
        task = asyncio.ensure_future(work)
        pending.add(task)
        task.add_done_callback(pending.discard)

    async with server.running():
        lines = _lines(stdin)
        while True:
            line = await lines.get()
            if not line:
                break
            message, refusal = screen(line)
            if refusal is not None:
                LOG.warning("answered a line that is not a JSON-RPC message: %s",
                            refusal["error"]["message"][:200])  # fmt: skip
                write(refusal)
                continue
            if message is None:
                continue
            kind = classify(message)
            if not era and kind != "request":
                if lead == LEAD_LINES:
                    continue
                lead += 1
            if kind == "request":
                params = message.get("params")
                if not era:
                    opens_modern = message["method"] != "initialize"
                    era = (
                        "modern" if opens_modern and _mcp_modern.has_envelope(params) else "legacy"
                    )
                if era == "modern":
                    start(respond_modern(message))
                    continue
                if message["method"] != "initialize" and _mcp_modern.has_envelope(params):
                    write(answer(message["id"], _mcp_modern.LEGACY_REFUSAL))
                    continue
                if message["method"] == "initialize":  # before anything that follows it
                    await respond(message, session)
                    continue
                # The session as this request found it (a later initialize does not count).
                start(respond(message, Session(session.version, session.ready)))
            elif kind == "notification":
                if era != "modern" and message["method"] == "notifications/initialized":
                    session.ready = True
        if pending:
            await asyncio.gather(*pending)
