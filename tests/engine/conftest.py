"""Fixtures of the engine-semantics tests: module-scoped anyio (one build and one running stack
per module); every test here builds and serves a package, so all are marked slow."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).resolve().parent
    for item in items:
        if here in item.path.resolve().parents:
            item.add_marker(pytest.mark.slow)
