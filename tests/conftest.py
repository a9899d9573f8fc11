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


# The longest modules, longest first. `--dist loadscope` keeps a module on one worker and hands
# modules out in collection order: one of these collected last would run alone on one core
# while the other idles (about two minutes of CI, measured). Started first, they overlap with
# the many short modules instead.
LONGEST_FIRST = (
    "tests/e2e/test_readme_path.py",
    "tests/robustness/test_property.py",
    "tests/robustness/test_startup_sweep.py",
    "tests/test_import.py",
    "tests/versions/test_ikanos_beta5.py",
    "tests/test_precommit.py",
    "tests/robustness/test_build_atomic.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

    def rank(item: pytest.Item) -> int:
        rel = os.path.relpath(str(item.path), root).replace(os.sep, "/")
        return LONGEST_FIRST.index(rel) if rel in LONGEST_FIRST else len(LONGEST_FIRST)

    items.sort(key=rank)  # stable: each module's own order is kept
