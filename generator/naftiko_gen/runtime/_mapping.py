"""Output mapping: the JSONPath subset naftiko-gen compiles ($.a.b, $[0], $.a[*].b)."""

from __future__ import annotations

import json
from typing import Any


class _Each:
    def __repr__(self) -> str:
        return "EACH"


EACH: Any = _Each()


def select(data: Any, *steps: Any) -> Any:
    """Walk `data` by keys, indexes and EACH (every element). A missing step gives None."""
    for position, step in enumerate(steps):
        if step is EACH:
            if isinstance(data, dict):
                items = list(data.values())
            elif isinstance(data, list):
                items = data
            else:
                return None
            rest = steps[position + 1 :]
            return [select(item, *rest) for item in items]
        if isinstance(step, int) and isinstance(data, list):
            if -len(data) <= step < len(data):
                data = data[step]
                continue
            return None
        if isinstance(data, dict):
            data = data.get(str(step))
            continue
        return None
    return data


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, list):
        return value
    return [value]


def coerce(kind: str, value: Any) -> Any:
    """A value read as text (XML, CSV, a template) converted to the declared type where it parses."""
    if not isinstance(value, str):
        return value
    try:
        if kind == "integer":
            return int(value)
        if kind == "number":
            number = float(value)
            return int(number) if number.is_integer() and "." not in value else number
        if kind == "boolean" and value.lower() in ("true", "false"):
            return value.lower() == "true"
        if kind in ("object", "array"):
            return json.loads(value)
    except ValueError:
        return value
    return value
