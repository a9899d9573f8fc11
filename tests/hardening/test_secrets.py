"""Bullet 2: secrets never leave. The upstream's query key is stripped from relayed Location
headers and redirect/error bodies; a malformed header line is never logged as it came."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

import aiohttp
import pytest
from aiohttp import web

from tests.e2e.harness import free_port, wait_for_port

from .conftest import UP_KEY, Hold, Upstream, raw_request, serving

pytestmark = pytest.mark.anyio


def _echo_redirect(up: Upstream, path: str) -> None:
    async def redirect(request: web.Request) -> web.Response:
        # A trailing-slash redirect repeating the request's query, key included.
        where = f"{up.url}{request.path}/?{request.query_string}"
        return web.Response(status=301, headers={"Location": where},
                            text=f"Moved to {where} (api_key={request.query['api_key']})")  # fmt: skip

    up.routes[path] = redirect


@pytest.mark.parametrize("path", ["/items", "/fw/items"])
async def test_a_redirect_repeating_the_query_key_reaches_the_caller_without_it(
    hold: Hold, env: dict[str, str], upstream: Upstream, http: aiohttp.ClientSession, path: str
) -> None:
    _echo_redirect(upstream, "/items")
    async with serving(hold.rest.create_app()) as base:
        async with http.get(base + path + "?page=2", allow_redirects=False) as resp:
            assert resp.status == 301
            location = resp.headers["Location"]
            body = await resp.text()
    assert upstream.seen[0].query["api_key"] == UP_KEY  # the upstream did get the key
    # The rest of the URL stays (forward relays the caller's query; the route declares none).
    assert location.endswith("/items/?page=2" if path == "/fw/items" else "/items/"), location
    assert UP_KEY not in location and "api_key" not in location
    assert UP_KEY not in body and "[redacted]" in body


async def test_a_location_with_the_key_elsewhere_is_left_out(
    hold: Hold, env: dict[str, str], upstream: Upstream, http: aiohttp.ClientSession
) -> None:
    async def leak(request: web.Request) -> web.Response:
        return web.Response(status=302, headers={"Location": f"/keys/{UP_KEY}/next"})

    upstream.routes["/items"] = leak
    async with serving(hold.rest.create_app()) as base:
        async with http.get(base + "/items", allow_redirects=False) as resp:
            assert resp.status == 302
            assert "Location" not in resp.headers
            assert UP_KEY not in str(resp.headers)


@pytest.mark.parametrize(
    "line",
    [b"Authorization Bearer tok-SECRET-1234", b"X-Api-Key: \x01tok-SECRET-1234",
     b"Authorization: Bearer tok-SECRET-1234\x00"],
    ids=["no-colon", "control-char", "nul"],
)  # fmt: skip
async def test_a_malformed_header_line_is_not_logged(
    hold: Hold, upstream: Upstream, line: bytes
) -> None:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(hold.out), "HOLD_UP_KEY": UP_KEY,
           "UP_BASE_URL": upstream.url, "HOLD_CALLER_TOKEN": "x" * 12}  # fmt: skip
    proc = subprocess.Popen(
        [sys.executable, "-m", "hold.rest_server", "--port", str(port)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        await wait_for_port(port, timeout=60)
        request = b"GET /items HTTP/1.1\r\nHost: 127.0.0.1\r\n" + line + b"\r\n\r\n"
        answer = await raw_request(f"http://127.0.0.1:{port}", request)
        assert answer.startswith(b"HTTP/1.") and b" 400 " in answer.split(b"\r\n")[0]
        await asyncio.sleep(0.3)
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=20)
    assert b"tok-SECRET" not in err, err
    assert b"malformed request" in err
    assert upstream.seen == []
