"""'Did you mean …?': the closest known name to a misspelled one."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

# difflib's similarity ratio (2 * matches / total length); 0.6 is its own default cutoff and keeps
# one or two typos in a short name while rejecting names that merely share a few letters.
CUTOFF = 0.6


def closest(name: str, candidates: Iterable[str]) -> str | None:
    """The candidate most like `name` (case-insensitive), or None when none is close enough.

    An exact case-insensitive match wins; ties go to the candidate listed first.
    """
    unique = list(dict.fromkeys(c for c in candidates if c))
    if not name or not unique:
        return None
    wanted = name.casefold()
    for c in unique:
        if c.casefold() == wanted:
            return c
    best: str | None = None
    best_ratio = CUTOFF
    for c in unique:
        ratio = difflib.SequenceMatcher(None, wanted, c.casefold()).ratio()
        if ratio > best_ratio or (best is None and ratio == best_ratio):
            best, best_ratio = c, ratio
    return best


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """'; did you mean 'x'?' or '' — to append to a message that names an unknown `name`."""
    found = closest(name, candidates)
    return f"; did you mean '{found}'?" if found is not None else ""
