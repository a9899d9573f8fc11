"""MCP details: tool label → title, adapter description → initialize instructions, hints →
annotations, tool names kept exactly as written (not Python identifiers), and a stdio adapter
that builds, has no HTTP port and serves tools in memory."""

from __future__ import annotations

from typing import Any

import pytest
from mcp import Client

from tests.features.upstream import (
    FIXTURES,
    FakeUpstream,
    Harness,
    build_package,
    harness,
    mcp_json,
    run_fake,
)

pytestmark = pytest.mark.anyio

SPEC = FIXTURES / "feat_mcp.yaml"
STDIO_SPEC = FIXTURES / "feat_mcp_stdio.yaml"
INSTRUCTIONS = "Shipyard tools. Always look a ship up by IMO number before scrapping it."


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Any:
    return build_package(SPEC, tmp_path_factory.mktemp("mcp_details"))


@pytest.fixture(scope="module")
async def h(built: Any) -> Any:
    async with harness(built, {"SHIPYARD": FakeUpstream(name="shipyard")}) as running:
        yield running


@pytest.fixture(autouse=True)
def _reset(h: Harness) -> None:
    h.reset()


async def test_tool_names_kept_as_written(h: Harness) -> None:
    tools = (await h.mcp.list_tools()).tools
    assert [t.name for t in tools] == ["get.ship-v2", "2-Scrap.ship_v1", "class"]


async def test_label_becomes_title(h: Harness) -> None:
    tools = {t.name: t for t in (await h.mcp.list_tools()).tools}
    assert tools["get.ship-v2"].title == "Get ship (v2)"
    assert tools["get.ship-v2"].description == "A ship by IMO number"
    assert tools["2-Scrap.ship_v1"].title is None


async def test_hints_become_annotations(h: Harness) -> None:
    tools = {t.name: t for t in (await h.mcp.list_tools()).tools}
    a = tools["get.ship-v2"].annotations
    assert (a.read_only_hint, a.destructive_hint, a.idempotent_hint, a.open_world_hint) == (
        True,
        False,
        True,
        False,
    )
    assert tools["2-Scrap.ship_v1"].annotations.destructive_hint is True


async def test_description_becomes_instructions(h: Harness, built: Any) -> None:
    assert built.mcp.INSTRUCTIONS == INSTRUCTIONS
    assert h.mcp.instructions == INSTRUCTIONS
    assert h.mcp.server_info.name == "mcp-details"


@pytest.mark.parametrize(
    ("tool", "method"), [("get.ship-v2", "GET"), ("2-Scrap.ship_v1", "DELETE"), ("class", "GET")]
)
async def test_odd_tool_names_are_callable(h: Harness, tool: str, method: str) -> None:
    h.fake.expect(method, "/ships/9321483", query=[], reply={"imo": "9321483"})
    result = await h.tool(tool, {"imo": "9321483"})
    seen = h.fake.only()
    assert (seen.method, seen.raw_path) == (method, "/ships/9321483")
    assert mcp_json(result) == {"imo": "9321483"}


async def test_unknown_tool_is_an_error(h: Harness) -> None:
    """A protocol error, -32602 (MCP 2025-11-25 server/tools, Error Handling), not a result."""
    from mcp.shared.exceptions import MCPError

    with pytest.raises(MCPError) as raised:
        await h.tool("get_ship_v2", {"imo": "1"})
    assert (raised.value.code, raised.value.message) == (-32602, "Unknown tool: get_ship_v2")
    assert h.fake.requests == []


@pytest.fixture(scope="module")
def stdio_built(tmp_path_factory: pytest.TempPathFactory) -> Any:
    return build_package(STDIO_SPEC, tmp_path_factory.mktemp("mcp_stdio"))


def test_stdio_module_has_no_http_port(stdio_built: Any) -> None:
    module = stdio_built.mcp
    assert not getattr(module, "DEFAULT_PORT", None)
    assert "stdio" in (module.__doc__ or "")
    assert module.INSTRUCTIONS == "Harbor tools over stdio."


async def test_stdio_server_in_memory(stdio_built: Any) -> None:
    module = stdio_built.mcp
    async with run_fake(FakeUpstream(name="harbor")) as fake:
        fake.expect("GET", "/berths", query=[], reply={"free": [3, 7]})
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("HARBOR_BASE_URL", fake.base_url)
            server = module.build_sdk_server(module.load_config())
        async with Client(server) as client:
            tools = (await client.list_tools()).tools
            assert [(t.name, t.title) for t in tools] == [("list-berths", "List berths")]
            result = await client.call_tool("list-berths", {})
            assert client.instructions == "Harbor tools over stdio."
        assert mcp_json(result) == {"free": [3, 7]}
        assert fake.only().raw_path == "/berths"
