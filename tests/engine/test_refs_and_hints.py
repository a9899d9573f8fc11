"""`ref`, aggregate steps and tool annotations, driven by the engine's alpha2 fixtures.

* aggregate-basic.yaml (AggregateIntegrationTest): a tool with `ref` and its own description keeps
  it; a tool naming only `ref` (+ name) inherits the function's description; the REST POST
  operation naming only `ref` inherits the function's name and description; semantics
  `safe`/`idempotent` give readOnly/destructive/idempotent hints;
* aggregate-step-with-namespace.yaml (AggregateStepNamespaceIntegrationTest): a step's
  `with: {voyage-id: shipyard.voyage-id}` is the caller's argument, not the literal string;
* mcp-hints-capability.yaml (McpToolHintsIntegrationTest.toolsListShouldIncludeAnnotationsInWireFormat):
  `label` is both `title` and `annotations.title`; a tool without label has no annotations.title;
  a tool with neither hints nor label has no annotations.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.engine.stack import ENGINE, build, serve
from tests.features.upstream import FakeUpstream, mcp_json

pytestmark = pytest.mark.anyio
FUNCTION_DESCRIPTION = "Fetch current weather forecast for a location."


@pytest.fixture(scope="module")
async def forecast(tmp_path_factory: pytest.TempPathFactory) -> Any:
    built = build(ENGINE / "aggregates" / "aggregate-basic.yaml", tmp_path_factory.mktemp("agg"))
    fake = FakeUpstream(name="weather")
    async with serve(built, {"WEATHER_API": fake}, {"WEATHER_API": "/v1"}) as running:
        running.built = built
        yield running


async def test_ref_tools_inherit_from_the_function(forecast: Any) -> None:
    listed = (await forecast.mcp.list_tools()).tools
    tools = {t.name: t.model_dump(by_alias=True, exclude_none=True) for t in listed}
    assert set(tools) == {"get-forecast", "get-forecast-inherited"}
    assert tools["get-forecast"]["description"] == "Get the weather forecast."
    assert tools["get-forecast-inherited"]["description"] == FUNCTION_DESCRIPTION
    for tool in tools.values():
        # the function's inputParameters, not the tool's (it declares none)
        assert list(tool["inputSchema"]["properties"]) == ["location"]
        # semantics safe + idempotent; openWorld stays unset
        assert tool["annotations"] == {
            "readOnlyHint": True, "destructiveHint": False, "idempotentHint": True,
        }  # fmt: skip


async def test_ref_tool_calls_the_function(forecast: Any) -> None:
    forecast.reset()
    fake = forecast.fakes["WEATHER_API"]
    fake.expect("GET", "/v1/forecast", reply={"forecast": "sunny"})
    got = await forecast.mcp.call_tool("get-forecast-inherited", {"location": "Paris"})
    assert fake.only().raw_path == "/v1/forecast"
    assert mcp_json(got) == "sunny"


async def test_ref_rest_operation_inherits_name_and_description(forecast: Any) -> None:
    document = json.loads((forecast.built.out_dir / forecast.built.package / "openapi.json").read_text())
    post = document["paths"]["/forecast/{location}"]["post"]
    get = document["paths"]["/forecast/{location}"]["get"]
    assert post["operationId"] == "get-forecast"
    assert post["description"] == FUNCTION_DESCRIPTION
    assert get["description"] == FUNCTION_DESCRIPTION
    forecast.reset()
    fake = forecast.fakes["WEATHER_API"]
    fake.expect("GET", "/v1/forecast", reply={"forecast": "rain"})
    got = await forecast.rest("POST", "/forecast/Oslo")
    assert fake.only().method == "GET"
    assert got.status == 200 and got.json == "rain"


async def test_aggregate_step_namespace_reference(tmp_path: Any) -> None:
    spec = ENGINE / "aggregates" / "aggregate-step-with-namespace.yaml"
    built = build(spec, tmp_path, rest=False)
    fake = FakeUpstream(name="registry")
    fake.expect("GET", "/voyages/VOY-2026-042", reply={"voyageId": "VOY-2026-042"})
    async with serve(built, {"REGISTRY": fake}) as running:
        got = await running.mcp.call_tool("get-voyage-manifest", {"voyage-id": "VOY-2026-042"})
    assert fake.only().raw_path == "/voyages/VOY-2026-042"
    assert mcp_json(got) == {"voyage-id": "VOY-2026-042"}


async def test_label_is_annotations_title(tmp_path: Any) -> None:
    built = build(ENGINE / "mcp" / "mcp-hints-capability.yaml", tmp_path, rest=False)
    fake = FakeUpstream(name="mock-api")
    fake.expect("GET", "/v1/data", reply={"result": "ok"})
    async with serve(built, {"MOCK_API": fake}, {"MOCK_API": "/v1"}) as running:
        listed = await running.mcp.list_tools()
        got = await running.mcp.call_tool("read-data", {})
    tools = [t.model_dump(by_alias=True, exclude_none=True) for t in listed.tools]
    assert [t["name"] for t in tools] == ["read-data", "delete-record", "no-hints-tool"]
    read, delete, plain = tools
    assert read["title"] == "Read Data"
    assert read["annotations"] == {"title": "Read Data", "readOnlyHint": True, "openWorldHint": True}
    assert "title" not in delete["annotations"]
    assert delete["annotations"] == {
        "readOnlyHint": False, "destructiveHint": True, "idempotentHint": True,
        "openWorldHint": False,
    }  # fmt: skip
    assert "annotations" not in plain
    assert fake.only().raw_path == "/v1/data"  # `data` joined to `/v1` with one '/'
    assert mcp_json(got) == "ok"
