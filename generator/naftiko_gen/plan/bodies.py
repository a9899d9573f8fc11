"""Request body templates (JSON text with `{{placeholders}}`) read as structures."""

from __future__ import annotations

import json
import re
from typing import Any

from naftiko_gen import mustache

_PLACEHOLDER = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")


class QuotedTemplate(str):
    """A JSON string with placeholders: always rendered as text, never as the raw value."""


def parse_json_template(text: str) -> Any:
    """Parse a JSON text with `{{x}}` placeholders into a structure, or None if it is not JSON.

    A placeholder standing alone as a JSON value (`"ids": {{ids}}`) becomes that value as is;
    inside a string it is interpolated as text. Either way the result is built structurally.
    """
    marks: dict[str, str] = {}

    def mark(m: re.Match[str]) -> str:
        token = f"__naftiko_{len(marks)}__"
        marks[token] = m.group(1)
        return token

    replaced = _PLACEHOLDER.sub(mark, text)
    # Bare placeholders (not inside quotes) become quoted sentinel strings for the JSON parser.
    out: list[str] = []
    in_string = False
    i = 0
    while i < len(replaced):
        ch = replaced[i]
        if in_string and ch == "\\":
            out.append(replaced[i : i + 2])
            i += 2
            continue
        if ch == '"':
            in_string = not in_string
        if not in_string and replaced.startswith("__naftiko_", i):
            end = replaced.index("__", i + len("__naftiko_")) + 2
            out.append('"\\u0000' + replaced[i:end] + '"')
            i = end
            continue
        out.append(ch)
        i += 1
    try:
        data = json.loads("".join(out))
    except ValueError:
        return None

    def back(value: Any) -> Any:
        if isinstance(value, str):
            if value.startswith("\u0000"):
                return "{{" + marks[value[1:]] + "}}" if value[1:] in marks else value
            # Inside quotes a placeholder is text, even when it stands alone.
            for token, name in marks.items():
                value = value.replace(token, "{{" + name + "}}")
            return QuotedTemplate(value)
        if isinstance(value, dict):
            return {k: back(v) for k, v in value.items()}
        if isinstance(value, list):
            return [back(v) for v in value]
        return value

    return back(data)


def template_vars(data: Any) -> list[str]:
    """The placeholder names of a template structure, in order of first appearance."""

    found: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, str):
            for p in mustache.parse(value):
                if isinstance(p, mustache.Var) and p.name not in found:
                    found.append(p.name)
        elif isinstance(value, dict):
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)

    walk(data)
    return found
