"""A consumed `in: path` parameter with a static `value` fills its placeholder: the caller
supplies only the other path values."""

from __future__ import annotations

import pytest

from tests.features.upstream import (
    FIXTURES,
    FakeUpstream,
    build_package,
    harness,
    mcp_json,
)

pytestmark = pytest.mark.anyio

SPEC = FIXTURES / "feat_path_value.yaml"


async def test_static_path_value(tmp_path_factory: pytest.TempPathFactory) -> None:
    built = build_package(SPEC, tmp_path_factory.mktemp("path_value"))
    async with harness(built, {"THINGS": FakeUpstream(name="things")}) as h:
        h.fake.expect("GET", "/v2/things/abc", query=[], reply={"id": "abc"})
        got = await h.rest("GET", "/things/abc")
        assert h.fake.only().raw_path == "/v2/things/abc"
        assert (got.status, got.json) == (200, {"id": "abc"})
        h.fake.clear()
        tools = {t.name: t for t in (await h.mcp.list_tools()).tools}
        assert set(tools["get-thing"].input_schema["properties"]) == {"id"}
        assert mcp_json(await h.tool("get-thing", {"id": "abc"})) == {"id": "abc"}
        assert h.fake.only().raw_path == "/v2/things/abc"
