"""Answers of cacheable functions (`semantics: {cacheable: true}`), kept for a while.

In process by default: at most NAFTIKO_CACHE_SIZE entries (least recently used go first), each
kept NAFTIKO_CACHE_TTL seconds, or less when an upstream answer says so (`s-maxage`/`max-age`).
An upstream answer marked `no-store`, `no-cache` or `private` is never kept: this cache answers
every caller. Only 2xx answers are kept; errors always go upstream again.

NAFTIKO_CACHE_URL=redis://host:port/db shares entries between workers and replicas through
Redis (behind the in-process entries). Redis unreachable means calls go upstream: one warning,
never an error, and Redis is tried again a few seconds later.

The key is the function and the canonical JSON of its inputs, hashed (an input may be a token).
Never the caller's credentials: a function sends upstream only its inputs and this server's own
secrets, so its answer is the same whoever asks. Concurrent identical misses in a process share
one upstream call.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import importlib
import json
import logging
import math
import time
import weakref
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Concatenate, NamedTuple, ParamSpec

from yarl import URL

from . import _runtime as rt

LOG = logging.getLogger("naftiko.cache")
P = ParamSpec("P")
Function = Callable[Concatenate[rt.Client, P], Awaitable[rt.Result]]
Count = Callable[[str, bool], None]  # (function, hit): _metrics counts lookups when it ships

DEFAULT_TTL = 60.0  # seconds
DEFAULT_SIZE = 1024  # entries per process
REDIS_TIMEOUT = 0.5  # seconds: a slow Redis must not cost more than an upstream call
REDIS_RETRY = 5.0  # seconds before an unreachable Redis is tried again
NOT_KEPT = ("no-store", "no-cache", "private")  # upstream directives this cache honours


class Settings(NamedTuple):
    ttl: float  # 0: nothing is kept (concurrent identical calls still share one)
    size: int
    url: str | None  # Redis, shared by every server given the same URL


def settings(environ: Mapping[str, str]) -> Settings:
    """The cache's settings from the environment; ConfigError (one line) when bad."""
    ttl = _number(environ, "NAFTIKO_CACHE_TTL", DEFAULT_TTL)
    size = _number(environ, "NAFTIKO_CACHE_SIZE", DEFAULT_SIZE)
    if size % 1:
        raise rt.ConfigError("NAFTIKO_CACHE_SIZE must be a whole number of entries")
    url = environ.get("NAFTIKO_CACHE_URL") or None
    if url is not None:
        # The value is never repeated: a Redis URL may carry a password.
        if URL(url).scheme not in ("redis", "rediss", "unix"):
            raise rt.ConfigError(
                "NAFTIKO_CACHE_URL must be a redis://host:port/db (or rediss://, unix://) URL"
            )
        try:
            importlib.import_module("redis.asyncio")
        except ImportError:
            LOG.warning(
                "NAFTIKO_CACHE_URL is set but the 'redis' package is not installed "
                "(pip install 'redis>=5'): the cache stays in this process"
            )
            url = None
    return Settings(ttl, int(size), url)


def _number(environ: Mapping[str, str], name: str, default: float) -> float:
    raw = environ.get(name)
    try:
        value = float(raw) if raw else default
    except ValueError:
        raise rt.ConfigError(f"{name} must be a number, not {raw!r}") from None
    if not math.isfinite(value) or value < 0:
        raise rt.ConfigError(f"{name} must be a finite number, 0 or more")
    return value


def cached(name: str, scope: str = "public", count: Count | None = None) -> Callable[
    [Function[P]], Function[P]
]:  # fmt: skip
    """A cacheable function of functions.py: its answers are kept (see the module doc).
    `scope`: `private` when an adapter exposing it checks its callers, so that REST answers
    tell shared caches (proxies, CDNs) not to keep them."""

    def wrap(function: Function[P]) -> Function[P]:
        prefix = f"naftiko:{function.__module__}:{name}:"

        async def run(client: rt.Client, /, *args: P.args, **kwargs: P.kwargs) -> rt.Result:
            key = prefix + digest(kwargs)  # functions.py's inputs are keyword-only
            call = functools.partial(function, client, *args, **kwargs)
            return await store(client).answer(key, name, scope, count, call)

        functools.update_wrapper(run, function)  # its name and docstring, for tracebacks
        return run

    return wrap


def digest(inputs: Mapping[str, Any]) -> str:
    """The inputs' canonical JSON, hashed: equal inputs, equal keys, whatever their order."""
    text = json.dumps(
        inputs, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=repr
    )
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(slots=True)
class Entry:
    """A kept 2xx answer, with when it was stored and until when it is fresh (epoch seconds:
    Redis entries are shared between machines)."""

    status: int
    content_type: str | None
    body: bytes
    location: str | None
    stored: float
    expires: float

    def result(self, now: float, scope: str) -> rt.Result:
        """The kept answer, with how fresh it is (REST relays Cache-Control and Age)."""
        age, left = max(0, int(now - self.stored)), max(0, math.ceil(self.expires - now))
        headers = {"Cache-Control": f"{scope}, max-age={left}", "Age": str(age)}
        return rt.Result(
            self.status, self.content_type, self.body, location=self.location, headers=headers
        )

    def dump(self) -> bytes:
        head = [self.status, self.content_type, self.location, self.stored, self.expires]
        return json.dumps(head).encode() + b"\n" + self.body

    @classmethod
    def load(cls, raw: bytes) -> Entry:
        head, _, body = raw.partition(b"\n")
        status, content_type, location, stored, expires = json.loads(head)
        return cls(int(status), content_type, body, location, float(stored), float(expires))


def directives(header: str) -> dict[str, str]:
    """A Cache-Control value's directives, by lowercase name (`max-age` → its value)."""
    found = {}
    for part in header.lower().split(","):
        name, _, value = part.strip().partition("=")
        found[name] = value.strip().strip('"')
    return found


def forbidden(noted: list[str]) -> bool:
    """An upstream answer forbids keeping it (`no-store`, `no-cache`, `private`)."""
    return any(d in directives(header) for header in noted for d in NOT_KEPT)


def freshness(answer: rt.Result, noted: list[str], ttl: float) -> float | None:
    """How long `answer` may be kept (seconds), or None: not a 2xx, or an upstream answer it
    was made of forbids it. The shortest `s-maxage` (else `max-age`) of them bounds `ttl`."""
    if not 200 <= answer.status < 300 or answer.status == 206 or answer.stream is not None:
        return None
    if forbidden(noted):
        return None
    for header in noted:
        found = directives(header)
        limit = found.get("s-maxage", found.get("max-age"))
        if limit is not None:
            try:
                ttl = min(ttl, max(0.0, float(limit)))
            except ValueError:
                return None  # a malformed max-age is treated as stale (RFC 9111, 4.2.1)
    return ttl if ttl > 0 else None


class Store:
    """The cache of one upstream client (a server process), optionally backed by Redis."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.entries: OrderedDict[str, Entry] = OrderedDict()
        self.flights: dict[str, asyncio.Future[rt.Result]] = {}
        self.redis: Any = None  # redis.asyncio.Redis, opened at the first lookup
        self.redis_back_at = 0.0  # monotonic time before which Redis is not tried (it failed)
        self.redis_failing = False  # a warning was logged; the next success says it is back

    async def answer(
        self,
        key: str,
        name: str,
        scope: str,
        count: Count | None,
        call: Callable[[], Awaitable[rt.Result]],
    ) -> rt.Result:
        now = time.time()
        entry = self.entries.get(key)
        if entry is not None and entry.expires > now:
            self.entries.move_to_end(key)
            if count:
                count(name, True)
            return entry.result(now, scope)
        flight = self.flights.get(key)
        if flight is None:
            # A task of its own: a caller who gives up (a closed connection) does not cancel
            # the call the others wait for, and its answer is still kept.
            flight = self.flights[key] = asyncio.ensure_future(
                self.fill(key, name, scope, count, call)
            )
            flight.add_done_callback(functools.partial(self.landed, key))
        elif count:
            count(name, True)  # the call in flight answers it: no upstream call of its own
        return await asyncio.shield(flight)

    def landed(self, key: str, flight: asyncio.Future[rt.Result]) -> None:
        self.flights.pop(key, None)
        if not flight.cancelled():
            flight.exception()  # retrieved: a failure nobody awaited any more is not logged

    async def fill(
        self,
        key: str,
        name: str,
        scope: str,
        count: Count | None,
        call: Callable[[], Awaitable[rt.Result]],
    ) -> rt.Result:
        shared = await self.shared(key)
        if shared is not None:
            self.keep(key, shared)
            if count:
                count(name, True)
            return shared.result(time.time(), scope)
        if count:
            count(name, False)
        noted: list[str] = []
        token = rt.CACHE_CONTROL.set(noted)  # each upstream answer's Cache-Control, noted
        try:
            answer = await call()
        finally:
            rt.CACHE_CONTROL.reset(token)
        ttl = freshness(answer, noted, self.settings.ttl)
        if ttl is None:
            if answer.ok and forbidden(noted):
                answer.headers = {"Cache-Control": "no-store"}  # as the upstream asked
            return answer
        now = time.time()
        entry = Entry(
            answer.status, answer.content_type, answer.body, answer.location, now, now + ttl
        )
        self.keep(key, entry)
        await self.share(key, entry, ttl)
        answer.headers = {"Cache-Control": f"{scope}, max-age={math.ceil(ttl)}", "Age": "0"}
        return answer

    def keep(self, key: str, entry: Entry) -> None:
        if self.settings.size <= 0:
            return
        self.entries[key] = entry
        self.entries.move_to_end(key)
        while len(self.entries) > self.settings.size:
            self.entries.popitem(last=False)

    # -- Redis: best effort ----------------------------------------------------------------

    def _client(self) -> Any:
        if self.settings.url is None or time.monotonic() < self.redis_back_at:
            return None
        if self.redis is None:
            redis = importlib.import_module("redis.asyncio")  # checked by settings()
            self.redis = redis.from_url(
                self.settings.url,
                socket_connect_timeout=REDIS_TIMEOUT,
                socket_timeout=REDIS_TIMEOUT,
                retry_on_timeout=False,
            )
        return self.redis

    async def shared(self, key: str) -> Entry | None:
        redis = self._client()
        if redis is None:
            return None
        try:
            raw = await redis.get(key)
        except Exception as exc:  # noqa: BLE001 - whatever Redis raises, the call goes upstream
            self._failed(exc)
            return None
        self._reached()
        if raw is None:
            return None
        try:
            entry = Entry.load(raw)
        except (ValueError, TypeError):
            return None  # not an entry this version wrote: fetched again, then overwritten
        return entry if entry.expires > time.time() else None

    async def share(self, key: str, entry: Entry, ttl: float) -> None:
        redis = self._client()
        if redis is None:
            return
        try:
            await redis.set(key, entry.dump(), px=max(1, int(ttl * 1000)))
        except Exception as exc:  # noqa: BLE001 - the answer is had; only sharing it failed
            self._failed(exc)
            return
        self._reached()

    def _failed(self, exc: Exception) -> None:
        self.redis_back_at = time.monotonic() + REDIS_RETRY
        if not self.redis_failing:
            self.redis_failing = True
            where = _where(self.settings.url)
            LOG.warning(
                "the shared cache (Redis at %s) is unreachable (%s): calls go upstream; "
                "trying it again every %g s",
                where, type(exc).__name__, REDIS_RETRY,
            )  # fmt: skip

    def _reached(self) -> None:
        if self.redis_failing:
            self.redis_failing = False
            LOG.warning("the shared cache (Redis at %s) answers again", _where(self.settings.url))

    async def close(self) -> None:
        if self.redis is not None:
            redis, self.redis = self.redis, None
            with contextlib.suppress(Exception):  # a connection Redis already dropped
                await redis.aclose()


def _where(url: str | None) -> str:
    """Host and port only: the URL may carry a password."""
    parsed = URL(url or "")
    return f"{parsed.host}:{parsed.port}" if parsed.host else parsed.path


STORES: weakref.WeakKeyDictionary[rt.Client, Store] = weakref.WeakKeyDictionary()


def store(client: rt.Client) -> Store:
    """The cache of `client` (one per server process): its settings were read at start-up."""
    found = STORES.get(client)
    if found is None:
        config = client.config.cache
        found = STORES[client] = Store(
            config if isinstance(config, Settings) else Settings(DEFAULT_TTL, DEFAULT_SIZE, None)
        )
        client.closers.append(found.close)
    return found
