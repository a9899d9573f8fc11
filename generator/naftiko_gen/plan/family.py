"""A family of capabilities served as one (`build --compose NAME`, `serve DIR`): which member
routes and tools it serves, which are prefixed by their capability, and why.

Decided here from the members' plans, so that the composed package only mounts what was
decided. Rules: a REST route (method and path, parameters compared by position) that two
capabilities declare puts each of them under `/<capability>`; a tool name two capabilities
declare is listed as `<capability>_<name>` for each; unique names stay as written
(`prefix_all`: every route and tool is prefixed). `include` / `exclude` globs select routes and
tools by capability, by name (a tool's name, a route's 'METHOD /path' or operation name) or by
the capability's `info.tags`.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from fnmatch import fnmatchcase

from naftiko_gen.diagnostics import Pos, Report
from naftiko_gen.plan import ir

_PARAM = re.compile(r"\{[^}]*\}")


@dataclass(frozen=True)
class Selection:
    prefix_all: bool = False
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()

    def keeps(self, keys: tuple[str, ...]) -> bool:
        def hit(patterns: tuple[str, ...]) -> bool:
            return any(fnmatchcase(k, p) for p in patterns for k in keys)

        return (not self.include or hit(self.include)) and not hit(self.exclude)


@dataclass
class RestMember:
    capability: str
    module: str
    prefix: str  # "" or "/<capability>"
    hidden: list[tuple[str, str]] = field(default_factory=list)  # (METHOD, aiohttp path) left out
    routes: int = 0  # routes served


@dataclass
class McpMember:
    capability: str
    module: str
    tools: dict[str, str]  # the member's tool name → the family's


@dataclass
class Family:
    name: str
    members: list[str]  # the member packages
    rest: list[RestMember]
    mcp: list[McpMember]

    @property
    def tools(self) -> int:
        return sum(len(m.tools) for m in self.mcp)

    @property
    def routes(self) -> int:
        return sum(m.routes for m in self.rest)


def _some(names: list[str]) -> str:
    """Three names, then how many more."""
    shown = ", ".join(names[:3])
    return shown + (f" and {len(names) - 3} more" if len(names) > 3 else "")


def _route_key(method: str, path: str) -> tuple[str, str]:
    return method, _PARAM.sub("{}", path)


def plan_family(name: str, plans: list[ir.Plan], selection: Selection, report: Report) -> Family:
    """The family of `plans`; errors in `report` when it cannot be served as one."""
    family = Family(name, [p.package for p in plans], [], [])
    where = {p.package: Pos(p.spec) for p in plans}
    if name in where:
        report.error(
            "naftiko-family-clash",
            f"the family '{name}' has the name of a member package; choose another --compose name",
            where[name],
        )
    _plan_rest(family, plans, selection, report, where)
    _plan_mcp(family, plans, selection, report, where)
    if not family.routes and not family.tools:
        report.error(
            "naftiko-family-empty",
            "the family serves no route and no tool (check --include / --exclude)",
            Pos(", ".join(p.spec for p in plans) or name),
        )
    return family


def _plan_rest(
    family: Family,
    plans: list[ir.Plan],
    selection: Selection,
    report: Report,
    where: dict[str, Pos],
) -> None:
    kept: dict[tuple[str, str], list[ir.Route]] = {}
    owners: dict[tuple[str, str], set[str]] = defaultdict(set)
    for plan in plans:
        tags = tuple(plan.tags)
        for rest in plan.rest:
            key = (plan.package, rest.module)
            kept[key] = []
            for route in rest.routes:
                keys = (plan.package, f"{route.method} {route.spec_path}", route.name or "", *tags)
                if selection.keeps(keys):
                    kept[key].append(route)
                    owners[_route_key(route.method, route.spec_path)].add(plan.package)
            for fw in rest.forwards:
                owners[("*", fw.prefix)].add(plan.package)
    shared = {cap for caps in owners.values() if len(caps) > 1 for cap in caps}
    for plan in plans:
        for rest in plan.rest:
            routes = kept[(plan.package, rest.module)]
            if not routes and not rest.forwards:
                continue
            prefixed = selection.prefix_all or plan.package in shared
            if plan.package in shared and not selection.prefix_all:
                others = sorted(
                    {c for caps in owners.values() if plan.package in caps for c in caps}
                    - {plan.package}
                )
                report.warning(
                    "naftiko-family-routes-prefixed",
                    f"routes of '{plan.package}' are also declared by {_some(others)}: "
                    f"in the family '{family.name}' its routes are served under /{plan.package}",
                    where[plan.package],
                )
            hidden = [(r.method, r.path) for r in rest.routes if r not in routes]
            family.rest.append(
                RestMember(
                    plan.package,
                    rest.module,
                    f"/{plan.package}" if prefixed else "",
                    hidden,
                    len(routes) + len(rest.forwards),
                )
            )


def _plan_mcp(
    family: Family,
    plans: list[ir.Plan],
    selection: Selection,
    report: Report,
    where: dict[str, Pos],
) -> None:
    chosen: list[tuple[ir.Plan, ir.McpServer, list[ir.Tool]]] = []
    for plan in plans:
        for mcp in plan.mcp:
            tools = [t for t in mcp.tools if selection.keeps((plan.package, t.name, *plan.tags))]
            if not tools:
                continue
            if mcp.auth is not None:
                report.error(
                    "naftiko-family-auth",
                    f"the MCP server '{mcp.namespace}' requires callers' credentials, which the "
                    f"family's one endpoint cannot check per capability; leave '{plan.package}' "
                    "out (--exclude) or serve it on its own",
                    where[plan.package],
                )
                continue
            chosen.append((plan, mcp, tools))
    capabilities: dict[str, set[str]] = defaultdict(set)
    for plan, _, tools in chosen:
        for t in tools:
            capabilities[t.name].add(plan.package)
    exposed: Counter[str] = Counter()
    for plan, mcp, tools in chosen:
        names: dict[str, str] = {}
        for t in tools:
            shared = len(capabilities[t.name]) > 1
            names[t.name] = f"{plan.package}_{t.name}" if shared or selection.prefix_all else t.name
            exposed[names[t.name]] += 1
            if shared and not selection.prefix_all:
                report.warning(
                    "naftiko-family-tool-renamed",
                    f"the tool '{t.name}' is also declared by "
                    f"{_some(sorted(capabilities[t.name] - {plan.package}))}: the family "
                    f"'{family.name}' lists it as '{names[t.name]}'",
                    where[plan.package],
                )
        family.mcp.append(McpMember(plan.package, mcp.module, names))
    for member in family.mcp:
        for original, listed in member.tools.items():
            if exposed[listed] > 1:
                report.error(
                    "naftiko-family-clash",
                    f"the family '{family.name}' would list two tools named '{listed}' "
                    f"('{original}' of '{member.capability}'); rename one",
                    where[member.capability],
                )
