"""Mustache-like `{{name}}` templates as they appear in spec values, split into parts."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

_VAR = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")
_SINGLE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_.\-]*)\}")


@dataclass(frozen=True)
class Var:
    name: str  # as written, possibly qualified: "env.TOKEN", "tools.user_id"


Part = str | Var


@functools.lru_cache(maxsize=4096)  # immutable results; a build parses the same texts often
def parse(text: str) -> tuple[Part, ...]:
    parts: list[Part] = []
    last = 0
    for m in _VAR.finditer(text):
        if m.start() > last:
            parts.append(text[last : m.start()])
        parts.append(Var(m.group(1)))
        last = m.end()
    if last < len(text):
        parts.append(text[last:])
    return tuple(parts)


def has_vars(text: str) -> bool:
    return bool(_VAR.search(text))


@functools.lru_cache(maxsize=4096)
def parse_path(text: str) -> tuple[Part, ...]:
    """A resource path: `{{x}}` and single-brace `{x}` are both placeholders."""
    out: list[Part] = []
    for part in parse(text):
        if isinstance(part, Var):
            out.append(part)
            continue
        last = 0
        for m in _SINGLE.finditer(part):
            if m.start() > last:
                out.append(part[last : m.start()])
            out.append(Var(m.group(1)))
            last = m.end()
        if last < len(part):
            out.append(part[last:])
    return tuple(out)


def path_vars(text: str) -> list[str]:
    return [p.name for p in parse_path(text) if isinstance(p, Var)]
