"""Route order and path parameters are never traps (issue #22).

- `GET /sheets/{sheetId}/values/batch` reaches its own operation although the spec declares
  `/sheets/{sheetId}/values/{range}` first (a literal segment wins over a placeholder);
- a value that fills an upstream path placeholder is required everywhere — tool inputSchema,
  openapi.json (`in: path`, or a required query parameter when the route has no placeholder) and
  the REST route — although the consumed declaration does not mark it required.

Real generated servers, a validating recording fake upstream: the test asserts which upstream
operation (path) the fake recorded.
"""

from __future__ import annotations

from typing import Any

import pytest

from naftiko_gen.codegen import validate
from tests.features.upstream import (
    FIXTURES,
    FakeUpstream,
    Harness,
    build_package,
    harness,
    mcp_json,
    mcp_text,
)

pytestmark = pytest.mark.anyio

SPEC = FIXTURES / "feat_route_order.yaml"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Any:
    return build_package(SPEC, tmp_path_factory.mktemp("route_order"))


@pytest.fixture(scope="module")
async def h(built: Any) -> Any:
    async with harness(built, {"SHEETS": FakeUpstream(name="sheets")}) as running:
        yield running


@pytest.fixture(autouse=True)
def _reset(h: Harness) -> None:
    h.reset()


async def test_literal_segment_wins_over_placeholder(h: Harness) -> None:
    h.fake.expect("GET", "/v4/sheets/s1/values:batchGet", reply={"op": "batch-get"})
    h.fake.expect("GET", "/v4/sheets/s1/values/batch", reply={"op": "get-values"})
    got = await h.rest("GET", "/sheets/s1/values/batch")
    assert (got.status, got.json) == (200, {"op": "batch-get"}), got.text
    assert h.fake.only().raw_path == "/v4/sheets/s1/values:batchGet"


async def test_placeholder_route_still_takes_other_values(h: Harness) -> None:
    h.fake.expect("GET", "/v4/sheets/s1/values/A1%3AB2", reply={"op": "get-values"})
    got = await h.rest("GET", "/sheets/s1/values/A1%3AB2")
    assert (got.status, got.json) == (200, {"op": "get-values"}), got.text
    assert h.fake.only().raw_path == "/v4/sheets/s1/values/A1%3AB2"


async def test_path_value_is_required_by_the_tool(h: Harness) -> None:
    tools = {t.name: t for t in (await h.mcp.list_tools()).tools}
    assert tools["get-entity"].input_schema["required"] == ["entity"]
    result = await h.tool("get-entity", {})
    assert result.is_error and "entity" in mcp_text(result)
    assert h.fake.requests == []
    h.fake.expect("GET", "/entities/e%201", reply={"id": "e 1"})
    assert mcp_json(await h.tool("get-entity", {"entity": "e 1"})) == {"id": "e 1"}
    assert h.fake.only().raw_path == "/entities/e%201"


async def test_path_value_is_required_by_the_routes(h: Harness) -> None:
    doc = (await h.rest("GET", "/openapi.json")).json
    (in_path,) = doc["paths"]["/entities/{entity}"]["get"]["parameters"]
    assert (in_path["name"], in_path["in"], in_path["required"]) == ("entity", "path", True)
    (in_query,) = doc["paths"]["/entity"]["get"]["parameters"]
    assert (in_query["name"], in_query["in"], in_query["required"]) == ("entity", "query", True)
    got = await h.rest("GET", "/entity")
    assert got.status == 400 and "entity" in got.json["error"]
    assert h.fake.requests == []
    h.fake.expect("GET", "/entities/e2", reply={"id": "e2"})
    for path in ("/entities/e2", "/entity?entity=e2"):
        got = await h.rest("GET", path)
        assert (got.status, got.json) == (200, {"id": "e2"}), got.text
        assert h.fake.only().raw_path == "/entities/e2"
        h.fake.clear()


async def test_placeholder_declared_in_query_goes_in_the_path_only(h: Harness) -> None:
    h.fake.expect("GET", "/records/r1", query=[], reply={"id": "r1"})
    tools = {t.name: t for t in (await h.mcp.list_tools()).tools}
    assert tools["get-record"].input_schema["required"] == ["recordId"]
    assert mcp_json(await h.tool("get-record", {"recordId": "r1"})) == {"id": "r1"}
    seen = h.fake.only()
    assert (seen.raw_path, seen.query) == ("/records/r1", [])


def test_build_warns_where_a_value_is_declared_and_where_it_goes() -> None:
    report, _ = validate([SPEC])
    found = [(d.rule, d.pos.line) for d in report.items if d.severity.value != "note"]
    assert sorted(found) == [
        ("naftiko-consumed-param-location", 38),  # recordId: 'in: query', fills the path
        ("naftiko-path-input", 65),  # GET /entity reads the path value from the query
    ], found
