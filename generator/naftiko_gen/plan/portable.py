"""JSON Schemas every client accepts, from schemas Python accepts.

Clients the project did not write read the served schemas (MCP `inputSchema`/`outputSchema`,
`openapi.json`) with their own rules:

- JavaScript clients (the MCP Inspector, most MCP hosts) compile `pattern` as an ECMAScript
  regular expression with the `u` flag, where `\\_`, `\\:` or `\\/`-like identity escapes of
  characters that are not syntax are errors, and a `{` or `]` that is not a quantifier or a class
  must be escaped. One bad pattern fails the whole tool list. Patterns are translated where the
  meaning is the same in both dialects, else dropped (the upstream still checks its own input).
- openapi-python-client drops an endpoint whose array schema has no `items`; an array without
  them gets `items: {}` (any value, as JSON Schema means by omitting it).
"""

from __future__ import annotations

import re
from typing import Any

# ECMAScript `SyntaxCharacter` plus `/`: the only identity escapes `u` mode allows.
_SYNTAX = set("^$\\.*+?()[]{}|/")
# Letter and digit escapes with the same meaning in Python `re` and ECMAScript `u` mode.
_SHARED_ESCAPES = set("dDwWsSbBfnrtv0123456789")
_QUANTIFIER = re.compile(r"\{\d+(,\d*)?\}")
# Python-only constructs: named groups (?P<..>), (?P=..), inline flags, \A \Z, conditionals.
_PYTHON_ONLY = re.compile(r"\(\?P|\(\?[aiLmsux-]+[):]|\(\?\(|\(\?#")


def ecmascript_pattern(pattern: str) -> str | None:
    """The pattern in the common dialect of Python `re` and ECMAScript `u` mode, or None when
    it cannot be said that way (the caller drops it)."""
    if _PYTHON_ONLY.search(pattern):
        return None
    out: list[str] = []
    in_class = False
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c == "\\":
            if i + 1 >= n:
                return None
            e = pattern[i + 1]
            if e in _SYNTAX or e in _SHARED_ESCAPES or (e == "-" and in_class):
                out.append(c + e)
            elif e == "x" and re.fullmatch(r"[0-9A-Fa-f]{2}", pattern[i + 2 : i + 4]):
                out.append(pattern[i : i + 4])
                i += 2
            elif e == "u" and re.fullmatch(r"[0-9A-Fa-f]{4}", pattern[i + 2 : i + 6]):
                out.append(pattern[i : i + 6])
                i += 4
            elif e.isalnum():
                return None  # \A, \Z, \a, \N{…}: Python's own
            else:
                out.append(e)  # `\_` `\:` `\-` (outside a class) …: the character itself
            i += 2
            continue
        if in_class:
            if c == "]" and not (out and out[-1] in ("[", "[^")):
                in_class = False
            out.append(c)
        elif c == "[":
            in_class = True
            if pattern.startswith("[^", i):
                out.append("[^")
                i += 2
                continue
            out.append(c)
        elif c == "{":
            m = _QUANTIFIER.match(pattern, i)
            if m and out:
                out.append(m.group())
                i = m.end()
                continue
            out.append("\\{")
        elif c in "}]":
            out.append("\\" + c)
        else:
            out.append(c)
        i += 1
    if in_class:
        return None
    text = "".join(out)
    try:
        re.compile(text)
    except (re.error, RecursionError, OverflowError):
        return None
    return text


def portable(schema: dict[str, Any]) -> dict[str, Any]:
    """A copy of a JSON Schema with patterns in the common dialect and every array's `items`."""
    out: dict[str, Any] = _portable(schema)
    return out


def _portable(schema: Any) -> Any:
    if isinstance(schema, list):
        return [_portable(x) for x in schema]
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "pattern" and isinstance(value, str):
            translated = ecmascript_pattern(value)
            if translated is not None:
                out[key] = translated
        elif key in ("properties", "patternProperties", "$defs", "definitions") and isinstance(
            value, dict
        ):
            out[key] = {k: _portable(v) for k, v in value.items()}
        elif key in ("enum", "const", "default", "examples", "example", "required"):
            out[key] = value  # values, not schemas
        else:
            out[key] = _portable(value)
    t = out.get("type")
    if (t == "array" or (isinstance(t, list) and "array" in t)) and "items" not in out:
        out["items"] = {}
    return out


def typed_schema(output: Any) -> dict[str, Any]:
    """The JSON Schema of a mapped output (plan.ir expression): objects with their properties,
    arrays with their items, coerced scalars with their type; a value taken as it is, any."""
    from naftiko_gen.plan import ir

    if isinstance(output, ir.Fields):
        return {
            "type": "object",  # an object, always: the mapping builds it
            "properties": {key: typed_schema(value) for key, value in output.fields},
        }
    if isinstance(output, ir.Each):
        items = {} if output.item is None else typed_schema(output.item)
        return {"type": ["array", "null"], "items": items}
    if isinstance(output, ir.Coerce):
        # A mapped field the upstream left out is null: the type says so.
        return {"type": [output.kind, "null"]} if output.kind in _SCALARS else {}
    if isinstance(output, ir.Const):
        value = output.value
        kind = (
            "boolean" if isinstance(value, bool)
            else "integer" if isinstance(value, int)
            else "number" if isinstance(value, float)
            else "string" if isinstance(value, str)
            else None
        )  # fmt: skip
        return {"type": kind} if kind else {}
    return {}


_SCALARS = ("string", "number", "integer", "boolean")
