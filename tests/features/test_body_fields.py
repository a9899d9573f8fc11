"""A body field named `body` is a field like any other (issue #19, "no silent traps").

The REST route and the MCP tool both take `title`, `body` and `labels`; the upstream must receive
exactly the object the caller meant, through the real generated servers and a validating,
recording fake upstream. Only an explicit `value: $.` binds the whole request payload, and a
consumed body field that nothing fills is left out (with a build warning), never filled with the
payload.
"""

from __future__ import annotations

import json
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

SPEC = FIXTURES / "feat_body_fields.yaml"
ISSUE = {"title": "Bug", "body": "It breaks", "labels": ["bug"]}
CREATED = {"number": 7}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Any:
    return build_package(SPEC, tmp_path_factory.mktemp("body_fields"))


@pytest.fixture(scope="module")
async def h(built: Any) -> Any:
    async with harness(built, {"GITHUB": FakeUpstream(name="github")}) as running:
        yield running


@pytest.fixture(autouse=True)
def _reset(h: Harness) -> None:
    h.reset()


def _expect_issue(h: Harness, owner: str, doc: Any) -> None:
    h.fake.expect(
        "POST",
        f"/repos/{owner}/issues",
        json_body=doc,
        content_type="application/json",
        status=201,
        reply=CREATED,
    )


@pytest.mark.parametrize("route", ["/repos", "/auto"], ids=["declared", "from-consumed"])
async def test_rest_body_field_named_body_is_a_field(h: Harness, route: str) -> None:
    _expect_issue(h, "octo", ISSUE)
    got = await h.rest("POST", f"{route}/octo/issues", json_body=ISSUE)
    assert (got.status, got.json) == (201, CREATED), got.text
    seen = h.fake.only()
    assert (seen.method, seen.raw_path) == ("POST", "/repos/octo/issues")
    assert seen.json == ISSUE


@pytest.mark.parametrize("tool", ["create-issue", "create-issue-auto"])
async def test_tool_argument_named_body_is_a_field(h: Harness, tool: str) -> None:
    _expect_issue(h, "octo", ISSUE)
    assert mcp_json(await h.tool(tool, {"owner": "octo", **ISSUE})) == CREATED
    seen = h.fake.only()
    assert (seen.method, seen.raw_path) == ("POST", "/repos/octo/issues")
    assert seen.json == ISSUE


async def test_body_field_must_have_its_own_type(h: Harness) -> None:
    """`body` is checked as the string field it is declared to be, not as the payload."""
    got = await h.rest("POST", "/repos/octo/issues", json_body={**ISSUE, "body": {"x": 1}})
    assert got.status == 400
    assert "'body'" in got.json["error"] and "string" in got.json["error"]
    assert h.fake.requests == []
    result = await h.tool("create-issue", {"owner": "octo", **ISSUE, "body": ["x"]})
    assert result.is_error and "body" in mcp_text(result)
    assert h.fake.requests == []


async def test_unfilled_body_field_is_left_out(h: Harness) -> None:
    """The route declares title and labels only: `body` is not sent, not even the payload."""
    sent = {"title": "Bug", "labels": ["bug"]}
    _expect_issue(h, "octo", sent)
    got = await h.rest("POST", "/short/octo/issues", json_body={**sent, "body": "ignored"})
    assert (got.status, got.json) == (201, CREATED), got.text
    assert h.fake.only().json == sent


async def test_unfilled_body_field_is_a_located_warning() -> None:
    report, _ = validate([SPEC])
    found = [
        (d.severity.value, d.rule, d.pos.line) for d in report.items if d.severity.value != "note"
    ]
    # The /short route (line 51) declares title and labels, and nothing fills 'body'.
    assert found == [("warning", "naftiko-body-param-unfilled", 51)], found


async def test_whole_payload_only_by_explicit_mapping(h: Harness) -> None:
    note = {"text": "hi", "tags": ["a"], "nested": {"body": "x"}}
    h.fake.expect("POST", "/notes", json_body=note, content_type="application/json", reply=CREATED)
    got = await h.rest("POST", "/notes", json_body=note)
    assert (got.status, got.json) == (200, CREATED), got.text
    assert h.fake.only().json == note


async def test_openapi_documents_the_fields(h: Harness) -> None:
    doc = (await h.rest("GET", "/openapi.json")).json
    schema = doc["paths"]["/repos/{owner}/issues"]["post"]["requestBody"]["content"][
        "application/json"
    ]["schema"]
    assert schema["type"] == "object"
    assert schema["properties"]["body"]["type"] == "string"
    assert set(schema["properties"]) == {"title", "body", "labels"}
    whole = doc["paths"]["/notes"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert "properties" not in whole, json.dumps(whole)
