"""Issue #21: `naftiko-gen serve DIR` on a family of 20 capabilities with colliding tool names
and routes: one REST port, one MCP endpoint; every tool listed once (prefixed where its name
is shared) and callable against a validating fake upstream; one GET route per capability; the
servers' memory (RSS) measured and printed."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from pathlib import Path

import aiohttp
import pytest
from mcp import Client

from tests.features.upstream import FakeUpstream, run_fake

from .family_specs import cap, write_family
from .harness import stop_process

pytestmark = pytest.mark.anyio
COUNT = 20


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        return int(f.read().split("VmRSS:")[1].split()[0])


def _servers(pid: int) -> dict[int, str]:
    """The family's server processes among `pid`'s children (the build's pool is another)."""
    with open(f"/proc/{pid}/task/{pid}/children", encoding="ascii") as f:
        children = [int(c) for c in f.read().split()]
    found = {}
    for child in children:
        with open(f"/proc/{child}/cmdline", "rb") as f:
            argv = f.read().decode().split("\0")
        module = next((a for a in argv if a.startswith("naftiko_family.")), None)
        if module is not None:
            found[child] = module
    return found


async def test_serve_a_family_of_twenty(tmp_path: Path) -> None:
    names = write_family(tmp_path / "specs", COUNT)
    fake = FakeUpstream(name="shelf")
    for n, name in enumerate(names, 1):
        fake.expect("GET", f"/{name}/items/{n}", reply={"capability": name, "id": str(n)})
    async with run_fake(fake):
        env = dict(os.environ, SHELF_BASE_URL=fake.base_url, SHELF_TIMEOUT="5")
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "naftiko_gen", "serve", "specs", "-o", "out",
            "--rest-port", "0", "--mcp-port", "0",
            cwd=tmp_path, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        try:
            urls: dict[str, str] = {}
            assert proc.stdout is not None and proc.stderr is not None
            while len(urls) < 2:
                line = (await asyncio.wait_for(proc.stdout.readline(), 120)).decode()
                if not line:
                    raise AssertionError((await proc.stderr.read()).decode()[-3000:])
                match = re.match(r"^(REST|MCP)\s+(http://\S+)", line)
                if match:
                    urls[match.group(1)] = match.group(2)
            async with Client(urls["MCP"]) as client:
                listed = [t.name for t in (await client.list_tools()).tools]
                # get-item is every member's: prefixed; <cap>-info is one member's: as written.
                expected = [f"{c}_get-item" for c in names] + [f"{c}-info" for c in names]
                assert sorted(listed) == sorted(expected)
                for n, name in enumerate(names, 1):
                    for tool in (f"{name}_get-item", f"{name}-info"):
                        fake.clear()
                        result = await client.call_tool(tool, {"id": str(n)})
                        assert not result.is_error, result.content
                        assert result.structured_content == {"capability": name, "id": str(n)}
                        assert fake.only().raw_path == f"/{name}/items/{n}"
            rest = urls["REST"]
            async with aiohttp.ClientSession() as http:
                for n, name in enumerate(names, 1):
                    # The first two members share GET /v1/items/{id}: both are under /<capability>.
                    prefix = f"/{name}" if n <= 2 else ""
                    fake.clear()
                    async with http.get(f"{rest}{prefix}/v1/{name}/items/{n}") as resp:
                        assert resp.status == 200, await resp.text()
                        assert await resp.json() == {"capability": name, "id": str(n)}
                    fake.only()
                for n in (1, 2):
                    async with http.get(f"{rest}/{cap(n)}/v1/items/{n}") as resp:
                        assert (await resp.json())["capability"] == cap(n)
                async with http.get(f"{rest}/v1/items/1") as resp:  # collided: not at the root
                    assert resp.status == 404
                async with http.get(f"{rest}/openapi.json") as resp:
                    paths = (await resp.json())["paths"]
                assert "/cap01/v1/items/{id}" in paths and "/v1/cap20/items/{id}" in paths
                # /docs: the family's page, which loads the (merged) openapi.json beside it.
                async with http.get(f"{rest}/docs") as resp:
                    assert resp.status == 200 and resp.content_type == "text/html"
                async with http.get(f"{rest}/docs/swagger-ui-bundle.js") as resp:
                    assert resp.status == 200
            servers = _servers(proc.pid)
            # One REST and one MCP process for the 20 capabilities.
            assert sorted(servers.values()) == [
                "naftiko_family.mcp_server",
                "naftiko_family.rest_server",
            ]
            print(
                f"\nfamily of {COUNT} capabilities, RSS: "
                + ", ".join(f"{m} {_rss_kb(pid) / 1024:.1f} MB" for pid, m in servers.items())
            )
        finally:
            await stop_process(proc, signal.SIGINT, grace=20)  # Ctrl-C
    assert proc.returncode == 0
