"""HMAC request signing: a keyed digest of a string the spec describes, in a header.

The string to sign is a template over the request as it is sent: {method}, {path} (raw, with
percent-encoding), {query} (raw), {url}, {host}, {body} (the exact bytes), {bodySha256} (hex),
{timestamp} (Unix seconds) and {nonce}; the timestamp and nonce also go in headers of their own.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp

from . import _runtime as rt

Handler = Callable[[aiohttp.ClientRequest], Awaitable[aiohttp.ClientResponse]]
PLACEHOLDER = re.compile(r"\{(method|path|query|url|host|body|bodySha256|timestamp|nonce)\}")
ALGORITHMS = ("sha1", "sha256", "sha384", "sha512")


async def body_bytes(request: aiohttp.ClientRequest) -> bytes:
    """The request body exactly as it will be sent (b"" for none)."""
    body: Any = request.body
    return bytes(body) if isinstance(body, (bytes, bytearray)) else bytes(await body.as_bytes())


def message(template: str, values: dict[str, bytes]) -> bytes:
    """The template with each {placeholder} replaced by its bytes (the rest as UTF-8)."""
    out, at = b"", 0
    for match in PLACEHOLDER.finditer(template):
        out += template[at : match.start()].encode("utf-8") + values[match.group(1)]
        at = match.end()
    return out + template[at:].encode("utf-8")


def signer(
    secret: str,
    *,
    algorithm: str,
    header: str,
    signed: str,
    encoding: str = "hex",
    prefix: str = "",
    timestamp_header: str = "",
    nonce_header: str = "",
) -> Callable[[aiohttp.ClientRequest, Handler], Awaitable[aiohttp.ClientResponse]]:
    """A client middleware that signs every request of one upstream."""
    if algorithm not in ALGORITHMS or encoding not in ("hex", "base64"):
        raise rt.ConfigError(f"HMAC {algorithm!r} with {encoding!r} output is not supported")
    key = secret.encode("utf-8")

    async def middleware(
        request: aiohttp.ClientRequest, handler: Handler
    ) -> aiohttp.ClientResponse:
        body = await body_bytes(request)
        url = request.url
        values = {
            "method": request.method.upper().encode(),
            "path": (url.raw_path or "/").encode(),
            "query": url.raw_query_string.encode(),
            "url": str(url).encode(),
            "host": (request.headers.get("Host") or url.raw_host or "").encode(),
            "body": body,
            "bodySha256": hashlib.sha256(body).hexdigest().encode(),
            "timestamp": str(int(time.time())).encode(),
            "nonce": secrets.token_hex(16).encode(),
        }
        digest = hmac.new(key, message(signed, values), algorithm).digest()
        proof = digest.hex() if encoding == "hex" else base64.b64encode(digest).decode("ascii")
        request.headers[header] = prefix + proof
        if timestamp_header:
            request.headers[timestamp_header] = values["timestamp"].decode()
        if nonce_header:
            request.headers[nonce_header] = values["nonce"].decode()
        return await handler(request)

    return middleware
