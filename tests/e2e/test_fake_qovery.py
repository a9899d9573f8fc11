"""Self-test of the validating fake Qovery upstream (needs no generated code)."""

from __future__ import annotations

import asyncio
import uuid

import aiohttp
import pytest
from yarl import URL

from .harness import NOT_FOUND_ID, OPERATIONS, run_fake_qovery

pytestmark = pytest.mark.anyio

TOKEN = "fake-self-test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
ORG, ENV, CTR, REG = (str(uuid.uuid4()) for _ in range(4))


def raw(base: str, path: str) -> URL:
    return URL(base + path, encoded=True)


async def test_all_operations_succeed_and_are_recorded() -> None:
    calls = [
        ("POST", f"/container/{CTR}/clone", {"name": "copy", "environment_id": ENV}, 202),
        ("GET", "/defaultContainerAdvancedSettings", None, 200),
        ("GET", f"/environment/{ENV}/container", None, 200),
        (
            "POST",
            f"/environment/{ENV}/container",
            {
                "name": "web",
                "registry_id": REG,
                "image_name": "nginx",
                "tag": "1",
                "healthchecks": {},
            },
            201,
        ),
        ("GET", f"/environment/{ENV}/container/status", None, 200),
        ("POST", f"/organization/{ORG}/container/deploy", {"image_name": "nginx", "tag": "2"}, 202),
        ("POST", f"/organization/{ORG}/container/preview", None, 202),
        ("GET", f"/organization/{ORG}/containerRegistry/{REG}/container/status", None, 200),
    ]
    async with run_fake_qovery(token=TOKEN) as fake, aiohttp.ClientSession() as s:
        for method, path, body, status in calls:
            async with s.request(method, fake.base_url + path, json=body, headers=AUTH) as r:
                assert r.status == status, (path, await r.text())
                data = await r.json()
            assert fake.last.json == body
            assert fake.last.response_json == data
            assert fake.last.status == status
        assert [r.operation for r in fake.requests] == list(OPERATIONS)
        assert all(r.authorization == f"Bearer {TOKEN}" for r in fake.requests)

        by_op = {r.operation: r for r in fake.requests}
        assert by_op["getContainerRegistryContainerStatus"].path_params == {
            "organizationId": ORG,
            "containerRegistryId": REG,
        }
        assert set(by_op["listContainer"].response_json) == {"results"}
        assert len(by_op["listContainer"].response_json["results"]) == 2
        assert set(by_op["getEnvironmentContainerStatus"].response_json) == {"results"}
        settings = by_op["getDefaultContainerAdvancedSettings"].response_json
        assert "deployment.termination_grace_period_seconds" in settings
        clone = by_op["cloneContainer"].response_json
        assert clone["environment"] == {"id": ENV} and clone["name"] == "copy"
        status = by_op["autoDeployContainerEnvironments"].response_json
        assert {
            "id",
            "state",
            "service_deployment_status",
            "status_details",
            "is_part_last_deployment",
            "deployment_requests_count",
            "deployment_request_id",
        } <= set(status)


async def test_auth_is_exact() -> None:
    url_path = "/defaultContainerAdvancedSettings"
    async with run_fake_qovery(token=TOKEN) as fake, aiohttp.ClientSession() as s:
        for headers in (
            {},
            {"Authorization": TOKEN},
            {"Authorization": "Bearer wrong"},
            {"Authorization": f"Token {TOKEN}"},
        ):
            async with s.get(fake.base_url + url_path, headers=headers) as r:
                assert r.status == 401
                assert TOKEN not in await r.text()
        assert len(fake.requests) == 4


async def test_body_on_get_is_415_and_bodyless_post_is_fine() -> None:
    async with run_fake_qovery(token=TOKEN) as fake, aiohttp.ClientSession() as s:
        async with s.get(
            fake.base_url + f"/environment/{ENV}/container", json={}, headers=AUTH
        ) as r:
            assert r.status == 415
        async with s.get(
            fake.base_url + "/defaultContainerAdvancedSettings", data=b"x", headers=AUTH
        ) as r:
            assert r.status == 415
        for path in (
            f"/container/{CTR}/clone",
            f"/organization/{ORG}/container/deploy",
            f"/environment/{ENV}/container",
        ):
            async with s.post(fake.base_url + path, headers=AUTH) as r:
                assert r.status in (201, 202), path
            assert fake.last.body == b""
        # A non-JSON body on a POST is 415 too.
        async with s.post(
            fake.base_url + f"/organization/{ORG}/container/deploy",
            data=b"tag=2",
            headers={**AUTH, "Content-Type": "application/x-www-form-urlencoded"},
        ) as r:
            assert r.status == 415


async def test_body_validation_is_400() -> None:
    bad = [
        (f"/container/{CTR}/clone", {"name": "x"}),
        (f"/container/{CTR}/clone", {"name": "x", "environment_id": "not-a-uuid"}),
        (f"/container/{CTR}/clone", {"name": 5, "environment_id": ENV}),
        (f"/container/{CTR}/clone", [1, 2]),
        (f"/environment/{ENV}/container", {}),
        (
            f"/environment/{ENV}/container",
            {"name": "w", "registry_id": REG, "image_name": "n", "tag": "1"},
        ),
        (f"/organization/{ORG}/container/preview", {"tag": 3}),
    ]
    async with run_fake_qovery(token=TOKEN) as fake, aiohttp.ClientSession() as s:
        for path, body in bad:
            async with s.post(fake.base_url + path, json=body, headers=AUTH) as r:
                assert r.status == 400, (path, body)
        async with s.post(
            fake.base_url + f"/container/{CTR}/clone",
            data=b"{nope",
            headers={**AUTH, "Content-Type": "application/json"},
        ) as r:
            assert r.status == 400
        assert len(fake.requests) == len(bad) + 1


async def test_unknown_paths_404_case_sensitive_and_405() -> None:
    async with run_fake_qovery(token=TOKEN) as fake, aiohttp.ClientSession() as s:
        for path in (
            f"/organization/{ORG}/containerregistry/{REG}/container/status",  # wrong case
            "/defaultcontaineradvancedsettings",
            f"/environment/{ENV}/container/",  # trailing slash
            f"/environment//{ENV}/container",
            f"/v1/environment/{ENV}/container",
            "/nothing",
        ):
            async with s.get(raw(fake.base_url, path), headers=AUTH) as r:
                assert r.status == 404, path
                assert (await r.json())["status"] == 404
            assert fake.last.operation is None
        async with s.delete(fake.base_url + f"/container/{CTR}/clone", headers=AUTH) as r:
            assert r.status == 405
        assert len(fake.requests) == 7


async def test_path_params_must_be_uuids_and_encoded_slash_stays_one_segment() -> None:
    async with run_fake_qovery(token=TOKEN) as fake, aiohttp.ClientSession() as s:
        async with s.get(
            fake.base_url + "/environment/{environmentId}/container", headers=AUTH
        ) as r:
            assert r.status == 422
        assert fake.last.operation == "listContainer"
        async with s.get(fake.base_url + "/environment/abc/container", headers=AUTH) as r:
            assert r.status == 422
        async with s.post(
            raw(fake.base_url, "/container/..%2F..%2Forganization%2Fx/clone"), headers=AUTH
        ) as r:
            assert r.status == 422
        rec = fake.last
        assert rec.operation == "cloneContainer"
        assert rec.path_params == {"containerId": "../../organization/x"}
        assert rec.raw_path == "/container/..%2F..%2Forganization%2Fx/clone"


async def test_knobs_force_not_found_delay_and_stop() -> None:
    async with run_fake_qovery(token=TOKEN) as fake, aiohttp.ClientSession() as s:
        async with s.get(
            fake.base_url + f"/environment/{NOT_FOUND_ID}/container", headers=AUTH
        ) as r:
            assert r.status == 404
            assert (await r.json())["id"] == NOT_FOUND_ID
        fake.force(
            409,
            "Operation is in progress",
            content_type="text/plain",
            operation="cloneContainer",
            times=1,
        )
        async with s.post(fake.base_url + f"/container/{CTR}/clone", headers=AUTH) as r:
            assert r.status == 409 and r.content_type == "text/plain"
            assert await r.text() == "Operation is in progress"
        async with s.post(fake.base_url + f"/container/{CTR}/clone", headers=AUTH) as r:
            assert r.status == 202
        fake.force(403, value=ENV)
        async with s.get(fake.base_url + f"/environment/{ENV}/container/status", headers=AUTH) as r:
            assert r.status == 403
        # Forced answers still require validation to pass first.
        async with s.get(fake.base_url + f"/environment/{ENV}/container/status") as r:
            assert r.status == 401

        fake.delay = 0.5
        with pytest.raises(asyncio.TimeoutError):
            async with s.get(
                fake.base_url + "/defaultContainerAdvancedSettings",
                headers=AUTH,
                timeout=aiohttp.ClientTimeout(total=0.1),
            ):
                pass
        fake.delay = 0

        base = fake.base_url
        await fake.stop()
        with pytest.raises(aiohttp.ClientConnectionError):
            async with s.get(base + "/defaultContainerAdvancedSettings", headers=AUTH):
                pass


async def test_literal_dot_segments_are_resolved_like_a_real_server() -> None:
    async with run_fake_qovery(token=TOKEN) as fake, aiohttp.ClientSession() as s:
        # An unencoded "../.." walks out of /container/... into another route.
        path = f"/container/../organization/{ORG}/container/deploy"
        async with s.post(raw(fake.base_url, path), headers=AUTH) as r:
            assert r.status == 202
        assert fake.last.operation == "autoDeployContainerEnvironments"
        assert fake.last.raw_path == path
        # Encoded dots stay a value.
        async with s.post(raw(fake.base_url, "/container/%2E%2E/clone"), headers=AUTH) as r:
            assert r.status == 422
        assert fake.last.operation == "cloneContainer"
        assert fake.last.path_params == {"containerId": ".."}
