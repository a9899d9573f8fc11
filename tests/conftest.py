import os
import shutil
import tempfile

import pytest

_CACHE_ENV = ("NAFTIKO_GEN_CACHE_DIR", "NAFTIKO_GEN_NO_CACHE")
_saved: dict[str, str | None] = {}


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """`-n auto` (pyproject addopts): one worker more than the cores this process may use. Much
    of the suite waits on server processes and sockets (start-ups, stalled upstreams, graceful
    stops); with one worker per core, a core idles while its worker waits. On 2 cores the whole
    suite took 258-262 s with 3 workers and 287 s with 2 (docs/benchmarks.md, CI and the test
    suite)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return (cores or 1) + 1


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


# The longest modules, longest first (measured with coverage, CI's way). `--dist loadscope` keeps
# a module on one worker, and `--no-loadscope-reorder` (pyproject) hands modules out in collection
# order: one of these collected last would run alone at the end while the other workers idle
# (xdist's default order, by number of tests, put the README path, 6 tests and two pip installs,
# last: a minute of CI with one core busy). Started first, they overlap with the many short ones.
LONGEST_FIRST = (
    "tests/e2e/test_readme_path.py",
    "tests/robustness/test_property.py",
    "tests/test_precommit.py",
    "tests/test_import.py",
    "tests/test_formatter.py",
    "tests/e2e/test_schemathesis.py",
    "tests/hardening/test_isolation.py",
    "tests/test_yaml_errors.py",
    "tests/hardening/test_memory.py",
    "tests/e2e/test_hardening.py",
    "tests/robustness/test_startup_sweep.py",
    "tests/versions/test_ikanos_beta5.py",
    "tests/conformance/test_mcp_conformance.py",
    "tests/robustness/test_build_atomic.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

    def rank(item: pytest.Item) -> int:
        rel = os.path.relpath(str(item.path), root).replace(os.sep, "/")
        return LONGEST_FIRST.index(rel) if rel in LONGEST_FIRST else len(LONGEST_FIRST)

    items.sort(key=rank)  # stable: each module's own order is kept
