"""stdio for the generated MCP servers: newline-delimited JSON-RPC on stdin/stdout, without
the `mcp` SDK. A connection's first request decides its protocol era, as in the SDK: one
carrying the per-request envelope (and not `initialize`) opens an envelope-era connection
(_mcp_modern.py), anything else a handshake one (_mcp.py). `screen` and `read_line` are also
the `--sdk` server's line reader (_mcp_sdk.py).
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from collections.abc import Awaitable, Mapping
from contextlib import suppress
from typing import Any

from . import _mcp_modern
from ._mcp import LOG, Server, Session
from ._mcp_wire import (
    MAX_REQUEST_BYTES,
    NOT_A_MESSAGE,
    TOO_LARGE,
    Failure,
    answer,
    classify,
    encode,
    parse,
)


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
    session = Session(server.eras.assumed)
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
                start(respond(message, Session(session.era, session.ready)))
            elif kind == "notification":
                if era != "modern" and message["method"] == "notifications/initialized":
                    session.ready = True
        if pending:
            await asyncio.gather(*pending)
