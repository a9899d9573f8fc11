import os
import shutil
import tempfile

import pytest

_CACHE_ENV = ("NAFTIKO_GEN_CACHE_DIR", "NAFTIKO_GEN_NO_CACHE")
_saved: dict[str, str | None] = {}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def pytest_configure(config: pytest.Config) -> None:
    """Builds in tests (and CLI subprocesses, which inherit the environment) use a cache folder
    of this session, never the user's real one (~/.cache/naftiko-gen)."""
    for name in _CACHE_ENV:
        _saved[name] = os.environ.pop(name, None)
    os.environ["NAFTIKO_GEN_CACHE_DIR"] = tempfile.mkdtemp(prefix="naftiko-gen-test-cache-")


def pytest_unconfigure(config: pytest.Config) -> None:
    shutil.rmtree(os.environ.get("NAFTIKO_GEN_CACHE_DIR", ""), ignore_errors=True)
    for name, value in _saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
