"""What REST operations and MCP tools share: exposed inputs, call, with, outputs."""

from __future__ import annotations

from naftiko_gen.loader import Node
from naftiko_gen.model import CallRef, ExposedParam, McpResource, McpTool, RestOperation, WithValue
from naftiko_gen.reader import orchestration
from naftiko_gen.reader.common import EXPOSED_LOCATIONS, Reader
from naftiko_gen.reader.outputs import output


def callable_body(
    r: Reader, node: Node, target: RestOperation | McpTool | McpResource, what: str
) -> None:
    orchestration.steps(r, node, target, what)
    orchestration.ref(r, node, target, what)
    call_node = node.get("call")
    call = r.text(node, "call", what)
    if call is None and call_node is not None and call_node.value is not None:
        target.unsupported = True  # its type error is reported; nothing more to say
    if call is not None:
        ns, _, op = call.rpartition(".")
        if not ns or not op:
            target.unsupported = True
            r.error(
                "naftiko-call-format",
                (
                    f"call '{call}' names no operation; write 'namespace.operation'"
                    if "." not in call
                    else f"call '{call}' must be 'namespace.operation'"
                ),
                node.value_pos("call"),
            )
        else:
            target.call = CallRef(ns, op, node.value_pos("call"))
    with_node = node.get("with")
    if with_node is not None and with_node.value is not None:
        if not with_node.is_map:
            r.error(
                "naftiko-schema-type",
                "'with' must be a mapping of parameter: value",
                with_node.pos,
            )
        else:
            for key, v in with_node.value.items():
                if not isinstance(v.value, (str, int, float)) or isinstance(v.value, bool):
                    r.warn(
                        "naftiko-schema-deviation",
                        f"'with' value of '{key}' is a {type(v.plain()).__name__}; the alpha2 "
                        "schema allows strings and numbers, but it is sent as the JSON value",
                        v.pos,
                    )
                target.with_values.append(WithValue(key, v.plain(), v.pos))
    for o in r.expect_list(node, "outputParameters", what):
        out = output(r, o, top=True)
        if out:
            target.outputs.append(out)
            orchestrated = node.get("steps") is not None
            mapped = (call is not None or isinstance(target, RestOperation)) and not orchestrated
            if mapped and out.name is not None and o.is_map:
                r.warn(
                    "naftiko-schema-deviation",
                    f"'name' is not part of a mapped output in the alpha2 schema; outputs named "
                    f"'{out.name}' become the keys of one JSON object",
                    o.pos_of("name"),
                )


def exposed_params(r: Reader, parent: Node, what: str, rest: bool) -> list[ExposedParam]:
    out: list[ExposedParam] = []
    for p in r.expect_list(parent, "inputParameters", what):
        w = "an exposed input parameter"
        if r.expect_map(p, w) is None:
            continue
        if rest:
            r.check(p, "rest-param")
        else:
            r.check(p, "tool-param")
        name = r.text(p, "name", w, required=True)
        if name is None:
            continue
        loc = r.text(p, "in", w)
        if rest:
            if loc is None:
                r.warn(
                    "naftiko-dialect-param-in",
                    f"parameter '{name}' has no 'in'; it is a query parameter (canonical: in: query)",
                    p.pos,
                )
                loc = "query"
            elif loc not in EXPOSED_LOCATIONS:
                r.error(
                    "naftiko-schema-enum",
                    f"parameter '{name}' has 'in: {loc}'; use one of {', '.join(EXPOSED_LOCATIONS)}",
                    p.pos_of("in"),
                )
                continue
        if p.get("type") is None:
            r.warn(
                "naftiko-schema-required",
                f"parameter '{name}' has no 'type'; string is assumed",
                p.pos,
            )
        if p.get("description") is None:
            r.warn(
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
                type=r.param_type(p, w, default="string") or "string",
                description=r.text(p, "description", w),
                required=r.boolean(p, "required", w),
                pattern=r.text(p, "pattern", w),
                value=value.plain() if value is not None else None,
            )
        )
    return out
