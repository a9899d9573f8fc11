"""What keeps a server process within bounds: per-operation slots, the memory budget of read
bodies, decoding under a cap, and the secrets kept out of what is relayed (issue #20).

The upstream errors live here too, as these raise them; _runtime re-exports everything.
"""

from __future__ import annotations

import asyncio
import zlib
from collections import deque
from collections.abc import Mapping
from contextvars import ContextVar
from typing import Any, NamedTuple
from urllib.parse import parse_qsl, quote, quote_plus, urlencode, urlsplit, urlunsplit

import aiohttp

from ._config import DEFAULT_BODY_BUDGET_MB, Auth

PARSED_COST = 5  # a body read to be parsed and mapped weighs ~5x its size (text, data, output)


class UpstreamError(Exception):
    """The upstream API could not be reached, did not answer in time, or answered garbage."""

    status = 502


class UpstreamTimeout(UpstreamError):
    status = 504


class UpstreamBusy(UpstreamError):
    status = 503


class Budget:
    """The memory all read bodies of this process may use at once (Config.body_budget): each
    read reserves its size (PARSED_COST times that when it will be parsed and mapped) before
    reading, and a read that does not fit is refused (503 + Retry-After) rather than letting
    concurrent big answers add up past the process's memory. Reservations are held until the
    caller's request ends (`holding`), or, outside one, until the call returns."""

    def __init__(self) -> None:
        self.total, self.used = DEFAULT_BODY_BUDGET_MB * 1024 * 1024, 0

    def take(self, size: int) -> bool:
        if self.used + size > self.total:
            return False
        self.used += size
        return True


BUDGET = Budget()
HELD: ContextVar[list[int] | None] = ContextVar("naftiko_held_bytes", default=None)


def holding() -> Any:
    """For one request: `with holding():` gives back what its calls reserved when it ends."""
    return _Holding()


class _Holding:
    def __enter__(self) -> None:
        self.token = HELD.set([])

    def __exit__(self, *exc: object) -> None:
        BUDGET.used -= sum(HELD.get() or ())
        HELD.reset(self.token)


class Hidden(NamedTuple):
    """What must never reach a caller: the upstream's query credentials (by name) and every
    secret value (as written and percent-encoded). An upstream may repeat its request URL in a
    redirect's Location (a trailing-slash 301) or in an error body."""

    names: frozenset[str]
    values: tuple[str, ...]

    @classmethod
    def of(cls, auth: Auth, secrets: Mapping[str, str]) -> Hidden:
        plain = {v for v in (*secrets.values(), *(v for _, v in auth.query)) if len(v) >= 4}
        plain |= {v for v in auth.headers.values() if len(v) >= 8}
        encoded = {f(v) for v in plain for f in (_quoted, quote_plus)}
        values = tuple(sorted(plain | encoded, key=len, reverse=True))  # longest first
        return cls(frozenset(k for k, _ in auth.query), values)

    def __bool__(self) -> bool:
        return bool(self.names or self.values)

    def url(self, url: str | None) -> str | None:
        """`url` without the credential query parameters; None if a secret is still in it."""
        if not url:
            return url
        if self.names and "?" in url:
            parts = urlsplit(url)
            kept = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
                    if k not in self.names]  # fmt: skip
            url = urlunsplit(parts._replace(query=urlencode(kept, quote_via=quote)))
        return self.header(url)

    def header(self, value: str | None) -> str | None:
        """`value`, or None when a secret is in it (the header is left out)."""
        if value is None or not any(v in value for v in self.values):
            return value
        return None

    def body(self, raw: bytes) -> bytes:
        for value in self.values:
            secret = value.encode("utf-8", "surrogateescape")
            if secret in raw:
                raw = raw.replace(secret, b"[redacted]")
        return raw


def _quoted(value: str) -> str:
    return quote(value, safe="")


class Slots:
    """Calls in flight of one operation: `used` of `limit`; callers beyond wait in line (FIFO)
    and an ending call hands its slot to the first of them: one wake-up per slot, not a
    broadcast that wakes every waiter to find the slot taken."""

    def __init__(self, limit: int) -> None:
        self.limit, self.used = limit, 0
        self.waiting: deque[asyncio.Future[None]] = deque()

    async def wait(self, seconds: float) -> None:
        """A slot within `seconds`, else TimeoutError."""
        slot = asyncio.get_running_loop().create_future()
        self.waiting.append(slot)
        try:
            async with asyncio.timeout(seconds):
                await slot
        except BaseException:
            if slot.done() and not slot.cancelled():
                self.release()  # handed over just as the wait ended: passed on
            else:
                slot.cancel()  # left in line; release() skips it
            raise

    def release(self) -> None:
        while self.waiting:
            slot = self.waiting.popleft()
            if not slot.done():
                slot.set_result(None)  # the slot goes to it: `used` is unchanged
                return
        self.used -= 1


ZLIB_CODINGS = ("gzip", "x-gzip", "deflate")
ZLIB_AUTO = 47  # zlib's wbits for "a gzip or a zlib header, detected"


def decode(raw: bytes, encoding: str, limit: int) -> bytes:
    """A gzip/deflate body decoded, at most `limit` bytes (a compression bomb stops there)."""
    if encoding not in ZLIB_CODINGS:
        raise UpstreamError(f"the upstream answered in the {encoding!r} encoding: not decodable")
    decoder = zlib.decompressobj(ZLIB_AUTO)
    try:
        out = decoder.decompress(raw, limit + 1)
    except zlib.error:
        raise UpstreamError(f"the upstream's {encoding} answer is corrupt") from None
    if len(out) > limit:
        raise UpstreamError(f"the upstream answered with more than {limit} bytes")
    return out


class Reserved:
    """What one read reserved of the BUDGET (given back on failure, or kept for the request)."""

    __slots__ = ("size",)

    def __init__(self) -> None:
        self.size = 0

    def take(self, size: int) -> None:
        if not BUDGET.take(size):
            mib = BUDGET.total // (1024 * 1024)
            raise UpstreamBusy(
                f"this server's memory budget for answers ({mib} MiB) is in use; try again "
                "shortly"
            )
        self.size += size

    def keep(self) -> None:
        """The body is kept: held until the request ends, or given back now outside one."""
        held = HELD.get()
        if held is None:
            BUDGET.used -= self.size
        else:
            held.append(self.size)


async def read_capped(
    response: aiohttp.ClientResponse, limit: int, reserved: Reserved, cost: int
) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_chunked(256 * 1024):
        size += len(chunk)
        if size > limit:
            raise UpstreamError(f"the upstream answered with more than {limit} bytes")
        reserved.take(cost * len(chunk))
        chunks.append(chunk)
    return b"".join(chunks)
