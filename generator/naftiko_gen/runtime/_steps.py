"""Orchestration: the data of each step's answer, lookups over an earlier answer, and a failed
step relayed by name (its status and body) instead of the chain going on without it."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any, ParamSpec

from . import _runtime as rt

P = ParamSpec("P")


class StepFailed(Exception):
    """A step's upstream answered an error: the chain stops and that answer is relayed."""

    def __init__(self, step: str, answer: rt.Result) -> None:
        super().__init__(step)
        self.step = step
        self.answer = answer

    def result(self) -> rt.Result:
        try:
            detail = self.answer.json()
        except rt.UpstreamError:
            detail = self.answer.text()
        status = self.answer.status
        message = f"step '{self.step}' failed: upstream answered HTTP {status}"
        body = {"error": message, "status": status, "step": self.step, "upstream": detail}
        return rt.Result.of(body, status if status >= 400 else 502)


def data(step: str, answer: rt.Result, parse: Callable[[rt.Result], Any] | None = None) -> Any:
    """The decoded answer of a call step; an error answer stops the chain (StepFailed)."""
    if not 200 <= answer.status < 300:
        raise StepFailed(step, answer)
    try:
        return parse(answer) if parse else answer.json()
    except rt.UpstreamError as exc:
        raise rt.UpstreamError(f"step '{step}': {exc}") from None


def relay_failures(
    function: Callable[P, Awaitable[rt.Result]],
) -> Callable[P, Awaitable[rt.Result]]:
    """A chain of steps whose failed step becomes the result (status and body relayed)."""

    @functools.wraps(function)
    async def run(*args: P.args, **kwargs: P.kwargs) -> rt.Result:
        try:
            return await function(*args, **kwargs)
        except StepFailed as failed:
            return failed.result()

    return run


def _key(value: Any) -> Any:
    return rt.text(value) if isinstance(value, (str, int, float, bool)) else None


def _field(entry: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        if isinstance(entry, dict):
            entry = entry.get(str(step))
        elif isinstance(entry, list) and isinstance(step, int) and -len(entry) <= step < len(entry):
            entry = entry[step]
        else:
            return None
    return entry


def lookup(step: str, table: Any, key: tuple[Any, ...], value: Any, fields: tuple[str, ...]) -> Any:
    """The entries of `table` whose `key` equals `value`, each cut to `fields`.

    One value gives the first matching entry (or None); a list of values gives the matches in
    that order, values without a match left out. Keys compare as text ("7" matches 7).
    """
    if table is None:
        table = []
    if not isinstance(table, list):
        raise rt.UpstreamError(
            f"step '{step}': the table it looks up in is a {type(table).__name__}, not an array"
        )
    index: dict[Any, dict[str, Any]] = {}
    for entry in table:
        if isinstance(entry, dict):
            found = _key(_field(entry, key))
            if found is not None:
                index.setdefault(found, entry)

    def pick(wanted: Any) -> dict[str, Any] | None:
        entry = index.get(_key(wanted))
        return None if entry is None else {f: entry.get(f) for f in fields}

    if isinstance(value, list):
        return [p for p in map(pick, value) if p is not None]
    return pick(value)
