"""Fallback load generator (used when ``wrk`` is not installed, or with BENCH_LOAD=python).

Run: python bench/loadclient.py '{"url": ..., "method": "GET", "body": "", "headers": {},
                                  "concurrency": 16, "duration": 5}'

Fixed concurrency, keep-alive (one connection per worker), runs for ``duration`` seconds and
prints ``{"requests": N, "seconds": S, "errors": E}``; a non-2xx answer counts as an error.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

import aiohttp


async def run(spec: dict) -> dict:  # type: ignore[type-arg]
    url, method = spec["url"], spec["method"]
    body = spec["body"].encode() or None
    headers = spec["headers"]
    concurrency, duration = int(spec["concurrency"]), float(spec["duration"])
    counts = {"requests": 0, "errors": 0}
    connector = aiohttp.TCPConnector(limit=concurrency, force_close=False)
    timeout = aiohttp.ClientTimeout(total=10)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
        start = time.perf_counter()
        deadline = start + duration

        async def worker() -> None:
            while time.perf_counter() < deadline:
                try:
                    async with http.request(method, url, data=body, headers=headers) as resp:
                        await resp.read()
                        if not 200 <= resp.status < 300:
                            counts["errors"] += 1
                except (aiohttp.ClientError, TimeoutError):
                    counts["errors"] += 1
                counts["requests"] += 1

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        seconds = time.perf_counter() - start
    return {"requests": counts["requests"], "seconds": seconds, "errors": counts["errors"]}


if __name__ == "__main__":
    print(json.dumps(asyncio.run(run(json.loads(sys.argv[1])))))
