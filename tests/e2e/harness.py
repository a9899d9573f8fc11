"""Helpers for the end-to-end tests of the generated qovery_containers package.

* ``require_generated()`` skips the calling test module when the package is absent.
* ``run_rest_app(app)`` serves an aiohttp app on 127.0.0.1:0 (startup/cleanup run).
* ``run_asgi_app(app)`` serves an ASGI app with uvicorn on a port-0 socket (lifespan run).
* ``free_port()``, ``wait_for_port()`` for subprocess tests.
"""

from __future__ import annotations

import asyncio
import importlib
import os
import signal
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

TESTS_DIR = Path(__file__).resolve().parents[1]
REPO_ROOT = TESTS_DIR.parent
# The override lets the suite run against a package generated elsewhere.
GENERATED_DIR = Path(
    os.environ.get("NAFTIKO_E2E_GENERATED_DIR") or REPO_ROOT / "generated"
).resolve()
PACKAGE_DIR = GENERATED_DIR / "qovery_containers"

if str(TESTS_DIR) not in sys.path:
    sys.path.insert(0, str(TESTS_DIR))

from fakes.qovery import (  # noqa: E402
    DEFAULT_TOKEN,
    NOT_FOUND_ID,
    OPERATIONS,
    FakeQovery,
    RecordedRequest,
    run_fake_qovery,
)

from tests.support import free_port, serve_uvicorn  # noqa: E402

__all__ = [
    "DEFAULT_TOKEN",
    "GENERATED_DIR",
    "NOT_FOUND_ID",
    "OPERATIONS",
    "PACKAGE_DIR",
    "FakeQovery",
    "RecordedRequest",
    "free_port",
    "import_generated",
    "require_generated",
    "run_asgi_app",
    "run_fake_qovery",
    "run_rest_app",
    "wait_for_port",
]

ENV_TOKEN = "QOVERY_API_KEY"
ENV_BASE_URL = "QOVERY_CONTAINERS_BASE_URL"
ENV_TIMEOUT = "QOVERY_CONTAINERS_TIMEOUT"

# (REST method, exposed path template, upstream operationId, MCP tool name, spec description)
ROUTES: list[tuple[str, str, str, str, str]] = [
    (
        "POST",
        "/v1/container/{containerid}/clone",
        "cloneContainer",
        "clone-container",
        "Clone container",
    ),
    (
        "GET",
        "/v1/defaultcontaineradvancedsettings",
        "getDefaultContainerAdvancedSettings",
        "list-default-container-advanced-settings",
        "List default container advanced settings",
    ),
    (
        "GET",
        "/v1/environment/{environmentid}/container",
        "listContainer",
        "list-containers",
        "List containers",
    ),
    (
        "POST",
        "/v1/environment/{environmentid}/container",
        "createContainer",
        "create-container",
        "Create a container",
    ),
    (
        "GET",
        "/v1/environment/{environmentid}/container/status",
        "getEnvironmentContainerStatus",
        "list-all-environment-container-statuses",
        "List all environment container statuses",
    ),
    (
        "POST",
        "/v1/organization/{organizationid}/container/deploy",
        "autoDeployContainerEnvironments",
        "auto-deploy-containers",
        "Auto deploy containers",
    ),
    (
        "POST",
        "/v1/organization/{organizationid}/container/preview",
        "previewContainerEnvironments",
        "preview-container-environments",
        "Preview container environments",
    ),
    (
        "GET",
        "/v1/organization/{organizationid}/containerregistry/{containerregistryid}/container/status",
        "getContainerRegistryContainerStatus",
        "list-all-container-registry-container",
        "List all container registry container statuses",
    ),
]


def require_generated() -> None:
    """Skip the calling module unless generated/qovery_containers is importable."""
    if (
        not (PACKAGE_DIR / "__init__.py").is_file()
        or not (PACKAGE_DIR / "rest_server.py").is_file()
    ):
        pytest.skip(
            f"generated package absent ({PACKAGE_DIR}); run the generator first",
            allow_module_level=True,
        )
    if str(GENERATED_DIR) not in sys.path:
        sys.path.insert(0, str(GENERATED_DIR))


def import_generated(module: str) -> Any:
    """Import ``qovery_containers.<module>`` (after require_generated())."""
    require_generated()
    pkg = sys.modules.get("qovery_containers")
    if pkg is not None and Path(getattr(pkg, "__file__", "") or "").resolve().parent != PACKAGE_DIR:
        # Another test imported a same-named package from elsewhere (e.g. a tmp dir): drop it.
        for name in [
            n for n in sys.modules if n == "qovery_containers" or n.startswith("qovery_containers.")
        ]:
            del sys.modules[name]
    if str(GENERATED_DIR) in sys.path:
        sys.path.remove(str(GENERATED_DIR))
    sys.path.insert(0, str(GENERATED_DIR))
    mod = importlib.import_module(f"qovery_containers.{module}")
    assert Path(mod.__file__ or "").resolve().parent == PACKAGE_DIR, mod.__file__
    return mod


@asynccontextmanager
async def run_rest_app(app: Any) -> AsyncIterator[str]:
    """Serve an aiohttp Application on 127.0.0.1:0; yields its base URL."""
    from aiohttp import web

    runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None and server.sockets
        port = server.sockets[0].getsockname()[1]
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


@asynccontextmanager
async def run_asgi_app(app: Any, *, startup_timeout: float = 10.0) -> AsyncIterator[str]:
    """Serve an MCP app on a port-0 socket; yields the base URL (no /mcp).

    An aiohttp Application (`create_app()`, the fast path) runs as the REST apps do; an ASGI app
    (`create_sdk_app()`) with uvicorn.
    """
    from aiohttp import web

    if isinstance(app, web.Application):
        async with run_rest_app(app) as url:
            yield url
        return
    async with serve_uvicorn(app, startup_timeout=startup_timeout) as url:
        yield url


async def wait_for_port(
    port: int, timeout: float = 15.0, proc: Any = None, errlog: Any = None
) -> None:
    """Wait until something accepts connections on 127.0.0.1:port (or the process dies)."""
    deadline = time.monotonic() + timeout
    while True:
        if proc is not None and proc.returncode is not None:
            err = ""
            if errlog is not None:
                errlog.flush()
                errlog.seek(0)
                err = errlog.read().decode(errors="replace")
            raise RuntimeError(f"server process exited early with {proc.returncode}: {err}")
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"nothing listening on 127.0.0.1:{port}") from None
            await asyncio.sleep(0.05)
        else:
            writer.close()
            await writer.wait_closed()
            return


async def stop_process(
    proc: asyncio.subprocess.Process, sig: int = signal.SIGTERM, grace: float = 10
) -> None:
    """`sig` (SIGINT: Ctrl-C), and SIGKILL if it has not exited `grace` seconds later."""
    if proc.returncode is None:
        proc.send_signal(sig)
        try:
            await asyncio.wait_for(proc.wait(), grace)
        except TimeoutError:
            proc.kill()
            await proc.wait()


@dataclass
class Spawned:
    port: int
    proc: asyncio.subprocess.Process
    log: str = ""  # its stderr, once it has stopped


@asynccontextmanager
async def spawn_server(
    module: str, *args: str, env: Mapping[str, str], timeout: float = 20.0
) -> AsyncIterator[Spawned]:
    """`python -m <module> *args --host 127.0.0.1 --port <a free one>` run from generated/,
    stderr to a temporary file; yields once it listens, and is stopped on leaving (its stderr
    then in `.log`). A server that exits before listening fails with its stderr."""
    port = free_port()
    with tempfile.TemporaryFile() as errlog:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", module, *args, "--host", "127.0.0.1", "--port", str(port),
            cwd=GENERATED_DIR, env=dict(env), stdout=asyncio.subprocess.DEVNULL, stderr=errlog,
        )  # fmt: skip
        spawned = Spawned(port, proc)
        try:
            await wait_for_port(port, timeout=timeout, proc=proc, errlog=errlog)
            yield spawned
        finally:
            await stop_process(proc)
            errlog.seek(0)
            spawned.log = errlog.read().decode(errors="replace")

