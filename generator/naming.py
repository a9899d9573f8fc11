"""Python identifiers and environment variable names derived from spec names."""

from __future__ import annotations

import keyword
import re


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


def package_name(stem: str) -> str:
    s = snake(stem)
    return s if not s[0].isdigit() else "cap_" + s


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
