"""What a server reads from its environment at start-up: upstream URLs, limits, auth."""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable, Iterable, Mapping
from types import MappingProxyType
from typing import Any, NamedTuple

from yarl import URL

DEFAULT_TIMEOUT_SECONDS = 30.0
# All bodies a server process holds in memory at once (read upstream answers, weighted: see
# _runtime.Budget); NAFTIKO_BODY_BUDGET_MB sets it in MiB.
DEFAULT_BODY_BUDGET_MB = 320  # one maximal (64 MiB) parsed body fits


class ConfigError(RuntimeError):
    """Configuration needed at start-up is missing or invalid (a secret, a URL, a timeout)."""


# NamedTuples rather than dataclasses: immutable all the same, and a server imports them
# faster (a dataclass costs about a millisecond of start-up to build).
class Auth(NamedTuple):
    """What every request to one upstream carries, computed once at start-up."""

    headers: Mapping[str, str] = MappingProxyType({})
    query: tuple[tuple[str, str], ...] = ()
    middlewares: tuple[Any, ...] = ()
    ssl: Any = True  # certificate auth: the ssl.SSLContext presenting the client certificate


class Upstream(NamedTuple):
    namespace: str
    base_url: str
    env: str  # prefix of its settings: <ENV>_BASE_URL, _TIMEOUT, _CONNECT_TIMEOUT, _CONCURRENCY, _RETRIES
    auth: Callable[[Config], Auth] | None = None


class Settings(NamedTuple):
    base_url: str
    timeout: float  # the whole request, once a connection is had
    connect_timeout: float  # waiting for a free slot and connecting
    concurrency: int  # calls in flight per operation; more wait connect_timeout, then 503
    retries: int  # of idempotent calls that could not connect (0: none)


class Config:
    def __init__(self, upstreams: dict[str, Settings], secrets: dict[str, str]) -> None:
        self.upstreams, self.secrets = upstreams, secrets
        self.auths: dict[str, Auth] = {}  # built by load_config
        self.body_budget = DEFAULT_BODY_BUDGET_MB * 1024 * 1024  # bytes; set by load_config
        self.cache: Any = None  # _cache.Settings, read by upstream.load_config when it caches

    def secret(self, name: str) -> str:
        return self.secrets[name]

    def auth(self, up: Upstream) -> Auth:
        """What requests to `up` carry: as load_config built it, else built now."""
        found = self.auths.get(up.namespace)
        return found if found is not None else up.auth(self) if up.auth else Auth()


def _number(environ: Mapping[str, str], name: str, default: float, whole: bool = False) -> float:
    raw = environ.get(name)
    try:
        value = float(raw) if raw else default
    except ValueError:
        raise ConfigError(f"{name} must be a number, not {raw!r}") from None
    if not math.isfinite(value) or value < (0 if whole else 1e-3) or (whole and value % 1):
        raise ConfigError(f"{name} must be a finite {'whole ' if whole else 'positive '}number")
    return value


_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")  # a baseUri built from the environment


def _variables(environ: Mapping[str, str], namespace: str) -> Callable[[re.Match[str]], str]:
    def value(m: re.Match[str]) -> str:
        if not environ.get(m[1]):
            raise ConfigError(f"{m[1]} is not set: the base URL of {namespace!r} is built from it")
        return environ[m[1]]

    return value


def load_config(
    upstreams: Iterable[Upstream], secrets: Mapping[str, str], environ: Mapping[str, str]
) -> Config:
    """Each upstream's URL, limits and auth from the environment (or defaults); ConfigError
    if bad."""
    upstreams = list(upstreams)
    settings: dict[str, Settings] = {}
    for up in upstreams:
        base = environ.get(f"{up.env}_BASE_URL") or _PLACEHOLDER.sub(
            _variables(environ, up.namespace), up.base_url
        )
        parsed = URL(base)
        if parsed.scheme not in ("http", "https") or not parsed.host:
            # The value is not repeated: a URL can carry credentials (user:password@).
            what = f"its scheme is {parsed.scheme!r}" if parsed.scheme else "it has no scheme"
            raise ConfigError(f"{up.env}_BASE_URL must be an http(s) URL with a host; {what}")
        if parsed.user is not None or parsed.password is not None:
            raise ConfigError(
                f"{up.env}_BASE_URL must not carry credentials (user:password@): they would be "
                "sent to every redirect and shown in errors; declare the upstream's "
                "'authentication' and pass its secret in the environment"
            )
        settings[up.namespace] = Settings(
            base.rstrip("/"),
            _number(environ, f"{up.env}_TIMEOUT", DEFAULT_TIMEOUT_SECONDS),
            _number(environ, f"{up.env}_CONNECT_TIMEOUT", 5.0),
            max(1, int(_number(environ, f"{up.env}_CONCURRENCY", 32, whole=True))),
            int(_number(environ, f"{up.env}_RETRIES", 0, whole=True)),
        )
    config = Config(settings, dict(secrets))
    budget = _number(environ, "NAFTIKO_BODY_BUDGET_MB", DEFAULT_BODY_BUDGET_MB)
    config.body_budget = int(budget * 1024 * 1024)
    # Built now, before serving: a key or certificate that does not load is a ConfigError that
    # main reports in one line, not a traceback once the server has started.
    config.auths = {up.namespace: up.auth(config) for up in upstreams if up.auth is not None}
    return config


DEFAULT_SHUTDOWN_GRACE = 8.0  # under Kubernetes' 10 s floor; deploy-files allows it + 2 s


def shutdown_grace(environ: Mapping[str, str] | None = None) -> float:
    """Seconds a stopping server lets calls in flight finish (NAFTIKO_SHUTDOWN_GRACE); a bad
    value is the default, not a failure at the moment of stopping."""
    raw = environ_or(environ).get("NAFTIKO_SHUTDOWN_GRACE", "")
    try:
        value = float(raw) if raw else DEFAULT_SHUTDOWN_GRACE
    except ValueError:
        return DEFAULT_SHUTDOWN_GRACE
    if not math.isfinite(value) or value < 0:
        return DEFAULT_SHUTDOWN_GRACE
    return max(value, 0.1)  # aiohttp reads 0 as "no limit"


def environ_or(environ: Mapping[str, str] | None) -> Mapping[str, str]:
    return os.environ if environ is None else environ
