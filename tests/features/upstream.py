"""Shared helpers for the feature tests: a validating, recording fake upstream, and runners
for the generated REST and MCP servers.

The fake upstream (``FakeUpstream``) is an aiohttp app on 127.0.0.1:0. Each route is declared
with ``expect(method, raw_path, ...)``; every request the fake receives is recorded (``.requests``)
*before* it is checked, then:

* authentication is checked first (bearer, basic, api key in header or query, digest with a real
  challenge): a failure answers 401 (digest: with a ``WWW-Authenticate: Digest`` challenge);
* an unknown (method, raw path) answers 404 ``{"fake": "no route ..."}``;
* declared expectations (exact query pairs, header values, JSON/text/form body, content type) are
  validated; a mismatch answers 400 ``{"fake_mismatch": [...]}`` so the test sees it;
* otherwise the declared reply is sent.

Tests then assert the recorded request field by field, and the response the caller got.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import parse_qsl

import aiohttp
from aiohttp import web
from multidict import CIMultiDict

from tests.support import build, import_module, serve_aiohttp, serve_asgi

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "features"

_UNSET: Any = object()


# -- what the fake saw -------------------------------------------------------------------------


@dataclass
class Seen:
    """One request as it reached the upstream."""

    method: str
    raw_path: str  # path only, percent-encoding kept as sent
    query_string: str  # raw query string as sent
    query: list[tuple[str, str]]  # decoded pairs, in order
    headers: CIMultiDict[str]
    cookies: dict[str, str]
    body: bytes
    authorized: bool = True
    problems: list[str] = field(default_factory=list)

    @property
    def content_type(self) -> str:
        return self.headers.get("Content-Type", "")

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")

    @property
    def form(self) -> list[tuple[str, str]]:
        return parse_qsl(self.body.decode("ascii"), keep_blank_values=True)

    def multipart(self) -> list[dict[str, Any]]:
        """The parts of a multipart/form-data body: name, filename, content_type, value."""
        from email.parser import BytesParser
        from email.policy import HTTP

        message = BytesParser(policy=HTTP).parsebytes(
            b"Content-Type: " + self.content_type.encode("latin-1") + b"\r\n\r\n" + self.body
        )
        assert message.is_multipart(), f"not multipart: {self.content_type!r}"
        parts = []
        for part in message.iter_parts():
            payload = part.get_payload(decode=True) or b""
            parts.append(
                {
                    "name": part.get_param("name", header="content-disposition"),
                    "filename": part.get_filename(),
                    "content_type": part.get_content_type(),
                    "explicit_type": "Content-Type" in part,
                    "value": payload.decode("utf-8"),
                }
            )
        return parts


# -- authentication the fake demands -----------------------------------------------------------


class Bearer:
    def __init__(self, token: str) -> None:
        self.token = token

    def check(self, request: web.Request) -> bool:
        return request.headers.get("Authorization") == f"Bearer {self.token}"


class Basic:
    def __init__(self, user: str, password: str) -> None:
        self.user, self.password = user, password

    def check(self, request: web.Request) -> bool:
        expected = base64.b64encode(f"{self.user}:{self.password}".encode()).decode()
        return request.headers.get("Authorization") == f"Basic {expected}"


class ApiKeyHeader:
    def __init__(self, name: str, value: str) -> None:
        self.name, self.value = name, value

    def check(self, request: web.Request) -> bool:
        return request.headers.getall(self.name, []) == [self.value]


class ApiKeyQuery:
    def __init__(self, name: str, value: str) -> None:
        self.name, self.value = name, value

    def check(self, request: web.Request) -> bool:
        return request.query.getall(self.name, []) == [self.value]


def _md5(text: str) -> str:
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


class Digest:
    """RFC 7616 digest (MD5, qop=auth) with server-issued nonces."""

    def __init__(self, user: str, password: str, realm: str = "fake-upstream") -> None:
        self.user, self.password, self.realm = user, password, realm
        self.nonces: set[str] = set()
        self.opaque = os.urandom(8).hex()
        self.challenges = 0
        self.verified = 0

    def challenge(self) -> str:
        nonce = os.urandom(12).hex()
        self.nonces.add(nonce)
        self.challenges += 1
        return (
            f'Digest realm="{self.realm}", nonce="{nonce}", qop="auth", '
            f'algorithm=MD5, opaque="{self.opaque}"'
        )

    @staticmethod
    def parse(header: str) -> dict[str, str]:
        scheme, _, rest = header.partition(" ")
        if scheme.lower() != "digest":
            return {}
        out: dict[str, str] = {}
        for part in _split_commas(rest):
            key, _, value = part.strip().partition("=")
            value = value.strip()
            if len(value) >= 2 and value[0] == value[-1] == '"':
                value = value[1:-1]
            out[key.strip().lower()] = value
        return out

    def check(self, request: web.Request) -> bool:
        fields = self.parse(request.headers.get("Authorization", ""))
        if not fields:
            return False
        if fields.get("username") != self.user or fields.get("realm") != self.realm:
            return False
        if fields.get("nonce") not in self.nonces or fields.get("opaque") != self.opaque:
            return False
        if fields.get("uri") != request.raw_path:  # raw path + query, as on the wire
            return False
        ha1 = _md5(f"{self.user}:{self.realm}:{self.password}")
        ha2 = _md5(f"{request.method}:{fields['uri']}")
        if fields.get("qop") == "auth":
            expected = _md5(
                f"{ha1}:{fields['nonce']}:{fields.get('nc', '')}:{fields.get('cnonce', '')}:auth:{ha2}"
            )
        else:
            expected = _md5(f"{ha1}:{fields['nonce']}:{ha2}")
        ok = fields.get("response") == expected
        self.verified += ok
        return ok


def _split_commas(text: str) -> list[str]:
    parts, buf, quoted = [], "", False
    for ch in text:
        if ch == '"':
            quoted = not quoted
        if ch == "," and not quoted:
            parts.append(buf)
            buf = ""
        else:
            buf += ch
    if buf.strip():
        parts.append(buf)
    return parts


# -- routes ------------------------------------------------------------------------------------


@dataclass
class Route:
    method: str
    path: str  # raw path, percent-encoding as expected on the wire
    query: list[tuple[str, str]] | None = None  # exact pairs (order-insensitive)
    headers: Mapping[str, str] | None = None  # must be present with exactly these values
    absent_headers: tuple[str, ...] = ()
    json_body: Any = _UNSET  # the body must parse to exactly this JSON
    text_body: str | None = None  # the body must be exactly this text
    form_body: list[tuple[str, str]] | None = None
    content_type: str | None = None  # request Content-Type must start with this
    no_body: bool = False
    status: int = 200
    reply: bytes = b"{}"
    reply_type: str = "application/json"
    delay: float = 0.0  # seconds to wait before answering
    reply_headers: Mapping[str, str] | None = None  # besides Content-Type (e.g. Cache-Control)


class FakeUpstream:
    """A validating, recording fake of an upstream HTTP API."""

    def __init__(self, auth: Any = None, name: str = "upstream") -> None:
        self.auth = auth
        self.name = name
        self.routes: dict[tuple[str, str], Route] = {}
        self.requests: list[Seen] = []
        self.base_url = ""

    # declaring routes

    def expect(
        self,
        method: str,
        path: str,
        *,
        query: Iterable[tuple[str, str]] | None = None,
        headers: Mapping[str, str] | None = None,
        absent_headers: Iterable[str] = (),
        json_body: Any = _UNSET,
        text_body: str | None = None,
        form_body: Iterable[tuple[str, str]] | None = None,
        content_type: str | None = None,
        no_body: bool = False,
        status: int = 200,
        reply: Any = _UNSET,
        reply_text: str | None = None,
        reply_type: str | None = None,
        delay: float = 0.0,
        reply_headers: Mapping[str, str] | None = None,
    ) -> Route:
        if reply_text is not None:
            body, ctype = reply_text.encode("utf-8"), reply_type or "text/plain; charset=utf-8"
        elif reply is _UNSET:
            body, ctype = b"{}", reply_type or "application/json"
        else:
            body, ctype = json.dumps(reply).encode("utf-8"), reply_type or "application/json"
        route = Route(
            method.upper(),
            path,
            query=list(query) if query is not None else None,
            headers=dict(headers) if headers is not None else None,
            absent_headers=tuple(absent_headers),
            json_body=json_body,
            text_body=text_body,
            form_body=list(form_body) if form_body is not None else None,
            content_type=content_type,
            no_body=no_body,
            status=status,
            reply=body,
            reply_type=ctype,
            delay=delay,
            reply_headers=reply_headers,
        )
        self.routes[(route.method, path)] = route
        return route

    # reading what was received

    def clear(self) -> None:
        self.requests.clear()

    def authorized(self) -> list[Seen]:
        return [r for r in self.requests if r.authorized]

    def only(self) -> Seen:
        """The single authorized request received since the last clear()."""
        seen = self.authorized()
        assert len(seen) == 1, f"{self.name}: expected exactly 1 request, got {len(seen)}: " + repr(
            [(r.method, r.raw_path, r.query_string) for r in self.requests]
        )
        assert not seen[0].problems, f"{self.name}: {seen[0].problems}"
        return seen[0]

    # serving

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        return app

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        raw = request.raw_path
        path, _, qs = raw.partition("?")
        seen = Seen(
            method=request.method,
            raw_path=path,
            query_string=qs,
            query=parse_qsl(qs, keep_blank_values=True),
            headers=CIMultiDict(request.headers),
            cookies=dict(request.cookies),
            body=body,
        )
        self.requests.append(seen)
        if self.auth is not None and not self.auth.check(request):
            seen.authorized = False
            headers = {}
            if isinstance(self.auth, Digest):
                headers["WWW-Authenticate"] = self.auth.challenge()
            return web.json_response({"fake": "unauthorized"}, status=401, headers=headers)
        route = self.routes.get((request.method, path))
        if route is None:
            seen.problems.append(f"no route for {request.method} {path}")
            return web.json_response({"fake": f"no route for {request.method} {path}"}, status=404)
        problems = self._validate(route, seen)
        if problems:
            seen.problems.extend(problems)
            return web.json_response({"fake_mismatch": problems}, status=400)
        if route.delay:
            await asyncio.sleep(route.delay)
        return web.Response(
            status=route.status,
            body=route.reply,
            headers={"Content-Type": route.reply_type, **(route.reply_headers or {})},
        )

    @staticmethod
    def _validate(route: Route, seen: Seen) -> list[str]:
        problems: list[str] = []
        if route.query is not None and sorted(seen.query) != sorted(route.query):
            problems.append(f"query {seen.query!r} != {route.query!r}")
        for name, value in (route.headers or {}).items():
            got = seen.headers.getall(name, [])
            if got != [value]:
                problems.append(f"header {name}: {got!r} != [{value!r}]")
        for name in route.absent_headers:
            if name in seen.headers:
                problems.append(f"header {name} should be absent, got {seen.headers[name]!r}")
        if route.content_type is not None and not seen.content_type.startswith(route.content_type):
            problems.append(f"content type {seen.content_type!r} !~ {route.content_type!r}")
        if route.no_body and seen.body:
            problems.append(f"unexpected body {seen.body!r}")
        if route.json_body is not _UNSET:
            try:
                got_json = json.loads(seen.body)
            except ValueError:
                problems.append(f"body is not JSON: {seen.body!r}")
            else:
                if got_json != route.json_body:
                    problems.append(f"JSON body {got_json!r} != {route.json_body!r}")
        if route.text_body is not None and seen.body.decode("utf-8", "replace") != route.text_body:
            problems.append(f"text body {seen.body!r} != {route.text_body!r}")
        if route.form_body is not None:
            got_form = parse_qsl(seen.body.decode("latin-1"), keep_blank_values=True)
            if got_form != route.form_body:
                problems.append(f"form body {got_form!r} != {route.form_body!r}")
        return problems


@asynccontextmanager
async def run_fake(fake: FakeUpstream) -> AsyncIterator[FakeUpstream]:
    async with serve_aiohttp(fake.app()) as url:
        fake.base_url = url
        yield fake


# -- the generated package ---------------------------------------------------------------------


@dataclass
class Built:
    package: str
    out_dir: Path
    rest: ModuleType | None
    mcp: ModuleType | None


def build_package(spec: Path, out_dir: Path, rest: bool = True, mcp: bool = True) -> Built:
    """Build spec into out_dir and import its rest_server and mcp_server modules."""
    package = build(spec, out_dir)
    rest_mod = import_module(out_dir, package, "rest_server") if rest else None
    mcp_mod = None
    if mcp:
        import importlib
        import sys

        sys.path.insert(0, str(out_dir))
        try:
            mcp_mod = importlib.import_module(f"{package}.mcp_server")
        finally:
            sys.path.remove(str(out_dir))
    return Built(package, out_dir, rest_mod, mcp_mod)


@asynccontextmanager
async def serve_rest(built: Built) -> AsyncIterator[str]:
    assert built.rest is not None
    async with serve_aiohttp(built.rest.create_app()) as url:
        yield url


@asynccontextmanager
async def serve_mcp(built: Built) -> AsyncIterator[str]:
    assert built.mcp is not None
    async with serve_asgi(built.mcp.create_app()) as url:
        yield url


@asynccontextmanager
async def serve_both(built: Built) -> AsyncIterator[tuple[str, str]]:
    """Start the generated REST and MCP servers (after the env vars are set)."""
    async with serve_rest(built) as rest_url, serve_mcp(built) as mcp_url:
        yield rest_url, mcp_url


@dataclass(frozen=True)
class Stack:
    """What a feature module serves: its spec, built once per module, and the fake upstreams
    (by env prefix) that its generated servers call. A module sets ``STACK = Stack(...)`` and
    its tests take ``h`` (tests/features/conftest.py), reset before each test."""

    spec: Path
    fakes: Callable[[], Mapping[str, FakeUpstream]]
    env: Mapping[str, str] | None = None
    base_paths: Mapping[str, str] | None = None
    rest: bool = True  # False: the spec exposes MCP only
    elsewhere: bool = False  # build with an unrelated CWD: relative files are the spec's


@dataclass
class Harness:
    """A running stack: fakes (by env prefix), the generated REST server and an MCP client."""

    rest_url: str
    mcp_url: str
    mcp: Any  # mcp.Client, connected to mcp_url + "/mcp"
    fakes: dict[str, FakeUpstream]

    def reset(self) -> None:
        for fake in self.fakes.values():
            fake.routes.clear()
            fake.requests.clear()

    @property
    def fake(self) -> FakeUpstream:
        assert len(self.fakes) == 1
        return next(iter(self.fakes.values()))

    async def rest(self, method: str, path: str, **kwargs: Any) -> Reply:
        return await rest_call(self.rest_url, method, path, **kwargs)

    async def tool(self, name: str, arguments: Mapping[str, Any] | None = None) -> Any:
        return await self.mcp.call_tool(name, dict(arguments or {}))


async def start_fakes(
    stack: AsyncExitStack,
    mp: Any,
    fakes: Mapping[str, FakeUpstream],
    base_paths: Mapping[str, str] | None,
    env: Mapping[str, str] | None,
) -> None:
    """Run the fakes on `stack`; point `<PREFIX>_BASE_URL` (+ base path) at each, set
    `<PREFIX>_TIMEOUT` and the extra env vars through the MonkeyPatch `mp`."""
    for prefix, fake in fakes.items():
        await stack.enter_async_context(run_fake(fake))
        mp.setenv(f"{prefix}_BASE_URL", fake.base_url + (base_paths or {}).get(prefix, ""))
        mp.setenv(f"{prefix}_TIMEOUT", "5")
    for key, value in (env or {}).items():
        mp.setenv(key, value)


@asynccontextmanager
async def harness(
    built: Built,
    fakes: Mapping[str, FakeUpstream],
    env: Mapping[str, str] | None = None,
    base_paths: Mapping[str, str] | None = None,
    rest: bool = True,
) -> AsyncIterator[Harness]:
    """Run the fakes, point `<PREFIX>_BASE_URL` (+ base path) at them, set `<PREFIX>_TIMEOUT`
    and the extra env vars (through a MonkeyPatch context), then start both generated servers
    and connect an MCP client."""
    import pytest
    from mcp import Client

    with pytest.MonkeyPatch.context() as mp:
        async with AsyncExitStack() as stack:
            await start_fakes(stack, mp, fakes, base_paths, env)
            rest_url = await stack.enter_async_context(serve_rest(built)) if rest else ""
            mcp_url = await stack.enter_async_context(serve_mcp(built))
            client = await stack.enter_async_context(Client(mcp_url + "/mcp"))
            yield Harness(rest_url, mcp_url, client, dict(fakes))


@dataclass
class Reply:
    status: int
    content_type: str
    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")


async def rest_call(
    base_url: str,
    method: str,
    path: str,
    *,
    json_body: Any = _UNSET,
    data: bytes | str | None = None,
    headers: Mapping[str, str] | None = None,
    params: Any = None,
) -> Reply:
    """One HTTP request to the generated REST server; `path` is sent as written (encoded)."""
    from yarl import URL

    url = URL(base_url + path, encoded=True)
    kwargs: dict[str, Any] = {"headers": dict(headers or {})}
    if json_body is not _UNSET:
        kwargs["json"] = json_body
    elif data is not None:
        kwargs["data"] = data
    if params is not None:
        kwargs["params"] = params
    async with aiohttp.ClientSession() as session:
        async with session.request(method, url, **kwargs) as response:
            body = await response.read()
            content_type = response.headers.get("Content-Type", "")
            return Reply(response.status, content_type, body, CIMultiDict(response.headers))


def mcp_text(result: Any) -> str:
    assert result.content, "tool result has no content"
    return result.content[0].text


def mcp_json(result: Any) -> Any:
    """The tool result's JSON (the text content), after checking it is not an error."""
    assert not result.is_error, mcp_text(result)
    return json.loads(mcp_text(result))
