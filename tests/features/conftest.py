"""Fixtures for the feature tests.

A module that sets ``STACK = Stack(spec, fakes, ...)`` (tests/features/upstream.py) gets:

* ``built``: its spec built and its server modules imported, once per module;
* ``h``: the fake upstreams, both generated servers and an MCP client, started once per module
  (anyio_backend is module-scoped for that: starting them per test would cost ~0.5 s each);
* the fakes' routes and journals reset before each test that uses ``h``.

A module with needs of its own defines a fixture of the same name, which takes precedence.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.features.upstream import Built, Harness, Stack, build_package, harness


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


def _stack(request: pytest.FixtureRequest) -> Stack:
    stack = getattr(request.module, "STACK", None)
    assert isinstance(stack, Stack), f"{request.module.__name__} sets no STACK = Stack(...)"
    return stack


@pytest.fixture(scope="module")
def built(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Built:
    stack = _stack(request)
    out = tmp_path_factory.mktemp(stack.spec.stem)
    if not stack.elsewhere:
        return build_package(stack.spec, out, rest=stack.rest)
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(tmp_path_factory.mktemp("cwd"))
        return build_package(stack.spec.resolve(), out, rest=stack.rest)


@pytest.fixture(scope="module")
async def h(request: pytest.FixtureRequest, built: Built) -> AsyncIterator[Harness]:
    stack = _stack(request)
    async with harness(
        built, stack.fakes(), env=stack.env, base_paths=stack.base_paths, rest=stack.rest
    ) as running:
        yield running


@pytest.fixture(autouse=True)
def _reset(request: pytest.FixtureRequest) -> None:
    if "h" in request.fixturenames:
        request.getfixturevalue("h").reset()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every feature test builds a spec and serves it: `pytest -m "not slow"` leaves them out."""
    here = Path(__file__).resolve().parent
    for item in items:
        if here in item.path.resolve().parents:
            item.add_marker(pytest.mark.slow)
