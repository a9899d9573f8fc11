"""Schemathesis against the served OpenAPI document (issue #13): the seed and two fixture specs.

Generated requests (valid and invalid) go to the real REST server; checks: no server error of our
own (502/504 are the documented upstream failures and the upstreams here never fail), responses
that match the document, and an Allow header on every 405. The example count is bounded
(NAFTIKO_SCHEMATHESIS_EXAMPLES, default 25 per operation) so CI stays fast.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from tests.support import FIXTURES, ROOT, build, import_module, serve_aiohttp

from .harness import ENV_BASE_URL, ENV_TOKEN, run_fake_qovery

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

EXAMPLES = os.environ.get("NAFTIKO_SCHEMATHESIS_EXAMPLES", "25")
CHECKS = "not_a_server_error,response_schema_conformance,allow_header_conformance"


def _schemathesis() -> str | None:
    found = Path(sys.executable).with_name("st")
    return str(found) if found.is_file() else shutil.which("st")


@asynccontextmanager
async def _permissive_upstream() -> AsyncIterator[str]:
    """An upstream that answers every request with a small JSON object."""

    async def answer(request: web.Request) -> web.Response:
        await request.read()
        return web.json_response({"ok": True, "items": [{"id": "1", "name": "x"}]})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", answer)
    async with serve_aiohttp(app) as url:
        yield url


async def _run(base: str) -> tuple[int, str]:
    st = _schemathesis()
    if st is None:
        pytest.skip("schemathesis is not installed (pip install schemathesis)")
    proc = await asyncio.create_subprocess_exec(
        st, "run", f"{base}/openapi.json", "--url", base, "--checks", CHECKS,
        "--max-examples", EXAMPLES, "--seed", "1", "--workers", "1",
        "--suppress-health-check", "all",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        env={**os.environ, "NO_COLOR": "1"},
    )  # fmt: skip
    out, _ = await asyncio.wait_for(proc.communicate(), 600)
    return proc.returncode or 0, out.decode(errors="replace")


async def test_seed_rest_server(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    package = build(ROOT / "specs" / "qovery-containers.yaml", tmp_path)
    async with run_fake_qovery(token="st-token") as fake:
        monkeypatch.setenv(ENV_TOKEN, "st-token")
        monkeypatch.setenv(ENV_BASE_URL, fake.base_url)
        rest = import_module(tmp_path, package, "rest_server")
        async with serve_aiohttp(rest.create_app()) as base:
            code, out = await _run(base)
    assert code == 0, out[-6000:]


@pytest.mark.parametrize("spec", ["feat_exposed_params.yaml", "feat_methods.yaml"])
async def test_fixture_rest_servers(
    spec: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    package = build(FIXTURES / "features" / spec, tmp_path)
    async with _permissive_upstream() as upstream:
        upstream_mod: Any = import_module(tmp_path, package, "upstream")
        for up in upstream_mod.UPSTREAMS.values():
            monkeypatch.setenv(f"{up.env}_BASE_URL", upstream)
        for source in upstream_mod.SECRETS.values():
            monkeypatch.setenv(source.key, "st-secret")
        rest = import_module(tmp_path, package, "rest_server")
        async with serve_aiohttp(rest.create_app()) as base:
            code, out = await _run(base)
    assert code == 0, out[-6000:]
