"""The control adapter: probes, status and Prometheus metrics on a port of their own.

The control server runs the spec's HTTP servers (REST, MCP) in its own process and event loop,
so /metrics counts what they serve and call (metrics are process-local), and /health/ready
answers 200 once every one of them listens with its upstream client open (the configuration
was loaded before: a missing secret stops start-up). A server started on its own, without
the control server, still counts, but nothing reads its counters.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
import sys
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler

from . import _metrics, _serve
from ._config import shutdown_grace
from ._guard import Policy, hide_request_lines

Allows = Callable[[Mapping[str, str], Mapping[str, str]], bool]
LOG = logging.getLogger("naftiko.control")
PROBES = ("/health/live", "/health/ready")
# Set by _tracing.setup when the spec's observability asks for traces: a server kind ("rest",
# "mcp") → the aiohttp middleware that makes each request a span.
SERVER_MIDDLEWARE: Callable[[str], Any] | None = None


@dataclass
class Served:
    """One of the spec's servers, run by the control server."""

    name: str  # e.g. "rest pets", "mcp tools"
    host: str
    port: int
    start: Callable[[socket.socket | None], Awaitable[int]]  # listens (there); the bound port
    stop: Callable[[], Awaitable[None]]
    ready: bool = False


def aiohttp_server(name: str, app: web.Application, host: str, port: int) -> Served:
    if SERVER_MIDDLEWARE is not None:
        app.middlewares.insert(0, SERVER_MIDDLEWARE(name.split()[0]))
    # Stopping lets calls in flight finish for the grace period (aiohttp's default is 60 s).
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=shutdown_grace())

    async def start(sock: socket.socket | None = None) -> int:
        await runner.setup()  # cleanup contexts: the upstream client opens here
        site = web.TCPSite(runner, host, port) if sock is None else web.SockSite(runner, sock)
        await site.start()
        return _bound(runner.addresses, port)

    return Served(name, host, port, start, runner.cleanup)


def _bound(addresses: Sequence[Any], wanted: int) -> int:
    for address in addresses:
        if isinstance(address, tuple) and len(address) >= 2:
            return int(address[1])
    return wanted


@dataclass
class Control:
    capability: str
    version: str
    adapters: list[dict[str, Any]]
    servers: list[Served] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)

    def application(
        self, health: bool, info: bool, metrics: bool, allows: Allows | None = None,
        challenge: str = "Bearer", traces: Any = None, policy: Policy | None = None,
    ) -> web.Application:  # fmt: skip
        """`traces`: the _tracing.Tracing whose /traces endpoints this port serves. `policy`:
        the Host and Origin checks of the REST and MCP servers (default: those of a loopback
        server), before the credentials; probes pass only them."""
        policy = policy or Policy.for_bind("127.0.0.1")
        guards = [_browser(policy)] + ([_guard(allows, challenge)] if allows else [])
        app = web.Application(middlewares=guards)
        if traces is not None:
            traces.add_routes(app)
        if health:
            app.router.add_get("/health/live", self.live)
            app.router.add_get("/health/ready", self.ready)
        if info:
            app.router.add_get("/status", self.status)
        if metrics:
            app.router.add_get("/metrics", self.metrics)
        return app

    async def live(self, request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def ready(self, request: web.Request) -> web.Response:
        servers = {s.name: "ready" if s.ready else "starting" for s in self.servers}
        ok = all(s.ready for s in self.servers)
        body = {"status": "ready" if ok else "starting", "servers": servers}
        return web.json_response(body, status=200 if ok else 503)

    async def status(self, request: web.Request) -> web.Response:
        return web.json_response(
            {
                "capability": self.capability,
                "version": self.version,
                "adapters": self.adapters,
                "uptime": round(time.monotonic() - self.started, 3),
            }
        )

    async def metrics(self, request: web.Request) -> web.Response:
        return web.Response(
            text=_metrics.exposition(), content_type="text/plain", charset="utf-8",
            headers={"X-Content-Type-Options": "nosniff"},
        )  # fmt: skip

    async def start(
        self, control_app: web.Application, host: str, port: int,
        sockets: Sequence[socket.socket] = (),
    ) -> list[int]:  # fmt: skip
        """Start the control port, then each server (on `sockets`, control first, when bound
        already); the bound ports, control first."""
        runner = web.AppRunner(control_app, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        given: list[socket.socket | None] = list(sockets) or [None] * (len(self.servers) + 1)
        first = given[0]
        site = web.TCPSite(runner, host, port) if first is None else web.SockSite(runner, first)
        await site.start()
        self._runner = runner
        ports = [_bound(runner.addresses, port)]
        for served, sock in zip(self.servers, given[1:], strict=True):
            ports.append(await served.start(sock))
            served.ready = True
        return ports

    async def stop(self) -> None:
        """All servers at once: each lets its calls finish within one grace period, so the
        process exits within it too (not one grace period per server)."""
        for served in self.servers:
            served.ready = False
        await asyncio.gather(*(served.stop() for served in reversed(self.servers)))
        await self._runner.cleanup()


def _browser(policy: Policy) -> Any:
    """Host (DNS rebinding), Origin and fetch metadata (web pages), as the other servers do:
    /status names the adapters, /metrics what they call."""

    @web.middleware
    async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
        got = request.headers
        refused = policy.refuse(got.get("Host"), got.get("Origin"), got.get("Sec-Fetch-Site"))
        if refused is not None:
            status, message = refused
            return web.json_response({"error": message, "status": status}, status=status)
        return await handler(request)

    return guard


def _guard(allows: Allows, challenge: str) -> Any:
    @web.middleware
    async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path not in PROBES and not allows(request.headers, request.query):
            body = {"error": "missing or invalid credentials", "status": 401}
            return web.json_response(body, status=401, headers={"WWW-Authenticate": challenge})
        return await handler(request)

    return guard


def run(
    control: Control, control_app: web.Application, host: str, port: int, workers: int = 1
) -> None:
    """Serve until interrupted, in `workers` processes (_serve.start); a port in use is one
    line naming it, not a traceback. With several workers each has its own counters, traces
    and readiness: a probe or a scrape answers for the worker that took it."""
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    hide_request_lines()

    def announce(ports: list[int], note: str) -> None:
        LOG.warning("control on %s%s", _serve.base_url(host, ports[0]), note)
        for served, bound in zip(control.servers, ports[1:], strict=True):
            LOG.warning("%s on %s", served.name, _serve.base_url(served.host, bound))

    def serve(sockets: list[socket.socket], ready: Callable[[], None]) -> None:
        asyncio.run(_main(control, control_app, host, port, sockets, ready))

    addresses = [(host, port), *((s.host, s.port) for s in control.servers)]
    _serve.start(addresses, workers, serve, announce)


async def _main(
    control: Control, control_app: web.Application, host: str, port: int,
    sockets: list[socket.socket], ready: Callable[[], None],
) -> None:  # fmt: skip
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await control.start(control_app, host, port, sockets)
    except OSError as exc:
        sys.exit(f"error: cannot listen: {exc.strerror or exc}")
    ready()
    await stop.wait()
    try:  # aiohttp may take twice its shutdown_timeout: the grace bounds the whole stop
        async with asyncio.timeout(shutdown_grace() + 0.5):
            await control.stop()
    except TimeoutError:
        pass
