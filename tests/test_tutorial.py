"""The official tutorial capabilities (vendored in tests/fixtures/tutorial): every step builds and
serves (steps 7-11, orchestration and aggregates, are driven end to end in test_tutorial_steps.py).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from aiohttp import ClientSession

from naftiko_gen.codegen import generate
from tests.support import TUTORIAL, build, import_module, serve_aiohttp, serve_asgi

BUILDABLE = sorted(TUTORIAL.glob("step-*.yml"))


def _declared(spec: Path) -> tuple[list[str], list[tuple[str, str]]]:
    import yaml

    doc = yaml.safe_load(spec.read_text())
    tools: list[str] = []
    routes: list[tuple[str, str]] = []
    for adapter in doc["capability"]["exposes"]:
        if adapter["type"] == "mcp":
            tools += [t["name"] for t in adapter["tools"]]
        elif adapter["type"] == "rest":
            for res in adapter["resources"]:
                for op in res.get("operations", []):
                    routes.append((op.get("method", "GET"), res["path"]))
    return tools, routes


def test_the_tutorial_is_all_there() -> None:
    assert len(BUILDABLE) == 11


@pytest.mark.slow  # builds and serves each step
@pytest.mark.parametrize("spec", BUILDABLE, ids=lambda p: p.name[:7])
@pytest.mark.anyio
async def test_every_step_builds_and_serves(
    spec: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = build(spec, tmp_path)
    tools, routes = _declared(spec)
    mcp_server = import_module(tmp_path, package, "mcp_server")
    # Bind files (file:///./shared/secrets.yaml) are read relative to the spec, through the
    # package: the committed secrets file of the tutorial supplies the tokens.
    token = None
    secrets = TUTORIAL / "shared" / "secrets.yaml"
    if hasattr(mcp_server, "_inbound"):  # the adapter authenticates its callers
        token = re.search(r'mcp-server-token: "([^"]+)"', secrets.read_text()).group(1)  # type: ignore[union-attr]
    app = mcp_server.create_app()
    async with serve_asgi(app) as base:
        from mcp import Client

        if token is None:
            async with Client(base + "/mcp") as client:
                listed = [t.name for t in (await client.list_tools()).tools]
        else:
            import httpx2
            from mcp.client.streamable_http import streamable_http_client

            async with ClientSession() as http:
                async with http.post(base + "/mcp", json={}) as resp:
                    assert resp.status == 401  # the adapter's bearer auth is enforced
            headers = {"Authorization": f"Bearer {token}"}
            async with httpx2.AsyncClient(headers=headers) as http_client, Client(
                streamable_http_client(base + "/mcp", http_client=http_client)
            ) as client:
                listed = [t.name for t in (await client.list_tools()).tools]
        assert listed == tools
    if spec.name.startswith("step-1-"):
        async with serve_asgi(mcp_server.create_app()) as base:
            from mcp import Client

            async with Client(base + "/mcp") as client:
                result = await client.call_tool("get-ship", {"imo_number": "IMO-9321483"})
        assert not result.is_error
        assert result.structured_content == {
            "imo": "IMO-9321483",
            "name": "Northern Star",
            "type": "cargo",
            "flag": "NO",
            "status": "active",
        }
    if routes:
        rest_server = import_module(tmp_path, package, "rest_server")
        async with serve_aiohttp(rest_server.create_app()) as base, ClientSession() as http:
            async with http.get(base + "/openapi.json") as resp:
                doc = await resp.json()
        served = {(m.upper(), p) for p, ops in doc["paths"].items() for m in ops}
        for method, path in routes:
            assert (method, path.replace("{{", "{").replace("}}", "}")) in served


@pytest.mark.parametrize("spec", BUILDABLE, ids=lambda p: p.name[:7])
def test_steps_build_with_only_the_skill_warning(spec: Path) -> None:
    result = generate([spec], Path("unused"))
    assert not result.report.errors, [d.format() for d in result.report.errors]
    warnings = {d.rule for d in result.report.warnings}
    expected: set[str] = set()
    if spec.name.startswith("step-11"):
        expected.add(
            "naftiko-literal-secret"
        )  # its shared consumes file writes REGISTRY_TOKEN bare
    assert warnings <= expected | {"naftiko-schema-deviation", "naftiko-schema-required"}, warnings
    assert expected <= warnings
