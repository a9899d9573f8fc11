"""The package layout of a plan: which modules a package gets, what each imports, which runtime
modules ship beside them, its requirements.txt and its MCP client configuration.

Decided here, at plan time, so that rendering only turns a decided layout into text.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from naftiko_gen import pyexpr
from naftiko_gen.plan import ir
from naftiko_gen.plan.outputs import uses_mapping


@dataclass
class Uses:
    """What a generated module imports, and which runtime modules a package gets."""

    os: bool = False
    binds: bool = False
    digest: bool = False
    forms: bool = False
    formats: bool = False
    mapping: bool = False
    inbound: bool = False
    secrets: bool = False
    any: bool = False
    validate: bool = False
    functions: bool = False  # calls functions.py
    steps: bool = False  # orchestration helpers (_steps)
    forward: bool = False  # REST forward routes (_forward)
    auth_helpers: frozenset[str] = frozenset()  # upstream auth modules (_oauth1, _sigv4, ...)
    metrics: bool = False  # a control adapter: calls are counted (_metrics)
    oauth2: bool = False  # callers present JWTs (_oauth2)
    cache: bool = False  # cacheable functions keep their answers (_cache)

    def imports(self, always: list[str]) -> list[str]:
        """The package-relative import lines of a module, ordered as isort (ruff) orders them."""
        optional = {
            "_binds": self.binds,
            "_cache": self.cache,
            "_forms": self.forms,
            "_formats": self.formats,
            "_inbound": self.inbound,
            "_metrics": self.metrics,
            "_oauth2": self.oauth2,
            "_mapping as m": self.mapping,
            "_secrets": self.secrets,
            "_validate": self.validate,
            "functions": self.functions,
            "_steps": self.steps,
            "_forward": self.forward,
            **dict.fromkeys(self.auth_helpers, True),
            "_runtime as rt": True,
        }
        names = [*always, *(name for name, used in optional.items() if used)]
        plain = sorted(n for n in names if " as " not in n)
        lines = [(n, f"from . import {n}") for n in names if " as " in n]
        if plain:
            lines.append((plain[0], f"from . import {', '.join(plain)}"))
        return [line for _, line in sorted(lines)]


def _actions_uses(actions: list[ir.Action], inbound: bool) -> Uses:
    uses = Uses(inbound=inbound)
    for a in actions:
        if a.output is not None:
            uses.any |= a.call is not None  # the output function's signature
            uses.mapping |= uses_mapping(a.output)
            uses.formats |= a.call is not None and a.output_format != "json"
        uses.mapping |= any(i.body_path for i in a.inputs)
    return uses


def _upstream_uses(plan: ir.Plan) -> Uses:
    return Uses(
        os=any(pyexpr.uses(op, ir.EnvRef) for op in plan.operations)
        or any(op.environment for op in plan.operations)
        or any(next(ir.find(ir.EnvRef, u.auth), None) for u in plan.upstreams),  # {{env.X}} in auth
        binds=any(s.file is not None for s in plan.secret_sources.values()),
        digest=any(u.auth is not None and u.auth.kind == "digest" for u in plan.upstreams),
        forms=any(
            op.body is not None and op.body.kind in ("form", "multipart") for op in plan.operations
        ),
        secrets=bool(plan.secret_sources)
        or any(u.auth is not None and u.auth.kind == "basic" for u in plan.upstreams),
        any=not plan.secret_sources or any(op.kwargs for op in plan.operations),
        auth_helpers=frozenset(_auth_module(u.auth) for u in plan.upstreams if u.auth) - {""},
    )


# Upstream auth kinds implemented by a runtime module of their own, and what each needs.
AUTH_MODULES = {"oauth1": "_oauth1", "aws-sig-v4": "_sigv4", "hmac": "_hmac", "certificate": "_tls"}
AUTH_REQUIREMENTS = {"_oauth1": ("oauthlib[signedtoken]>=3.2",)}
# Feature modules' own requirements: Redis for the shared cache (NAFTIKO_CACHE_URL), listed only
# by packages with a cacheable function (and imported only when the variable is set).
MODULE_REQUIREMENTS = {**AUTH_REQUIREMENTS, "_cache": ("redis>=5",)}
# What every generated package needs at run time (pip's requirements.txt).
REQUIREMENTS = (
    "aiohttp>=3.12.8",
    "mcp>=2.3,<3",
    "uvicorn>=0.30",
    'uvloop>=0.19; sys_platform != "win32"',  # the servers' event loop where it is built
    'httptools>=0.6; sys_platform != "win32"',  # uvicorn's HTTP parser (--sdk: ~10% less CPU)
    "jsonschema>=4.20",  # _validate: tool arguments against their inputSchema
    "pyjwt[crypto]>=2.10",  # _oauth2: callers' JWTs
)
# What a package with a REST server needs besides: /docs serves the Swagger UI files it ships
# (_docs), kept out of the generated code (1.7 MB of JavaScript).
REST_REQUIREMENTS = ("swagger-ui-py>=25.7",)


def _auth_module(auth: ir.Auth) -> str:
    if auth.kind == "apikey" and auth.placement == "body":
        return "_bodykey"
    return AUTH_MODULES.get(auth.kind, "")


# What reading an outputRawFormat needs beyond the standard library.
FORMAT_REQUIREMENTS = {
    "yaml": ("pyyaml>=6",),
    "markdown": ("pyyaml>=6",),  # its front matter
    "avro": ("fastavro>=1.9",),
    "otel": ("opentelemetry-sdk>=1.20", "opentelemetry-exporter-otlp-proto-http>=1.20"),
}


def _formats_used(plan: ir.Plan) -> set[str]:
    """The output formats a package reads, and "otel" when its observability traces."""
    used = {op.output_format for op in plan.operations}
    return used | ({"otel"} if plan.control is not None and plan.control.traces else set())


def requirements(uses: Uses, formats: set[str] | None = None, rest: bool = False) -> str:
    """requirements.txt of a package: the servers' dependencies and its auth's, formats',
    cache's and REST server's extras."""
    modules = {*uses.auth_helpers, *(("_cache",) if uses.cache else ())}
    extra = {r for m in modules for r in MODULE_REQUIREMENTS.get(m, ())}
    extra |= set(REST_REQUIREMENTS if rest else ())
    extra |= {r for f in formats or () for r in FORMAT_REQUIREMENTS.get(f, ())}
    return "\n".join(["# pip install -r requirements.txt", *REQUIREMENTS, *sorted(extra)]) + "\n"


def _functions_uses(functions: list[ir.Function]) -> Uses:
    """What functions.py imports: its steps' helpers, the mapping of outputs and lookups."""
    actions = [f.action for f in functions if f.action is not None]
    uses = _actions_uses(actions, False)
    uses.any |= any(f.inputs for f in functions)  # every parameter is typed Any
    for f in functions:
        if f.orchestration is None:
            continue
        uses.steps = True
        uses.mapping |= uses_mapping(f.orchestration.output)
        for s in f.orchestration.steps:
            if isinstance(s, ir.LookupStep):
                uses.mapping |= bool(s.value.steps) or bool(s.table.steps)
            else:
                uses.formats |= s.output_format != "json"
                uses.mapping |= any(uses_mapping(v) for _, v in s.call.kwargs)
    return uses


def _cache_scopes(plan: ir.Plan) -> None:
    """A cacheable function that an adapter checking its callers exposes is `private`: its REST
    answers tell shared caches (proxies, CDNs) not to keep them for other callers."""
    guarded: list[tuple[ir.InboundAuth | None, list[ir.Action]]] = [
        *((r.auth, [route.action for route in r.routes]) for r in plan.rest),
        *((m.auth, [t.action for t in m.tools] + [x.action for x in m.resources if x.action])
          for m in plan.mcp),
    ]  # fmt: skip
    for auth, actions in guarded:
        for a in actions:
            if auth is not None and a.function is not None and a.function.function.cacheable:
                a.function.function.cache_scope = "private"


def _shared_secret(auth: ir.InboundAuth | None) -> bool:
    """Callers present a secret the server knows (bearer, apikey, basic: _inbound)."""
    return auth is not None and auth.kind != "oauth2"


def _oauth2(auth: ir.InboundAuth | None) -> bool:
    return auth is not None and auth.kind == "oauth2"


def _adapters(plan: ir.Plan) -> list[dict[str, Any]]:
    """The adapters /status lists."""
    found: list[dict[str, Any]] = [
        {"type": "rest", "namespace": r.namespace, "port": r.port} for r in plan.rest
    ]
    for m in plan.mcp:
        found.append({"type": "mcp", "namespace": m.namespace, "transport": m.transport}
                     | ({"port": m.port} if m.port is not None else {}))  # fmt: skip
    if plan.control is not None:
        found.append({"type": "control", "port": plan.control.port})
    return found


def package_layout(plan: ir.Plan) -> ir.Layout:
    """The layout of `plan`'s package."""
    modules: list[ir.Module] = []
    openapi: dict[str, dict[str, Any]] = {}
    copies: dict[str, str] = {}
    package = _upstream_uses(plan)
    package.metrics = plan.control is not None  # upstream calls counted
    package.cache = any(f.cacheable for f in plan.functions)  # upstream.py reads its settings
    _cache_scopes(plan)
    modules.append(ir.Module("__init__.py.j2", "__init__.py"))
    # upstream.py imports what its own code uses: a copy, before the package-wide flags grow.
    modules.append(ir.Module("upstream.py.j2", "upstream.py", {"uses": replace(package)}))
    if plan.functions:
        shared = _functions_uses(plan.functions)
        shared.cache = package.cache
        shared.metrics = package.cache and plan.control is not None  # hits and misses counted
        modules.append(ir.Module("functions.py.j2", "functions.py", {"uses": shared}))
        package.mapping |= shared.mapping
        package.formats |= shared.formats
        package.steps = shared.steps
    for rest in plan.rest:
        uses = _actions_uses([r.action for r in rest.routes], _shared_secret(rest.auth))
        uses.oauth2, uses.metrics = _oauth2(rest.auth), plan.control is not None
        uses.functions = any(r.action.function for r in rest.routes)
        uses.forward = bool(rest.forwards)
        package.forward |= uses.forward
        modules.append(
            ir.Module("rest_server.py.j2", f"{rest.module}.py", {"server": rest, "uses": uses})
        )
        openapi[rest.openapi_file] = rest.openapi
        package.mapping |= uses.mapping
        package.formats |= uses.formats
    for mcp in plan.mcp:
        mcp_actions = [t.action for t in mcp.tools] + [r.action for r in mcp.resources if r.action]
        uses = _actions_uses(mcp_actions, _shared_secret(mcp.auth))
        uses.oauth2, uses.metrics = _oauth2(mcp.auth), plan.control is not None
        uses.validate = any(t.validate for t in mcp.tools)
        package.validate |= uses.validate
        uses.functions = any(a.function for a in mcp_actions)
        for res in mcp.resources:  # static resources and prompt files, copied as they are
            copies.update({f.path: f.text for f in res.files})
        copies.update({p.file.path: p.file.text for p in mcp.prompts if p.file})
        modules.append(
            ir.Module("mcp_server.py.j2", f"{mcp.module}.py", {"server": mcp, "uses": uses})
        )
        package.mapping |= uses.mapping
        package.formats |= uses.formats
    for skills in plan.skills:
        uses = Uses(inbound=skills.auth is not None)
        modules.append(
            ir.Module("skill_server.py.j2", f"{skills.module}.py", {"server": skills, "uses": uses})
        )
        for skill in skills.skills:
            copies.update({f"skills/{skill.name}/{k}": v for k, v in skill.files.items()})
    package.inbound = (
        any(r.auth is not None for r in plan.rest)
        or any(m.auth is not None for m in plan.mcp)
        or any(s.auth is not None for s in plan.skills)
    )
    if plan.control is not None:
        served: list[ir.RestServer | ir.McpServer] = [
            *plan.rest, *(m for m in plan.mcp if m.transport != "stdio")
        ]  # fmt: skip
        context = {
            "control": plan.control,
            "uses": Uses(inbound=plan.control.auth is not None),
            "served": [s.module for s in served],
            "adapters": _adapters(plan),
            "served_http": [
                {"kind": "rest" if isinstance(s, ir.RestServer) else "mcp", "module": s.module,
                 "namespace": s.namespace, "authenticated": s.auth is not None} for s in served
            ],
        }  # fmt: skip
        modules.append(ir.Module("control_server.py.j2", f"{plan.control.module}.py", context))
        package.inbound |= plan.control.auth is not None
    return ir.Layout(
        modules=modules,
        openapi=openapi,
        copies=copies,
        runtime=_runtime_modules(plan, package),
        requirements=requirements(package, _formats_used(plan), bool(plan.rest)),
        mcp_clients=mcp_clients(plan) if plan.mcp else None,
    )


def _runtime_modules(plan: ir.Plan, package: Uses) -> list[str]:
    """The runtime: the core always, each feature module only when this spec uses it."""
    served = bool(plan.rest or plan.mcp or plan.skills)
    formats = _formats_used(plan)
    oauth2 = any(_oauth2(r.auth) for r in plan.rest) or any(_oauth2(m.auth) for m in plan.mcp)
    wanted = {
        "_runtime.py": True,
        "_config.py": True,
        "_limits.py": True,  # slots, the body budget, secrets kept out of relays (issue #20)
        "_guard.py": served or plan.control is not None,  # the control server checks exposure too
        "_inputs.py": served,
        "_rest.py": bool(plan.rest or plan.skills),
        "_docs.py": bool(plan.rest or plan.skills),  # _rest imports it (skills serve no /docs)
        "_serve.py": served or plan.control is not None,  # every server's --workers
        "_mcp.py": bool(plan.mcp),
        "_mcp_eras.py": bool(plan.mcp),  # the protocol eras, as data
        "_mcp_http.py": bool(plan.mcp),
        "_mcp_modern.py": bool(plan.mcp),  # the envelope eras: 2026-07-28 (HTTP and stdio)
        "_mcp_stdio.py": bool(plan.mcp),
        "_mcp_surface.py": bool(plan.mcp),  # the requests each protocol era accepts
        "_mcp_tools.py": bool(plan.mcp),
        "_mcp_wire.py": bool(plan.mcp),  # JSON-RPC wire rules both modes share
        "_mcp_sdk.py": bool(plan.mcp),  # --sdk: the official SDK's server, imported on demand
        "_mcp_content.py": any(m.resources or m.prompts for m in plan.mcp),
        "_skills.py": bool(plan.skills),
        "_mapping.py": package.mapping,
        "_formats.py": package.formats,
        "_markup.py": bool(formats & {"html", "markdown"}),
        "_binary.py": bool(formats & {"avro", "protobuf"}),
        "_forms.py": package.forms,
        "_secrets.py": package.secrets,
        "_binds.py": package.binds,
        "_inbound.py": package.inbound,
        "_metrics.py": plan.control is not None,
        "_control.py": plan.control is not None,
        "_tracing.py": plan.control is not None and plan.control.traces,
        "_oauth2.py": oauth2,
        "_validate.py": package.validate,
        "_steps.py": package.steps,
        "_cache.py": package.cache,
        "_forward.py": package.forward,
        **{f"{name}.py": True for name in sorted(package.auth_helpers)},
    }
    return [name for name, used in wanted.items() if used]


def claude_entry(args: list[str], variables: list[str]) -> dict[str, Any]:
    """A Claude Desktop server entry running `python *args` (stdio), each variable a placeholder."""
    return {
        "command": "/absolute/path/to/python",
        "args": args,
        "env": {"PYTHONPATH": "/absolute/path/to/generated"}
        | {var: f"<{var}>" for var in variables},
    }


def vscode_stdio_entry(args: list[str], variables: list[str]) -> dict[str, Any]:
    """A VS Code server entry running `python *args` (stdio), each variable from the environment."""
    return {
        "type": "stdio",
        "command": "${workspaceFolder}/.venv/bin/python",
        "args": args,
        "env": {"PYTHONPATH": "${workspaceFolder}/generated"}
        | {var: "${env:" + var + "}" for var in variables},
    }


def vscode_http_entry(host: str, port: int) -> dict[str, Any]:
    return {"type": "http", "url": f"http://{host}:{port}/mcp"}


def mcp_clients(plan: ir.Plan) -> dict[str, Any]:
    """MCP client configuration for the package's servers, as data: Claude Desktop and VS Code."""
    variables = sorted(
        {
            plan.secret_sources[name].key
            for mcp in plan.mcp
            for name in (*plan.upstream_secrets, *mcp.secrets)
            if name in plan.secret_sources and plan.secret_sources[name].file is None
        }
    )
    claude: dict[str, Any] = {}
    vscode: dict[str, Any] = {}
    for mcp in plan.mcp:
        args = ["-m", f"{plan.package}.{mcp.module}"]
        if mcp.transport != "stdio":
            args.append("--stdio")
        claude[mcp.namespace] = claude_entry(args, variables)
        if mcp.transport != "stdio" and mcp.port is not None:
            vscode[mcp.namespace] = vscode_http_entry(mcp.host, mcp.port)
        stdio = f"{mcp.namespace}-stdio" if mcp.transport != "stdio" else mcp.namespace
        vscode[stdio] = vscode_stdio_entry(args, variables)
    http = [m for m in plan.mcp if m.transport != "stdio" and m.port is not None]
    running = (
        f" (an http entry needs its server running: python -m {plan.package}.{http[0].module})"
        if http
        else ""
    )
    return {
        "comment": (
            "MCP client configuration for this package. 'claudeDesktop' goes into "
            "claude_desktop_config.json (replace the paths: a Python with aiohttp, mcp and "
            "uvicorn, and the folder that holds this package; replace each <VARIABLE>); "
            f"'vscode' into .vscode/mcp.json{running}."
        ),
        "claudeDesktop": {"mcpServers": claude},
        "vscode": {"servers": vscode},
    }
