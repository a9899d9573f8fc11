"""#21 item 6: `serve --mock` answers mapped routes with values shaped by the output mappings,
and says which base URL a standalone server would use (the namespace prefix it routes on)."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest

from naftiko_gen.mock_upstream import operations, run_mock
from naftiko_gen.serve import _plan
from tests.support import build, import_module, serve_aiohttp

SPEC = """\
naftiko: 1.0.0-alpha2
info:
  label: Shapes
  description: Mapped outputs over an upstream the mock knows nothing about.
capability:
  consumes:
    - type: http
      namespace: shapes-api
      baseUri: https://shapes.example/v2
      resources:
        - name: teams
          path: /teams
          operations:
            - name: list-teams
              method: GET
  exposes:
    - type: rest
      namespace: shapes-rest
      port: 8080
      resources:
        - path: /teams
          name: teams
          operations:
            - method: GET
              name: list-teams
              call: shapes-api.list-teams
              outputParameters:
                - type: object
                  mapping: $.
                  properties:
                    total:
                      type: number
                      mapping: $.meta.page.total
                    first:
                      type: string
                      mapping: $.data[0].id
                    names:
                      type: array
                      mapping: $.data[*]
                      items:
                        type: object
                        properties:
                          name:
                            type: string
                            mapping: $.attributes.name
                          members:
                            type: number
                            mapping: $.attributes.size
"""


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.anyio
async def test_mapped_route_gets_values_not_nulls(tmp_path: Path) -> None:
    spec = tmp_path / "shapes.yaml"
    spec.write_text(SPEC, encoding="utf-8")
    plan = _plan(spec, tmp_path / "plan", {})
    ops = operations(plan)
    assert [(op.name, op.source) for op in ops] == [
        ("shapes-api.list-teams", "the output mappings")
    ]
    out = tmp_path / "generated"
    package = build(spec, out)
    rest_server = import_module(out, package, "rest_server")
    async with run_mock(ops) as (mock, port):
        base_url = mock.base_url(port, "shapes-api")
        assert base_url == f"http://127.0.0.1:{port}/shapes-api"
        app = rest_server.create_app({"SHAPES_API_BASE_URL": base_url})
        async with serve_aiohttp(app) as base, aiohttp.ClientSession() as http:
            async with http.get(base + "/teams") as response:
                assert response.status == 200, await response.text()
                body = await response.json()
    assert mock.requests == [("GET", "/shapes-api/teams", None)]
    assert body["total"] == 1
    assert isinstance(body["first"], str) and body["first"]
    assert body["names"] == [{"name": "example", "members": 1}]
