"""`--workers N`: the generated servers run as N processes sharing one port (issue #23).

Each test starts the committed qovery_containers server as a subprocess with `--workers 2` on
port 0 (the parent binds first, so both workers share the port it got), drives it with a real
HTTP client through to the fake Qovery, and stops it with SIGTERM to the parent.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import aiohttp
import pytest

from .harness import (
    ENV_BASE_URL,
    ENV_TOKEN,
    GENERATED_DIR,
    FakeQovery,
    import_generated,
    require_generated,
)

require_generated()

pytestmark = pytest.mark.anyio

TOKEN = "qv-workers-e2e-7c1d"
ENV = "5d0c8a4e-2b1f-4c7e-9a3d-0e6f1b2c3d4e"
BANNER = re.compile(r" on (http://[^\s/]+)\S* .*, 2 workers \(pids (\d+), (\d+)\)")
MCP_HEADERS = {
    "Content-Type": "application/json",
    "Accept": "application/json, text/event-stream",
    "MCP-Protocol-Version": "2025-11-25",
}


@dataclass
class Workers:
    url: str
    proc: asyncio.subprocess.Process
    pids: list[int]
    log: list[str] = field(default_factory=list)  # its stderr lines, once it has stopped


@asynccontextmanager
async def two_workers(
    module: str, fake: FakeQovery, *args: str, by_env: bool = False
) -> AsyncIterator[Workers]:
    """`python -m <module> --port 0 --workers 2 *args` (`by_env`: NAFTIKO_WORKERS=2 instead);
    yields once its banner names both workers, then stops it (SIGTERM) if the test has not, and
    reads the rest of its stderr."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("QOVERY_", "NAFTIKO_"))}
    env.update({"PYTHONPATH": str(GENERATED_DIR), "PYTHONUNBUFFERED": "1"})
    env.update({ENV_TOKEN: TOKEN, ENV_BASE_URL: fake.base_url})
    if by_env:
        env["NAFTIKO_WORKERS"] = "2"
    workers = [] if by_env else ["--workers", "2"]
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", module, "--host", "127.0.0.1", "--port", "0", *workers,
        *args, cwd=GENERATED_DIR, env=env, stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert proc.stderr is not None
    seen: list[str] = []
    try:
        async with asyncio.timeout(30):
            while not (found := BANNER.search(seen[-1] if seen else "")):
                line = (await proc.stderr.readline()).decode()
                assert line, f"exited before its banner: {''.join(seen)}"
                seen.append(line)
        yield Workers(found[1], proc, [int(found[2]), int(found[3])], seen)
    finally:
        if proc.returncode is None:
            proc.terminate()
        async with asyncio.timeout(15):
            rest = await proc.stderr.read()
            await proc.wait()
        seen.extend(rest.decode().splitlines(keepends=True))


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def parent_of(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as f:
        return int(f.read().rpartition(")")[2].split()[1])


async def test_rest_two_workers_both_answer_and_sigterm_stops_both(fake: FakeQovery) -> None:
    async with two_workers("qovery_containers.rest_server", fake) as w:
        assert all(alive(pid) for pid in w.pids)
        if sys.platform.startswith("linux"):
            assert {parent_of(pid) for pid in w.pids} == {w.proc.pid}
        # A connection each: the kernel spreads new connections over the workers' sockets.
        connector = aiohttp.TCPConnector(force_close=True)
        async with aiohttp.ClientSession(connector=connector) as http:
            for _ in range(24):
                async with http.get(f"{w.url}/v1/environment/{ENV}/container") as r:
                    assert r.status == 200
                    assert await r.json() == fake.last.response_json
        w.proc.send_signal(signal.SIGTERM)
        async with asyncio.timeout(15):
            assert await w.proc.wait() == 0
    assert not any(alive(pid) for pid in w.pids), w.log
    access = [line.split()[0] for line in w.log if " /v1/environment/" in line]
    # 24 calls answered, each logged by the worker that took it: both took some.
    assert len(access) == 24 and set(access) == {"[w1]", "[w2]"}, w.log
    assert len(fake.requests) == 24
    assert all(r.authorization == f"Bearer {TOKEN}" for r in fake.requests)
    assert not any("Traceback" in line or "error" in line for line in w.log), w.log


async def test_a_worker_that_dies_stops_the_other_and_the_parent_exits_1(
    fake: FakeQovery,
) -> None:
    """NAFTIKO_WORKERS=2 (no flag) asks for the two workers here."""
    async with two_workers("qovery_containers.rest_server", fake, "--quiet", by_env=True) as w:
        os.kill(w.pids[0], signal.SIGKILL)
        async with asyncio.timeout(15):
            assert await w.proc.wait() == 1
    assert not alive(w.pids[1])
    said = f"error: worker 1 (pid {w.pids[0]}) was killed by SIGKILL; stopping the others\n"
    assert said in w.log, w.log


@pytest.mark.parametrize("sdk", [[], ["--sdk"]], ids=["fast", "sdk"])
async def test_mcp_two_workers_answer_a_call(fake: FakeQovery, sdk: list[str]) -> None:
    call = {
        "jsonrpc": "2.0", "id": 1, "method": "tools/call",
        "params": {"name": "list-containers", "arguments": {"environmentId": ENV}},
    }  # fmt: skip
    async with two_workers("qovery_containers.mcp_server", fake, *sdk) as w:
        async with (
            aiohttp.ClientSession() as http,
            http.post(f"{w.url}/mcp", json=call, headers=MCP_HEADERS) as r,
        ):
            assert r.status == 200, await r.text()
            result = (await r.json())["result"]
    assert w.proc.returncode == 0, w.log
    assert not any(alive(pid) for pid in w.pids)
    assert len(fake.requests) == 1 and fake.last.raw_path == f"/environment/{ENV}/container"
    assert result["structuredContent"] == fake.last.response_json


def test_worker_counts() -> None:
    serve = import_generated("_serve")
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    assert [serve.worker_count(t) for t in ("1", "3", "0")] == [1, 3, cores]
    for bad in ("-1", "two", "1.5", ""):
        with pytest.raises(argparse.ArgumentTypeError, match="not a number of workers"):
            serve.worker_count(bad)
