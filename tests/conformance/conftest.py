"""Per-scenario results of the MCP conformance suite, listed in pytest's terminal summary."""

from __future__ import annotations

from typing import Any

#: scenario → one line of outcome, filled by test_mcp_conformance.py.
RESULTS: dict[str, str] = {}


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not RESULTS:
        return
    terminalreporter.section("MCP conformance (npm @modelcontextprotocol/conformance)")
    width = max(len(k) for k in RESULTS)
    for scenario, line in RESULTS.items():
        terminalreporter.write_line(f"{scenario.ljust(width)}  {line}")
