"""The core every generated package shares: config, one upstream session, results, errors.

The capability itself is in upstream.py and the server modules; feature modules beside this
one (_rest, _mcp, _mapping, _formats, _forms, _binds, _inbound) ship only when used.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self
from urllib.parse import quote, urlencode

import aiohttp
from yarl import URL

MAX_RESPONSE_BYTES = 64 * 1024 * 1024
DEFAULT_TIMEOUT_SECONDS = 30.0
# RFC 6265 cookie-octets go as they are; space, '"', ',', ';', '\\' and controls are encoded.
COOKIE_SAFE = "!#$%&'()*+-./:<=>?@[]^_`{|}~"
NO_CONTENT_TYPE = ("Content-Type",)
JSON_TYPES: dict[str, Any] = {
    "string": str, "integer": int, "number": (int, float), "boolean": bool, "array": list,
    "object": dict,
}  # fmt: skip


class ConfigError(RuntimeError):
    """Configuration needed at start-up is missing or invalid (a secret, a URL, a timeout)."""


class InputError(ValueError):
    """The caller's input is missing or invalid; the message names the parameter."""


class UpstreamError(Exception):
    """The upstream API could not be reached, did not answer in time, or answered garbage."""

    status = 502


class UpstreamTimeout(UpstreamError):
    status = 504


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


def check(name: str, value: Any, kind: str, pattern: str | None = None) -> Any:
    """Validate one JSON input value against its declared type (and pattern)."""
    if kind == "integer" and isinstance(value, float) and value.is_integer():
        value = int(value)
    wrong_bool = isinstance(value, bool) and kind in ("integer", "number")
    if wrong_bool or not isinstance(value, JSON_TYPES.get(kind, object)):
        raise InputError(f"parameter '{name}' must be of type {kind}")
    if pattern is not None and isinstance(value, str) and not re.search(pattern, value):
        raise InputError(f"parameter '{name}' must match pattern {pattern}")
    return value


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
class Auth:
    """What every request to one upstream carries, computed once at start-up."""

    headers: Mapping[str, str] = field(default_factory=dict)
    query: tuple[tuple[str, str], ...] = ()
    middlewares: tuple[Any, ...] = ()


@dataclass(frozen=True)
class Upstream:
    namespace: str
    base_url: str
    base_url_env: str
    timeout_env: str
    auth: Callable[[Config], Auth] | None = None


@dataclass
class Config:
    base_urls: dict[str, str]
    timeouts: dict[str, float]
    secrets: dict[str, str]

    def secret(self, name: str) -> str:
        return self.secrets[name]


def load_config(
    upstreams: Iterable[Upstream], secrets: Mapping[str, str], environ: Mapping[str, str]
) -> Config:
    """Base URLs and timeouts from the environment (or the spec); raise ConfigError if bad."""
    base_urls: dict[str, str] = {}
    timeouts: dict[str, float] = {}
    for up in upstreams:
        base = environ.get(up.base_url_env) or up.base_url
        parsed = URL(base)
        if parsed.scheme not in ("http", "https") or not parsed.host:
            raise ConfigError(f"{up.base_url_env} must be an http(s) URL, not {base!r}")
        base_urls[up.namespace] = base.rstrip("/")
        raw = environ.get(up.timeout_env)
        try:
            timeout = float(raw) if raw else DEFAULT_TIMEOUT_SECONDS
        except ValueError:
            raise ConfigError(f"{up.timeout_env} must be a number of seconds") from None
        if not math.isfinite(timeout) or timeout <= 0:
            raise ConfigError(f"{up.timeout_env} must be a positive, finite number of seconds")
        timeouts[up.namespace] = timeout
    return Config(base_urls, timeouts, dict(secrets))


def environ_or(environ: Mapping[str, str] | None) -> Mapping[str, str]:
    return os.environ if environ is None else environ


@dataclass(frozen=True)
class Result:
    """An upstream answer (or a mapped one): status, content type, bytes and decoded data."""

    status: int
    content_type: str | None
    body: bytes
    data: Any = None
    is_json: bool = False

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
    """One aiohttp session (keep-alive pool) for every upstream call of a server process."""

    def __init__(self, upstreams: Iterable[Upstream], config: Config) -> None:
        self.config = config
        self._auth = {u.namespace: u.auth(config) if u.auth else Auth() for u in upstreams}
        self._timeouts = {ns: aiohttp.ClientTimeout(total=t) for ns, t in config.timeouts.items()}
        self._session: aiohttp.ClientSession | None = None

    def secret(self, name: str) -> str:
        return self.config.secrets[name]

    async def __aenter__(self) -> Self:
        self._session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=100))
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

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
    ) -> Result:
        """One upstream request. `path` is already encoded; None values are left out."""
        if self._session is None:
            raise RuntimeError("Client used outside 'async with'")
        ns = upstream.namespace
        auth = self._auth[ns]
        url = self.config.base_urls[ns] + path
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
                sent["Content-Type"] = content_type
        try:
            async with self._session.request(
                method,
                URL(url, encoded=True),
                headers=sent,
                data=data,
                timeout=self._timeouts[ns],
                allow_redirects=False,
                middlewares=auth.middlewares,
                # No body, no Content-Type: aiohttp would send application/octet-stream.
                skip_auto_headers=NO_CONTENT_TYPE if data is None else None,
            ) as response:
                return Result(
                    response.status, response.headers.get("Content-Type"), await _read(response)
                )
        except TimeoutError:
            raise UpstreamTimeout(
                f"upstream '{ns}' did not answer {method} within {self.config.timeouts[ns]:g} s"
            ) from None
        except aiohttp.ClientError as exc:
            raise UpstreamError(f"upstream '{ns}' is unreachable ({type(exc).__name__})") from None


def _many(value: Any) -> list[Any]:
    values = value if isinstance(value, (list, tuple)) else [value]
    return [v for v in values if v is not None and v != ""]


def _header(name: str, value: str) -> str:
    if "\r" in value or "\n" in value:
        raise InputError(f"header parameter '{name}' must not contain line breaks")
    return value


async def _read(response: aiohttp.ClientResponse) -> bytes:
    length = response.content_length
    if length is not None and length <= MAX_RESPONSE_BYTES:
        return await response.read()
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_chunked(256 * 1024):
        size += len(chunk)
        if size > MAX_RESPONSE_BYTES:
            raise UpstreamError(f"the upstream answered with more than {MAX_RESPONSE_BYTES} bytes")
        chunks.append(chunk)
    return b"".join(chunks)
