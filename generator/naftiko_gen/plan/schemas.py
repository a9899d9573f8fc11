"""`outputSchema` files read at build time: an Avro schema (.avsc, JSON) or a Protobuf .proto
(its message layout: what the runtime's wire decoder needs). Errors are located diagnostics."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

_TOKEN = re.compile(
    r'\s+|//[^\n]*|/\*.*?\*/|"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|[A-Za-z_][\w.]*|\.[\w.]+'
    r"|-?\d[\w.+-]*|[{}\[\]();=<>,]",
    re.S,
)
SCALARS = frozenset(
    "double float int32 int64 uint32 uint64 sint32 sint64 fixed32 fixed64 sfixed32 sfixed64 "
    "bool string bytes".split()
)


class SchemaError(ValueError):
    pass


def read_avro(path: Path) -> Any:
    try:
        schema = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise SchemaError(f"cannot be read ({exc.__class__.__name__})") from None
    except ValueError as exc:
        raise SchemaError(f"is not JSON: {exc}") from None
    if not isinstance(schema, (dict, list, str)):
        raise SchemaError("is not an Avro schema (a JSON object, array or type name)")
    return schema


def _tokens(text: str) -> list[str]:
    out: list[str] = []
    at = 0
    while at < len(text):
        m = _TOKEN.match(text, at)
        if m is None:
            raise SchemaError(f"has an unexpected character {text[at]!r}")
        token = m.group(0)
        if not (token.isspace() or token.startswith("//") or token.startswith("/*")):
            out.append(token)
        at = m.end()
    return out


class _Parser:
    def __init__(self, tokens: list[str]) -> None:
        self.t, self.i = tokens, 0
        self.package = ""
        self.messages: dict[str, list[list[Any]]] = {}
        self.enums: dict[str, dict[int, str]] = {}
        self.order: list[str] = []
        self.pending: list[tuple[list[Any], str, str]] = []  # field, written type, scope

    def peek(self) -> str:
        return self.t[self.i] if self.i < len(self.t) else ""

    def take(self, expected: str | None = None) -> str:
        token = self.peek()
        if not token or (expected is not None and token != expected):
            raise SchemaError(f"expected {expected or 'more'} but found {token or 'the end'!r}")
        self.i += 1
        return token

    def skip_statement(self) -> None:
        depth = 0
        while self.peek():
            token = self.take()
            if token == "{":
                depth += 1
            elif token == "}":
                depth -= 1
                if depth <= 0:
                    return
            elif token == ";" and depth == 0:
                return

    def file(self) -> None:
        while self.peek():
            word = self.peek()
            if word == "package":
                self.take()
                self.package = self.take()
                self.take(";")
            elif word == "message":
                self.message(self.package)
            elif word == "enum":
                self.enum(self.package)
            elif word == ";":
                self.take()
            else:  # syntax, import, option, service, extend
                self.skip_statement()

    def enum(self, scope: str) -> None:
        self.take("enum")
        name = _join(scope, self.take())
        values: dict[int, str] = {}
        self.take("{")
        while self.peek() != "}":
            token = self.take()
            if token in ("option", "reserved"):
                self.i -= 1
                self.skip_statement()
                continue
            if token == ";":
                continue
            self.take("=")
            number = _int(self.take())
            values.setdefault(number, token)
            if self.peek() == "[":
                while self.take() != "]":
                    pass
            self.take(";")
        self.take("}")
        self.enums[name] = values

    def message(self, scope: str) -> None:
        self.take("message")
        name = _join(scope, self.take())
        self.order.append(name)
        fields: list[list[Any]] = []
        self.messages[name] = fields
        self.take("{")
        self.body(name, fields)
        self.take("}")

    def body(self, name: str, fields: list[list[Any]]) -> None:
        while self.peek() != "}":
            word = self.peek()
            if not word:
                raise SchemaError(f"message '{name}' is not closed")
            if word == "message":
                self.message(name)
            elif word == "enum":
                self.enum(name)
            elif word == "oneof":
                self.take()
                self.take()
                self.take("{")
                self.body(name, fields)
                self.take("}")
            elif word in ("option", "reserved", "extensions", "extend"):
                self.skip_statement()
            elif word == ";":
                self.take()
            else:
                self.field(name, fields)

    def field(self, scope: str, fields: list[list[Any]]) -> None:
        repeated = False
        if self.peek() in ("repeated", "optional", "required"):
            repeated = self.take() == "repeated"
        written = self.take()
        if written == "map":
            self.take("<")
            key = self.take()
            self.take(",")
            value = self.take()
            self.take(">")
            fname = self.take()
            entry = _join(scope, fname + "#entry")
            self.messages[entry] = [[1, "key", key, False, None], [2, "value", value, False, None]]
            for f, s in zip(self.messages[entry], (key, value), strict=True):
                if s not in SCALARS:
                    self.pending.append((f, s, scope))
            self.take("=")
            fields.append([_int(self.take()), fname, "map", True, entry])
        else:
            fname = self.take()
            self.take("=")
            field: list[Any] = [_int(self.take()), fname, written, repeated, None]
            fields.append(field)
            if written not in SCALARS:
                self.pending.append((field, written, scope))
        if self.peek() == "[":
            while self.take() != "]":
                pass
        self.take(";")

    def resolve(self) -> None:
        for field, written, scope in self.pending:
            found = self.lookup(written, scope)
            if found is None:
                raise SchemaError(f"field '{field[1]}' has the unknown type '{written}'")
            field[2], field[4] = found

    def lookup(self, written: str, scope: str) -> tuple[str, str] | None:
        if written.startswith("."):
            candidates = [written[1:]]
        else:
            parts = scope.split(".") if scope else []
            candidates = [_join(".".join(parts[:n]), written) for n in range(len(parts), -1, -1)]
        for c in candidates:
            if c in self.messages:
                return "message", c
            if c in self.enums:
                return "enum", c
        return None


def _join(scope: str, name: str) -> str:
    return f"{scope}.{name}" if scope else name


def _int(token: str) -> int:
    try:
        return int(token, 0)
    except ValueError:
        raise SchemaError(f"'{token}' is not a field number") from None


def read_proto(path: Path) -> dict[str, Any]:
    """The layout of a .proto: {"root": first message, "messages": {name: [[number, field,
    type, repeated, message-or-enum name], ...]}, "enums": {name: {number: label}}}."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SchemaError(f"cannot be read ({exc.__class__.__name__})") from None
    parser = _Parser(_tokens(text))
    parser.file()
    parser.resolve()
    if not parser.order:
        raise SchemaError("defines no message")
    return {"root": parser.order[0], "messages": parser.messages, "enums": parser.enums}
