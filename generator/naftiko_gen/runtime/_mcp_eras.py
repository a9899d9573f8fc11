"""The MCP protocol eras, as data: one row per protocol version the servers speak, saying what
sets it apart. The dispatchers (_mcp.py, _mcp_modern.py), the transports (_mcp_http.py,
_mcp_stdio.py) and `--sdk`'s front (_mcp_sdk.py) ask this table; no code compares versions.

The rows mirror mcp 2.3.0, the oracle of tests/test_mcp_differential.py (tests/protocol/
test_eras.py checks them against its tables): mcp_types.version lists the versions by opening
(HANDSHAKE_PROTOCOL_VERSIONS, MODERN_PROTOCOL_VERSIONS) and mcp_types.methods shapes each
version's messages by one schema revision ("2025-11-25 for every pre-2026 version and
2026-07-28 for 2026"). No row says "has outputSchema", "has title" or "has annotations": the SDK
serves every handshake version the 2025-11-25 shapes (a 2024-11-05 client gets those fields too,
and ignores what it does not know); that is the `schema` column.

Adding a protocol version is adding its row, oldest first (the order, not the strings, says
which version is newest). Code is needed only for what no row had before: a new schema revision
(its request checks in _mcp_surface.SURFACES) or a new flag.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ._mcp_surface import SURFACES

SERVER_INFO_KEY = "io.modelcontextprotocol/serverInfo"
# Results that carry ttlMs/cacheScope where an era has cache hints (the SDK's defaults: not
# cached, private): mcp_types.methods.CACHEABLE_METHODS.
CACHEABLE = frozenset(
    ("prompts/list", "resources/list", "resources/read", "resources/templates/list",
     "server/discover", "tools/list")
)  # fmt: skip


@dataclass(frozen=True)
class Era:
    """One protocol version and what it takes to answer it."""

    version: str  # as initialize, MCP-Protocol-Version and the envelope spell it
    # True: opened by `initialize`, which negotiates it, and kept by the connection (stdio) or
    # named by MCP-Protocol-Version on each HTTP request. False: no handshake; every request
    # carries it in its `_meta` envelope (and, over HTTP, routing headers that must agree with
    # the body), and `server/discover` lists it (_mcp_modern.py).
    handshake: bool
    schema: str  # the schema revision its requests are checked by (_mcp_surface.SURFACES)
    result_type: bool = False  # results carry resultType "complete"
    server_info: bool = False  # results carry the server's name and version in `_meta`
    cache_hints: bool = False  # cacheable results carry ttlMs and cacheScope
    # The version a streamable-HTTP request without MCP-Protocol-Version is taken as (MCP
    # 2025-06-18, transports: "the server SHOULD assume protocol version 2025-03-26").
    assumed: bool = False

    def stamp(self, method: str, server_info: Mapping[str, str]) -> dict[str, Any]:
        """What this era adds to a result of `method` (nothing, for the handshake versions)."""
        found: dict[str, Any] = {}
        if self.cache_hints and method in CACHEABLE:
            found["cacheScope"], found["ttlMs"] = "private", 0
        if self.result_type:
            found["resultType"] = "complete"
        if self.server_info:
            found["_meta"] = {SERVER_INFO_KEY: dict(server_info)}
        return found


ERAS = (
    Era("2024-11-05", handshake=True, schema="2025-11-25"),
    Era("2025-03-26", handshake=True, schema="2025-11-25", assumed=True),
    Era("2025-06-18", handshake=True, schema="2025-11-25"),
    Era("2025-11-25", handshake=True, schema="2025-11-25"),
    Era("2026-07-28", handshake=False, schema="2026-07-28",
        result_type=True, server_info=True, cache_hints=True),
)  # fmt: skip


class Eras:
    """A table of eras and the lookups the servers make, indexed once."""

    def __init__(self, rows: Sequence[Era]) -> None:
        self.rows = tuple(rows)
        self.by_version = {era.version: era for era in self.rows}
        handshake = [era for era in self.rows if era.handshake]
        assumed = [era for era in handshake if era.assumed]
        unknown = sorted({era.schema for era in self.rows} - SURFACES.keys())
        if len(self.by_version) != len(self.rows) or not handshake or len(assumed) != 1 or unknown:
            raise ValueError(
                "an era table lists each version once, one handshake version or more, exactly "
                f"one of them assumed, and only known schema revisions (unknown: {unknown})"
            )
        self.handshake_versions = tuple(era.version for era in handshake)
        self.envelope_versions = tuple(era.version for era in self.rows if not era.handshake)
        self.newest_handshake = handshake[-1]
        self.assumed = assumed[0]
        # MCP-Protocol-Version (None: absent) → the handshake era of an HTTP request.
        self._http: dict[str | None, Era] = {None: self.assumed}
        self._http.update((era.version, era) for era in handshake)

    def negotiate(self, requested: str) -> Era:
        """initialize's answer: the requested version when it is a handshake one, else the
        newest (the spec's counter-offer; the client decides whether to go on)."""
        era = self.by_version.get(requested)
        return era if era is not None and era.handshake else self.newest_handshake

    def over_http(self, header: str | None) -> Era | None:
        """The handshake era an HTTP request's MCP-Protocol-Version names (the assumed one when
        absent); None for any other value, unknown ones included: the request is then the
        envelope era's, which answers an unsupported version (the SDK routes so)."""
        return self._http.get(header)

    def envelope(self, version: str | None) -> Era | None:
        """The envelope era of a version a request's `_meta` names; None when it is not one."""
        era = self.by_version.get(version) if version is not None else None
        return era if era is not None and not era.handshake else None

    def stamps(self, server_info: Mapping[str, str]) -> dict[str, dict[str, dict[str, Any]]]:
        """version → method → what the era adds to its results (methods adding nothing left
        out), for every method of the era's surface."""
        return {
            era.version: {
                method: stamp
                for method in SURFACES[era.schema]
                if (stamp := era.stamp(method, server_info))
            }
            for era in self.rows
        }


TABLE = Eras(ERAS)
