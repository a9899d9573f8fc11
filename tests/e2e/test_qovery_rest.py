"""End-to-end tests of the generated aiohttp REST server against the validating fake Qovery."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any
from urllib.parse import unquote

import aiohttp
import pytest
from yarl import URL

from .harness import (
    ENV_TIMEOUT,
    ENV_TOKEN,
    NOT_FOUND_ID,
    PACKAGE_DIR,
    ROUTES,
    FakeQovery,
    RecordedRequest,
    import_generated,
    require_generated,
    run_rest_app,
)

require_generated()
rest_server = import_generated("rest_server")
upstream_mod = import_generated("upstream")

pytestmark = pytest.mark.anyio

TOKEN = "qv-rest-e2e-7d2b9f0c61"  # distinctive, so leaks are easy to spot
ORG = "8a0f3a51-5f3e-4a58-9a4e-0d6d1c1a2b01"
ENV = "1f2e3d4c-5b6a-4798-8a7b-6c5d4e3f2a10"
CTR = "c0ffee00-1234-4abc-8def-0123456789ab"
REG = "5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9"

CLONE_BODY = {"name": "my-copy", "environment_id": ENV}
CREATE_BODY = {
    "name": "web",
    "registry_id": REG,
    "image_name": "library/nginx",
    "tag": "1.27",
    "healthchecks": {},
    "cpu": 250,
    "ports": [{"internal_port": 80, "publicly_accessible": True}],
}
DEPLOY_BODY = {"image_name": "library/nginx", "tag": "1.28"}


async def call(
    http: aiohttp.ClientSession, method: str, url: str | URL, **kw: Any
) -> tuple[int, str, bytes, dict[str, str]]:
    async with http.request(method, url, **kw) as r:
        return r.status, r.content_type, await r.read(), dict(r.headers)


def assert_error_body(status: int, ctype: str, body: bytes) -> dict[str, Any]:
    """The generator's own error bodies: a JSON object with a string "error"; never the token."""
    assert TOKEN.encode() not in body
    assert ctype == "application/json", (status, ctype, body)
    data = json.loads(body)
    assert isinstance(data, dict) and isinstance(data.get("error"), str) and data["error"], data
    return data


def assert_upstream_auth(rec: RecordedRequest) -> None:
    assert rec.authorization == f"Bearer {TOKEN}"
    assert rec.query == []


# (id, REST method, REST path, JSON body or None, upstream operationId, upstream raw path, status)
CASES = [
    (
        "clone",
        "POST",
        f"/v1/container/{CTR}/clone",
        CLONE_BODY,
        "cloneContainer",
        f"/container/{CTR}/clone",
        202,
    ),
    (
        "clone-no-body",
        "POST",
        f"/v1/container/{CTR}/clone",
        None,
        "cloneContainer",
        f"/container/{CTR}/clone",
        202,
    ),
    (
        "default-settings",
        "GET",
        "/v1/defaultcontaineradvancedsettings",
        None,
        "getDefaultContainerAdvancedSettings",
        "/defaultContainerAdvancedSettings",
        200,
    ),
    (
        "list-containers",
        "GET",
        f"/v1/environment/{ENV}/container",
        None,
        "listContainer",
        f"/environment/{ENV}/container",
        200,
    ),
    (
        "create-container",
        "POST",
        f"/v1/environment/{ENV}/container",
        CREATE_BODY,
        "createContainer",
        f"/environment/{ENV}/container",
        201,
    ),
    (
        "env-status",
        "GET",
        f"/v1/environment/{ENV}/container/status",
        None,
        "getEnvironmentContainerStatus",
        f"/environment/{ENV}/container/status",
        200,
    ),
    (
        "auto-deploy",
        "POST",
        f"/v1/organization/{ORG}/container/deploy",
        DEPLOY_BODY,
        "autoDeployContainerEnvironments",
        f"/organization/{ORG}/container/deploy",
        202,
    ),
    (
        "auto-deploy-no-body",
        "POST",
        f"/v1/organization/{ORG}/container/deploy",
        None,
        "autoDeployContainerEnvironments",
        f"/organization/{ORG}/container/deploy",
        202,
    ),
    (
        "preview",
        "POST",
        f"/v1/organization/{ORG}/container/preview",
        {"tag": "pr-42"},
        "previewContainerEnvironments",
        f"/organization/{ORG}/container/preview",
        202,
    ),
    (
        "registry-status",
        "GET",
        f"/v1/organization/{ORG}/containerregistry/{REG}/container/status",
        None,
        "getContainerRegistryContainerStatus",
        f"/organization/{ORG}/containerRegistry/{REG}/container/status",
        200,
    ),
]


# The cases exercise every exposed route.
assert {(c[1], c[4]) for c in CASES} == {(m, op) for m, _, op, _, _ in ROUTES}


@pytest.mark.parametrize(
    "method,path,body,operation,upstream_path,status",
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
async def test_operation_roundtrip(
    fake: FakeQovery,
    rest: str,
    http: aiohttp.ClientSession,
    method: str,
    path: str,
    body: dict[str, Any] | None,
    operation: str,
    upstream_path: str,
    status: int,
) -> None:
    kw: dict[str, Any] = {} if body is None else {"json": body}
    got_status, ctype, raw, _ = await call(http, method, rest + path, **kw)

    # Upstream record: exactly one request, exact method, camelCase path, bearer token, body/no body.
    assert len(fake.requests) == 1, [r.raw_path for r in fake.requests]
    rec = fake.last
    assert rec.method == method
    assert rec.raw_path == upstream_path
    assert rec.operation == operation
    assert_upstream_auth(rec)
    if body is None:
        assert rec.body == b""
    else:
        assert rec.json == body
        assert (rec.content_type or "").startswith("application/json")
    assert rec.status == status

    # Caller's response: the upstream status and the whole upstream JSON.
    assert got_status == status, raw
    assert ctype == "application/json"
    assert json.loads(raw) == rec.response_json
    if operation in (
        "listContainer",
        "getEnvironmentContainerStatus",
        "getContainerRegistryContainerStatus",
    ):
        assert set(json.loads(raw)) == {"results"}
    if operation == "getDefaultContainerAdvancedSettings":
        assert json.loads(raw)["deployment.termination_grace_period_seconds"] == 60


async def test_caller_authorization_is_not_forwarded(
    fake: FakeQovery, rest: str, http: aiohttp.ClientSession
) -> None:
    status, _, raw, _ = await call(
        http,
        "GET",
        rest + f"/v1/environment/{ENV}/container",
        headers={"Authorization": "Bearer caller-supplied-token"},
    )
    assert status == 200, raw
    assert len(fake.requests) == 1
    assert_upstream_auth(fake.last)


async def test_get_never_sends_a_body_upstream(
    fake: FakeQovery, rest: str, http: aiohttp.ClientSession
) -> None:
    status, _, raw, _ = await call(
        http, "GET", rest + f"/v1/environment/{ENV}/container/status", json={"unexpected": True}
    )
    for rec in fake.requests:
        assert rec.body == b"", "a GET reached the upstream with a body"
        assert rec.status == 200
    if fake.requests:
        assert status == 200 and json.loads(raw) == fake.last.response_json
    else:
        assert status in (400, 415), raw


async def test_upstream_404_is_relayed(
    fake: FakeQovery, rest: str, http: aiohttp.ClientSession
) -> None:
    status, ctype, raw, _ = await call(
        http, "GET", rest + f"/v1/environment/{NOT_FOUND_ID}/container"
    )
    assert len(fake.requests) == 1
    rec = fake.last
    assert rec.operation == "listContainer" and rec.status == 404
    assert status == 404
    assert ctype == "application/json"
    assert json.loads(raw) == rec.response_json
    assert TOKEN.encode() not in raw


async def test_upstream_error_body_and_content_type_are_relayed(
    fake: FakeQovery, rest: str, http: aiohttp.ClientSession
) -> None:
    fake.force(
        409, "Operation is in progress", content_type="text/plain", operation="cloneContainer"
    )
    status, ctype, raw, _ = await call(
        http, "POST", rest + f"/v1/container/{CTR}/clone", json=CLONE_BODY
    )
    assert len(fake.requests) == 1
    assert fake.last.operation == "cloneContainer" and fake.last.status == 409
    assert fake.last.json == CLONE_BODY
    assert status == 409
    assert ctype == "text/plain"
    assert raw == b"Operation is in progress"


async def test_upstream_validation_400_is_relayed(
    fake: FakeQovery, rest: str, http: aiohttp.ClientSession
) -> None:
    # {} is not a valid ContainerRequest: the upstream (not the proxy) answers 400.
    status, _, raw, _ = await call(http, "POST", rest + f"/v1/environment/{ENV}/container", json={})
    assert len(fake.requests) == 1
    rec = fake.last
    assert rec.operation == "createContainer" and rec.json == {} and rec.status == 400
    assert status == 400
    assert json.loads(raw) == rec.response_json


async def test_wrong_token_upstream_401_relayed_without_leaking(
    fake: FakeQovery, env: pytest.MonkeyPatch, http: aiohttp.ClientSession
) -> None:
    secret = "not-the-right-token-31337"
    env.setenv(ENV_TOKEN, secret)
    async with run_rest_app(rest_server.create_app()) as rest:
        status, _, raw, _ = await call(http, "GET", rest + "/v1/defaultcontaineradvancedsettings")
    assert len(fake.requests) == 1
    assert fake.last.authorization == f"Bearer {secret}"
    assert fake.last.status == 401
    assert status == 401
    assert secret.encode() not in raw
    assert json.loads(raw) == fake.last.response_json


async def test_upstream_down_is_502(
    fake: FakeQovery, rest: str, http: aiohttp.ClientSession
) -> None:
    # Prove the wiring first, then take the upstream down.
    status, _, _, _ = await call(http, "GET", rest + "/v1/defaultcontaineradvancedsettings")
    assert status == 200 and len(fake.requests) == 1
    await fake.stop()
    for method, path, kw in (
        ("GET", "/v1/defaultcontaineradvancedsettings", {}),
        ("POST", f"/v1/container/{CTR}/clone", {"json": CLONE_BODY}),
    ):
        status, ctype, raw, _ = await call(http, method, rest + path, **kw)
        assert status == 502, raw
        assert_error_body(status, ctype, raw)
    assert len(fake.requests) == 1


async def test_slow_upstream_is_504(
    fake: FakeQovery, env: pytest.MonkeyPatch, http: aiohttp.ClientSession
) -> None:
    env.setenv(ENV_TIMEOUT, "0.3")
    fake.delay = 3.0
    async with run_rest_app(rest_server.create_app()) as rest:
        t0 = time.monotonic()
        status, ctype, raw, _ = await call(http, "GET", rest + f"/v1/environment/{ENV}/container")
        elapsed = time.monotonic() - t0
    assert status == 504, raw
    assert elapsed < 2.5, f"timeout not honoured: {elapsed:.2f}s"
    assert_error_body(status, ctype, raw)
    assert len(fake.requests) == 1
    assert fake.last.operation == "listContainer"
    assert_upstream_auth(fake.last)


async def test_invalid_json_is_400_and_not_forwarded(
    fake: FakeQovery, rest: str, http: aiohttp.ClientSession
) -> None:
    for path in (
        f"/v1/container/{CTR}/clone",
        f"/v1/environment/{ENV}/container",
        f"/v1/organization/{ORG}/container/deploy",
    ):
        status, ctype, raw, _ = await call(
            http,
            "POST",
            rest + path,
            data=b'{"name": "x",',
            headers={"Content-Type": "application/json"},
        )
        assert status == 400, (path, raw)
        assert_error_body(status, ctype, raw)
    assert fake.requests == []


@pytest.mark.parametrize(
    "method,path",
    [
        ("DELETE", f"/v1/container/{CTR}/clone"),
        ("GET", f"/v1/container/{CTR}/clone"),
        ("PUT", "/v1/defaultcontaineradvancedsettings"),
        ("POST", f"/v1/environment/{ENV}/container/status"),
        ("DELETE", f"/v1/environment/{ENV}/container"),
        ("GET", f"/v1/organization/{ORG}/container/deploy"),
        ("PATCH", f"/v1/organization/{ORG}/containerregistry/{REG}/container/status"),
    ],
)
async def test_wrong_method_is_405(
    fake: FakeQovery, rest: str, http: aiohttp.ClientSession, method: str, path: str
) -> None:
    status, _, raw, _ = await call(http, method, rest + path)
    assert status == 405, raw
    assert TOKEN.encode() not in raw
    assert fake.requests == []


async def test_405_body_is_json_error(
    fake: FakeQovery, rest: str, http: aiohttp.ClientSession
) -> None:
    status, ctype, raw, _ = await call(http, "DELETE", rest + f"/v1/container/{CTR}/clone")
    assert status == 405
    assert_error_body(status, ctype, raw)
    assert fake.requests == []


TRAVERSAL_ENCODED = "..%2F..%2Forganization%2Fx"


@pytest.mark.parametrize(
    "method,rest_path,upstream_prefix,upstream_suffix",
    [
        ("POST", f"/v1/container/{TRAVERSAL_ENCODED}/clone", "/container/", "/clone"),
        (
            "GET",
            f"/v1/environment/{TRAVERSAL_ENCODED}/container/status",
            "/environment/",
            "/container/status",
        ),
        ("POST", "/v1/container/%2E%2E/clone", "/container/", "/clone"),
        ("POST", "/v1/container/a%252Fb/clone", "/container/", "/clone"),
    ],
)
async def test_path_traversal_stays_one_segment(
    fake: FakeQovery,
    rest: str,
    http: aiohttp.ClientSession,
    method: str,
    rest_path: str,
    upstream_prefix: str,
    upstream_suffix: str,
) -> None:
    status, _, raw, _ = await call(http, method, URL(rest + rest_path, encoded=True))
    sent_value = unquote(rest_path.split("/")[3])
    for rec in fake.requests:
        # Whatever reached the upstream, it is the same route with the value as ONE encoded segment.
        assert rec.raw_path_only.startswith(upstream_prefix), rec.raw_path
        assert rec.raw_path_only.endswith(upstream_suffix), rec.raw_path
        value_segment = rec.raw_path_only[len(upstream_prefix) : -len(upstream_suffix)]
        assert "/" not in value_segment and value_segment not in (".", ".."), rec.raw_path
        assert unquote(value_segment) == sent_value, rec.raw_path
        if TRAVERSAL_ENCODED in rest_path:
            assert TRAVERSAL_ENCODED.lower() in rec.raw_path_only.lower(), rec.raw_path
        assert rec.operation in ("cloneContainer", "getEnvironmentContainerStatus")
        assert rec.status == 422
    assert not any(r.raw_path.startswith("/organization") for r in fake.requests)
    assert status in (400, 404, 422), raw
    assert TOKEN.encode() not in raw


async def test_unknown_rest_path_is_404_and_not_forwarded(
    fake: FakeQovery, rest: str, http: aiohttp.ClientSession
) -> None:
    for path in (
        "/v1/nothing",
        f"/container/{CTR}/clone",
        "/v1/defaultContainerAdvancedSettings/x",
    ):
        status, _, raw, _ = await call(http, "POST", rest + path)
        assert status == 404, (path, raw)
    assert fake.requests == []


async def test_openapi_document(fake: FakeQovery, rest: str, http: aiohttp.ClientSession) -> None:
    status, ctype, raw, _ = await call(http, "GET", rest + "/openapi.json")
    assert status == 200
    assert ctype == "application/json"
    doc = json.loads(raw)
    committed = json.loads((PACKAGE_DIR / "openapi.json").read_text(encoding="utf-8"))
    assert doc == committed
    assert str(doc["openapi"]).startswith("3.1")
    expected = {(m.lower(), p) for m, p, _, _, _ in ROUTES}
    listed = {
        (m.lower(), p)
        for p, item in doc["paths"].items()
        for m in item
        if m.lower() in ("get", "post", "put", "patch", "delete", "head", "options")
    }
    assert expected <= listed
    assert set(doc["paths"]) - {"/openapi.json"} == {p for _, p, _, _, _ in ROUTES}
    for method, path, _, _, _ in ROUTES:
        item = doc["paths"][path]
        declared = {
            prm["name"]
            for prm in item.get("parameters", []) + item[method.lower()].get("parameters", [])
            if prm.get("in") == "path"
        }
        templated = {seg[1:-1] for seg in path.split("/") if seg.startswith("{")}
        assert declared == templated, (method, path, declared)
    assert TOKEN.encode() not in raw
    assert fake.requests == []


async def test_concurrent_requests_share_one_app(
    fake: FakeQovery, rest: str, http: aiohttp.ClientSession
) -> None:
    import asyncio

    envs = [str(uuid.uuid4()) for _ in range(8)]
    results = await asyncio.gather(
        *(call(http, "GET", rest + f"/v1/environment/{e}/container/status") for e in envs)
    )
    assert [r[0] for r in results] == [200] * 8
    assert sorted(r.path_params["environmentId"] for r in fake.requests) == sorted(envs)
    for (_, _, raw, _), e in zip(results, envs, strict=True):
        rec = next(r for r in fake.requests if r.path_params["environmentId"] == e)
        assert json.loads(raw) == rec.response_json


async def test_create_app_without_token_raises_config_error(
    fake: FakeQovery, env: pytest.MonkeyPatch
) -> None:
    env.delenv(ENV_TOKEN, raising=False)
    with pytest.raises(upstream_mod.ConfigError) as info:
        rest_server.create_app()
    assert isinstance(info.value, RuntimeError)
    message = str(info.value)
    assert "QOVERY_API_KEY" in message
    assert "\n" not in message.strip()
    assert fake.requests == []
