"""Upstream authentication: bearer, basic, apikey in a header or the query (and the
`{in, name, value}` / `{header, key}` spellings), digest (a real challenge/response), with
secrets from {{VAR}}, {{bindNs.VAR}}, {{env.VAR}} and a `file://./secrets.yaml` bind file."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from tests.features.upstream import (
    FIXTURES,
    ApiKeyHeader,
    ApiKeyQuery,
    Basic,
    Bearer,
    Digest,
    FakeUpstream,
    Harness,
    build_package,
    harness,
    mcp_json,
)

pytestmark = pytest.mark.anyio

SPEC = FIXTURES / "auth" / "feat_auth.yaml"
ENV = {
    "FEAT_AUTH_BEARER": "bt-12ab.xyz",
    "FEAT_AUTH_BASIC_USER": "bob",
    "FEAT_AUTH_BASIC_PASS": "p@ss:w0rd",
    "FEAT_AUTH_QUERY_KEY": "qk/4+4=8",
}
# from tests/fixtures/features/auth/secrets.yaml
FILE = {
    "header-api-key": "hk-5544-feat",
    "digest-user": "dora",
    "digest-pass": "d1g3st:pa ss",
    "query-token": "qt 1&2=3",
    "header-token": "ht-0099",
}


def _fakes() -> dict[str, FakeUpstream]:
    return {
        "BEARER_API": FakeUpstream(Bearer(ENV["FEAT_AUTH_BEARER"]), name="bearer"),
        "BASIC_API": FakeUpstream(Basic("bob", "p@ss:w0rd"), name="basic"),
        "KEY_HEADER_API": FakeUpstream(
            ApiKeyHeader("X-Api-Key", FILE["header-api-key"]), name="key-header"
        ),
        "KEY_QUERY_API": FakeUpstream(
            ApiKeyQuery("api_key", ENV["FEAT_AUTH_QUERY_KEY"]), name="key-query"
        ),
        "KEY_IN_QUERY_API": FakeUpstream(
            ApiKeyQuery("token", FILE["query-token"]), name="key-in-query"
        ),
        "KEY_IN_HEADER_API": FakeUpstream(
            ApiKeyHeader("X-Access-Token", FILE["header-token"]), name="key-in-header"
        ),
        "KEY_HEADER_KEY_API": FakeUpstream(
            ApiKeyHeader("X-Auth-Key", FILE["header-api-key"]), name="key-header-key"
        ),
        "DIGEST_API": FakeUpstream(Digest(FILE["digest-user"], FILE["digest-pass"]), name="digest"),
    }


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Any:
    elsewhere = tmp_path_factory.mktemp("cwd")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(elsewhere)  # the bind file is found relative to the spec, not the CWD
        return build_package(SPEC.resolve(), tmp_path_factory.mktemp("auth"))


@pytest.fixture(scope="module")
async def h(built: Any) -> Any:
    elsewhere = FIXTURES.parent  # run from another directory too
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(elsewhere)
        async with harness(built, _fakes(), env=ENV) as running:
            yield running


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


# (case, fake prefix, REST path, tool, expected auth headers, expected query)
CASES: list[tuple[str, str, str, str, dict[str, str], list[tuple[str, str]]]] = [
    ("bearer-VAR", "BEARER_API", "/bearer", "bearer", {"Authorization": "Bearer bt-12ab.xyz"}, []),
    (
        "basic-bindNs.VAR",
        "BASIC_API",
        "/basic",
        "basic",
        {"Authorization": _basic("bob", "p@ss:w0rd")},
        [],
    ),
    (
        "apikey-header-file",
        "KEY_HEADER_API",
        "/key-header",
        "key-header",
        {"X-Api-Key": "hk-5544-feat"},
        [],
    ),
    (
        "apikey-query-env.VAR",
        "KEY_QUERY_API",
        "/key-query",
        "key-query",
        {},
        [("api_key", "qk/4+4=8")],
    ),
    (
        "apikey-in-name-query",
        "KEY_IN_QUERY_API",
        "/key-in-query",
        "key-in-query",
        {},
        [("token", "qt 1&2=3")],
    ),
    (
        "apikey-in-name-header",
        "KEY_IN_HEADER_API",
        "/key-in-header",
        "key-in-header",
        {"X-Access-Token": "ht-0099"},
        [],
    ),
    (
        "apikey-header-key",
        "KEY_HEADER_KEY_API",
        "/key-header-key",
        "key-header-key",
        {"X-Auth-Key": "hk-5544-feat"},
        [],
    ),
]
AUTH_HEADERS = {"Authorization", "X-Api-Key", "X-Access-Token", "X-Auth-Key"}


def _check(h: Harness, prefix: str, headers: dict[str, str], query: list[tuple[str, str]]) -> None:
    for other, fake in h.fakes.items():
        if other != prefix:
            assert fake.requests == [], f"{other} was called"
    fake = h.fakes[prefix]
    assert all(r.authorized for r in fake.requests)
    seen = fake.only()
    assert (seen.method, seen.raw_path) == ("GET", "/whoami")
    assert seen.query == query
    for name, value in headers.items():
        assert seen.headers.getall(name) == [value]
    for name in AUTH_HEADERS - set(headers):
        assert name not in seen.headers, name


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
async def test_auth_through_rest(h: Harness, case: tuple[Any, ...]) -> None:
    _, prefix, path, _, headers, query = case
    reply = {"user": prefix}
    h.fakes[prefix].expect("GET", "/whoami", reply=reply)
    got = await h.rest("GET", path)
    _check(h, prefix, headers, query)
    assert (got.status, got.json) == (200, reply)


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
async def test_auth_through_mcp(h: Harness, case: tuple[Any, ...]) -> None:
    _, prefix, _, tool, headers, query = case
    reply = {"user": prefix}
    h.fakes[prefix].expect("GET", "/whoami", reply=reply)
    result = await h.tool(tool)
    _check(h, prefix, headers, query)
    assert mcp_json(result) == reply


async def test_query_apikey_kept_beside_other_query_params(h: Harness) -> None:
    fake = h.fakes["KEY_QUERY_API"]
    fake.expect("GET", "/whoami", reply={})
    await h.rest("GET", "/key-query?page=2")
    assert sorted(fake.only().query) == [("api_key", "qk/4+4=8"), ("page", "2")]


def _digest_fields(seen: Any) -> dict[str, str]:
    return Digest.parse(seen.headers["Authorization"])


async def test_digest_get_through_rest_and_mcp(h: Harness) -> None:
    fake = h.fakes["DIGEST_API"]
    digest: Digest = fake.auth
    fake.expect("GET", "/whoami", query=[("verbose", "1")], reply={"user": "dora"})
    got = await h.rest("GET", "/digest?verbose=1")
    assert (got.status, got.json) == (200, {"user": "dora"})
    seen = fake.only()
    fields = _digest_fields(seen)
    assert fields["username"] == "dora"
    assert fields["uri"] == "/whoami?verbose=1"
    assert fields["realm"] == digest.realm
    # every unauthenticated attempt was answered with a challenge
    assert len(fake.requests) - len(fake.authorized()) <= digest.challenges
    assert digest.challenges >= 1

    fake.clear()
    result = await h.tool("digest", {"verbose": "1"})
    assert mcp_json(result) == {"user": "dora"}
    assert _digest_fields(fake.only())["username"] == "dora"


async def test_digest_post_resends_body(h: Harness) -> None:
    fake = h.fakes["DIGEST_API"]
    note = {"text": "check the bilge pump", "tags": ["engine"]}
    fake.expect("POST", "/notes", json_body=note, status=201, reply={"id": "n-1"})
    got = await h.rest("POST", "/digest/notes", json_body=note)
    assert (got.status, got.json) == (201, {"id": "n-1"})
    seen = fake.only()
    assert seen.json == note
    assert _digest_fields(seen)["uri"] == "/notes"
    fake.clear()
    result = await h.tool("digest-note", {"body": note})
    assert mcp_json(result) == {"id": "n-1"}
    assert fake.only().json == note


async def test_wrong_secret_gives_upstream_401(built: Any) -> None:
    env = dict(ENV, FEAT_AUTH_BEARER="not-the-token")
    async with harness(built, _fakes(), env=env, rest=False) as running:
        running.fakes["BEARER_API"].expect("GET", "/whoami", reply={})
        result = await running.tool("bearer")
        assert result.is_error
        assert "401" in result.content[0].text
        (seen,) = running.fakes["BEARER_API"].requests
        assert seen.headers["Authorization"] == "Bearer not-the-token"


@pytest.mark.parametrize("missing", sorted(ENV))
def test_missing_secret_fails_at_startup(
    built: Any, monkeypatch: pytest.MonkeyPatch, missing: str
) -> None:
    for key, value in ENV.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv(missing)
    with pytest.raises(built.rest.rt.ConfigError, match=missing):
        built.rest.create_app()
    with pytest.raises(built.mcp.rt.ConfigError, match=missing):
        built.mcp.create_app()


def test_secrets_loaded_from_bind_file(built: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(FIXTURES.parent.parent)
    config = built.rest.upstream.load_config(environ=ENV)
    assert set(FILE.values()) <= set(config.secrets.values())
