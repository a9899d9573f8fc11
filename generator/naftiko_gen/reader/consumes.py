"""consumes: http adapters, their resources, operations, parameters and bodies; imports."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qsl

from naftiko_gen.degrade import attempt
from naftiko_gen.diagnostics import Pos
from naftiko_gen.loader import Node, load_import
from naftiko_gen.model import (
    BodySpec,
    Capability,
    ConsumedOperation,
    ConsumedParam,
    ConsumedResource,
    Consumes,
)
from naftiko_gen.reader.auth import auth
from naftiko_gen.reader.common import BODY_KINDS, CONSUMED_LOCATIONS, OUTPUT_FORMATS, Reader
from naftiko_gen.reader.orchestration import consumed_outputs

BODY_DIALECTS = {"form": "formUrlEncoded", "multipart": "multipartForm"}


def consumes_entry(r: Reader, node: Node, source: Path, cap: Capability) -> list[Consumes]:
    if r.expect_map(node, "a consumes entry") is None:
        return []
    plain = node.plain()
    if plain.get("import") is not None or plain.get("location") is not None and "type" not in plain:
        found = imported(r, node, source)
        name = plain.get("as") or plain.get("import")
        if not found and isinstance(name, str):
            cap.broken.add(name)
        return found
    r.broken_ops = []
    c = consumes(r, node)
    if c is None:
        if isinstance(plain.get("namespace"), str):
            cap.broken.add(plain["namespace"])
        return []
    cap.broken.update(f"{c.namespace}.{op}" for op in r.broken_ops)
    return [c]


def imported(r: Reader, node: Node, source: Path) -> list[Consumes]:
    r.check(node, "import")
    name = r.text(node, "import", "an imported consumes", required=True)
    location = r.text(node, "location", "an imported consumes", required=True)
    alias = r.text(node, "as", "an imported consumes")
    if name is None or location is None:
        return []
    root, found_file = load_import(location, source, r.report, node.value_pos("location"))
    if not found_file or root is None or not root.is_map:
        return []
    r.version(root)
    found: list[Consumes] = []
    for entry in r.expect_list(root, "consumes", "the imported file"):
        c = consumes(r, entry) if entry.is_map else None
        if c is not None and c.namespace == name:
            found.append(c)
    if not found:
        r.error(
            "naftiko-import-namespace",
            f"'{location}' has no consumes namespace '{name}'",
            node.pos_of("import"),
        )
        return []
    if alias:
        found[0].alias_of = found[0].namespace
        found[0].namespace = alias
    return found[:1]


def consumes(r: Reader, node: Node) -> Consumes | None:
    what = "a consumes adapter"
    r.check(node, "consumes")
    kind = r.text(node, "type", what)
    if kind is None:
        r.warn(
            "naftiko-schema-required",
            "consumes adapter has no 'type'; 'http' is assumed",
            node.pos,
        )
    elif kind != "http":
        r.error(
            "naftiko-unsupported-consumes",
            f"consumes type '{kind}' is not supported; only 'http'",
            node.pos_of("type"),
        )
        return None
    ns = r.text(node, "namespace", what, required=True)
    base = r.text(node, "baseUri", what, required=True)
    if ns is None or base is None:
        return None
    c = Consumes(ns, base, node.pos, description=r.text(node, "description", what))
    c.positions = {k: node.value_pos(k) for k in node.value}
    c.auth = auth(r, r.auth_node(node), consumes_side=True)
    c.params = consumed_params(r, node, what)
    # The schema requires only namespace, type and baseUri: a consumes without resources is
    # the target of REST `forward` routes (the engine's own fixtures have such adapters).
    for rn in r.expect_list(node, "resources", what):
        res = consumed_resource(r, rn)
        if res is not None:
            c.resources.append(res)
            c.resources.extend(res.extra)
    return c


def consumed_resource(r: Reader, node: Node) -> ConsumedResource | None:
    what = "a consumed resource"
    if r.expect_map(node, what) is None:
        return None
    r.check(node, "consumed-resource")
    name = r.text(node, "name", what, required=True) or "?"
    path = r.text(node, "path", what, required=True)
    if path is None:
        return None
    path, fixed_query = _split_query(r, path, node.value_pos("path"))
    res = ConsumedResource(name, path, node.pos, node.value_pos("path"))
    res.params = consumed_params(r, node, what) + fixed_query
    ops = r.expect_list(node, "operations", what)
    if not ops:
        r.error(
            "naftiko-schema-required",
            f"resource '{name}' has no operations; add some",
            node.pos,
        )
    for o in ops:
        op_name = o.plain().get("name") or o.plain().get("id") if o.is_map else None
        with attempt(r.report, f"consumed operation '{op_name or '?'}'") as tried:
            op = consumed_operation(r, o)
        if tried.failed:
            if isinstance(op_name, str):
                r.broken_ops.append(op_name)
            continue
        if op is None:
            continue
        op_path = o.get("path")
        if op_path is not None and isinstance(op_path.value, str):
            # dialect: an operation's own path, appended to its resource's path
            r.warn(
                "naftiko-dialect-operation-path",
                f"operation '{op.name}' has its own path '{op_path.value}'; it is appended to the "
                f"resource path '{res.path}' (canonical: a resource with the full path)",
                o.pos_of("path"),
            )
            full = res.path.rstrip("/") + "/" + op_path.value.lstrip("/")
            full, query = _split_query(r, full, op_path.pos)
            sub = ConsumedResource(f"{name}/{op.name}", full, res.pos, op_path.pos)
            sub.params = res.params + query
            sub.operations.append(op)
            res.extra.append(sub)
            continue
        res.operations.append(op)
    return res


def _split_query(r: Reader, path: str, pos: Pos) -> tuple[str, list[ConsumedParam]]:
    """dialect: '/search?type=all' → '/search' and a fixed query parameter type=all."""
    if "?" not in path:
        return path, []
    path, _, query = path.partition("?")
    pairs = parse_qsl(query, keep_blank_values=True)
    r.warn(
        "naftiko-dialect-path-query",
        f"the path carries the query string '?{query}'; "
        + ", ".join(f"{k}={v}" for k, v in pairs)
        + " are sent as fixed query parameters (canonical: inputParameters with 'in: query' "
        "and 'value')",
        pos,
    )
    return path, [ConsumedParam(k, "query", pos, value=v) for k, v in pairs]


def consumed_operation(r: Reader, node: Node) -> ConsumedOperation | None:
    what = "a consumed operation"
    if r.expect_map(node, what) is None:
        return None
    r.check(node, "consumed-operation")
    if node.get("name") is None and node.get("id") is not None:
        r.warn(
            "naftiko-dialect-operation-id",
            "the operation is named by 'id'; it is read as its 'name' (the canonical key)",
            node.pos_of("id"),
        )
        name = r.text(node, "id", what, required=True)
    else:
        name = r.text(node, "name", what, required=True)
    method = r.method(node, what, default=None)
    if name is None or method is None:
        if name is not None:
            r.broken_ops.append(name)
        return None
    op = ConsumedOperation(name, method, node.pos, description=r.text(node, "description", what))
    op.params = consumed_params(r, node, what)
    fmt = r.text(node, "outputRawFormat", what)
    if fmt is not None:
        if fmt.lower() not in OUTPUT_FORMATS:
            r.error(
                "naftiko-schema-enum",
                f"outputRawFormat '{fmt}' is unknown; use one of {', '.join(OUTPUT_FORMATS)}",
                node.pos_of("outputRawFormat"),
            )
        else:
            op.output_format = fmt.lower()
    op.output_schema = r.text(node, "outputSchema", what)
    op.output_schema_pos = node.value_pos("outputSchema") if op.output_schema else None
    if node.get("body") is not None:
        op.body = body(r, node.get("body"))  # type: ignore[arg-type]
    consumed_outputs(r, node, op)
    return op


def body(r: Reader, node: Node) -> BodySpec | None:
    if node.is_scalar:
        if not isinstance(node.value, str):
            r.error(
                "naftiko-schema-type",
                "'body' must be a template string or {type, data}",
                node.pos,
            )
            return None
        if node.value == "binary":
            return binary_body(r, node.pos)
        return BodySpec("raw", node.value, node.pos)
    if not node.is_map:
        r.error("naftiko-schema-type", "'body' must be a template string or {type, data}", node.pos)
        return None
    r.check(node, "body")
    kind = r.text(node, "type", "a request body", required=True)
    if kind is None:
        return None
    if kind in BODY_DIALECTS:
        r.warn(
            "naftiko-dialect-body-type",
            f"body type '{kind}' is read as '{BODY_DIALECTS[kind]}' (the canonical spelling)",
            node.pos_of("type"),
        )
        kind = BODY_DIALECTS[kind]
    if kind not in BODY_KINDS:
        r.error(
            "naftiko-schema-enum",
            f"body type '{kind}' is unknown; use one of {', '.join(BODY_KINDS)}",
            node.pos_of("type"),
        )
        return None
    if kind == "binary":
        return binary_body(r, node.pos_of("type"))
    data = node.get("data")
    return BodySpec(
        kind, data.plain() if data is not None else None, data.pos if data else node.pos
    )


def binary_body(r: Reader, pos: Pos) -> BodySpec:
    """dialect: `body: binary` or `{type: binary}`: the caller's raw bytes, sent as they are."""
    r.warn(
        "naftiko-dialect-body-binary",
        "body type 'binary' (beyond the alpha2 schema): the caller's raw bytes are sent with the "
        "caller's Content-Type (REST: the request body; MCP: a base64 'body' and 'contentType')",
        pos,
    )
    return BodySpec("binary", None, pos)


def consumed_params(r: Reader, parent: Node, what: str) -> list[ConsumedParam]:
    out: list[ConsumedParam] = []
    for p in r.expect_list(parent, "inputParameters", what):
        w = "a consumed input parameter"
        if r.expect_map(p, w) is None:
            continue
        r.check(p, "consumed-param")
        name = r.text(p, "name", w, required=True)
        loc = r.text(p, "in", w, required=True)
        if name is None or loc is None:
            continue
        if loc not in CONSUMED_LOCATIONS:
            r.error(
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
                type=r.param_type(p, w, default=None),
                required=r.boolean(p, "required", w),
                description=r.text(p, "description", w),
            )
        )
    return out
