"""REST route order: literal path segments win over placeholders, whatever the spec's order.

aiohttp tries routes in the order they are registered (within a static prefix), so
`GET /sheets/{id}/values/{range}` written before `GET /sheets/{id}/values/batch` would answer
`/sheets/1/values/batch` with range=batch. Routes are therefore registered most specific first:
two routes of one method that one request path could match are compared segment by segment, and
at the first segment where they differ in kind, a literal beats a segment mixing text and a
placeholder, which beats a bare placeholder. Routes that no request can reach both of keep the
spec's order. Two that one request could match with the same specificity are ambiguous: the one
declared first answers, and the second is a located warning.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from naftiko_gen import mustache

T = TypeVar("T")

LITERAL, MIXED, PLACEHOLDER = 0, 1, 2


@dataclass(frozen=True)
class Shape:
    """A route path, split into segments, each a tuple of text pieces and placeholders."""

    method: str
    segments: tuple[tuple[str | None, ...], ...]  # None: a placeholder

    @classmethod
    def of(cls, method: str, spec_path: str) -> Shape:
        segments: list[list[str | None]] = [[]]
        for piece in mustache.parse_path(spec_path):
            if isinstance(piece, mustache.Var):
                segments[-1].append(None)
                continue
            first, *more = piece.split("/")
            if first:
                segments[-1].append(first)
            for text in more:
                segments.append([text] if text else [])
        return cls(method.upper(), tuple(tuple(s) for s in segments))

    def kinds(self) -> tuple[int, ...]:
        return tuple(_kind(s) for s in self.segments)

    def overlaps(self, other: Shape) -> bool:
        """Whether one request path could match both (never across methods or lengths)."""
        if self.method != other.method or len(self.segments) != len(other.segments):
            return False
        return all(
            _segments_overlap(a, b) for a, b in zip(self.segments, other.segments, strict=True)
        )


def _kind(segment: tuple[str | None, ...]) -> int:
    if None not in segment:
        return LITERAL
    return PLACEHOLDER if segment == (None,) else MIXED


def _regex(segment: tuple[str | None, ...]) -> re.Pattern[str]:
    # A placeholder matches what aiohttp's does: one or more characters other than '/'.
    return re.compile("".join("[^/]+" if p is None else re.escape(p) for p in segment))


def _segments_overlap(a: tuple[str | None, ...], b: tuple[str | None, ...]) -> bool:
    ka, kb = _kind(a), _kind(b)
    if ka == LITERAL and kb == LITERAL:
        return a == b
    if ka == LITERAL:
        return _regex(b).fullmatch("".join(p or "" for p in a)) is not None
    if kb == LITERAL:
        return _regex(a).fullmatch("".join(p or "" for p in b)) is not None
    # Both have placeholders: they can meet unless their fixed ends disagree.
    head_a, head_b = a[0] or "", b[0] or ""
    tail_a, tail_b = a[-1] or "", b[-1] or ""
    heads = head_a.startswith(head_b) or head_b.startswith(head_a)
    tails = tail_a.endswith(tail_b) or tail_b.endswith(tail_a)
    return heads and tails


def order_routes(
    routes: Sequence[T],
    shape: Callable[[T], Shape],
    ambiguous: Callable[[T, T], None],
) -> list[T]:
    """The routes, most specific first among those one request could match; others keep the
    spec's order. `ambiguous(first, second)` is called for each pair of equal specificity."""
    shapes = [shape(r) for r in routes]
    groups: dict[tuple[str, int], list[int]] = {}
    for i, s in enumerate(shapes):
        groups.setdefault((s.method, len(s.segments)), []).append(i)
    out = list(routes)
    for members in groups.values():
        ordered: list[int] = []
        for n, i in enumerate(members):
            mine = shapes[i].kinds()
            for earlier in members[:n]:  # fully literal twins are the route-unique error
                if mine == shapes[earlier].kinds() and mine != (LITERAL,) * len(mine):
                    if shapes[i].overlaps(shapes[earlier]):
                        ambiguous(routes[earlier], routes[i])
            at = len(ordered)
            for j, placed in enumerate(ordered):
                if mine < shapes[placed].kinds() and shapes[i].overlaps(shapes[placed]):
                    at = j
                    break
            ordered.insert(at, i)
        for slot, i in zip(members, ordered, strict=True):
            out[slot] = routes[i]
    return out
