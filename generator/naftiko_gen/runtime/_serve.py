"""Running a generated aiohttp server (REST, MCP): its socket, event loop and access lines."""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import logging
import os
import signal
import socket
import sys
import time
from collections.abc import Callable
from typing import ClassVar

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

from ._config import shutdown_grace
from ._guard import hide_request_lines

LOG = logging.getLogger("naftiko.access")
FLUSH_SECONDS = 0.05
LISTEN_BACKLOG = 128  # aiohttp's default; its site listens again with its own


def _process_start() -> float:
    """When this process started, on time.monotonic()'s clock (Linux: from /proc, so that
    interpreter start-up and imports count); elsewhere, now."""
    now = time.monotonic()
    try:
        with open("/proc/self/stat", "rb") as f:
            ticks = int(f.read().rpartition(b")")[2].split()[19])  # field 22, starttime
        age = time.clock_gettime(time.CLOCK_BOOTTIME) - ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, AttributeError):
        return now
    return now - age if 0 <= age < 3600 else now


def listen(host: str, port: int) -> socket.socket:
    """The listening socket; a port in use is one line naming it, not a traceback."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        # Listening here, not in the server: two sockets with SO_REUSEADDR may both bind a port
        # that nobody listens on yet, and uvloop's create_server(sock=...) does not report the
        # second one's failed listen: it would print "ready" on a port another process has.
        sock.listen(LISTEN_BACKLOG)
    except OSError as exc:
        sock.close()
        if exc.errno in (98, 48, 10048):  # EADDRINUSE on Linux, macOS, Windows
            sys.exit(f"error: port {port} on {host} is already in use; choose another with --port")
        sys.exit(f"error: cannot listen on {host}:{port}: {exc.strerror or exc}")
    return sock


def event_loop() -> asyncio.AbstractEventLoop:
    """uvloop's event loop when it is installed (the servers' requirements list it), else
    asyncio's; NAFTIKO_EVENT_LOOP=asyncio chooses asyncio's. uvloop runs a proxied call in
    about 18 % fewer instructions (docs/benchmarks.md)."""
    if os.environ.get("NAFTIKO_EVENT_LOOP", "uvloop") == "uvloop":
        try:
            import uvloop
        except ImportError:  # not built for this platform (Windows): asyncio's loop serves
            pass
        else:
            return uvloop.new_event_loop()
    return asyncio.new_event_loop()


class AccessLog(AbstractAccessLogger):
    """One line per request to stderr: method, path, status, milliseconds (never headers or
    the query). Lines are written straight to stderr in batches, at most FLUSH_SECONDS late
    (and at exit), rather than as a `logging` record and a write each: those cost more than
    10 % of a proxied call under load."""

    pending: ClassVar[list[str]] = []  # one buffer for the process, shared by every instance

    def log(self, request: web.BaseRequest, response: web.StreamResponse, duration: float) -> None:
        if not self.pending:
            asyncio.get_running_loop().call_later(FLUSH_SECONDS, self.flush)
        path = request.raw_path.partition("?")[0]  # as sent: percent-encoded, one line
        self.pending.append(f"{request.method} {path} {response.status} {duration * 1000:.1f}ms\n")

    @classmethod
    def flush(cls) -> None:
        lines, cls.pending = cls.pending, []
        sys.stderr.write("".join(lines))
        sys.stderr.flush()

    @property
    def enabled(self) -> bool:
        return self.logger.isEnabledFor(logging.INFO)


def run(
    app: web.Application, host: str, port: int, banner: Callable[[str], str], quiet: bool
) -> None:
    """Serve `app` until interrupted (SIGINT, SIGTERM); `banner(base_url)` is printed once
    listening, with the seconds start-up took, and each request is logged unless `quiet`.

    Stopping: the socket stops accepting at once (new callers are refused), calls in flight
    have NAFTIKO_SHUTDOWN_GRACE seconds (default 8) to finish and be answered, then the rest
    are cut and the process exits: within Kubernetes' grace period (deploy-files sets it)."""
    started = _process_start()
    sock = listen(host, port)
    logging.basicConfig(level=logging.WARNING if quiet else logging.INFO, format="%(message)s")
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{sock.getsockname()[1]}"

    hide_request_lines()
    atexit.register(AccessLog.flush)  # what the last FLUSH_SECONDS logged

    def ready() -> None:
        line = f"{banner(url)}, ready {time.monotonic() - started:.2f} s after start"
        print(line, file=sys.stderr, flush=True)

    runner = web.AppRunner(
        app,
        handle_signals=False,
        access_log=None if quiet else LOG,
        access_log_class=AccessLog,
        shutdown_timeout=shutdown_grace(),
        # Idle connections, and ones whose request headers stall, are closed after this.
        keepalive_timeout=float(os.environ.get("NAFTIKO_HEADER_TIMEOUT", "10")),
    )
    loop = event_loop()
    asyncio.set_event_loop(loop)
    try:
        loop.run_until_complete(_serve(runner, sock, ready))
    finally:
        loop.close()


async def _serve(runner: web.AppRunner, sock: socket.socket, ready: Callable[[], None]) -> None:
    """Serve until SIGINT/SIGTERM, then stop within the grace: aiohttp's own stop may take
    twice its shutdown_timeout (one wait for handlers, one for their cancellation)."""
    await runner.setup()
    await web.SockSite(runner, sock).start()
    ready()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):  # Windows: Ctrl-C still ends the process
            loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    try:
        async with asyncio.timeout(shutdown_grace() + 0.5):
            await runner.cleanup()  # stops accepting, lets calls finish, cuts the rest
    except TimeoutError:
        pass
