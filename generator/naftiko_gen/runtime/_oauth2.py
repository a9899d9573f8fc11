"""OAuth 2.0 resource server: callers present a JWT from the authorization server (PyJWT).

The signature (RS256, ES256) is checked against the authorization server's JSON Web Key Set:
a file, a `jwks_uri`, or the one its metadata (RFC 8414) names, fetched once and cached. A
token signed with an unknown `kid` (or any token while no key is known) starts a refetch: one
fetch in flight at a time, at most every REFRESH_AFTER seconds after a success and with a
backoff (RETRY_FIRST doubling to RETRY_MAX) after a failure; only such tokens wait for it,
never tokens whose key is known. Then
`iss`, `aud` (the audience, else the resource), `exp` and `nbf`, and the scopes. Refusals
carry `WWW-Authenticate: Bearer` with `error` and `resource_metadata` (RFC 6750, RFC 9728);
the Protected Resource Metadata document is served at /.well-known/oauth-protected-resource.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import jwt
from aiohttp import web
from aiohttp.typedefs import Handler

ALGORITHMS = ("RS256", "ES256")
LEEWAY = 30  # seconds of clock skew allowed on exp and nbf
REFRESH_AFTER = 30.0
RETRY_FIRST, RETRY_MAX = 1.0, 60.0  # seconds before refetching after a failed fetch
WELL_KNOWN = "/.well-known/oauth-protected-resource"
LOG = logging.getLogger("naftiko.oauth2")


class Refusal(Exception):
    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(description)
        self.status, self.error = status, error


@dataclass
class ResourceServer:
    issuer: str
    resource: str
    audience: str
    scopes: tuple[str, ...] = ()
    jwks_uri: str | None = None
    jwks_file: str | None = None
    _keys: dict[str, jwt.PyJWK] = field(default_factory=dict)
    _anonymous: list[jwt.PyJWK] = field(default_factory=list)  # keys without a kid
    _next: float = 0.0  # monotonic time from which a refetch may start
    _failures: int = 0
    _fetching: asyncio.Task[None] | None = None

    def __post_init__(self) -> None:
        if self.jwks_file is not None:  # relative to the package folder
            path = Path(__file__).resolve().parent / self.jwks_file
            self._load(json.loads(path.read_text(encoding="utf-8")))

    # -- the documents --------------------------------------------------------------------

    @property
    def metadata_paths(self) -> tuple[str, ...]:
        """Where the metadata is served: the well-known path, and with the resource's path."""
        path = urlsplit(self.resource).path.rstrip("/")
        return (WELL_KNOWN, WELL_KNOWN + path) if path else (WELL_KNOWN,)

    @property
    def metadata_url(self) -> str:
        """The metadata URL of the resource (RFC 9728 §3.1: inserted before its path)."""
        parts = urlsplit(self.resource)
        return f"{parts.scheme}://{parts.netloc}{WELL_KNOWN}{parts.path.rstrip('/')}"

    def metadata(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "resource": self.resource,
            "authorization_servers": [self.issuer],
            "bearer_methods_supported": ["header"],
        }
        if self.scopes:
            document["scopes_supported"] = list(self.scopes)
        return document

    def challenge(self, refusal: Refusal | None) -> str:
        parts = []
        if refusal is not None:
            parts.append(f'error="{refusal.error}"')
            parts.append(f'error_description="{_quote(str(refusal))}"')
            if refusal.error == "insufficient_scope":
                parts.append(f'scope="{" ".join(self.scopes)}"')
        parts.append(f'resource_metadata="{self.metadata_url}"')
        return "Bearer " + ", ".join(parts)

    # -- keys -----------------------------------------------------------------------------

    def _load(self, document: Any) -> None:
        keys: dict[str, jwt.PyJWK] = {}
        anonymous: list[jwt.PyJWK] = []
        for entry in document.get("keys", []) if isinstance(document, dict) else []:
            if not isinstance(entry, dict) or entry.get("use", "sig") != "sig":
                continue
            try:
                key = jwt.PyJWK(entry)
            except jwt.PyJWTError:
                continue  # a key of a kind this server does not verify with
            if key.algorithm_name not in ALGORITHMS:
                continue
            if isinstance(entry.get("kid"), str):
                keys[entry["kid"]] = key
            else:
                anonymous.append(key)
        self._keys, self._anonymous = keys, anonymous

    async def refresh(self) -> None:
        """Fetch the key set now (at start-up; file-based sets are read once, at import)."""
        if self.jwks_file is None:
            await self._fetch_soon(now=True)

    async def _fetch_soon(self, now: bool = False) -> None:
        """Wait for the fetch in flight, or start one if the backoff allows; else return."""
        task = self._fetching
        if task is None:
            if not now and time.monotonic() < self._next:
                return
            task = self._fetching = asyncio.ensure_future(self._fetch())
        # Shielded: a caller that gives up does not cancel the fetch the others wait for.
        await asyncio.shield(task)

    async def _fetch(self) -> None:
        timeout = aiohttp.ClientTimeout(total=10)
        try:
            async with aiohttp.ClientSession(timeout=timeout) as session:
                uri = self.jwks_uri or await self._discover(session)
                async with session.get(uri, allow_redirects=False) as response:
                    response.raise_for_status()
                    self._load(await response.json(content_type=None))
            self._failures, self._next = 0, time.monotonic() + REFRESH_AFTER
        except (aiohttp.ClientError, TimeoutError, ValueError, KeyError) as exc:
            wait = min(RETRY_MAX, RETRY_FIRST * 2**self._failures)
            self._failures += 1
            self._next = time.monotonic() + wait
            LOG.warning(
                "cannot fetch the authorization server's keys (%s); next try in %g s",
                type(exc).__name__, wait,
            )  # fmt: skip
        finally:
            self._fetching = None

    async def _discover(self, session: aiohttp.ClientSession) -> str:
        parts = urlsplit(self.issuer)
        path = parts.path.rstrip("/")
        for well_known in ("oauth-authorization-server", "openid-configuration"):
            url = f"{parts.scheme}://{parts.netloc}/.well-known/{well_known}{path}"
            async with session.get(url, allow_redirects=False) as response:
                if response.status == 200:
                    found = (await response.json(content_type=None)).get("jwks_uri")
                    if isinstance(found, str):
                        self.jwks_uri = found
                        return found
        raise KeyError(f"no jwks_uri in the metadata of {self.issuer}")

    async def _key(self, token: str) -> jwt.PyJWK:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise Refusal(401, "invalid_token", "the token is not a JWT") from None
        if header.get("alg") not in ALGORITHMS:
            raise Refusal(
                401, "invalid_token", f"tokens must be signed with {' or '.join(ALGORITHMS)}"
            )
        kid = header.get("kid")
        found = self._known(kid)
        if found is None and self.jwks_file is None:
            await self._fetch_soon()  # a rotated key set, or none fetched yet
            found = self._known(kid)
        if found is None:
            if not self._keys and not self._anonymous:
                raise Refusal(503, "temporarily_unavailable", "the signing keys are not available")
            raise Refusal(401, "invalid_token", "the token is signed with an unknown key")
        return found

    def _known(self, kid: Any) -> jwt.PyJWK | None:
        if isinstance(kid, str):
            return self._keys.get(kid)
        if kid is None and len(self._anonymous) == 1:
            return self._anonymous[0]
        return None

    # -- checking a request ---------------------------------------------------------------

    async def check(self, headers: Mapping[str, str]) -> dict[str, Any] | None:
        """The token's claims; None when no token was presented; Refusal when it is refused."""
        scheme, _, token = headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        token = token.strip()
        if not token.isascii():  # header bytes that were not UTF-8, or not a JWT in any case
            raise Refusal(401, "invalid_token", "the token is not a JWT")
        key = await self._key(token)
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key=key,
                algorithms=[key.algorithm_name],
                audience=self.audience,
                issuer=self.issuer,
                leeway=LEEWAY,
                options={"require": ["exp", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError:
            raise Refusal(401, "invalid_token", "the token has expired") from None
        except jwt.InvalidAudienceError:
            raise Refusal(
                401, "invalid_token", "the token is not meant for this resource"
            ) from None
        except jwt.PyJWTError as exc:
            raise Refusal(
                401, "invalid_token", f"the token is not valid ({type(exc).__name__})"
            ) from None
        granted = claims.get("scope", claims.get("scp", ""))
        if isinstance(granted, str):
            granted = granted.split()
        if not isinstance(granted, list) or not all(isinstance(g, str) for g in granted):
            raise Refusal(401, "invalid_token", "the token's scope is not a string or a list")
        granted_set = set(granted)
        missing = [s for s in self.scopes if s not in granted_set]
        if missing:
            raise Refusal(403, "insufficient_scope", f"the token lacks the scope {missing[0]}")
        return claims

    async def refuse(self, headers: Mapping[str, str]) -> tuple[int, str, str] | None:
        """None when the request may pass; else (status, message, WWW-Authenticate)."""
        try:
            if await self.check(headers) is not None:
                return None
            return 401, "a bearer token is required", self.challenge(None)
        except Refusal as refusal:
            return refusal.status, str(refusal), self.challenge(refusal)


def _quote(text: str) -> str:
    return text.replace("\\", "").replace('"', "'")


# -- REST (aiohttp) --------------------------------------------------------------------------

OPEN = ("/health", "/openapi.json")
DOCS_ROUTES = ("naftiko-docs", "naftiko-docs-slash", "naftiko-docs-asset")  # _docs.OPEN_ROUTES


def rest(server: ResourceServer) -> Any:
    """Middleware: a valid token on every request but probes, the documents and the metadata."""

    @web.middleware
    async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path in server.metadata_paths:
            return web.json_response(server.metadata())
        if request.path not in OPEN and request.match_info.route.name not in DOCS_ROUTES:
            refused = await server.refuse(request.headers)
            if refused is not None:
                status, message, challenge = refused
                return web.json_response(
                    {"error": message, "status": status},
                    status=status,
                    headers={"WWW-Authenticate": challenge},
                )
        return await handler(request)

    return guard


def protect(app: web.Application, server: ResourceServer) -> web.Application:
    """The REST application, its token checks added (the keys fetched as it starts)."""

    async def fetch(app: web.Application) -> None:
        await server.refresh()

    app.middlewares.append(rest(server))
    app.on_startup.append(fetch)
    return app


# -- MCP --sdk (ASGI) ------------------------------------------------------------------------
# The default MCP server is an aiohttp app (_mcp_http.py): `protect` above guards it as it
# guards REST (/health open, the metadata document served, a valid token for the rest).


class Protect:
    """ASGI: the metadata document, then a valid token for everything else."""

    def __init__(self, app: Any, server: ResourceServer) -> None:
        self.app, self.server = app, server

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["path"] in self.server.metadata_paths:
            await _send(send, 200, self.server.metadata())
            return
        headers = {k.decode("latin-1").title(): v.decode("latin-1") for k, v in scope["headers"]}
        refused = await self.server.refuse(headers)
        if refused is not None:
            status, message, challenge = refused
            extra = [(b"www-authenticate", challenge.encode("latin-1", "replace"))]
            await _send(send, status, {"error": message, "status": status}, extra)
            return
        await self.app(scope, receive, send)


async def _send(
    send: Any, status: int, data: Any, extra: list[tuple[bytes, bytes]] | None = None
) -> None:
    headers = [(b"content-type", b"application/json"), *(extra or [])]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": json.dumps(data).encode()})
