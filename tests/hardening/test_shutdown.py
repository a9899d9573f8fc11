"""Bullet 8: graceful shutdown. On SIGTERM the server stops accepting, calls in flight finish
and are answered, and the process exits within its grace (NAFTIKO_SHUTDOWN_GRACE) even when an
upstream call would take longer."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time

import aiohttp
import pytest
from aiohttp import web

from tests.e2e.harness import free_port, wait_for_port

from .conftest import CALLER_TOKEN, UP_KEY, Hold, Upstream

pytestmark = [pytest.mark.anyio, pytest.mark.slow]


def _start(
    hold: Hold, upstream: Upstream, module: str, port: int, grace: str
) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(hold.out), "HOLD_UP_KEY": UP_KEY,
           "HOLD_CALLER_TOKEN": CALLER_TOKEN, "UP_BASE_URL": upstream.url,
           "NAFTIKO_SHUTDOWN_GRACE": grace}  # fmt: skip
    return subprocess.Popen(
        [sys.executable, "-m", f"hold.{module}", "--port", str(port)]
        + (["--quiet"] if module != "control_server" else []),
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip


async def _exited(proc: subprocess.Popen[bytes], within: float) -> float:
    started = time.monotonic()
    while proc.poll() is None:
        assert time.monotonic() - started < within, "still running"
        await asyncio.sleep(0.05)
    return time.monotonic() - started


async def test_sigterm_answers_calls_in_flight_refuses_new_ones_and_exits(
    hold: Hold, upstream: Upstream
) -> None:
    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(1.5)
        return web.json_response({"late": "but answered"})

    upstream.routes["/items"] = slow
    port = free_port()
    proc = _start(hold, upstream, "rest_server", port, "5")
    base = f"http://127.0.0.1:{port}"
    try:
        await wait_for_port(port, timeout=60)
        async with aiohttp.ClientSession() as http:
            in_flight = asyncio.create_task(http.get(base + "/items"))
            await asyncio.sleep(0.5)
            proc.send_signal(signal.SIGTERM)
            await asyncio.sleep(0.3)
            with pytest.raises(aiohttp.ClientConnectionError):  # no longer accepting
                async with aiohttp.ClientSession() as fresh:
                    await fresh.get(base + "/health")
            resp = await in_flight
            assert resp.status == 200 and await resp.json() == {"late": "but answered"}
            resp.release()
        took = await _exited(proc, 5)
        assert took < 3, took  # as soon as the call in flight ended, not the whole grace
        assert proc.returncode in (0, -signal.SIGTERM)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)
    assert len(upstream.seen) == 1


@pytest.mark.parametrize("module", ["rest_server", "control_server"])
async def test_a_call_longer_than_the_grace_does_not_hold_up_the_exit(
    hold: Hold, upstream: Upstream, module: str
) -> None:
    async def stall(request: web.Request) -> web.Response:
        await asyncio.sleep(30)
        return web.json_response({})

    upstream.routes["/items"] = stall
    port = free_port()
    proc = _start(hold, upstream, module, port, "2")
    rest_port = port if module == "rest_server" else 18201  # the spec's port, under control
    try:
        await wait_for_port(rest_port, timeout=60, proc=proc)
        async with aiohttp.ClientSession() as http:
            call = asyncio.create_task(http.get(f"http://127.0.0.1:{rest_port}/items"))
            await asyncio.sleep(0.5)
            proc.send_signal(signal.SIGTERM)
            took = await _exited(proc, 8)
            assert took < 4, took  # the grace (2 s) and a little, never the upstream's 30 s
            with pytest.raises((aiohttp.ClientError, asyncio.TimeoutError)):
                await asyncio.wait_for(call, 5)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)
