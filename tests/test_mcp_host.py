"""The MCP server's Host-header rule: strict on loopback, open when bound elsewhere."""

from __future__ import annotations

import pytest
from aiohttp import ClientSession

from tests.support import ROOT, import_module, serve_asgi

INIT = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "tools/list",
}
HEADERS = {"Accept": "application/json, text/event-stream", "MCP-Protocol-Version": "2025-11-25"}


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("bind", "host_header", "status"),
    [
        ("127.0.0.1", "mcp.example.com", 421),
        ("127.0.0.1", "127.0.0.1:9090", 200),
        ("0.0.0.0", "mcp.example.com", 200),
    ],
)
async def test_host_header_rule(
    bind: str, host_header: str, status: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QOVERY_API_KEY", "k")
    mcp_server = import_module(ROOT / "generated", "qovery_containers", "mcp_server")
    async with serve_asgi(mcp_server.create_app(bind)) as base, ClientSession() as http:
        async with http.post(
            base + "/mcp", json=INIT, headers={**HEADERS, "Host": host_header}
        ) as resp:
            assert resp.status == status
            if status == 200:
                tools = (await resp.json())["result"]["tools"]
                assert len(tools) == 8
