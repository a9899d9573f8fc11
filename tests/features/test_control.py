"""Control adapter and exposed authentication, over real HTTP.

- the control server runs the spec's REST and MCP servers in its process: /health/live,
  /health/ready, /status, and /metrics counting served requests and upstream calls per operation;
- basic, apikey and bearer callers: 401 with the right WWW-Authenticate on REST and MCP;
- oauth2 resource servers: JWTs (RS256, ES256) against a JWKS served by a local authorization
  server (jwksUri on REST, metadata discovery on MCP): valid → 200; expired, wrong audience,
  wrong signature, unknown key, missing scope → 401/403 and nothing forwarded upstream;
  the Protected Resource Metadata document (RFC 9728).
"""

from __future__ import annotations

import base64
import json
import re
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import jwt
import pytest
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from tests.features.upstream import FIXTURES, FakeUpstream, build_package, run_fake
from tests.support import import_module, serve_aiohttp, serve_asgi

pytestmark = pytest.mark.anyio

CONTROL_SPEC = FIXTURES / "control" / "feat_control.yaml"
OAUTH2_SPEC = FIXTURES / "control" / "feat_oauth2.yaml.in"
ENV = {
    "FEAT_CTL_REST_USER": "ops",
    "FEAT_CTL_REST_PASS": "s3cret:pw",
    "FEAT_CTL_KEY": "key-123",
    "FEAT_CTL_TOKEN": "tok-456",
}
BASIC = "Basic " + base64.b64encode(b"ops:s3cret:pw").decode()


async def get(url: str, headers: dict[str, str] | None = None, **kw: Any) -> tuple[int, Any, Any]:
    async with aiohttp.ClientSession() as session:
        async with session.request(kw.pop("method", "GET"), url, headers=headers, **kw) as r:
            body = await r.read()
            try:
                data: Any = json.loads(body)
            except ValueError:
                data = body.decode()
            return r.status, r.headers, data


def mcp_call(name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    return {
        "jsonrpc": "2.0", "id": 1, "method": "tools/call",
        "params": {"name": name, "arguments": arguments},
    }  # fmt: skip


MCP_HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


# -- control ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def control_pkg(tmp_path_factory: pytest.TempPathFactory) -> Any:
    out = tmp_path_factory.mktemp("control")
    built = build_package(CONTROL_SPEC, out, rest=True, mcp=False)
    return import_module(out, built.package, "control_server")


@asynccontextmanager
async def control_stack(control_pkg: Any) -> AsyncIterator[tuple[FakeUpstream, list[str]]]:
    fake = FakeUpstream(name="items")
    with pytest.MonkeyPatch.context() as mp:
        async with run_fake(fake):
            mp.setenv("ITEMS_API_BASE_URL", fake.base_url)
            for k, v in ENV.items():
                mp.setenv(k, v)
            control, app = control_pkg.create(None, [0, 0, 0, 0])
            ports = await control.start(app, "127.0.0.1", 0)
            try:
                yield fake, [f"http://127.0.0.1:{p}" for p in ports]
            finally:
                await control.stop()


def metric(text: str, name: str, **labels: str) -> float:
    wanted = ",".join(f'{k}="{v}"' for k, v in labels.items())
    for line in text.splitlines():
        if line.startswith(name + "{") and wanted in line:
            return float(line.rsplit(" ", 1)[1])
    return 0.0


async def test_control_probes_status_and_metrics(control_pkg: Any) -> None:
    async with control_stack(control_pkg) as (fake, urls):
        control, rest_basic, rest_key, mcp, _mcp_basic = urls
        assert (await get(control + "/health/live"))[:3:2] == (200, {"status": "ok"})
        status, _, ready = await get(control + "/health/ready")
        assert status == 200 and ready["status"] == "ready", ready
        status, _, info = await get(control + "/status")
        assert status == 200
        assert info["capability"] == "Control feature" and info["version"] == "1.0.0"
        assert {a["type"] for a in info["adapters"]} == {"rest", "mcp", "control"}
        assert isinstance(info["uptime"], float)

        fake.expect("GET", "/items", reply=[{"id": "a"}])
        fake.expect("GET", "/items/a", reply={"id": "a"})
        fake.expect("GET", "/items/zz", status=404, reply={"error": "no"})
        for path in ("/items", "/items", "/items/a", "/items/zz"):
            await get(rest_basic + path, {"Authorization": BASIC})
        assert (await get(rest_basic + "/nowhere", {"Authorization": BASIC}))[0] == 404
        await get(rest_key + "/items", {"X-Api-Key": ENV["FEAT_CTL_KEY"]})
        auth = {"Authorization": f"Bearer {ENV['FEAT_CTL_TOKEN']}"} | MCP_HEADERS
        status, _, answer = await get(
            mcp + "/mcp", auth, method="POST", json=mcp_call("get-item", {"itemId": "a"})
        )
        assert status == 200 and not answer["result"].get("isError"), answer

        status, headers, text = await get(control + "/metrics")
        assert status == 200 and headers["Content-Type"].startswith("text/plain")
        served = "naftiko_served_requests_total"
        rest = {"server": "rest", "adapter": "rest-basic"}
        assert metric(text, served, **rest, operation="GET /items") == 2
        assert metric(text, served, **rest, operation="GET /items/{itemId}") == 2
        assert (
            metric(text, "naftiko_served_errors_total", **rest, operation="GET /items/{itemId}")
            == 1
        )
        assert metric(text, served, server="rest", adapter="rest-key", operation="GET /items") == 1
        assert metric(text, served, **rest, operation="unmatched") == 1  # one label for all 404s
        assert metric(text, served, server="mcp", adapter="tools", operation="get-item") == 1
        up = {"upstream": "items-api"}
        assert metric(text, "naftiko_upstream_requests_total", **up, operation="list-items") == 3
        assert metric(text, "naftiko_upstream_requests_total", **up, operation="get-item") == 3
        assert metric(text, "naftiko_upstream_errors_total", **up, operation="get-item") == 1
        count = metric(text, "naftiko_upstream_duration_seconds_count", **up, operation="get-item")
        assert count == 3
        assert re.search(r'naftiko_upstream_duration_seconds_bucket\{[^}]*le="\+Inf"\} 3', text)

        # one more REST call: the counter moves
        await get(rest_basic + "/items", {"Authorization": BASIC})
        text = (await get(control + "/metrics"))[2]
        assert metric(text, served, **rest, operation="GET /items") == 3


async def test_exposed_auth_challenges(control_pkg: Any) -> None:
    async with control_stack(control_pkg) as (fake, urls):
        _control, rest_basic, rest_key, mcp, mcp_basic = urls
        fake.expect("GET", "/items", reply=[])
        status, headers, _ = await get(rest_basic + "/items")
        assert status == 401 and headers["WWW-Authenticate"].startswith("Basic realm=")
        status, headers, _ = await get(
            rest_basic + "/items", {"Authorization": "Basic Zm9vOmJhcg=="}
        )
        assert status == 401 and headers["WWW-Authenticate"].startswith("Basic realm=")
        status, headers, _ = await get(rest_key + "/items", {"X-Api-Key": "wrong"})
        assert status == 401 and "WWW-Authenticate" in headers
        assert (await get(rest_key + "/items", {"X-Api-Key": ENV["FEAT_CTL_KEY"]}))[0] == 200
        call = mcp_call("list-items", {})
        status, headers, _ = await get(mcp + "/mcp", MCP_HEADERS, method="POST", json=call)
        assert status == 401 and headers["WWW-Authenticate"] == "Bearer"
        wrong = MCP_HEADERS | {"Authorization": "Bearer nope"}
        assert (await get(mcp + "/mcp", wrong, method="POST", json=call))[0] == 401
        status, headers, _ = await get(mcp_basic + "/mcp", MCP_HEADERS, method="POST", json=call)
        assert status == 401 and headers["WWW-Authenticate"].startswith("Basic realm=")
        ok = MCP_HEADERS | {"Authorization": BASIC}
        assert (await get(mcp_basic + "/mcp", ok, method="POST", json=call))[0] == 200
        assert len(fake.authorized()) == 2  # only the two accepted calls went upstream
        # The docs page and its files are open like /openapi.json; the calls made from it are not.
        for path in ("/docs", "/docs/init.js", "/docs/swagger-ui.css", "/openapi.json"):
            assert (await get(rest_basic + path))[0] == 200, path
        assert (await get(rest_basic + "/docs/nope"))[0] == 404


# -- oauth2 -------------------------------------------------------------------------------------


class AuthServer:
    """A local authorization server: RFC 8414 metadata and a JWKS (one RSA and one EC key)."""

    def __init__(self) -> None:
        self.rsa = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.ec = ec.generate_private_key(ec.SECP256R1())
        self.url = ""
        self.jwks_fetches = 0

    def jwks(self) -> dict[str, Any]:
        keys = []
        for kid, key, alg in (("rsa-1", self.rsa, "RS256"), ("ec-1", self.ec, "ES256")):
            algorithm = jwt.get_algorithm_by_name(alg)
            jwk = json.loads(algorithm.to_jwk(key.public_key()))  # type: ignore[attr-defined]
            keys.append(jwk | {"kid": kid, "use": "sig", "alg": alg})
        return {"keys": keys}

    def app(self) -> web.Application:
        async def metadata(request: web.Request) -> web.Response:
            return web.json_response({"issuer": self.url, "jwks_uri": self.url + "/jwks"})

        async def jwks(request: web.Request) -> web.Response:
            self.jwks_fetches += 1
            return web.json_response(self.jwks())

        app = web.Application()
        app.router.add_get("/.well-known/oauth-authorization-server", metadata)
        app.router.add_get("/jwks", jwks)
        return app

    def token(self, aud: str, *, kid: str = "rsa-1", key: Any = None, **claims: Any) -> str:
        now = int(time.time())
        body = {"iss": self.url, "aud": aud, "iat": now, "exp": now + 300, "scope": "items.read"}
        body.update(claims)
        alg = "ES256" if kid.startswith("ec") else "RS256"
        signer = key or (self.ec if alg == "ES256" else self.rsa)
        return jwt.encode(body, signer, algorithm=alg, headers={"kid": kid})


@pytest.fixture(scope="module")
async def oauth2_stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Any]:
    server = AuthServer()
    fake = FakeUpstream(name="items")
    async with serve_aiohttp(server.app()) as as_url, run_fake(fake):
        server.url = as_url
        folder = tmp_path_factory.mktemp("oauth2")
        spec = folder / "feat_oauth2.yaml"
        text = OAUTH2_SPEC.read_text().replace("AS_URL", as_url)
        spec.write_text(text.replace("JWKS_LINE", f"jwksUri: {as_url}/jwks"))
        built = build_package(spec, folder / "out")
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("ITEMS_API_BASE_URL", fake.base_url)
            assert built.rest is not None and built.mcp is not None
            async with (
                serve_aiohttp(built.rest.create_app()) as rest,
                serve_asgi(built.mcp.create_app()) as mcp,
            ):
                yield server, fake, rest, mcp


REST_AUD = "https://api.example.com"
MCP_AUD = "https://mcp.example.com/mcp"


async def test_oauth2_rest(oauth2_stack: Any) -> None:
    server, fake, rest, _mcp = oauth2_stack
    fake.expect("GET", "/items", reply=[{"id": 1}])
    fake.clear()
    bearer = lambda t: {"Authorization": f"Bearer {t}"}  # noqa: E731
    status, _, body = await get(rest + "/items", bearer(server.token(REST_AUD)))
    assert status == 200 and body == [{"id": 1}]
    status, _, _ = await get(rest + "/items", bearer(server.token(REST_AUD, kid="ec-1")))
    assert status == 200
    assert len(fake.authorized()) == 2
    fake.clear()
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    refused = {
        "expired": (server.token(REST_AUD, exp=int(time.time()) - 3600), 401, "invalid_token"),
        "audience": (server.token("https://elsewhere.example.com"), 401, "invalid_token"),
        "signature": (server.token(REST_AUD, key=other), 401, "invalid_token"),
        "unknown kid": (server.token(REST_AUD, kid="rsa-9", key=other), 401, "invalid_token"),
        "issuer": (server.token(REST_AUD, iss="https://evil.example.com"), 401, "invalid_token"),
        "scope": (server.token(REST_AUD, scope="other"), 403, "insufficient_scope"),
        "not a jwt": ("abc.def", 401, "invalid_token"),
    }
    metadata_url = "https://api.example.com/.well-known/oauth-protected-resource/v1"
    for case, (token, code, error) in refused.items():
        status, headers, _ = await get(rest + "/items", bearer(token))
        challenge = headers.get("WWW-Authenticate", "")
        assert status == code, case
        assert challenge.startswith("Bearer ") and f'error="{error}"' in challenge, case
        assert f'resource_metadata="{metadata_url}"' in challenge, case
    status, headers, _ = await get(rest + "/items")
    assert status == 401 and "error=" not in headers["WWW-Authenticate"]
    assert fake.requests == []  # nothing refused went upstream
    assert (await get(rest + "/health"))[0] == 200
    status, headers, page = await get(rest + "/docs")  # open, as /openapi.json
    assert status == 200 and headers["Content-Type"].startswith("text/html"), page
    assert (await get(rest + "/docs/swagger-ui-bundle.js"))[0] == 200
    status, _, document = await get(rest + "/.well-known/oauth-protected-resource/v1")
    assert status == 200 and document["resource"] == "https://api.example.com/v1"


async def test_oauth2_mcp_and_metadata(oauth2_stack: Any) -> None:
    server, fake, _rest, mcp = oauth2_stack
    fake.expect("GET", "/items", reply=[{"id": 1}])
    fake.clear()
    call = mcp_call("list-items", {})
    status, _, document = await get(mcp + "/.well-known/oauth-protected-resource")
    assert status == 200
    assert document == {
        "resource": MCP_AUD,
        "authorization_servers": [server.url],
        "bearer_methods_supported": ["header"],
        "scopes_supported": ["items.read"],
    }
    assert (await get(mcp + "/.well-known/oauth-protected-resource/mcp"))[2] == document
    status, headers, _ = await get(mcp + "/mcp", MCP_HEADERS, method="POST", json=call)
    assert status == 401
    challenge = headers["WWW-Authenticate"]
    assert challenge.startswith("Bearer ")
    assert (
        'resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource/mcp"'
        in challenge
    )
    good = MCP_HEADERS | {"Authorization": f"Bearer {server.token(MCP_AUD)}"}
    status, _, answer = await get(mcp + "/mcp", good, method="POST", json=call)
    assert status == 200 and not answer["result"].get("isError"), answer
    for token, code in (
        (server.token(REST_AUD), 401),  # meant for the REST API
        (server.token(MCP_AUD, scope=""), 403),
        (server.token(MCP_AUD, exp=int(time.time()) - 600), 401),
    ):
        headers_ = MCP_HEADERS | {"Authorization": f"Bearer {token}"}
        assert (await get(mcp + "/mcp", headers_, method="POST", json=call))[0] == code
    assert len(fake.authorized()) == 1


def test_oauth2_jwks_file(tmp_path: Path) -> None:
    """A JWKS file beside the spec: read at start-up, a token signed with its key passes."""
    server = AuthServer()
    server.url = "https://as.example.com"
    (tmp_path / "keys.json").write_text(json.dumps(server.jwks()))
    text = OAUTH2_SPEC.read_text().replace("AS_URL", server.url)
    spec = tmp_path / "feat_oauth2.yaml"
    spec.write_text(text.replace("JWKS_LINE", "jwks: ./keys.json"))
    built = build_package(spec, tmp_path / "out", mcp=False)
    module = import_module(tmp_path / "out", built.package, "_oauth2")
    checks = module.ResourceServer(
        server.url, "https://api.example.com/v1", REST_AUD, ("items.read",),
        jwks_file="../../keys.json",
    )  # fmt: skip
    import asyncio

    claims = asyncio.run(checks.check({"Authorization": f"Bearer {server.token(REST_AUD)}"}))
    assert claims is not None and claims["aud"] == REST_AUD
    source = (tmp_path / "out" / built.package / "rest_server.py").read_text()
    assert 'jwks_file="../../keys.json"' in source


EXPOSED_SPEC = """\
naftiko: "1.0.0-alpha2"
info:
  label: Exposed control
  description: An unauthenticated REST server on every interface, run by the control server.
capability:
  consumes:
    - type: http
      namespace: items-api
      baseUri: https://items.example.com
      resources:
        - name: items
          path: /items
          operations:
            - name: list-items
              method: GET
  exposes:
    - type: rest
      namespace: open
      address: 0.0.0.0
      port: {rest_port}
      resources:
        - path: /items
          operations:
            - method: GET
              call: items-api.list-items
    - type: control
      port: {control_port}
"""


def test_the_control_server_applies_the_exposure_rule_to_the_servers_it_runs(
    tmp_path: Path,
) -> None:
    """Run alone, that REST server refuses 0.0.0.0 without --allow-unauthenticated; run by the
    control server (on loopback itself), it must refuse just the same."""
    import socket
    import subprocess
    import sys
    import time

    from tests.support import build, free_ports

    ports = free_ports(2)
    spec = tmp_path / "exposed_control.yaml"
    spec.write_text(EXPOSED_SPEC.format(rest_port=ports[0], control_port=ports[1]), "utf-8")
    package = build(spec, tmp_path / "out")
    command = [sys.executable, "-m", f"{package}.control_server", "--host", "127.0.0.1"]
    refused = subprocess.run(
        command, cwd=tmp_path / "out", capture_output=True, text=True, timeout=60
    )
    assert refused.returncode != 0
    assert "refusing to listen on 0.0.0.0 without caller authentication" in refused.stderr
    assert "Traceback" not in refused.stderr
    allowed = subprocess.Popen(
        [*command, "--allow-unauthenticated"],
        cwd=tmp_path / "out",
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and allowed.poll() is None:
            try:
                socket.create_connection(("127.0.0.1", ports[0]), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        assert allowed.poll() is None, allowed.stderr.read() if allowed.stderr else ""
    finally:
        allowed.terminate()
        _, err = allowed.communicate(timeout=10)
    assert "warning: listening on 0.0.0.0, reachable from other machines" in err
