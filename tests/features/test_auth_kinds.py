"""Signed upstream authentication, driven through REST and MCP against fakes that verify the
exact signature: OAuth 1.0a HMAC-SHA1 and RSA-SHA256 with body hash (verified with oauthlib),
AWS SigV4 (recomputed with botocore), HMAC over a described string (recomputed), and api keys
spelled `type: header` / `type: query` or placed in the body."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

import pytest
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.features.upstream import (
    FIXTURES,
    FakeUpstream,
    Harness,
    Stack,
    harness,
    mcp_json,
)

pytestmark = pytest.mark.anyio

SPEC = FIXTURES / "auth_kinds" / "feat_auth_kinds.yaml"
_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
PRIVATE_PEM = _KEY.private_bytes(
    serialization.Encoding.PEM,
    serialization.PrivateFormat.PKCS8,
    serialization.NoEncryption(),
).decode()
PUBLIC_PEM = (
    _KEY.public_key()
    .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    .decode()
)
SECRETS = {
    "OAUTH_CONSUMER_KEY": "ck-photos",
    "OAUTH_CONSUMER_SECRET": "cs/+=&secret",
    "OAUTH_TOKEN": "tok-42",
    "OAUTH_TOKEN_SECRET": "ts:with space",
    "RSA_CONSUMER_KEY": "mc-consumer!key",
    "RSA_PRIVATE_KEY": PRIVATE_PEM,
    "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE",
    "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
    "AWS_SESSION_TOKEN": "session/token+1",
    "HMAC_SECRET": "hm@c-secret",
    "HEADER_KEY": "hk-1",
    "QUERY_KEY": "qk 2/+",
    "BODY_KEY": "bk-3",
}
ENV = {f"FEAT_KINDS_{k}": v for k, v in SECRETS.items()}

Verify = Callable[[web.Request, bytes], str | None]  # a problem, or None when it verifies


class VerifyingFake(FakeUpstream):
    """A fake upstream that checks each request's signature before anything else."""

    def __init__(self, verify: Verify, name: str) -> None:
        super().__init__(None, name)
        self.verify = verify
        self.rejected: list[str] = []

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._verified)
        return app

    async def _verified(self, request: web.Request) -> web.StreamResponse:
        problem = self.verify(request, await request.read())
        if problem is not None:
            self.rejected.append(problem)
            return web.json_response({"fake": problem}, status=401)
        return await self._handle(request)


# -- verifiers ---------------------------------------------------------------------------------


def _is_form(request: web.Request) -> bool:
    return request.content_type == "application/x-www-form-urlencoded"


def _oauth_fields(request: web.Request) -> dict[str, str]:
    from oauthlib.oauth1.rfc5849 import utils

    header = request.headers.get("Authorization", "")
    if not header.startswith("OAuth "):
        return {}
    return {k: utils.unescape(v) for k, v in utils.parse_authorization_header(header)}


def oauth1_verifier(method: str, key: str, secret: str = "", token: str = "", token_secret: str = "",
                    public_key: str = "", realm: str | None = None) -> Verify:  # fmt: skip
    from oauthlib.common import Request
    from oauthlib.oauth1.rfc5849 import signature

    def verify(request: web.Request, body: bytes) -> str | None:
        fields = _oauth_fields(request)
        if not fields:
            return "no OAuth Authorization header"
        expected = {
            "oauth_consumer_key": key,
            "oauth_signature_method": method,
            "oauth_version": "1.0",
        }
        if token:
            expected["oauth_token"] = token
        for name, value in expected.items():
            if fields.get(name) != value:
                return f"{name} is {fields.get(name)!r}, not {value!r}"
        if fields.get("realm") != realm:
            return f"realm {fields.get('realm')!r}"
        if abs(int(fields["oauth_timestamp"]) - time.time()) > 60:
            return "stale timestamp"
        digest = "sha256" if method.endswith("SHA256") else "sha1"
        body_hash = base64.b64encode(hashlib.new(digest, body).digest()).decode()
        if _is_form(request):
            if "oauth_body_hash" in fields:
                return "oauth_body_hash on a form body"
        elif fields.get("oauth_body_hash") != body_hash:
            return f"oauth_body_hash {fields.get('oauth_body_hash')!r} != {body_hash!r}"
        form = body.decode() if _is_form(request) else None
        req = Request(str(request.url), request.method, form, dict(request.headers))
        req.params = signature.collect_parameters(
            uri_query=request.url.raw_query_string,
            body=form,
            headers={"Authorization": request.headers["Authorization"]},
        )
        req.signature = fields["oauth_signature"]
        if method == "HMAC-SHA1":
            ok = signature.verify_hmac_sha1(req, secret, token_secret)
        else:
            ok = signature.verify_rsa_sha256(req, public_key)
        return None if ok else "OAuth signature does not verify"

    return verify


def sigv4_verifier(
    access_key: str, secret_key: str, token: str, region: str, service: str
) -> Verify:
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    def verify(request: web.Request, body: bytes) -> str | None:
        header = request.headers.get("Authorization", "")
        if not header.startswith("AWS4-HMAC-SHA256 "):
            return "no SigV4 Authorization header"
        parts = dict(p.strip().split("=", 1) for p in header[len("AWS4-HMAC-SHA256 ") :].split(","))
        stamp = request.headers.get("X-Amz-Date", "")
        if request.headers.get("X-Amz-Security-Token") != token:
            return "session token missing"
        scope = f"{access_key}/{stamp[:8]}/{region}/{service}/aws4_request"
        if parts["Credential"] != scope:
            return f"credential scope {parts['Credential']!r} != {scope!r}"
        signed = parts["SignedHeaders"].split(";")
        if "host" not in signed or "x-amz-date" not in signed:
            return f"signed headers {signed}"
        # botocore recomputes the signature over the request as received, signed headers only.
        headers = {name: request.headers[name] for name in signed if name != "host"}
        headers["Host"] = request.headers["Host"]
        aws = AWSRequest(method=request.method, url=str(request.url), headers=headers, data=body)
        aws.context["timestamp"] = stamp
        auth = SigV4Auth(Credentials(access_key, secret_key, token), service, region)
        if auth.signed_headers(auth.headers_to_sign(aws)) != parts["SignedHeaders"]:
            return "botocore signs other headers"
        canonical = auth.canonical_request(aws)
        expected = auth.signature(auth.string_to_sign(aws, canonical), aws)
        return None if hmac.compare_digest(expected, parts["Signature"]) else "SigV4 mismatch"

    return verify


def hmac_verifier(secret: str) -> Verify:
    def verify(request: web.Request, body: bytes) -> str | None:
        stamp = request.headers.get("X-Timestamp", "")
        if not stamp.isdigit() or abs(int(stamp) - time.time()) > 60:
            return f"bad X-Timestamp {stamp!r}"
        path, _, query = request.raw_path.partition("?")
        message = f"{request.method}\n{path}\n{query}\n{stamp}\n".encode() + body
        expected = "sha256=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
        got = request.headers.get("X-Signature", "")
        return None if hmac.compare_digest(got, expected) else f"HMAC {got!r} != {expected!r}"

    return verify


def key_verifier(where: str, name: str, value: str) -> Verify:
    def verify(request: web.Request, body: bytes) -> str | None:
        if where == "header":
            got = request.headers.getall(name, [])
        elif where == "query":
            got = request.query.getall(name, [])
        elif _is_form(request):
            got = [v for k, v in parse_qsl(body.decode()) if k == name]
        else:
            got = [json.loads(body).get(name)] if body else []
        return None if got == [value] else f"api key in {where}: {got!r}"

    return verify


def _fakes() -> dict[str, VerifyingFake]:
    s = SECRETS
    verifiers: dict[str, Verify] = {
        "OAUTH1_HMAC_API": oauth1_verifier(
            "HMAC-SHA1",
            s["OAUTH_CONSUMER_KEY"],
            s["OAUTH_CONSUMER_SECRET"],
            s["OAUTH_TOKEN"],
            s["OAUTH_TOKEN_SECRET"],
            realm="Photos",
        ),
        "OAUTH1_RSA_API": oauth1_verifier(
            "RSA-SHA256", s["RSA_CONSUMER_KEY"], public_key=PUBLIC_PEM
        ),
        "SIGV4_API": sigv4_verifier(
            s["AWS_ACCESS_KEY_ID"],
            s["AWS_SECRET_ACCESS_KEY"],
            s["AWS_SESSION_TOKEN"],
            "eu-west-3",
            "execute-api",
        ),
        "HMAC_API": hmac_verifier(s["HMAC_SECRET"]),
        "KEY_HEADER_API": key_verifier("header", "X-Api-Key", s["HEADER_KEY"]),
        "KEY_QUERY_API": key_verifier("query", "api_key", s["QUERY_KEY"]),
        "KEY_BODY_API": key_verifier("body", "api_key", s["BODY_KEY"]),
    }
    return {prefix: VerifyingFake(v, prefix.lower()) for prefix, v in verifiers.items()}


STACK = Stack(SPEC, _fakes, env=ENV)


@pytest.fixture(autouse=True)
def _reset(h: Harness) -> None:
    h.reset()
    for fake in h.fakes.values():
        assert isinstance(fake, VerifyingFake)
        fake.rejected.clear()


# (fake prefix, route and tool prefix, what the body carries besides the caller's fields)
KINDS = [
    ("OAUTH1_HMAC_API", "oauth1-hmac", {}),
    ("OAUTH1_RSA_API", "oauth1-rsa", {}),
    ("SIGV4_API", "sigv4", {}),
    ("HMAC_API", "hmac", {}),
    ("KEY_HEADER_API", "key-header", {}),
    ("KEY_QUERY_API", "key-query", {}),
    ("KEY_BODY_API", "key-body", {"api_key": SECRETS["BODY_KEY"]}),
]
IDS = [k[1] for k in KINDS]


def _accepted(h: Harness, prefix: str) -> Any:
    fake = h.fakes[prefix]
    assert isinstance(fake, VerifyingFake)
    assert fake.rejected == []
    for other, o in h.fakes.items():
        assert other == prefix or o.requests == [], f"{other} was called"
    return fake.only()


@pytest.mark.parametrize("kind", KINDS, ids=IDS)
async def test_get_with_query_through_rest_and_mcp(h: Harness, kind: tuple[Any, ...]) -> None:
    prefix, name, extra = kind
    fake = h.fakes[prefix]
    query = [("page", "2 & 3/4")]
    if prefix == "KEY_QUERY_API":
        query.append(("api_key", SECRETS["QUERY_KEY"]))
    fake.expect("GET", "/whoami", query=query, reply={"who": name})
    got = await h.rest("GET", f"/{name}?page=2%20%26%203%2F4")
    assert (got.status, got.json) == (200, {"who": name}), got.text
    seen = _accepted(h, prefix)
    if extra:
        assert seen.json == extra  # no body: a JSON object holding only the key
    fake.clear()
    result = await h.tool(name, {"page": "2 & 3/4"})
    assert mcp_json(result) == {"who": name}
    _accepted(h, prefix)


@pytest.mark.parametrize("kind", KINDS, ids=IDS)
async def test_json_body_through_rest_and_mcp(h: Harness, kind: tuple[Any, ...]) -> None:
    prefix, name, extra = kind
    fake = h.fakes[prefix]
    note = {"text": 'éte ☀ "quoted"', "tags": ["a", "b"], "n": 1.5}
    fake.expect("POST", "/notes/in%20box", json_body={**note, **extra}, status=201, reply={"id": 7})
    got = await h.rest("POST", f"/{name}/notes/in%20box", json_body=note)
    assert (got.status, got.json) == (201, {"id": 7}), got.text
    _accepted(h, prefix)
    fake.clear()
    result = await h.tool(f"{name}-note", {"folder": "in box", "body": note})
    assert mcp_json(result) == {"id": 7}
    _accepted(h, prefix)


@pytest.mark.parametrize("kind", KINDS, ids=IDS)
async def test_form_body_through_rest(h: Harness, kind: tuple[Any, ...]) -> None:
    prefix, name, extra = kind
    fake = h.fakes[prefix]
    form = [("name", "Zoë & co"), ("mode", "fast"), *extra.items()]
    fake.expect("POST", "/form", form_body=form, reply={"ok": True})
    got = await h.rest("POST", f"/{name}/form?name=Zo%C3%AB%20%26%20co")
    assert (got.status, got.json) == (200, {"ok": True}), got.text
    _accepted(h, prefix)


async def test_wrong_secret_is_rejected_by_the_upstream(built: Any) -> None:
    env = dict(ENV, FEAT_KINDS_AWS_SECRET_ACCESS_KEY="not-the-secret")
    async with harness(built, _fakes(), env=env, rest=False) as running:
        running.fakes["SIGV4_API"].expect("GET", "/whoami", reply={})
        result = await running.tool("sigv4")
        assert result.is_error
        fake = running.fakes["SIGV4_API"]
        assert isinstance(fake, VerifyingFake)
        assert fake.rejected == ["SigV4 mismatch"]


def test_pem_private_key_with_line_breaks_is_read_from_the_environment(
    built: Any,
) -> None:
    config = built.rest.upstream.load_config(environ=ENV)
    assert config.secrets["signing.RSA_PRIVATE_KEY"] == PRIVATE_PEM
    bad = dict(ENV, FEAT_KINDS_HMAC_SECRET="two\nlines")
    with pytest.raises(built.rest.rt.ConfigError, match="line break"):
        built.rest.upstream.load_config(environ=bad)
