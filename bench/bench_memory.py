"""Issue #13: memory under large upstream answers, and the MCP result cap.

Run: .venv/bin/python bench/bench_memory.py [--size-mib 60] [--callers 8]

A local upstream (its own process) answers the seed's list call with a body of --size-mib MiB.
Then, each server in a fresh process of its own:

* REST: --callers concurrent GETs of the list route; the answer is relayed unmapped, so the
  server streams it. Printed: the server's peak RSS (VmHWM) and the bytes each caller got.
* MCP: --callers/2 concurrent tools/call of list-containers; a result over the cap (4 MiB) is an
  isError result naming the limit. Printed: peak RSS, what the callers got, the time taken.

Goal (issue #13): REST peak RSS < 200 MB for 8 concurrent 60 MiB answers.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as c

UPSTREAM = """
import sys
from aiohttp import web
SIZE = int(sys.argv[2]) * 1024 * 1024
CHUNK = b'{"results": [' + b'{"id": "x"},' * 8000
async def answer(request):
    response = web.StreamResponse(headers={"Content-Type": "application/json"})
    response.content_length = SIZE
    await response.prepare(request)
    sent = 0
    while sent < SIZE:
        piece = CHUNK[: SIZE - sent]
        await response.write(piece)
        sent += len(piece)
    await response.write_eof()
    return response
app = web.Application()
app.router.add_route("*", "/{tail:.*}", answer)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)
"""


async def rest_callers(url: str, callers: int) -> list[int]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=300)) as http:

        async def one() -> int:
            got = 0
            async with http.get(url) as resp:
                assert resp.status == 200, resp.status
                async for chunk in resp.content.iter_chunked(1 << 20):
                    got += len(chunk)
            return got

        return list(await asyncio.gather(*(one() for _ in range(callers))))


async def mcp_callers(url: str, callers: int) -> list[str]:
    call = {
        "jsonrpc": "2.0", "id": 1, "method": "tools/call",
        "params": {"name": "list-containers", "arguments": {"environmentId": c.ENV_ID}},
    }  # fmt: skip
    headers = {
        "Content-Type": "application/json",
        "Accept": "application/json, text/event-stream",
        "MCP-Protocol-Version": "2025-11-25",
    }
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=300)) as http:

        async def one() -> str:
            async with http.post(url, json=call, headers=headers) as resp:
                result = (await resp.json())["result"]
                text: str = result["content"][0]["text"]
                return f"isError={result.get('isError')}: {text[:90]}"

        return list(await asyncio.gather(*(one() for _ in range(callers))))


def _listening(port: int) -> bool:
    import socket

    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=60)
    parser.add_argument("--callers", type=int, default=8)
    args = parser.parse_args()
    print(c.machine_line())
    up_port = c.free_port()
    upstream = c.spawn([sys.executable, "-c", UPSTREAM, str(up_port), str(args.size_mib)])
    base = f"http://127.0.0.1:{up_port}"
    c.wait_until(lambda: _listening(up_port), upstream, what="upstream")
    env = {"PYTHONPATH": str(c.GENERATED), "QOVERY_API_KEY": c.TOKEN,
           "QOVERY_CONTAINERS_BASE_URL": base, "QOVERY_CONTAINERS_TIMEOUT": "300"}  # fmt: skip
    rows = []

    port = c.free_port()
    rest = c.spawn(
        [sys.executable, "-m", "qovery_containers.rest_server", "--port", str(port), "--quiet"],
        env=env,
    )
    c.wait_until(lambda: c.http(f"http://127.0.0.1:{port}/health")[0] == 200, rest, what="REST")
    idle = c.rss_mib(rest.pid)
    started = time.monotonic()
    got = asyncio.run(
        rest_callers(f"http://127.0.0.1:{port}/v1/environment/{c.ENV_ID}/container", args.callers)
    )
    took = time.monotonic() - started
    peak = c.rss_mib(rest.pid, "VmHWM")
    c.stop(rest)
    rows.append(["REST pass-through (streamed)", str(args.callers), f"{idle:.1f}", f"{peak:.1f}",
                 f"{took:.1f}", f"each caller got {got[0] / 2**20:.0f} MiB"])  # fmt: skip

    port = c.free_port()
    mcp = c.spawn(
        [sys.executable, "-m", "qovery_containers.mcp_server", "--port", str(port), "--quiet"],
        env=env,
    )
    c.wait_until(lambda: c.http(f"http://127.0.0.1:{port}/health")[0] == 200, mcp, what="MCP")
    idle = c.rss_mib(mcp.pid)
    callers = max(1, args.callers // 2)
    started = time.monotonic()
    answers = asyncio.run(mcp_callers(f"http://127.0.0.1:{port}/mcp", callers))
    took = time.monotonic() - started
    peak = c.rss_mib(mcp.pid, "VmHWM")
    c.stop(mcp)
    rows.append(["MCP tools/call (capped at 4 MiB)", str(callers), f"{idle:.1f}", f"{peak:.1f}",
                 f"{took:.1f}", answers[0]])  # fmt: skip
    c.stop(upstream)
    print(f"# upstream answer: {args.size_mib} MiB of JSON, Content-Length set")
    c.print_table(["server", "callers", "idle RSS MiB", "peak RSS MiB", "seconds", "result"], rows)
    print(json.dumps({"goal": "REST peak RSS < 200 MB"}))


if __name__ == "__main__":
    main()
