"""examples/: the README's second capability builds, is committed fresh, and serves as documented."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientSession, web

from naftiko_gen.codegen import generate, validate
from tests.support import ROOT, build, import_module, serve_aiohttp

EXAMPLE = ROOT / "examples" / "specs" / "petstore.yaml"


def test_example_is_clean_and_committed_fresh(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    report, _ = validate([Path("examples/specs")])
    assert report.items == [], [d.format() for d in report.items]  # no error, warning or note
    result = generate([Path("examples/specs")], Path("examples/generated"))
    assert result.packages == ["petstore"]
    for rel, text in result.files.items():
        assert (ROOT / "examples" / "generated" / rel).read_text(encoding="utf-8") == text, rel


def _fake_petstore(seen: list[dict[str, Any]]) -> web.Application:
    async def get_pet(request: web.Request) -> web.Response:
        seen.append({"path": request.path})
        return web.json_response(
            {"id": int(request.match_info["id"]), "name": "Rex", "status": "sold", "tags": []}
        )

    async def find(request: web.Request) -> web.Response:
        seen.append({"path": request.path, "query": dict(request.query)})
        return web.json_response([{"id": 1, "name": "Rex"}])

    async def add(request: web.Request) -> web.Response:
        seen.append({"path": request.path, "body": await request.json()})
        return web.json_response({"id": 9}, status=200)

    app = web.Application()
    app.router.add_get("/api/v3/pet/findByStatus", find)
    app.router.add_get("/api/v3/pet/{id}", get_pet)
    app.router.add_post("/api/v3/pet", add)
    return app


@pytest.mark.anyio
async def test_example_rest_server_calls_the_upstream_as_the_readme_says(tmp_path: Path) -> None:
    package = build(EXAMPLE, tmp_path)
    rest = import_module(tmp_path, package, "rest_server")
    seen: list[dict[str, Any]] = []
    async with serve_aiohttp(_fake_petstore(seen)) as upstream:
        app = rest.create_app({"PETS_BASE_URL": upstream + "/api/v3"})
        async with serve_aiohttp(app) as url, ClientSession() as http:
            async with http.get(f"{url}/pets/7") as resp:
                assert resp.status == 200
                assert await resp.json() == {"id": 7, "name": "Rex", "status": "sold"}
            async with http.get(f"{url}/pets", params={"status": "available"}) as resp:
                assert resp.status == 200
            async with http.get(f"{url}/pets", params={"status": "lost"}) as resp:
                assert resp.status == 400  # the declared pattern
            body = {"name": "Tom", "status": "available", "photoUrls": []}
            async with http.post(f"{url}/pets", json=body) as resp:
                assert resp.status == 200
    assert seen == [
        {"path": "/api/v3/pet/7"},
        {"path": "/api/v3/pet/findByStatus", "query": {"status": "available"}},
        {"path": "/api/v3/pet", "body": body},
    ]
