"""Secrets from binds: read once at start-up from the environment, never logged."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass

from . import _runtime as rt


@dataclass(frozen=True)
class SecretSource:
    """Where a bind value comes from: an environment variable, or a key of a bind file."""

    bind: str
    key: str
    file: str | None = None  # relative to the package folder
    multiline: bool = False  # PEM text (a key, a certificate): line breaks allowed


def env_secrets(sources: Mapping[str, SecretSource], environ: Mapping[str, str]) -> dict[str, str]:
    """The environment-bound secrets; raises ConfigError naming the first one missing."""
    values: dict[str, str] = {}
    for name, source in sources.items():
        if source.file is not None:
            continue
        value = environ.get(source.key)
        if not value:
            raise rt.ConfigError(
                f"environment variable {source.key} is not set (bind '{source.bind}'); "
                "set it before starting the server"
            )
        values[name] = value if source.multiline else checked(name, value)
    return values


def checked(name: str, value: str) -> str:
    # A line break would end a header early (or smuggle another): refuse it at start-up.
    if "\r" in value or "\n" in value:
        raise rt.ConfigError(f"secret {name} contains a line break; it cannot go in a header")
    return value


def basic_auth(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode("ascii")
