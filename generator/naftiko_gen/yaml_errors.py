"""PyYAML syntax errors → one located sentence a spec author can act on.

PyYAML reports an indentation mistake as "expected <block end>, but found '<block mapping
start>'", sometimes on the line after the one that is wrong. `explain` looks at the text itself:
it follows the indentation of block mappings and lists up to the reported line, finds the first
line that does not line up, and says so ("indented less than 'namespace' on line 5; align it
with ..."). When the text holds constructs this small model does not follow (flow collections,
multi-line quoted strings), it keeps PyYAML's position and rewords only the message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

# How far above PyYAML's position the wrong line may be (PyYAML is sometimes a line late).
LOOKBACK = 2

_LINE_BREAK = re.compile("\r\n|[\r\n\x85\u2028\u2029]")  # what PyYAML counts as a line break
_KEY = re.compile(r"""(?P<key>[^\s#'"\[\]{}&*!|>%@`-][^#]*?|'[^']*'|"[^"]*")\s*:(?:\s+|$)""")
_NO_SPACE = re.compile(r"^(?P<key>[A-Za-z_][\w.-]*):(?P<value>[^\s/:][^\s]*)")


@dataclass
class _Frame:
    col: int  # where the entries of this block start
    kind: str  # "map" or "seq"
    line: int  # 1-based line of the first entry
    label: str  # how to name its latest entry: "'namespace'" or "'- type: http'"
    first: int = 0  # 1-based line of its first entry
    inline: bool = False  # opened after a '- ' on its first line


@dataclass
class _Finding:
    line: int
    col: int
    message: str


class _GiveUp(Exception):
    """The text holds something the indentation model does not follow."""


def explain(text: str, exc: Any) -> tuple[int, int, str]:
    """(line, column, message) for a yaml.MarkedYAMLError raised while reading `text`."""
    mark = exc.problem_mark or exc.context_mark
    line = mark.line + 1 if mark is not None else 1
    col = mark.column + 1 if mark is not None else 1
    problem = exc.problem or exc.context or "invalid YAML"
    lines = _LINE_BREAK.split(text)
    if "cannot start any token" in problem and "'\\t'" in problem:
        return (
            line,
            col,
            "a tab is used for indentation; YAML indents with spaces only: replace it with spaces",
        )
    if (
        exc.context
        and "quoted scalar" in exc.context
        and "end of stream" in problem
        and exc.context_mark is not None
    ):
        start = exc.context_mark
        return (
            start.line + 1,
            start.column + 1,
            "this quoted string is never closed; add the closing quote",
        )
    found = _indentation(lines, line)
    if found is not None:
        return found.line, found.col, found.message
    if "mapping values are not allowed" in problem:
        missing = _missing_space(lines, line)
        if missing is not None:
            return missing.line, missing.col, missing.message
        return (
            line,
            col,
            f"{_quote(lines, line)} has ': ' inside a value, which YAML reads as a nested key; "
            "put the value in quotes",
        )
    if problem.startswith("expected <block end>") and exc.context_mark is not None:
        started = exc.context_mark.line + 1
        return (
            line,
            col,
            f"{_quote(lines, line)} does not line up with the block that starts at line "
            f"{started}; check its indentation",
        )
    detail = problem
    if exc.context and exc.context_mark is not None:
        started = exc.context_mark
        detail += (
            f" ({exc.context} that starts at line {started.line + 1}, column {started.column + 1})"
        )
    return line, col, f"YAML syntax error: {detail}; fix the YAML"


def _quote(lines: list[str], line: int) -> str:
    if 1 <= line <= len(lines) and lines[line - 1].strip():
        text = lines[line - 1].strip()
        return f"'{text[:40]}…'" if len(text) > 40 else f"'{text}'"
    return "this line"


def _missing_space(lines: list[str], line: int) -> _Finding | None:
    """`name:value` reads as one plain string; the mapping error comes a line later."""
    for n in range(line, max(0, line - LOOKBACK - 1), -1):
        if n > len(lines):
            continue
        raw = lines[n - 1]
        body = raw.lstrip(" ")
        if body.startswith("- "):
            body = body[2:].lstrip(" ")
        m = _NO_SPACE.match(body)
        if m is not None:
            col = len(raw) - len(body) + 1
            return _Finding(
                n,
                col,
                f"'{m.group(0)}' has no space after ':', so YAML reads it as one string; "
                f"write '{m.group('key')}: {m.group('value')}'",
            )
    return None


def _indentation(lines: list[str], upto: int) -> _Finding | None:
    try:
        return _scan(lines, upto)
    except _GiveUp:
        return None


def _scan(lines: list[str], upto: int) -> _Finding | None:
    """The first line up to `upto` that does not line up with the blocks above it."""
    stack: list[_Frame] = [_Frame(0, "", 1, "the top-level keys")]
    opened: _Frame | None = None  # the entry above ends with 'key:' or '-': a block may start
    scalar_above: int | None = None  # column of an entry whose plain value may continue below
    skip_above: int | None = None  # inside a block scalar ('|', '>'): lines indented more
    seen = False
    pending = ""  # an unclosed quoted string or flow collection continues on the next lines
    for n in range(1, min(upto, len(lines)) + 1):
        raw = lines[n - 1]
        if pending:
            pending += "\n" + raw
            if _closed(pending):
                pending = ""
            continue
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        indent = len(raw) - len(raw.lstrip(" "))
        if skip_above is not None:
            if indent > skip_above:
                continue
            skip_above = None
        body = raw[indent:]
        if indent == 0 and (stripped == "---" or stripped.startswith("%")) and not seen:
            continue  # a document start marker or directive before the first entry
        if body.startswith("\t") or stripped.startswith(("---", "...", "%")):
            raise _GiveUp
        seen = True
        if scalar_above is not None and indent > scalar_above and not _is_entry(body):
            continue  # a plain value continued on the next line
        scalar_above = None
        dash = _is_dash(body)
        popped: _Frame | None = None
        late_enough = n >= upto - LOOKBACK
        first_entry = not stack[0].kind
        if first_entry:
            stack[0].col = indent  # the document's first entry sets its indentation
            stack[0].kind = "seq" if dash else "map"
        elif indent < stack[0].col:
            if not late_enough:
                raise _GiveUp
            return _Finding(
                n,
                indent + 1,
                f"bad indentation: this line is indented less than the document's first line "
                f"(line {stack[0].first}, {_spaces(stack[0].col)}); indent all top-level keys "
                "alike, preferably with no spaces",
            )
        while stack[-1].col > indent:
            popped = stack.pop()
        top = stack[-1]
        if first_entry:
            pass
        elif top.col == indent:
            if dash and top.kind == "map":
                if opened is not None and opened.col == indent:
                    stack.append(_Frame(indent, "seq", n, ""))  # 'key:' then '- x' at its column
                elif not late_enough:
                    raise _GiveUp
                else:
                    return _list_in_mapping(n, indent, top, stack)
            elif not dash and top.kind == "seq":
                if len(stack) > 1 and stack[-2].col == indent and stack[-2].kind == "map":
                    stack.pop()  # the end of a list written at its key's column
                elif not late_enough:
                    raise _GiveUp
                else:
                    return _Finding(
                        n,
                        indent + 1,
                        f"bad indentation: this line is aligned with the '-' of {top.label} on "
                        f"line {top.line} ({_spaces(top.col)}) but is not a list item; indent it "
                        "to the item's keys, or start it with '- '",
                    )
        elif opened is not None and popped is None:
            stack.append(_Frame(indent, "seq" if dash else "map", n, ""))
        elif not late_enough:
            raise _GiveUp  # PyYAML accepted this line: the model is missing something
        else:
            return _misaligned(n, indent, popped, top, dash)
        opened = None
        here = stack[-1]
        here.line, here.label = n, _label(body)
        here.first = here.first or n
        # The line's own nested entries: '- key: value' and '- - x' open blocks on one line.
        col, rest = indent, body
        while _is_dash(rest):
            inner = rest[1:].lstrip(" ")
            if not inner or inner.startswith("#"):
                opened, rest = stack[-1], ""
                break
            col += len(rest) - len(inner)
            rest = inner
            if _is_dash(rest) or _KEY.match(rest):
                kind = "seq" if _is_dash(rest) else "map"
                stack.append(_Frame(col, kind, n, _label(rest), n, inline=True))
            else:
                break
        if not rest:
            continue
        m = _KEY.match(rest)
        value = rest[m.end() :].strip() if m is not None else rest.strip()
        if value[:1] in ("[", "{", '"', "'") and not _closed(value):
            pending = value
            continue
        if m is None:
            scalar_above = col
            continue
        if not value or value.startswith("#") or re.fullmatch(r"[&!]\S+", value):
            opened = stack[-1]
        elif value[0] in "|>":
            skip_above = col
        else:
            scalar_above = col
    return None


def _is_dash(body: str) -> bool:
    return body.startswith("- ") or body == "-"


def _is_entry(body: str) -> bool:
    return body.startswith("- ") or body == "-" or _KEY.match(body) is not None


def _closed(value: str) -> bool:
    """Whether a flow collection or quoted string ends on its own line (roughly)."""
    if value[0] in "\"'":
        quote = value[0]
        rest = value[1:]
        if quote == "'":
            rest = rest.replace("''", "")
        else:
            rest = re.sub(r"\\.", "", rest)
        return quote in rest
    depth = 0
    for ch in re.sub(r"'[^']*'|\"(?:\\.|[^\"\\])*\"", "", value):
        if ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
    return depth <= 0


def _label(body: str) -> str:
    m = _KEY.match(body)
    if m is not None:
        return f"'{m.group('key').strip()}'"
    text = body.strip()
    return f"'{text[:30]}…'" if len(text) > 30 else f"'{text}'"


def _spaces(col: int) -> str:
    return f"{col} space{'' if col == 1 else 's'}"


def _list_in_mapping(n: int, indent: int, top: _Frame, stack: list[_Frame]) -> _Finding:
    seq = next((f for f in reversed(stack) if f.kind == "seq"), None)
    hint = (
        f"align its '-' with {seq.label} on line {seq.line} ({_spaces(seq.col)})"
        if seq is not None
        else "put the list under a key that ends with ':'"
    )
    return _Finding(
        n,
        indent + 1,
        f"bad indentation: this list item is aligned with {top.label} on line {top.line}, a key "
        f"of a mapping, which cannot also hold list items; {hint}",
    )


def _misaligned(n: int, indent: int, popped: _Frame | None, top: _Frame, dash: bool) -> _Finding:
    """Line `n` is indented to no open block: say more/less than what, and align it how."""
    if popped is not None:
        # Between two blocks: most often one space short of the block it continues.
        # Prefer the block of the same kind: a '- item' aligns with a list, a 'key:' with keys.
        kind = "seq" if dash else "map"
        target = popped if popped.kind == kind or top.kind != kind else top
        other = ""
        if target is popped and popped.first == popped.line and not popped.inline:
            # A block of one entry so far: that entry may be the one out of line.
            other = f", or indent line {popped.line} like this one"
        return _Finding(
            n,
            indent + 1,
            f"bad indentation: this line is indented {_spaces(indent)}, less than "
            f"{popped.label} on line {popped.line} ({_spaces(popped.col)}) and more than "
            f"{top.label} on line {top.line} ({_spaces(top.col)}); align it with "
            f"{target.label} ({_spaces(target.col)}){other}",
        )
    return _Finding(
        n,
        indent + 1,
        f"bad indentation: this line is indented more than {top.label} on line {top.line} "
        f"({_spaces(top.col)}), which has a value and so cannot hold nested keys; align it "
        f"with {top.label} ({_spaces(top.col)}), or end line {top.line} with ':' to nest it",
    )
