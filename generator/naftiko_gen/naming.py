"""Python identifiers and environment variable names derived from spec names."""

from __future__ import annotations

import functools
import keyword
import re
import sys


@functools.lru_cache(maxsize=4096)  # the same names come back again and again in a build
def snake(text: str) -> str:
    s = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", text)
    s = re.sub(r"[^0-9A-Za-z]+", "_", s).strip("_").lower()
    s = re.sub(r"_+", "_", s)
    if not s:
        s = "x"
    if s[0].isdigit():
        s = "n" + s
    if keyword.iskeyword(s) or keyword.issoftkeyword(s):
        s += "_"
    return s


def env_name(text: str) -> str:
    return re.sub(r"[^0-9A-Za-z]+", "_", text).strip("_").upper() or "X"


# Package names that would shadow a module the generated servers (or Python) import.
SHADOWED = frozenset(sys.stdlib_module_names) | {
    "aiohttp", "aiosignal", "annotated_types", "anyio", "attr", "attrs", "click", "frozenlist",
    "generator", "h11", "httpcore2", "httpx2", "idna", "jsonschema", "mcp", "mcp_types",
    "multidict", "propcache", "pydantic", "pydantic_core", "sniffio", "sse_starlette",
    "starlette", "tests", "typing_extensions", "uvicorn", "yaml", "yarl",
}  # fmt: skip


def package_name(stem: str) -> str:
    """specs/NAME.yaml → NAME in snake case; `_capability` is added where NAME would shadow a module."""
    s = snake(stem)
    return s + "_capability" if s in SHADOWED else s


class Names:
    """Hands out identifiers that cannot collide, in a deterministic order."""

    def __init__(self, reserved: tuple[str, ...] = ()) -> None:
        self.used: set[str] = set(reserved)

    def take(self, base: str) -> str:
        name = base
        n = 2
        while name in self.used:
            name = f"{base}_{n}"
            n += 1
        self.used.add(name)
        return name
