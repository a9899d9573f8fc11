"""Checking what callers send: each input against its declared JSON type and pattern."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from ._runtime import InputError

JSON_TYPES: dict[str, Any] = {
    "string": str, "integer": int, "number": (int, float), "boolean": bool, "array": list,
    "object": dict,
}  # fmt: skip


def check(name: str, value: Any, kind: str, pattern: str | None = None) -> Any:
    """Validate one JSON input value against its declared type (and pattern)."""
    if kind == "integer" and isinstance(value, float) and value.is_integer():
        value = int(value)
    wrong_bool = isinstance(value, bool) and kind in ("integer", "number")
    if wrong_bool or not isinstance(value, JSON_TYPES.get(kind, object)):
        raise InputError(f"parameter '{name}' must be of type {kind}")
    if pattern is not None and isinstance(value, str) and not ecma(pattern).search(value):
        raise InputError(f"parameter '{name}' must match pattern {pattern}")
    return value


@lru_cache(maxsize=256)
def ecma(pattern: str) -> re.Pattern[str]:
    r"""`pattern` as JSON Schema reads it (ECMA-262, `u` flag): `$` is the end of the input
    (Python's `$` also matches before a final newline: `c-1\n` passed `^c-[0-9]+$`), and
    `\d`, `\w`, `\b` are ASCII. Unanchored patterns still match anywhere, as in the OpenAPI
    document the server publishes."""
    out: list[str] = []
    escaped = in_class = False
    for char in pattern:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
        elif char == "$":
            out.append(r"\Z")
            continue
        out.append(char)
    try:
        return re.compile("".join(out), re.ASCII)
    except re.error:  # a construct Python lacks: the build warned; nothing to check against
        return re.compile("")
