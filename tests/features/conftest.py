"""Fixtures for the feature tests.

anyio_backend is module-scoped so one fake upstream and one pair of generated servers can serve
every test of a module (starting them per test would cost ~0.5 s each); each module builds its
spec once (module-scoped `built` fixtures) and resets the fakes between tests.
"""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"
