"""The core every generated package shares: upstream sessions, results, errors.

The capability is in upstream.py and the server modules; feature modules ship only when used.
"""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Self
from urllib.parse import quote, urlencode

import aiohttp
from yarl import URL

from ._config import Auth as Auth
from ._config import Config as Config
from ._config import ConfigError as ConfigError
from ._config import Settings as Settings
from ._config import Upstream as Upstream
from ._config import environ_or as environ_or
from ._config import load_config as load_config

MAX_BODY = 64 * 1024 * 1024  # read into memory at most (streamed relays excepted)
IDEMPOTENT = ("GET", "HEAD", "PUT", "DELETE", "OPTIONS")
STREAM_ABOVE = 256 * 1024  # streaming relays read smaller bodies whole (a clean 504 on stalls)
# RFC 6265 cookie-octets go as they are; space, '"', ',', ';', '\\' and controls are encoded.
COOKIE_SAFE = "!#$%&'()*+-./:<=>?@[]^_`{|}~"
NO_CONTENT_TYPE = ("Content-Type",)
BODYLESS = ("GET", "HEAD", "OPTIONS")  # aiohttp adds no Content-Type to these


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
    if value is None or value == "":
        raise InputError(f"missing path parameter '{name}'")
    encoded = quote(text(value), safe="")
    return encoded.replace(".", "%2E") if encoded in (".", "..") else encoded


def present(fields: Mapping[str, Any]) -> dict[str, Any] | None:
    """A JSON object of the fields that have a value; None (no body) when none has."""
    return {k: v for k, v in fields.items() if v is not None} or None


def json_bytes(data: Any) -> bytes:
    """Strict JSON (no NaN/Infinity, no lone surrogates): what every upstream can read."""
    try:
        return json.dumps(data, ensure_ascii=False, allow_nan=False).encode("utf-8")
    except (ValueError, UnicodeEncodeError, RecursionError):
        raise InputError("the request body cannot be encoded as strict JSON") from None


@dataclass(frozen=True)
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
            raise UpstreamError(
                "the upstream answered with a body that is not valid JSON"
            ) from None

    def map(
        self, mapping: Callable[[Any], Any], parse: Callable[[Result], Any] | None = None
    ) -> Result:
        """The mapped output, keeping the status; error answers are relayed as they are."""
        if not self.ok:
            return self
        return Result.of(mapping(parse(self) if parse else self.json()), self.status)


class Client:
    """The upstream sessions of a server process: one keep-alive pool per upstream.

    Each operation may have `concurrency` calls in flight; a call that cannot get a slot
    within the connect timeout is refused (503) rather than queued behind a stalled endpoint.
    """

    def __init__(
        self, upstreams: Iterable[Upstream], config: Config, max_body: int = MAX_BODY
    ) -> None:
        self.config = config
        self.max_body = max_body
        self.stream = False  # streaming(): answers are relayed as they arrive
        self._auth = {u.namespace: u.auth(config) if u.auth else Auth() for u in upstreams}
        self._sessions: dict[str, aiohttp.ClientSession] = {}
        self._timeouts = {
            ns: aiohttp.ClientTimeout(total=s.timeout, connect=s.connect_timeout)
            for ns, s in config.upstreams.items()
        }
        self._slots: dict[str, asyncio.Semaphore] = {}

    def secret(self, name: str) -> str:
        return self.config.secrets[name]

    def streaming(self) -> Client:
        """This client, answering with the upstream body unread (Result.stream) to relay."""
        view = copy.copy(self)
        view.stream = True
        return view

    async def __aenter__(self) -> Self:
        for ns in self._auth:
            connector = aiohttp.TCPConnector(limit=100, ssl=self._auth[ns].ssl)
            self._sessions[ns] = aiohttp.ClientSession(connector=connector)
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
        pairs = [(k, text(v)) for k, value in query for v in _many(value)] + list(auth.query)
        if pairs:
            url += "?" + urlencode(pairs, quote_via=quote)
        sent = dict(auth.headers)
        for name, value in (headers or {}).items():
            if value is not None and value != "":
                sent[name] = _header(name, text(value))
        jar = [
            f"{k}={quote(text(v), safe=COOKIE_SAFE)}"
            for k, v in (cookies or {}).items()
            if v not in (None, "")
        ]
        if jar:
            sent["Cookie"] = "; ".join(jar)
        data: Any = None
        if json is not None:
            data, sent["Content-Type"] = json_bytes(json), "application/json"
        elif body is not None:
            data, content_type = body
            if content_type:
                sent["Content-Type"] = _header("Content-Type", content_type)
        slots = self._slots.get(key := f"{ns} {operation}") or self._slots.setdefault(
            key, asyncio.Semaphore(settings.concurrency)
        )
        try:  # a free slot is taken at once; only a full operation waits (then 503)
            await (
                slots.acquire()
                if not slots.locked()
                else asyncio.wait_for(slots.acquire(), settings.connect_timeout)
            )
        except TimeoutError:
            raise UpstreamBusy(
                f"upstream '{ns}' already has {settings.concurrency} calls of "
                f"{operation or method} in flight; try again shortly"
            ) from None
        try:
            response = await self._request(ns, method, url, sent, data, auth, settings)
            ctype, location = response.headers.get("Content-Type"), response.headers.get("Location")
            small = (response.content_length or STREAM_ABOVE + 1) <= STREAM_ABOVE
            if self.stream and response.status < 300 and not (small and _identity(response)):
                return Result(response.status, ctype, b"", stream=response)
            try:
                return Result(
                    response.status, ctype, await _read(response, self.max_body), location=location
                )
            finally:
                response.release()
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

    async def _request(
        self, ns: str, method: str, url: str, headers: dict[str, str], data: Any, auth: Auth,
        settings: Settings,
    ) -> aiohttp.ClientResponse:  # fmt: skip
        attempts = 1 + (settings.retries if method in IDEMPOTENT else 0)
        for attempt in range(attempts):
            try:
                return await self._sessions[ns].request(
                    method, URL(url, encoded=True), headers=headers, data=data,
                    timeout=self._timeouts[ns],
                    allow_redirects=False, middlewares=auth.middlewares,
                    # A relayed stream keeps its encoding (the caller decodes); read bodies are
                    # decoded here, under the size cap, so a compression bomb stops at the cap.
                    auto_decompress=not self.stream,
                    # No body, no Content-Type: aiohttp would send application/octet-stream.
                    skip_auto_headers=NO_CONTENT_TYPE if data is None and method not in BODYLESS else None,
                )  # fmt: skip
            except aiohttp.ClientConnectionError:
                if attempt + 1 >= attempts:
                    raise
                await asyncio.sleep(0.1 * 2**attempt)  # only calls that never reached upstream
        raise AssertionError("unreachable")


def _many(value: Any) -> list[Any]:
    values = value if isinstance(value, (list, tuple)) else [value]
    return [v for v in values if v is not None and v != ""]


def _header(name: str, value: str) -> str:
    if "\r" in value or "\n" in value:
        raise InputError(f"header parameter '{name}' must not contain line breaks")
    return value


def _identity(response: aiohttp.ClientResponse) -> bool:
    return response.headers.get("Content-Encoding", "identity") == "identity"


async def _read(response: aiohttp.ClientResponse, limit: int) -> bytes:
    if _identity(response) and (response.content_length or limit) < limit:
        return await response.read()  # the common case: small and not compressed
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_chunked(256 * 1024):
        size += len(chunk)
        if size > limit:
            raise UpstreamError(f"the upstream answered with more than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)
