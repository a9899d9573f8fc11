"""Servers that hold, round 2 (issue #20): the generated servers of specs/hold.yaml, run for
real on 127.0.0.1 against a recording upstream, a fault upstream or a stalling one."""

from __future__ import annotations

import asyncio
import importlib
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

import aiohttp
import pytest
from aiohttp import web

from tests.support import build

SPEC = Path(__file__).resolve().parent / "specs" / "hold.yaml"
UP_KEY = "uk-sEcr3t-7731"
CALLER_TOKEN = "ct-9f8e-caller"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("hold")
    assert build(SPEC, out) == "hold"
    return out


@dataclass
class Hold:
    """The built package's modules."""

    out: Path
    rest: ModuleType
    locked: ModuleType
    mcp: ModuleType
    control: ModuleType
    upstream: ModuleType


@pytest.fixture
def hold(built: Path) -> Hold:
    """The modules, imported afresh (other tests build packages of other names only)."""
    for name in [n for n in sys.modules if n == "hold" or n.startswith("hold.")]:
        del sys.modules[name]
    sys.path.insert(0, str(built))
    try:
        found = [importlib.import_module(f"hold.{m}") for m in MODULES]
    finally:
        sys.path.remove(str(built))
    return Hold(built, *found)


MODULES = ("rest_server", "rest_server_locked", "mcp_server", "control_server", "upstream")


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes


@dataclass
class Upstream:
    """A recording upstream: each request is kept; `routes[path]` answers it (else 200 {})."""

    url: str = ""
    seen: list[Seen] = field(default_factory=list)
    routes: dict[str, Handler] = field(default_factory=dict)


@asynccontextmanager
async def recording_upstream() -> AsyncIterator[Upstream]:
    up = Upstream()

    async def any_request(request: web.Request) -> web.StreamResponse:
        up.seen.append(
            Seen(request.method, request.path, dict(request.query), dict(request.headers),
                 await request.read())
        )  # fmt: skip
        handler = up.routes.get(request.path)
        if handler is not None:
            return await handler(request)
        return web.json_response({"ok": True, "path": request.path})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", any_request)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    up.url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        yield up
    finally:
        await runner.cleanup()


@pytest.fixture
async def upstream() -> AsyncIterator[Upstream]:
    async with recording_upstream() as up:
        yield up


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, upstream: Upstream) -> dict[str, str]:
    values = {"HOLD_UP_KEY": UP_KEY, "HOLD_CALLER_TOKEN": CALLER_TOKEN, "UP_BASE_URL": upstream.url}
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return values


@asynccontextmanager
async def serving(app: web.Application) -> AsyncIterator[str]:
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as s:
        yield s


async def raw_request(url: str, request: bytes, timeout: float = 10) -> bytes:
    """Send raw bytes to the server of `url`; its whole answer (until it closes)."""
    host, _, port = url.removeprefix("http://").partition(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write(request)
        await writer.drain()
        return await asyncio.wait_for(reader.read(), timeout)
    finally:
        writer.close()
