"""Fixtures of the end-to-end tests, on the committed seed package (generated/qovery_containers)
and the validating fake Qovery (tests/fakes/qovery.py).

A module's ``TOKEN`` (distinctive, so that a leak is easy to spot) is the one the fake accepts
and ``env`` sets; a module that needs other wiring defines a fixture of the same name.
The end-to-end tests start real servers (some in subprocesses): `pytest -m "not slow"` skips them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from .harness import (
    DEFAULT_TOKEN,
    ENV_BASE_URL,
    ENV_TIMEOUT,
    ENV_TOKEN,
    FakeQovery,
    import_generated,
    run_fake_qovery,
    run_rest_app,
)


@pytest.fixture
def token(request: pytest.FixtureRequest) -> str:
    return str(getattr(request.module, "TOKEN", DEFAULT_TOKEN))


@pytest.fixture
async def fake(token: str) -> AsyncIterator[FakeQovery]:
    """A fake Qovery of the test's own on 127.0.0.1:0."""
    async with run_fake_qovery(token=token) as f:
        yield f


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, fake: FakeQovery, token: str) -> pytest.MonkeyPatch:
    """The generated servers' environment: the token, the fake as upstream, default timeout."""
    monkeypatch.setenv(ENV_TOKEN, token)
    monkeypatch.setenv(ENV_BASE_URL, fake.base_url)
    monkeypatch.delenv(ENV_TIMEOUT, raising=False)
    return monkeypatch


@pytest.fixture
async def rest(env: pytest.MonkeyPatch) -> AsyncIterator[str]:
    """The generated REST server, in process on 127.0.0.1:0; yields its base URL."""
    async with run_rest_app(import_generated("rest_server").create_app()) as base:
        yield base


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=20)) as s:
        yield s


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).resolve().parent
    for item in items:
        if here in item.path.resolve().parents:
            item.add_marker(pytest.mark.slow)
