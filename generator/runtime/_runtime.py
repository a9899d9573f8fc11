"""The core every generated package shares: upstream sessions, results, errors.

The capability is in upstream.py and the server modules; feature modules ship only when used.
"""

from __future__ import annotations

import asyncio
import copy
import json
import re
import zlib
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, NamedTuple, Self
from urllib.parse import parse_qsl, quote, quote_plus, urlencode, urlsplit, urlunsplit

import aiohttp
from yarl import URL

from ._config import DEFAULT_BODY_BUDGET_MB
from ._config import Auth as Auth
from ._config import Config as Config
from ._config import ConfigError as ConfigError
from ._config import Upstream as Upstream
from ._config import environ_or as environ_or
from ._config import load_config as load_config

MAX_BODY = 64 * 1024 * 1024  # read into memory at most (streamed relays excepted)
PARSED_COST = 5  # a body read to be parsed and mapped weighs ~5x its size (text, data, output)
IDEMPOTENT = ("GET", "HEAD", "PUT", "DELETE", "OPTIONS")
STREAM_ABOVE = 256 * 1024  # streaming relays read smaller bodies whole (a clean 504 on stalls)
# RFC 6265 cookie-octets go as they are; space, '"', ',', ';', '\\' and controls are encoded.
COOKIE_SAFE = "!#$%&'()*+-./:<=>?@[]^_`{|}~"
NO_CONTENT_TYPE = ("Content-Type",)
BODYLESS = ("GET", "HEAD", "OPTIONS")  # aiohttp adds no Content-Type to these
UNRESERVED = re.compile(r"[A-Za-z0-9._~-]+").fullmatch  # what quote(safe="") leaves as it is
DOTS = (".", "..")


class InputError(ValueError):
    """The caller's input is missing or invalid; the message names the parameter."""


class UpstreamError(Exception):
    """The upstream API could not be reached, did not answer in time, or answered garbage."""

    status = 502


class UpstreamTimeout(UpstreamError):
    status = 504


class UpstreamBusy(UpstreamError):
    status = 503


def text(value: Any) -> str:
    """A value as it appears inside a URL, header or text template."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return str(value)


def segment(value: Any, name: str) -> str:
    """One path segment, whatever the value: '/', '%', '?', '#' and '..' are encoded."""
    if type(value) is str and UNRESERVED(value) and value not in DOTS:
        return value  # ids and names: nothing to encode (the common case, kept cheap)
    if value is None or value == "":
        raise InputError(f"missing path parameter '{name}'")
    encoded = quote(text(value), safe="")
    return encoded.replace(".", "%2E") if encoded in DOTS else encoded


def present(fields: Mapping[str, Any]) -> dict[str, Any] | None:
    """A JSON object of the fields that have a value; None (no body) when none has."""
    return {k: v for k, v in fields.items() if v is not None} or None


def json_bytes(data: Any) -> bytes:
    """Strict JSON (no NaN/Infinity, no lone surrogates): what every upstream can read."""
    try:
        return json.dumps(data, ensure_ascii=False, allow_nan=False).encode("utf-8")
    except (ValueError, UnicodeEncodeError, RecursionError):
        raise InputError("the request body cannot be encoded as strict JSON") from None


@dataclass(slots=True)  # not frozen: a frozen dataclass pays a setattr call per field
class Result:
    """An upstream answer (or a mapped one): status, content type, bytes and decoded data."""

    status: int
    content_type: str | None
    body: bytes
    data: Any = None
    is_json: bool = False
    location: str | None = None  # of a redirect, relayed as it is
    stream: aiohttp.ClientResponse | None = None  # an unread body, from Client.streaming()

    @classmethod
    def of(cls, data: Any, status: int = 200) -> Result:
        return cls(status, "application/json", json_bytes(data), data, True)

    @property
    def ok(self) -> bool:
        return self.status < 400

    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def json(self) -> Any:
        if self.is_json:
            return self.data
        text = self.body.decode("utf-8-sig", errors="replace")
        try:
            return json.loads(text) if text.strip() else None
        except (ValueError, RecursionError):
            raise UpstreamError("the upstream's answer is not valid JSON") from None

    def map(
        self, mapping: Callable[[Any], Any], parse: Callable[[Result], Any] | None = None
    ) -> Result:
        """The mapped output, keeping the status; error answers are relayed as they are."""
        if not self.ok:
            return self
        return Result.of(mapping(parse(self) if parse else self.json()), self.status)


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


class Client:
    """The upstream sessions of a server process: one keep-alive pool per upstream.

    Isolation: each operation has `concurrency` slots (FIFO), and the pool has no limit of its
    own, so an operation in flight always has its connection: a stalled operation uses up its
    own slots and nothing else (an upstream sees at most operations x concurrency connections).
    A call that gets no slot within the connect timeout is refused (503 + Retry-After) rather
    than queued behind a stalled endpoint."""

    def __init__(
        self, upstreams: Iterable[Upstream], config: Config, max_body: int = MAX_BODY
    ) -> None:
        self.config = config
        self.max_body = max_body
        self.stream = False  # streaming(): answers are relayed as they arrive
        self._auth = {u.namespace: config.auth(u) for u in upstreams}
        self._hidden = {ns: Hidden.of(auth, config.secrets) for ns, auth in self._auth.items()}
        BUDGET.total = config.body_budget
        self._sessions: dict[str, aiohttp.ClientSession] = {}
        self._slots: dict[tuple[str, str], Slots] = {}

    def secret(self, name: str) -> str:
        return self.config.secrets[name]

    def streaming(self) -> Client:
        """This client, answering with the upstream body unread (Result.stream) to relay."""
        view = copy.copy(self)
        view.stream = True
        return view

    async def __aenter__(self) -> Self:
        for ns in self._auth:
            s = self.config.upstreams[ns]
            # No pool-wide limit: the operations' slots are the limits (see the class doc); a
            # shared cap would let five stalled operations take every connection.
            connector = aiohttp.TCPConnector(limit=0, ssl=self._auth[ns].ssl)
            # The session's own timeout: a per-request one costs a timer per call. Waiting for
            # a slot is bounded by Slots; connecting (new connections only) by sock_connect.
            timeout = aiohttp.ClientTimeout(total=s.timeout, sock_connect=s.connect_timeout)
            self._sessions[ns] = aiohttp.ClientSession(connector=connector, timeout=timeout)
        return self

    async def __aexit__(self, *exc: object) -> None:
        for session in self._sessions.values():
            await session.close()
        self._sessions.clear()

    async def send(
        self,
        upstream: Upstream,
        method: str,
        path: str,
        *,
        query: Iterable[tuple[str, Any]] = (),
        headers: Mapping[str, Any] | None = None,
        cookies: Mapping[str, Any] | None = None,
        json: Any = None,
        body: tuple[Any, str] | None = None,
        operation: str = "",
    ) -> Result:
        """One upstream request. `path` is already encoded; None values are left out."""
        ns = upstream.namespace
        auth, settings = self._auth[ns], self.config.upstreams[ns]
        url = settings.base_url + path
        if query or auth.query:
            pairs = [(k, text(v)) for k, value in query for v in _many(value)] + list(auth.query)
            if pairs:
                url += "?" + urlencode(pairs, quote_via=quote)
        sent = dict(auth.headers)
        if headers:
            for name, value in headers.items():
                if value is not None and value != "":
                    sent[name] = _header(name, text(value))
        if cookies and (jar := [(k, v) for k, v in cookies.items() if v not in (None, "")]):
            sent["Cookie"] = "; ".join(f"{k}={quote(text(v), safe=COOKIE_SAFE)}" for k, v in jar)
        data: Any = None
        if json is not None:
            data, sent["Content-Type"] = json_bytes(json), "application/json"
        elif body is not None:
            data, content_type = body
            if content_type:
                sent["Content-Type"] = _header("Content-Type", content_type)
        slots = self._slots.get(key := (ns, operation)) or self._slots.setdefault(
            key, Slots(settings.concurrency)
        )
        if slots.used < slots.limit:  # a free slot is taken at once; a full operation waits
            slots.used += 1
        else:
            try:
                await slots.wait(settings.connect_timeout)
            except TimeoutError:
                raise UpstreamBusy(
                    f"upstream '{ns}' already has {settings.concurrency} calls of "
                    f"{operation or method} in flight; try again shortly"
                ) from None
        attempts = 1 + (settings.retries if method in IDEMPOTENT else 0)
        try:
            for attempt in range(attempts):
                try:
                    response = await self._sessions[ns].request(
                        method, URL(url, encoded=True), headers=sent, data=data,
                        allow_redirects=False, middlewares=auth.middlewares,
                        # A relayed stream keeps its encoding (the caller decodes); read bodies
                        # are decoded here, under the size cap: a compression bomb stops there.
                        auto_decompress=not self.stream,
                        # No body, no Content-Type: aiohttp would send application/octet-stream.
                        skip_auto_headers=NO_CONTENT_TYPE if data is None and method not in BODYLESS else None,
                    )  # fmt: skip
                    break
                except aiohttp.ClientConnectionError:  # only calls that never reached upstream
                    if attempt + 1 >= attempts:
                        raise
                    await asyncio.sleep(0.1 * 2**attempt)
            if response.status < 200:  # 101 Switching Protocols, 1xx: nothing a caller can use
                response.close()
                raise UpstreamError(
                    f"upstream '{ns}' answered {response.status}, not a final answer"
                )
            got, length, limit = response.headers, response.content_length, self.max_body
            encoding = got.get("Content-Encoding", "identity").strip().lower()
            plain = encoding == "identity"
            small = plain and length is not None and length <= STREAM_ABOVE
            if self.stream and response.status < 300 and not small:
                return Result(response.status, got.get("Content-Type"), b"", stream=response)
            cost = 1 if self.stream else PARSED_COST
            reserved = _Reserved()
            try:
                whole = plain and (length or limit) < limit  # else read in chunks, to the cap
                if whole:
                    reserved.take(cost * (length or 0))
                    raw = await response.read()
                else:
                    raw = await _read(response, limit, reserved, cost)
                if not plain and self.stream:  # read undecoded (see auto_decompress): decode
                    decoded = decode(raw, encoding, limit)
                    reserved.take(cost * max(0, len(decoded) - len(raw)))
                    raw = decoded
                hidden = self._hidden[ns]
                location = got.get("Location")
                if hidden and response.status >= 300:  # an upstream may echo its own key
                    raw, location = hidden.body(raw), hidden.url(location)
                answer_type = hidden.header(got.get("Content-Type"))
            except BaseException:
                BUDGET.used -= reserved.size
                raise
            finally:
                response.release()
            reserved.keep()
            return Result(response.status, answer_type, raw, location=location)
        except TimeoutError:
            raise UpstreamTimeout(
                f"upstream '{ns}' did not answer {method} within {settings.timeout:g} s"
            ) from None
        except aiohttp.ClientError as exc:
            raise UpstreamError(
                f"upstream '{ns}' is unreachable or broke off ({type(exc).__name__})"
            ) from None
        finally:
            slots.release()


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


def _many(value: Any) -> list[Any]:
    values = value if isinstance(value, (list, tuple)) else [value]
    return [v for v in values if v is not None and v != ""]


def _header(name: str, value: str) -> str:
    if "\r" in value or "\n" in value:
        raise InputError(f"header parameter '{name}' must not contain line breaks")
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:  # bytes of a caller's header that were not UTF-8
            raise InputError(f"header parameter '{name}' is not valid UTF-8") from None
    return value


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


class _Reserved:
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


async def _read(
    response: aiohttp.ClientResponse, limit: int, reserved: _Reserved, cost: int
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
