"""YAML text → a tree of Nodes that remember where they stand in the file."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from naftiko_gen.diagnostics import Pos, Report
from naftiko_gen.yaml_errors import explain as explain_yaml_error

MAX_SPEC_BYTES = 8 * 1024 * 1024
# Aliases can make a 1 KB file expand to billions of nodes; no real spec comes close to this.
MAX_NODES = 200_000
_SURROGATE = re.compile("[\ud800-\udfff]")


class _Budget:
    def __init__(self, display: str) -> None:
        self.left = MAX_NODES
        self.display = display
        self.positions: dict[int, Pos] = {}  # by yaml node: aliases repeat nodes (and positions)

    def pos(self, node: yaml.Node) -> Pos:
        found = self.positions.get(id(node))
        if found is None:
            found = self.positions[id(node)] = _pos(self.display, node.start_mark)
        return found


class _TooLarge(Exception):
    def __init__(self, pos: Pos) -> None:
        self.pos = pos


class Node:
    """A YAML value with its position. Mappings keep their keys' positions too.

    A slotted class, not a dataclass: the loader makes one per value (dozens of thousands per
    build) and this __init__ costs half a dataclass's.
    """

    __slots__ = ("value", "pos", "key_pos")

    def __init__(self, value: Any, pos: Pos, key_pos: dict[str, Pos] | None = None) -> None:
        self.value: Any = value  # dict[str, Node] | list[Node] | str | int | float | bool | None
        self.pos = pos
        self.key_pos: dict[str, Pos] = {} if key_pos is None else key_pos

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Node)
            and self.value == other.value
            and self.pos == other.pos
            and self.key_pos == other.key_pos
        )

    __hash__ = None  # type: ignore[assignment]  # mutable, compared by value

    def __repr__(self) -> str:
        return f"Node(value={self.value!r}, pos={self.pos!r}, key_pos={self.key_pos!r})"

    @property
    def is_map(self) -> bool:
        return isinstance(self.value, dict)

    @property
    def is_list(self) -> bool:
        return isinstance(self.value, list)

    @property
    def is_scalar(self) -> bool:
        return not isinstance(self.value, (dict, list))

    def get(self, key: str) -> Node | None:
        if isinstance(self.value, dict):
            found = self.value.get(key)
            return found if isinstance(found, Node) else None
        return None

    def pos_of(self, key: str) -> Pos:
        return self.key_pos.get(key, self.pos)

    def value_pos(self, key: str) -> Pos:
        found = self.get(key)
        return found.pos if found is not None else self.pos

    def plain(self) -> Any:
        """The value without positions (for literal data such as body templates)."""
        if isinstance(self.value, dict):
            return {k: v.plain() for k, v in self.value.items()}
        if isinstance(self.value, list):
            return [v.plain() for v in self.value]
        return self.value


class _Constructor(yaml.SafeLoader):
    pass


def _pos(display: str, mark: Any) -> Pos:
    return Pos(display, mark.line + 1, mark.column + 1)


_STR_TAG = "tag:yaml.org,2002:str"


def _scalar(node: yaml.Node, loader: _Constructor) -> Any:
    # A plain string is its text, as SafeConstructor would say, without its bookkeeping.
    if node.tag == _STR_TAG and isinstance(node, yaml.ScalarNode):
        return node.value
    return loader.construct_object(node)


def _convert(
    node: yaml.Node, display: str, loader: _Constructor, report: Report, depth: int, budget: _Budget
) -> Node:
    pos = budget.pos(node)
    budget.left -= 1
    if budget.left < 0:
        raise _TooLarge(pos)
    if depth > 200:
        report.error("naftiko-yaml-syntax", "YAML nesting is too deep (over 200 levels)", pos)
        return Node(None, pos)
    if isinstance(node, yaml.MappingNode):
        loader.flatten_mapping(node)
        items: dict[str, Node] = {}
        key_pos: dict[str, Pos] = {}
        for key_node, value_node in node.value:
            kpos = budget.pos(key_node)
            if not isinstance(key_node, yaml.ScalarNode):
                report.error("naftiko-yaml-syntax", "mapping keys must be plain strings", kpos)
                continue
            key = _scalar(key_node, loader)
            if isinstance(key, str) and _SURROGATE.search(key):
                report.error(
                    "naftiko-yaml-syntax", "a key has a lone surrogate escape; remove it", kpos
                )
                continue
            key = "null" if key is None else str(key).lower() if isinstance(key, bool) else str(key)
            if key in items:
                report.error(
                    "naftiko-yaml-duplicate-key",
                    f"duplicate key '{key}' (first at line {key_pos[key].line}); remove one of them",
                    kpos,
                )
                continue
            items[key] = _convert(value_node, display, loader, report, depth + 1, budget)
            key_pos[key] = kpos
        return Node(items, pos, key_pos)
    if isinstance(node, yaml.SequenceNode):
        return Node(
            [_convert(n, display, loader, report, depth + 1, budget) for n in node.value], pos
        )
    value = _scalar(node, loader)
    if not isinstance(value, (str, int, float, bool)) and value is not None:
        value = str(node.value)  # dates and other tagged scalars stay text
    if isinstance(value, str) and _SURROGATE.search(value):
        report.error(
            "naftiko-yaml-syntax",
            "the string has a lone surrogate escape (\\uD800-\\uDFFF), which is not text; remove it",
            pos,
        )
        value = _SURROGATE.sub("\ufffd", value)
    return Node(value, pos)


def _libyaml_loader() -> Any:
    """yaml.CSafeLoader when PyYAML has libyaml 0.2.5 or later (which bounds nesting), else None."""
    loader = getattr(yaml, "CSafeLoader", None)
    try:
        from yaml import _yaml  # PyYAML's libyaml binding

        version = tuple(_yaml.get_version())
    except (ImportError, AttributeError, TypeError):
        return None
    return loader if version >= (0, 2, 5) else None


_FAST_LOADER = _libyaml_loader()


def _compose(text: str) -> yaml.Node | None:
    """The node tree of `text`: libyaml when installed (several times faster), else pure Python.

    Both keep node marks (positions) and resolve tags with the same Python resolver. Whatever
    libyaml rejects is parsed again in pure Python, so every error (message, position, and the
    deep-nesting and encoding cases) is exactly the pure-Python loader's.
    """
    if _FAST_LOADER is not None:
        try:
            return yaml.compose(text, Loader=_FAST_LOADER)
        except Exception:  # noqa: BLE001, S110 - the pure-Python parse below says what is wrong
            pass
    return yaml.compose(text, Loader=yaml.SafeLoader)


def parse_yaml(text: str, display: str, report: Report) -> Node | None:
    """Parse one YAML document; syntax errors become diagnostics, never exceptions."""
    try:
        composed = _compose(text)
    except yaml.MarkedYAMLError as exc:
        line, col, message = explain_yaml_error(text, exc)
        report.error("naftiko-yaml-syntax", message, Pos(display, line, col))
        return None
    except yaml.YAMLError as exc:
        first = str(exc).splitlines()[0] if str(exc) else "invalid YAML"
        report.error("naftiko-yaml-syntax", f"YAML error: {first}", Pos(display))
        return None
    except RecursionError:
        report.error("naftiko-yaml-syntax", "YAML nesting is too deep", Pos(display))
        return None
    if composed is None:
        report.error(
            "naftiko-yaml-empty", "the file is empty; a capability spec is expected", Pos(display)
        )
        return None
    loader = _Constructor("")
    try:
        return _convert(composed, display, loader, report, 0, _Budget(display))
    except _TooLarge as exc:
        report.error(
            "naftiko-yaml-syntax",
            f"the YAML expands to more than {MAX_NODES} values (aliases?); a spec is far smaller",
            exc.pos,
        )
        return None
    except (yaml.YAMLError, ValueError, TypeError, RecursionError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        report.error("naftiko-yaml-syntax", f"YAML value error: {first}", Pos(display))
        return None


def load_file(path: Path, display: str, report: Report) -> Node | None:
    try:
        data = path.read_bytes()
    except OSError as exc:
        report.error(
            "naftiko-file-unreadable", f"cannot read file: {exc.strerror or exc}", Pos(display)
        )
        return None
    if len(data) > MAX_SPEC_BYTES:
        report.error("naftiko-file-too-large", "spec file is larger than 8 MiB", Pos(display))
        return None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        report.error("naftiko-file-encoding", f"file is not UTF-8 (byte {exc.start})", Pos(display))
        return None
    return parse_yaml(text, display, report)


def _display_path(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def load_import(location: str, source: Path, report: Report, at: Pos) -> tuple[Node | None, bool]:
    """Load the consumes file a capability imports (`location` relative to the spec `source`).

    Returns (node tree, found): found is False, with an error at `at`, when there is no such file;
    the tree is None when it cannot be read or parsed (its own located errors are in `report`).
    """
    path = (
        (source.parent / location).resolve() if not Path(location).is_absolute() else Path(location)
    )
    display = _display_path(path)
    if not path.is_file():
        what = "is a folder, not a file" if path.is_dir() else "does not exist"
        report.error(
            "naftiko-import-not-found",
            f"imported consumes file '{location}' {what} (looked for {display})",
            at,
        )
        return None, False
    return load_file(path, display, report), True
