"""Bullet 6: credentials and input. Undecodable credentials are 401 (REST, MCP, control);
the JWKS is refetched with a backoff, one fetch at a time, never holding up tokens whose key
is known; a scope of the wrong type is 401; `pattern` anchors at the true end; a non-object
body where fields are declared is 400; a base URL with userinfo stops start-up in one line."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import jwt
import pytest
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.support import build, import_module

from .conftest import CALLER_TOKEN, UP_KEY, Hold, Upstream, raw_request, serving

pytestmark = pytest.mark.anyio

BAD_BYTES = b"\xff\xfe\xc3("


def _raw_get(path: str, header: bytes) -> bytes:
    return (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n".encode()
        + header + b"\r\nContent-Length: 0\r\n\r\n"
    )  # fmt: skip


def _status(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1])


async def test_undecodable_credentials_are_401_on_rest_mcp_and_control(
    hold: Hold, env: dict[str, str], upstream: Upstream
) -> None:
    control, control_app = hold.control.create(None, [0, 0, 0])
    async with (
        serving(hold.locked.create_app()) as locked,
        serving(hold.mcp.create_app()) as mcp,
        serving(control_app) as ctl,
    ):
        for header in (b"Authorization: Bearer " + BAD_BYTES, b"Authorization: " + BAD_BYTES,
                       b"Authorization: Basic " + BAD_BYTES):  # fmt: skip
            answer = await raw_request(locked, _raw_get("/items", header))
            assert _status(answer) == 401, answer[:200]
            assert b"Traceback" not in answer
            post = _raw_get("/mcp", header).replace(b"GET", b"POST", 1)
            assert _status(await raw_request(mcp, post)) == 401
            assert _status(await raw_request(ctl, _raw_get("/status", header))) == 401
    assert upstream.seen == []
    del control


async def test_a_non_utf8_header_value_sent_upstream_is_400(
    hold: Hold, env: dict[str, str], upstream: Upstream
) -> None:
    # forward copies no headers by default: a header parameter is the path for caller bytes.
    async with serving(hold.rest.create_app()) as base:
        answer = await raw_request(base, _raw_get("/items", b"X-Any: " + BAD_BYTES))
        assert _status(answer) in (200, 400)  # not a declared header: ignored, never a 500


@pytest.mark.parametrize(
    ("item", "status"),
    [("c-1", 200), ("c-1%0A", 400), ("c-1%0A%0A", 400), ("c-", 400), ("xc-1", 400)],
)
async def test_pattern_is_anchored_at_the_true_end(
    hold: Hold, env: dict[str, str], upstream: Upstream, http: aiohttp.ClientSession,
    item: str, status: int,
) -> None:  # fmt: skip
    async with serving(hold.rest.create_app()) as base:
        async with http.get(base + "/items/" + item) as resp:
            assert resp.status == status, await resp.text()
    assert len(upstream.seen) == (1 if status == 200 else 0)


@pytest.mark.parametrize("body", ["[1, 2]", '"name"', "3", "true"])
async def test_a_non_object_body_where_fields_are_declared_is_400(
    hold: Hold, env: dict[str, str], upstream: Upstream, http: aiohttp.ClientSession, body: str
) -> None:
    async with serving(hold.rest.create_app()) as base:
        headers = {"Content-Type": "application/json"}
        async with http.post(base + "/items", data=body, headers=headers) as resp:
            assert resp.status == 400
            assert "JSON object" in (await resp.json())["error"]
        async with http.post(base + "/items", json={"name": "ok"}) as resp:
            assert resp.status == 200
    assert [json.loads(s.body) for s in upstream.seen] == [{"name": "ok"}]


@pytest.mark.parametrize("module", ["rest_server", "mcp_server", "control_server"])
def test_a_base_url_with_userinfo_is_refused_at_start_up_in_one_line(
    hold: Hold, module: str
) -> None:
    env = {**os.environ, "PYTHONPATH": str(hold.out), "HOLD_UP_KEY": UP_KEY,
           "HOLD_CALLER_TOKEN": CALLER_TOKEN,
           "UP_BASE_URL": "http://admin:hunter2-pw@127.0.0.1:9/"}  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-m", f"hold.{module}", "--port", "0"],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "UP_BASE_URL must not carry credentials" in lines[0], done.stderr
    assert "hunter2" not in done.stderr


# -- OAuth 2.0: the authorization server fails, stalls, rotates ----------------------------


class Authority:
    """A JWKS endpoint that can be down, slow, and rotated; it counts its fetches."""

    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.url = ""
        self.down = False
        self.delay = 0.0
        self.fetches = 0

    def jwks(self) -> dict[str, Any]:
        algorithm = jwt.get_algorithm_by_name("RS256")
        one = json.loads(algorithm.to_jwk(self.key.public_key()))  # type: ignore[attr-defined]
        two = json.loads(algorithm.to_jwk(self.other.public_key()))  # type: ignore[attr-defined]
        # One key without a kid (for tokens without one) and one with.
        return {"keys": [one | {"use": "sig", "alg": "RS256"},
                         two | {"kid": "k2", "use": "sig", "alg": "RS256"}]}  # fmt: skip

    def app(self) -> web.Application:
        async def jwks(request: web.Request) -> web.Response:
            self.fetches += 1
            if self.delay:
                await asyncio.sleep(self.delay)
            if self.down:
                return web.Response(status=503)
            return web.json_response(self.jwks())

        app = web.Application()
        app.router.add_get("/jwks", jwks)
        return app

    def token(self, kid: str | None = None, **claims: Any) -> str:
        now = int(time.time())
        body = {"iss": self.url, "aud": "https://api.example.com", "exp": now + 300,
                "scope": "items.read"} | claims  # fmt: skip
        key = self.other if kid == "k2" else self.key
        return jwt.encode(body, key, algorithm="RS256", headers={"kid": kid} if kid else None)


@pytest.fixture
async def authority() -> AsyncIterator[Authority]:
    authority = Authority()
    async with serving(authority.app()) as url:
        authority.url = url
        yield authority


@pytest.fixture
def oauth2(authority: Authority, tmp_path: Path, env: dict[str, str]) -> Any:
    spec = tmp_path / "hold_oauth2.yaml"
    text = (Path(__file__).parent / "specs" / "oauth2.yaml.in").read_text()
    spec.write_text(text.replace("AS_URL", authority.url))
    package = build(spec, tmp_path / "out")
    module = import_module(tmp_path / "out", package, "rest_server")
    sys.modules[f"{package}._oauth2"].RETRY_FIRST = 0.5  # a short backoff, for the test
    return module


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_after_a_jwks_outage_at_start_up_tokens_pass_once_it_is_back(
    authority: Authority, oauth2: Any, upstream: Upstream, http: aiohttp.ClientSession
) -> None:
    authority.down = True
    async with serving(oauth2.create_app()) as base:
        async with http.get(base + "/items", headers=_bearer(authority.token())) as resp:
            assert resp.status == 503  # no key yet: try again
        authority.down = False
        await asyncio.sleep(0.6)  # the backoff
        async with http.get(base + "/items", headers=_bearer(authority.token())) as resp:
            assert resp.status == 200  # no kid, and no restart needed
    assert len(upstream.seen) == 1


async def test_a_slow_jwks_holds_up_only_tokens_of_unknown_keys(
    authority: Authority, oauth2: Any, upstream: Upstream, http: aiohttp.ClientSession
) -> None:
    sys.modules[oauth2.__name__.rsplit(".", 1)[0] + "._oauth2"].REFRESH_AFTER = 0.0
    async with serving(oauth2.create_app()) as base:
        fetched = authority.fetches
        authority.delay = 2.0
        unknown = _bearer(authority.token(kid="rotated-9"))

        async def get(headers: dict[str, str]) -> tuple[int, float]:
            started = time.monotonic()
            async with http.get(base + "/items", headers=headers) as resp:
                return resp.status, time.monotonic() - started

        slow = [asyncio.create_task(get(unknown)) for _ in range(5)]
        await asyncio.sleep(0.2)
        known = await asyncio.gather(*(get(_bearer(authority.token(kid=k))) for k in
                                       (None, "k2") * 10))  # fmt: skip
        assert {s for s, _ in known} == {200}
        assert max(t for _, t in known) < 1.0, known
        assert {s for s, _ in await asyncio.gather(*slow)} == {401}
        assert authority.fetches - fetched == 1  # one fetch for the five unknown tokens
    assert len(upstream.seen) == 20


@pytest.mark.parametrize("scope", [1, {"a": 1}, [1, 2], None, True])
async def test_a_scope_of_the_wrong_type_is_401(
    authority: Authority, oauth2: Any, upstream: Upstream, http: aiohttp.ClientSession,
    scope: Any,
) -> None:  # fmt: skip
    async with serving(oauth2.create_app()) as base:
        async with http.get(base + "/items", headers=_bearer(authority.token(scope=scope))) as resp:
            assert resp.status in (401, 403) if scope is None else resp.status == 401
            assert resp.headers["WWW-Authenticate"].startswith("Bearer ")
        answer = await raw_request(base, _raw_get("/items", b"Authorization: Bearer " + BAD_BYTES))
        assert _status(answer) == 401
    assert upstream.seen == []
