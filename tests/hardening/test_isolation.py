"""Bullet 3: isolation by design. Five stalled operations with 40 callers each leave another
operation of the same upstream fast (p99 < 100 ms); each stalled operation holds at most its
own slots, and callers beyond them get 503 + Retry-After within the connect timeout."""

from __future__ import annotations

import asyncio
import time
from collections import Counter

import aiohttp
import pytest
from aiohttp import web

from .conftest import Hold, Upstream, serving

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

STALLED = ("a", "b", "c", "d", "e")
CALLERS = 40
CONCURRENCY = 32  # the default slots per operation


async def test_five_stalled_operations_leave_another_operation_fast(
    hold: Hold, env: dict[str, str], upstream: Upstream, monkeypatch: pytest.MonkeyPatch
) -> None:
    release = asyncio.Event()

    async def stall(request: web.Request) -> web.Response:
        await release.wait()
        return web.json_response({"late": True})

    for name in STALLED:
        upstream.routes[f"/stall/{name}"] = stall
    # Callers past the slots are refused after 4 s: after the healthy calls are measured.
    monkeypatch.setenv("UP_CONNECT_TIMEOUT", "4")
    monkeypatch.setenv("UP_TIMEOUT", "20")
    many = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
    try:
        async with serving(hold.rest.create_app()) as base:

            async def stalled(name: str) -> tuple[int, str | None, float]:
                started = time.monotonic()
                async with many.get(f"{base}/stall/{name}") as resp:
                    await resp.read()
                    return resp.status, resp.headers.get("Retry-After"), time.monotonic() - started

            callers = [asyncio.create_task(stalled(n)) for n in STALLED for _ in range(CALLERS)]
            for _ in range(100):  # until every slot of the stalled operations is taken
                if len(upstream.seen) >= len(STALLED) * CONCURRENCY:
                    break
                await asyncio.sleep(0.05)
            latencies: list[float] = []

            async def healthy(rounds: int) -> None:
                for _ in range(rounds):
                    started = time.monotonic()
                    async with many.get(base + "/items") as resp:
                        assert resp.status == 200
                        await resp.read()
                    latencies.append(time.monotonic() - started)

            # Warm: the five callers' connections and the server's upstream connections are
            # opened first, outside the measurement (the claim is about a running server; on a
            # loaded CI machine the cold first round once took 370 ms).
            await asyncio.gather(*(healthy(1) for _ in range(5)))
            latencies.clear()
            await asyncio.gather(*(healthy(20) for _ in range(5)))
            latencies.sort()
            p99 = latencies[int(len(latencies) * 0.99) - 1]
            assert p99 < 0.1, (p99, latencies[-5:])
            # Callers beyond an operation's slots are told to come back after the connect timeout.
            done, _ = await asyncio.wait(callers, timeout=8)
            refused = [t.result() for t in done]
            assert len(refused) == len(STALLED) * (CALLERS - CONCURRENCY)
            assert {(s, r) for s, r, _ in refused} == {(503, "1")}
            assert max(t for _, _, t in refused) < 10  # 4 s, and room for a loaded machine
            in_flight = Counter(s.path for s in upstream.seen if s.path.startswith("/stall/"))
            assert in_flight == {f"/stall/{n}": CONCURRENCY for n in STALLED}
            release.set()
            answered = await asyncio.gather(*callers)
            assert Counter(s for s, _, _ in answered) == {
                200: len(STALLED) * CONCURRENCY,
                503: len(STALLED) * (CALLERS - CONCURRENCY),
            }
    finally:
        release.set()
        await many.close()


async def test_slots_are_handed_over_in_arrival_order(hold: Hold) -> None:
    runtime = __import__(hold.upstream.__name__.rsplit(".", 1)[0] + "._limits", fromlist=["x"])
    slots = runtime.Slots(1)
    slots.used = 1
    order: list[int] = []

    async def waiter(i: int) -> None:
        await slots.wait(5)
        order.append(i)
        await asyncio.sleep(0)
        slots.release()

    tasks = [asyncio.create_task(waiter(i)) for i in range(20)]
    await asyncio.sleep(0)
    tasks[3].cancel()  # one gives up: its turn is skipped, its slot not lost
    slots.release()
    await asyncio.gather(*tasks, return_exceptions=True)
    assert order == [i for i in range(20) if i != 3]
    assert slots.used == 0 and not slots.waiting
