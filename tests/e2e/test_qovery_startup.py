"""Startup behaviour of ``python -m qovery_containers.rest_server`` / ``.mcp_server`` as subprocesses."""

from __future__ import annotations

import asyncio
import os
import sys
import uuid

import aiohttp
import pytest

from .harness import (
    ENV_BASE_URL,
    ENV_TIMEOUT,
    ENV_TOKEN,
    GENERATED_DIR,
    FakeQovery,
    free_port,
    require_generated,
    spawn_server,
    stop_process,
)

require_generated()

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

TOKEN = "qv-startup-e2e-0b5e7a"
ENV = str(uuid.uuid4())


def child_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QOVERY_")}
    env["PYTHONPATH"] = str(GENERATED_DIR)
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


@pytest.mark.parametrize(
    "module", ["qovery_containers.rest_server", "qovery_containers.mcp_server"]
)
async def test_missing_token_exits_with_one_line(fake: FakeQovery, module: str) -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        module,
        "--port",
        str(free_port()),
        cwd=GENERATED_DIR,
        env=child_env(**{ENV_BASE_URL: fake.base_url}),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), 30)
    finally:
        await stop_process(proc)
    stderr = err.decode(errors="replace")
    assert proc.returncode != 0, (out, stderr)
    assert "Traceback" not in stderr, stderr
    assert "QOVERY_API_KEY" in stderr, stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert fake.requests == []


async def test_rest_server_subprocess_serves(fake: FakeQovery) -> None:
    env = child_env(**{ENV_TOKEN: TOKEN, ENV_BASE_URL: fake.base_url, ENV_TIMEOUT: "5"})
    async with spawn_server("qovery_containers.rest_server", env=env) as server:
        url = f"http://127.0.0.1:{server.port}/v1/environment/{ENV}/container"
        async with aiohttp.ClientSession() as s, s.get(url) as r:
            status, data = r.status, await r.json()
    assert len(fake.requests) == 1
    rec = fake.last
    assert rec.method == "GET" and rec.raw_path == f"/environment/{ENV}/container"
    assert rec.authorization == f"Bearer {TOKEN}"
    assert status == 200
    assert data == rec.response_json


@pytest.mark.parametrize("sdk", [[], ["--sdk"]], ids=["fast", "sdk"])
async def test_mcp_server_subprocess_serves(fake: FakeQovery, sdk: list[str]) -> None:
    from mcp import Client

    env = child_env(**{ENV_TOKEN: TOKEN, ENV_BASE_URL: fake.base_url, ENV_TIMEOUT: "5"})
    async with spawn_server("qovery_containers.mcp_server", *sdk, env=env) as server:
        async with Client(f"http://127.0.0.1:{server.port}/mcp") as client:
            version = client.session.protocol_version
            names = {t.name for t in (await client.list_tools()).tools}
            result = await client.call_tool(
                "list-all-environment-container-statuses", {"environmentId": ENV}
            )
    log = server.log
    # Auto mode's `server/discover` probe is answered: the client stays on 2026-07-28 and no
    # request is refused (before, the fast path's 400 sent it back to `initialize`).
    assert version == "2026-07-28"
    access = [line for line in log.splitlines() if line.startswith("POST /mcp ")]
    assert len(access) >= 3, log
    assert all(line.split()[2] == "200" for line in access), log
    assert len(names) == 8 and "list-all-environment-container-statuses" in names
    assert len(fake.requests) == 1
    rec = fake.last
    assert rec.method == "GET" and rec.raw_path == f"/environment/{ENV}/container/status"
    assert rec.authorization == f"Bearer {TOKEN}"
    assert not result.is_error
    assert result.structured_content == rec.response_json


@pytest.mark.parametrize("sdk", [[], ["--sdk"]], ids=["fast", "sdk"])
@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_mcp_server_stdio(fake: FakeQovery, sdk: list[str], mode: str) -> None:
    from mcp import Client, StdioServerParameters

    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "qovery_containers.mcp_server", "--stdio", *sdk],
        env=child_env(**{ENV_TOKEN: TOKEN, ENV_BASE_URL: fake.base_url, ENV_TIMEOUT: "5"}),
        cwd=str(GENERATED_DIR),
    )
    async with Client(params, mode=mode) as client:
        version = client.session.protocol_version
        names = {t.name for t in (await client.list_tools()).tools}
        bad = await client.call_tool("list-containers", {})
        result = await client.call_tool("list-containers", {"environmentId": ENV})
    assert bad.is_error and "environmentId" in bad.content[0].text  # type: ignore[union-attr]
    # auto: the first request (the `server/discover` probe) opens a 2026-07-28 connection.
    assert version == ("2026-07-28" if mode == "auto" else "2025-11-25")
    assert len(names) == 8
    assert len(fake.requests) == 1
    assert fake.last.raw_path == f"/environment/{ENV}/container"
    assert fake.last.authorization == f"Bearer {TOKEN}"
    assert not result.is_error
    assert result.structured_content == fake.last.response_json
