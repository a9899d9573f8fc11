"""The protocol-era table (_mcp_eras.py): it is the SDK's, and a new era is one row.

* The rows agree with the oracle, mcp 2.3.0's own tables: the versions by opening and in order
  (mcp_types.version), each version's methods (mcp_types.methods.CLIENT_REQUESTS: the keys of
  the row's request surface) and the cacheable results.
* Two hypothetical rows appended to a generated package's table (imported in-process, served
  on a real port): a later handshake version, which `initialize` now negotiates and HTTP routes
  to the handshake dispatcher, on stdio too; and a later envelope version without cache hints,
  which `server/discover` lists, the envelope ladder accepts, and whose results carry what its
  flags say. The same requests against the package's own table answer as before.
"""

from __future__ import annotations

import asyncio
import importlib
import io
import json
import sys
import threading
from collections.abc import AsyncIterator, Iterator
from http.server import ThreadingHTTPServer
from types import ModuleType
from typing import Any

import aiohttp
import pytest
from mcp_types import methods, version

from naftiko_gen.runtime import _mcp_eras, _mcp_surface
from tests.protocol.protocol_upstream import Handler
from tests.support import ROOT, build, import_module, serve_aiohttp

pytestmark = pytest.mark.anyio

SPEC = ROOT / "tests" / "protocol" / "protocol-capability.yaml"
PACKAGE = "protocol_capability"
LATER_HANDSHAKE, LATER_ENVELOPE, UNKNOWN = "2026-03-01", "2027-01-01", "2028-01-01"
JSON = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


# -- the table is the oracle's ------------------------------------------------------------


def test_the_versions_are_the_sdks_in_its_order() -> None:
    table = _mcp_eras.TABLE
    assert tuple(era.version for era in table.rows) == version.KNOWN_PROTOCOL_VERSIONS
    assert table.handshake_versions == version.HANDSHAKE_PROTOCOL_VERSIONS
    assert table.envelope_versions == version.MODERN_PROTOCOL_VERSIONS
    assert table.newest_handshake.version == version.LATEST_HANDSHAKE_VERSION
    # MCP 2025-06-18, transports: a request without the header is taken as 2025-03-26.
    assert table.assumed.version == "2025-03-26"


def test_each_versions_methods_are_the_sdks() -> None:
    for era in _mcp_eras.TABLE.rows:
        sdk = {method for method, v in methods.CLIENT_REQUESTS if v == era.version}
        assert set(_mcp_surface.SURFACES[era.schema]) == sdk, era.version
    assert _mcp_eras.CACHEABLE == methods.CACHEABLE_METHODS


def test_a_table_that_cannot_be_served_is_refused() -> None:
    Era, rows = _mcp_eras.Era, _mcp_eras.ERAS
    for bad in (
        (*rows, rows[0]),  # a version twice
        tuple(row for row in rows if not row.assumed),  # no version for header-less requests
        (*rows, Era("2027-01-01", handshake=True, schema="2025-11-25", assumed=True)),  # two
        (*rows, Era("2027-01-01", handshake=False, schema="2027-01-01")),  # no such surface
        tuple(row for row in rows if not row.handshake),  # nothing initialize can agree on
    ):
        with pytest.raises(ValueError, match="era table"):
            _mcp_eras.Eras(bad)


# -- a next era is one row ------------------------------------------------------------------


@pytest.fixture(scope="module")
def upstream() -> Iterator[str]:
    """tests/protocol/protocol_upstream.py in a thread of this process."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> ModuleType:
    out = tmp_path_factory.mktemp("eras")
    assert build(SPEC, out) == PACKAGE
    return import_module(out, PACKAGE, "mcp_server")


def _extended(eras: ModuleType) -> Any:
    """The package's table with a later handshake version and a later envelope version that,
    unlike 2026-07-28, stamps no cache hints."""
    later = (
        eras.Era(LATER_HANDSHAKE, handshake=True, schema="2025-11-25"),
        eras.Era(LATER_ENVELOPE, handshake=False, schema="2026-07-28", result_type=True,
                 server_info=True),
    )  # fmt: skip
    return eras.Eras((*eras.ERAS, *later))


@pytest.fixture(scope="module")
async def urls(package: ModuleType, upstream: str) -> AsyncIterator[tuple[str, str]]:
    """(the package's own server, the same server with the extended table)."""
    environ = {"EDGE_BASE_URL": upstream}
    eras = sys.modules[f"{PACKAGE}._mcp_eras"]  # the package's copy of the runtime module
    own = package.create_app(environ=environ)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(eras, "TABLE", _extended(eras))
        extended = package.create_app(environ=environ)  # a server takes its table as built
    async with serve_aiohttp(own) as before, serve_aiohttp(extended) as after:
        yield before, after


async def post(url: str, body: Any, headers: dict[str, str]) -> tuple[int, Any]:
    async with (
        aiohttp.ClientSession() as http,
        http.post(url + "/mcp", data=json.dumps(body).encode(), headers=headers) as resp,
    ):
        return resp.status, await resp.json(content_type=None)


def rpc(method: str, params: dict[str, Any]) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}


def initialize(requested: str) -> dict[str, Any]:
    info = {"name": "eras", "version": "1"}
    return rpc("initialize", {"protocolVersion": requested, "capabilities": {}, "clientInfo": info})


def envelope(method: str, at: str, **params: Any) -> tuple[dict[str, Any], dict[str, str]]:
    """A request of an envelope era, `at` its version: the body and its routing headers."""
    meta = {
        _mcp_surface.VERSION_KEY: at,
        _mcp_surface.CAPABILITIES_KEY: {},
        _mcp_surface.INFO_KEY: {"name": "eras", "version": "1"},
    }
    headers = {**JSON, "MCP-Protocol-Version": at, "Mcp-Method": method}
    if "name" in params:
        headers["Mcp-Name"] = params["name"]
    return rpc(method, {**params, "_meta": meta}), headers


async def test_initialize_negotiates_a_later_handshake_version(urls: tuple[str, str]) -> None:
    before, after = urls
    _, got = await post(after, initialize(LATER_HANDSHAKE), JSON)
    assert got["result"]["protocolVersion"] == LATER_HANDSHAKE
    _, got = await post(before, initialize(LATER_HANDSHAKE), JSON)
    assert got["result"]["protocolVersion"] == "2025-11-25"  # the counter-offer, as before
    # Not a handshake version: the counter-offer is the table's newest handshake version.
    _, got = await post(after, initialize(LATER_ENVELOPE), JSON)
    assert got["result"]["protocolVersion"] == LATER_HANDSHAKE


async def test_http_routes_a_later_handshake_version_to_the_handshake_era(
    urls: tuple[str, str],
) -> None:
    before, after = urls
    headers = {**JSON, "MCP-Protocol-Version": LATER_HANDSHAKE}
    call = rpc("tools/call", {"name": "send_text", "arguments": {"text": "four"}})
    status, got = await post(after, call, headers)
    assert status == 200
    assert got["result"] == {
        "content": [{"type": "text", "text": '{"received": 4}'}],
        "structuredContent": {"received": 4},
        "isError": False,
    }  # a handshake answer: no resultType, no _meta
    status, got = await post(before, call, headers)  # an envelope request there: no _meta
    assert (status, got["error"]["code"]) == (400, -32602)


async def test_a_later_envelope_version_is_discovered_and_served_per_its_flags(
    urls: tuple[str, str],
) -> None:
    before, after = urls
    body, headers = envelope("server/discover", LATER_ENVELOPE)
    status, got = await post(after, body, headers)
    assert status == 200
    found = got["result"]
    assert found["supportedVersions"] == ["2026-07-28", LATER_ENVELOPE]
    assert found["resultType"] == "complete"
    server_info = found["_meta"]["io.modelcontextprotocol/serverInfo"]
    assert server_info["name"] == "protocol-mcp"
    assert "ttlMs" not in found and "cacheScope" not in found  # its row has no cache hints
    body, headers = envelope("tools/list", LATER_ENVELOPE)
    _, got = await post(after, body, headers)
    assert [tool["name"] for tool in got["result"]["tools"]] == ["non_finite", "send_text"]
    assert "ttlMs" not in got["result"]
    body, headers = envelope("tools/list", "2026-07-28")  # the same server, 2026-07-28's row
    _, got = await post(after, body, headers)
    assert (got["result"]["ttlMs"], got["result"]["cacheScope"]) == (0, "private")
    body, headers = envelope("tools/call", LATER_ENVELOPE, name="send_text",
                             arguments={"text": "seven!!"})  # fmt: skip
    _, got = await post(after, body, headers)
    assert got["result"]["structuredContent"] == {"received": 7}
    assert got["result"]["resultType"] == "complete"
    body, headers = envelope("server/discover", LATER_ENVELOPE)
    status, got = await post(before, body, headers)  # the package's own table: unsupported
    assert (status, got["error"]["code"]) == (400, -32022)
    assert got["error"]["data"]["supported"] == ["2026-07-28"]


async def test_an_unknown_version_is_refused_naming_the_tables_envelope_versions(
    urls: tuple[str, str],
) -> None:
    _, after = urls
    body, headers = envelope("tools/list", UNKNOWN)
    status, got = await post(after, body, headers)
    assert (status, got["error"]["code"]) == (400, -32022)
    assert got["error"]["data"] == {
        "supported": ["2026-07-28", LATER_ENVELOPE], "requested": UNKNOWN,
    }  # fmt: skip


async def test_stdio_negotiates_a_later_handshake_version_and_keeps_it(
    package: ModuleType, upstream: str
) -> None:
    eras = sys.modules[f"{PACKAGE}._mcp_eras"]
    stdio = importlib.import_module(f"{PACKAGE}._mcp_stdio")  # imported where stdio is served
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(eras, "TABLE", _extended(eras))
        server = package.build_server(package.load_config({"EDGE_BASE_URL": upstream}))
    lines = [
        initialize(LATER_HANDSHAKE),
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {**rpc("tools/list", {}), "id": 2},
    ]
    stdin = io.BytesIO(b"".join(json.dumps(line).encode() + b"\n" for line in lines))
    wire = io.BytesIO()
    await asyncio.wait_for(stdio._stdio(server, stdin, wire), 10)
    answers = {a["id"]: a for a in map(json.loads, wire.getvalue().splitlines())}
    assert answers[1]["result"]["protocolVersion"] == LATER_HANDSHAKE
    assert [tool["name"] for tool in answers[2]["result"]["tools"]] == ["non_finite", "send_text"]

