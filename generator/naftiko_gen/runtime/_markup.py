"""Upstream HTML and Markdown read as data, in the JSON shape of the Naftiko engine's Converter.

HTML → {"tables": [[{header: cell, ...}, ...], ...]}: the tables the `outputSchema` CSS selector
picks (every table without one; a selected element that is not a table gives the tables inside
it). Headers: the first `thead` row's th cells, else the th cells of a first row; rows: tbody
rows (else every row) without th cells, each cell's text with whitespace collapsed; a missing cell
is "". A table without headers is left out.

Markdown → {"frontMatter": {...}, "tables": [...], "sections": [{"heading", "level", "content"}]}:
YAML front matter between `---` lines; GFM tables (top-level); one section per heading with the
text of the blocks up to the next heading (tables left out), a block per line; `outputSchema`
keeps only sections whose heading starts with it. Inline markup is reduced to its text.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

# -- HTML ------------------------------------------------------------------------------------

_VOID = frozenset("area base br col embed hr img input link meta param source track wbr".split())
# A start tag that closes an open element of these kinds (HTML's implied end tags).
_CLOSES = {
    "tr": ("tr", "td", "th"),
    "td": ("td", "th"),
    "th": ("td", "th"),
    "tbody": ("tbody", "thead", "tfoot", "tr", "td", "th"),
    "thead": ("tbody", "thead", "tfoot", "tr", "td", "th"),
    "tfoot": ("tbody", "thead", "tfoot", "tr", "td", "th"),
    "p": ("p",),
    "li": ("li",),
}


class Element:
    __slots__ = ("tag", "attrs", "children", "parent")

    def __init__(self, tag: str, attrs: dict[str, str], parent: Element | None) -> None:
        self.tag, self.attrs, self.parent = tag, attrs, parent
        self.children: list[Element | str] = []

    def elements(self) -> list[Element]:
        return [c for c in self.children if isinstance(c, Element)]

    def descendants(self) -> list[Element]:
        out: list[Element] = []
        stack = list(reversed(self.elements()))
        while stack:
            e = stack.pop()
            out.append(e)
            stack.extend(reversed(e.elements()))
        return out

    def text(self) -> str:
        parts: list[str] = []
        stack: list[Element | str] = [self]
        while stack:
            node = stack.pop()
            if isinstance(node, str):
                parts.append(node)
            else:
                stack.extend(reversed(node.children))
        return " ".join("".join(parts).split())


class _Tree(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Element("#document", {}, None)
        self.open = self.root

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        closes = _CLOSES.get(tag, ())
        node: Element | None = self.open
        while closes and node is not None and node is not self.root:
            if node.tag == "table":
                break
            if node.tag in closes:
                self.open = node.parent or self.root
                break
            node = node.parent
        element = Element(tag, {k: v or "" for k, v in attrs}, self.open)
        self.open.children.append(element)
        if tag not in _VOID:
            self.open = element

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.open.children.append(Element(tag, {k: v or "" for k, v in attrs}, self.open))

    def handle_endtag(self, tag: str) -> None:
        node: Element | None = self.open
        while node is not None and node is not self.root:
            if node.tag == tag:
                self.open = node.parent or self.root
                return
            node = node.parent

    def handle_data(self, data: str) -> None:
        self.open.children.append(data)


_SIMPLE = re.compile(r"^([A-Za-z][A-Za-z0-9-]*|\*)?((?:[.#][A-Za-z0-9_-]+)*)$")


def _matches(e: Element, simple: str) -> bool:
    m = _SIMPLE.match(simple)
    if m is None:
        return False
    tag, rest = m.group(1), m.group(2)
    if tag and tag != "*" and e.tag != tag.lower():
        return False
    classes = e.attrs.get("class", "").split()
    for kind, name in re.findall(r"([.#])([A-Za-z0-9_-]+)", rest):
        if kind == "." and name not in classes:
            return False
        if kind == "#" and e.attrs.get("id") != name:
            return False
    return True


def select(root: Element, selector: str) -> list[Element]:
    """Elements matching a CSS selector of simple parts (tag, .class, #id) joined by spaces
    (descendant) or commas (either)."""
    found: list[Element] = []
    for group in selector.split(","):
        current = [root]
        for simple in group.split():
            current = [d for c in current for d in c.descendants() if _matches(d, simple)]
            current = list(dict.fromkeys(current))
        found.extend(e for e in current if e not in found)
    return found


def _rows(table: Element, within: str | None) -> list[Element]:
    """The table's own rows (not a nested table's), optionally only those inside `within`."""
    out: list[Element] = []
    for child in table.elements():
        if child.tag == "tr" and within is None:
            out.append(child)
        elif child.tag in ("thead", "tbody", "tfoot") and within in (None, child.tag):
            out.extend(r for r in child.elements() if r.tag == "tr")
    return out


def _headers(table: Element) -> list[str]:
    for rows in (_rows(table, "thead"), _rows(table, None)):
        if rows:
            cells = [c.text().strip() for c in rows[0].elements() if c.tag == "th"]
            if cells:
                return cells if any(cells) else []
    return []


def html_to_data(text: str, selector: str | None) -> dict[str, Any]:
    tree = _Tree()
    tree.feed(text)
    tree.close()
    if selector is None or not selector.strip():
        tables = select(tree.root, "table")
    else:
        tables = []
        for e in select(tree.root, selector):
            for t in [e] if e.tag == "table" else select(e, "table"):
                if t not in tables:
                    tables.append(t)
    out: list[list[dict[str, str]]] = []
    for table in tables:
        headers = _headers(table)
        if not headers:
            continue
        rows = _rows(table, "tbody") or _rows(table, None)
        mapped: list[dict[str, str]] = []
        for row in rows:
            cells = row.elements()
            if any(c.tag == "th" for c in cells):
                continue  # a header row
            values = [c.text().strip() for c in cells if c.tag == "td"]
            if values:
                mapped.append(_row(headers, values))
        out.append(mapped)
    return {"tables": out}


def _row(headers: list[str], values: list[str]) -> dict[str, str]:
    return {h: values[i] if i < len(values) else "" for i, h in enumerate(headers)}


# -- Markdown --------------------------------------------------------------------------------

_ATX = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_SETEXT = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
_DELIMITER = re.compile(r"^ {0,3}\|?[ \t]*:?-+:?[ \t]*(\|[ \t]*:?-+:?[ \t]*)*\|?[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_BREAK = re.compile(r"^ {0,3}([-*_])([ \t]*\1){2,}[ \t]*$")
_ITEM = re.compile(r"^ {0,3}(?:[-+*]|\d{1,9}[.)])(?:[ \t]+|$)")


def _cells(line: str) -> list[str]:
    line = line.strip()
    if line.startswith("|"):
        line = line[1:]
    if line.endswith("|") and not line.endswith("\\|"):
        line = line[:-1]
    return [_inline(c.replace("\\|", "|")).strip() for c in re.split(r"(?<!\\)\|", line)]


def _inline(text: str) -> str:
    """A span of Markdown as the text a reader sees (code, link text, no emphasis markers)."""
    out: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text) and not text[i + 1].isalnum():
            out.append(text[i + 1])
            i += 2
            continue
        if ch == "`":
            run = len(text[i:]) - len(text[i:].lstrip("`"))
            end = text.find("`" * run, i + run)
            if end != -1:
                out.append(text[i + run : end].strip(" ") or text[i + run : end])
                i = end + run
                continue
        if ch == "<":
            m = re.match(r"<(https?://[^>\s]+|[^>\s@]+@[^>\s]+)>|</?[A-Za-z][^>]*>", text[i:])
            if m:
                out.append(m.group(1) or "")
                i += m.end()
                continue
        if ch in "![":
            m = re.match(r"!?\[([^\]]*)\]\([^)]*\)", text[i:])
            if m:
                out.append(_inline(m.group(1)))
                i += m.end()
                continue
        if ch in "*_":
            run = len(text[i:]) - len(text[i:].lstrip(ch))
            before = text[i - 1] if i else " "
            after = text[i + run] if i + run < len(text) else " "
            if not (before.isspace() and after.isspace()) and (
                ch == "*" or not (before.isalnum() and after.isalnum())
            ):
                i += run  # an emphasis delimiter run
                continue
        out.append(ch)
        i += 1
    return "".join(out)


def _paragraph_text(lines: list[str]) -> str:
    out = ""
    for n, line in enumerate(lines):
        last = n == len(lines) - 1
        hard = not last and (line.endswith("  ") or line.endswith("\\"))
        body = line.strip()
        if hard and body.endswith("\\"):
            body = body[:-1]
        out += _inline(body) + ("" if last else "\n" if hard else " ")
    return out


def _blocks(body: str) -> list[tuple[str, Any]]:
    """Top-level blocks: ("heading", (level, text)), ("table", (headers, rows)), ("text", str)."""
    lines = body.split("\n")
    out: list[tuple[str, Any]] = []
    i = 0
    para: list[str] = []

    def flush() -> None:
        if para:
            out.append(("text", _paragraph_text(para)))
            para.clear()

    while i < len(lines):
        line = lines[i]
        if not line.strip():
            flush()
            i += 1
            continue
        if m := _ATX.match(line):
            flush()
            out.append(("heading", (len(m.group(1)), _inline((m.group(2) or "").strip()))))
            i += 1
            continue
        if para and (m := _SETEXT.match(line)):
            text = _paragraph_text(para)
            para.clear()
            out.append(("heading", (1 if m.group(1)[0] == "=" else 2, text)))
            i += 1
            continue
        if m := _FENCE.match(line):
            flush()  # code blocks carry no text nodes in the engine's reading: skipped
            fence = m.group(1)
            i += 1
            while i < len(lines) and not lines[i].strip().startswith(fence):
                i += 1
            i += 1
            continue
        if _BREAK.match(line):
            flush()
            i += 1
            continue
        if para and "|" in para[-1] and _DELIMITER.match(line):
            # GFM: a paragraph's last line followed by a delimiter row is a table's header.
            if len(_cells(para[-1])) == len(_cells(line)):
                lines[i - 1 : i + 1] = [para.pop(), line]
                i -= 1
                flush()
        if (
            "|" in line
            and i + 1 < len(lines)
            and _DELIMITER.match(lines[i + 1])
            and len(_cells(line)) == len(_cells(lines[i + 1]))
        ):
            flush()
            headers = _cells(line)
            rows: list[list[str]] = []
            i += 2
            while i < len(lines) and lines[i].strip() and not _ATX.match(lines[i]):
                rows.append(_cells(lines[i]))
                i += 1
            out.append(("table", (headers, rows)))
            continue
        if _ITEM.match(line):
            flush()
            items: list[str] = []
            while i < len(lines) and lines[i].strip():
                if m := _ITEM.match(lines[i]):
                    items.append(lines[i][m.end() :].strip())
                elif items:
                    items[-1] += " " + lines[i].strip()
                i += 1
            # The engine concatenates the list's text nodes without a separator.
            out.append(("text", "".join(_inline(t) for t in items)))
            continue
        if line.lstrip().startswith(">"):
            para.append(line.lstrip()[1:].lstrip())
            i += 1
            continue
        para.append(line)
        i += 1
    flush()
    return out


def _front_matter(markdown: str) -> tuple[dict[str, Any], str]:
    if not markdown.startswith("---\n"):
        return {}, markdown
    end = markdown.find("\n---\n", 4)
    if end == -1:
        return {}, markdown
    block, body = markdown[4:end].strip(), markdown[end + 5 :]
    if not block:
        return {}, body
    from . import _formats

    parsed = _formats.load_yaml(block)
    return (parsed if isinstance(parsed, dict) else {}), body


def markdown_to_data(text: str, section_filter: str | None) -> dict[str, Any]:
    front, body = _front_matter(text.replace("\r\n", "\n"))
    tables: list[list[dict[str, str]]] = []
    sections: list[dict[str, Any]] = []
    heading: tuple[int, str] | None = None
    content: list[str] = []

    def close() -> None:
        if heading is not None and (
            not section_filter
            or not section_filter.strip()
            or heading[1].startswith(section_filter)
        ):
            text = "\n".join(t for t in (c.strip() for c in content) if t).strip()
            sections.append({"heading": heading[1], "level": heading[0], "content": text})

    for kind, value in _blocks(body):
        if kind == "heading":
            close()
            heading, content = (value[0], value[1].strip()), []
        elif kind == "table":
            headers, rows = value
            if any(h.strip() for h in headers):
                tables.append([_row(headers, r) for r in rows])
        elif heading is not None:
            content.append(value)
    close()
    return {"frontMatter": front, "tables": tables, "sections": sections}
