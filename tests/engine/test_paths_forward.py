"""Path joining and `forward`, driven by the engine's alpha2 fixtures.

* one '/' between the baseUri's path and the resource path, whichever side writes it:
  `databases/{{datasource_id}}/query` under `http://localhost:8080/v1` calls
  `/v1/databases/test-db-id-123/query` (mcp-capability.yaml); `data` under `…/v1` calls `/v1/data`
  (mcp-hints-capability.yaml);
* a consumes adapter with no `resources` is the target of `forward`, and every forwarded request
  carries the adapter's `inputParameters` headers (ForwardValueFieldTest asserts X-API-Version and
  X-API-Key set from their `value`);
* baseuri-trailing-slash-capability.yaml: the engine refuses `…/v1/` at load
  (BaseUriTrailingSlashIntegrationTest); naftiko-gen notes it, drops the '/', and forwards to
  `/v1/<path>` (docs/spec-notes.md says why).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.engine.stack import ENGINE, build, diagnostics, serve
from tests.features.upstream import Bearer, FakeUpstream, mcp_json

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
async def mcp_stack(tmp_path_factory: pytest.TempPathFactory) -> Any:
    built = build(ENGINE / "mcp" / "mcp-capability.yaml", tmp_path_factory.mktemp("mcp"), rest=False)
    fake = FakeUpstream(name="mock-api")
    async with serve(built, {"MOCK_API": fake}, {"MOCK_API": "/v1"}) as running:
        yield running


async def test_relative_resource_path_under_base_path(mcp_stack: Any) -> None:
    """McpIntegrationTest's query-database tool: POST with the `body` template, the adapter's
    Content-Type header, and the path joined with exactly one '/'."""
    mcp_stack.reset()
    fake = mcp_stack.fakes["MOCK_API"]
    filter_body = {"filter": {"property": "Status", "select": {"equals": "Committed"}}}
    page = {
        "results": [
            {"properties": {"Name": {"title": [{"text": {"content": "Ada"}}]},
                            "Status": {"select": {"name": "Committed"}}}},
        ]
    }  # fmt: skip
    fake.expect(
        "POST",
        "/v1/databases/test-db-id-123/query",
        json_body=filter_body,
        headers={"Content-Type": "application/json"},
        reply=page,
    )
    got = await mcp_stack.mcp.call_tool("query-database", {})
    seen = fake.only()
    assert seen.raw_path == "/v1/databases/test-db-id-123/query"
    assert seen.json == filter_body
    assert mcp_json(got) == [{"name": "Ada", "status": "Committed"}]


@pytest.fixture(scope="module")
async def forward_stack(tmp_path_factory: pytest.TempPathFactory) -> Any:
    spec = ENGINE / "http" / "http-forward-value-capability.yaml"
    built = build(spec, tmp_path_factory.mktemp("forward"), mcp=False)
    fake = FakeUpstream(name="external")
    async with serve(built, {"EXTERNAL": fake}, {"EXTERNAL": "/v1"}) as running:
        yield running


async def test_forward_carries_adapter_headers(forward_stack: Any) -> None:
    forward_stack.reset()
    fake = forward_stack.fakes["EXTERNAL"]
    fake.expect(
        "GET",
        "/v1/users/42",
        headers={"X-API-Version": "2026-03-03", "X-API-Key": "secret-key-123"},
        reply={"id": 42},
    )
    got = await forward_stack.rest("GET", "/forward/users/42?expand=1")
    seen = fake.only()
    assert (seen.method, seen.raw_path, seen.query) == ("GET", "/v1/users/42", [("expand", "1")])
    assert seen.headers["X-API-Version"] == "2026-03-03"
    assert seen.headers["X-API-Key"] == "secret-key-123"
    assert got.status == 200 and got.json == {"id": 42}


async def test_forward_body_and_method_pass_through(forward_stack: Any) -> None:
    forward_stack.reset()
    fake = forward_stack.fakes["EXTERNAL"]
    fake.expect("PUT", "/v1/users/7", json_body={"name": "Grace"}, status=201, reply={"ok": True})
    got = await forward_stack.rest("PUT", "/forward/users/7", json_body={"name": "Grace"})
    seen = fake.only()
    assert seen.headers["X-API-Key"] == "secret-key-123"
    assert got.status == 201 and got.json == {"ok": True}


def test_trailing_slash_base_uri_is_noted(tmp_path: Any) -> None:
    spec = ENGINE / "baseuri-trailing-slash-capability.yaml"
    found = diagnostics(spec, tmp_path)
    assert not [d for d in found if " error " in d], found
    notes = [d for d in found if "naftiko-consumes-baseuri-no-trailing-slash" in d]
    assert len(notes) == 1 and ":23:7:" in notes[0] and "ends with '/'" in notes[0], found


async def test_trailing_slash_base_uri_forwards_with_one_slash(tmp_path: Any) -> None:
    built = build(ENGINE / "baseuri-trailing-slash-capability.yaml", tmp_path, mcp=False)
    fake = FakeUpstream(name="backend")
    fake.expect("GET", "/v1/orders", reply=[1, 2])
    # The override written as the spec writes it, with its trailing '/'.
    async with serve(built, {"BACKEND": fake}, {"BACKEND": "/v1/"}) as running:
        got = await running.rest("GET", "/items/orders")
    assert fake.only().raw_path == "/v1/orders"
    assert got.json == [1, 2]


async def test_forward_carries_adapter_auth(tmp_path: Any) -> None:
    """The forward fixture with bearer authentication added to its consumes adapter (the token
    from a bind): the forwarded request is authenticated and keeps the adapter's headers; a
    caller's own Authorization is not passed on."""
    text = (ENGINE / "http" / "http-forward-value-capability.yaml").read_text()
    anchor = '      baseUri: "https://api.example.com/v1"\n'
    assert text.count(anchor) == 1
    auth = anchor + "      authentication:\n        type: bearer\n        token: '{{EXTERNAL_TOKEN}}'\n"
    binds = "binds:\n  - namespace: env\n    keys:\n      EXTERNAL_TOKEN: EXTERNAL_TOKEN\n\ncapability:\n"
    spec = tmp_path / "forward-auth.yaml"
    spec.write_text(text.replace(anchor, auth).replace("capability:\n", binds, 1))
    built = build(spec, tmp_path / "out", mcp=False)
    fake = FakeUpstream(auth=Bearer("tok-123"), name="external")
    fake.expect("GET", "/v1/users/1", headers={"X-API-Key": "secret-key-123"}, reply={"id": 1})
    env = {"EXTERNAL_TOKEN": "tok-123"}
    async with serve(built, {"EXTERNAL": fake}, {"EXTERNAL": "/v1"}, env) as running:
        got = await running.rest("GET", "/forward/users/1", headers={"Authorization": "Bearer mine"})
    seen = fake.only()
    assert seen.headers["Authorization"] == "Bearer tok-123"
    assert seen.headers["X-API-Version"] == "2026-03-03"
    assert got.status == 200 and got.json == {"id": 1}
