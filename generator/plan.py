"""Typed model → resolved plan: everything the templates need, nothing left to decide there."""

from __future__ import annotations

import ast
import ipaddress
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from generator import mustache
from generator.diagnostics import Pos, Report
from generator.jsonpath import JsonPathError, Step, compile_path
from generator.model import (
    Auth,
    Bind,
    Callable,
    Capability,
    ConsumedOperation,
    ConsumedParam,
    ConsumedResource,
    Consumes,
    ExposedParam,
    McpAdapter,
    McpTool,
    OutputParam,
    RestAdapter,
    RestOperation,
    RestResource,
)
from generator.naming import Names, env_name, snake
from generator.pyliteral import (
    EACH,
    ArgRef,
    Code,
    EnvRef,
    SecretRef,
    TextTemplate,
    call,
    py,
)
from generator.suggest import did_you_mean

CALLER_PREFIXES = ("rest", "tools", "mcp")
# Characters a URL path may carry as they are; '%' too, so spec paths already encoded stay so.
PATH_SAFE = "/:@!$&'()*+,;=-._~%"
PARSEABLE_FORMATS = ("json", "xml", "csv", "tsv", "psv", "yaml")
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


# -- the plan ------------------------------------------------------------------------------


@dataclass
class PlannedInput:
    name: str
    type: str
    required: bool
    location: str  # path | query | header | cookie | body | argument
    description: str | None = None
    pattern: str | None = None
    body_path: tuple[Any, ...] | None = None
    key: str = ""  # aiohttp route variable for path inputs

    def runtime(self) -> str:
        kwargs: dict[str, Any] = {
            "type": self.type,
            "required": self.required,
            "location": self.location,
        }
        if self.pattern is not None:
            kwargs["pattern"] = self.pattern
        if self.body_path is not None:
            kwargs["body_path"] = self.body_path
        if self.key and self.key != self.name:
            kwargs["key"] = self.key
        return call("rt.Input", self.name, **kwargs).source

    def schema(self) -> dict[str, Any]:
        s: dict[str, Any] = {"type": self.type}
        if self.description:
            s["description"] = self.description
        if self.pattern:
            s["pattern"] = self.pattern
        return s


@dataclass
class PlannedAction:
    func: str  # the Python name of the action constant
    inputs: list[PlannedInput]
    operation_key: str | None  # "namespace.operation"; None for mocks
    args: dict[str, Any]  # consumed name → template over inputs
    output_func: str | None
    output_expr: str | None  # Python expression over `data` and `inputs`
    output_format: str = "json"
    accepts_body: bool = False

    def runtime(self) -> str:
        op = Code(f"upstream.OPERATIONS[{self.operation_key!r}]") if self.operation_key else None
        out = Code(self.output_func) if self.output_func else None
        return call("rt.Action", operation=op, args=self.args, output=out).source


@dataclass
class PlannedRoute:
    method: str
    path: str  # aiohttp pattern
    spec_path: str
    name: str | None
    action: PlannedAction


@dataclass
class PlannedRestServer:
    module: str
    namespace: str
    host: str
    port: int
    routes: list[PlannedRoute]
    auth: str | None  # rt.InboundAuth(...) source
    secrets: list[str]  # secret source names this server needs
    openapi_file: str
    openapi: dict[str, Any]
    description: str | None


@dataclass
class PlannedTool:
    name: str
    title: str | None
    description: str | None
    schema: dict[str, Any]
    annotations: dict[str, bool]
    action: PlannedAction


@dataclass
class PlannedMcpServer:
    module: str
    namespace: str
    transport: str
    host: str
    port: int | None
    instructions: str | None
    tools: list[PlannedTool]
    auth: str | None
    secrets: list[str]
    version: str = "1.0.0"


@dataclass
class Plan:
    package: str
    spec: str  # display path of the spec, for the DO NOT EDIT line
    label: str | None
    description: str | None
    secret_sources: dict[str, str]  # name → rt.SecretSource(...) source
    upstream_secrets: list[str]
    upstreams: dict[str, str]  # namespace → rt.Upstream(...) source
    operations: dict[str, str]  # "ns.op" → rt.Operation(...) source
    rest: list[PlannedRestServer] = field(default_factory=list)
    mcp: list[PlannedMcpServer] = field(default_factory=list)


# -- secrets and template variables ----------------------------------------------------------


class Secrets:
    """Resolves `{{VAR}}`, `{{bindNamespace.VAR}}` and `{{env.VAR}}` through binds."""

    def __init__(self, binds: list[Bind], package_dir: Path, report: Report) -> None:
        self.binds = binds
        self.package_dir = package_dir
        self.report = report
        self.sources: dict[str, str] = {}
        self.by_var: dict[str, Bind] = {}
        for b in binds:
            for var in b.keys:
                self.by_var.setdefault(var, b)

    def lookup(self, name: str, pos: Pos) -> SecretRef | EnvRef | None:
        bind: Bind | None = None
        var = name
        ns, dot, rest = name.partition(".")
        if dot:
            bind = next((b for b in self.binds if b.namespace == ns and rest in b.keys), None)
            var = rest
            if bind is None and ns == "env" and not any(b.namespace == "env" for b in self.binds):
                self.report.warning(
                    "naftiko-env-without-bind",
                    f"'{{{{{name}}}}}' reads environment variable {rest} directly; "
                    "declare it in 'binds' to document it",
                    pos,
                )
                return EnvRef(rest)
        else:
            bind = self.by_var.get(name)
        if bind is None:
            return None
        secret_name = f"{bind.namespace}.{var}"
        if secret_name not in self.sources:
            file_rel = None
            if bind.location_path is not None:
                file_rel = Path(
                    os.path.relpath(bind.location_path.resolve(), self.package_dir.resolve())
                ).as_posix()
            self.sources[secret_name] = call(
                "rt.SecretSource", secret_name, bind.namespace, bind.keys[var], file_rel
            ).source
        return SecretRef(secret_name)


def _strip_caller_prefix(name: str, exposed_ns: set[str]) -> str:
    head, dot, rest = name.partition(".")
    if dot and (head in CALLER_PREFIXES or head in exposed_ns):
        return rest
    return name


# -- planning ----------------------------------------------------------------------------------


@dataclass
class ConsumedOp:
    consumes: Consumes
    resource: ConsumedResource
    op: ConsumedOperation

    @property
    def key(self) -> str:
        return f"{self.consumes.namespace}.{self.op.name}"

    def all_params(self) -> list[ConsumedParam]:
        return self.consumes.params + self.resource.params + self.op.params

    def path_vars(self) -> list[str]:
        return mustache.path_vars(self.resource.path)


class Planner:
    def __init__(self, cap: Capability, package: str, package_dir: Path, report: Report) -> None:
        self.cap = cap
        self.package = package
        self.report = report
        self.secrets = Secrets(cap.binds, package_dir, report)
        self.exposed_ns = {a.namespace for a in cap.rest} | {a.namespace for a in cap.mcp}
        self.ops: dict[str, ConsumedOp] = {}
        for c in cap.consumes:
            for r in c.resources:
                for o in r.operations:
                    self.ops.setdefault(f"{c.namespace}.{o.name}", ConsumedOp(c, r, o))
        self.used_ops: set[str] = set()
        self.module_names = Names(("__init__", "_runtime", "upstream"))

    def error(self, rule: str, message: str, pos: Pos) -> None:
        self.report.error(rule, message, pos)

    # templates on the consumes side: variables are caller arguments or secrets

    def consumed_template(self, value: Any, pos: Pos) -> Any:
        if isinstance(value, str):
            parts = mustache.parse(value)
            if not any(isinstance(p, mustache.Var) for p in parts):
                return value
            out: list[Any] = []
            for p in parts:
                if isinstance(p, mustache.Var):
                    out.append(self.consumed_var(p.name, pos))
                else:
                    out.append(p)
            if (
                len(out) == 1
                and not isinstance(out[0], str)
                and not isinstance(value, QuotedTemplate)
            ):
                return out[0]
            return TextTemplate(tuple(out))
        if isinstance(value, dict):
            return {str(k): self.consumed_template(v, pos) for k, v in value.items()}
        if isinstance(value, list):
            return [self.consumed_template(v, pos) for v in value]
        return value

    def consumed_var(self, name: str, pos: Pos) -> Any:
        secret = self.secrets.lookup(name, pos)
        if secret is not None:
            return secret
        return ArgRef(_strip_caller_prefix(name, self.exposed_ns))

    def secret_template(self, value: str | None, pos: Pos, what: str) -> Any:
        """Auth values: every variable must be a secret (never a caller argument)."""
        if value is None:
            return None
        parts = mustache.parse(value)
        out: list[Any] = []
        for p in parts:
            if isinstance(p, mustache.Var):
                ref = self.secrets.lookup(p.name, pos)
                if ref is None:
                    self.error(
                        "naftiko-secret-unresolved",
                        f"{what} uses '{{{{{p.name}}}}}', which no bind declares; add it to 'binds' "
                        "(keys: {VAR: ENV_VAR_NAME})",
                        pos,
                    )
                    return None
                out.append(ref)
            else:
                out.append(p)
        if not any(not isinstance(p, str) for p in out) and value:
            self.report.warning(
                "naftiko-literal-secret",
                f"{what} is a literal string in the spec; reference a bind ('{{{{VAR}}}}') "
                "so the secret is not committed",
                pos,
            )
        if len(out) == 1:
            return out[0]
        return TextTemplate(tuple(out))

    # consumes → upstream tables

    def upstream(self, c: Consumes) -> str:
        kwargs: dict[str, Any] = {}
        if c.auth is not None:
            kwargs["auth"] = self.upstream_auth(c.auth)
        params = [self.runtime_param(p) for p in c.params if p.location not in ("path", "body")]
        if params:
            kwargs["params"] = tuple(params)
        return call(
            "rt.Upstream",
            c.namespace,
            _encode_base_uri(c.base_uri.rstrip("/")),
            env_name(c.namespace) + "_BASE_URL",
            env_name(c.namespace) + "_TIMEOUT",
            **kwargs,
        ).source

    def upstream_auth(self, a: Auth) -> Code:
        if a.kind == "bearer":
            return call(
                "rt.Auth",
                "bearer",
                token=self.secret_template(
                    a.token, a.positions.get("token", a.pos), "the bearer token"
                ),
            )
        if a.kind in ("basic", "digest"):
            return call(
                "rt.Auth",
                a.kind,
                username=self.secret_template(
                    a.username, a.positions.get("username", a.pos), "the username"
                ),
                password=self.secret_template(
                    a.password, a.positions.get("password", a.pos), "the password"
                ),
            )
        return call(
            "rt.Auth",
            "apikey",
            key=a.key or "",
            value=self.secret_template(a.value, a.positions.get("value", a.pos), "the api key"),
            placement=a.placement,
        )

    def inbound_auth(self, a: Auth | None) -> str | None:
        if a is None:
            return None
        if a.kind == "bearer":
            return call(
                "rt.InboundAuth",
                "bearer",
                secret=self.secret_template(a.token, a.positions.get("token", a.pos), "the token"),
            ).source
        if a.kind == "apikey":
            return call(
                "rt.InboundAuth",
                "apikey",
                secret=self.secret_template(
                    a.value, a.positions.get("value", a.pos), "the api key"
                ),
                key=a.key or "",
                placement=a.placement,
            ).source
        if a.kind == "basic":
            return call(
                "rt.InboundAuth",
                "basic",
                secret=self.secret_template(
                    a.password, a.positions.get("password", a.pos), "the password"
                ),
                username=self.secret_template(
                    a.username, a.positions.get("username", a.pos), "the username"
                ),
            ).source
        self.error(
            "naftiko-unsupported-auth",
            f"'{a.kind}' authentication of callers is not supported; use bearer, apikey or basic",
            a.pos,
        )
        return None

    def runtime_param(self, p: ConsumedParam) -> Code:
        kwargs: dict[str, Any] = {}
        if p.value is not None:
            kwargs["value"] = self.consumed_template(p.value, p.pos)
        if p.required and p.value is None:
            kwargs["required"] = True
        return call("rt.Param", p.name, p.location, **kwargs)

    def operation(self, co: ConsumedOp) -> str:
        path_parts: list[Any] = []
        for part in mustache.parse_path(co.resource.path):
            if isinstance(part, str) and ("{" in part or "}" in part):
                self.error(
                    "naftiko-consumed-path",
                    f"consumed path '{co.resource.path}' has a brace that is not a {{name}} placeholder",
                    co.resource.path_pos,
                )
                continue
            fixed = next(
                (
                    p
                    for p in co.all_params()
                    if isinstance(part, mustache.Var)
                    and p.location == "path"
                    and p.name == _strip_caller_prefix(part.name, self.exposed_ns)
                    and p.value is not None
                ),
                None,
            )
            if fixed is not None:
                path_parts.append(self.consumed_template(fixed.value, fixed.pos))
                continue
            if isinstance(part, mustache.Var):
                ref = self.consumed_var(part.name, co.resource.path_pos)
                if not isinstance(ref, ArgRef):
                    self.error(
                        "naftiko-path-secret",
                        f"path placeholder '{part.name}' names a secret; secrets never go in URLs",
                        co.resource.path_pos,
                    )
                    continue
                path_parts.append(ref)
            else:
                path_parts.append(quote(part, safe=PATH_SAFE))
        params = [
            self.runtime_param(p)
            for p in co.resource.params + co.op.params
            if p.location not in ("path", "body")
        ]
        kwargs: dict[str, Any] = {}
        if params:
            kwargs["params"] = tuple(params)
        body = self.body(co)
        if body is not None:
            kwargs["body"] = body
        if co.op.output_format != "json":
            kwargs["output_format"] = co.op.output_format
        return call(
            "rt.Operation",
            co.consumes.namespace,
            co.op.name,
            co.op.method,
            tuple(path_parts),
            **kwargs,
        ).source

    def body(self, co: ConsumedOp) -> Code | None:
        spec = co.op.body
        if spec is not None:
            if co.op.method == "GET":
                self.report.warning(
                    "naftiko-get-with-body",
                    "a GET operation never sends a body; 'body' is ignored",
                    spec.pos,
                )
                return None
            return self.body_template(spec.kind, spec.data, spec.pos)
        body_params = [p for p in co.all_params() if p.location == "body"]
        if not body_params or co.op.method == "GET":
            return None
        if len(body_params) == 1 and body_params[0].name == "body":
            return call("rt.Body", "params", whole="body")
        return call("rt.Body", "params", params=tuple(p.name for p in body_params))

    def body_template(self, kind: str, data: Any, pos: Pos) -> Code | None:
        if kind == "raw":
            structure = parse_json_template(data) if isinstance(data, str) else None
            if structure is None:
                self.error(
                    "naftiko-body-template",
                    "the body template is not JSON once its '{{placeholders}}' are filled; "
                    "write it as {type: json, data: {...}} or {type: text, data: '...'}",
                    pos,
                )
                return None
            return call("rt.Body", "json", template=self.consumed_template(structure, pos))
        if kind == "json":
            if data is None:
                self.error("naftiko-body-template", "a json body needs 'data'", pos)
                return None
            if isinstance(data, str):
                structure = parse_json_template(data)
                if structure is None:
                    self.error("naftiko-body-template", "json body 'data' string is not JSON", pos)
                    return None
                data = structure
            return call("rt.Body", "json", template=self.consumed_template(data, pos))
        if kind in ("text", "xml", "sparql"):
            if not isinstance(data, str):
                self.error("naftiko-body-template", f"a {kind} body needs 'data' as a string", pos)
                return None
            return call("rt.Body", kind, template=self.consumed_template(data, pos))
        if kind == "formUrlEncoded":
            pairs: list[tuple[str, Any]] = []
            if isinstance(data, dict):
                pairs = [(str(k), v) for k, v in data.items()]
            elif isinstance(data, str):
                for chunk in data.split("&"):
                    if chunk:
                        k, _, v = chunk.partition("=")
                        pairs.append((k, v))
            else:
                self.error(
                    "naftiko-body-template", "formUrlEncoded 'data' must be a map or a string", pos
                )
                return None
            return call(
                "rt.Body",
                "form",
                template=tuple((k, self.consumed_template(v, pos)) for k, v in pairs),
            )
        if kind == "multipartForm":
            if not isinstance(data, list) or not all(
                isinstance(p, dict) and "name" in p for p in data
            ):
                self.error(
                    "naftiko-body-template",
                    "multipartForm 'data' must be a list of {name, value}",
                    pos,
                )
                return None
            return call("rt.Body", "multipart", template=self.consumed_template(data, pos))
        self.error("naftiko-body-template", f"body type '{kind}' is not supported", pos)
        return None

    # exposed side: inputs, wiring, outputs

    def resolve_call(self, target: Callable, kind: str) -> ConsumedOp | None:
        if target.call is None:
            return None
        key = f"{target.call.namespace}.{target.call.operation}"
        co = self.ops.get(key)
        if co is None and (key in self.cap.broken or target.call.namespace in self.cap.broken):
            return None  # the broken operation or adapter was reported where it stands
        if co is None:
            known = sorted(self.ops)
            hint = did_you_mean(key, known)
            if not hint and not any(
                c.namespace == target.call.namespace for c in self.cap.consumes
            ):
                hint = did_you_mean(target.call.namespace, [c.namespace for c in self.cap.consumes])
            if not hint:
                hint = f"; known operations: {', '.join(known[:8])}" if known else ""
            if not any(c.namespace == target.call.namespace for c in self.cap.consumes):
                self.error(
                    "naftiko-call-resolves",
                    f"{kind} calls '{key}', but no consumes adapter has namespace "
                    f"'{target.call.namespace}'{hint}",
                    target.call.pos,
                )
            else:
                self.error(
                    "naftiko-call-resolves",
                    f"{kind} calls '{key}', but consumes '{target.call.namespace}' has no operation "
                    f"'{target.call.operation}'{hint}",
                    target.call.pos,
                )
            return None
        self.used_ops.add(key)
        return co

    def wire(
        self,
        target: Callable,
        co: ConsumedOp | None,
        inputs: list[PlannedInput],
        adapter_ns: str,
        rest_path_vars: list[str] | None,
    ) -> dict[str, Any] | None:
        """Consumed parameter name → template over the caller's inputs. Adds synthesized inputs."""
        by_name = {i.name: i for i in inputs}
        by_lower: dict[str, PlannedInput] = {}
        for i in inputs:
            by_lower.setdefault(i.name.lower(), i)
        args: dict[str, Any] = {}
        prefixes = set(CALLER_PREFIXES) | {adapter_ns}
        consumed_params = {p.name: p for p in co.all_params()} if co else {}

        def ensure_input(
            name: str, hint: ConsumedParam | None, pos: Pos, path: bool = False
        ) -> PlannedInput:
            found = by_name.get(name)
            if found is not None:
                return found
            typ = (hint.type if hint and hint.type else None) or (
                "object"
                if name == "body" and (hint is None or hint.location == "body")
                else "string"
            )
            if rest_path_vars is None:
                required = path or bool(hint and hint.required)
                new = PlannedInput(
                    name, typ, required, "argument", hint.description if hint else None
                )
            else:
                if path:
                    location = "path"
                elif name == "body" and (hint is None or hint.location == "body"):
                    location = "body"
                elif hint is not None and hint.location in ("query", "header", "cookie"):
                    location = hint.location
                elif hint is not None and hint.location == "body":
                    location = "body"
                else:
                    location = "query"
                body_path = (name,) if location == "body" and name != "body" else None
                new = PlannedInput(
                    name,
                    typ,
                    path or bool(hint and hint.required),
                    location,
                    hint.description if hint else None,
                    body_path=body_path,
                )
            inputs.append(new)
            by_name[name] = new
            by_lower.setdefault(name.lower(), new)
            return new

        with_keys = {wv.key for wv in target.with_values}
        if co is not None:
            self.wire_path(
                target, co, args, with_keys, by_name, by_lower, ensure_input, rest_path_vars
            )
        for wv in target.with_values:
            args[wv.key] = self.with_value(
                wv.value, wv.pos, prefixes, ensure_input, consumed_params.get(wv.key)
            )
        if co is None:
            return args
        # Other consumed parameters the spec does not fix: the caller supplies them by name.
        for p in co.all_params():
            if p.location in ("path", "environment") or p.value is not None or p.name in args:
                continue
            if p.location == "body" and co.op.method == "GET":
                continue
            args[p.name] = ArgRef(ensure_input(p.name, p, p.pos).name)
        # Variables of templates (body, fixed parameter values) that are neither secrets, nor
        # environment parameters, nor set by `with`: the caller supplies them by name.
        templates: list[tuple[Any, Pos]] = [
            (p.value, p.pos) for p in co.all_params() if p.value is not None
        ]
        if co.op.body is not None:
            templates.append((co.op.body.data, co.op.body.pos))
        environment = {p.name for p in co.all_params() if p.location == "environment"}
        for data, pos in templates:
            for var in sorted(_template_vars(data)):
                name = _strip_caller_prefix(var, self.exposed_ns)
                if name in args or name in environment or self.secrets.lookup(var, pos) is not None:
                    continue
                args[name] = ArgRef(ensure_input(name, consumed_params.get(name), pos).name)
        return args

    def wire_path(
        self,
        target: Callable,
        co: ConsumedOp,
        args: dict[str, Any],
        with_keys: set[str],
        by_name: dict[str, PlannedInput],
        by_lower: dict[str, PlannedInput],
        ensure_input: Any,
        rest_path_vars: list[str] | None,
    ) -> None:
        """Consumed path variables: from `with`, a same-named input (any case), else by position."""
        consumed_params = {p.name: p for p in co.all_params()}
        path_vars = co.path_vars()
        unmatched_exposed = [v for v in (rest_path_vars or [])]
        pending: list[str] = []
        for var in path_vars:
            name = _strip_caller_prefix(var, self.exposed_ns)
            fixed = consumed_params.get(name)
            if name in with_keys or (fixed is not None and fixed.value is not None):
                continue
            found = by_name.get(name) or by_lower.get(name.lower())
            if found is not None:
                if found.description is None and fixed is not None:
                    found.description = fixed.description
                args[name] = ArgRef(found.name)
                if found.name in unmatched_exposed:
                    unmatched_exposed.remove(found.name)
            else:
                pending.append(name)
        for name in pending:
            if rest_path_vars is not None:
                if unmatched_exposed:
                    exposed = unmatched_exposed.pop(0)
                    found = by_name.get(exposed)
                    hint = consumed_params.get(name)
                    if found is not None and found.description is None and hint is not None:
                        found.description = hint.description
                    args[name] = ArgRef(exposed)
                    continue
                self.error(
                    "naftiko-path-param-unfilled",
                    f"consumed path '{co.resource.path}' needs '{name}', but the exposed path has no "
                    f"matching placeholder and 'with' does not set it; add 'with: {{{name}: ...}}' or "
                    "a path placeholder",
                    target.pos,
                )
                continue
            args[name] = ArgRef(
                ensure_input(name, consumed_params.get(name), target.pos, path=True).name
            )

    def with_value(
        self,
        value: Any,
        pos: Pos,
        prefixes: set[str],
        ensure_input: Any,
        hint: ConsumedParam | None,
    ) -> Any:
        if isinstance(value, str):
            head, dot, rest = value.partition(".")
            if dot and head in prefixes and re.fullmatch(r"[A-Za-z0-9_\-\[\]]+", rest):
                return ArgRef(ensure_input(rest, hint, pos).name)
            parts = mustache.parse(value)
            if not any(isinstance(p, mustache.Var) for p in parts):
                return value
            out: list[Any] = []
            for p in parts:
                if not isinstance(p, mustache.Var):
                    out.append(p)
                    continue
                h, d, r = p.name.partition(".")
                if d and h in prefixes:
                    out.append(ArgRef(ensure_input(r, hint, pos).name))
                    continue
                secret = self.secrets.lookup(p.name, pos)
                if secret is not None:
                    out.append(secret)
                else:
                    out.append(ArgRef(ensure_input(p.name, hint, pos).name))
            if len(out) == 1 and not isinstance(out[0], str):
                return out[0]
            return TextTemplate(tuple(out))
        if isinstance(value, dict):
            return {
                str(k): self.with_value(v, pos, prefixes, ensure_input, None)
                for k, v in value.items()
            }
        if isinstance(value, list):
            return [self.with_value(v, pos, prefixes, ensure_input, None) for v in value]
        return value

    def exposed_inputs(self, params: list[ExposedParam], rest: bool) -> list[PlannedInput]:
        out: list[PlannedInput] = []
        seen: set[str] = set()
        for p in params:
            if p.name in seen:
                self.error(
                    "naftiko-input-names-unique",
                    f"input parameter '{p.name}' is declared twice; remove one",
                    p.pos,
                )
                continue
            seen.add(p.name)
            if p.pattern is not None:
                try:
                    re.compile(p.pattern)
                except (re.error, RecursionError, OverflowError):
                    self.error(
                        "naftiko-pattern",
                        f"pattern '{p.pattern}' of '{p.name}' is not a valid regular expression",
                        p.pos,
                    )
                    continue
            if rest:
                loc = p.location or "query"
                body_path = None
                if loc == "body":
                    if isinstance(p.value, str) and p.value.startswith("$"):
                        try:
                            body_path = steps_literal(compile_path(p.value))
                        except JsonPathError as exc:
                            self.error(
                                "naftiko-jsonpath", f"{exc}; use $.field.sub or $.list[0]", p.pos
                            )
                            body_path = (p.name,)
                    else:
                        body_path = (p.name,) if p.name != "body" else None
                required = loc == "path" or bool(p.required)
            else:
                loc = "argument"
                body_path = None
                required = p.required is not False
            out.append(
                PlannedInput(p.name, p.type, required, loc, p.description, p.pattern, body_path)
            )
        return out

    def action(
        self,
        target: Callable,
        func: str,
        out_func: str,
        inputs: list[PlannedInput],
        adapter_ns: str,
        rest_path_vars: list[str] | None,
        kind: str,
    ) -> PlannedAction | None:
        if target.unsupported:
            return None
        co = self.resolve_call(target, kind)
        if target.call is not None and co is None:
            return None
        if target.call is None and not _has_values(target.outputs):
            self.error(
                "naftiko-nothing-to-do",
                f"{kind} has no 'call' and no outputParameters with 'value'; add a 'call: namespace.operation'",
                target.pos,
            )
            return None
        args = self.wire(target, co, inputs, adapter_ns, rest_path_vars)
        if args is None:
            return None
        fmt = co.op.output_format if co else "json"
        mapping = OutputCompiler(self, fmt, mock=co is None).compile(target.outputs, target.pos)
        if mapping is False:
            return None
        accepts_body = any(i.location == "body" for i in inputs)
        return PlannedAction(
            func=func,
            inputs=inputs,
            operation_key=co.key if co else None,
            args=args,
            output_func=out_func if mapping is not None else None,
            output_expr=mapping if isinstance(mapping, str) else None,
            output_format=fmt,
            accepts_body=accepts_body,
        )

    # adapters

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

    def rest_server(self, adapter: RestAdapter, first: bool) -> PlannedRestServer | None:
        module = self.module_names.take(
            "rest_server" if first else f"rest_server_{snake(adapter.namespace)}"
        )
        names = Names(("create_app", "main", "ROUTES", "ACTIONS"))
        routes: list[PlannedRoute] = []
        seen: dict[tuple[str, str], Pos] = {}
        for res in adapter.resources:
            pattern, path_vars = self.aiohttp_path(res)
            if pattern is None:
                continue
            for op in res.operations:
                route_key = (op.method, pattern.lower())
                if route_key in seen:
                    self.error(
                        "naftiko-rest-route-unique",
                        f"{op.method} {res.path} is declared twice (first at line {seen[route_key].line}); "
                        "remove or rename one",
                        op.pos,
                    )
                    continue
                seen[route_key] = op.pos
                base = snake(op.name or f"{op.method}_{res.name or res.path}")
                func = names.take("op_" + base)
                inputs = self.rest_inputs(res, op, path_vars)
                action = self.action(
                    op,
                    func,
                    names.take("_out_" + base),
                    inputs,
                    adapter.namespace,
                    path_vars,
                    f"operation {op.method} {res.path}",
                )
                if action is None:
                    continue
                routes.append(PlannedRoute(op.method, pattern, res.path, op.name, action))
        auth = self.inbound_auth(adapter.auth)
        server = PlannedRestServer(
            module=module,
            namespace=adapter.namespace,
            host=self.host(adapter.address, adapter.positions.get("address", adapter.pos)),
            port=adapter.port,
            routes=routes,
            auth=auth,
            secrets=[],
            openapi_file="openapi.json" if first else f"openapi_{snake(adapter.namespace)}.json",
            openapi={},
            description=adapter.description,
        )
        server.openapi = openapi_document(self.cap, adapter, server)
        return server

    def aiohttp_path(self, res: RestResource) -> tuple[str | None, list[str]]:
        parts = mustache.parse_path(res.path)
        out: list[str] = []
        names: list[str] = []
        for i, p in enumerate(parts):
            if isinstance(p, mustache.Var):
                names.append(p.name)
                out.append("{" + (p.name if _IDENT.match(p.name) else f"p{i}") + "}")
            else:
                if "{" in p or "}" in p:
                    self.error(
                        "naftiko-rest-path",
                        f"path '{res.path}' has a brace that is not a {{name}} placeholder "
                        "(names are letters, digits, '_', '.' and '-')",
                        res.pos,
                    )
                    return None, []
                if quote(p, safe=PATH_SAFE) != p:
                    self.error(
                        "naftiko-rest-path",
                        f"path '{res.path}' has characters that need percent-encoding (spaces, "
                        "non-ASCII); use ASCII letters, digits and - . _ ~",
                        res.pos,
                    )
                    return None, []
                out.append(p)
        path = "".join(out)
        if not path.startswith("/"):
            self.report.warning(
                "naftiko-rest-path", f"path '{res.path}' should start with '/'", res.pos
            )
            path = "/" + path
        return path, names

    def rest_inputs(
        self, res: RestResource, op: RestOperation, path_vars: list[str]
    ) -> list[PlannedInput]:
        inputs = self.exposed_inputs(res.params + op.params, rest=True)
        declared = {i.name for i in inputs}
        parts = mustache.parse_path(res.path)
        keys = {
            p.name: (p.name if _IDENT.match(p.name) else f"p{i}")
            for i, p in enumerate(parts)
            if isinstance(p, mustache.Var)
        }
        for var in path_vars:
            if var not in declared:
                inputs.append(PlannedInput(var, "string", True, "path"))
        for i in inputs:
            if i.location == "path":
                if i.name not in keys:
                    self.error(
                        "naftiko-rest-path-param",
                        f"input '{i.name}' is 'in: path' but '{res.path}' has no '{{{i.name}}}' placeholder",
                        op.pos,
                    )
                i.key = keys.get(i.name, i.name)
                i.required = True
        return inputs

    def mcp_server(self, adapter: McpAdapter, first: bool) -> PlannedMcpServer:
        module = self.module_names.take(
            "mcp_server" if first else f"mcp_server_{snake(adapter.namespace)}"
        )
        names = Names(("create_app", "main", "TOOLS", "ACTIONS", "build_server"))
        tools: list[PlannedTool] = []
        seen: dict[str, Pos] = {}
        for tool in adapter.tools:
            assert tool.name is not None
            if tool.name in seen:
                self.error(
                    "naftiko-mcp-tool-name-unique",
                    f"tool name '{tool.name}' is used twice (first at line {seen[tool.name].line}); rename one",
                    tool.pos,
                )
                continue
            seen[tool.name] = tool.pos
            base = snake(tool.name)
            inputs = self.exposed_inputs(tool.params, rest=False)
            action = self.action(
                tool,
                names.take("tool_" + base),
                names.take("_out_" + base),
                inputs,
                adapter.namespace,
                None,
                f"tool '{tool.name}'",
            )
            if action is None:
                continue
            tools.append(
                PlannedTool(
                    name=tool.name,
                    title=tool.label,
                    description=tool.description,
                    schema=input_schema(action.inputs),
                    annotations=tool_annotations(tool),
                    action=action,
                )
            )
        return PlannedMcpServer(
            module=module,
            namespace=adapter.namespace,
            transport=adapter.transport,
            host=self.host(adapter.address, adapter.positions.get("address", adapter.pos)),
            port=adapter.port,
            instructions=adapter.description,
            tools=tools,
            auth=self.inbound_auth(adapter.auth),
            secrets=[],
        )

    def plan(self, spec_display: str) -> Plan:
        rest = [self.rest_server(a, i == 0) for i, a in enumerate(self.cap.rest)]
        rest_servers = [r for r in rest if r is not None]
        mcp = [self.mcp_server(a, i == 0) for i, a in enumerate(self.cap.mcp)]
        upstreams = {c.namespace: self.upstream(c) for c in self.cap.consumes if self._used(c)}
        operations = {key: self.operation(self.ops[key]) for key in sorted(self.used_ops)}
        for server in rest_servers:
            server.secrets = _secret_names(
                server.auth, *(r.action.runtime() for r in server.routes)
            )
        for m in mcp:
            m.secrets = _secret_names(m.auth, *(t.action.runtime() for t in m.tools))
        upstream_secrets = _secret_names(*upstreams.values(), *operations.values())
        return Plan(
            package=self.package,
            spec=spec_display,
            label=self.cap.label,
            description=self.cap.description,
            secret_sources=dict(sorted(self.secrets.sources.items())),
            upstream_secrets=upstream_secrets,
            upstreams=upstreams,
            operations=operations,
            rest=rest_servers,
            mcp=mcp,
        )

    def _used(self, c: Consumes) -> bool:
        return any(self.ops[key].consumes is c for key in self.used_ops)


def _encode_base_uri(uri: str) -> str:
    scheme, sep, rest = uri.partition("://")
    host, slash, path = rest.partition("/")
    return scheme + sep + host + (slash + quote(path, safe=PATH_SAFE) if slash else "")


def _has_values(outputs: list[OutputParam]) -> bool:
    return any(
        o.value is not None
        or _has_values(list(o.properties.values()))
        or (o.items is not None and _has_values([o.items]))
        for o in outputs
    )


def _secret_names(*sources: str | None) -> list[str]:
    """The secrets generated expressions refer to, read back with ast (never a regex on repr)."""
    names: set[str] = set()
    for source in sources:
        if not source or "rt.Secret(" not in source:
            continue
        for node in ast.walk(ast.parse(source, mode="eval")):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "Secret"
            ):
                names.add(ast.literal_eval(node.args[0]))
    return sorted(names)


def _template_vars(data: Any) -> set[str]:
    if isinstance(data, str):
        return {p.name for p in mustache.parse(data) if isinstance(p, mustache.Var)}
    if isinstance(data, dict):
        return set().union(*(_template_vars(v) for v in data.values())) if data else set()
    if isinstance(data, list):
        return set().union(*(_template_vars(v) for v in data)) if data else set()
    return set()


_PLACEHOLDER = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")


class QuotedTemplate(str):
    """A JSON string with placeholders: always rendered as text, never as the raw value."""


def parse_json_template(text: str) -> Any:
    """Parse a JSON text with `{{x}}` placeholders into a structure, or None if it is not JSON.

    A placeholder standing alone as a JSON value (`"ids": {{ids}}`) becomes that value as is;
    inside a string it is interpolated as text. Either way the result is built structurally.
    """
    marks: dict[str, str] = {}

    def mark(m: re.Match[str]) -> str:
        token = f"__naftiko_{len(marks)}__"
        marks[token] = m.group(1)
        return token

    replaced = _PLACEHOLDER.sub(mark, text)
    # Bare placeholders (not inside quotes) become quoted sentinel strings for the JSON parser.
    out: list[str] = []
    in_string = False
    i = 0
    while i < len(replaced):
        ch = replaced[i]
        if in_string and ch == "\\":
            out.append(replaced[i : i + 2])
            i += 2
            continue
        if ch == '"':
            in_string = not in_string
        if not in_string and replaced.startswith("__naftiko_", i):
            end = replaced.index("__", i + len("__naftiko_")) + 2
            out.append('"\\u0000' + replaced[i:end] + '"')
            i = end
            continue
        out.append(ch)
        i += 1
    try:
        data = json.loads("".join(out))
    except ValueError:
        return None

    def back(value: Any) -> Any:
        if isinstance(value, str):
            if value.startswith("\u0000"):
                return "{{" + marks[value[1:]] + "}}" if value[1:] in marks else value
            # Inside quotes a placeholder is text, even when it stands alone.
            for token, name in marks.items():
                value = value.replace(token, "{{" + name + "}}")
            return QuotedTemplate(value)
        if isinstance(value, dict):
            return {k: back(v) for k, v in value.items()}
        if isinstance(value, list):
            return [back(v) for v in value]
        return value

    return back(data)


def steps_literal(steps: tuple[Step, ...]) -> tuple[Any, ...]:
    out: list[Any] = []
    for s in steps:
        if s.kind == "each":
            out.append(EACH)
        else:
            out.append(s.value)
    return tuple(out)


class OutputCompiler:
    """outputParameters → a Python expression over `data` (upstream JSON) and `inputs`."""

    def __init__(self, planner: Planner, fmt: str, mock: bool) -> None:
        self.planner = planner
        self.fmt = fmt
        self.mock = mock

    def compile(self, outputs: list[OutputParam], pos: Pos) -> str | None | bool:
        """A Python expression; None to relay the upstream body as is; False on error."""
        if not outputs:
            return None
        if len(outputs) == 1 and outputs[0].name is None:
            only = outputs[0]
            if self.is_passthrough(only):
                return None
            return self.expr(only, "data")
        fields: dict[str, str] = {}
        for o in outputs:
            if o.name is None:
                self.planner.error(
                    "naftiko-output-name",
                    "with several outputParameters each needs a 'name' (the key in the result)",
                    o.pos,
                )
                return False
            if o.name in fields:
                self.planner.error(
                    "naftiko-output-name", f"output '{o.name}' is declared twice", o.pos
                )
                return False
            fields[o.name] = self.expr(o, "data")
        return "{" + ", ".join(f"{py(k)}: {v}" for k, v in fields.items()) + "}"

    def is_passthrough(self, o: OutputParam) -> bool:
        return (
            o.value is None
            and not o.properties
            and o.items is None
            and (o.mapping is None or o.mapping.strip() in ("$", "$."))
            and not self.mock
            # xml, csv, yaml … mapped at the root still become JSON
            and (self.fmt == "json" or self.fmt not in PARSEABLE_FORMATS)
        )

    def steps(self, o: OutputParam) -> tuple[Any, ...]:
        if o.mapping is None:
            return ()
        try:
            steps = compile_path(o.mapping)
        except JsonPathError as exc:
            self.planner.error(
                "naftiko-jsonpath", f"{exc}; naftiko-gen supports $.a.b, $[0], $.a[*].b", o.pos
            )
            return ()
        if steps and self.fmt not in PARSEABLE_FORMATS:
            self.planner.error(
                "naftiko-output-format",
                f"outputRawFormat '{self.fmt}' cannot be mapped with JSONPath; remove the mapping to pass "
                "the body through",
                o.pos,
            )
        return steps_literal(steps)

    def select(self, o: OutputParam, var: str) -> str:
        steps = self.steps(o)
        return var if not steps else f"rt.select({var}, {py(steps)})"

    def expr(self, o: OutputParam, var: str) -> str:
        if o.value is not None:
            template = self.planner.with_value(
                o.value,
                o.pos,
                set(CALLER_PREFIXES) | self.planner.exposed_ns,
                # Mock values read the caller's inputs by name; nothing is synthesized.
                lambda name, hint, pos: PlannedInput(name, "string", False, "argument"),
                None,
            )
            if isinstance(template, (str, int, float, bool)) or template is None:
                return py(_static_typed(o.type, template))
            return f"rt.coerce({o.type!r}, rt.resolve({py(template)}, inputs, {{}}))"
        if o.type == "object" and o.properties:
            return (
                "{"
                + ", ".join(f"{py(k)}: {self.expr(v, var)}" for k, v in o.properties.items())
                + "}"
            )
        if o.type == "array":
            source = self.select(o, var)
            if o.items is None or self.is_identity_item(o.items):
                return f"rt.as_list({source})"
            item = self.expr(o.items, "item")
            return f"[{item} for item in rt.as_list({source})]"
        if self.mock:
            return "None"
        if o.type in ("number", "integer", "boolean"):
            # XML and CSV carry every value as text; JSON numbers pass through unchanged.
            return f"rt.coerce({o.type!r}, {self.select(o, var)})"
        return self.select(o, var)

    def is_identity_item(self, o: OutputParam) -> bool:
        return (
            o.value is None
            and not o.properties
            and (o.mapping is None or o.mapping.strip() in ("$", "$."))
        )


def _static_typed(kind: str, value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        if kind == "integer":
            return int(value)
        if kind == "number":
            f = float(value)
            return int(f) if f.is_integer() and "." not in value else f
    except ValueError:
        return value
    if kind == "boolean" and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return value


def input_schema(inputs: list[PlannedInput]) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": {i.name: i.schema() for i in inputs}}
    required = [i.name for i in inputs if i.required]
    if required:
        schema["required"] = required
    return schema


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


def openapi_document(
    cap: Capability, adapter: RestAdapter, server: PlannedRestServer
) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for route in server.routes:
        action = route.action
        spec_path = mustache.parse_path(route.spec_path)
        oas_path = "".join(
            "{" + p.name + "}" if isinstance(p, mustache.Var) else p for p in spec_path
        )
        op: dict[str, Any] = {}
        res = next((r for r in adapter.resources if r.path == route.spec_path), None)
        rest_op = (
            next((o for o in res.operations if o.method == route.method), None) if res else None
        )
        if route.name:
            op["operationId"] = route.name
        if rest_op is not None and (rest_op.label or rest_op.description):
            if rest_op.label:
                op["summary"] = rest_op.label
            if rest_op.description:
                op["description"] = rest_op.description
        params = []
        body_props: dict[str, Any] = {}
        body_required: list[str] = []
        whole_body = False
        for i in action.inputs:
            if i.location in ("path", "query", "header", "cookie"):
                p: dict[str, Any] = {
                    "name": i.name,
                    "in": i.location,
                    "required": i.required,
                    "schema": {"type": i.type},
                }
                if i.pattern:
                    p["schema"]["pattern"] = i.pattern
                if i.description:
                    p["description"] = i.description
                params.append(p)
            elif i.location == "body":
                if i.body_path is None:
                    whole_body = True
                    continue
                # The field sits where its JSONPath says: $.item.sku → {item: {sku: …}}.
                keys = [k for k in i.body_path if isinstance(k, str)] or [i.name]
                node_props, node_required = body_props, body_required
                for key in keys[:-1]:
                    holder = node_props.setdefault(key, {"type": "object", "properties": {}})
                    if i.required and key not in node_required:
                        node_required.append(key)
                    node_props = holder.setdefault("properties", {})
                    node_required = holder.setdefault("required", [])
                node_props[keys[-1]] = i.schema()
                if i.required:
                    node_required.append(keys[-1])
        if params:
            op["parameters"] = params
        if whole_body or body_props:
            schema: dict[str, Any] = {"type": "object"}
            if body_props and not whole_body:
                schema["properties"] = body_props
                if body_required:
                    schema["required"] = body_required
            op["requestBody"] = {
                "required": bool(body_required),
                "content": {"application/json": {"schema": schema}},
            }
        op["responses"] = {
            "default": {"description": "The upstream response, relayed or mapped"},
            "400": {
                "description": "Invalid input",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
            },
            "502": {
                "description": "Upstream unreachable",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
            },
            "504": {
                "description": "Upstream timeout",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
            },
        }
        paths.setdefault(oas_path, {})[route.method.lower()] = op
    doc: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": cap.label or adapter.namespace,
            "version": "1.0.0",
        },
        "servers": [{"url": f"http://{server.host}:{server.port}"}],
        "paths": paths,
        "components": {
            "schemas": {
                "Error": {
                    "type": "object",
                    "properties": {"error": {"type": "string"}, "status": {"type": "integer"}},
                    "required": ["error"],
                }
            }
        },
    }
    description = adapter.description or cap.description
    if description:
        doc["info"]["description"] = description
    return doc
