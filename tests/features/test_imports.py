"""Imported consumes: `{import: NS, location: ./shared.yaml, as: ALIAS}`, the file resolved
relative to the spec (not the working directory); the alias names the namespace (calls and
<ALIAS>_BASE_URL), and auth/params of the imported adapter apply."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.features.upstream import (
    FIXTURES,
    Bearer,
    FakeUpstream,
    Harness,
    Stack,
    mcp_json,
)

pytestmark = pytest.mark.anyio

SPEC = FIXTURES / "imports" / "feat_imports.yaml"
TOKEN = "reg-token-77"


STACK = Stack(
    SPEC,
    lambda: {
        "FLEET": FakeUpstream(Bearer(TOKEN), name="fleet"),
        "LEGACY": FakeUpstream(name="legacy"),
    },
    env={"FEAT_IMPORTS_TOKEN": TOKEN},
    base_paths={"FLEET": "/v3"},
    elsewhere=True,  # ./shared.yaml must be found next to the spec, not in the CWD
)


async def test_aliased_import_list(h: Harness) -> None:
    reply = [{"imo": "9321483"}]
    fleet = h.fakes["FLEET"]
    fleet.expect(
        "GET",
        "/v3/vessels",
        query=[("status", "active")],
        headers={"Registry-Version": "2026-01"},
        reply=reply,
    )
    got = await h.rest("GET", "/vessels?status=active")
    seen = fleet.only()
    assert seen.headers.getall("Authorization") == [f"Bearer {TOKEN}"]
    assert seen.headers.getall("Registry-Version") == ["2026-01"]
    assert (got.status, got.json) == (200, reply)
    fleet.clear()
    assert mcp_json(await h.tool("list-vessels", {"status": "active"})) == reply
    assert fleet.only().query == [("status", "active")]
    h.reset()
    fleet.expect("GET", "/v3/vessels", query=[], reply=reply)
    assert mcp_json(await h.tool("list-vessels", {})) == reply
    assert fleet.only().query == []
    assert h.fakes["LEGACY"].requests == []


async def test_aliased_import_path(h: Harness) -> None:
    reply = {"imo": "9321483", "name": "Aurora"}
    fleet = h.fakes["FLEET"]
    fleet.expect("GET", "/v3/vessels/9321483", query=[], reply=reply)
    assert (await h.rest("GET", "/vessels/9321483")).json == reply
    assert fleet.only().headers.getall("Authorization") == [f"Bearer {TOKEN}"]
    fleet.clear()
    assert mcp_json(await h.tool("get-vessel", {"imo": "9321483"})) == reply
    assert fleet.only().raw_path == "/v3/vessels/9321483"


async def test_plain_import(h: Harness) -> None:
    reply = {"hulls": ["H-1"]}
    legacy = h.fakes["LEGACY"]
    legacy.expect("GET", "/hulls", query=[], reply=reply)
    assert (await h.rest("GET", "/hulls")).json == reply
    seen = legacy.only()
    assert "Authorization" not in seen.headers and "Registry-Version" not in seen.headers
    legacy.clear()
    assert mcp_json(await h.tool("list-hulls")) == reply
    legacy.only()
    assert h.fakes["FLEET"].requests == []


def test_alias_names_the_upstream(built: Any) -> None:
    upstreams = built.rest.upstream.UPSTREAMS
    assert set(upstreams) == {"fleet", "legacy"}
    config = built.rest.upstream.load_config(environ={"FEAT_IMPORTS_TOKEN": "t"})
    assert {ns: s.base_url for ns, s in config.upstreams.items()} == {
        "fleet": "https://registry.example.invalid/v3",
        "legacy": "https://legacy.example.invalid",
    }


def test_missing_import_file_is_a_build_error(tmp_path: Path) -> None:
    from naftiko_gen.codegen import generate

    spec = tmp_path / "broken.yaml"
    text = SPEC.read_text().replace("./shared.yaml", "./nowhere.yaml", 1)
    spec.write_text(text)
    result = generate([spec], tmp_path / "out")
    errors = [d.format() for d in result.report.errors]
    assert errors, "a missing import file must fail the build"
    line = text.splitlines().index("      location: ./nowhere.yaml") + 1
    assert errors[0].startswith(f"{result.report.errors[0].pos.file}:{line}:")
    assert "nowhere.yaml" in errors[0]
