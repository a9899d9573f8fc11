"""outputParameters of exposed operations and tools."""

from __future__ import annotations

from naftiko_gen.loader import Node
from naftiko_gen.model import PARAM_TYPES, OutputParam
from naftiko_gen.reader.common import Reader


def output(r: Reader, node: Node, top: bool, name: str | None = None) -> OutputParam | None:
    w = "an output parameter"
    if not node.is_map:
        if node.is_scalar and isinstance(node.value, str) and node.value.startswith("$"):
            return OutputParam("string", node.pos, name=name, mapping=node.value)
        r.error("naftiko-schema-type", f"{w} must be a mapping", node.pos)
        return None
    r.check(node, "output")
    kind = r.text(node, "type", w)
    if kind is None:
        r.warn(
            "naftiko-schema-required",
            "output parameter has no 'type'; string is assumed",
            node.pos,
        )
        kind = "string"
    elif kind not in PARAM_TYPES:
        r.error(
            "naftiko-schema-enum",
            f"output type '{kind}' is unknown; use one of {', '.join(PARAM_TYPES)}",
            node.pos_of("type"),
        )
        return None
    out = OutputParam(kind, node.pos, name=r.text(node, "name", w) or name)
    if kind == "integer":
        r.warn(
            "naftiko-schema-deviation",
            "output type 'integer' is not in the alpha2 schema (use number); it is accepted",
            node.pos_of("type"),
        )
    if kind == "array" and node.get("items") is None:
        r.warn(
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
            r.error(
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
            r.error("naftiko-schema-type", "'properties' must be a mapping", props.pos)
        else:
            for pname, pnode in props.value.items():
                sub = output(r, pnode, top=False, name=pname)
                if sub:
                    out.properties[pname] = sub
    items = node.get("items")
    if items is not None:
        if items.is_list:
            # The orchestrated form lists named fields; read it as an object of those fields.
            obj = OutputParam("object", items.pos)
            for it in items.value:
                sub = output(r, it, top=False)
                if sub and sub.name:
                    obj.properties[sub.name] = sub
            out.items = obj
        else:
            out.items = output(r, items, top=False)
    if (
        kind == "object"
        and top
        and not out.properties
        and out.mapping is not None
        and out.value is None
    ):
        r.warn(
            "naftiko-object-without-properties",
            f"object output with mapping '{out.mapping}' and no 'properties' is read as the whole "
            "JSON value at that path (the schema requires 'properties')",
            node.pos,
        )
    return out
