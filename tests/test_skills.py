"""Skill adapters (tutorial step 8): one skills/<name>/SKILL.md per skill with Agent Skills front
matter and its tools (from the sibling MCP adapter: description, input schema), and the catalogue
module serving /skills... (driven in process through aiohttp's test client)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from naftiko_gen.codegen import generate
from naftiko_gen.writer import apply_changes, plan_changes
from tests.support import TUTORIAL

STEP8 = TUTORIAL / "step-8-shipyard-skill-groups.yml"
PACKAGE = "step_8_shipyard_skill_groups"


def test_step8_skill_md() -> None:
    result = generate([STEP8], Path("unused"))
    assert not result.report.errors
    md = result.files[f"{PACKAGE}/skills/fleet-ops/SKILL.md"]
    front, body = md.split("---\n")[1], md.split("---\n", 2)[2]
    assert front.startswith('name: fleet-ops\ndescription: "Fleet management')
    assert "### get-ship\n\nRetrieve a ship's details by IMO number\n" in body
    assert "- MCP tool `get-ship` of the `shipyard-tools` server" in body
    assert '"required": [\n    "imo"\n  ]' in body
    assert f"{PACKAGE}/skills/voyage-ops/SKILL.md" in result.files
    assert f"{PACKAGE}/skill_server.py" in result.files


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_step8_catalogue_routes(tmp_path: Path, anyio_backend: str) -> None:
    import importlib

    from aiohttp.test_utils import TestClient, TestServer

    result = generate([STEP8], tmp_path)
    apply_changes(plan_changes(result.files, result.specs, tmp_path), tmp_path)
    sys.path.insert(0, str(tmp_path))
    try:
        module = importlib.import_module(f"{PACKAGE}.skill_server")
    finally:
        sys.path.remove(str(tmp_path))
    async with TestClient(TestServer(module.create_app({}, "127.0.0.1"))) as client:
        listed = await (await client.get("/skills")).json()
        assert listed["count"] == 2
        assert listed["skills"][1] == {
            "name": "voyage-ops",
            "description": "Voyage planning — create and manage voyages",
            "tools": ["create-voyage"],
        }
        detail = await (await client.get("/skills/fleet-ops")).json()
        assert detail["tools"][0]["invocationRef"] == {
            "targetNamespace": "shipyard-tools", "action": "list-ships", "mode": "mcp"
        }  # fmt: skip
        contents = await (await client.get("/skills/fleet-ops/contents")).json()
        assert [f["path"] for f in contents["files"]] == ["SKILL.md"]
        md = await client.get("/skills/fleet-ops/contents/SKILL.md")
        assert (await md.text()).startswith("---\nname: fleet-ops\n")
        assert (await client.get("/skills/fleet-ops/contents/../x")).status == 404
        assert (await client.get("/skills/nope")).status == 404
        zipped = await client.get("/skills/fleet-ops/download")
        assert zipped.content_type == "application/zip"
