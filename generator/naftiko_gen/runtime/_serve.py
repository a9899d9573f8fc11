"""Running a generated aiohttp server (REST, MCP): its socket, event loop and access lines,
in one process or in `--workers N` processes sharing the port.

Workers: the parent binds every address first (so port 0 is one port for all), forks N workers
and supervises them; it answers no request itself. On Linux each worker listens on a socket of
its own bound with SO_REUSEPORT, and the kernel spreads new connections over them (the parent's
bound, never listening socket keeps the port reserved). Elsewhere (macOS and the BSDs, whose
SO_REUSEPORT does not balance) the parent listens and the workers accept from that one inherited
socket. Windows has no fork: `--workers` above 1 is refused there.

SIGTERM or SIGINT to the parent reaches every worker, each stops as one server does (calls in
flight get the shutdown grace), and the parent kills what is left a second after the grace. A
worker that dies on its own stops the others and the parent exits 1: the process supervisor
(Kubernetes, systemd, Docker) restarts the whole server, rather than a server running on fewer
workers than asked, or restarting a crashing worker in a loop, while looking healthy.
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import contextlib
import logging
import os
import signal
import socket
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from types import FrameType
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


# Workers listen on sockets of their own and the kernel balances them (Linux's SO_REUSEPORT).
BALANCED = sys.platform.startswith("linux") and hasattr(socket, "SO_REUSEPORT")
STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM}
# Announces the ready server: the bound ports, and "" or ", N workers (pids ...)".
Announce = Callable[[list[int], str], None]
# Serves the listening sockets until stopped, calling `ready` once it accepts calls.
Serve = Callable[[list[socket.socket], Callable[[], None]], None]


def worker_count(text: str) -> int:
    """--workers N: N processes; 0 means one per core this process may use."""
    try:
        count = int(text)
    except ValueError:
        count = -1
    if count < 0:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a number of workers: a whole number, 0 for one per core"
        )
    return count or cores()


def cores() -> int:
    """The cores this process may run on (its CPU affinity where the platform says); a
    container's CPU quota is not a count of cores, so with one, say N rather than 0."""
    counted = getattr(os, "process_cpu_count", None)  # Python 3.13+
    if counted is not None:
        return max(1, counted() or 1)
    affinity = getattr(os, "sched_getaffinity", None)  # Linux
    if affinity is not None:
        return max(1, len(affinity(0)))
    return max(1, os.cpu_count() or 1)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--workers", type=worker_count, default=os.environ.get("NAFTIKO_WORKERS", "1"),
        metavar="N", help="processes sharing the port (0: one per core; default 1; "
        "NAFTIKO_WORKERS)",
    )  # fmt: skip


def listen(host: str, port: int, reuse_port: bool = False, listening: bool = True) -> socket.socket:
    """The listening socket; a port in use is one line naming it, not a traceback.
    `listening=False`: bound only (the first process of several workers on Linux holds the port
    so: a listening socket would join the SO_REUSEPORT group and be handed connections that
    nobody accepts)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((host, port))
        if not listening:
            return sock
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
    tag: ClassVar[str] = ""  # "[w2] " in worker 2 of several

    def log(self, request: web.BaseRequest, response: web.StreamResponse, duration: float) -> None:
        if not self.pending:
            asyncio.get_running_loop().call_later(FLUSH_SECONDS, self.flush)
        path = request.raw_path.partition("?")[0]  # as sent: percent-encoded, one line
        line = f"{self.tag}{request.method} {path} {response.status} {duration * 1000:.1f}ms\n"
        self.pending.append(line)

    @classmethod
    def flush(cls) -> None:
        lines, cls.pending = cls.pending, []
        sys.stderr.write("".join(lines))
        sys.stderr.flush()

    @property
    def enabled(self) -> bool:
        return self.logger.isEnabledFor(logging.INFO)


def run(
    app: web.Application,
    host: str,
    port: int,
    banner: Callable[[str], str],
    quiet: bool,
    workers: int = 1,
) -> None:
    """Serve `app` until interrupted (SIGINT, SIGTERM) in `workers` processes; `banner(base_url)`
    is printed once listening, with the seconds start-up took, and each request is logged unless
    `quiet` (tagged "[wN]" with several workers).

    Stopping: the socket stops accepting at once (new callers are refused), calls in flight
    have NAFTIKO_SHUTDOWN_GRACE seconds (default 8) to finish and be answered, then the rest
    are cut and the process exits: within Kubernetes' grace period (deploy-files sets it)."""
    started = _process_start()
    logging.basicConfig(level=logging.WARNING if quiet else logging.INFO, format="%(message)s")
    hide_request_lines()
    atexit.register(AccessLog.flush)  # what the last FLUSH_SECONDS logged

    def announce(ports: list[int], note: str) -> None:
        line = f"{banner(base_url(host, ports[0]))}{note}, ready {time.monotonic() - started:.2f} s after start"
        print(line, file=sys.stderr, flush=True)

    def serve(sockets: list[socket.socket], ready: Callable[[], None]) -> None:
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
            loop.run_until_complete(_serve(runner, sockets[0], ready))
        finally:
            loop.close()

    start([(host, port)], workers, serve, announce)


def base_url(host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


def start(
    addresses: Sequence[tuple[str, int]], workers: int, serve: Serve, announce: Announce
) -> None:
    """Bind `addresses` and serve them: in this process, or in `workers` forked ones."""
    if workers <= 1:
        sockets = [listen(host, port) for host, port in addresses]
        ports = [sock.getsockname()[1] for sock in sockets]
        serve(sockets, lambda: announce(ports, ""))
        return
    if not hasattr(os, "fork"):
        sys.exit("error: --workers above 1 needs fork, which this platform lacks (Windows): run "
                 "several servers on their own ports behind a balancer")  # fmt: skip
    sys.exit(_supervise(addresses, workers, serve, announce))


def _supervise(
    addresses: Sequence[tuple[str, int]], workers: int, serve: Serve, announce: Announce
) -> int:
    """Fork the workers, announce them once all are ready, forward the stop signals; the exit
    status: 1 if a worker died on its own, else 0."""
    # Balanced (Linux): the port is held, bound but not listening, while each worker listens on
    # its own SO_REUSEPORT socket. Elsewhere this one listening socket is the queue every worker
    # accepts from.
    held = [listen(h, p, reuse_port=BALANCED, listening=not BALANCED) for h, p in addresses]
    ports = [sock.getsockname()[1] for sock in held]
    sys.stdout.flush()
    sys.stderr.flush()  # or each worker would write the parent's buffered text again
    readers, writer = os.pipe()  # a byte from each worker ready
    signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)  # none lost while forking
    pids: dict[int, int] = {}
    for number in range(1, workers + 1):
        pid = os.fork()
        if pid == 0:
            os.close(readers)
            _worker(number, addresses, ports, held, writer, serve)
        pids[pid] = number
    os.close(writer)
    stopping = False

    def stop(signum: int | None = None, frame: FrameType | None = None) -> None:
        nonlocal stopping
        if not stopping:
            stopping = True
            signal.setitimer(signal.ITIMER_REAL, shutdown_grace() + 1.0)  # then: overdue
        _signal(pids, signal.SIGTERM)

    def overdue(signum: int, frame: FrameType | None) -> None:
        _signal(pids, signal.SIGKILL)

    for sig in STOP_SIGNALS:
        signal.signal(sig, stop)
    signal.signal(signal.SIGALRM, overdue)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
    ready = 0
    while ready < workers and (got := os.read(readers, workers)):  # EOF: every worker ended
        ready += len(got)
    os.close(readers)
    if ready == workers and not stopping:
        listed = ", ".join(str(pid) for pid in pids)
        announce(ports, f", {workers} workers (pids {listed})")
    failed = False
    while pids:
        pid, status = os.wait()
        number = pids.pop(pid, 0)  # 0: not a worker
        if number and not stopping:
            print(f"error: worker {number} (pid {pid}) {_ended(status)}; stopping the others",
                  file=sys.stderr, flush=True)  # fmt: skip
            failed = True
            stop()
    for sock in held:
        sock.close()
    return 1 if failed else 0


def _signal(pids: dict[int, int], sig: int) -> None:
    for pid in list(pids):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)


def _ended(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"was killed by {signal.Signals(os.WTERMSIG(status)).name}"
    return f"exited with status {os.waitstatus_to_exitcode(status)}"


def _worker(
    number: int,
    addresses: Sequence[tuple[str, int]],
    ports: list[int],
    held: list[socket.socket],
    ready_fd: int,
    serve: Serve,
) -> None:
    """Worker `number`'s process: serve, then leave with os._exit (never returning into the
    parent's code, nor running its exit handlers twice)."""
    status = 1
    tag = f"[w{number}] "
    try:
        for sig in STOP_SIGNALS:  # the server installs its own handlers once it serves
            signal.signal(sig, signal.SIG_DFL)
        signal.signal(signal.SIGALRM, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
        AccessLog.tag = tag
        for handler in logging.getLogger().handlers:
            handler.setFormatter(logging.Formatter(tag + "%(message)s"))
        if BALANCED:
            sockets = [
                listen(host, port, reuse_port=True)
                for (host, _), port in zip(addresses, ports, strict=True)
            ]
            for sock in held:
                sock.close()
        else:
            sockets = held

        def ready() -> None:
            os.write(ready_fd, b".")
            os.close(ready_fd)

        serve(sockets, ready)
        status = 0
    except SystemExit as exc:
        if isinstance(exc.code, str):
            print(f"{tag}{exc.code}", file=sys.stderr)
        status = 0 if exc.code is None else exc.code if isinstance(exc.code, int) else 1
    except BaseException:  # noqa: BLE001 - any crash: its traceback, then the status 1
        traceback.print_exc()
    finally:
        AccessLog.flush()
        sys.stdout.flush()
        os._exit(status)


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
