"""Semantic rules a generator needs, with stable ids (Spectral-style) and severities.

Structural problems are found while reading (reader.py); wiring problems that need the whole
capability (call targets, path parameters) while planning (plan.py). These are the rest.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from naftiko_gen import mustache
from naftiko_gen.baseuri import env_template
from naftiko_gen.diagnostics import Pos, Report
from naftiko_gen.model import Callable, Capability
from naftiko_gen.naming import env_name, snake

TOOL_NAME = re.compile(r"^[A-Za-z0-9._-]{1,128}$")
BASE_URI = re.compile(r"^https?://[^/\s]+(/[^{\s]*)?$")


def run_checks(cap: Capability, report: Report) -> None:
    namespaces(cap, report)
    consumes(cap, report)
    rest_paths(cap, report)
    ports(cap, report)
    mcp_tools(cap, report)
    consumed_param_locations(cap, report)
    safe_methods(cap, report)


def namespaces(cap: Capability, report: Report) -> None:
    seen: dict[str, Pos] = {}
    items = [(c.namespace, c.pos) for c in cap.consumes]
    items += [(a.namespace, a.pos) for a in cap.rest] + [(a.namespace, a.pos) for a in cap.mcp]
    for ns, pos in items:
        if ns in seen:
            report.error(
                "naftiko-namespaces-unique",
                f"namespace '{ns}' is used twice (first at {seen[ns]}); namespaces must be unique",
                pos,
            )
        else:
            seen[ns] = pos
    binds: dict[str, Pos] = {}
    for b in cap.binds:
        if b.namespace in binds:
            report.error(
                "naftiko-namespaces-unique",
                f"bind namespace '{b.namespace}' is used twice (first at {binds[b.namespace]})",
                b.pos,
            )
        binds.setdefault(b.namespace, b.pos)


def consumes(cap: Capability, report: Report) -> None:
    for c in cap.consumes:
        if c.base_uri.endswith("/"):
            report.warning(
                "naftiko-consumes-baseuri-no-trailing-slash",
                f"baseUri '{c.base_uri}' ends with '/'; it is removed (resource paths start with '/')",
                c.pos,
            )
        templated = env_template(c.base_uri)
        if templated is not None and _valid_base_uri(templated[1].rstrip("/")):
            report.warning(
                "naftiko-dialect-baseuri-env",
                f"baseUri '{c.base_uri}' is built at start-up from the environment variable"
                f"{'s' if len(templated[2]) > 1 else ''} {', '.join(templated[2])} "
                f"({env_name(c.namespace)}_BASE_URL still overrides it)",
                c.positions.get("baseUri", c.pos),
            )
        elif not _valid_base_uri(c.base_uri.rstrip("/") or c.base_uri):
            report.error(
                "naftiko-consumes-baseuri-format",
                f"baseUri '{c.base_uri}' must be an absolute http(s) URL; placeholders name "
                "environment variables ('{{VAR}}', '{{env.VAR}}', '{name}')",
                c.pos,
            )
        for r in c.resources:
            if "?" in r.path or "#" in r.path:
                report.error(
                    "naftiko-consumed-resource-no-query-in-path",
                    f"resource path '{r.path}' contains a query or fragment; declare query "
                    "parameters as inputParameters with 'in: query'",
                    r.path_pos,
                )
            if r.path and not r.path.startswith("/"):
                report.warning(
                    "naftiko-consumed-resource-path-slash",
                    f"resource path '{r.path}' should start with '/'",
                    r.path_pos,
                )
        ops: dict[str, Pos] = {}
        for r in c.resources:
            for o in r.operations:
                if o.name in ops:
                    report.error(
                        "naftiko-operation-names-unique",
                        f"operation '{o.name}' is declared twice in consumes '{c.namespace}' "
                        f"(first at {ops[o.name]}); 'call' could not tell them apart",
                        o.pos,
                    )
                ops.setdefault(o.name, o.pos)


def _valid_base_uri(uri: str) -> bool:
    """What the generated server can parse: scheme, host, optional port and path; nothing else."""
    if not BASE_URI.match(uri):
        return False
    try:
        parts = urlsplit(uri)
        port_ok = parts.port is None or 0 < parts.port < 65536
    except ValueError:
        return False
    return (
        bool(parts.hostname)
        and port_ok
        and not parts.query
        and not parts.fragment
        and "?" not in uri
        and "#" not in uri
    )


def rest_paths(cap: Capability, report: Report) -> None:
    for a in cap.rest:
        for r in a.resources:
            if len(r.path) > 1 and r.path.endswith("/"):
                report.warning(
                    "naftiko-rest-resource-path-no-trailing-slash",
                    f"path '{r.path}' ends with '/'; remove it",
                    r.pos,
                )
            if r.path == "/openapi.json":
                report.error(
                    "naftiko-rest-reserved-path",
                    "'/openapi.json' is served by the generated server; choose another path",
                    r.pos,
                )
            if r.path.strip("/").split("/")[0] == "docs":  # as plan.adapters.takes_docs
                report.warning(
                    "naftiko-rest-docs-path",
                    f"path '{r.path}' is under /docs: this server serves no API docs page",
                    r.pos,
                )
            vars_ = mustache.path_vars(r.path)
            if len(set(vars_)) != len(vars_):
                report.error(
                    "naftiko-rest-path-param-unique",
                    f"path '{r.path}' uses a placeholder twice",
                    r.pos,
                )


def ports(cap: Capability, report: Report) -> None:
    seen: dict[int, tuple[str, Pos]] = {}
    adapters: list[tuple[str, int | None, Pos]] = [(a.namespace, a.port, a.pos) for a in cap.rest]
    adapters += [(a.namespace, a.port, a.pos) for a in cap.mcp if a.transport == "http"]
    for ns, port, pos in adapters:
        if port is None:
            continue
        if not 1 <= port <= 65535:
            report.error(
                "naftiko-port-range", f"port {port} of '{ns}' must be between 1 and 65535", pos
            )
            continue
        if port in seen:
            report.error(
                "naftiko-ports-unique",
                f"port {port} of '{ns}' is already used by '{seen[port][0]}' ({seen[port][1]}); "
                "give each adapter its own port",
                pos,
            )
        else:
            seen[port] = (ns, pos)


def mcp_tools(cap: Capability, report: Report) -> None:
    for a in cap.mcp:
        idents: dict[str, str] = {}
        for t in a.tools:
            name = t.name or ""
            if not TOOL_NAME.match(name):
                report.error(
                    "naftiko-mcp-tool-name-format",
                    f"tool name '{name[:60]}' must match ^[A-Za-z0-9._-]{{1,128}}$ (agents rely on it)",
                    t.pos,
                )
            ident = snake(name)
            if ident in idents and idents[ident] != name:
                report.warning(
                    "naftiko-identifier-collision",
                    f"tool names '{idents[ident]}' and '{name}' both become the Python name "
                    f"'{ident}'; the second gets a numbered suffix in generated code",
                    t.pos,
                )
            idents.setdefault(ident, name)


def consumed_param_locations(cap: Capability, report: Report) -> None:
    """A consumed parameter goes where its path says, whatever its `in:` says: a mismatch is a
    located warning (a path placeholder is filled once, in the path; an `in: path` parameter
    without a placeholder is never sent)."""
    for c in cap.consumes:
        for r in c.resources:
            placeholders = {v.split(".")[-1] for v in mustache.path_vars(r.path)}
            for o in r.operations:
                for p in r.params + o.params:
                    if p.location == "path" and p.name not in placeholders and p.value is None:
                        report.warning(
                            "naftiko-consumed-param-location",
                            f"'{p.name}' is 'in: path' but '{r.path}' has no "
                            f"'{{{{{p.name}}}}}' placeholder; it is never sent",
                            p.pos,
                        )
                    elif p.location in ("query", "header", "cookie") and p.name in placeholders:
                        report.warning(
                            "naftiko-consumed-param-location",
                            f"'{p.name}' is 'in: {p.location}' but fills the placeholder "
                            f"'{{{{{p.name}}}}}' of '{r.path}'; it is sent in the path only "
                            "(declare it 'in: path')",
                            p.pos,
                        )


SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def safe_methods(cap: Capability, report: Report) -> None:
    """A REST GET/HEAD whose call (or a step's, or an aggregate function's) is unsafe upstream."""
    methods = {
        f"{c.namespace}.{o.name}": o.method.upper()
        for c in cap.consumes
        for r in c.resources
        for o in r.operations
    }
    functions = {
        f"{g.namespace}.{f.name}": f for g in cap.aggregates for f in g.functions if f.name
    }
    for a in cap.rest:
        for r in a.resources:
            for op in r.operations:
                if op.method.upper() not in ("GET", "HEAD"):
                    continue
                target: Callable = op
                if op.ref is not None:
                    target = functions.get(f"{op.ref.namespace}.{op.ref.operation}", op)
                calls = [target.call] + [s.call for s in target.steps or ()]
                for call in calls:
                    if call is None:
                        continue
                    key = f"{call.namespace}.{call.operation}"
                    method = methods.get(key)
                    if method is not None and method not in SAFE_METHODS:
                        report.warning(
                            "naftiko-rest-safe-method-unsafe-call",
                            f"{op.method.upper()} {r.path} calls {key}, an upstream {method}: any "
                            "web page, link or prefetch can trigger it; expose it as "
                            f"{method} instead",
                            op.pos,
                        )
                        break
