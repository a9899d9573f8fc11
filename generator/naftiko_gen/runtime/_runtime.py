"""The core every generated package shares: upstream sessions, results, errors.

The capability is in upstream.py and the server modules; feature modules ship only when used.
"""

from __future__ import annotations

import asyncio
import copy
import json
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Self
from urllib.parse import quote, urlencode

import aiohttp
from yarl import URL

from ._config import Auth as Auth
from ._config import Config as Config
from ._config import ConfigError as ConfigError
from ._config import Upstream as Upstream
from ._config import environ_or as environ_or
from ._config import load_config as load_config
from ._limits import BUDGET, PARSED_COST, Hidden, Reserved, Slots, decode, read_capped
from ._limits import ZLIB_AUTO as ZLIB_AUTO
from ._limits import ZLIB_CODINGS as ZLIB_CODINGS
from ._limits import UpstreamBusy as UpstreamBusy
from ._limits import UpstreamError as UpstreamError
from ._limits import UpstreamTimeout as UpstreamTimeout
from ._limits import holding as holding

MAX_BODY = 64 * 1024 * 1024  # read into memory at most (streamed relays excepted)
IDEMPOTENT = ("GET", "HEAD", "PUT", "DELETE", "OPTIONS")
STREAM_ABOVE = 256 * 1024  # streaming relays read smaller bodies whole (a clean 504 on stalls)
# RFC 6265 cookie-octets go as they are; space, '"', ',', ';', '\\' and controls are encoded.
COOKIE_SAFE = "!#$%&'()*+-./:<=>?@[]^_`{|}~"
NO_CONTENT_TYPE = ("Content-Type",)
BODYLESS = ("GET", "HEAD", "OPTIONS")  # aiohttp adds no Content-Type to these
UNRESERVED = re.compile(r"[A-Za-z0-9._~-]+").fullmatch  # what quote(safe="") leaves as it is
DOTS = (".", "..")
# Set by _cache while a cacheable function runs: each upstream answer's Cache-Control, noted.
CACHE_CONTROL: ContextVar[list[str] | None] = ContextVar("naftiko_cache_control", default=None)


class InputError(ValueError):
    """The caller's input is missing or invalid; the message names the parameter."""


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
    headers: Mapping[str, str] | None = None  # REST answer headers of its own (_cache: Age)

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
        self.closers: list[Callable[[], Awaitable[None]]] = []  # what closes with it (_cache)

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
        await asyncio.gather(*(close() for close in self.closers))

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
            reserved = Reserved()
            try:
                whole = plain and (length or limit) < limit  # else read in chunks, to the cap
                if whole:
                    reserved.take(cost * (length or 0))
                    raw = await response.read()
                else:
                    raw = await read_capped(response, limit, reserved, cost)
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
            if (noted := CACHE_CONTROL.get()) is not None:
                noted.append(got.get("Cache-Control", ""))
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
