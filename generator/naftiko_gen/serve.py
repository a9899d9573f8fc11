"""`naftiko-gen serve SPEC_OR_DIR [--mock]`: build one capability (or a family of them) and run its
REST and MCP servers.

The build is `generated/` (or -o) when that folder is fresh for the specs (the comparison
`build --check` makes), else a temporary folder removed on exit. Several specs are served as one
family: their composed package (compose.py) is written to a temporary folder beside the build
and runs one REST server and one MCP server for all of them. Each generated server runs as
a subprocess of this interpreter (`python -m <pkg>.rest_server --port P`), so it behaves
exactly as it does in production, and counts as running once it printed its own "ready" line
(it listens before printing it: a port another process holds is an error, not a false "ready").
With `--mock`, a mock upstream (naftiko_gen.mock_upstream) runs in this process on an ephemeral
127.0.0.1 port, every `<NS>_BASE_URL` points at it and every secret gets a dummy value: no API
key is needed. One line per server goes to stdout, once every server is ready:

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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from naftiko_gen.build import build
from naftiko_gen.codegen import display_path, find_specs
from naftiko_gen.diagnostics import Report
from naftiko_gen.plan.family import Selection

EXIT_OK, EXIT_INVALID = 0, 2
STARTUP_TIMEOUT = 30.0  # seconds for a server to listen (a family: more per member)


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
    selection: Selection | None = None,
) -> int:
    report = Report()
    specs = find_specs(paths, report)
    if report.has_errors() or not specs:
        for d in report.errors:
            click.echo(d.format(), err=True)
        return _fail("no capability spec found in " + " ".join(p.as_posix() for p in paths))
    missing = [m for m in ("aiohttp", "mcp", "uvicorn") if not _importable(m)]
    if missing:
        return _fail(
            f"serve runs the generated servers, which need {', '.join(missing)}: "
            "pip install 'naftiko-gen[runtime]'"
        )
    from naftiko_gen.writer import apply_changes, plan_changes

    result = build(specs, out_dir, openapi)
    if result.report.has_errors():
        for d in result.report.errors:
            click.echo(d.format(), err=True)
        return _fail("the spec has errors; nothing to serve")
    for d in result.report.warnings:
        click.echo(d.format(), err=True)
    shown = display_path(specs[0]) if len(specs) == 1 else "these specs"
    with contextlib.ExitStack() as stack:
        changes = plan_changes(result.files, result.specs, out_dir)
        if changes.clean:
            root = out_dir
        else:
            root = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="naftiko_serve_")))
            result = build(specs, root, openapi)
            apply_changes(plan_changes(result.files, result.specs, root), root)
            click.echo(
                f"{display_path(out_dir)}/ is not fresh for {shown}: serving a temporary build",
                err=True,
            )
        root = root.resolve()  # the servers run from another working folder
        plans = [_plan(spec, root, openapi) for spec in specs]
        if any(plan is None for plan in plans):  # pragma: no cover - the build succeeded
            return _fail("the spec could not be planned")
        if len(specs) == 1:
            run = Run(result.packages[0], plans, [root], _servers(plans[0], rest_port, mcp_port))
        else:
            folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="naftiko_fam_")))
            found = _family(plans, paths, selection or Selection(), folder, rest_port, mcp_port)
            if found is None:
                return EXIT_INVALID
            run = Run(FAMILY, plans, [folder.resolve(), root], found)
        if not run.servers:
            return _fail(f"{shown} expose no REST or HTTP MCP server to run")
        try:
            return asyncio.run(_serve(run, specs, mock))
        except KeyboardInterrupt:
            return EXIT_OK


FAMILY = "naftiko_family"  # the package serve composes for a folder of capabilities


@dataclass
class Run:
    package: str  # the package whose modules run
    plans: list[Any]  # the capabilities it serves
    path: list[Path]  # its PYTHONPATH
    servers: list[Server]


def _family(
    plans: list[Any],
    paths: list[Path],
    selection: Selection,
    folder: Path,
    rest_port: int | None,
    mcp_port: int | None,
) -> list[Server] | None:
    """Compose the family of `plans` into `folder`; its servers, or None (errors printed)."""
    from naftiko_gen.compose import compose

    report = Report()
    plans = sorted(plans, key=lambda p: p.package)
    source = " ".join(display_path(p) for p in paths)
    family, files = compose(FAMILY, source, plans, selection, report)
    for d in (*report.errors, *report.warnings):  # renamed tools are notes: counted below
        click.echo(d.format(), err=True)
    if report.has_errors():
        _fail("the capabilities cannot be served as one family")
        return None
    for rel, text in files.items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_text(text, encoding="utf-8")
    renamed = sum(1 for m in family.mcp for k, v in m.tools.items() if k != v)
    prefixed = [m.capability for m in family.rest if m.prefix]
    click.echo(
        f"family of {len(family.members)} capabilities: {family.routes} routes"
        + (f" ({len(prefixed)} capabilities under /<capability>)" if prefixed else "")
        + f", {family.tools} tools"
        + (f" ({renamed} prefixed by their capability)" if renamed else ""),
        err=True,
    )
    servers: list[Server] = []
    rest = next((s for p in plans for s in p.rest), None)
    mcp = next((s for p in plans for s in p.mcp if s.transport != "stdio"), None)
    if family.rest:
        host = rest.host if rest else "127.0.0.1"
        port = rest_port if rest_port is not None else (rest.port if rest else 0)
        servers.append(Server("REST", "rest_server", host, port or free_port(host)))
    if family.mcp:
        host = mcp.host if mcp else "127.0.0.1"
        port = mcp_port if mcp_port is not None else ((mcp.port if mcp else None) or 0)
        servers.append(Server("MCP", "mcp_server", host, port or free_port(host), "/mcp"))
    return servers


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


async def _serve(run: Run, specs: list[Path], mock: bool) -> int:
    env = dict(os.environ)
    path = [str(p) for p in run.path]
    env["PYTHONPATH"] = os.pathsep.join([*path, env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env["PYTHONUNBUFFERED"] = "1"
    async with contextlib.AsyncExitStack() as stack:
        if mock:
            from naftiko_gen.mock_upstream import operations, run_mock

            secrets_dir = Path(stack.enter_context(tempfile.TemporaryDirectory()))
            ops = [
                op
                for plan, spec in zip(run.plans, specs, strict=True)
                for op in operations(plan, _literal_outputs(spec))
            ]
            upstream, port = await stack.enter_async_context(run_mock(ops))
            for plan in run.plans:
                env.update(mock_environment(plan, secrets_dir))
            click.echo(f"mock upstream  http://127.0.0.1:{port} ({len(ops)} operations)")
            seen: set[str] = set()
            for u in (u for plan in run.plans for u in plan.upstreams):
                env[f"{u.env_prefix}_BASE_URL"] = upstream.base_url(port, u.namespace)
                if u.env_prefix not in seen:  # what a standalone server needs to use this mock
                    seen.add(u.env_prefix)
                    click.echo(f"  {u.env_prefix}_BASE_URL={upstream.base_url(port, u.namespace)}")
        procs: list[asyncio.subprocess.Process] = []
        pumps: list[asyncio.Task[None]] = []
        try:
            starts: list[Start] = []
            for s in run.servers:
                proc = await asyncio.create_subprocess_exec(
                    sys.executable,
                    "-m",
                    f"{run.package}.{s.module}",
                    "--host",
                    s.host,
                    "--port",
                    str(s.port),
                    env=env,
                    stdin=asyncio.subprocess.DEVNULL,
                    stderr=asyncio.subprocess.PIPE,  # read for its "ready" line, then relayed
                    start_new_session=True,  # Ctrl-C reaches us; we stop them in order
                )
                procs.append(proc)
                start = Start(s, asyncio.get_running_loop().create_future())
                starts.append(start)
                pumps.append(asyncio.ensure_future(_relay(proc, start)))
            timeout = STARTUP_TIMEOUT + 0.5 * len(run.plans)  # a family imports every member
            for start in starts:  # every server, before any line says one runs
                if not await _ready(start, timeout):
                    return _not_started(start, run.package)
            for start in starts:
                s = start.server
                extra = f"  (docs: {s.url}/docs)" if s.kind == "REST" else ""
                click.echo(f"{s.kind:<14} {s.url}{extra}")
            click.echo("Ctrl-C stops them all", err=True)
            return await _wait(procs)
        finally:
            await _stop(procs)
            for pump in pumps:
                pump.cancel()


FLAGS = {"REST": "--rest-port", "MCP": "--mcp-port"}
IN_USE = "is already in use; choose another with --port"


@dataclass
class Start:
    server: Server
    ready: asyncio.Future[bool]  # True once it printed its "ready" line; False if it exited
    errors: list[str] = field(default_factory=list)  # its "error: " lines before that


async def _relay(proc: asyncio.subprocess.Process, start: Start) -> None:
    """A server's stderr, line by line, to ours. Its "ready" line is printed once it listens
    on its own socket (runtime/_serve.py): only that line proves the port is this server's.
    Its error lines before that are kept for _not_started, which says them once."""
    assert proc.stderr is not None
    async for raw in proc.stderr:
        line = raw.decode("utf-8", "replace").rstrip("\n")
        if not start.ready.done():
            if line.startswith("error: "):
                start.errors.append(line)
                continue
            if ", ready " in line:
                start.ready.set_result(True)
        click.echo(line, err=True)
    await proc.wait()
    if not start.ready.done():
        start.ready.set_result(False)


async def _ready(start: Start, seconds: float) -> bool:
    try:
        return await asyncio.wait_for(asyncio.shield(start.ready), seconds)
    except TimeoutError:
        return False


def _not_started(start: Start, package: str) -> int:
    """One line saying why a server did not start: a busy port names serve's own flag."""
    s = start.server
    for line in start.errors:
        if IN_USE in line:
            message = line.removeprefix("error: ").replace("--port", FLAGS[s.kind])
            return _fail(f"the {s.kind} server cannot listen: {message}")
    for line in start.errors[:-1]:
        click.echo(line, err=True)
    reason = f": {start.errors[-1].removeprefix('error: ')}" if start.errors else ""
    return _fail(f"the {s.kind} server ({package}.{s.module}) did not start{reason}")


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
