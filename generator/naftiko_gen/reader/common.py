"""What every section reader shares: the Reader context (report + typed accessors), the keys the
alpha2 schema allows per object (a table), and the value sets the reader checks against."""

from __future__ import annotations

import re
from typing import NamedTuple

from naftiko_gen.diagnostics import Pos, Report
from naftiko_gen.loader import Node
from naftiko_gen.model import HTTP_METHODS, PARAM_TYPES

SUPPORTED_VERSIONS = ("1.0.0-alpha2", "1.0.0-alpha3")
CONSUMED_LOCATIONS = ("query", "header", "path", "cookie", "body", "environment")
EXPOSED_LOCATIONS = ("query", "header", "path", "cookie", "body")
OUTPUT_FORMATS = (
    "json", "xml", "avro", "protobuf", "csv", "tsv", "psv", "yaml", "html", "markdown", "text",
    "binary",
)  # fmt: skip
EXTRA_METHODS = ("HEAD", "OPTIONS")  # dialect: beyond the schema's enum, with a note
BODY_KINDS = ("json", "text", "xml", "sparql", "formUrlEncoded", "multipartForm", "binary")
UNSUPPORTED_AUTH = ("oauth1", "hmac", "aws-sig-v4", "awsv4", "ntlm", "kerberos", "jwt", "custom")

_NAME_RE = re.compile(r"^[A-Za-z0-9_.-]+$")


class Keys(NamedTuple):
    """The keys of one schema object: what to call it, the keys it allows, and the keys real specs
    add that are accepted with a deviation warning."""

    what: str
    allowed: tuple[str, ...]
    lenient: tuple[str, ...] = ()
    dialects: tuple[str, ...] = ()  # read by a naftiko-dialect-* rule, which reports them


# The alpha2 schema's allowed keys per object (authentication blocks check theirs per kind, in auth.py).
SCHEMA_KEYS: dict[str, Keys] = {
    "document": Keys("the document", ("naftiko", "info", "binds", "capability", "consumes")),
    "capability": Keys("'capability'", ("exposes", "consumes", "aggregates", "binds")),
    "bind": Keys("a bind", ("namespace", "description", "location", "keys")),
    "import": Keys("an imported consumes", ("import", "location", "as", "description")),
    "consumes": Keys(
        "a consumes adapter",
        (
            "type", "namespace", "baseUri", "description", "inputParameters", "authentication",
            "resources", "label",
        ),
        dialects=("auth",),
    ),
    "consumed-resource": Keys(
        "a consumed resource",
        ("name", "path", "operations", "label", "description", "inputParameters"),
    ),
    "consumed-operation": Keys(
        "a consumed operation",
        (
            "name", "method", "label", "description", "inputParameters", "outputRawFormat",
            "outputSchema", "outputParameters", "body",
        ),
        dialects=("id", "path"),
    ),
    "body": Keys("a request body", ("type", "data")),
    "consumed-param": Keys(
        "a consumed input parameter", ("name", "in", "value"), ("type", "required", "description")
    ),
    "rest": Keys(
        "a rest adapter",
        ("type", "port", "namespace", "address", "authentication", "resources"),
        ("description", "label"),
        ("auth",),
    ),
    "rest-resource": Keys(
        "a rest resource",
        ("path", "name", "label", "description", "inputParameters", "operations", "forward"),
    ),
    "rest-operation": Keys(
        "a rest operation",
        (
            "method", "name", "label", "description", "inputParameters", "call", "with",
            "outputParameters", "steps", "mappings", "ref",
        ),
    ),
    "rest-param": Keys(
        "an exposed input parameter",
        ("name", "in", "type", "description", "pattern", "value"),
        ("required",),
    ),
    "mcp": Keys(
        "an mcp adapter",
        (
            "type", "namespace", "tools", "transport", "address", "port", "description",
            "authentication", "resources", "prompts",
        ),
        ("label",),
        ("auth",),
    ),
    "mcp-tool": Keys(
        "an mcp tool",
        (
            "name", "label", "description", "inputParameters", "hints", "call", "with",
            "outputParameters", "steps", "mappings", "ref",
        ),
    ),
    "tool-param": Keys(
        "an exposed input parameter", ("name", "type", "description", "required"), ("pattern", "in")
    ),
    "hints": Keys("'hints'", ("readOnly", "destructive", "idempotent", "openWorld")),
    "mcp-resource": Keys(
        "an mcp resource",
        (
            "name", "label", "uri", "description", "mimeType", "call", "with", "steps",
            "mappings", "outputParameters", "location",
        ),
    ),
    "mcp-prompt": Keys(
        "an mcp prompt", ("name", "label", "description", "arguments", "template", "location")
    ),
    "prompt-argument": Keys(
        "a prompt argument", ("name", "label", "description", "required")
    ),
    "prompt-message": Keys("a prompt message", ("role", "content")),
    "skill-adapter": Keys(
        "a skill adapter",
        ("type", "address", "port", "namespace", "description", "authentication", "skills"),
        (),
        ("auth",),
    ),
    "skill": Keys(
        "a skill",
        (
            "name", "description", "license", "compatibility", "metadata", "allowed-tools",
            "argument-hint", "user-invocable", "disable-model-invocation", "location", "tools",
        ),
    ),
    "skill-tool": Keys("a skill tool", ("name", "description", "from", "instruction")),
    "skill-from": Keys("'from' of a skill tool", ("sourceNamespace", "action")),
    "output": Keys(
        "an output parameter",
        ("name", "type", "mapping", "value", "properties", "items", "const", "description"),
    ),
}  # fmt: skip


class Reader:
    def __init__(self, report: Report) -> None:
        self.report = report
        self.broken_ops: list[str] = []

    def error(self, rule: str, message: str, pos: Pos) -> None:
        self.report.error(rule, message, pos)

    def warn(self, rule: str, message: str, pos: Pos) -> None:
        self.report.warning(rule, message, pos)

    def expect_map(self, node: Node | None, what: str) -> Node | None:
        if node is None:
            return None
        if not node.is_map:
            self.error("naftiko-schema-type", f"{what} must be a mapping", node.pos)
            return None
        return node

    def expect_list(self, parent: Node, key: str, what: str) -> list[Node]:
        node = parent.get(key)
        if node is None or node.value is None:
            return []
        if not node.is_list:
            self.error("naftiko-schema-type", f"'{key}' of {what} must be a list", node.pos)
            return []
        return list(node.value)

    def text(self, parent: Node, key: str, what: str, required: bool = False) -> str | None:
        node = parent.get(key)
        if node is None or node.value is None:
            if required:
                self.error(
                    "naftiko-schema-required",
                    f"{what} is missing the required key '{key}'; add it",
                    parent.pos,
                )
            return None
        if isinstance(node.value, bool) or not node.is_scalar:
            self.error("naftiko-schema-type", f"'{key}' of {what} must be a string", node.pos)
            return None
        if isinstance(node.value, (int, float)):
            return str(node.value)
        return str(node.value)

    def boolean(self, parent: Node, key: str, what: str) -> bool | None:
        node = parent.get(key)
        if node is None or node.value is None:
            return None
        if isinstance(node.value, bool):
            return node.value
        if isinstance(node.value, str) and node.value.lower() in ("true", "false"):
            self.warn(
                "naftiko-lenient-boolean",
                f"'{key}' of {what} is the string '{node.value}'; write it as a YAML boolean",
                node.pos,
            )
            return node.value.lower() == "true"
        self.error("naftiko-schema-type", f"'{key}' of {what} must be true or false", node.pos)
        return None

    def integer(self, parent: Node, key: str, what: str) -> int | None:
        node = parent.get(key)
        if node is None or node.value is None:
            return None
        value = node.value
        if isinstance(value, str) and value.strip().isdigit():
            self.warn(
                "naftiko-lenient-integer",
                f"'{key}' of {what} is a string; write it as a number",
                node.pos,
            )
            value = int(value.strip())
        if isinstance(value, bool) or not isinstance(value, int):
            self.error("naftiko-schema-type", f"'{key}' of {what} must be an integer", node.pos)
            return None
        return value

    def check_keys(
        self, node: Node, allowed: tuple[str, ...], what: str, lenient: tuple[str, ...] = ()
    ) -> None:
        for key in node.value:
            if key in allowed:
                continue
            if key in lenient:
                self.warn(
                    "naftiko-schema-deviation",
                    f"'{key}' is not part of {what} in the alpha2 schema; it is accepted",
                    node.pos_of(key),
                )
                continue
            self.warn(
                "naftiko-unknown-key",
                f"unknown key '{key}' in {what} is ignored; remove it or check its spelling",
                node.pos_of(key),
            )

    def check(self, node: Node, obj: str) -> None:
        """Warn of the keys `node` has that the schema object `obj` (a SCHEMA_KEYS entry) lacks."""
        keys = SCHEMA_KEYS[obj]
        self.check_keys(node, keys.allowed + keys.dialects, keys.what, keys.lenient)

    def auth_node(self, node: Node) -> Node | None:
        """'authentication', or the dialect spelling 'auth' (the key only; a note)."""
        found = node.get("authentication")
        if found is None and node.get("auth") is not None:
            self.warn(
                "naftiko-dialect-auth-key",
                "'auth' is read as 'authentication' (the canonical spelling)",
                node.pos_of("auth"),
            )
            found = node.get("auth")
        return found

    def version(self, root: Node) -> None:
        node = root.get("naftiko")
        if node is None:
            self.error(
                "naftiko-version",
                "missing 'naftiko' version; add 'naftiko: 1.0.0-alpha2' at the top",
                root.pos,
            )
        elif str(node.value) not in SUPPORTED_VERSIONS:
            self.error(
                "naftiko-version",
                f"unsupported naftiko version '{node.value}'; naftiko-gen reads 1.0.0-alpha2",
                node.pos,
            )

    def method(self, node: Node, what: str, default: str | None) -> str | None:
        raw = self.text(node, "method", what, required=default is None)
        if raw is None:
            return default
        if raw.upper() in EXTRA_METHODS:
            self.warn(
                "naftiko-dialect-method",
                f"method '{raw.upper()}' is beyond the alpha2 schema; it is generated like the others",
                node.pos_of("method"),
            )
        elif raw.upper() not in HTTP_METHODS:
            self.error(
                "naftiko-schema-enum",
                f"method '{raw}' is not supported; use one of "
                f"{', '.join(HTTP_METHODS + EXTRA_METHODS)}",
                node.pos_of("method"),
            )
            return None
        if raw != raw.upper():
            self.warn(
                "naftiko-lenient-method",
                f"method '{raw}' should be upper case",
                node.pos_of("method"),
            )
        return raw.upper()

    def param_type(self, p: Node, what: str, default: str | None) -> str | None:
        t = self.text(p, "type", what)
        if t is None:
            return default
        if t == "json":
            self.warn(
                "naftiko-dialect-param-type",
                "type 'json' is read as 'object' (any JSON value; canonical: type: object)",
                p.pos_of("type"),
            )
            return "object"
        if t not in PARAM_TYPES:
            self.error(
                "naftiko-schema-enum",
                f"type '{t}' is unknown; use one of {', '.join(PARAM_TYPES)}",
                p.pos_of("type"),
            )
            return default or "string"
        return t


def is_name(text: str) -> bool:
    return bool(_NAME_RE.match(text))
