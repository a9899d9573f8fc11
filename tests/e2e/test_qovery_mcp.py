"""End-to-end tests of the generated MCP server (real streamable HTTP + the official mcp.Client):
the fast path (aiohttp, no SDK) and, for the tests taking `mcp_url`, the SDK's server too."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from .harness import (
    ENV_BASE_URL,
    ENV_TIMEOUT,
    ENV_TOKEN,
    NOT_FOUND_ID,
    ROUTES,
    FakeQovery,
    RecordedRequest,
    import_generated,
    require_generated,
    run_asgi_app,
    run_fake_qovery,
)

require_generated()
mcp_server = import_generated("mcp_server")
from mcp import Client  # noqa: E402

pytestmark = pytest.mark.anyio

TOKEN = "qv-mcp-e2e-3a9c41be77"
ORG = "8a0f3a51-5f3e-4a58-9a4e-0d6d1c1a2b01"
ENV = "1f2e3d4c-5b6a-4798-8a7b-6c5d4e3f2a10"
CTR = "c0ffee00-1234-4abc-8def-0123456789ab"
REG = "5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9"

# tool -> (consumed path params, takes body, (readOnly, destructive, idempotent)) from the seed spec.
TOOLS: dict[str, tuple[list[str], bool, tuple[bool, bool, bool]]] = {
    "clone-container": (["containerId"], True, (False, False, False)),
    "list-default-container-advanced-settings": ([], False, (True, False, True)),
    "list-containers": (["environmentId"], False, (True, False, True)),
    "create-container": (["environmentId"], True, (False, False, False)),
    "list-all-environment-container-statuses": (["environmentId"], False, (True, False, True)),
    "auto-deploy-containers": (["organizationId"], True, (False, False, False)),
    "preview-container-environments": (["organizationId"], True, (False, False, False)),
    "list-all-container-registry-container": (
        ["organizationId", "containerRegistryId"],
        False,
        (True, False, True),
    ),
}
DESCRIPTIONS = {tool: desc for _, _, _, tool, desc in ROUTES}

CREATE_BODY = {
    "name": "web",
    "registry_id": REG,
    "image_name": "library/nginx",
    "tag": "1.27",
    "healthchecks": {},
}

# (id, tool, arguments, upstream method, upstream raw path, operationId, status, upstream JSON body)
CASES: list[tuple[str, str, dict[str, Any], str, str, str, int, Any]] = [
    (
        "clone",
        "clone-container",
        {"containerId": CTR, "body": {"name": "copy", "environment_id": ENV}},
        "POST",
        f"/container/{CTR}/clone",
        "cloneContainer",
        202,
        {"name": "copy", "environment_id": ENV},
    ),
    (
        "clone-no-body",
        "clone-container",
        {"containerId": CTR},
        "POST",
        f"/container/{CTR}/clone",
        "cloneContainer",
        202,
        None,
    ),
    (
        "default-settings",
        "list-default-container-advanced-settings",
        {},
        "GET",
        "/defaultContainerAdvancedSettings",
        "getDefaultContainerAdvancedSettings",
        200,
        None,
    ),
    (
        "list-containers",
        "list-containers",
        {"environmentId": ENV},
        "GET",
        f"/environment/{ENV}/container",
        "listContainer",
        200,
        None,
    ),
    (
        "create-container",
        "create-container",
        {"environmentId": ENV, "body": CREATE_BODY},
        "POST",
        f"/environment/{ENV}/container",
        "createContainer",
        201,
        CREATE_BODY,
    ),
    (
        "env-status",
        "list-all-environment-container-statuses",
        {"environmentId": ENV},
        "GET",
        f"/environment/{ENV}/container/status",
        "getEnvironmentContainerStatus",
        200,
        None,
    ),
    (
        "auto-deploy",
        "auto-deploy-containers",
        {"organizationId": ORG, "body": {"tag": "1.28"}},
        "POST",
        f"/organization/{ORG}/container/deploy",
        "autoDeployContainerEnvironments",
        202,
        {"tag": "1.28"},
    ),
    (
        "auto-deploy-no-body",
        "auto-deploy-containers",
        {"organizationId": ORG},
        "POST",
        f"/organization/{ORG}/container/deploy",
        "autoDeployContainerEnvironments",
        202,
        None,
    ),
    (
        "preview",
        "preview-container-environments",
        {"organizationId": ORG, "body": {"image_name": "nginx"}},
        "POST",
        f"/organization/{ORG}/container/preview",
        "previewContainerEnvironments",
        202,
        {"image_name": "nginx"},
    ),
    (
        "registry-status",
        "list-all-container-registry-container",
        {"organizationId": ORG, "containerRegistryId": REG},
        "GET",
        f"/organization/{ORG}/containerRegistry/{REG}/container/status",
        "getContainerRegistryContainerStatus",
        200,
        None,
    ),
]


# The cases exercise every tool.
assert {c[1] for c in CASES} == set(TOOLS)


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    # Module scope, so one fake upstream and one uvicorn-served MCP app serve the module.
    return "asyncio"


@pytest.fixture(scope="module")
async def shared() -> AsyncIterator[tuple[FakeQovery, dict[str, str]]]:
    """One fake upstream; the MCP server twice: the fast path (create_app, the default) and the
    official SDK's server (create_sdk_app, `--sdk`)."""
    async with run_fake_qovery(token=TOKEN) as f:
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv(ENV_TOKEN, TOKEN)
            mp.setenv(ENV_BASE_URL, f.base_url)
            mp.delenv(ENV_TIMEOUT, raising=False)
            async with (
                run_asgi_app(mcp_server.create_app()) as fast,
                run_asgi_app(mcp_server.create_sdk_app()) as sdk,
            ):
                yield f, {"fast": fast + "/mcp", "sdk": sdk + "/mcp"}


@pytest.fixture
def fake(shared: tuple[FakeQovery, dict[str, str]]) -> FakeQovery:
    f = shared[0]
    f.requests.clear()
    f.rules.clear()
    f.delays.clear()
    f.delay = 0.0
    assert f.running
    return f


@pytest.fixture(params=["fast", "sdk"])
def mcp_url(
    shared: tuple[FakeQovery, dict[str, str]], fake: FakeQovery, request: pytest.FixtureRequest
) -> str:
    """Every test that takes it runs against both servers."""
    return shared[1][request.param]


@pytest.fixture
async def own_fake() -> AsyncIterator[FakeQovery]:
    """A fake of the test's own, for tests that stop it or need their own configuration."""
    async with run_fake_qovery(token=TOKEN) as f:
        yield f


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, own_fake: FakeQovery) -> pytest.MonkeyPatch:
    monkeypatch.setenv(ENV_TOKEN, TOKEN)
    monkeypatch.setenv(ENV_BASE_URL, own_fake.base_url)
    monkeypatch.delenv(ENV_TIMEOUT, raising=False)
    return monkeypatch


def text_of(result: Any) -> str:
    return "\n".join(getattr(c, "text", "") for c in result.content)


def assert_upstream(rec: RecordedRequest, method: str, raw_path: str, body: Any) -> None:
    assert rec.method == method
    assert rec.raw_path == raw_path
    assert rec.authorization == f"Bearer {TOKEN}"
    if body is None:
        assert rec.body == b""
    else:
        assert rec.json == body
        assert (rec.content_type or "").startswith("application/json")


async def test_list_tools(fake: FakeQovery, mcp_url: str) -> None:
    async with Client(mcp_url) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
    assert set(tools) == set(TOOLS)
    for name, (params, has_body, (ro, destructive, idempotent)) in TOOLS.items():
        tool = tools[name]
        schema = tool.input_schema
        assert schema["type"] == "object", name
        props = schema.get("properties", {})
        expected_props = set(params) | ({"body"} if has_body else set())
        assert set(props) == expected_props, (name, props)
        for p in params:
            assert props[p]["type"] == "string", (name, p, props[p])
        assert set(schema.get("required", [])) == set(params), (name, schema.get("required"))
        if has_body:
            assert props["body"]["type"] == "object"
        assert tool.description and DESCRIPTIONS[name] in tool.description, (name, tool.description)
        ann = tool.annotations
        assert ann is not None, name
        assert (ann.read_only_hint, ann.destructive_hint, ann.idempotent_hint) == (
            ro,
            destructive,
            idempotent,
        ), (
            name,
            ann,
        )
    assert fake.requests == []


@pytest.mark.parametrize(
    "tool,args,method,raw_path,operation,status,body",
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
async def test_tool_call(
    fake: FakeQovery,
    mcp_url: str,
    tool: str,
    args: dict[str, Any],
    method: str,
    raw_path: str,
    operation: str,
    status: int,
    body: Any,
) -> None:
    async with Client(mcp_url) as client:
        result = await client.call_tool(tool, args)

    assert len(fake.requests) == 1, [r.raw_path for r in fake.requests]
    rec = fake.last
    assert rec.operation == operation
    assert_upstream(rec, method, raw_path, body)
    assert rec.status == status

    assert not result.is_error, text_of(result)
    assert result.structured_content == rec.response_json
    assert json.loads(result.content[0].text) == rec.response_json


@pytest.mark.parametrize(
    "tool,args,culprit",
    [
        ("list-containers", {}, "environmentId"),
        ("list-containers", {"environmentId": 5}, "environmentId"),
        ("list-all-container-registry-container", {"organizationId": ORG}, "containerRegistryId"),
        (
            "list-all-container-registry-container",
            {"organizationId": ORG, "containerRegistryId": None},
            "containerRegistryId",
        ),
        ("clone-container", {"body": {"name": "x", "environment_id": ENV}}, "containerId"),
        ("clone-container", {"containerId": CTR, "body": "not an object"}, "body"),
        ("create-container", {"environmentId": ENV, "body": [1, 2]}, "body"),
    ],
)
async def test_argument_validation(
    fake: FakeQovery, mcp_url: str, tool: str, args: dict[str, Any], culprit: str
) -> None:
    async with Client(mcp_url) as client:
        result = await client.call_tool(tool, args)
    assert result.is_error
    assert culprit in text_of(result)
    assert fake.requests == []


async def test_upstream_404_is_error(fake: FakeQovery, mcp_url: str) -> None:
    async with Client(mcp_url) as client:
        result = await client.call_tool("list-containers", {"environmentId": NOT_FOUND_ID})
    assert len(fake.requests) == 1
    rec = fake.last
    assert_upstream(rec, "GET", f"/environment/{NOT_FOUND_ID}/container", None)
    assert rec.status == 404
    assert result.is_error
    text = text_of(result)
    assert "404" in text
    assert rec.response_json["message"] in text
    assert TOKEN not in text


async def test_upstream_400_is_error_with_body(fake: FakeQovery, mcp_url: str) -> None:
    async with Client(mcp_url) as client:
        result = await client.call_tool("create-container", {"environmentId": ENV, "body": {}})
    assert len(fake.requests) == 1
    assert_upstream(fake.last, "POST", f"/environment/{ENV}/container", {})
    assert fake.last.status == 400
    assert result.is_error
    text = text_of(result)
    assert "400" in text and "body.name is required" in text


@pytest.mark.parametrize("factory", ["create_app", "create_sdk_app"])
async def test_upstream_down_is_error(
    own_fake: FakeQovery, env: pytest.MonkeyPatch, factory: str
) -> None:
    fake = own_fake
    app = getattr(mcp_server, factory)()
    async with run_asgi_app(app) as base, Client(base + "/mcp") as client:
        ok = await client.call_tool("list-default-container-advanced-settings", {})
        assert not ok.is_error and len(fake.requests) == 1
        await fake.stop()
        result = await client.call_tool("list-default-container-advanced-settings", {})
    assert result.is_error
    assert TOKEN not in text_of(result)
    assert len(fake.requests) == 1


async def test_upstream_timeout_is_error(own_fake: FakeQovery, env: pytest.MonkeyPatch) -> None:
    fake = own_fake
    env.setenv(ENV_TIMEOUT, "0.3")
    fake.delay = 3.0
    async with run_asgi_app(mcp_server.create_app()) as base, Client(base + "/mcp") as client:
        result = await client.call_tool("list-containers", {"environmentId": ENV})
    assert result.is_error
    assert TOKEN not in text_of(result)
    assert len(fake.requests) == 1
    assert_upstream(fake.last, "GET", f"/environment/{ENV}/container", None)


@pytest.mark.parametrize(
    "value",
    [
        "../../organization/x",
        "..",
        ".",
        "a%2Fb",
        "a b?c#d",
        "caf\u00e9",
        "..%2F..%2Forganization%2Fx",
    ],
)
async def test_path_values_stay_one_segment(fake: FakeQovery, mcp_url: str, value: str) -> None:
    async with Client(mcp_url) as client:
        result = await client.call_tool("clone-container", {"containerId": value})
    # The value reached the clone route, as one encoded segment, decoded back exactly.
    assert len(fake.requests) == 1, [r.raw_path for r in fake.requests]
    rec = fake.last
    assert rec.operation == "cloneContainer", rec.raw_path
    assert rec.path_params == {"containerId": value}
    segments = rec.raw_path_only.split("/")
    assert (
        len(segments) == 4 and segments[1] == "container" and segments[3] == "clone"
    ), rec.raw_path
    assert segments[2] not in (".", ".."), rec.raw_path
    if value == "../../organization/x":
        assert rec.raw_path == "/container/..%2F..%2Forganization%2Fx/clone"
    assert rec.status == 422
    assert result.is_error and "422" in text_of(result)


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_non_object_upstream_json_is_text_only(
    fake: FakeQovery, mcp_url: str, mode: str
) -> None:
    # A bare array is valid JSON but not an object: it must come back as text, and must not
    # become structured_content (a protocol error on 2025-era connections).
    fake.force(200, "[1, 2, 3]", operation="listContainer")
    async with Client(mcp_url, mode=mode) as client:
        result = await client.call_tool("list-containers", {"environmentId": ENV})
    assert len(fake.requests) == 1 and fake.last.status == 200
    assert_upstream(fake.last, "GET", f"/environment/{ENV}/container", None)
    assert not result.is_error, text_of(result)
    assert json.loads(result.content[0].text) == [1, 2, 3]
    assert not isinstance(result.structured_content, list)


async def test_auto_mode_lands_on_2026_07_28(fake: FakeQovery, mcp_url: str) -> None:
    """Both servers answer the `server/discover` probe: no fallback to `initialize`."""
    async with Client(mcp_url) as client:
        assert client.protocol_version == "2026-07-28"
        result = await client.call_tool("list-containers", {"environmentId": ENV})
    assert not result.is_error, text_of(result)
    assert result.structured_content == fake.last.response_json


async def test_legacy_mode(fake: FakeQovery, mcp_url: str) -> None:
    async with Client(mcp_url, mode="legacy") as client:
        assert not client.protocol_version.startswith("2026")
        tools = {t.name: t for t in (await client.list_tools()).tools}
        assert set(tools) == set(TOOLS)
        assert tools["list-containers"].annotations.read_only_hint is True
        assert set(tools["clone-container"].input_schema["required"]) == {"containerId"}
        result = await client.call_tool(
            "clone-container", {"containerId": CTR, "body": {"name": "copy", "environment_id": ENV}}
        )
        bad = await client.call_tool("list-containers", {"environmentId": 5})
        missing = await client.call_tool("list-containers", {"environmentId": NOT_FOUND_ID})
    assert len(fake.requests) == 2
    assert_upstream(
        fake.requests[0], "POST", f"/container/{CTR}/clone", {"name": "copy", "environment_id": ENV}
    )
    assert not result.is_error
    assert result.structured_content == fake.requests[0].response_json
    assert json.loads(result.content[0].text) == fake.requests[0].response_json
    assert bad.is_error and "environmentId" in text_of(bad)
    assert fake.requests[1].status == 404
    assert missing.is_error and "404" in text_of(missing)
