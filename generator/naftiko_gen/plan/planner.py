"""make_plan: one capability's typed model → its plan (and its package layout)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from naftiko_gen.degrade import restore, skipped
from naftiko_gen.diagnostics import Report
from naftiko_gen.model import Capability
from naftiko_gen.plan.adapters import AdapterPlanner
from naftiko_gen.plan.consumed import ConsumedOp, ConsumedPlanner
from naftiko_gen.plan.control import control_server
from naftiko_gen.plan.ir import Plan
from naftiko_gen.plan.layout import package_layout
from naftiko_gen.plan.secrets import Secrets, secret_names
from naftiko_gen.plan.skills import plan_skills
from naftiko_gen.plan.wiring import Wiring

if TYPE_CHECKING:
    from naftiko_gen.plan.enrich import Document


def make_plan(
    cap: Capability,
    package: str,
    package_dir: Path,
    report: Report,
    spec_display: str,
    openapi: dict[str, Document] | None = None,
) -> Plan:
    """The plan of one capability; `openapi`: consumes namespace → its upstream's document."""
    inherit_from_refs(cap)
    secrets = Secrets(cap.binds, package_dir, report)
    exposed_ns = {a.namespace for a in cap.rest} | {a.namespace for a in cap.mcp}
    # `with: {x: shipyard.voyage-id}` in a function of aggregate `shipyard` names its input
    # `voyage-id`, as `<exposeNamespace>.x` does in a tool (the engine resolves both).
    exposed_ns |= {agg.namespace for agg in cap.aggregates}
    ops: dict[str, ConsumedOp] = {}
    for c in cap.consumes:
        for r in c.resources:
            for o in r.operations:
                ops.setdefault(f"{c.namespace}.{o.name}", ConsumedOp(c, r, o))
    consumed = ConsumedPlanner(secrets, exposed_ns, report)
    wiring = Wiring(cap, ops, consumed, secrets, report)
    enricher = None
    if openapi:
        from naftiko_gen.plan.enrich import Enricher

        enricher = Enricher(openapi, report)
    adapters = AdapterPlanner(cap, wiring, consumed, report, enricher)
    adapters.steps.all_aggregates()  # functions.py: every aggregate function, referred to or not
    rest = [adapters.rest_server(a, i == 0) for i, a in enumerate(cap.rest)]
    mcp = [adapters.mcp_server(a, i == 0) for i, a in enumerate(cap.mcp)]
    skills = plan_skills(adapters, cap, rest, mcp, report)
    built = (
        any(s.routes or s.forwards for s in rest)
        or any(s.tools or s.resources or s.prompts for s in mcp)
        or any(s.skills for s in skills)
    )
    if not built and (adapters.skipped or skipped(report, spec_display)):
        # Nothing of the spec is buildable: the skipped parts' own errors say why.
        restore(report, spec_display)
    operations = sorted(wiring.used.values(), key=lambda op: op.key)
    upstreams = [
        consumed.upstreams[c.namespace] for c in cap.consumes if c.namespace in consumed.upstreams
    ]
    # Planned before the secrets are listed: its callers' credentials are secrets too.
    control = control_server(cap.control[0], adapters) if cap.control else None
    plan = Plan(
        package=package,
        spec=spec_display,
        label=cap.label,
        description=cap.description,
        secret_sources=dict(sorted(secrets.sources.items())),
        upstream_secrets=secret_names(upstreams, operations, adapters.steps.functions),
        upstreams=upstreams,
        operations=operations,
        rest=rest,
        mcp=mcp,
        functions=adapters.steps.functions,
        skills=skills,
        control=control,
        tags=cap.tags,
    )
    plan.layout = package_layout(plan)
    return plan


def inherit_from_refs(cap: Capability) -> None:
    """A `ref` tool or REST operation takes the aggregate function's name and description
    where it writes none (the engine's AggregateRefResolver; explicit fields win)."""
    functions = {f"{agg.namespace}.{fn.name}": fn for agg in cap.aggregates for fn in agg.functions}
    targets: list[Any] = [op for a in cap.rest for r in a.resources for op in r.operations]
    targets += [tool for a in cap.mcp for tool in a.tools]
    for target in targets:
        if target.ref is None:
            continue
        fn = functions.get(f"{target.ref.namespace}.{target.ref.operation}")
        if fn is None:
            continue  # reported where the ref is planned
        if not target.name:
            target.name = fn.name
        if target.description is None:
            target.description = fn.description
