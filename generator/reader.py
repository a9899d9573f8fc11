"""Node tree → typed model. Lenient where real specs deviate from the schema: warn and go on."""

from __future__ import annotations

import re
from pathlib import Path

from generator.diagnostics import Pos, Report
from generator.loader import Node, load_file
from generator.model import (
    HTTP_METHODS,
    PARAM_TYPES,
    Auth,
    Bind,
    BodySpec,
    CallRef,
    Capability,
    ConsumedOperation,
    ConsumedParam,
    ConsumedResource,
    Consumes,
    ExposedParam,
    McpAdapter,
    McpHints,
    McpTool,
    OutputParam,
    RestAdapter,
    RestOperation,
    RestResource,
    WithValue,
)

SUPPORTED_VERSIONS = ("1.0.0-alpha2", "1.0.0-alpha3")
CONSUMED_LOCATIONS = ("query", "header", "path", "cookie", "body", "environment")
EXPOSED_LOCATIONS = ("query", "header", "path", "cookie", "body")
OUTPUT_FORMATS = (
    "json", "xml", "avro", "protobuf", "csv", "tsv", "psv", "yaml", "html", "markdown", "text",
    "binary",
)  # fmt: skip
BODY_KINDS = ("json", "text", "xml", "sparql", "formUrlEncoded", "multipartForm")
UNSUPPORTED_AUTH = ("oauth1", "hmac", "aws-sig-v4", "awsv4", "ntlm", "kerberos", "jwt", "custom")

_NAME_RE = re.compile(r"^[A-Za-z0-9_.-]+$")


class Reader:
    def __init__(self, report: Report) -> None:
        self.report = report
        self.broken_ops: list[str] = []

    # -- small typed accessors -------------------------------------------------------------

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

    # -- documents ---------------------------------------------------------------------------

    def capability(self, root: Node, source: Path, display: str) -> Capability | None:
        if not root.is_map:
            self.error("naftiko-schema-type", "a Naftiko document must be a mapping", root.pos)
            return None
        self.version(root)
        self.check_keys(
            root, ("naftiko", "info", "binds", "capability", "consumes"), "the document"
        )
        cap_node = root.get("capability")
        if cap_node is None:
            if root.get("consumes") is not None:
                self.error(
                    "naftiko-not-a-capability",
                    "this is a shared consumes file (no 'capability'); import it from a capability "
                    "with 'consumes: [{import: NS, location: ./file.yaml}]' instead of building it",
                    root.pos,
                )
            else:
                self.error(
                    "naftiko-schema-required",
                    "the document has no 'capability'; add one with 'consumes' and 'exposes'",
                    root.pos,
                )
            return None
        cap_node = self.expect_map(cap_node, "'capability'")
        if cap_node is None:
            return None
        cap = Capability(source=source, display=display)
        info = self.expect_map(root.get("info"), "'info'")
        if info is not None:
            cap.label = self.text(info, "label", "'info'")
            cap.description = self.text(info, "description", "'info'")
        self.check_keys(cap_node, ("exposes", "consumes", "aggregates", "binds"), "'capability'")
        for b in self.expect_list(root, "binds", "the document"):
            bind = self.bind(b, source.parent)
            if bind:
                cap.binds.append(bind)
        for b in self.expect_list(cap_node, "binds", "'capability'"):
            bind = self.bind(b, source.parent)
            if bind:
                cap.binds.append(bind)
        for c in self.expect_list(cap_node, "consumes", "'capability'"):
            cap.consumes.extend(self.consumes_entry(c, source, cap))
        if cap_node.get("aggregates") is not None:
            self.warn(
                "naftiko-unsupported-aggregates",
                "'aggregates' are not supported by naftiko-gen yet; they are ignored "
                "(operations or tools that 'ref' them are errors)",
                cap_node.pos_of("aggregates"),
            )
        exposes = self.expect_list(cap_node, "exposes", "'capability'")
        if not exposes:
            self.error(
                "naftiko-exposes-required",
                "the capability exposes nothing; add a 'rest' or 'mcp' adapter under 'exposes'",
                cap_node.pos,
            )
        for e in exposes:
            self.expose(e, cap)
        return cap

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

    def bind(self, node: Node, base: Path) -> Bind | None:
        if self.expect_map(node, "a bind") is None:
            return None
        self.check_keys(node, ("namespace", "description", "location", "keys"), "a bind")
        ns = self.text(node, "namespace", "a bind", required=True)
        keys_node = self.expect_map(node.get("keys"), "'keys' of a bind")
        if keys_node is None and node.get("keys") is None:
            self.error("naftiko-schema-required", "a bind is missing 'keys'; add them", node.pos)
        keys: dict[str, str] = {}
        if keys_node is not None:
            for var, provider in keys_node.value.items():
                if (
                    not provider.is_scalar
                    or provider.value is None
                    or isinstance(provider.value, bool)
                ):
                    self.error(
                        "naftiko-schema-type",
                        f"bind key '{var}' must map to a string",
                        provider.pos,
                    )
                    continue
                keys[var] = str(provider.value)
        location = self.text(node, "location", "a bind")
        location_path = None
        if location is not None:
            if location.startswith("file://"):
                raw = location[len("file://") :]
                if raw.startswith("/./") or raw.startswith("/../"):
                    raw = raw[1:]
                location_path = (base / raw) if not raw.startswith("/") else Path(raw)
            else:
                self.error(
                    "naftiko-unsupported-bind-location",
                    f"bind location '{location}' is not supported; use environment variables "
                    "(no location) or a file:// JSON/YAML map",
                    node.pos_of("location"),
                )
                return None
        if ns is None:
            return None
        return Bind(ns, keys, node.pos, location, location_path)

    # -- consumes ------------------------------------------------------------------------------

    def consumes_entry(self, node: Node, source: Path, cap: Capability) -> list[Consumes]:
        if self.expect_map(node, "a consumes entry") is None:
            return []
        plain = node.plain()
        if (
            plain.get("import") is not None
            or plain.get("location") is not None
            and "type" not in plain
        ):
            found = self.imported(node, source)
            name = plain.get("as") or plain.get("import")
            if not found and isinstance(name, str):
                cap.broken.add(name)
            return found
        self.broken_ops = []
        c = self.consumes(node)
        if c is None:
            if isinstance(plain.get("namespace"), str):
                cap.broken.add(plain["namespace"])
            return []
        cap.broken.update(f"{c.namespace}.{op}" for op in self.broken_ops)
        return [c]

    def imported(self, node: Node, source: Path) -> list[Consumes]:
        self.check_keys(node, ("import", "location", "as", "description"), "an imported consumes")
        name = self.text(node, "import", "an imported consumes", required=True)
        location = self.text(node, "location", "an imported consumes", required=True)
        alias = self.text(node, "as", "an imported consumes")
        if name is None or location is None:
            return []
        path = (
            (source.parent / location).resolve()
            if not Path(location).is_absolute()
            else Path(location)
        )
        display = _display_path(path)
        sub = Report()
        root = load_file(path, display, sub) if path.is_file() else None
        if not path.is_file():
            what = "is a folder, not a file" if path.is_dir() else "does not exist"
            self.error(
                "naftiko-import-not-found",
                f"imported consumes file '{location}' {what} (looked for {display})",
                node.value_pos("location"),
            )
            return []
        self.report.extend(sub)
        if root is None or not root.is_map:
            return []
        self.version(root)
        found: list[Consumes] = []
        for entry in self.expect_list(root, "consumes", "the imported file"):
            c = self.consumes(entry) if entry.is_map else None
            if c is not None and c.namespace == name:
                found.append(c)
        if not found:
            self.error(
                "naftiko-import-namespace",
                f"'{location}' has no consumes namespace '{name}'",
                node.pos_of("import"),
            )
            return []
        if alias:
            found[0].alias_of = found[0].namespace
            found[0].namespace = alias
        return found[:1]

    def consumes(self, node: Node) -> Consumes | None:
        what = "a consumes adapter"
        self.check_keys(
            node,
            (
                "type",
                "namespace",
                "baseUri",
                "description",
                "inputParameters",
                "authentication",
                "resources",
                "label",
            ),
            what,
        )
        kind = self.text(node, "type", what)
        if kind is None:
            self.warn(
                "naftiko-schema-required",
                "consumes adapter has no 'type'; 'http' is assumed",
                node.pos,
            )
        elif kind != "http":
            self.error(
                "naftiko-unsupported-consumes",
                f"consumes type '{kind}' is not supported; only 'http'",
                node.pos_of("type"),
            )
            return None
        ns = self.text(node, "namespace", what, required=True)
        base = self.text(node, "baseUri", what, required=True)
        if ns is None or base is None:
            return None
        c = Consumes(ns, base, node.pos, description=self.text(node, "description", what))
        c.positions = {k: node.value_pos(k) for k in node.value}
        c.auth = self.auth(node.get("authentication"), consumes_side=True)
        c.params = self.consumed_params(node, what)
        resources = self.expect_list(node, "resources", what)
        if not resources:
            self.error(
                "naftiko-schema-required",
                f"consumes '{ns}' declares no resources; add some",
                node.pos,
            )
        for r in resources:
            res = self.consumed_resource(r)
            if res is not None:
                c.resources.append(res)
        return c

    def consumed_resource(self, node: Node) -> ConsumedResource | None:
        what = "a consumed resource"
        if self.expect_map(node, what) is None:
            return None
        self.check_keys(
            node, ("name", "path", "operations", "label", "description", "inputParameters"), what
        )
        name = self.text(node, "name", what, required=True) or "?"
        path = self.text(node, "path", what, required=True)
        if path is None:
            return None
        res = ConsumedResource(name, path, node.pos, node.value_pos("path"))
        res.params = self.consumed_params(node, what)
        ops = self.expect_list(node, "operations", what)
        if not ops:
            self.error(
                "naftiko-schema-required",
                f"resource '{name}' has no operations; add some",
                node.pos,
            )
        for o in ops:
            op = self.consumed_operation(o)
            if op is not None:
                res.operations.append(op)
        return res

    def consumed_operation(self, node: Node) -> ConsumedOperation | None:
        what = "a consumed operation"
        if self.expect_map(node, what) is None:
            return None
        self.check_keys(
            node,
            (
                "name", "method", "label", "description", "inputParameters", "outputRawFormat",
                "outputSchema", "outputParameters", "body",
            ),
            what,
        )  # fmt: skip
        name = self.text(node, "name", what, required=True)
        method = self.method(node, what, default=None)
        if name is None or method is None:
            if name is not None:
                self.broken_ops.append(name)
            return None
        op = ConsumedOperation(
            name, method, node.pos, description=self.text(node, "description", what)
        )
        op.params = self.consumed_params(node, what)
        fmt = self.text(node, "outputRawFormat", what)
        if fmt is not None:
            if fmt.lower() not in OUTPUT_FORMATS:
                self.error(
                    "naftiko-schema-enum",
                    f"outputRawFormat '{fmt}' is unknown; use one of {', '.join(OUTPUT_FORMATS)}",
                    node.pos_of("outputRawFormat"),
                )
            else:
                op.output_format = fmt.lower()
        if node.get("body") is not None:
            op.body = self.body(node.get("body"))  # type: ignore[arg-type]
        return op

    def method(self, node: Node, what: str, default: str | None) -> str | None:
        raw = self.text(node, "method", what, required=default is None)
        if raw is None:
            return default
        if raw.upper() not in HTTP_METHODS:
            self.error(
                "naftiko-schema-enum",
                f"method '{raw}' is not supported; use one of {', '.join(HTTP_METHODS)}",
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

    def body(self, node: Node) -> BodySpec | None:
        if node.is_scalar:
            if not isinstance(node.value, str):
                self.error(
                    "naftiko-schema-type",
                    "'body' must be a template string or {type, data}",
                    node.pos,
                )
                return None
            return BodySpec("raw", node.value, node.pos)
        if not node.is_map:
            self.error(
                "naftiko-schema-type", "'body' must be a template string or {type, data}", node.pos
            )
            return None
        self.check_keys(node, ("type", "data"), "a request body")
        kind = self.text(node, "type", "a request body", required=True)
        if kind is None:
            return None
        if kind not in BODY_KINDS:
            self.error(
                "naftiko-schema-enum",
                f"body type '{kind}' is unknown; use one of {', '.join(BODY_KINDS)}",
                node.pos_of("type"),
            )
            return None
        data = node.get("data")
        return BodySpec(
            kind, data.plain() if data is not None else None, data.pos if data else node.pos
        )

    def consumed_params(self, parent: Node, what: str) -> list[ConsumedParam]:
        out: list[ConsumedParam] = []
        for p in self.expect_list(parent, "inputParameters", what):
            w = "a consumed input parameter"
            if self.expect_map(p, w) is None:
                continue
            self.check_keys(
                p, ("name", "in", "value"), w, lenient=("type", "required", "description")
            )
            name = self.text(p, "name", w, required=True)
            loc = self.text(p, "in", w, required=True)
            if name is None or loc is None:
                continue
            if loc not in CONSUMED_LOCATIONS:
                self.error(
                    "naftiko-schema-enum",
                    f"parameter '{name}' has 'in: {loc}'; use one of {', '.join(CONSUMED_LOCATIONS)}",
                    p.pos_of("in"),
                )
                continue
            value_node = p.get("value")
            out.append(
                ConsumedParam(
                    name,
                    loc,
                    p.pos,
                    value=value_node.plain() if value_node is not None else None,
                    type=self.param_type(p, w, default=None),
                    required=self.boolean(p, "required", w),
                    description=self.text(p, "description", w),
                )
            )
        return out

    def param_type(self, p: Node, what: str, default: str | None) -> str | None:
        t = self.text(p, "type", what)
        if t is None:
            return default
        if t not in PARAM_TYPES:
            self.error(
                "naftiko-schema-enum",
                f"type '{t}' is unknown; use one of {', '.join(PARAM_TYPES)}",
                p.pos_of("type"),
            )
            return default or "string"
        return t

    # -- auth --------------------------------------------------------------------------------

    def auth(self, node: Node | None, consumes_side: bool) -> Auth | None:
        if node is None or node.value is None:
            return None
        if self.expect_map(node, "'authentication'") is None:
            return None
        w = "'authentication'"
        kind = self.text(node, "type", w, required=True)
        if kind is None:
            return None
        kind_l = kind.lower()
        a = Auth(kind_l, node.pos, {k: node.value_pos(k) for k in node.value})
        if kind_l == "bearer":
            self.check_keys(node, ("type", "token"), w)
            a.token = self.text(node, "token", w, required=True)
        elif kind_l in ("basic", "digest"):
            self.check_keys(node, ("type", "username", "password"), w)
            a.username = self.text(node, "username", w, required=True)
            a.password = self.text(node, "password", w, required=True)
        elif kind_l == "apikey":
            # Real specs spell apikey three ways: {key, value, placement}, {in, name, value}, {header, key}.
            self.check_keys(
                node, ("type", "key", "value", "placement"), w, lenient=("in", "name", "header")
            )
            header_alias = self.text(node, "header", w)
            name_alias = self.text(node, "name", w)
            if header_alias is not None:
                a.key, a.value, a.placement = header_alias, self.text(node, "key", w), "header"
            else:
                a.key = self.text(node, "key", w) or name_alias
                a.value = self.text(node, "value", w)
                placement = self.text(node, "placement", w) or self.text(node, "in", w) or "header"
                if placement not in ("header", "query"):
                    self.error(
                        "naftiko-schema-enum",
                        f"apikey placement '{placement}' is not supported; use header or query",
                        node.pos,
                    )
                a.placement = placement
            if a.key is None or a.value is None:
                self.error(
                    "naftiko-auth-incomplete",
                    "apikey auth needs 'key' and 'value'; add them",
                    node.pos,
                )
                return None
        elif kind_l == "oauth2":
            if consumes_side:
                self.error(
                    "naftiko-unsupported-auth",
                    "oauth2 describes a resource server and cannot authenticate upstream calls; "
                    "use bearer with a token from binds",
                    node.pos_of("type"),
                )
            else:
                self.error(
                    "naftiko-unsupported-auth",
                    "oauth2 on an exposed adapter is not supported by naftiko-gen yet; use bearer or apikey",
                    node.pos_of("type"),
                )
            return None
        else:
            self.error(
                "naftiko-unsupported-auth",
                f"authentication type '{kind}' is not supported; use bearer, basic, digest or apikey",
                node.pos_of("type"),
            )
            return None
        return a

    # -- exposes -------------------------------------------------------------------------------

    def expose(self, node: Node, cap: Capability) -> None:
        if self.expect_map(node, "an exposes adapter") is None:
            return
        kind = self.text(node, "type", "an exposes adapter", required=True)
        if kind == "rest":
            r = self.rest(node)
            if r:
                cap.rest.append(r)
        elif kind == "mcp":
            m = self.mcp(node)
            if m:
                cap.mcp.append(m)
        elif kind in ("skill", "control"):
            self.warn(
                f"naftiko-unsupported-{kind}-adapter",
                f"'{kind}' adapters are not generated by naftiko-gen yet; this adapter is skipped",
                node.pos_of("type"),
            )
        elif kind is not None:
            self.error(
                "naftiko-schema-enum",
                f"exposes type '{kind}' is unknown; use rest or mcp",
                node.pos_of("type"),
            )

    def rest(self, node: Node) -> RestAdapter | None:
        w = "a rest adapter"
        self.check_keys(
            node,
            ("type", "port", "namespace", "address", "authentication", "resources"),
            w,
            lenient=("description", "label"),
        )
        ns = self.text(node, "namespace", w, required=True)
        port = self.integer(node, "port", w)
        if port is None and node.get("port") is None:
            self.error(
                "naftiko-schema-required", "a rest adapter needs a 'port'; add one", node.pos
            )
        if ns is None or port is None:
            return None
        r = RestAdapter(ns, port, node.pos, address=self.text(node, "address", w))
        r.positions = {k: node.value_pos(k) for k in node.value}
        r.description = self.text(node, "description", w)
        r.auth = self.auth(node.get("authentication"), consumes_side=False)
        for rn in self.expect_list(node, "resources", w):
            res = self.rest_resource(rn)
            if res:
                r.resources.append(res)
        if not r.resources:
            self.error(
                "naftiko-schema-required",
                f"rest adapter '{ns}' has no resources; add some",
                node.pos,
            )
        return r

    def rest_resource(self, node: Node) -> RestResource | None:
        w = "a rest resource"
        if self.expect_map(node, w) is None:
            return None
        self.check_keys(
            node,
            ("path", "name", "label", "description", "inputParameters", "operations", "forward"),
            w,
        )
        path = self.text(node, "path", w, required=True)
        if path is None:
            return None
        res = RestResource(path=path, pos=node.pos, name=self.text(node, "name", w))
        res.description = self.text(node, "description", w)
        res.params = self.exposed_params(node, w, rest=True)
        if node.get("forward") is not None:
            self.error(
                "naftiko-unsupported-forward",
                "'forward' resources are not supported by naftiko-gen yet; use operations with 'call'",
                node.pos_of("forward"),
            )
        for o in self.expect_list(node, "operations", w):
            op = self.rest_operation(o)
            if op:
                res.operations.append(op)
        return res

    def rest_operation(self, node: Node) -> RestOperation | None:
        w = "a rest operation"
        if self.expect_map(node, w) is None:
            return None
        self.check_keys(
            node,
            (
                "method", "name", "label", "description", "inputParameters", "call", "with",
                "outputParameters", "steps", "mappings", "ref",
            ),
            w,
        )  # fmt: skip
        method = self.method(node, w, default="GET")
        if method is None:
            return None
        op = RestOperation(pos=node.pos, method=method)
        op.name = self.text(node, "name", w)
        op.label = self.text(node, "label", w)
        op.description = self.text(node, "description", w)
        op.params = self.exposed_params(node, w, rest=True)
        self.callable_body(node, op, w)
        return op

    def mcp(self, node: Node) -> McpAdapter | None:
        w = "an mcp adapter"
        self.check_keys(
            node,
            (
                "type", "namespace", "tools", "transport", "address", "port", "description",
                "authentication", "resources", "prompts",
            ),
            w,
            lenient=("label",),
        )  # fmt: skip
        ns = self.text(node, "namespace", w, required=True)
        if ns is None:
            return None
        m = McpAdapter(ns, node.pos, address=self.text(node, "address", w))
        m.positions = {k: node.value_pos(k) for k in node.value}
        m.transport = self.text(node, "transport", w) or "http"
        if m.transport not in ("http", "stdio"):
            self.error(
                "naftiko-schema-enum",
                f"transport '{m.transport}' is unknown; use http or stdio",
                node.pos_of("transport"),
            )
            return None
        m.port = self.integer(node, "port", w)
        if m.transport == "http" and m.port is None and node.get("port") is None:
            self.error(
                "naftiko-schema-required", "an http mcp adapter needs a 'port'; add one", node.pos
            )
            return None
        if m.transport == "stdio" and node.get("port") is not None:
            self.warn(
                "naftiko-mcp-stdio-port",
                "a stdio mcp adapter takes no port; it is ignored",
                node.pos_of("port"),
            )
            m.port = None
        m.description = self.text(node, "description", w)
        m.auth = self.auth(node.get("authentication"), consumes_side=False)
        for key in ("resources", "prompts"):
            if node.get(key) is not None:
                self.warn(
                    f"naftiko-unsupported-mcp-{key}",
                    f"MCP {key} are not generated by naftiko-gen yet; they are skipped",
                    node.pos_of(key),
                )
        tools = self.expect_list(node, "tools", w)
        if not tools:
            self.error(
                "naftiko-schema-required", f"mcp adapter '{ns}' has no tools; add some", node.pos
            )
        for t in tools:
            tool = self.mcp_tool(t)
            if tool:
                m.tools.append(tool)
        return m

    def mcp_tool(self, node: Node) -> McpTool | None:
        w = "an mcp tool"
        if self.expect_map(node, w) is None:
            return None
        self.check_keys(
            node,
            (
                "name", "label", "description", "inputParameters", "hints", "call", "with",
                "outputParameters", "steps", "mappings", "ref",
            ),
            w,
        )  # fmt: skip
        name = self.text(node, "name", w, required=True)
        if name is None:
            return None
        tool = McpTool(pos=node.pos, name=name)
        if re.fullmatch(r"[A-Za-z0-9._-]+", name) and not re.fullmatch(r"[A-Za-z0-9-]+", name):
            self.warn(
                "naftiko-schema-deviation",
                f"tool name '{name}' has '.' or '_', which the alpha2 schema does not allow "
                "(MCP does); it is kept as written",
                node.value_pos("name"),
            )
        tool.label = self.text(node, "label", w)
        tool.description = self.text(node, "description", w)
        tool.params = self.exposed_params(node, w, rest=False)
        hints = self.expect_map(node.get("hints"), "'hints'")
        if hints is not None:
            self.check_keys(
                hints, ("readOnly", "destructive", "idempotent", "openWorld"), "'hints'"
            )
            tool.hints = McpHints(
                read_only=self.boolean(hints, "readOnly", "'hints'"),
                destructive=self.boolean(hints, "destructive", "'hints'"),
                idempotent=self.boolean(hints, "idempotent", "'hints'"),
                open_world=self.boolean(hints, "openWorld", "'hints'"),
            )
        self.callable_body(node, tool, w)
        return tool

    def callable_body(self, node: Node, target: RestOperation | McpTool, what: str) -> None:
        for key, feature in (
            ("steps", "orchestration with 'steps'"),
            ("ref", "'ref' to an aggregate function"),
        ):
            if node.get(key) is not None:
                target.unsupported = True
                self.error(
                    "naftiko-unsupported-" + key,
                    f"{feature} is not supported by naftiko-gen yet; expose each consumed operation "
                    "with 'call' and 'with' instead",
                    node.pos_of(key),
                )
        call_node = node.get("call")
        call = self.text(node, "call", what)
        if call is None and call_node is not None and call_node.value is not None:
            target.unsupported = True  # its type error is reported; nothing more to say
        if call is not None:
            ns, _, op = call.rpartition(".")
            if not ns or not op:
                target.unsupported = True
                self.error(
                    "naftiko-call-format",
                    f"call '{call}' must be 'namespace.operation'",
                    node.value_pos("call"),
                )
            else:
                target.call = CallRef(ns, op, node.value_pos("call"))
        with_node = node.get("with")
        if with_node is not None and with_node.value is not None:
            if not with_node.is_map:
                self.error(
                    "naftiko-schema-type",
                    "'with' must be a mapping of parameter: value",
                    with_node.pos,
                )
            else:
                for key, v in with_node.value.items():
                    if not isinstance(v.value, (str, int, float)) or isinstance(v.value, bool):
                        self.warn(
                            "naftiko-schema-deviation",
                            f"'with' value of '{key}' is a {type(v.plain()).__name__}; the alpha2 "
                            "schema allows strings and numbers, but it is sent as the JSON value",
                            v.pos,
                        )
                    target.with_values.append(WithValue(key, v.plain(), v.pos))
        for o in self.expect_list(node, "outputParameters", what):
            out = self.output(o, top=True)
            if out:
                target.outputs.append(out)
                orchestrated = node.get("steps") is not None
                mapped = (
                    call is not None or isinstance(target, RestOperation)
                ) and not orchestrated
                if mapped and out.name is not None and o.is_map:
                    self.warn(
                        "naftiko-schema-deviation",
                        f"'name' is not part of a mapped output in the alpha2 schema; outputs named "
                        f"'{out.name}' become the keys of one JSON object",
                        o.pos_of("name"),
                    )

    def exposed_params(self, parent: Node, what: str, rest: bool) -> list[ExposedParam]:
        out: list[ExposedParam] = []
        for p in self.expect_list(parent, "inputParameters", what):
            w = "an exposed input parameter"
            if self.expect_map(p, w) is None:
                continue
            if rest:
                self.check_keys(
                    p,
                    ("name", "in", "type", "description", "pattern", "value"),
                    w,
                    lenient=("required",),
                )
            else:
                self.check_keys(
                    p, ("name", "type", "description", "required"), w, lenient=("pattern", "in")
                )
            name = self.text(p, "name", w, required=True)
            if name is None:
                continue
            loc = self.text(p, "in", w)
            if rest:
                if loc is None:
                    self.warn(
                        "naftiko-schema-required",
                        f"parameter '{name}' has no 'in'; query is assumed",
                        p.pos,
                    )
                    loc = "query"
                elif loc not in EXPOSED_LOCATIONS:
                    self.error(
                        "naftiko-schema-enum",
                        f"parameter '{name}' has 'in: {loc}'; use one of {', '.join(EXPOSED_LOCATIONS)}",
                        p.pos_of("in"),
                    )
                    continue
            if p.get("type") is None:
                self.warn(
                    "naftiko-schema-required",
                    f"parameter '{name}' has no 'type'; string is assumed",
                    p.pos,
                )
            if p.get("description") is None:
                self.warn(
                    "naftiko-schema-required",
                    f"parameter '{name}' has no 'description'; agents and API users rely on it",
                    p.pos,
                )
            value = p.get("value")
            out.append(
                ExposedParam(
                    name,
                    p.pos,
                    location=loc if rest else None,
                    type=self.param_type(p, w, default="string") or "string",
                    description=self.text(p, "description", w),
                    required=self.boolean(p, "required", w),
                    pattern=self.text(p, "pattern", w),
                    value=value.plain() if value is not None else None,
                )
            )
        return out

    def output(self, node: Node, top: bool, name: str | None = None) -> OutputParam | None:
        w = "an output parameter"
        if not node.is_map:
            if node.is_scalar and isinstance(node.value, str) and node.value.startswith("$"):
                return OutputParam("string", node.pos, name=name, mapping=node.value)
            self.error("naftiko-schema-type", f"{w} must be a mapping", node.pos)
            return None
        self.check_keys(
            node,
            ("name", "type", "mapping", "value", "properties", "items", "const", "description"),
            w,
        )
        kind = self.text(node, "type", w)
        if kind is None:
            self.warn(
                "naftiko-schema-required",
                "output parameter has no 'type'; string is assumed",
                node.pos,
            )
            kind = "string"
        elif kind not in PARAM_TYPES:
            self.error(
                "naftiko-schema-enum",
                f"output type '{kind}' is unknown; use one of {', '.join(PARAM_TYPES)}",
                node.pos_of("type"),
            )
            return None
        out = OutputParam(kind, node.pos, name=self.text(node, "name", w) or name)
        if kind == "integer":
            self.warn(
                "naftiko-schema-deviation",
                "output type 'integer' is not in the alpha2 schema (use number); it is accepted",
                node.pos_of("type"),
            )
        if kind == "array" and node.get("items") is None:
            self.warn(
                "naftiko-schema-deviation",
                "an array output without 'items' is not valid in the alpha2 schema; its elements "
                "are passed through as they are",
                node.pos,
            )
        mapping = node.get("mapping")
        if mapping is not None:
            if isinstance(mapping.value, str):
                out.mapping = mapping.value
            else:
                self.error(
                    "naftiko-schema-type",
                    "'mapping' must be a JSONPath string; put 'properties' beside it, not inside it",
                    mapping.pos,
                )
        value = node.get("value")
        if value is not None:
            out.value = value.plain()
        props = node.get("properties")
        if props is not None:
            if not props.is_map:
                self.error("naftiko-schema-type", "'properties' must be a mapping", props.pos)
            else:
                for pname, pnode in props.value.items():
                    sub = self.output(pnode, top=False, name=pname)
                    if sub:
                        out.properties[pname] = sub
        items = node.get("items")
        if items is not None:
            if items.is_list:
                # The orchestrated form lists named fields; read it as an object of those fields.
                obj = OutputParam("object", items.pos)
                for it in items.value:
                    sub = self.output(it, top=False)
                    if sub and sub.name:
                        obj.properties[sub.name] = sub
                out.items = obj
            else:
                out.items = self.output(items, top=False)
        if (
            kind == "object"
            and top
            and not out.properties
            and out.mapping is not None
            and out.value is None
        ):
            self.warn(
                "naftiko-object-without-properties",
                f"object output with mapping '{out.mapping}' and no 'properties' is read as the whole "
                "JSON value at that path (the schema requires 'properties')",
                node.pos,
            )
        return out


def _display_path(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def read_capability(path: Path, display: str, report: Report) -> Capability | None:
    root = load_file(path, display, report)
    if root is None:
        return None
    return Reader(report).capability(root, path, display)


def is_name(text: str) -> bool:
    return bool(_NAME_RE.match(text))
