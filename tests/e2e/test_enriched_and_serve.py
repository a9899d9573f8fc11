"""#11: the seed built with an OpenAPI document (tool schemas checked before any upstream call),
and `naftiko-gen serve specs/ --mock` running out of the box, with no API key.

The Qovery document in /work/shared has no license and is never vendored: the tests that use it
skip without it; the same paths run with our own subset document (tests/fixtures/openapi/).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from mcp import Client

from tests.support import FIXTURES, ROOT, SHARED, import_module, serve_asgi

from .harness import DEFAULT_TOKEN, run_fake_qovery, stop_process

pytestmark = pytest.mark.anyio

SEED = ROOT / "specs" / "qovery-containers.yaml"
SUBSET = FIXTURES / "openapi" / "qovery-containers-subset.yaml"
QOVERY_DOC = SHARED / "reference" / "qovery-openapi.yaml"
NS = "qovery-containers"
ENV = "3fa85f64-5717-4562-b3fc-2c963f66afa6"
REGISTRY = "6b1a2c3d-0000-4000-8000-000000000001"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _text(result: Any) -> str:
    return " ".join(getattr(c, "text", "") for c in result.content)


async def test_missing_required_body_field_is_an_error_without_upstream_call(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from naftiko_gen.codegen import generate
    from naftiko_gen.writer import apply_changes, plan_changes

    result = generate([SEED], tmp_path, {NS: SUBSET})
    assert not result.report.errors
    apply_changes(plan_changes(result.files, result.specs, tmp_path), tmp_path)
    mcp_server = import_module(tmp_path, "qovery_containers", "mcp_server")
    body = {"name": "web", "registry_id": REGISTRY, "image_name": "nginx", "healthchecks": {}}
    async with run_fake_qovery() as fake:
        environ = {"QOVERY_API_KEY": DEFAULT_TOKEN, "QOVERY_CONTAINERS_BASE_URL": fake.base_url}
        app = mcp_server.create_app(environ=environ)
        async with serve_asgi(app) as base, Client(base + "/mcp") as client:
            tools = {t.name: t for t in (await client.list_tools()).tools}
            schema = tools["create-container"].input_schema["properties"]["body"]
            assert schema["required"] == ["name", "registry_id", "image_name", "tag", "healthchecks"]
            missing = await client.call_tool(
                "create-container", {"environmentId": ENV, "body": body}
            )
            assert missing.is_error
            assert "invalid arguments: body: 'tag' is a required property" in _text(missing)
            assert fake.requests == []
            wrong = await client.call_tool(
                "create-container",
                {"environmentId": ENV, "body": {**body, "tag": "1", "cpu_architecture": "X86"}},
            )
            assert wrong.is_error and "cpu_architecture" in _text(wrong)
            assert fake.requests == []
            ok = await client.call_tool(
                "create-container", {"environmentId": ENV, "body": {**body, "tag": "1.27"}}
            )
            assert not ok.is_error, _text(ok)
            # the output schema the client checks matches what the (fake) upstream answers
            assert ok.structured_content is not None and ok.structured_content["tag"] == "1.27"
            assert len(fake.requests) == 1 and fake.requests[0].json["tag"] == "1.27"
            # no body at all stays valid (Qovery's body is optional)
            listed = await client.call_tool("list-containers", {"environmentId": ENV})
            assert not listed.is_error and len(listed.structured_content["results"]) == 2


# -- serve --------------------------------------------------------------------------------------


class Served:
    def __init__(self, proc: asyncio.subprocess.Process, urls: dict[str, str]) -> None:
        self.proc = proc
        self.urls = urls  # "mock upstream", "REST", "MCP" → URL as printed


@asynccontextmanager
async def _serve(*extra: str, cwd: Path = ROOT) -> AsyncIterator[Served]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QOVERY_")}
    env["NAFTIKO_GEN_NO_CACHE"] = "1"
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "naftiko_gen", "serve", "specs/", "--mock",
        "--rest-port", "0", "--mcp-port", "0", *extra,
        cwd=cwd, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    urls: dict[str, str] = {}
    try:
        assert proc.stdout is not None
        while len(urls) < 3:
            line = (await asyncio.wait_for(proc.stdout.readline(), 60)).decode()
            if not line:
                err = await proc.stderr.read() if proc.stderr else b""
                raise AssertionError(f"serve exited: {err.decode(errors='replace')[-2000:]}")
            match = re.match(r"^(mock upstream|REST|MCP)\s+(http://\S+)", line)
            if match:
                urls[match.group(1)] = match.group(2)
        yield Served(proc, urls)
    finally:
        await stop_process(proc, signal.SIGINT, grace=20)  # Ctrl-C
    assert proc.returncode == 0


async def _check_serve(*extra: str) -> tuple[Any, Any]:
    """A REST GET and an MCP tool call through `serve --mock`; their JSON answers."""
    async with _serve(*extra) as served:
        rest, mcp_url = served.urls["REST"], served.urls["MCP"]
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{rest}/v1/environment/{ENV}/container") as resp:
                assert resp.status == 200, await resp.text()
                listed = await resp.json()
            async with http.get(f"{rest}/openapi.json") as resp:
                assert resp.status == 200
            # a required body field missing: the mock answers 400 like the real API would
            async with http.post(
                f"{rest}/v1/environment/{ENV}/container", json={"name": "x"}
            ) as resp:
                rejected = resp.status
        async with Client(mcp_url) as client:
            result = await client.call_tool("list-all-environment-container-statuses",
                                            {"environmentId": ENV})  # fmt: skip
            assert not result.is_error, _text(result)
            statuses = result.structured_content
    return listed, (statuses, rejected)


@pytest.mark.slow
async def test_serve_mock_without_openapi() -> None:
    listed, (statuses, _) = await _check_serve()
    assert isinstance(listed, dict) and listed.get("mock") is True
    assert isinstance(statuses, dict) and statuses.get("mock") is True


@pytest.mark.slow
async def test_serve_mock_with_own_subset_document() -> None:
    listed, (statuses, rejected) = await _check_serve("--openapi", f"{NS}={SUBSET}")
    # shaped like the upstream: the list wrapper with ContainerResponse items
    assert set(listed) == {"results"} and {"id", "name", "image_name", "tag"} <= set(
        listed["results"][0]
    )
    assert set(statuses) == {"results"} and "state" in statuses["results"][0]
    assert rejected == 400


@pytest.mark.slow
@pytest.mark.skipif(not QOVERY_DOC.is_file(), reason="Qovery's OpenAPI document is not present")
async def test_serve_mock_with_qovery_document() -> None:
    listed, (statuses, rejected) = await _check_serve("--openapi", f"{NS}={QOVERY_DOC}")
    assert set(listed) == {"results"}
    assert {"id", "environment", "service_type"} <= set(listed["results"][0])
    assert "state" in statuses["results"][0]
    assert rejected == 400


@pytest.mark.slow
@pytest.mark.skipif(not QOVERY_DOC.is_file(), reason="Qovery's OpenAPI document is not present")
def test_qovery_document_enriches_every_seed_operation(tmp_path: Path) -> None:
    from naftiko_gen.codegen import generate

    result = generate([SEED], tmp_path, {NS: QOVERY_DOC})
    assert not result.report.errors and not result.report.warnings
    doc = json.loads(result.files["qovery_containers/openapi.json"])
    post = doc["paths"]["/v1/environment/{environmentid}/container"]["post"]
    schema = post["requestBody"]["content"]["application/json"]["schema"]
    assert schema["required"] == ["name", "registry_id", "image_name", "tag", "healthchecks"]
