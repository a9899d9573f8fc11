"""Developer sessions: `nox -s tests`, `nox -s coverage`, `nox -s lint`, `nox -s regen`,
`nox -s golden`, `nox -s bench`, `nox -s conformance`."""

from __future__ import annotations

import shutil

import nox

nox.options.sessions = ["tests", "lint", "regen"]
nox.options.reuse_existing_virtualenvs = True


@nox.session
def tests(session: nox.Session) -> None:
    """The whole suite: unit, golden, end-to-end (real servers on 127.0.0.1), property-based."""
    session.install("-e", ".[test]")
    session.run("pytest", *session.posargs)


@nox.session
def coverage(session: nox.Session) -> None:
    """The whole suite with line coverage of naftiko_gen (pyproject [tool.coverage]); the figure
    the README gives. CI runs the suite untraced: tracing made it a fifth slower."""
    session.install("-e", ".[test]")
    session.run("pytest", "--cov", "--cov-report=term:skip-covered", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff and mypy on the generator and on the committed generated code."""
    session.install("-e", ".[test]")
    session.run("ruff", "check", "generator", "generated", "examples", "tests", "noxfile.py", "bench")
    session.run("black", "--check", "generator", "generated", "examples/generated")
    session.run("mypy", "generator")
    session.run("mypy", "generated/qovery_containers", "examples/generated/petstore")


@nox.session
def regen(session: nox.Session) -> None:
    """The CI regeneration check: generated/ must be exactly what specs/ produce."""
    session.install(".")
    session.run("naftiko-gen", "build", "specs/", "--check", "--strict")


@nox.session
def golden(session: nox.Session) -> None:
    """Refresh the golden snapshots after an intended change; review the diff before committing."""
    session.install("-e", ".[test]")
    session.run("pytest", "tests/test_golden.py", env={"NAFTIKO_UPDATE_GOLDEN": "1"})


@nox.session
def bench(session: nox.Session) -> None:
    """Benchmarks of docs/benchmarks.md: REST vs hand-written, MCP vs FastMCP and hand-written
    (both protocol eras), start-up, memory, build time, cached calls. Options go to every script:
    `nox -s bench -- --rounds 3`. Uses wrk when installed (apt-get install wrk), else an aiohttp
    load client."""
    session.install("-e", ".[runtime,cache]", "fastmcp>=4,<5")
    session.run("python", "bench/bench_rest.py", *session.posargs)
    session.run("python", "bench/bench_mcp.py", *session.posargs)
    session.run("python", "bench/bench_mcp.py", "--era", "modern", *session.posargs)
    session.run("python", "bench/bench_startup.py", *session.posargs)
    session.run("python", "bench/bench_memory.py")
    session.run("python", "bench/bench_workers.py", *session.posargs)
    session.run("python", "bench/bench_build.py")
    session.run("python", "bench/bench_cache.py")  # a Redis column when redis-server is installed
    if shutil.which("valgrind"):  # instructions per request: deterministic, ~5 minutes
        session.run("python", "bench/bench_rest_instructions.py")
    else:
        session.log("bench_rest_instructions.py skipped: valgrind is not installed")


@nox.session
def conformance(session: nox.Session) -> None:
    """The official MCP conformance suite (npm, needs Node.js 20+) against the generated seed
    MCP server and the conformance fixture (tests/conformance/conformance-capability.yaml: tools,
    resources, prompts); lists every server scenario's result. Cache: $NAFTIKO_CONFORMANCE_DIR."""
    session.install("-e", ".[test]")
    session.run(
        "pytest",
        "tests/conformance",
        "-v",
        *session.posargs,
        env={"NAFTIKO_CONFORMANCE_ALL": "1"},
    )


@nox.session
def schemathesis(session: nox.Session) -> None:
    """Schemathesis against the served OpenAPI document of the seed and two fixture specs.

    NAFTIKO_SCHEMATHESIS_EXAMPLES sets the examples per operation (default 25; CI uses 25).
    """
    session.install("-e", ".[test]")
    session.run("pytest", "-q", "tests/e2e/test_schemathesis.py", *session.posargs)
