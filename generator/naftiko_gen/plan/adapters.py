"""Exposed adapters → planned servers: routes and tools with their actions, hosts, auth."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import quote

from naftiko_gen import mustache
from naftiko_gen.degrade import Attempt, attempt
from naftiko_gen.diagnostics import Pos, Report
from naftiko_gen.model import (
    Auth,
    Callable,
    Capability,
    McpAdapter,
    McpTool,
    RestAdapter,
    RestOperation,
    RestResource,
)
from naftiko_gen.naming import Names, snake
from naftiko_gen.plan import ir
from naftiko_gen.plan.consumed import PATH_SAFE, ConsumedPlanner
from naftiko_gen.plan.control import oauth2
from naftiko_gen.plan.enrich import Enricher
from naftiko_gen.plan.forward import plan_forward
from naftiko_gen.plan.mcp_content import plan_prompts, plan_resources
from naftiko_gen.plan.openapi import mapped_output, openapi_document
from naftiko_gen.plan.outputs import FAILED, has_values
from naftiko_gen.plan.portable import portable, typed_schema
from naftiko_gen.plan.route_order import Shape, order_routes
from naftiko_gen.plan.secrets import secret_names
from naftiko_gen.plan.steps import StepPlanner
from naftiko_gen.plan.wiring import Wiring, bind_names, bind_output

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Module-level names of the server modules, and the locals a handler already uses.
REST_MODULE_NAMES = (
    "create_app", "main", "routes", "rt", "rest", "m", "formats", "forms", "inbound",
    "upstream", "web", "argparse", "sys", "DEFAULT_HOST", "DEFAULT_PORT", "OPENAPI_FILE",
    "SECRETS", "CREDENTIALS", "Any", "Mapping", "Path", "functions", "_forward",
)  # fmt: skip
MCP_MODULE_NAMES = (
    "create_app", "main", "build_server", "load_config", "TOOLS", "rt", "mcp", "m", "formats",
    "inbound", "upstream", "types", "argparse", "sys", "NAME", "VERSION", "INSTRUCTIONS",
    "DEFAULT_HOST", "DEFAULT_PORT", "SECRETS", "CREDENTIALS", "Any", "Mapping", "functions",
    "RESOURCES", "PROMPTS", "PACKAGE_DIR", "Path", "_mcp_content",
)  # fmt: skip
HANDLER_LOCALS = ("request", "payload", "answer", "data", "item", "client", "args")


class AdapterPlanner:
    def __init__(
        self,
        cap: Capability,
        wiring: Wiring,
        consumed: ConsumedPlanner,
        report: Report,
        enricher: Enricher | None = None,
    ) -> None:
        self.cap = cap
        self.wiring = wiring
        self.consumed = consumed
        self.report = report
        self.enricher = enricher  # the upstreams' OpenAPI documents, when given
        self.modules = Names(("__init__", "_runtime", "upstream", "functions"))
        self.steps = StepPlanner(cap, wiring, consumed, report)
        self.skipped = 0  # routes and tools skipped (generator/degrade.py)

    def error(self, rule: str, message: str, pos: Pos) -> None:
        self.report.error(rule, message, pos)

    @contextmanager
    def attempt(self, what: str) -> Iterator[Attempt]:
        """Plan one route or tool; on errors it is skipped (see generator/degrade.py) and the
        upstream functions only it brought in are dropped again."""
        used = set(self.wiring.used)
        with attempt(self.report, what) as tried:
            yield tried
        if tried.failed:
            self.skipped += 1
            for key in set(self.wiring.used) - used:
                del self.wiring.used[key]

    # -- actions -------------------------------------------------------------------------

    def action(
        self,
        target: Callable,
        func: str,
        inputs: list[ir.Input],
        adapter_ns: str,
        rest_path_vars: list[str] | None,
        kind: str,
        module_names: tuple[str, ...],
        declared: bool | None = None,
    ) -> ir.Action | None:
        if target.unsupported:
            return None
        if target.steps is not None or target.ref is not None:  # a function of functions.py
            method = getattr(target, "method", None) if rest_path_vars is not None else None
            handler = Names(module_names + HANDLER_LOCALS + (func,))
            return self.steps.action(target, func, inputs, kind, handler, method)
        co = self.wiring.resolve_call(target, kind)
        if target.call is not None and co is None:
            return None
        if target.call is None and not has_values(target.outputs):
            self.error(
                "naftiko-nothing-to-do",
                f"{kind} has no 'call' and no outputParameters with 'value'; "
                "add a 'call: namespace.operation'",
                target.pos,
            )
            return None
        call = (
            self.wiring.call(target, co, inputs, adapter_ns, rest_path_vars, declared)
            if co
            else None
        )
        output = self.wiring.outputs(target, co)
        if output is FAILED:
            return None
        names = Names(module_names + HANDLER_LOCALS + (func,))
        for i in inputs:
            i.py = names.take(snake(i.name))
        local = {i.name: i.py for i in inputs}
        if call is not None:
            call.kwargs = [(k, bind_names(v, local)) for k, v in call.kwargs]
        output = bind_output(output, local)
        read = {ref.name for ref in ir.find(ir.ArgRef, call.kwargs if call else None, output)}
        for i in inputs:
            i.used = i.py in read
        action = ir.Action(
            func=func,
            inputs=inputs,
            call=call,
            output=output,
            target=call.op.key if call else "mock output",
        )
        if self.enricher is not None and co is not None:
            self.enricher.action(co, action)
        return action

    # -- REST ----------------------------------------------------------------------------

    def rest_server(self, adapter: RestAdapter, first: bool) -> ir.RestServer:
        module = self.modules.take(
            "rest_server" if first else f"rest_server_{snake(adapter.namespace)}"
        )
        names = Names(REST_MODULE_NAMES)
        routes: list[ir.Route] = []
        where: dict[int, Pos] = {}  # index in routes → the operation's position
        seen: dict[tuple[str, str], Pos] = {}
        forwards: list[ir.Forward] = []
        for res in adapter.resources:
            if res.forward is not None:
                fw = plan_forward(res, self.cap, self.consumed, names, self.report)
                if fw is not None:
                    forwards.append(fw)
            pattern, path_vars = self.aiohttp_path(res)
            if pattern is None:
                continue
            for op in res.operations:
                route_key = (op.method, pattern.lower())
                with self.attempt(f"route {op.method} {res.path}") as tried:
                    if route_key in seen:
                        self.error(
                            "naftiko-rest-route-unique",
                            f"{op.method} {res.path} is declared twice (first at line "
                            f"{seen[route_key].line}); remove or rename one",
                            op.pos,
                        )
                        continue
                    func = names.take(snake(op.name or f"{op.method}_{res.name or res.path}"))
                    inputs = self.rest_inputs(res, op, path_vars)
                    action = self.action(
                        op,
                        func,
                        inputs,
                        adapter.namespace,
                        path_vars,
                        f"operation {op.method} {res.path}",
                        REST_MODULE_NAMES,
                        declared=bool(res.params or op.params),
                    )
                if tried.failed or action is None:
                    continue
                seen[route_key] = op.pos
                where[len(routes)] = op.pos
                routes.append(
                    ir.Route(
                        op.method,
                        pattern,
                        res.path,
                        op.name,
                        op.label,
                        op.description,
                        action,
                    )
                )
        routes = self.ordered(routes, where)
        auth = self.inbound_auth(adapter.auth)
        server = ir.RestServer(
            module=module,
            namespace=adapter.namespace,
            host=self.host(adapter.address, adapter.positions.get("address", adapter.pos)),
            port=adapter.port,
            routes=routes,
            auth=auth,
            secrets=secret_names(auth, [r.action.call.kwargs for r in routes if r.action.call]),
            openapi_file="openapi.json" if first else f"openapi_{snake(adapter.namespace)}.json",
            openapi={},
            description=adapter.description,
            forwards=forwards,
            docs=not any(
                takes_docs(p)
                for p in (*(r.spec_path for r in routes), *(f.prefix for f in forwards))
            ),
        )
        server.openapi = openapi_document(
            self.cap.label or adapter.namespace, adapter.description or self.cap.description, server
        )
        return server

    def ordered(self, routes: list[ir.Route], where: dict[int, Pos]) -> list[ir.Route]:
        """Most specific routes first (see plan/route_order.py); ambiguous pairs are warned."""
        index = {id(r): i for i, r in enumerate(routes)}

        def ambiguous(first: ir.Route, second: ir.Route) -> None:
            self.report.warning(
                "naftiko-rest-route-ambiguous",
                f"{second.method} {second.spec_path} and {first.method} {first.spec_path} (line "
                f"{where[index[id(first)]].line}) match the same requests; the first declared "
                "answers them. Make one path more specific (a literal segment) or merge them",
                where[index[id(second)]],
            )

        return order_routes(routes, lambda r: Shape.of(r.method, r.spec_path), ambiguous)

    def aiohttp_path(self, res: RestResource) -> tuple[str | None, list[str]]:
        out: list[str] = []
        names: list[str] = []
        for i, p in enumerate(mustache.parse_path(res.path)):
            if isinstance(p, mustache.Var):
                names.append(p.name)
                out.append("{" + (p.name if _IDENT.match(p.name) else f"p{i}") + "}")
                continue
            if "{" in p or "}" in p:
                self.error(
                    "naftiko-rest-path",
                    f"path '{res.path}' has a brace that is not a {{name}} placeholder "
                    "(names are letters, digits, '_', '.' and '-')",
                    res.pos,
                )
                return None, []
            out.append(p)
        holes = {
            i for i, p in enumerate(mustache.parse_path(res.path)) if isinstance(p, mustache.Var)
        }
        encoded = [o if i in holes else quote(o, safe=PATH_SAFE) for i, o in enumerate(out)]
        if encoded != out:
            self.report.warning(
                "naftiko-dialect-rest-path-encoded",
                f"path '{res.path}' has characters that need percent-encoding (spaces, non-ASCII); "
                f"callers send '{''.join(encoded)}'",
                res.pos,
            )
            if names:
                out = [o if i in holes else _decoded_literal(o, i) for i, o in enumerate(out)]
        path = "".join(out)
        if not path.startswith("/"):
            self.report.warning(
                "naftiko-rest-path", f"path '{res.path}' should start with '/'", res.pos
            )
            path = "/" + path
        return path, names

    def rest_inputs(
        self, res: RestResource, op: RestOperation, path_vars: list[str]
    ) -> list[ir.Input]:
        inputs = self.wiring.exposed_inputs(res.params + op.params, rest=True)
        declared = {i.name for i in inputs}
        keys = {
            p.name: (p.name if _IDENT.match(p.name) else f"p{i}")
            for i, p in enumerate(mustache.parse_path(res.path))
            if isinstance(p, mustache.Var)
        }
        for var in path_vars:
            if var not in declared:
                inputs.append(ir.Input(var, "string", True, "path"))
        for i in inputs:
            if i.location == "path":
                if i.name not in keys:
                    self.error(
                        "naftiko-rest-path-param",
                        f"input '{i.name}' is 'in: path' but '{res.path}' has no "
                        f"'{{{i.name}}}' placeholder",
                        op.pos,
                    )
                i.key = keys.get(i.name, i.name)
                i.required = True
        return inputs

    # -- MCP -----------------------------------------------------------------------------

    def mcp_server(self, adapter: McpAdapter, first: bool) -> ir.McpServer:
        module = self.modules.take(
            "mcp_server" if first else f"mcp_server_{snake(adapter.namespace)}"
        )
        names = Names(MCP_MODULE_NAMES)
        constants = Names(MCP_MODULE_NAMES)
        tools: list[ir.Tool] = []
        seen: dict[str, Pos] = {}
        for tool in adapter.tools:
            assert tool.name is not None
            with self.attempt(f"tool '{tool.name}'") as tried:
                if tool.name in seen:
                    self.error(
                        "naftiko-mcp-tool-name-unique",
                        f"tool name '{tool.name}' is used twice (first at line "
                        f"{seen[tool.name].line}); rename one",
                        tool.pos,
                    )
                    continue
                inputs = self.wiring.exposed_inputs(tool.params, rest=False)
                action = self.action(
                    tool,
                    names.take(snake(tool.name)),
                    inputs,
                    adapter.namespace,
                    None,
                    f"tool '{tool.name}'",
                    MCP_MODULE_NAMES,
                )
            if tried.failed or action is None:
                continue
            seen[tool.name] = tool.pos
            enriched = any(i.json_schema is not None for i in action.inputs)
            tools.append(
                ir.Tool(
                    name=tool.name,
                    const=constants.take(snake(tool.name).upper().rstrip("_")),
                    title=tool.label,
                    description=tool.description,
                    schema=input_schema(action.inputs),
                    annotations=tool_annotations(
                        tool if tool.ref is None else self.steps.hinted(tool)
                    ),
                    action=action,
                    output_schema=tool_output_schema(action, self.enricher is not None),
                    validate=enriched,
                )
            )
        resources = plan_resources(
            self, self.cap, adapter, module, names, constants, MCP_MODULE_NAMES
        )
        prompts = plan_prompts(self, self.cap, adapter, module, constants)
        actions = [t.action for t in tools] + [r.action for r in resources if r.action]
        auth = self.inbound_auth(adapter.auth)
        return ir.McpServer(
            module=module,
            namespace=adapter.namespace,
            transport=adapter.transport,
            host=self.host(adapter.address, adapter.positions.get("address", adapter.pos)),
            port=adapter.port,
            instructions=adapter.description,
            tools=tools,
            auth=auth,
            secrets=secret_names(auth, [a.call.kwargs for a in actions if a.call]),
            resources=resources,
            prompts=prompts,
        )

    # -- shared --------------------------------------------------------------------------

    def host(self, address: str | None, pos: Pos) -> str:
        if address is None or address in ("", "localhost"):
            return "127.0.0.1"
        try:
            ipaddress.ip_address(address)
        except ValueError:
            if not re.fullmatch(r"[A-Za-z0-9.\-]+", address):
                self.error(
                    "naftiko-address", f"address '{address}' is not a host name or IP address", pos
                )
                return "127.0.0.1"
        return address

    def inbound_auth(self, a: Auth | None) -> ir.InboundAuth | None:
        if a is None:
            return None

        def secret(attr: str, what: str) -> Any:
            return self.consumed.secret_template(
                getattr(a, attr), a.positions.get(attr, a.pos), what
            )

        if a.kind == "bearer":
            return ir.InboundAuth("bearer", secret("token", "the token"))
        if a.kind == "apikey":
            return ir.InboundAuth(
                "apikey", secret("value", "the api key"), key=a.key or "", placement=a.placement
            )
        if a.kind == "basic":
            return ir.InboundAuth(
                "basic",
                secret("password", "the password"),
                username=secret("username", "the username"),
            )
        if a.kind == "oauth2":
            checks = oauth2(a, self.cap.source, self.consumed.secrets.package_dir, self.report)
            return ir.InboundAuth("oauth2", None, oauth2=checks) if checks else None
        self.error(
            "naftiko-unsupported-auth",
            f"'{a.kind}' authentication of callers is not supported; use bearer, apikey, basic "
            "or oauth2",
            a.pos,
        )
        return None


def _decoded_literal(piece: str, i: int) -> str:
    """A literal piece of a route with placeholders, as aiohttp must see it to match a decoded
    request path: segments needing encoding as `{_lI_J:regex}` (aiohttp 3 compares the decoded
    path with an encoded pattern on dynamic routes, so the text itself would never match)."""
    if quote(piece, safe=PATH_SAFE) == piece:
        return piece
    return "/".join(
        s if quote(s, safe=PATH_SAFE) == s else f"{{_l{i}_{j}:{re.escape(s)}}}"
        for j, s in enumerate(piece.split("/"))
    )


def takes_docs(path: str) -> bool:
    """A spec path the /docs page would shadow, or that would shadow it: /docs, /docs/...
    (/{name} is no such path: a literal segment wins over a placeholder, as everywhere)."""
    return path.strip("/").split("/")[0] == "docs"


def input_schema(inputs: list[ir.Input]) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": {i.name: i.schema() for i in inputs}}
    required = [i.name for i in inputs if i.required]
    if required:
        schema["required"] = required
    return portable(schema)  # JavaScript clients compile the patterns too


def tool_output_schema(action: ir.Action, enriched: bool) -> dict[str, Any] | None:
    """A tool's outputSchema: a mapped output's declared types, or (with a document) a relayed
    object's schema.

    MCP wants an object at the schema's root (2025-06-18; structuredContent an object), so a
    mapped array or scalar is wrapped as the official SDK's MCPServer and FastMCP wrap a
    non-object return: `{"result": <schema>}`, required, sent as `{"result": <value>}`, with
    FastMCP's `x-fastmcp-wrap-result` mark (its clients unwrap the value; _mcp.Tool reads it).
    A value taken as it is ({}: any JSON) gets none: nothing is declared about it.
    """
    output = mapped_output(action)
    if isinstance(output, ir.Fields):
        return portable(typed_schema(output))
    if output is not None:
        typed = typed_schema(output)
        if not typed:
            return None
        return portable({"type": "object", "properties": {"result": typed}} | WRAPPED)
    relayed = Enricher.output_schema(action) if enriched else None
    return portable(relayed) if relayed is not None else None


WRAPPED = {"required": ["result"], "x-fastmcp-wrap-result": True}


def tool_annotations(tool: McpTool) -> dict[str, bool]:
    h = tool.hints
    out: dict[str, bool] = {}
    for key, value in (
        ("read_only_hint", h.read_only),
        ("destructive_hint", h.destructive),
        ("idempotent_hint", h.idempotent),
        ("open_world_hint", h.open_world),
    ):
        if value is not None:
            out[key] = value
    return out
