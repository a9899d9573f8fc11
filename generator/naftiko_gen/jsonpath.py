"""The JSONPath subset real specs use, compiled to step tuples at generation time.

Supported: `$`, `$.`, `$.a.b`, `$['a b']`, `$["a"]`, `$[0]`, `$[-1]`, `$.a[*].b`, `$.a.*`.
Anything else (filters, recursive descent, slices, unions) is rejected, so the generated
servers can walk data with a ten-line function instead of a JSONPath library.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_IDENT = re.compile(r"[A-Za-z0-9_$@\-:]+")


class Each:
    """Marks a wildcard step; shared with the generated runtime by name only."""


@dataclass(frozen=True)
class Step:
    kind: str  # key | index | each
    value: str | int | None = None


class JsonPathError(ValueError):
    pass


def compile_path(expr: str) -> tuple[Step, ...]:
    text = expr.strip()
    if not text.startswith("$"):
        raise JsonPathError(f"JSONPath '{expr}' must start with '$'")
    i = 1
    steps: list[Step] = []
    n = len(text)
    if text in ("$", "$."):
        return ()
    while i < n:
        ch = text[i]
        if text.startswith("..", i):
            raise JsonPathError(f"recursive descent '..' in '{expr}' is not supported")
        if ch == ".":
            i += 1
            if i < n and text[i] == "*":
                steps.append(Step("each"))
                i += 1
                continue
            m = _IDENT.match(text, i)
            if not m:
                raise JsonPathError(f"expected a field name at position {i + 1} of '{expr}'")
            steps.append(Step("key", m.group(0)))
            i = m.end()
        elif ch == "[":
            close = _find_close(text, i, expr)
            inner = text[i + 1 : close].strip()
            i = close + 1
            if inner == "*":
                steps.append(Step("each"))
            elif re.fullmatch(r"-?\d+", inner):
                steps.append(Step("index", int(inner)))
            elif (
                len(inner) >= 2
                and inner[0] == inner[-1]
                and inner[0] in "'\""
                and inner[0] not in inner[1:-1]
            ):
                steps.append(Step("key", inner[1:-1]))
            else:
                raise JsonPathError(
                    f"'[{inner}]' in '{expr}' is not supported (filters, slices and unions are not)"
                )
        else:
            raise JsonPathError(f"unexpected '{ch}' at position {i + 1} of '{expr}'")
    return tuple(steps)


def _find_close(text: str, start: int, expr: str) -> int:
    quote = None
    for j in range(start + 1, len(text)):
        c = text[j]
        if quote:
            if c == quote:
                quote = None
        elif c in "'\"":
            quote = c
        elif c == "]":
            return j
    raise JsonPathError(f"unclosed '[' in '{expr}'")


def is_root(steps: tuple[Step, ...]) -> bool:
    return not steps


def has_each(steps: tuple[Step, ...]) -> bool:
    return any(s.kind == "each" for s in steps)
