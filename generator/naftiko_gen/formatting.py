"""The format stage: rendered Python source → the formatted text that is written.

One formatter decides the bytes of every generated module, so it is pinned to an exact version
in pyproject.toml and its identity (name, version, options) is part of the build cache key
(`identity`): a build with another formatter never reuses output of this one.

- **ruff format** (the default): black's style, about a hundred times faster, many modules in one
  process.
- **black** (`NAFTIKO_GEN_FORMATTER=black`): the reference ruff follows; a test checks that both
  print the same bytes for every fixture.
"""

from __future__ import annotations

import functools
import os
import subprocess
import tempfile
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

# The options both formatters get; part of `identity`.
LINE_LENGTH = 100
TARGET_VERSION = "py311"
FORMATTERS = ("ruff", "black")
FORMATTER_VARIABLE = "NAFTIKO_GEN_FORMATTER"


class FormatterError(Exception):
    """The formatter is missing or refused a module (a generator bug, never a spec problem)."""


def formatter() -> str:
    """The formatter this process uses: NAFTIKO_GEN_FORMATTER, else ruff."""
    chosen = os.environ.get(FORMATTER_VARIABLE, "").strip().lower() or "ruff"
    if chosen not in FORMATTERS:
        raise FormatterError(
            f"{FORMATTER_VARIABLE}={chosen!r}: choose one of {', '.join(FORMATTERS)}"
        )
    return chosen


def identity() -> str:
    """Everything about the formatter that decides the bytes it prints."""
    name = formatter()
    try:
        installed = version(name)
    except PackageNotFoundError:
        installed = "not installed"
    return f"{name}=={installed} line-length={LINE_LENGTH} target={TARGET_VERSION}"


def format_sources(sources: list[str]) -> list[str]:
    """Each source, formatted; one formatter process for all of them (ruff)."""
    if not sources:
        return []
    if formatter() == "black":
        return [_black(source) for source in sources]
    return _ruff(sources)


@functools.cache
def _ruff_binary() -> str:
    try:
        from ruff.__main__ import find_ruff_bin
    except ImportError as exc:
        raise FormatterError(
            "ruff is not installed (reinstall naftiko-gen, or set NAFTIKO_GEN_FORMATTER=black)"
        ) from exc
    return str(find_ruff_bin())


def _ruff(sources: list[str]) -> list[str]:
    # ruff formats files in place: one temporary folder, one process for the whole batch.
    with tempfile.TemporaryDirectory(prefix="naftiko_gen_format_") as folder:
        paths = [Path(folder) / f"m{i}.py" for i in range(len(sources))]
        for path, source in zip(paths, sources, strict=True):
            path.write_text(source, encoding="utf-8")
        done = subprocess.run(
            [_ruff_binary(), "format", "--isolated", "--quiet", "--no-cache",
             "--line-length", str(LINE_LENGTH), "--target-version", TARGET_VERSION, folder],
            capture_output=True, text=True, timeout=600, check=False,
        )  # fmt: skip
        if done.returncode != 0:
            raise FormatterError(f"ruff format refused a generated module: {done.stderr.strip()}")
        return [path.read_text(encoding="utf-8") for path in paths]


def _black(source: str) -> str:
    import black  # only when chosen: importing it costs more than formatting with ruff
    import black.mode

    mode = black.Mode(
        line_length=LINE_LENGTH,
        target_versions={black.mode.TargetVersion[TARGET_VERSION.upper()]},
    )
    try:
        return black.format_str(source, mode=mode)
    except black.parsing.InvalidInput as exc:
        raise FormatterError(f"black refused a generated module: {exc}") from exc
