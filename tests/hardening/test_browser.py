"""Bullet 1 (and 7): no web page spends the key. Fetch metadata, Origin and Host are checked
before any upstream call, on REST, MCP and the control port; allowed origins get real CORS."""

from __future__ import annotations

import aiohttp
import pytest

from .conftest import CALLER_TOKEN, Hold, Upstream, serving

pytestmark = pytest.mark.anyio

NO_CORS_IMG = {
    "Sec-Fetch-Site": "cross-site",
    "Sec-Fetch-Mode": "no-cors",
    "Sec-Fetch-Dest": "image",
}
MCP_HEADERS = {
    "Content-Type": "application/json",
    "Accept": "application/json, text/event-stream",
    "MCP-Protocol-Version": "2025-11-25",
    "Authorization": f"Bearer {CALLER_TOKEN}",
}
CALL = {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
        "params": {"name": "list-items", "arguments": {}}}  # fmt: skip


@pytest.mark.parametrize("method", ["GET", "HEAD"])
@pytest.mark.parametrize("site", ["cross-site", "same-site"])
async def test_a_cross_site_no_cors_request_never_reaches_the_upstream(
    hold: Hold, env: dict[str, str], upstream: Upstream, http: aiohttp.ClientSession,
    method: str, site: str,
) -> None:  # fmt: skip
    # A server on a non-loopback bind: no "pages of this machine" exception for same-site.
    async with serving(hold.rest.create_app(None, "0.0.0.0")) as base:
        headers = NO_CORS_IMG | {"Sec-Fetch-Site": site}
        async with http.request(method, base + "/items", headers=headers) as resp:
            assert resp.status == 403
        async with http.post(base + "/items", json={"name": "x"}, headers=headers) as resp:
            assert resp.status == 403
    assert upstream.seen == []


async def test_mcp_refuses_cross_site_requests_before_any_call(
    hold: Hold, env: dict[str, str], upstream: Upstream, http: aiohttp.ClientSession
) -> None:
    async with serving(hold.mcp.create_app()) as base:
        headers = MCP_HEADERS | {"Sec-Fetch-Site": "cross-site"}
        async with http.post(base + "/mcp", json=CALL, headers=headers) as resp:
            assert resp.status == 403
    assert upstream.seen == []


@pytest.mark.parametrize("site", ["same-origin", "none", None])
async def test_same_origin_typed_urls_and_non_browsers_pass(
    hold: Hold, env: dict[str, str], upstream: Upstream, http: aiohttp.ClientSession,
    site: str | None,
) -> None:  # fmt: skip
    headers = {"Sec-Fetch-Site": site} if site else {}
    async with serving(hold.rest.create_app()) as base:
        async with http.get(base + "/items", headers=headers) as resp:
            assert resp.status == 200
    assert [s.path for s in upstream.seen] == ["/items"]


async def test_an_allowed_origin_passes_cross_site_with_cors_headers(
    hold: Hold, env: dict[str, str], upstream: Upstream, http: aiohttp.ClientSession
) -> None:
    app = hold.rest.create_app(None, "127.0.0.1", (), ["https://app.example"])
    async with serving(app) as base:
        headers = {"Sec-Fetch-Site": "cross-site", "Origin": "https://app.example"}
        async with http.get(base + "/items", headers=headers) as resp:
            assert resp.status == 200
            assert resp.headers["Access-Control-Allow-Origin"] == "https://app.example"
        # The same page without its Origin (a no-cors <img>): who sent it is unknown, refused.
        async with http.get(base + "/items", headers=NO_CORS_IMG) as resp:
            assert resp.status == 403
    assert len(upstream.seen) == 1


async def test_a_loopback_server_lets_same_site_pages_of_this_machine_in(
    hold: Hold, env: dict[str, str], upstream: Upstream, http: aiohttp.ClientSession
) -> None:
    async with serving(hold.rest.create_app()) as base:
        async with http.get(base + "/items", headers={"Sec-Fetch-Site": "same-site"}) as resp:
            assert resp.status == 200
        async with http.get(base + "/items", headers=NO_CORS_IMG) as resp:
            assert resp.status == 403
    assert len(upstream.seen) == 1


# -- bullet 7: the control port, CORS, Host off loopback ---------------------------------


@pytest.mark.parametrize(
    ("headers", "status"),
    [({"Host": "evil.example"}, 421), ({"Origin": "http://evil.example"}, 403),
     ({"Sec-Fetch-Site": "cross-site"}, 403), ({}, 200)],
)  # fmt: skip
async def test_the_control_port_has_the_same_host_and_origin_guard(
    hold: Hold, env: dict[str, str], http: aiohttp.ClientSession,
    headers: dict[str, str], status: int,
) -> None:  # fmt: skip
    _control, app = hold.control.create(None, [0, 0, 0])
    async with serving(app) as base:
        for path in ("/status", "/health/live"):
            bearer = {"Authorization": f"Bearer {CALLER_TOKEN}"}
            async with http.get(base + path, headers=bearer | headers) as resp:
                assert resp.status == status, path


async def test_mcp_answers_cors_preflights_and_marks_answers_for_allowed_origins(
    hold: Hold, env: dict[str, str], upstream: Upstream, http: aiohttp.ClientSession
) -> None:
    origin = "https://agent.example"
    async with serving(hold.mcp.create_app("127.0.0.1", None, (), [origin])) as base:
        ask = {"Origin": origin, "Access-Control-Request-Method": "POST",
               "Access-Control-Request-Headers": "content-type, authorization, mcp-protocol-version"}  # fmt: skip
        async with http.options(base + "/mcp", headers=ask) as resp:
            assert resp.status == 204
            assert resp.headers["Access-Control-Allow-Origin"] == origin
            assert "POST" in resp.headers["Access-Control-Allow-Methods"]
            assert "authorization" in resp.headers["Access-Control-Allow-Headers"]
        async with http.post(
            base + "/mcp", json=CALL, headers=MCP_HEADERS | {"Origin": origin}
        ) as resp:
            assert resp.status == 200
            assert resp.headers["Access-Control-Allow-Origin"] == origin
        unauthenticated = {k: v for k, v in MCP_HEADERS.items() if k != "Authorization"}
        async with http.post(
            base + "/mcp", json=CALL, headers=unauthenticated | {"Origin": origin}
        ) as resp:
            assert resp.status == 401  # readable by the page: it can start its sign-in
            assert resp.headers["Access-Control-Allow-Origin"] == origin
            assert "WWW-Authenticate" in resp.headers["Access-Control-Expose-Headers"]
        async with http.post(
            base + "/mcp", json=CALL, headers=MCP_HEADERS | {"Origin": "https://x.example"}
        ) as resp:
            assert resp.status == 403 and "Access-Control-Allow-Origin" not in resp.headers
    assert len(upstream.seen) == 1


async def test_streamed_and_error_answers_carry_cors_for_allowed_origins(
    hold: Hold, env: dict[str, str], upstream: Upstream, http: aiohttp.ClientSession
) -> None:
    from aiohttp import web

    async def big(request: web.Request) -> web.Response:
        return web.json_response({"blob": "x" * 500_000})  # streamed, not read

    upstream.routes["/items"] = big
    origin = "https://app.example"
    async with serving(hold.rest.create_app(None, "127.0.0.1", (), [origin])) as base:
        for path, status in (("/items", 200), ("/fw/items", 200), ("/items/bad", 400)):
            async with http.get(base + path, headers={"Origin": origin}) as resp:
                assert resp.status == status, path
                assert resp.headers["Access-Control-Allow-Origin"] == origin, path


async def test_off_loopback_the_host_is_checked_when_allow_host_is_given(
    hold: Hold, env: dict[str, str], upstream: Upstream, http: aiohttp.ClientSession
) -> None:
    app = hold.rest.create_app(None, "0.0.0.0", ["api.internal"])
    async with serving(app) as base:
        async with http.get(base + "/items", headers={"Host": "evil.example"}) as resp:
            assert resp.status == 421
        async with http.get(base + "/items", headers={"Host": "api.internal:8080"}) as resp:
            assert resp.status == 200
    assert len(upstream.seen) == 1
