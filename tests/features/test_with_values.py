"""`with:` values: rest.X, tools.X, <namespace>.X, {{X}}, {{tools.X}}, {{env.X}} (a bind),
mixed templates, and literals (numbers, booleans, lists, the dotted literal `v1.2`)."""

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

SPEC = FIXTURES / "feat_with_values.yaml"
REPLY = {"entries": [{"id": 1, "amount": -12.5}]}
EXPECTED_QUERY = [
    ("from", "2026-01-01"),  # rest.start / {{tools.start}}
    ("to", "2026-01-31"),  # {{end}}
    ("owner", "ann o'neil"),  # <namespace>.who
    ("label", "entries-2026-01-01"),  # mixed template
    ("region", "eu-north-1"),  # {{env.LEDGER_REGION}} through the `env` bind
    ("limit", "25"),  # number literal
    ("verbose", "true"),  # boolean literals
    ("archived", "false"),
    ("tags", "alpha"),  # list literal: repeated
    ("tags", "beta"),
    ("version", "v1.2"),  # dotted literal stays literal
    ("ratio", "0.5"),
]


STACK = Stack(
    SPEC, lambda: {"LEDGER": FakeUpstream(name="ledger")}, env={"FEAT_WITH_REGION": "eu-north-1"}
)


def _without_region(query: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return sorted(pair for pair in query if pair[0] != "region")


def _check(h: Harness) -> None:
    seen = h.fake.only()
    assert seen.method == "GET"
    assert seen.raw_path == "/accounts/acc%2042/entries"
    # region ({{env.X}}) is checked on its own in test_env_bind_in_with_*
    assert _without_region(seen.query) == _without_region(EXPECTED_QUERY)
    assert seen.headers.getall("X-Page-Size") == ["50"]
    assert seen.body == b""


async def test_with_values_through_rest(h: Harness) -> None:
    h.fake.expect("GET", "/accounts/acc%2042/entries", reply=REPLY)
    got = await h.rest(
        "GET", "/ledger/acc%2042/entries?start=2026-01-01&end=2026-01-31&who=ann%20o%27neil"
    )
    _check(h)
    assert (got.status, got.json) == (200, REPLY)


async def test_with_values_through_mcp(h: Harness) -> None:
    h.fake.expect("GET", "/accounts/acc%2042/entries", reply=REPLY)
    result = await h.tool(
        "list-entries",
        {"account": "acc 42", "start": "2026-01-01", "end": "2026-01-31", "who": "ann o'neil"},
    )
    _check(h)
    assert mcp_json(result) == REPLY


async def test_literals_are_not_caller_inputs(h: Harness) -> None:
    """Literal `with` values are fixed: they do not appear as inputs, and a caller cannot
    override them."""
    tools = {t.name: t for t in (await h.mcp.list_tools()).tools}
    props = tools["list-entries"].input_schema["properties"]
    assert set(props) == {"account", "start", "end", "who"}
    doc = (await h.rest("GET", "/openapi.json")).json
    names = {p["name"] for p in doc["paths"]["/ledger/{account}/entries"]["get"]["parameters"]}
    assert not names & {
        "limit",
        "verbose",
        "archived",
        "tags",
        "version",
        "ratio",
        "region",
        "label",
        "X-Page-Size",
        "v1",
        "LEDGER_REGION",
    }
    h.fake.expect("GET", "/accounts/a/entries", reply=REPLY)
    await h.rest("GET", "/ledger/a/entries?start=s&end=e&who=w&limit=1&version=v9&region=x")
    seen = h.fake.only()
    assert ("limit", "25") in seen.query and ("limit", "1") not in seen.query
    assert ("version", "v1.2") in seen.query and ("region", "x") not in seen.query


async def test_env_bind_in_with_through_rest(h: Harness) -> None:
    """`region: "{{env.LEDGER_REGION}}"` reads the `env` bind (env var FEAT_WITH_REGION)."""
    h.fake.expect("GET", "/accounts/a/entries", reply=REPLY)
    await h.rest("GET", "/ledger/a/entries?start=s&end=e&who=w")
    assert [v for k, v in h.fake.only().query if k == "region"] == ["eu-north-1"]


async def test_env_bind_in_with_through_mcp(h: Harness) -> None:
    h.fake.expect("GET", "/accounts/a/entries", reply=REPLY)
    await h.tool("list-entries", {"account": "a", "start": "s", "end": "e", "who": "w"})
    assert [v for k, v in h.fake.only().query if k == "region"] == ["eu-north-1"]


def test_env_bind_in_with_is_required_at_startup(
    built: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bind used by a `with` value is a start-up requirement like any other secret."""
    monkeypatch.delenv("FEAT_WITH_REGION", raising=False)
    monkeypatch.setenv("LEDGER_BASE_URL", "http://127.0.0.1:9")
    with pytest.raises(built.rest.rt.ConfigError, match="FEAT_WITH_REGION"):
        built.rest.create_app()
    with pytest.raises(built.mcp.rt.ConfigError, match="FEAT_WITH_REGION"):
        built.mcp.create_app()
