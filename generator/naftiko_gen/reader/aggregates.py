"""aggregates: reusable functions (a `call`, `steps`, or mock outputs) that tools and operations
refer to with `ref`."""

from __future__ import annotations

from naftiko_gen.loader import Node
from naftiko_gen.model import Aggregate, AggregateFunction, Capability, Semantics
from naftiko_gen.reader.callables import callable_body, exposed_params
from naftiko_gen.reader.common import Reader


def aggregates(r: Reader, cap_node: Node, cap: Capability) -> None:
    for a in r.expect_list(cap_node, "aggregates", "'capability'"):
        w = "an aggregate"
        if r.expect_map(a, w) is None:
            continue
        r.check_keys(a, ("label", "namespace", "functions"), w)
        ns = r.text(a, "namespace", w, required=True)
        if ns is None:
            continue
        agg = Aggregate(ns, a.pos, label=r.text(a, "label", w))
        for f in r.expect_list(a, "functions", w):
            fw = "an aggregate function"
            if r.expect_map(f, fw) is None:
                continue
            r.check_keys(
                f,
                (
                    "name", "description", "semantics", "inputParameters", "call", "with", "steps",
                    "mappings", "outputParameters",
                ),
                fw,
            )  # fmt: skip
            name = r.text(f, "name", fw, required=True)
            if name is None:
                continue
            fn = AggregateFunction(pos=f.pos, name=name)
            fn.description = r.text(f, "description", fw)
            fn.params = exposed_params(r, f, fw, rest=False)
            sem = r.expect_map(f.get("semantics"), "'semantics'")
            if sem is not None:
                r.check_keys(sem, ("safe", "idempotent", "cacheable"), "'semantics'")
                fn.semantics = Semantics(
                    safe=r.boolean(sem, "safe", "'semantics'"),
                    idempotent=r.boolean(sem, "idempotent", "'semantics'"),
                    cacheable=r.boolean(sem, "cacheable", "'semantics'"),
                )
            callable_body(r, f, fn, fw)  # type: ignore[arg-type]
            agg.functions.append(fn)
        cap.aggregates.append(agg)
