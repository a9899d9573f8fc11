"""Callers must present the adapter's credentials (bearer, API key or basic)."""

from __future__ import annotations

import base64
import hmac
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Credentials:
    kind: str  # bearer | apikey | basic
    secret: str  # the token, the API key value, or the password
    username: str = ""
    key: str = ""  # apikey: the header or query parameter name
    placement: str = "header"

    def allows(self, headers: Mapping[str, str], query: Mapping[str, str]) -> bool:
        if self.kind == "bearer":
            scheme, _, token = headers.get("Authorization", "").partition(" ")
            return scheme.lower() == "bearer" and same(token.strip(), self.secret)
        if self.kind == "apikey":
            source = query if self.placement == "query" else headers
            return same(source.get(self.key, ""), self.secret)
        if self.kind == "basic":
            scheme, _, encoded = headers.get("Authorization", "").partition(" ")
            if scheme.lower() != "basic":
                return False
            try:
                user, _, password = base64.b64decode(encoded).decode("utf-8").partition(":")
            except (ValueError, UnicodeDecodeError):
                return False
            # Both compared, always: the time taken says nothing about which one was wrong.
            return same(user, self.username) & same(password, self.secret)
        return False

    @property
    def challenge(self) -> str:
        return 'Basic realm="naftiko"' if self.kind == "basic" else "Bearer"


def same(given: str, expected: str) -> bool:
    """Constant-time comparison; an empty expected value never matches. Header bytes that are
    not UTF-8 (aiohttp keeps them as surrogates) are compared as the bytes they were: they
    never match a secret, and never raise (a 500)."""
    return bool(expected) and hmac.compare_digest(
        given.encode("utf-8", "surrogateescape"), expected.encode()
    )
