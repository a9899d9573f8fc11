"""Per-operation degradation: a part of a spec (a consumed operation, a route, a tool) that cannot be
generated is skipped with located warnings, and the rest of the spec is generated.

    with attempt(report, "tool 'x'") as tried:
        ...plan it, reporting errors to `report` as usual...
    if tried.failed: drop it

Errors reported inside the block become warnings `naftiko-operation-skipped` at the same positions,
"skipped <what>: <original message> [<original rule>]", which carry the part and the original error
as fields (Diagnostic.skip). `build --strict` / `validate --strict` turn them back into failures.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from naftiko_gen.diagnostics import Diagnostic, Report, Severity, Skip

SKIPPED = "naftiko-operation-skipped"


@dataclass
class Attempt:
    what: str
    failed: bool = False


@contextmanager
def attempt(report: Report, what: str) -> Iterator[Attempt]:
    start = len(report.items)
    tried = Attempt(what)
    yield tried
    new = report.items[start:]
    errors = [d for d in new if d.severity is Severity.ERROR]
    if not errors:
        return
    tried.failed = True
    report.items[start:] = [d for d in new if d.severity is not Severity.ERROR] + [
        Diagnostic(
            Severity.WARNING,
            SKIPPED,
            f"skipped {what}: {d.message} [{d.rule}]",
            d.pos,
            Skip(what, d.rule, d.message),
        )
        for d in errors
    ]


def skipped(report: Report, file: str | None = None) -> list[Diagnostic]:
    """The skip warnings of a report (of one spec file when `file` is given)."""
    return [d for d in report.items if d.rule == SKIPPED and (file is None or d.pos.file == file)]


def skipped_by_spec(report: Report, specs: dict[str, str]) -> dict[str, list[str]]:
    """package → the parts of its spec that were skipped ("route GET /x", "tool 'y'"), in order."""
    by_file: dict[str, list[Diagnostic]] = {}
    for d in skipped(report):  # one pass: a catalogue has thousands of notes
        by_file.setdefault(d.pos.file, []).append(d)
    out: dict[str, list[str]] = {}
    for package, display in specs.items():
        parts: list[str] = []
        for d in sorted(by_file.get(display, ()), key=lambda d: d.sort_key()):
            if d.skip is not None and d.skip.part not in parts:
                parts.append(d.skip.part)
        if parts:
            out[package] = parts
    return out


def restore(report: Report, file: str) -> None:
    """Nothing of the spec `file` could be built: its skip warnings become the errors they were
    (a one-tool spec with a typo says what is wrong, not that everything was skipped)."""
    for i, d in enumerate(report.items):
        if d.skip is not None and d.pos.file == file:
            report.items[i] = Diagnostic(Severity.ERROR, d.skip.rule, d.skip.message, d.pos)
