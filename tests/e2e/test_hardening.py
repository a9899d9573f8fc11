"""Servers that hold (issue #13), on the generated seed servers against real upstreams.

Browser safety, no 500 from any input, protocol details, upstream faults and head-of-line
blocking: each case checks what the caller gets and, through the fake's journal, what was
(not) forwarded upstream.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from .harness import (
    ENV_BASE_URL,
    ENV_TIMEOUT,
    ENV_TOKEN,
    GENERATED_DIR,
    FakeQovery,
    free_port,
    import_generated,
    require_generated,
    run_asgi_app,
    run_rest_app,
)

require_generated()
rest_server = import_generated("rest_server")
mcp_server = import_generated("mcp_server")
upstream_mod = import_generated("upstream")

pytestmark = pytest.mark.anyio

TOKEN = "qv-hardening-5b1e"
ENV = "1f2e3d4c-5b6a-4798-8a7b-6c5d4e3f2a10"
LIST = f"/v1/environment/{ENV}/container"
MCP_HEADERS = {
    "Content-Type": "application/json",
    "Accept": "application/json, text/event-stream",
    "MCP-Protocol-Version": "2025-11-25",
}


@pytest.fixture
async def mcp(env: pytest.MonkeyPatch) -> AsyncIterator[str]:
    async with run_asgi_app(mcp_server.create_app()) as base:
        yield base + "/mcp"


def _call(tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
    return {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/call",
        "params": {"name": tool, "arguments": arguments},
    }


async def _tool(http: aiohttp.ClientSession, url: str, tool: str, args: dict[str, Any]) -> Any:
    async with http.post(url, json=_call(tool, args), headers=MCP_HEADERS) as resp:
        assert resp.status == 200, await resp.text()
        return (await resp.json())["result"]


# -- browser safety ----------------------------------------------------------------------


async def test_cross_site_text_plain_post_is_415_and_nothing_goes_upstream(
    rest: str, http: aiohttp.ClientSession, fake: FakeQovery
) -> None:
    body = json.dumps({"name": "web", "registry_id": ENV, "image_name": "x", "tag": "1"})
    headers = {"Content-Type": "text/plain"}
    async with http.post(rest + LIST, data=body, headers=headers) as resp:
        assert resp.status == 415
    async with http.post(rest + LIST, data="a=1", headers={"Content-Type": "application/x-www-form-urlencoded"}) as resp:  # fmt: skip
        assert resp.status == 415
    # A route that reads no body refuses one too: a form post must not trigger the call.
    deploy = f"/v1/organization/{ENV}/container/deploy"
    async with http.post(rest + deploy, data="x", headers=headers) as resp:
        assert resp.status == 415
    assert fake.requests == []


@pytest.mark.parametrize(
    ("headers", "status"),
    [({"Origin": "http://evil.example"}, 403), ({"Host": "evil.example"}, 421),
     ({"Host": "evil.example:8080"}, 421), ({"Origin": "null"}, 403)],
)  # fmt: skip
async def test_foreign_origin_and_host_are_refused_by_both_servers(
    rest: str, mcp: str, http: aiohttp.ClientSession, fake: FakeQovery,
    headers: dict[str, str], status: int,
) -> None:  # fmt: skip
    async with http.get(rest + LIST, headers=headers) as resp:
        assert resp.status == status
        assert (await resp.json())["status"] == status
    call = _call("list-containers", {"environmentId": ENV})
    async with http.post(mcp, json=call, headers=MCP_HEADERS | headers) as resp:
        assert resp.status == status
    assert fake.requests == []


async def test_allowed_origin_gets_cors_and_answers(
    env: pytest.MonkeyPatch, http: aiohttp.ClientSession, fake: FakeQovery
) -> None:
    app = rest_server.create_app(None, "127.0.0.1", (), ["http://app.example"])
    async with run_rest_app(app) as base:
        origin = {"Origin": "http://app.example"}
        preflight = origin | {"Access-Control-Request-Method": "POST"}
        async with http.options(base + LIST, headers=preflight) as resp:
            assert resp.status == 204
            assert resp.headers["Access-Control-Allow-Origin"] == "http://app.example"
        async with http.get(base + LIST, headers=origin) as resp:
            assert resp.status == 200
            assert resp.headers["Access-Control-Allow-Origin"] == "http://app.example"
        async with http.get(base + LIST, headers={"Origin": "http://other.example"}) as resp:
            assert resp.status == 403
    assert len(fake.requests) == 1


async def test_a_server_bound_off_loopback_still_refuses_foreign_origins(
    env: pytest.MonkeyPatch, http: aiohttp.ClientSession, fake: FakeQovery
) -> None:
    async with run_rest_app(rest_server.create_app(None, "0.0.0.0")) as base:
        async with http.get(base + LIST, headers={"Host": "api.internal:8080"}) as resp:
            assert resp.status == 200  # any name off loopback, unless --allow-host narrows it
        async with http.get(base + LIST, headers={"Origin": "http://evil.example"}) as resp:
            assert resp.status == 403
    async with run_asgi_app(mcp_server.create_app("0.0.0.0")) as base:
        call = _call("list-containers", {"environmentId": ENV})
        headers = MCP_HEADERS | {"Origin": "http://evil.example"}
        async with http.post(base + "/mcp", json=call, headers=headers) as resp:
            assert resp.status == 403
    assert len(fake.requests) == 1


@pytest.mark.parametrize("module", ["rest_server", "mcp_server"])
def test_listening_off_loopback_without_auth_needs_an_explicit_flag(module: str) -> None:
    env = {**os.environ, "PYTHONPATH": str(GENERATED_DIR), ENV_TOKEN: TOKEN}
    command = [sys.executable, "-m", f"qovery_containers.{module}", "--host", "0.0.0.0"]
    port = str(free_port())
    refused = subprocess.run(
        [*command, "--port", port], env=env, capture_output=True, text=True, timeout=60
    )
    assert refused.returncode != 0
    assert "refusing to listen on 0.0.0.0 without caller authentication" in refused.stderr
    assert "--allow-unauthenticated" in refused.stderr
    assert "Traceback" not in refused.stderr
    proc = subprocess.Popen(
        [*command, "--port", port, "--allow-unauthenticated"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert proc.stderr is not None
        first = proc.stderr.readline()
        assert first.startswith("warning: listening on 0.0.0.0"), first
    finally:
        proc.terminate()
        proc.wait(timeout=20)


# -- no 500 from any input ---------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "[" * 100_000 + "]" * 100_000,
        '{"name": "\\ud800", "registry_id": "r", "image_name": "i", "tag": "t"}',
        '{"name": NaN}',
        '{"name": Infinity}',
        "{not json",
    ],
    ids=["deep", "lone-surrogate", "nan", "infinity", "garbage"],
)
async def test_hostile_bodies_are_400_never_500(
    rest: str, http: aiohttp.ClientSession, fake: FakeQovery, raw: str
) -> None:
    headers = {"Content-Type": "application/json"}
    async with http.post(rest + LIST, data=raw.encode(), headers=headers) as resp:
        assert resp.status == 400, await resp.text()
        assert (await resp.json())["status"] == 400
    assert fake.requests == []


async def test_deeply_nested_upstream_answer_is_an_error_result_not_a_protocol_error(
    mcp: str, rest: str, http: aiohttp.ClientSession, fake: FakeQovery
) -> None:
    deep = ("[" * 50_000 + "]" * 50_000).encode()
    fake.force(200, deep, operation="listContainer")
    result = await _tool(http, mcp, "list-containers", {"environmentId": ENV})
    assert result["isError"] is False or "error" in result["content"][0]["text"].lower()
    async with http.get(rest + LIST) as resp:  # relayed as it came: nothing to parse
        assert resp.status == 200


async def test_405_keeps_allow_and_redirects_keep_location(
    rest: str, mcp: str, http: aiohttp.ClientSession, fake: FakeQovery
) -> None:
    async with http.put(rest + LIST, json={}) as resp:
        assert resp.status == 405
        assert set(resp.headers["Allow"].split(",")) >= {"GET", "POST"}
    location = {"Location": "https://elsewhere.example/x"}
    fake.force(302, b"", operation="listContainer", content_type="text/plain", headers=location)
    async with http.get(rest + LIST, allow_redirects=False) as resp:
        assert resp.status == 302
        assert resp.headers.get("Location") == "https://elsewhere.example/x"
    result = await _tool(http, mcp, "list-containers", {"environmentId": ENV})
    assert result["isError"] is True
    assert "302" in result["content"][0]["text"]


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        (ENV_TIMEOUT, "nan", "QOVERY_CONTAINERS_TIMEOUT"),
        (ENV_TIMEOUT, "inf", "QOVERY_CONTAINERS_TIMEOUT"),
        (ENV_TIMEOUT, "-1", "QOVERY_CONTAINERS_TIMEOUT"),
        ("QOVERY_CONTAINERS_CONCURRENCY", "0.5", "QOVERY_CONTAINERS_CONCURRENCY"),
        (ENV_TOKEN, "abc\r\nX-Injected: 1", "line break"),
    ],
)
async def test_bad_configuration_is_refused_at_start_up(
    env: pytest.MonkeyPatch, name: str, value: str, says: str
) -> None:
    env.setenv(name, value)
    with pytest.raises(upstream_mod.ConfigError) as caught:
        rest_server.create_app()
    assert says in str(caught.value)
    assert "X-Injected" not in str(caught.value)  # the secret itself is never shown


async def test_mcp_get_and_delete_answer_at_once(mcp: str, http: aiohttp.ClientSession) -> None:
    started = time.monotonic()
    for method in ("GET", "DELETE"):
        async with http.request(method, mcp, timeout=aiohttp.ClientTimeout(total=2)) as resp:
            assert resp.status == 405
            assert resp.headers["Allow"] == "POST"
    assert time.monotonic() - started < 2


async def test_no_body_sends_no_content_type_upstream(
    rest: str, http: aiohttp.ClientSession, fake: FakeQovery
) -> None:
    async with http.post(rest + f"/v1/organization/{ENV}/container/deploy") as resp:
        assert resp.status == 202
    [sent] = fake.requests
    assert sent.content_type is None
    assert sent.body in (b"", None)


async def test_rest_health(rest: str, http: aiohttp.ClientSession) -> None:
    async with http.get(rest + "/health") as resp:
        assert resp.status == 200
        assert await resp.json() == {"status": "ok"}


# -- faults of the upstream ----------------------------------------------------------------

Fault = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def _read_request(reader: asyncio.StreamReader) -> None:
    await reader.readuntil(b"\r\n\r\n")


async def _reset(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await _read_request(reader)
    writer.transport.abort()


async def _stall_before_headers(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await _read_request(reader)
    await asyncio.sleep(30)


async def _stall_after_headers(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await _read_request(reader)
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{")
    await writer.drain()
    await asyncio.sleep(30)


async def _drip(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await _read_request(reader)
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n")
    for _ in range(1000):
        writer.write(b" ")
        await writer.drain()
        await asyncio.sleep(0.05)


_BOMB: list[bytes] = []


def _bomb() -> bytes:
    """100 MiB of JSON whitespace in about 100 KiB of gzip (made once: compressing takes time)."""
    if not _BOMB:
        _BOMB.append(gzip.compress(b"[" + b" " * (100 * 1024 * 1024) + b"]", compresslevel=6))
    return _BOMB[0]


async def _gzip_bomb(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await _read_request(reader)
    bomb = _bomb()
    writer.write(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\n"
        + f"Content-Length: {len(bomb)}\r\n\r\n".encode()
        + bomb
    )
    await writer.drain()
    await asyncio.sleep(5)


async def _truncated_chunked(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await _read_request(reader)
    writer.write(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5\r\n{\"a\":\r\n"
    )
    await writer.drain()
    writer.transport.abort()


async def _garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await _read_request(reader)
    writer.write(b"NOT HTTP AT ALL\r\n\r\n")
    await writer.drain()
    writer.close()


async def _deep(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await _read_request(reader)
    body = b"{\"a\":" * 20_000 + b"1" + b"}" * 20_000
    writer.write(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        + f"Content-Length: {len(body)}\r\n\r\n".encode()
        + body
    )
    await writer.drain()


async def _redirect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await _read_request(reader)
    writer.write(b"HTTP/1.1 301 Moved\r\nLocation: http://169.254.169.254/\r\nContent-Length: 0\r\n\r\n")
    await writer.drain()


@asynccontextmanager
async def _faulty(handler: Fault) -> AsyncIterator[str]:
    async def guarded(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await handler(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass
        finally:
            writer.transport.abort()

    server = await asyncio.start_server(guarded, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.close()


def _fds() -> int:
    return len(os.listdir("/proc/self/fd"))


# (fault, REST statuses accepted, MCP error expected, longest the caller waits)
FAULTS: list[tuple[str, Fault | None, tuple[int, ...], float]] = [
    ("refused", None, (502,), 3),
    ("reset", _reset, (502,), 3),
    ("stall-before-headers", _stall_before_headers, (504,), 3),
    ("stall-after-headers", _stall_after_headers, (504,), 3),
    ("drip", _drip, (504,), 3),
    ("gzip-bomb", _gzip_bomb, (200,), 10),  # relayed compressed; the caller decodes it
    ("truncated-chunked", _truncated_chunked, (0,), 3),  # headers went: the connection is cut
    ("garbage", _garbage, (502,), 3),
    ("deep-nesting", _deep, (200,), 3),  # relayed as it came
    ("redirect", _redirect, (301,), 3),
]


@pytest.mark.parametrize(("name", "fault", "statuses", "bound"), FAULTS, ids=[f[0] for f in FAULTS])
async def test_fault_table(
    monkeypatch: pytest.MonkeyPatch, http: aiohttp.ClientSession,
    name: str, fault: Fault | None, statuses: tuple[int, ...], bound: float,
) -> None:  # fmt: skip
    monkeypatch.setenv(ENV_TOKEN, TOKEN)
    monkeypatch.setenv(ENV_TIMEOUT, "1")
    if fault is _gzip_bomb:
        _bomb()
    baseline = _fds()
    if fault is None:
        upstream_url = f"http://127.0.0.1:{free_port()}"
        context: Any = _nothing(upstream_url)
    else:
        context = _faulty(fault)
    async with context as upstream_url:
        monkeypatch.setenv(ENV_BASE_URL, upstream_url)
        async with run_rest_app(rest_server.create_app()) as rest, run_asgi_app(
            mcp_server.create_app()
        ) as mcp:
            started = time.monotonic()
            status = 0
            try:
                async with http.get(rest + LIST, allow_redirects=False) as resp:
                    status = resp.status
                    await resp.read()
            except aiohttp.ClientPayloadError:
                status = 0  # the relay cut the connection after the headers
            assert status in statuses, (name, status)
            assert time.monotonic() - started < bound, name
            started = time.monotonic()
            result = await _tool(http, mcp + "/mcp", "list-containers", {"environmentId": ENV})
            assert time.monotonic() - started < bound, name
            if name == "deep-nesting":
                assert result["isError"] is False or result["content"]
            elif name != "gzip-bomb":
                assert result["isError"] is True, (name, result)
            else:  # decoded under the cap: an error result naming the limit
                assert result["isError"] is True and "bytes" in result["content"][0]["text"]
            async with http.get(rest + "/health") as resp:
                assert resp.status == 200  # still alive
    await asyncio.sleep(0.2)
    assert _fds() <= baseline + 2, (name, baseline, _fds())


@asynccontextmanager
async def _nothing(url: str) -> AsyncIterator[str]:
    yield url


# -- one stalled operation does not hold up the others -------------------------------------


async def test_stalled_operation_does_not_block_other_operations(
    monkeypatch: pytest.MonkeyPatch, http: aiohttp.ClientSession
) -> None:
    async def stall(request: web.Request) -> web.Response:
        await asyncio.sleep(10)
        return web.json_response({"results": []})

    async def quick(request: web.Request) -> web.Response:
        return web.json_response({"results": []})

    app = web.Application()
    app.router.add_get("/environment/{id}/container/status", stall)
    app.router.add_get("/environment/{id}/container", quick)
    async with run_rest_app(app) as upstream_url:
        monkeypatch.setenv(ENV_TOKEN, TOKEN)
        monkeypatch.setenv(ENV_BASE_URL, upstream_url)
        monkeypatch.setenv(ENV_TIMEOUT, "30")
        monkeypatch.setenv("QOVERY_CONTAINERS_CONNECT_TIMEOUT", "0.5")
        async with run_rest_app(rest_server.create_app()) as rest:
            many = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))

            async def stalled() -> int:
                async with many.get(rest + LIST + "/status") as resp:
                    return resp.status

            pending = [asyncio.create_task(stalled()) for _ in range(100)]
            await asyncio.sleep(0.3)
            latencies = []
            for _ in range(50):
                started = time.monotonic()
                async with http.get(rest + LIST) as resp:
                    assert resp.status == 200
                latencies.append(time.monotonic() - started)
            latencies.sort()
            assert latencies[int(len(latencies) * 0.99) - 1] < 0.1, latencies[-5:]
            # Past the operation's concurrency, callers are told to come back, not queued.
            done, _ = await asyncio.wait(pending, timeout=3)
            statuses = [t.result() for t in done]
            assert statuses and set(statuses) == {503}
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
            await many.close()


# -- slow clients ---------------------------------------------------------------------------


@pytest.mark.parametrize("module", ["rest_server", "mcp_server"])
async def test_a_client_that_drips_its_headers_is_dropped(module: str) -> None:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(GENERATED_DIR), ENV_TOKEN: TOKEN,
           "NAFTIKO_HEADER_TIMEOUT": "1"}  # fmt: skip
    proc = subprocess.Popen(
        [sys.executable, "-m", f"qovery_containers.{module}", "--port", str(port), "--quiet"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        from .harness import wait_for_port

        await wait_for_port(port, timeout=60)
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # and never the blank line
        await writer.drain()
        started = time.monotonic()
        assert await asyncio.wait_for(reader.read(), 10) == b""  # closed by the server
        assert time.monotonic() - started < 5
        writer.close()
    finally:
        proc.terminate()
        proc.wait(timeout=20)
