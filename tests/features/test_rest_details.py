"""REST details: operation name/label/description in /openapi.json, and exposed path
parameters named differently from the consumed ones, matched by position (or by name in
another case)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.features.upstream import (
    FIXTURES,
    FakeUpstream,
    Harness,
    Stack,
    mcp_json,
)

pytestmark = pytest.mark.anyio

SPEC = FIXTURES / "feat_rest_details.yaml"
BERTH = "/v1/harbors/{harborCode}/berths/{berthNo}"
CRANE = "/v1/terminals/{terminalid}/cranes/{craneid}"
GATE = "/v1/gates/{gateId}"


STACK = Stack(
    SPEC, lambda: {"PORTS": FakeUpstream(name="ports")}, base_paths={"PORTS": "/api"}
)


async def test_openapi_has_names_and_descriptions(h: Harness, built: Any) -> None:
    got = await h.rest("GET", "/openapi.json")
    assert got.status == 200 and got.content_type.startswith("application/json")
    doc = got.json
    assert doc["openapi"].startswith("3.")
    assert doc["info"]["title"] == "Feature: REST details"
    assert set(doc["paths"]) == {BERTH, CRANE, GATE}
    get = doc["paths"][BERTH]["get"]
    assert get["operationId"] == "getBerth"
    assert get["summary"] == "Get a berth"
    assert get["description"] == "Reads one berth (a dock upstream), matched by position."
    put = doc["paths"][BERTH]["put"]
    assert put["operationId"] == "updateBerth"
    assert put["description"] == "Replaces one berth."
    assert "requestBody" in put
    assert doc["paths"][CRANE]["get"]["operationId"] == "getCrane"
    names = [(p["in"], p["name"], p["required"]) for p in get["parameters"]]
    assert names == [("path", "harborCode", True), ("path", "berthNo", True)]
    assert built.rest.OPENAPI_FILE.read_bytes() == got.body


async def test_path_params_matched_by_position(h: Harness) -> None:
    h.fake.expect("GET", "/api/ports/NLRTM/docks/42", query=[], reply={"dock": 42})
    got = await h.rest("GET", "/v1/harbors/NLRTM/berths/42")
    seen = h.fake.only()
    assert (seen.method, seen.raw_path, seen.query_string) == (
        "GET",
        "/api/ports/NLRTM/docks/42",
        "",
    )
    assert (got.status, got.json) == (200, {"dock": 42})


async def test_path_params_matched_by_position_put(h: Harness) -> None:
    body = {"length": 300, "depth": 14.5}
    h.fake.expect("PUT", "/api/ports/FRBES/docks/7", json_body=body, reply={"ok": True})
    got = await h.rest("PUT", "/v1/harbors/FRBES/berths/7", json_body=body)
    seen = h.fake.only()
    assert (seen.method, seen.raw_path) == ("PUT", "/api/ports/FRBES/docks/7")
    assert seen.json == body
    assert got.json == {"ok": True}


async def test_path_params_matched_case_insensitively(h: Harness) -> None:
    h.fake.expect("GET", "/api/terminals/T2/cranes/c-9", reply={"crane": "c-9"})
    got = await h.rest("GET", "/v1/terminals/T2/cranes/c-9")
    assert h.fake.only().raw_path == "/api/terminals/T2/cranes/c-9"
    assert got.json == {"crane": "c-9"}


async def test_mcp_uses_consumed_names(h: Harness) -> None:
    tools = {t.name: t for t in (await h.mcp.list_tools()).tools}
    assert sorted(tools["get-dock"].input_schema["required"]) == ["dockId", "portId"]
    h.fake.expect("GET", "/api/ports/NLRTM/docks/42", reply={"dock": 42})
    assert mcp_json(await h.tool("get-dock", {"portId": "NLRTM", "dockId": "42"})) == {"dock": 42}
    assert h.fake.only().raw_path == "/api/ports/NLRTM/docks/42"


async def test_unknown_rest_path_is_404(h: Harness) -> None:
    got = await h.rest("GET", "/v1/harbors/NLRTM")
    assert got.status == 404
    assert h.fake.requests == []


async def test_default_method_resource_params_cookie_and_mixed_outputs(h: Harness) -> None:
    h.fake.expect(
        "GET",
        "/api/gates/G7",
        headers={"X-Trace": "tr-1"},
        reply={"state": {"open": True}, "other": 1},
    )
    got = await h.rest("GET", "/v1/gates/G7", headers={"X-Trace": "tr-1", "Cookie": "sid=abc; x=y"})
    seen = h.fake.only()
    assert (seen.method, seen.raw_path) == ("GET", "/api/gates/G7")
    assert seen.headers.getall("X-Trace") == ["tr-1"]
    assert seen.cookies == {"sid": "abc"}
    assert (got.status, got.json) == (200, {"source": "gate-G7", "open": True})


async def test_openapi_resource_level_params(h: Harness) -> None:
    doc = (await h.rest("GET", "/openapi.json")).json
    op = doc["paths"][GATE]["get"]
    assert op["operationId"] == "getGate"
    assert op["description"] == "No method, so GET."
    params = {(p["in"], p["name"]): p for p in op["parameters"]}
    assert params[("header", "X-Trace")]["description"] == (
        "Trace id, for every operation of this resource"
    )
    assert params[("cookie", "sid")]["description"] == "Session cookie"
    assert params[("path", "gateId")]["required"] is True
