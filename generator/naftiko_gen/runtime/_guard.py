"""Browser safety for both servers: which Host and Origin headers a request may carry.

The servers spend the operator's upstream credentials. A web page the operator visits can send
requests to 127.0.0.1 (simple cross-site POSTs need no preflight) and DNS rebinding can make
a foreign name resolve to it; checking Host and Origin stops both. Browsers send no Origin on
no-cors GET and HEAD (`<img src>`, `<script src>`), so the fetch metadata they send on every
request (`Sec-Fetch-Site`) is checked too: a cross-site request is refused unless its Origin is
allowed, before anything goes upstream.
"""

from __future__ import annotations

import argparse
import ipaddress
import logging
import os
import sys
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")
CROSS_SITE = ("cross-site", "same-site")  # Sec-Fetch-Site values of another origin's page


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _listed(text: str | None) -> tuple[str, ...]:
    return tuple(item.strip() for item in (text or "").split(",") if item.strip())


class Policy(NamedTuple):
    """Allowed Host values (a name matches with any port; "*" allows any) and Origins."""

    hosts: tuple[str, ...]
    origins: tuple[str, ...]
    local_origins: bool = False  # pages served from this machine (http://localhost:3000)

    @classmethod
    def for_bind(
        cls, host: str, allow_hosts: Iterable[str] = (), allow_origins: Iterable[str] = ()
    ) -> Policy:
        """Loopback servers answer loopback names only; others any name unless listed.

        NAFTIKO_ALLOWED_HOSTS and NAFTIKO_ALLOWED_ORIGINS (comma-separated) add to the lists.
        """
        hosts = (*allow_hosts, *_listed(os.environ.get("NAFTIKO_ALLOWED_HOSTS")))
        origins = (*allow_origins, *_listed(os.environ.get("NAFTIKO_ALLOWED_ORIGINS")))
        local = is_loopback(host)
        if local:
            hosts = (*LOOPBACK_NAMES, *hosts)
        elif not hosts:
            hosts = ("*",)
        return cls(tuple(hosts), tuple(o.rstrip("/") for o in origins), local)

    def refuse(
        self, host: str | None, origin: str | None, site: str | None = None
    ) -> tuple[int, str] | None:
        """(status, reason) when the request must be refused, else None. `site`: the
        request's Sec-Fetch-Site (sent by browsers only; other clients send none)."""
        if "*" not in self.hosts:
            name = (host or "").lower()
            bare = name.rsplit(":", 1)[0] if not name.endswith("]") else name
            if name not in self.hosts and bare not in self.hosts:
                return 421, "this server does not answer for that Host"
        if origin is not None and origin.rstrip("/") not in self.origins:
            if not (self.local_origins and _local_origin(origin)):
                return 403, "requests from web pages of other origins are refused"
        if origin is None and site in CROSS_SITE:
            # A page of another site (no-cors GET/HEAD: no Origin to check). Same-site pages of
            # a loopback server are pages of this machine, allowed like local Origins are.
            if not (site == "same-site" and self.local_origins):
                return 403, "requests from web pages of other sites are refused"
        return None


def _local_origin(origin: str) -> bool:
    """An http(s) origin on a loopback name: a page served from this machine."""
    scheme, sep, rest = origin.partition("://")
    if not sep or scheme not in ("http", "https"):
        return False
    host = rest.rstrip("/")
    host = host if host.endswith("]") else host.rsplit(":", 1)[0]
    return host in LOOPBACK_NAMES


def exposure_error(host: str, authenticated: bool, allow_unauthenticated: bool) -> str | None:
    """Why the server must not listen on `host` (a non-loopback address without caller auth)."""
    if is_loopback(host) or authenticated or allow_unauthenticated:
        return None
    return (
        f"refusing to listen on {host} without caller authentication: anyone who can reach it "
        "would spend this server's upstream credentials; declare 'authentication' on the "
        "adapter, or pass --allow-unauthenticated if a gateway in front authenticates callers"
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--allow-host", action="append", default=[], metavar="HOST",
        help="also answer requests for this Host name (repeatable; NAFTIKO_ALLOWED_HOSTS)",
    )  # fmt: skip
    parser.add_argument(
        "--allow-origin", action="append", default=[], metavar="ORIGIN",
        help="let web pages of this origin call the server, with CORS (repeatable; "
        "NAFTIKO_ALLOWED_ORIGINS)",
    )  # fmt: skip
    parser.add_argument(
        "--allow-unauthenticated", action="store_true",
        help="listen on a non-loopback address although callers are not authenticated",
    )  # fmt: skip


def check_exposure(host: str, authenticated: bool, allow_unauthenticated: bool) -> None:
    """Exit with one line if the server must not listen on `host`; warn when it is exposed."""
    problem = exposure_error(host, authenticated, allow_unauthenticated)
    if problem is not None:
        sys.exit(f"error: {problem}")
    if not is_loopback(host):
        print(f"warning: listening on {host}, reachable from other machines", file=sys.stderr)


# CORS for allowed origins (others were refused before): what a browser page may send and read.
CORS_METHODS = "GET, POST, PUT, PATCH, DELETE, HEAD"
CORS_EXPOSED = "Location, Retry-After, WWW-Authenticate, Mcp-Session-Id, MCP-Protocol-Version"


def cors(origin: str) -> dict[str, str]:
    """Headers of an answer to a page of an allowed `origin`."""
    return {
        "Access-Control-Allow-Origin": origin,
        "Access-Control-Expose-Headers": CORS_EXPOSED,
        "Vary": "Origin",
    }


def add_cors(policy: Policy) -> Any:
    """An aiohttp on_response_prepare callback: CORS headers on every answer to a page of an
    allowed origin (streamed ones too, whose headers leave before their handler returns)."""

    async def prepare(request: Any, response: Any) -> None:
        got = request.headers
        origin = got.get("Origin")
        if origin and policy.refuse(got.get("Host"), origin, got.get("Sec-Fetch-Site")) is None:
            response.headers.update(cors(origin))

    return prepare


def preflight(origin: str, headers: Mapping[str, str]) -> dict[str, str] | None:
    """The headers answering a CORS preflight (OPTIONS with Access-Control-Request-Method) of
    an allowed `origin`; None when the request is not a preflight."""
    if "Access-Control-Request-Method" not in headers:
        return None
    return cors(origin) | {
        "Access-Control-Allow-Methods": CORS_METHODS,
        "Access-Control-Allow-Headers": headers.get("Access-Control-Request-Headers", ""),
        "Access-Control-Max-Age": "600",
    }


class _NoRequestLines(logging.Filter):
    """aiohttp logs a request it cannot parse with the offending line as it came, credentials
    included ("Invalid header token: b'Authorization Bearer <token>'"): that record becomes one
    line naming the problem's kind, never the bytes."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if error is not None and type(error).__module__.startswith("aiohttp.http"):
            record.msg = "refused a malformed request (%s); its bytes are not logged"
            record.args = (type(error).__name__,)
            record.exc_info = record.exc_text = None
        return True


def hide_request_lines() -> None:
    """Installed once per process by every server's `run`."""
    logger = logging.getLogger("aiohttp.server")
    if not any(isinstance(f, _NoRequestLines) for f in logger.filters):
        logger.addFilter(_NoRequestLines())
