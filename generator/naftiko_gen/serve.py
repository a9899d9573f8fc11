"""`naftiko-gen serve SPEC [--mock]`: build one capability and run its REST and MCP servers.

The build is `generated/` (or -o) when that folder is fresh for the spec (the comparison
`build --check` makes), else a temporary folder removed on exit. Each generated server runs as
a subprocess of this interpreter (`python -m <pkg>.rest_server --port P`), so it behaves
exactly as it does in production. With `--mock`, a mock upstream (naftiko_gen.mock_upstream) runs
in this process on an ephemeral 127.0.0.1 port, every `<NS>_BASE_URL` points at it and every
secret gets a dummy value: no API key is needed. One line per server goes to stdout:

    mock upstream  http://127.0.0.1:41235 (8 operations)
    REST           http://127.0.0.1:8080  (docs: http://127.0.0.1:8080/docs)
    MCP            http://127.0.0.1:9090/mcp

Ctrl-C (or SIGTERM) stops the servers, then the mock, and exits 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from naftiko_gen.build import build
from naftiko_gen.codegen import display_path, find_specs
from naftiko_gen.diagnostics import Report

EXIT_OK, EXIT_INVALID = 0, 2
STARTUP_TIMEOUT = 30.0  # seconds for a server to listen


@dataclass
class Server:
    kind: str  # REST | MCP
    module: str
    host: str
    port: int
    path: str = ""  # /mcp for MCP

    @property
    def url(self) -> str:
        shown = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{shown}:{self.port}{self.path}"


def _fail(message: str) -> int:
    click.echo(f"naftiko-gen: {click.style('error', fg='red', bold=True)}: {message}", err=True)
    return EXIT_INVALID


def free_port(host: str = "127.0.0.1") -> int:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def run_serve(
    paths: list[Path],
    out_dir: Path,
    mock: bool,
    rest_port: int | None,
    mcp_port: int | None,
    openapi: dict[str, Path],
) -> int:
    report = Report()
    specs = find_specs(paths, report)
    if report.has_errors() or not specs:
        for d in report.errors:
            click.echo(d.format(), err=True)
        return _fail("no capability spec found in " + " ".join(p.as_posix() for p in paths))
    if len(specs) > 1:
        names = ", ".join(display_path(s) for s in specs)
        return _fail(f"serve runs one capability at a time; name one of: {names}")
    missing = [m for m in ("aiohttp", "mcp", "uvicorn") if not _importable(m)]
    if missing:
        return _fail(
            f"serve runs the generated servers, which need {', '.join(missing)}: "
            "pip install 'naftiko-gen[runtime]'"
        )
    spec = specs[0]
    from naftiko_gen.writer import apply_changes, plan_changes

    result = build([spec], out_dir, openapi)
    if result.report.has_errors():
        for d in result.report.errors:
            click.echo(d.format(), err=True)
        return _fail("the spec has errors; nothing to serve")
    for d in result.report.warnings:
        click.echo(d.format(), err=True)
    package = result.packages[0]
    with contextlib.ExitStack() as stack:
        changes = plan_changes(result.files, result.specs, out_dir)
        if changes.clean:
            root = out_dir
        else:
            root = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="naftiko_serve_")))
            result = build([spec], root, openapi)
            apply_changes(plan_changes(result.files, result.specs, root), root)
            click.echo(
                f"{display_path(out_dir)}/ is not fresh for {display_path(spec)}: "
                "serving a temporary build",
                err=True,
            )
        plan = _plan(spec, root, openapi)
        if plan is None:  # pragma: no cover - generate() succeeded on the same input
            return _fail("the spec could not be planned")
        try:
            root = root.resolve()  # the servers run from another working folder
            return asyncio.run(_serve(plan, package, root, spec, mock, rest_port, mcp_port))
        except KeyboardInterrupt:
            return EXIT_OK


def _importable(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def _plan(spec: Path, out_dir: Path, openapi: dict[str, Path]) -> Any:
    from naftiko_gen.codegen import analyse

    return analyse(spec, out_dir, Report(), openapi)


def _servers(plan: Any, rest_port: int | None, mcp_port: int | None) -> list[Server]:
    out: list[Server] = []
    for i, rest in enumerate(plan.rest):
        port = rest_port if (i == 0 and rest_port is not None) else rest.port
        out.append(Server("REST", rest.module, rest.host, port or free_port(rest.host)))
    for i, mcp in enumerate(plan.mcp):
        if mcp.transport == "stdio" or (mcp.port is None and mcp_port is None):
            continue
        port = mcp_port if (i == 0 and mcp_port is not None) else mcp.port
        out.append(Server("MCP", mcp.module, mcp.host, port or free_port(mcp.host), "/mcp"))
    return out


def mock_environment(plan: Any, folder: Path) -> dict[str, str]:
    """A dummy value for every secret: environment variables, and a file per file bind."""
    import json

    from naftiko_gen.runtime._binds import file_env

    env: dict[str, str] = {}
    files: dict[str, dict[str, str]] = {}
    for source in plan.secret_sources.values():
        dummy = f"mock-{source.key.lower().replace('_', '-')}"
        if source.file is None:
            env[source.key] = dummy
        else:
            files.setdefault(source.bind, {})[source.key] = dummy
    for bind, values in files.items():
        path = folder / f"{bind}.json"
        path.write_text(json.dumps(values), encoding="utf-8")
        env[file_env(bind)] = str(path)
    return env


async def _serve(
    plan: Any,
    package: str,
    root: Path,
    spec: Path,
    mock: bool,
    rest_port: int | None,
    mcp_port: int | None,
) -> int:
    servers = _servers(plan, rest_port, mcp_port)
    if not servers:
        return _fail(f"{display_path(spec)} exposes no REST or HTTP MCP server to run")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(root), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env["PYTHONUNBUFFERED"] = "1"
    async with contextlib.AsyncExitStack() as stack:
        if mock:
            from naftiko_gen.mock_upstream import operations, run_mock

            secrets_dir = Path(stack.enter_context(tempfile.TemporaryDirectory()))
            ops = operations(plan, _literal_outputs(spec))
            upstream, port = await stack.enter_async_context(run_mock(ops))
            env.update(mock_environment(plan, secrets_dir))
            click.echo(f"mock upstream  http://127.0.0.1:{port} ({len(ops)} operations)")
            for u in plan.upstreams:
                env[f"{u.env_prefix}_BASE_URL"] = upstream.base_url(port, u.namespace)
                # What a standalone server needs to use this mock: its routes sit under /<ns>.
                click.echo(f"  {u.env_prefix}_BASE_URL={upstream.base_url(port, u.namespace)}")
        procs: list[asyncio.subprocess.Process] = []
        try:
            for s in servers:
                proc = await asyncio.create_subprocess_exec(
                    sys.executable,
                    "-m",
                    f"{package}.{s.module}",
                    "--host",
                    s.host,
                    "--port",
                    str(s.port),
                    env=env,
                    stdin=asyncio.subprocess.DEVNULL,
                    start_new_session=True,  # Ctrl-C reaches us; we stop them in order
                )
                procs.append(proc)
            for s, proc in zip(servers, procs, strict=True):
                if not await _listening(s, proc):
                    return _fail(f"the {s.kind} server ({package}.{s.module}) did not start")
                extra = f"  (docs: {s.url}/docs)" if s.kind == "REST" else ""
                click.echo(f"{s.kind:<14} {s.url}{extra}")
            click.echo("Ctrl-C stops them all", err=True)
            return await _wait(procs)
        finally:
            await _stop(procs)


def _literal_outputs(spec: Path) -> dict[str, Any]:
    """Consumed operation key → its literal output values (the spec's own mock data)."""
    from naftiko_gen.mock_upstream import literal_outputs
    from naftiko_gen.reader.capability import read_capability

    cap = read_capability(spec, display_path(spec), Report())
    if cap is None:
        return {}
    out: dict[str, Any] = {}
    for c in cap.consumes:
        for r in c.resources:
            for o in r.operations:
                found = literal_outputs(getattr(o, "outputs", []))
                if found is not None:
                    out[f"{c.namespace}.{o.name}"] = found
    return out


async def _listening(server: Server, proc: asyncio.subprocess.Process) -> bool:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + STARTUP_TIMEOUT
    host = "127.0.0.1" if server.host in ("0.0.0.0", "") else server.host  # noqa: S104 - connects
    while loop.time() < deadline:
        if proc.returncode is not None:
            return False
        try:
            _, writer = await asyncio.open_connection(host, server.port)
        except OSError:
            await asyncio.sleep(0.05)
            continue
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
        return True
    return False


async def _wait(procs: list[asyncio.subprocess.Process]) -> int:
    """Until Ctrl-C / SIGTERM (exit 0) or a server exits on its own (exit 1)."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    waiters = [asyncio.ensure_future(p.wait()) for p in procs]
    stopper = asyncio.ensure_future(stop.wait())
    done, _ = await asyncio.wait([stopper, *waiters], return_when=asyncio.FIRST_COMPLETED)
    for task in [stopper, *waiters]:
        task.cancel()
    if stopper in done:
        click.echo("stopping", err=True)
        return EXIT_OK
    click.echo("naftiko-gen: a server stopped on its own; stopping the others", err=True)
    return 1


async def _stop(procs: list[asyncio.subprocess.Process]) -> None:
    for proc in procs:
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
    for proc in procs:
        try:
            await asyncio.wait_for(proc.wait(), 10)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()
