"""The envelope eras on the SDK-free MCP server (2026-07-28: the rows of _mcp_eras.py whose
`handshake` is False): no handshake, each request carries its own envelope (`params._meta`:
protocol version, client capabilities, client info) and, over HTTP, `MCP-Protocol-Version`,
`Mcp-Method` and `Mcp-Name` headers; `server/discover` replaces `initialize`.

The answers are mcp 2.3.0's (its server's _streamable_http_modern.py, shared/inbound.py,
runner.py and the per-version request models of mcp_types): the envelope ladder (missing
`_meta` or keys, headers that disagree with the body, unsupported versions), the era's request
surface (_mcp_surface.py: methods of the handshake era only, such as `ping` and `initialize`,
are "Method not found"; malformed params "Invalid request parameters"), and the era's stamps on
results (_mcp_eras.Era.stamp: `resultType`, the server's identity in `_meta` and, for listings
and reads, the cache fields).
tests/test_mcp_differential.py compares them with the SDK's (`--sdk`) over HTTP and stdio.

`Mcp-Param-*` headers are not checked: they bind only to input-schema properties carrying
`x-mcp-header`, which generated schemas never have, so the SDK finds nothing to check either.
"""

from __future__ import annotations

import base64
import binascii
import logging
import re
from collections.abc import Mapping
from typing import Any

from ._mcp import (
    INTERNAL_ERROR,
    INVALID_PARAMS,
    INVALID_REQUEST,
    METHOD_NOT_FOUND,
    PARSE_ERROR,
    UNSUPPORTED_VERSION,
    Failure,
    Server,
)
from ._mcp_eras import Era, Eras
from ._mcp_surface import CAPABILITIES_KEY, SURFACES, VERSION_KEY, bad_params

LOG = logging.getLogger("naftiko.mcp")

HEADER_MISMATCH, MISSING_CAPABILITY = -32020, -32021

# The HTTP status of an error answer (shared/inbound.py ERROR_CODE_HTTP_STATUS; others: 200).
STATUS = {
    PARSE_ERROR: 400, INVALID_REQUEST: 400, INVALID_PARAMS: 400, HEADER_MISMATCH: 400,
    MISSING_CAPABILITY: 400, UNSUPPORTED_VERSION: 400, METHOD_NOT_FOUND: 404,
}  # fmt: skip
# The body parameter the Mcp-Name header mirrors.
NAME_KEYS = {"tools/call": "name", "prompts/get": "name", "resources/read": "uri"}
_META_MESSAGE = (
    f"params._meta must be an object carrying the required {VERSION_KEY!r} and "
    f"{CAPABILITIES_KEY!r} envelope keys"
)


def has_envelope(params: Any) -> bool:
    """A request of an envelope era: its `_meta` names a protocol version (runner.py)."""
    meta = params.get("_meta") if isinstance(params, dict) else None
    return isinstance(meta, dict) and VERSION_KEY in meta


def unsupported(eras: Eras, requested: Any) -> Failure:
    data = {"supported": list(eras.envelope_versions), "requested": requested}
    return Failure(UNSUPPORTED_VERSION, "Unsupported protocol version", data)


_SENTINEL = re.compile(r"^=\?base64\?(?P<payload>.*)\?=$")


def header_value(value: str | None) -> str | None:
    """A header's value, `=?base64?...?=` decoded (None when malformed), as the SDK reads it."""
    if value is None:
        return None
    found = _SENTINEL.fullmatch(value)
    if found is None:
        return value
    payload = found.group("payload")
    try:
        decoded = base64.b64decode(payload, validate=True)
    except binascii.Error:
        return None
    if base64.b64encode(decoded).decode("ascii") != payload:  # canonical form only
        return None
    try:
        return decoded.decode("utf-8")
    except UnicodeDecodeError:
        return None


Headers = tuple[str | None, str | None, str | None]  # MCP-Protocol-Version, Mcp-Method, Mcp-Name


def route(eras: Eras, method: str, params: Any, headers: Headers | None) -> Era | Failure:
    """The envelope ladder (shared/inbound.py classify_inbound_request): the era the envelope
    names, or the first failure.

    `headers`: over HTTP, the routing headers, which must agree with the body; None on stdio.
    """
    meta = params.get("_meta") if isinstance(params, dict) else None
    if not isinstance(meta, dict):
        return Failure(INVALID_PARAMS, _META_MESSAGE)
    missing = [key for key in (VERSION_KEY, CAPABILITIES_KEY) if key not in meta]
    if missing:
        message = f"params._meta is missing the required envelope key(s): {', '.join(missing)}"
        return Failure(INVALID_PARAMS, message)
    version = meta[VERSION_KEY]
    if headers is not None:
        version_header, method_header, name_header = headers
        if version_header is None or version_header != version:
            message = (
                "mcp-protocol-version header does not match the request envelope's "
                "protocol version"
            )
            return Failure(HEADER_MISMATCH, message)
        if method_header != method:
            return Failure(
                HEADER_MISMATCH, "mcp-method header does not match the request body's method"
            )
        key = NAME_KEYS.get(method)
        if key is not None:
            value = params.get(key)
            if value is not None and header_value(name_header) != value:
                message = f"mcp-name header does not match the request body's {key!r} parameter"
                return Failure(HEADER_MISMATCH, message)
    if not isinstance(version, str):
        return Failure(INVALID_PARAMS, "the protocol-version envelope value must be a string")
    era = eras.envelope(version)
    return era if era is not None else unsupported(eras, version)


class Modern:
    """A Server's answers in the envelope eras; what does not change between requests is built
    once."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.eras = server.eras
        discover: dict[str, Any] = {
            "supportedVersions": list(self.eras.envelope_versions),
            # Change notifications need subscriptions/listen, which is not served: all False.
            "capabilities": server.capabilities,
        }
        if server.instructions is not None:
            discover["instructions"] = server.instructions
        stamps = server.stamps
        self.discover = {  # version → its server/discover result
            version: {**discover, **stamps[version].get("server/discover", {})}
            for version in self.eras.envelope_versions
        }

    async def request(self, era: Era, method: str, params: Mapping[str, Any]) -> dict[str, Any]:
        """The result of a request whose envelope `route` found `era`'s; Failure for an error."""
        check = SURFACES[era.schema].get(method)
        if check is None:  # handshake-era methods (ping, initialize, ...) and unknown ones
            raise Failure(METHOD_NOT_FOUND, "Method not found", method)
        if not check(params):
            raise bad_params()
        if method == "server/discover":
            return self.discover[era.version]
        handler = self.server.handlers.get(method)
        if handler is None:
            raise Failure(METHOD_NOT_FOUND, "Method not found", method)
        client = self.server.client
        if client is None:
            raise Failure(INTERNAL_ERROR, "the server is not running")
        found = await handler(client, params)
        stamp = self.server.stamps[era.version].get(method)
        return {**found, **stamp} if stamp else found

    async def outcome(
        self, era: Era, method: str, params: Mapping[str, Any]
    ) -> dict[str, Any] | Failure:
        """`request`'s result or Failure; a bug is logged and answered as the SDK does."""
        try:
            return await self.request(era, method, params)
        except Failure as failure:
            return failure
        except Exception:
            LOG.exception("request %s failed", method)
            return Failure(INTERNAL_ERROR, "Internal server error")

    async def stdio(self, method: str, params: Any) -> dict[str, Any] | Failure:
        """One request of a stdio connection that opened in an envelope era (runner.py)."""
        if method == "initialize":
            requested = params.get("protocolVersion") if isinstance(params, dict) else None
            data: dict[str, Any] = {"supported": list(self.eras.envelope_versions)}
            if isinstance(requested, str):
                data["requested"] = requested
            serving = ", ".join(self.eras.envelope_versions) or "envelope"
            message = (
                f"connection is serving the {serving} protocol; the initialize handshake is not "
                "accepted"
            )
            return Failure(UNSUPPORTED_VERSION, message, data)
        found = route(self.eras, method, params, None)
        if isinstance(found, Failure):
            return found
        return await self.outcome(found, method, params)


# A request carrying the envelope on a stdio connection opened with `initialize` (runner.py).
LEGACY_REFUSAL = Failure(
    INVALID_REQUEST,
    "this connection serves the handshake protocol era; requests carrying the 2026-07-28 "
    "envelope are not accepted on it",
)
