"""Bullet 5: encodings. Bodies that are read are decoded before they are relayed; a streamed
answer keeps its Content-Encoding only for callers that accept it (else it is decoded on the
way, or refused 502 when it cannot be); a 1xx/101 upstream answer is a 502."""

from __future__ import annotations

import asyncio
import gzip
import json
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web

from .conftest import Hold, Upstream, serving

pytestmark = pytest.mark.anyio

BIG = json.dumps({"items": ["x" * 100] * 10_000}).encode()  # ~1 MB: streamed, not read


@pytest.fixture
async def plain_http() -> AsyncIterator[aiohttp.ClientSession]:
    """A caller that decodes nothing and sends only the Accept-Encoding it is given."""
    async with aiohttp.ClientSession(auto_decompress=False,
                                     skip_auto_headers=("Accept-Encoding",)) as s:  # fmt: skip
        yield s


def _gzipped(status: int, body: bytes) -> web.Response:
    return web.Response(status=status, body=gzip.compress(body), headers={
        "Content-Encoding": "gzip", "Content-Type": "application/json"})  # fmt: skip


@pytest.mark.parametrize("accept", [None, "gzip", "identity"])
async def test_a_gzip_error_body_is_relayed_decoded(
    hold: Hold, env: dict[str, str], upstream: Upstream, plain_http: aiohttp.ClientSession,
    accept: str | None,
) -> None:  # fmt: skip

    async def error(request: web.Request) -> web.Response:
        return _gzipped(422, b'{"message": "no such colour"}')

    upstream.routes["/items"] = error
    headers = {"Accept-Encoding": accept} if accept else {}
    async with serving(hold.rest.create_app()) as base:
        async with plain_http.get(base + "/items", headers=headers) as resp:
            assert resp.status == 422
            assert "Content-Encoding" not in resp.headers
            assert json.loads(await resp.read()) == {"message": "no such colour"}


@pytest.mark.parametrize(
    ("accept", "passed"),
    [(None, False), ("identity", False), ("br, gzip;q=0", False), ("gzip", True),
     ("deflate, gzip;q=0.5", True), ("*", True)],
)  # fmt: skip
@pytest.mark.parametrize("path", ["/items", "/fw/items"])
async def test_a_streamed_answer_keeps_its_encoding_only_for_callers_that_accept_it(
    hold: Hold, env: dict[str, str], upstream: Upstream, plain_http: aiohttp.ClientSession,
    accept: str | None, passed: bool, path: str,
) -> None:  # fmt: skip

    async def big(request: web.Request) -> web.Response:
        return _gzipped(200, BIG)

    upstream.routes["/items"] = big
    headers = {"Accept-Encoding": accept} if accept else {}
    async with serving(hold.rest.create_app()) as base:
        async with plain_http.get(base + path, headers=headers) as resp:
            assert resp.status == 200
            body = await resp.read()
            if passed:
                assert resp.headers["Content-Encoding"] == "gzip"
                assert gzip.decompress(body) == BIG
            else:
                assert "Content-Encoding" not in resp.headers
                assert body == BIG


async def test_an_encoding_neither_side_can_decode_is_502_unless_accepted(
    hold: Hold, env: dict[str, str], upstream: Upstream, plain_http: aiohttp.ClientSession
) -> None:
    async def brotli(request: web.Request) -> web.Response:
        return web.Response(body=b"\x8b" * 300_000, headers={"Content-Encoding": "br"})

    upstream.routes["/items"] = brotli
    async with serving(hold.rest.create_app()) as base:
        async with plain_http.get(base + "/items", headers={"Accept-Encoding": "gzip"}) as resp:
            assert resp.status == 502
        async with plain_http.get(base + "/items", headers={"Accept-Encoding": "br"}) as resp:
            assert resp.status == 200 and resp.headers["Content-Encoding"] == "br"


async def _switching(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.readuntil(b"\r\n\r\n")
    writer.write(
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"
    )
    await writer.drain()
    await asyncio.sleep(2)
    writer.close()


async def test_an_upstream_101_is_a_502(
    hold: Hold, env: dict[str, str], monkeypatch: pytest.MonkeyPatch,
    plain_http: aiohttp.ClientSession,
) -> None:  # fmt: skip
    server = await asyncio.start_server(_switching, "127.0.0.1", 0)
    monkeypatch.setenv("UP_BASE_URL", f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}")
    try:
        for create in (hold.rest.create_app,):
            async with serving(create()) as base:
                for path in ("/items", "/big", "/fw/items"):
                    async with plain_http.get(base + path) as resp:
                        assert resp.status == 502, path
                        assert "101" in (await resp.json())["error"]
    finally:
        server.close()
