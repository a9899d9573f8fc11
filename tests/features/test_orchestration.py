"""Orchestration, aggregates and forward (feat_orchestration.yaml) through REST and MCP: one
function per chain of steps, lookups and mappings over real arrays, a failed step relayed by
name, and a forward that no '..', '%2e%2e' or '%2F' can steer outside its prefix."""

from __future__ import annotations

import pytest

from tests.features.upstream import (
    FIXTURES,
    Bearer,
    FakeUpstream,
    Harness,
    Stack,
    mcp_json,
    mcp_text,
)

pytestmark = pytest.mark.anyio

SPEC = FIXTURES / "feat_orchestration.yaml"
TOKEN = "fleet-t0ken"
REGISTRY = [
    {"id": 1, "imo": "IMO-1", "name": "Aurora", "flag": "NO", "crewSize": 12},
    {"id": 2, "imo": "IMO-2", "name": "Borealis", "flag": "DK", "crewSize": 9},
    {"id": 3, "imo": "IMO-3", "name": "Cirrus", "flag": "SE", "crewSize": 4},
]
SHIP = {"id": 1, "imo": "IMO-1", "tonnage": 5100, "sisters": ["IMO-3", "IMO-404", "IMO-2"]}
CREW = {"members": [{"name": "Ada"}, {"name": "Bo"}]}


STACK = Stack(
    SPEC,
    lambda: {"FLEET": FakeUpstream(auth=Bearer(TOKEN), name="fleet")},
    env={"FLEET_TOKEN": TOKEN},
    base_paths={"FLEET": "/api"},
)


def _fleet(h: Harness) -> None:
    h.fake.expect("GET", "/api/ships", reply=REGISTRY)
    h.fake.expect("GET", "/api/ships/IMO-1", reply=SHIP)
    h.fake.expect("GET", "/api/ships/1/crew", reply=CREW)


async def test_three_steps_a_lookup_and_mappings(h: Harness) -> None:
    _fleet(h)
    got = await h.rest("GET", "/ships/IMO-1/crew")
    assert got.status == 200, got.text
    assert got.json == {
        "imo": "IMO-1",
        "crew": [{"name": "Ada"}, {"name": "Bo"}],
        # looked up by the consumed output 'imo-number' ($.imo), in the order asked, IMO-404 absent
        "sisters": [{"name": "Cirrus", "flag": "SE"}, {"name": "Borealis", "flag": "DK"}],
        "size": {"tonnage": 5100},
    }
    assert [(r.method, r.raw_path) for r in h.fake.requests] == [
        ("GET", "/api/ships/IMO-1"),
        ("GET", "/api/ships/1/crew"),  # the second step reads the first one's id
        ("GET", "/api/ships"),
    ]
    assert all(r.headers["Authorization"] == f"Bearer {TOKEN}" for r in h.fake.requests)


async def test_aggregate_function_from_rest_and_mcp(h: Harness) -> None:
    _fleet(h)
    card = {"name": "Aurora", "ids": {"imo": "IMO-1"}, "crew": [{"name": "Ada"}, {"name": "Bo"}]}
    got = await h.rest("GET", "/cards?name=Aurora")
    assert got.status == 200 and got.json == card
    assert mcp_json(await h.tool("ship-card", {"name": "Aurora"})) == card
    tools = {t.name: t for t in (await h.mcp.list_tools()).tools}
    hints = tools["ship-card"].annotations
    assert hints is not None and hints.read_only_hint and hints.idempotent_hint
    assert hints.destructive_hint is False
    assert tools["ship-card"].input_schema["required"] == ["name"]


async def test_a_failed_step_is_relayed_naming_it(h: Harness) -> None:
    h.fake.expect("GET", "/api/ships/IMO-1", reply=SHIP)
    h.fake.expect("GET", "/api/ships/1/crew", status=503, reply={"down": True})
    got = await h.rest("GET", "/ships/IMO-1/crew")
    assert got.status == 503
    assert got.json["step"] == "crew" and got.json["upstream"] == {"down": True}
    assert [r.raw_path for r in h.fake.requests] == ["/api/ships/IMO-1", "/api/ships/1/crew"]
    h.fake.expect("GET", "/api/ships", status=500, reply={"oops": 1})
    result = await h.tool("ship-card", {"name": "Aurora"})
    assert result.is_error and "step 'registry'" in mcp_text(result)


async def test_lookup_without_a_match_gives_null(h: Harness) -> None:
    h.fake.expect("GET", "/api/ships", reply=REGISTRY)
    h.fake.expect("GET", "/api/ships/crew", reply=CREW)  # never reached: the path needs an id
    result = await h.tool("ship-card", {"name": "Nobody"})
    assert result.is_error and "shipId" in mcp_text(result)


async def test_forward_passes_method_query_body_and_trusted_headers(h: Harness) -> None:
    h.fake.expect("POST", "/api/ships/a%20b/log", query=[("x", "1"), ("x", "2")], status=202,
                  reply={"ok": True})  # fmt: skip
    got = await h.rest(
        "POST",
        "/proxy/ships/a%20b/log?x=1&x=2",
        json_body={"entry": "hi"},
        headers={"X-Request-Id": "r-1", "X-Secret": "no", "Authorization": "Bearer caller"},
    )
    assert got.status == 202 and got.json == {"ok": True}
    seen = h.fake.only()
    assert seen.json == {"entry": "hi"} and seen.content_type.startswith("application/json")
    assert seen.headers["X-Request-Id"] == "r-1" and "X-Secret" not in seen.headers
    assert seen.headers["Authorization"] == f"Bearer {TOKEN}"  # the upstream's own auth


@pytest.mark.parametrize(
    "path",
    [
        "/proxy/%2e%2e/admin",
        "/proxy/%2E%2E/%2e%2e/admin",
        "/proxy/ships/..%2F..%2Fadmin",
        "/proxy/ships%2F..%2F..%2Fadmin",
        "/proxy/%2e/x",
        "/proxy/a%5C..%5Cb",
    ],
)
async def test_forward_cannot_leave_its_prefix(h: Harness, path: str) -> None:
    got = await h.rest("GET", path)
    assert got.status in (400, 404), got.text
    assert not h.fake.requests  # nothing reached the upstream


async def test_forward_plain_dot_dot_is_resolved_by_the_url_first(h: Harness) -> None:
    got = await h.rest("GET", "/proxy/../openapi.json")
    # '/proxy/../openapi.json' is '/openapi.json' once the URL is normalised: never forwarded
    assert not h.fake.requests and got.status in (200, 400, 404)
