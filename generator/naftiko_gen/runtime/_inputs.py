"""Checking what callers send: each input against its declared JSON type and pattern."""

from __future__ import annotations

import re
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
    if pattern is not None and isinstance(value, str) and not re.search(pattern, value):
        raise InputError(f"parameter '{name}' must match pattern {pattern}")
    return value
