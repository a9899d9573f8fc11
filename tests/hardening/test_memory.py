"""Bullet 4: memory is bounded in total. Eight concurrent 60 MiB answers on a mapped route
keep the server under 400 MB (peak RSS), alive, and every caller answered (200, or 503 with
Retry-After beyond the body budget); `forward` streams them all."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections import Counter

import aiohttp
import pytest
from aiohttp import web

from tests.e2e.harness import free_port, wait_for_port

from .conftest import CALLER_TOKEN, UP_KEY, Hold, Upstream

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

MIB = 1024 * 1024
BIG = json.dumps({"blob": "x" * (60 * MIB), "n": 1}).encode()


def _peak_rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


async def test_eight_60_mib_answers_stay_within_the_memory_budget(
    hold: Hold, upstream: Upstream
) -> None:
    async def big(request: web.Request) -> web.Response:
        return web.Response(body=BIG, content_type="application/json")

    upstream.routes["/big"] = big
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(hold.out), "HOLD_UP_KEY": UP_KEY,
           "HOLD_CALLER_TOKEN": CALLER_TOKEN, "UP_BASE_URL": upstream.url}  # fmt: skip
    proc = subprocess.Popen(
        [sys.executable, "-m", "hold.rest_server", "--port", str(port), "--quiet"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    timeout = aiohttp.ClientTimeout(total=60)
    try:
        await wait_for_port(port, timeout=60)
        async with aiohttp.ClientSession(timeout=timeout) as http:

            async def get(path: str) -> tuple[int, int, str | None]:
                async with http.get(base + path) as resp:
                    size = 0
                    async for chunk in resp.content.iter_chunked(MIB):
                        size += len(chunk)
                    return resp.status, size, resp.headers.get("Retry-After")

            mapped = await asyncio.gather(*(get("/big") for _ in range(8)))
            statuses = Counter(s for s, _, _ in mapped)
            assert set(statuses) <= {200, 503} and statuses[200] >= 1, statuses
            assert all(size >= 60 * MIB for s, size, _ in mapped if s == 200)
            assert all(retry == "1" for s, _, retry in mapped if s == 503)
            # Once the others are done, a retry is served.
            assert (await get("/big"))[0] == 200
            forwarded = await asyncio.gather(*(get("/fw/big") for _ in range(8)))
            assert [(s, size) for s, size, _ in forwarded] == [(200, len(BIG))] * 8
            async with http.get(base + "/health") as resp:
                assert resp.status == 200
        peak = _peak_rss_mb(proc.pid)
        assert proc.poll() is None
        print(f"peak RSS {peak:.0f} MB, mapped {sorted(statuses.items())}")
        assert peak < 400, f"peak RSS {peak:.0f} MB"
    finally:
        proc.terminate()
        proc.wait(timeout=20)
