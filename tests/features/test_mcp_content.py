"""MCP resources and prompts through the real MCP client over HTTP: static files copied into the
package (one resource per file), a dynamic resource, a resource template matched on read, prompts
from template messages and from a file; errors are MCP errors."""

from __future__ import annotations

import json
from typing import Any

import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError

from tests.features.upstream import FIXTURES, FakeUpstream, Harness, Stack

pytestmark = pytest.mark.anyio

SPEC = FIXTURES / "mcp_content" / "feat_mcp_content.yaml"


STACK = Stack(SPEC, lambda: {"SHIPYARD": FakeUpstream(name="shipyard")}, rest=False)


async def test_files_are_copied_into_the_package(built: Any) -> None:
    folder = built.out_dir / built.package / "resources" / "mcp_server" / "docs"
    assert (folder / "readme.md").read_text().startswith("# Shipyard docs")
    assert (folder / "guides" / "scrapping.txt").is_file()


async def test_resources_list(h: Harness) -> None:
    listed = {r.uri: r for r in (await h.mcp.list_resources()).resources}
    assert sorted(listed) == [
        "data://fleet",
        "docs://shipyard/guides/scrapping.txt",
        "docs://shipyard/readme.md",
    ]
    assert listed["docs://shipyard/readme.md"].mime_type == "text/markdown"
    assert listed["docs://shipyard/readme.md"].title == "Shipyard docs"
    assert listed["data://fleet"].mime_type == "application/json"


async def test_templates_list(h: Harness) -> None:
    templates = (await h.mcp.list_resource_templates()).resource_templates
    assert [(t.name, t.uri_template, t.title) for t in templates] == [
        ("ship", "data://ships/{imo}", "Ship")
    ]


async def test_read_static(h: Harness) -> None:
    r = await h.mcp.read_resource("docs://shipyard/guides/scrapping.txt")
    assert r.contents[0].text == "Scrap a ship only after its crew has left.\n"
    assert r.contents[0].mime_type == "text/plain"


async def test_read_dynamic(h: Harness) -> None:
    h.fake.expect("GET", "/ships", reply=[{"imo": "1"}])
    r = await h.mcp.read_resource("data://fleet")
    assert r.contents[0].text == '[{"imo": "1"}]'


async def test_read_template(h: Harness) -> None:
    h.fake.expect("GET", "/ships/IMO%2F9", reply={"vessel_name": "Aurora", "x": 1})
    r = await h.mcp.read_resource("data://ships/IMO%2F9")
    assert r.contents[0].uri == "data://ships/IMO%2F9"
    assert json.loads(r.contents[0].text) == {"name": "Aurora"}  # type: ignore[union-attr]


async def test_unknown_resource_and_upstream_error(h: Harness) -> None:
    with pytest.raises(MCPError, match="unknown resource"):
        await h.mcp.read_resource("docs://shipyard/../secret")
    h.fake.expect("GET", "/ships", status=500, reply={"e": 1})
    with pytest.raises(MCPError, match="HTTP 500"):
        await h.mcp.read_resource("data://fleet")


async def test_prompts(h: Harness) -> None:
    prompts = {p.name: p for p in (await h.mcp.list_prompts()).prompts}
    assert sorted(prompts) == ["inspect", "summarize-ship"]
    args = [(a.name, a.required) for a in prompts["summarize-ship"].arguments or []]
    assert args == [("imo", True), ("tone", False)]
    got = await h.mcp.get_prompt("summarize-ship", {"imo": "{{tone}}", "tone": "dry"})
    texts = [(m.role, m.content.text) for m in got.messages]  # type: ignore[union-attr,unused-ignore]
    assert texts == [
        ("user", "Summarize ship {{tone}} in a dry tone. {{tone}} again."),
        ("assistant", "I will look up {{tone}} first."),
    ]
    got = await h.mcp.get_prompt("inspect", {"imo": "9", "topic": "rust"})
    assert got.messages[0].content.text == (  # type: ignore[union-attr,unused-ignore]
        "Inspect ship 9 and report on rust. Unknown {{other}} stays.\n"
    )


async def test_prompt_errors(h: Harness) -> None:
    with pytest.raises(MCPError, match="missing required argument 'imo'"):
        await h.mcp.get_prompt("summarize-ship", {"tone": "dry"})
    with pytest.raises(MCPError, match="unknown prompt"):
        await h.mcp.get_prompt("nope", {})


async def test_capabilities_in_memory(built: Any) -> None:
    server = built.mcp.build_sdk_server(built.mcp.load_config({}))
    caps = server.create_initialization_options().capabilities
    assert caps.resources is not None and caps.prompts is not None
    async with Client(server, mode="legacy") as c:
        assert len((await c.list_prompts()).prompts) == 2
