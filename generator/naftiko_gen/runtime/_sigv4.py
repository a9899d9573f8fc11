"""AWS Signature Version 4 request signing, standard library only.

Signs what aiohttp is about to send: method, path, query, the headers already set (plus host
and x-amz-date) and the SHA-256 of the body. Other services get the canonical path encoded
twice, as AWS requires; s3 gets it once, with x-amz-content-sha256 (checked against botocore's
signer in the test suite).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import aiohttp
from yarl import URL

Handler = Callable[[aiohttp.ClientRequest], Awaitable[aiohttp.ClientResponse]]
UNSIGNED = frozenset(
    "authorization baggage connection expect host keep-alive proxy-authenticate proxy-authorization"
    " te traceparent tracestate trailer transfer-encoding upgrade user-agent x-amzn-trace-id".split()
)
DEFAULT_PORTS = {"http": 80, "https": 443}


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).digest()


def signing_key(secret: str, day: str, region: str, service: str) -> bytes:
    key = _hmac(("AWS4" + secret).encode("utf-8"), day)
    for part in (region, service, "aws4_request"):
        key = _hmac(key, part)
    return key


async def body_bytes(request: aiohttp.ClientRequest) -> bytes:
    """The request body exactly as it will be sent (b"" for none)."""
    body: Any = request.body
    return bytes(body) if isinstance(body, (bytes, bytearray)) else bytes(await body.as_bytes())


def host(url: URL) -> str:
    """The Host header aiohttp sends: the port only when it is not the scheme's default."""
    name = (url.raw_host or "").lower()
    if ":" in name:
        name = f"[{name}]"
    port = url.explicit_port
    return name if port is None or DEFAULT_PORTS.get(url.scheme) == port else f"{name}:{port}"


def canonical_path(raw_path: str, service: str) -> str:
    """s3: the path as sent; others: dot segments and empty segments removed, encoded again."""
    if service == "s3":
        return raw_path or "/"
    kept: list[str] = []
    for segment in raw_path.split("/"):
        if segment == "..":
            kept = kept[:-1]
        elif segment not in ("", "."):
            kept.append(segment)
    trailing = "/" if raw_path.endswith("/") and kept else ""
    return quote("/" + "/".join(kept) + trailing, safe="/~")


def canonical_query(raw_query: str) -> str:
    """The encoded pairs as sent, sorted by name, then value."""
    pairs = sorted(pair.partition("=")[::2] for pair in raw_query.split("&")) if raw_query else []
    return "&".join(f"{k}={v}" for k, v in pairs)


def signer(
    access_key_id: str,
    secret_access_key: str,
    *,
    region: str,
    service: str,
    session_token: str = "",
) -> Callable[[aiohttp.ClientRequest, Handler], Awaitable[aiohttp.ClientResponse]]:
    """A client middleware that signs every request of one upstream."""

    async def middleware(
        request: aiohttp.ClientRequest, handler: Handler
    ) -> aiohttp.ClientResponse:
        now = datetime.now(UTC)
        stamp, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
        payload = hashlib.sha256(await body_bytes(request)).hexdigest()
        request.headers["X-Amz-Date"] = stamp
        if session_token:
            request.headers["X-Amz-Security-Token"] = session_token
        if service == "s3":
            request.headers["X-Amz-Content-SHA256"] = payload
        headers = {"host": [request.headers.get("Host") or host(request.url)]}
        for name, value in request.headers.items():
            if name.lower() not in UNSIGNED:
                headers.setdefault(name.lower(), []).append(" ".join(value.split()))
        names = sorted(headers)
        signed = ";".join(names)
        canonical = "\n".join(
            [
                request.method.upper(),
                canonical_path(request.url.raw_path, service),
                canonical_query(request.url.raw_query_string),
                *(f"{n}:{','.join(headers[n])}" for n in names),
                "",
                signed,
                payload,
            ]
        )
        scope = f"{day}/{region}/{service}/aws4_request"
        to_sign = "\n".join(
            ["AWS4-HMAC-SHA256", stamp, scope, hashlib.sha256(canonical.encode()).hexdigest()]
        )
        key = signing_key(secret_access_key, day, region, service)
        proof = hmac.new(key, to_sign.encode("utf-8"), hashlib.sha256).hexdigest()
        request.headers["Authorization"] = (
            f"AWS4-HMAC-SHA256 Credential={access_key_id}/{scope}, "
            f"SignedHeaders={signed}, Signature={proof}"
        )
        return await handler(request)

    return middleware
