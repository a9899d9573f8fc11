"""Located diagnostics: the one way every layer reports a problem with a spec."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import StrEnum

from naftiko_gen.rules import BY_ID


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    NOTE = "note"  # an accepted deviation with one clear meaning; `validate --notes` lists them


class Pos:
    """A place in a spec file; line and column are 1-based. Immutable by convention.

    Not a frozen dataclass: the loader makes one per YAML value and key (tens of thousands
    per build), and a frozen dataclass's __init__ costs three times this one's.
    """

    __slots__ = ("file", "line", "col")

    def __init__(self, file: str, line: int = 1, col: int = 1) -> None:
        self.file = file
        self.line = line
        self.col = col

    def _key(self) -> tuple[str, int, int]:
        return (self.file, self.line, self.col)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Pos) and self._key() == other._key()

    def __lt__(self, other: Pos) -> bool:
        return self._key() < other._key()

    def __le__(self, other: Pos) -> bool:
        return self._key() <= other._key()

    def __gt__(self, other: Pos) -> bool:
        return self._key() > other._key()

    def __ge__(self, other: Pos) -> bool:
        return self._key() >= other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return f"Pos(file={self.file!r}, line={self.line!r}, col={self.col!r})"

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


@dataclass(frozen=True)
class Skip:
    """What a `naftiko-operation-skipped` warning stands for: the part of the spec left out
    ("tool 'x'", "route GET /y") and the error that made it so (its rule and message)."""

    part: str
    rule: str
    message: str


@dataclass(frozen=True)
class Diagnostic:
    severity: Severity
    rule: str
    message: str
    pos: Pos
    skip: Skip | None = None  # set on skip warnings (degrade.attempt)

    def format(self) -> str:
        return f"{self.pos}: {self.severity.value} {self.rule}: {self.message}"

    def to_json(self) -> dict[str, object]:
        found: dict[str, object] = {
            "file": self.pos.file,
            "line": self.pos.line,
            "column": self.pos.col,
            "severity": self.severity.value,
            "rule": self.rule,
            "message": self.message,
        }
        if self.skip is not None:
            found["skipped"] = {"part": self.skip.part, "because": self.skip.rule}
        return found

    def sort_key(self) -> tuple[str, int, int, str, str]:
        return (self.pos.file, self.pos.line, self.pos.col, self.rule, self.message)


@dataclass
class Report:
    """Diagnostics collected while reading, checking and planning one or more specs."""

    items: list[Diagnostic] = field(default_factory=list)

    def error(self, rule: str, message: str, pos: Pos) -> None:
        self.items.append(Diagnostic(Severity.ERROR, rule, message, pos))

    def warning(self, rule: str, message: str, pos: Pos) -> None:
        """A warning, or a note when the rule registry declares the rule a note.

        Call sites say "not an error"; naftiko_gen.rules decides between warning and note, so a
        rule's severity is reviewed in one place.
        """
        self.items.append(Diagnostic(_non_error_severity(rule), rule, message, pos))

    def note(self, rule: str, message: str, pos: Pos) -> None:
        self.items.append(Diagnostic(Severity.NOTE, rule, message, pos))

    def extend(self, other: Report) -> None:
        self.items.extend(other.items)

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.sorted() if d.severity is Severity.ERROR]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.sorted() if d.severity is Severity.WARNING]

    @property
    def notes(self) -> list[Diagnostic]:
        return [d for d in self.sorted() if d.severity is Severity.NOTE]

    def has_errors(self) -> bool:
        return any(d.severity is Severity.ERROR for d in self.items)

    def sorted(self) -> list[Diagnostic]:
        unique = {(d.sort_key(), d.severity): d for d in self.items}
        return [unique[k] for k in sorted(unique)]

    def to_json(self) -> str:
        return json.dumps([d.to_json() for d in self.sorted()], indent=2, ensure_ascii=False)


def _non_error_severity(rule: str) -> Severity:
    registered = BY_ID.get(rule)
    return (
        Severity.NOTE
        if registered is not None and registered.severity == "note"
        else Severity.WARNING
    )


def summary(report: Report, notes: bool = True) -> str:
    """'2 errors, 1 warning' (and ', 3 notes' when asked)."""
    counts = [(len(report.errors), "error"), (len(report.warnings), "warning")]
    if notes:
        counts.append((len(report.notes), "note"))
    return ", ".join(f"{n} {word}{'' if n == 1 else 's'}" for n, word in counts)


class SpecError(Exception):
    """Raised to abandon a spec after its diagnostics were recorded in a Report."""
