"""Orchestration (`steps`, `mappings`), aggregates and `ref`, REST `forward`, consumed outputs."""

from __future__ import annotations

from naftiko_gen.loader import Node
from naftiko_gen.model import (
    Callable,
    CallRef,
    ConsumedOperation,
    ConsumedOutput,
    Forward,
    RestResource,
    Step,
    StepMapping,
    WithValue,
)
from naftiko_gen.reader.common import Reader

STEP_KINDS = ("call", "lookup", "script")
STEP_KEYS = {
    "call": ("type", "name", "call", "with"),
    "lookup": ("type", "name", "index", "match", "lookupValue", "outputParameters"),
    "script": ("type", "name", "file", "language", "location", "dependencies", "with"),
}


def steps(r: Reader, node: Node, target: Callable, what: str) -> None:
    """`steps` and `mappings` of an operation, tool or aggregate function."""
    if node.get("steps") is None:
        if node.get("mappings") is not None:
            r.warn(
                "naftiko-unknown-key",
                f"'mappings' of {what} are ignored without 'steps'",
                node.pos_of("mappings"),
            )
        return
    target.steps = []
    for s in r.expect_list(node, "steps", what):
        step = one_step(r, s)
        if step is None:
            target.unsupported = True  # reported where it stands
            continue
        target.steps.append(step)
    if not target.steps and not target.unsupported:
        r.error("naftiko-schema-required", f"'steps' of {what} is empty; add steps", node.pos)
        target.unsupported = True
    for m in r.expect_list(node, "mappings", what):
        w = "a step mapping"
        if r.expect_map(m, w) is None:
            continue
        r.check_keys(m, ("targetName", "value"), w)
        target_name = r.text(m, "targetName", w, required=True)
        value = r.text(m, "value", w, required=True)
        if target_name is None or value is None:
            target.unsupported = True
            continue
        target.mappings.append(StepMapping(target_name, value, m.value_pos("value")))
    if node.get("call") is not None:
        r.error(
            "naftiko-schema-type",
            f"{what} has both 'call' and 'steps'; keep one (a call step does what 'call' does)",
            node.pos_of("call"),
        )
        target.unsupported = True


def one_step(r: Reader, node: Node) -> Step | None:
    w = "a step"
    if r.expect_map(node, w) is None:
        return None
    name = r.text(node, "name", w, required=True)
    kind = r.text(node, "type", w)
    if kind is None:  # the schema's oneOf tells the kinds apart by their keys
        kind = "call" if node.get("call") else "lookup" if node.get("index") else "script"
        if node.get("file") is None and kind == "script":
            kind = "call"
    if kind not in STEP_KINDS:
        r.error(
            "naftiko-schema-enum",
            f"step type '{kind}' is unknown; use one of {', '.join(STEP_KINDS)}",
            node.pos_of("type"),
        )
        return None
    r.check_keys(node, STEP_KEYS[kind], f"a {kind} step")
    if name is None:
        return None
    step = Step(kind, name, node.pos)
    step.positions = {k: node.value_pos(k) for k in node.value}
    if kind == "call":
        call = r.text(node, "call", w, required=True)
        if call is None:
            return None
        ns, _, op = call.rpartition(".")
        if not ns or not op:
            r.error(
                "naftiko-call-format",
                f"call '{call}' of step '{name}' must be 'namespace.operation'",
                node.value_pos("call"),
            )
            return None
        step.call = CallRef(ns, op, node.value_pos("call"))
        step.with_values = with_values(r, node)
    elif kind == "lookup":
        step.index = r.text(node, "index", w, required=True)
        step.match = r.text(node, "match", w, required=True)
        step.lookup_value = r.text(node, "lookupValue", w, required=True)
        for f in r.expect_list(node, "outputParameters", w):
            if f.is_scalar and isinstance(f.value, str):
                step.fields.append(f.value)
            elif f.is_map and f.get("name") is not None and isinstance(f.get("name").value, str):  # type: ignore[union-attr]
                step.fields.append(f.get("name").value)  # type: ignore[union-attr]
            else:
                r.error(
                    "naftiko-schema-type",
                    f"outputParameters of lookup step '{name}' are field names (strings)",
                    f.pos,
                )
                return None
        if not (step.index and step.match and step.lookup_value):
            return None
    return step


def with_values(r: Reader, node: Node) -> list[WithValue]:
    out: list[WithValue] = []
    with_node = node.get("with")
    if with_node is None or with_node.value is None:
        return out
    if not with_node.is_map:
        r.error(
            "naftiko-schema-type", "'with' must be a mapping of parameter: value", with_node.pos
        )
        return out
    for key, v in with_node.value.items():
        out.append(WithValue(key, v.plain(), v.pos))
    return out


def ref(r: Reader, node: Node, target: Callable, what: str) -> None:
    text = r.text(node, "ref", what)
    if text is None:
        if node.get("ref") is not None:
            target.unsupported = True
        return
    ns, _, fn = text.rpartition(".")
    if not ns or not fn:
        r.error(
            "naftiko-call-format",
            f"ref '{text}' must be 'aggregateNamespace.functionName'",
            node.value_pos("ref"),
        )
        target.unsupported = True
        return
    target.ref = CallRef(ns, fn, node.value_pos("ref"))
    for key in ("call", "steps"):
        if node.get(key) is not None:
            r.error(
                "naftiko-schema-type",
                f"{what} has both 'ref' and '{key}'; keep one",
                node.pos_of(key),
            )
            target.unsupported = True


def forward(r: Reader, node: Node, res: RestResource) -> None:
    fwd = r.expect_map(node.get("forward"), "'forward'")
    if fwd is None:
        return
    w = "'forward'"
    r.check_keys(fwd, ("targetNamespace", "trustedHeaders"), w)
    target = r.text(fwd, "targetNamespace", w, required=True)
    if target is None:
        return
    headers: list[str] = []
    for h in r.expect_list(fwd, "trustedHeaders", w):
        if h.is_scalar and isinstance(h.value, str):
            headers.append(h.value)
        else:
            r.error("naftiko-schema-type", "trustedHeaders are header names (strings)", h.pos)
    res.forward = Forward(target, node.pos_of("forward"), headers)


def consumed_outputs(r: Reader, node: Node, op: ConsumedOperation) -> None:
    """Named values of a consumed answer (`{name, type, value: $.x}`), keys for lookups."""
    for o in r.expect_list(node, "outputParameters", "a consumed operation"):
        w = "a consumed output parameter"
        if r.expect_map(o, w) is None:
            continue
        name = r.text(o, "name", w)
        value = r.text(o, "value", w)
        if name is None or value is None:
            continue  # the seed's `{type: object, mapping: $.}` style: nothing to name
        op.outputs.append(ConsumedOutput(name, value, o.value_pos("value"), r.text(o, "type", w)))
