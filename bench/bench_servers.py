"""Throughput, latency and memory of the generated Qovery servers against a local fake upstream.

Run:  .venv/bin/python bench/bench_servers.py [--requests 2000] [--concurrency 8]
Prints figures; asserts nothing. Everything runs on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import statistics
import sys
import time
from pathlib import Path

from aiohttp import ClientSession, web

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "generated")]

from tests.support import serve_aiohttp, serve_asgi  # noqa: E402

ENV_ID = "3f1b6a52-0c1e-4a57-9a64-2b0f4d5f6a11"


async def upstream(request: web.Request) -> web.Response:
    return web.json_response({"results": [{"id": ENV_ID, "name": "c1"}]})


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def timed(n: int, concurrency: int, call) -> list[float]:  # type: ignore[no-untyped-def]
    latencies: list[float] = []
    queue = iter(range(n))

    async def worker() -> None:
        for _ in queue:
            t = time.perf_counter()
            await call()
            latencies.append(time.perf_counter() - t)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies


def report(name: str, latencies: list[float], elapsed: float) -> None:
    q = statistics.quantiles(latencies, n=100)
    print(
        f"{name:28} {len(latencies) / elapsed:8.0f} req/s   p50 {q[49] * 1000:6.2f} ms"
        f"   p99 {q[98] * 1000:6.2f} ms   max RSS {rss_mib():6.1f} MiB"
    )


async def main(n: int, concurrency: int) -> None:
    app = web.Application()
    app.router.add_get("/environment/{id}/container", upstream)
    async with serve_aiohttp(app) as up:
        os.environ["QOVERY_API_KEY"] = "bench-token"
        os.environ["QOVERY_CONTAINERS_BASE_URL"] = up
        from qovery_containers import mcp_server, rest_server

        async with serve_aiohttp(rest_server.create_app()) as base, ClientSession() as http:
            url = f"{base}/v1/environment/{ENV_ID}/container"

            async def rest_call() -> None:
                async with http.get(url) as resp:
                    await resp.read()
                    assert resp.status == 200

            await timed(100, concurrency, rest_call)  # warm-up
            t = time.perf_counter()
            lat = await timed(n, concurrency, rest_call)
            report(f"REST GET (c={concurrency})", lat, time.perf_counter() - t)

        from mcp import Client

        async with serve_asgi(mcp_server.create_app()) as base:
            async with Client(base + "/mcp") as client:

                async def mcp_call() -> None:
                    result = await client.call_tool("list-containers", {"environmentId": ENV_ID})
                    assert not result.is_error

                await timed(50, 1, mcp_call)
                t = time.perf_counter()
                lat = await timed(n // 4, 1, mcp_call)
                report("MCP tools/call (sequential)", lat, time.perf_counter() - t)


def bench_generation() -> None:
    from generator.codegen import generate

    os.chdir(ROOT)
    t = time.perf_counter()
    generate([Path("specs")], Path("generated"))
    cold = time.perf_counter() - t
    t = time.perf_counter()
    generate([Path("specs")], Path("generated"))
    warm = time.perf_counter() - t
    print(
        f"{'generate specs/':28} cold {cold * 1000:7.0f} ms   warm (cached black) {warm * 1000:5.0f} ms"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    bench_generation()
    asyncio.run(main(args.requests, args.concurrency))
