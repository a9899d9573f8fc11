"""Protocol correctness, one table for both MCP servers (SDK-free default and `--sdk`) over
both transports (streamable HTTP and stdio): every row names the specification section it
follows, and runs against real generated servers (tests/protocol/protocol-capability.yaml,
built here, started as processes with `python -m protocol_capability.mcp_server`) in front of
a real upstream (protocol_upstream.py, which also answers NaN and Infinity).

Sections: MCP 2025-11-25 "basic" (messages, ids, UTF-8), "basic/lifecycle" (capability
negotiation), "basic/transports" (stdio lines, streamable HTTP), "server/tools" (error
handling, structured content); JSON-RPC 2.0 §4 (request object, id), §5.1 (error codes);
RFC 8259 (JSON), RFC 9110 §8.3.1 (media types). Where the `mcp` SDK answers otherwise, the
servers follow the specification (listed in tests/test_mcp_differential.py).

Every answer is read as strict JSON (no NaN/Infinity), and after every row the server must
still answer a ping: no line or body stops it, none gets an HTTP 500.
"""

from __future__ import annotations

import json
import os
import queue
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support import ROOT, build

pytestmark = pytest.mark.slow

HERE = ROOT / "tests" / "protocol"
PACKAGE = "protocol_capability"
LIMIT = 4 * 1024 * 1024  # the documented request limit (_mcp_wire.MAX_REQUEST_BYTES)
HEADERS = {
    "Content-Type": "application/json",
    "Accept": "application/json, text/event-stream",
    "MCP-Protocol-Version": "2025-11-25",
}
INIT = {
    "protocolVersion": "2025-11-25",
    "capabilities": {},
    "clientInfo": {"name": "protocol-table", "version": "1"},
}

MCP_BASIC = "MCP 2025-11-25 basic"
MCP_LIFECYCLE = "MCP 2025-11-25 basic/lifecycle, Capability Negotiation"
MCP_TRANSPORTS = "MCP 2025-11-25 basic/transports"
MCP_TOOLS_ERRORS = "MCP 2025-11-25 server/tools, Error Handling"
MCP_TOOLS_STRUCTURED = "MCP 2025-11-25 server/tools, Structured Content"
RPC_4 = "JSON-RPC 2.0 §4"
RPC_5_1 = "JSON-RPC 2.0 §5.1"


def rpc(method: str, params: Any = None, ident: Any = 7) -> bytes:
    message: dict[str, Any] = {"jsonrpc": "2.0", "id": ident, "method": method}
    if params is not None:
        message["params"] = params
    return json.dumps(message).encode()


def call(name: str, arguments: dict[str, Any]) -> bytes:
    return rpc("tools/call", {"name": name, "arguments": arguments})


def strict_json(raw: bytes) -> Any:
    """`raw` as RFC 8259 JSON: NaN, Infinity and lone surrogates fail the test."""

    def constant(name: str) -> Any:
        raise AssertionError(f"{name} in an answer: not JSON")

    text = raw.decode("utf-8")  # strict: invalid UTF-8 fails
    return json.loads(text, parse_constant=constant)


# -- expectations --------------------------------------------------------------------------


def error(code: int, null_id: bool = True) -> Callable[[Any], None]:
    def check(answer: Any) -> None:
        assert answer["error"]["code"] == code, answer
        assert answer["id"] == (None if null_id else 7), answer
        assert "result" not in answer

    check.status = 400 if null_id else 200  # type: ignore[attr-defined]
    return check


def result(check_result: Callable[[dict[str, Any]], None]) -> Callable[[Any], None]:
    def check(answer: Any) -> None:
        assert "error" not in answer, answer
        assert answer["id"] == 7
        check_result(answer["result"])

    check.status = 200  # type: ignore[attr-defined]
    return check


def null_for_non_finite(found: dict[str, Any]) -> None:
    expected = {"ok": 1, "nan": None, "inf": None, "ninf": None, "deep": [None]}
    assert found["isError"] is False
    assert found["structuredContent"] == expected
    # The text a client parses is the same strict JSON (MCP tools: structured content SHOULD
    # also be returned serialized in a text block).
    assert strict_json(found["content"][0]["text"].encode()) == expected


def received(length: int) -> Callable[[dict[str, Any]], None]:
    def check(found: dict[str, Any]) -> None:
        assert found["isError"] is False, found
        assert found["structuredContent"] == {"received": length}

    return check


def initialized(found: dict[str, Any]) -> None:
    assert found["protocolVersion"] == "2025-11-25"
    assert "tools" in found["capabilities"]


def http_status(status: int) -> Callable[[Any], None]:
    """An HTTP-level refusal: only the status is the rule's."""

    def check(answer: Any) -> None:
        pass

    check.status = status  # type: ignore[attr-defined]
    return check


@dataclass(frozen=True)
class Row:
    name: str
    section: str  # the rule this row follows
    body: bytes  # one HTTP body, or one stdio line (without its newline)
    expect: Callable[[Any], None]
    transports: tuple[str, ...] = ("http", "stdio")
    headers: tuple[tuple[str, str], ...] = ()
    stdio_expect: Callable[[Any], None] | None = None  # when stdio's answer differs from HTTP's


BIG = "x" * (2 * 1024 * 1024)
TOO_BIG = "x" * LIMIT  # with the envelope around it: over the limit
PING = b'{"jsonrpc":"2.0","id":7,"method":"ping"}'

ROWS = [
    Row("unknown-tool", f"{MCP_TOOLS_ERRORS} (unknown tool: a protocol error, -32602)",
        call("no_such_tool", {}), error(-32602, null_id=False)),
    Row("jsonrpc-1.0", f"{RPC_4} (jsonrpc MUST be exactly \"2.0\"), {RPC_5_1} -32600",
        b'{"jsonrpc":"1.0","id":7,"method":"ping"}', error(-32600)),
    Row("null-body", f"{RPC_5_1} (not a Request object: -32600)", b"null", error(-32600)),
    Row("scalar-body", f"{RPC_5_1} (not a Request object: -32600)", b"5", error(-32600)),
    Row("batch", f"{MCP_BASIC} (one message; no JSON-RPC batches since 2025-06-18), {RPC_5_1}",
        b"[" + PING + b"]", error(-32600)),
    Row("id-null", f"{MCP_BASIC} (the ID MUST NOT be null), {RPC_5_1}",
        b'{"jsonrpc":"2.0","id":null,"method":"ping"}', error(-32600)),
    Row("id-fraction", f"{MCP_BASIC} (id: string or integer), {RPC_4}, {RPC_5_1}",
        b'{"jsonrpc":"2.0","id":1.5,"method":"ping"}', error(-32600)),
    Row("id-true", f"{RPC_4} (id: String, Number or Null), {RPC_5_1}",
        b'{"jsonrpc":"2.0","id":true,"method":"ping"}', error(-32600)),
    Row("method-not-string", f"{RPC_4} (method: a String), {RPC_5_1}",
        b'{"jsonrpc":"2.0","id":7,"method":5}', error(-32600)),
    Row("not-json", f"{RPC_5_1} (invalid JSON: -32700)", b"{not json", error(-32700)),
    Row("truncated", f"{RPC_5_1} (invalid JSON: -32700)", PING[:-1], error(-32700)),
    Row("non-utf8", f"{MCP_BASIC} (messages are UTF-8), {RPC_5_1} -32700",
        b'{"jsonrpc":"2.0","id":"\xff\xfe","method":"ping"}', error(-32700)),
    Row("nan-in-request", f"RFC 8259 §6 (no NaN in JSON), {RPC_5_1} -32700",
        b'{"jsonrpc":"2.0","id":7,"method":"ping","params":{"x":NaN}}', error(-32700)),
    Row("deep-nesting", f"{RPC_5_1} (unparsable: -32700, never a crash)", b"[" * 200_000,
        error(-32700)),
    Row("surrogate-id", f"RFC 8259 §8.2 (strings are Unicode), {RPC_5_1} -32700",
        b'{"jsonrpc":"2.0","id":"\\ud800","method":"ping"}', error(-32700)),
    Row("surrogate-method", f"RFC 8259 §8.2, {RPC_5_1} -32700",
        b'{"jsonrpc":"2.0","id":7,"method":"\\ud800"}', error(-32700)),
    Row("surrogate-tool-name", f"RFC 8259 §8.2, {RPC_5_1} -32700",
        b'{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"\\udc00x"}}',
        error(-32700)),
    Row("surrogate-pair-is-fine", "RFC 8259 §7 (an escaped pair is one character)",
        call("send_text", {"text": "\\ud83d\\ude00"}).replace(b"\\\\", b"\\"),
        result(received(1))),
    Row("non-finite-upstream", f"{MCP_TOOLS_STRUCTURED}, RFC 8259 §6 (NaN/Infinity → null)",
        call("non_finite", {}), result(null_for_non_finite)),
    Row("unknown-capability", f"{MCP_LIFECYCLE} (an unknown capability is ignored)",
        rpc("initialize", {**INIT, "capabilities": {"x": 1, "roots": {}}}),
        result(initialized)),
    Row("argument-2MiB", f"{MCP_TRANSPORTS}; the documented {LIMIT}-byte request limit",
        call("send_text", {"text": BIG}), result(received(len(BIG)))),
    Row("over-the-limit", f"{MCP_TRANSPORTS}; the documented {LIMIT}-byte request limit "
        "(HTTP 413; stdio -32600)", call("send_text", {"text": TOO_BIG}), http_status(413),
        stdio_expect=error(-32600)),
    Row("content-type-jsonx", "RFC 9110 §8.3.1 (application/jsonx is another media type): 415",
        PING, http_status(415), ("http",), (("Content-Type", "application/jsonx"),)),
    Row("content-type-text", "RFC 9110 §8.3.1, §15.5.16: 415", PING, http_status(415),
        ("http",), (("Content-Type", "text/plain"),)),
    Row("content-type-any-case", "RFC 9110 §8.3.1 (type/subtype case-insensitive, parameters)",
        PING, result(lambda found: None), ("http",),
        (("Content-Type", "Application/JSON; charset=utf-8"),)),
    Row("accept-jsonx", f"{MCP_TRANSPORTS} (the client must accept application/json): 406",
        PING, http_status(406), ("http",), (("Accept", "application/jsonx"),)),
    Row("accept-any-case", "RFC 9110 §12.5.1 (media ranges case-insensitive)", PING,
        result(lambda found: None), ("http",), (("Accept", "Application/JSON"),)),
]  # fmt: skip

CASES = [
    pytest.param(row, mode, transport, id=f"{row.name}-{mode}-{transport}")
    for row in ROWS
    for mode in ("default", "sdk")
    for transport in row.transports
]


# -- servers -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def upstream() -> Iterator[str]:
    proc = subprocess.Popen(
        [sys.executable, str(HERE / "protocol_upstream.py")], stdout=subprocess.PIPE
    )
    try:
        assert proc.stdout is not None
        yield proc.stdout.readline().decode().strip()
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("protocol")
    assert build(HERE / "protocol-capability.yaml", out) == PACKAGE
    return out


def _env(package: Path, upstream: str) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(package), "EDGE_BASE_URL": upstream}


def _argv(mode: str, *extra: str) -> list[str]:
    return [sys.executable, "-m", f"{PACKAGE}.mcp_server", *extra,
            *(["--sdk"] if mode == "sdk" else [])]  # fmt: skip


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


class Http:
    def __init__(self, package: Path, upstream: str, mode: str) -> None:
        port = _free_port()
        self.url = f"http://127.0.0.1:{port}/mcp"
        self.proc = subprocess.Popen(
            _argv(mode, "--port", str(port), "--quiet"),
            env=_env(package, upstream),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while True:
            assert self.proc.poll() is None, "the server exited at start-up"
            try:
                if post(self.url, PING, HEADERS)[0] == 200:
                    return
            except OSError:
                pass
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.1)


class Stdio:
    """One stdio server for the whole table: every row's line goes to the same process."""

    def __init__(self, package: Path, upstream: str, mode: str) -> None:
        self.proc = subprocess.Popen(
            _argv(mode, "--stdio"),
            env=_env(package, upstream),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        self.answers: queue.Queue[bytes] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.send(rpc("initialize", INIT, ident="init"))
        assert strict_json(self.answer())["id"] == "init"
        self.send(b'{"jsonrpc":"2.0","method":"notifications/initialized"}')

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.answers.put(line)
        self.answers.put(b"")

    def send(self, line: bytes) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + b"\n")
        self.proc.stdin.flush()

    def answer(self) -> bytes:
        try:
            line = self.answers.get(timeout=60)
        except queue.Empty:
            raise AssertionError("no answer within 60 s") from None
        assert line, f"the stdio server stopped (exit code {self.proc.wait(5)})"
        return line


@pytest.fixture(scope="module")
def servers(package: Path, upstream: str) -> Iterator[dict[tuple[str, str], Any]]:
    started: dict[tuple[str, str], Any] = {}
    try:
        for mode in ("default", "sdk"):
            started[mode, "http"] = Http(package, upstream, mode)
            started[mode, "stdio"] = Stdio(package, upstream, mode)
        yield started
    finally:
        for server in started.values():
            server.proc.terminate()
        for server in started.values():
            server.proc.wait(10)


@pytest.mark.parametrize(("row", "mode", "transport"), CASES)
def test_protocol_row(
    servers: dict[tuple[str, str], Any], row: Row, mode: str, transport: str
) -> None:
    server = servers[mode, transport]
    if transport == "http":
        status, raw = post(server.url, row.body, {**HEADERS, **dict(row.headers)})
        assert status == row.expect.status, (row.section, status, raw[:300])  # type: ignore[attr-defined]
        if status != 413:  # the size refusal is plain text; every other answer is JSON
            row.expect(strict_json(raw))
        assert post(server.url, PING, HEADERS)[0] == 200, "the server stopped answering"
        return
    server.send(row.body)
    (row.stdio_expect or row.expect)(strict_json(server.answer()))
    server.send(rpc("ping", ident="alive"))
    assert strict_json(server.answer()) == {"jsonrpc": "2.0", "id": "alive", "result": {}}


def test_every_row_names_its_rule() -> None:
    for row in ROWS:
        assert any(
            source in row.section for source in ("MCP 2025-11-25", "JSON-RPC 2.0", "RFC ")
        ), row.name
    assert len({row.name for row in ROWS}) == len(ROWS)
