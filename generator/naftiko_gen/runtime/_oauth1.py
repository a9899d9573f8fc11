"""OAuth 1.0a request signing (RFC 5849) with the body-hash extension, through oauthlib.

HMAC-SHA1/256/512 sign with the consumer and token secrets, RSA-SHA1/256/512 with a private key
(PEM). Requests without a form-encoded body carry `oauth_body_hash`, the base64 digest of the
body bytes (empty for none) in the signature method's hash: SHA-256 for RSA-SHA256, as
payment networks expect. Needs `oauthlib[signedtoken]` (RSA through cryptography and PyJWT).
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
from oauthlib.oauth1.rfc5849 import (  # type: ignore[import-untyped,unused-ignore]
    parameters,
    signature,
)

from . import _runtime as rt

Handler = Callable[[aiohttp.ClientRequest], Awaitable[aiohttp.ClientResponse]]
FORM = "application/x-www-form-urlencoded"
METHODS = {
    "HMAC-SHA1": (signature.sign_hmac_sha1_with_client, "sha1"),
    "HMAC-SHA256": (signature.sign_hmac_sha256_with_client, "sha256"),
    "HMAC-SHA512": (signature.sign_hmac_sha512_with_client, "sha512"),
    "RSA-SHA1": (signature.sign_rsa_sha1_with_client, "sha1"),
    "RSA-SHA256": (signature.sign_rsa_sha256_with_client, "sha256"),
    "RSA-SHA512": (signature.sign_rsa_sha512_with_client, "sha512"),
}


@dataclass(frozen=True)
class Keys:
    """What oauthlib's signing functions read: the secrets, or the RSA private key."""

    client_secret: str
    resource_owner_secret: str
    rsa_key: str


async def body_bytes(request: aiohttp.ClientRequest) -> bytes:
    """The request body exactly as it will be sent (b"" for none)."""
    body: Any = request.body
    return bytes(body) if isinstance(body, (bytes, bytearray)) else bytes(await body.as_bytes())


def signer(
    consumer_key: str,
    *,
    method: str = "HMAC-SHA1",
    consumer_secret: str = "",
    private_key: str = "",
    token: str = "",
    token_secret: str = "",
    realm: str = "",
    body_hash: bool = True,
) -> Callable[[aiohttp.ClientRequest, Handler], Awaitable[aiohttp.ClientResponse]]:
    """A client middleware that signs every request of one upstream."""
    try:
        sign, digest = METHODS[method]
    except KeyError:
        raise rt.ConfigError(f"OAuth 1.0a signature method {method!r} is not supported") from None
    if method.startswith("RSA-") and "-----BEGIN" not in private_key:
        raise rt.ConfigError("OAuth 1.0a RSA signing needs a PEM private key")
    keys = Keys(consumer_secret, token_secret, private_key)

    async def middleware(
        request: aiohttp.ClientRequest, handler: Handler
    ) -> aiohttp.ClientResponse:
        oauth = [
            ("oauth_consumer_key", consumer_key),
            ("oauth_nonce", secrets.token_hex(16)),
            ("oauth_signature_method", method),
            ("oauth_timestamp", str(int(time.time()))),
            ("oauth_version", "1.0"),
        ]
        if token:
            oauth.append(("oauth_token", token))
        body = await body_bytes(request)
        form = request.headers.get("Content-Type", "").lower().startswith(FORM)
        if body_hash and not form:
            hashed = hashlib.new(digest, body).digest()
            oauth.append(("oauth_body_hash", base64.b64encode(hashed).decode("ascii")))
        params = signature.collect_parameters(
            uri_query=request.url.raw_query_string,
            body=body.decode("utf-8") if form and body else None,
        )
        base = signature.signature_base_string(
            request.method,
            signature.base_string_uri(str(request.url.with_query(None).with_fragment(None))),
            signature.normalize_parameters(params + oauth),
        )
        oauth.append(("oauth_signature", sign(base, keys)))
        header = parameters.prepare_headers(oauth, realm=realm or None)["Authorization"]
        request.headers["Authorization"] = header
        return await handler(request)

    return middleware
