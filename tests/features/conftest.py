"""Fixtures for the feature tests.

anyio_backend is module-scoped so one fake upstream and one pair of generated servers can serve
every test of a module (starting them per test would cost ~0.5 s each); each module builds its
spec once (module-scoped `built` fixtures) and resets the fakes between tests.
"""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every feature test builds a spec and serves it: `pytest -m "not slow"` leaves them out."""
    here = Path(__file__).resolve().parent
    for item in items:
        if here in item.path.resolve().parents:
            item.add_marker(pytest.mark.slow)
