"""exposes → rest: adapters, resources, operations."""

from __future__ import annotations

from naftiko_gen.degrade import attempt
from naftiko_gen.loader import Node
from naftiko_gen.model import RestAdapter, RestOperation, RestResource
from naftiko_gen.reader.auth import auth
from naftiko_gen.reader.callables import callable_body, exposed_params
from naftiko_gen.reader.common import Reader
from naftiko_gen.reader.orchestration import forward


def rest(r: Reader, node: Node) -> RestAdapter | None:
    w = "a rest adapter"
    r.check(node, "rest")
    ns = r.text(node, "namespace", w, required=True)
    port = r.integer(node, "port", w)
    if port is None and node.get("port") is None:
        r.error("naftiko-schema-required", "a rest adapter needs a 'port'; add one", node.pos)
    if ns is None or port is None:
        return None
    adapter = RestAdapter(ns, port, node.pos, address=r.text(node, "address", w))
    adapter.positions = {k: node.value_pos(k) for k in node.value}
    adapter.description = r.text(node, "description", w)
    adapter.auth = auth(r, r.auth_node(node), consumes_side=False)
    for rn in r.expect_list(node, "resources", w):
        res = rest_resource(r, rn)
        if res:
            adapter.resources.append(res)
    if not adapter.resources:
        r.error(
            "naftiko-schema-required",
            f"rest adapter '{ns}' has no resources; add some",
            node.pos,
        )
    return adapter


def rest_resource(r: Reader, node: Node) -> RestResource | None:
    w = "a rest resource"
    if r.expect_map(node, w) is None:
        return None
    r.check(node, "rest-resource")
    path = r.text(node, "path", w, required=True)
    if path is None:
        return None
    res = RestResource(path=path, pos=node.pos, name=r.text(node, "name", w))
    res.description = r.text(node, "description", w)
    res.params = exposed_params(r, node, w, rest=True)
    forward(r, node, res)
    for o in r.expect_list(node, "operations", w):
        method = o.plain().get("method", "GET") if o.is_map else "?"
        with attempt(r.report, f"route {method} {path}") as tried:
            op = rest_operation(r, o)
        if op and not tried.failed:
            res.operations.append(op)
    return res


def rest_operation(r: Reader, node: Node) -> RestOperation | None:
    w = "a rest operation"
    if r.expect_map(node, w) is None:
        return None
    r.check(node, "rest-operation")
    method = r.method(node, w, default="GET")
    if method is None:
        return None
    op = RestOperation(pos=node.pos, method=method)
    op.name = r.text(node, "name", w)
    op.label = r.text(node, "label", w)
    op.description = r.text(node, "description", w)
    op.params = exposed_params(r, node, w, rest=True)
    callable_body(r, node, op, w)
    return op
