"""Every published version (#22 item 4): one fixture per version difference in
tests/fixtures/versions/ (naftiko alpha1 and alpha3, ikanos beta1 and beta5), each built — its
notes say which version was read and what was adapted, at the line of the adaptation — and both
generated servers started on 127.0.0.1 and called through REST and MCP against a recording fake
upstream, asserting the exact upstream request and the shaped result."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from naftiko_gen.cli import cli
from naftiko_gen.codegen import generate
from naftiko_gen.degrade import SKIPPED
from tests.features.upstream import FakeUpstream, build_package, harness, mcp_json
from tests.support import FIXTURES
from tests.versions.test_degrade import both, line_of

pytestmark = pytest.mark.anyio

VERSIONS = FIXTURES / "versions"


def rules_at(spec: Path) -> dict[str, list[tuple[str, int]]]:
    """rule → (file name, line) of every diagnostic building the spec reports (no errors)."""
    report = generate([spec], Path("/nonexistent-out")).report
    assert not report.errors, [d.format() for d in report.errors]
    out: dict[str, list[tuple[str, int]]] = {}
    for d in report.items:
        out.setdefault(d.rule, []).append((Path(d.pos.file).name, d.pos.line))
    return out


def validate_notes(spec: Path) -> str:
    result = CliRunner().invoke(cli, ["validate", "--notes", str(spec)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output + (result.stderr if result.stderr_bytes is not None else "")


async def test_alpha1_items_list_is_read_as_its_shape(tmp_path: Path) -> None:
    spec = VERSIONS / "alpha1.yaml"
    found = rules_at(spec)
    first_items = spec.read_text().splitlines().index("                  items:") + 2
    assert found["naftiko-version-alpha1"] == [
        ("alpha1.yaml", line_of(spec, "naftiko:")),
        ("alpha1.yaml", first_items),
    ]
    assert "1.0.0-alpha1 is read as alpha2" in validate_notes(spec)
    built = build_package(spec, tmp_path / "out")
    async with harness(built, {"UP": FakeUpstream(name="up")}) as h:
        h.fake.expect("GET", "/items", reply={"data": [{"item_id": "a"}, {"item_id": "b"}]})
        got = await h.rest("GET", "/items")
        assert got.json == [{"id": "a"}, {"id": "b"}]
        h.fake.clear()
        result = await h.tool("list-items")
        assert mcp_json(result) == [{"id": "a"}, {"id": "b"}]
        assert h.fake.only().raw_path == "/items"


async def test_alpha3_aggregate_function_called_by_ref(tmp_path: Path) -> None:
    spec = VERSIONS / "alpha3.yaml"
    assert rules_at(spec)["naftiko-version-alpha3"] == [("alpha3.yaml", line_of(spec, "naftiko:"))]
    built = build_package(spec, tmp_path / "out")
    async with harness(built, {"UP": FakeUpstream(name="up")}) as h:
        h.fake.expect("GET", "/items/7", no_body=True, reply={"id": "7", "name": "Anchor"})
        for seen in await both(h, ("GET", "/items/7"), ("get-item", {"id": "7"})):
            assert (seen.method, seen.raw_path) == ("GET", "/items/7")


async def test_beta1_keyed_collections_and_default_get(tmp_path: Path) -> None:
    spec = VERSIONS / "beta1.yaml"
    found = rules_at(spec)
    assert found["naftiko-version-ikanos"] == [("beta1.yaml", line_of(spec, "ikanos:"))]
    lines = spec.read_text().splitlines()
    first_resources = lines.index("      resources:") + 1  # the first keyed collection
    first_operation = lines.index("            list-items:") + 1  # the first without 'method'
    assert found["naftiko-version-keyed"] == [("beta1.yaml", first_resources + 1)]
    assert found["naftiko-version-method-default"][0] == ("beta1.yaml", first_operation + 1)
    built = build_package(spec, tmp_path / "out")
    async with harness(built, {"UP": FakeUpstream(name="up")}) as h:
        h.fake.expect("GET", "/items", no_body=True, reply=[])
        for seen in await both(
            h, ("GET", "/items"), ("list-items", {"limit": 5}), params={"limit": "5"}
        ):
            assert (seen.method, seen.raw_path, seen.query) == ("GET", "/items", [("limit", "5")])


BETA5_NOTES = {
    "naftiko-version-ikanos": 'ikanos: "1.0.0-beta5"',
    "naftiko-version-display": 'display: "Version: ikanos beta5"',
    "naftiko-version-ignored": "tags: [versions]",
    "naftiko-version-import-entry": "from: ./shared/beta5-consumes.yaml",
    "naftiko-version-binary-size": 'maxBinarySize: "5MiB"',
    "naftiko-version-flows": "flows:",
    "naftiko-version-mapping-target": "- target: name",
    "naftiko-version-cache": "ttlMs: 60000",
}


def test_beta5_notes_say_what_was_adapted_where() -> None:
    spec = VERSIONS / "beta5.yaml"
    found = rules_at(spec)
    for rule, needle in BETA5_NOTES.items():
        assert ("beta5.yaml", line_of(spec, needle)) in found[rule], (rule, found[rule])
    assert found["naftiko-version-items"] == [("beta5.yaml", line_of(spec, "items:"))]
    # the imported file is beta too, and read as such
    assert ("beta5-consumes.yaml", 1) in found["naftiko-version-ikanos"]
    notes = validate_notes(spec)
    assert "ikanos 1.0.0-beta5 is read into the naftiko alpha2 model" in notes


def test_beta5_tunnel_is_refused_per_part() -> None:
    spec = VERSIONS / "beta5.yaml"
    report = generate([spec], Path("/nonexistent-out")).report
    skipped = {d.skip.part: d for d in report.items if d.rule == SKIPPED and d.skip}
    assert set(skipped) == {"consumes 'crm'", "route GET /contacts", "tool 'list-contacts'"}
    tunnel = skipped["consumes 'crm'"]
    assert tunnel.skip is not None and tunnel.skip.rule == "naftiko-version-tunnel"
    assert tunnel.pos.line == line_of(spec, "tunnel:")
    result = CliRunner().invoke(cli, ["validate", "--strict", str(spec)], catch_exceptions=False)
    assert result.exit_code != 0


async def test_beta5_served_through_rest_and_mcp(tmp_path: Path) -> None:
    spec = VERSIONS / "beta5.yaml"
    built = build_package(spec, tmp_path / "out")
    fakes = {"REGISTRY": FakeUpstream(name="registry"), "UP": FakeUpstream(name="up")}
    async with harness(built, fakes) as h:
        tools = {t.name: t for t in (await h.mcp.list_tools()).tools}
        assert set(tools) == {"list-ships", "item-summary"}
        assert tools["list-ships"].title == "List ships"  # display → label → MCP title
        registry, up = fakes["REGISTRY"], fakes["UP"]
        # ImportEntry (from:) + keyed inputParameters + default GET
        registry.expect("GET", "/ships", query=[("status", "active")], reply=[{"imo": "1"}])
        got = await h.rest("GET", "/ships", params={"status": "active"})
        assert got.status == 200 and got.json == [{"imo": "1"}]
        assert registry.only().query == [("status", "active")]
        registry.clear()
        result = await h.tool("list-ships", {"status": "active"})
        assert not result.is_error and mcp_json(result) == [{"imo": "1"}]
        assert registry.only().query == [("status", "active")]
        # aggregate flow with keyed steps and 'target' mappings, by ref
        reply: dict[str, Any] = {"item_name": "Anchor", "labels": [{"label": "heavy"}]}
        up.expect("GET", "/items/7", no_body=True, reply=reply)
        want = {"name": "Anchor", "tags": [{"label": "heavy"}]}
        got = await h.rest("GET", "/items/7/summary")
        assert got.status == 200 and got.json == want, got.body
        assert up.only().raw_path == "/items/7"
        up.clear()
        result = await h.tool("item-summary", {"id": "7"})
        assert not result.is_error and mcp_json(result) == want
        assert up.only().raw_path == "/items/7"
        # the tunnelled adapter's route is not there
        assert (await h.rest("GET", "/contacts")).status == 404


async def test_beta5_import_entries_in_exposes_and_aggregates(tmp_path: Path) -> None:
    spec = VERSIONS / "beta5_imports.yaml"
    report = generate([spec], Path("/nonexistent-out")).report
    assert not report.errors, [d.format() for d in report.errors]
    skipped = {d.skip.part: d for d in report.items if d.rule == SKIPPED and d.skip}
    assert set(skipped) == {"imported exposes 'shared-skills'"}  # not in the file: that one only
    missing = skipped["imported exposes 'shared-skills'"]
    assert missing.skip is not None and missing.skip.rule == "naftiko-import-namespace"
    assert missing.pos.line == line_of(spec, "- import: shared-skills")
    built = build_package(spec, tmp_path / "out")
    async with harness(built, {"UP": FakeUpstream(name="up")}) as h:
        assert [t.name for t in (await h.mcp.list_tools()).tools] == ["first-item"]
        h.fake.expect("GET", "/items", no_body=True, reply=[{"name": "Anchor"}, {"name": "Bell"}])
        got = await h.rest("GET", "/items")
        assert got.status == 200 and got.json == [{"name": "Anchor"}, {"name": "Bell"}]
        assert h.fake.only().raw_path == "/items"
        h.fake.clear()
        result = await h.tool("first-item")
        assert not result.is_error and mcp_json(result) == {"first": "Anchor"}
        assert h.fake.only().raw_path == "/items"
