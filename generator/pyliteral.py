"""Spec values → Python source that evaluates to them. Every string goes through repr()."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Code:
    """Python source produced by the generator itself (never from spec text)."""

    source: str


@dataclass(frozen=True)
class ArgRef:
    name: str


@dataclass(frozen=True)
class SecretRef:
    name: str


@dataclass(frozen=True)
class EnvRef:
    name: str


@dataclass(frozen=True)
class TextTemplate:
    parts: tuple[str | ArgRef | SecretRef | EnvRef, ...]


class EachStep:
    pass


EACH = EachStep()


def py(value: Any) -> str:
    """Render a value as a Python expression; spec strings can only ever become literals."""
    if isinstance(value, Code):
        return value.source
    if value is None or isinstance(value, bool):
        return repr(value)
    if isinstance(value, int):
        return repr(value)
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return f"float({str(value)!r})"
        return repr(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, ArgRef):
        return f"rt.Arg({value.name!r})"
    if isinstance(value, SecretRef):
        return f"rt.Secret({value.name!r})"
    if isinstance(value, EnvRef):
        return f"rt.Env({value.name!r})"
    if isinstance(value, TextTemplate):
        return f"rt.Text({_tuple(value.parts)})"
    if isinstance(value, EachStep):
        return "rt.EACH"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{py(str(k))}: {py(v)}" for k, v in value.items()) + "}"
    if isinstance(value, tuple):
        return _tuple(value)
    if isinstance(value, list):
        return "[" + ", ".join(py(v) for v in value) + "]"
    raise TypeError(f"cannot render {type(value).__name__} as a Python literal")


STRING_CHUNK = 48


def _string(value: str) -> str:
    """A string literal; long ones as implicit concatenation, so no generated line is too long."""
    if len(value) <= STRING_CHUNK:
        return repr(value)
    chunks = [value[i : i + STRING_CHUNK] for i in range(0, len(value), STRING_CHUNK)]
    return "(" + " ".join(repr(c) for c in chunks) + ")"


def _tuple(items: tuple[Any, ...]) -> str:
    # No trailing comma beyond the one a 1-tuple needs: black would explode the literal.
    if len(items) == 1:
        return f"({py(items[0])},)"
    return "(" + ", ".join(py(v) for v in items) + ")"


def call(func: str, *args: Any, **kwargs: Any) -> Code:
    """`func(arg, key=value)` with every argument rendered by py(); func is generator-chosen."""
    rendered = [py(a) for a in args] + [f"{k}={py(v)}" for k, v in kwargs.items()]
    return Code(f"{func}({', '.join(rendered)})")
