"""Consumed operations → upstream functions: path, parameters, body and auth, resolved.

Resolution may fail with a located diagnostic; what it returns is complete plan data.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from naftiko_gen import mustache
from naftiko_gen.baseuri import env_template
from naftiko_gen.diagnostics import Pos, Report
from naftiko_gen.model import Auth, ConsumedOperation, ConsumedParam, ConsumedResource, Consumes
from naftiko_gen.naming import Names, env_name, snake
from naftiko_gen.plan import ir, schemas
from naftiko_gen.plan.bodies import QuotedTemplate, parse_json_template, template_vars
from naftiko_gen.plan.secrets import Secrets, secret_names

CALLER_PREFIXES = ("rest", "tools", "mcp")
# The CSS selectors _markup reads: simple parts (tag, .class, #id) joined by spaces or commas.
_SIMPLE_SELECTOR = r"(?:[A-Za-z][A-Za-z0-9-]*|\*)?(?:[.#][A-Za-z0-9_-]+)*"
HTML_SELECTOR = re.compile(rf"^\s*{_SIMPLE_SELECTOR}(?:(?:\s*,\s*|\s+){_SIMPLE_SELECTOR})*\s*$")
# Signed upstream auth: spec field → (runtime keyword, what it is, may be written in the spec).
SIGNED_AUTH: dict[str, tuple[tuple[str, str, str, bool], ...]] = {
    "oauth1": (
        ("consumerKey", "consumer_key", "the OAuth consumer key", True),
        ("consumerSecret", "consumer_secret", "the OAuth consumer secret", False),
        ("privateKey", "private_key", "the OAuth RSA private key", False),
        ("token", "token", "the OAuth token", False),
        ("tokenSecret", "token_secret", "the OAuth token secret", False),
    ),
    "aws-sig-v4": (
        ("accessKeyId", "access_key_id", "the AWS access key id", True),
        ("secretAccessKey", "secret_access_key", "the AWS secret access key", False),
        ("sessionToken", "session_token", "the AWS session token", False),
        ("region", "region", "the AWS region", True),
        ("service", "service", "the AWS service", True),
    ),
    "certificate": (
        ("certificate", "certificate", "the client certificate", True),
        ("privateKey", "private_key", "the client private key", False),
        ("caCertificate", "ca_certificate", "the CA certificate", True),
        ("password", "password", "the private key password", False),
    ),
    "hmac": (("secret", "secret", "the HMAC secret", False),),
}
# Literal options of signed auth: spec field → runtime keyword.
AUTH_OPTIONS: dict[str, tuple[tuple[str, str], ...]] = {
    "oauth1": (("signatureMethod", "method"), ("realm", "realm"), ("bodyHash", "body_hash")),
    "hmac": (
        ("algorithm", "algorithm"),
        ("header", "header"),
        ("signed", "signed"),
        ("encoding", "encoding"),
        ("prefix", "prefix"),
        ("timestampHeader", "timestamp_header"),
        ("nonceHeader", "nonce_header"),
    ),
}
# Values that are PEM text when they come from a bind: line breaks allowed.
PEM_FIELDS = ("privateKey", "certificate", "caCertificate")
# Characters a URL path may carry as they are; '%' too, so spec paths already encoded stay so.
PATH_SAFE = "/:@!$&'()*+,;=-._~%"
TEXT_TYPES = {
    "text": "text/plain; charset=utf-8",
    "xml": "application/xml",
    "sparql": "application/sparql-query",
}


# A binary body (`body: binary`): the caller supplies the bytes and their content type.
BINARY_BODY = "body"
BINARY_TYPE = "contentType"


def is_binary(co: ConsumedOp) -> bool:
    """Whether the operation sends the caller's raw bytes (a binary body, not a GET)."""
    return co.op.body is not None and co.op.body.kind == "binary" and co.op.method != "GET"


def strip_caller_prefix(name: str, exposed_ns: set[str]) -> str:
    head, dot, rest = name.partition(".")
    if dot and (head in CALLER_PREFIXES or head in exposed_ns):
        return rest
    return name


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

    def param(self, name: str) -> ConsumedParam | None:
        return next((p for p in self.all_params() if p.name == name), None)


@dataclass
class CallerName:
    """A consumed name whose value the caller supplies (an upstream function argument)."""

    name: str
    required: bool
    hint: ConsumedParam | None
    path: bool = False


class ConsumedPlanner:
    def __init__(self, secrets: Secrets, exposed_ns: set[str], report: Report) -> None:
        self.secrets = secrets
        self.exposed_ns = exposed_ns
        self.report = report
        self.upstreams: dict[str, ir.Upstream] = {}
        self.functions = Names(("rt", "forms", "aiohttp", "base64", "os", "load_config", "client"))
        self.constants = Names(("PACKAGE_DIR", "SECRETS", "UPSTREAMS"))

    def error(self, rule: str, message: str, pos: Pos) -> None:
        self.report.error(rule, message, pos)

    # -- what the caller supplies --------------------------------------------------------

    def caller_names(self, co: ConsumedOp) -> list[CallerName]:
        """Path variables, then unfixed parameters, then variables of fixed templates."""
        out: list[CallerName] = []
        seen: set[str] = set()
        params = co.all_params()
        environment = {p.name for p in params if p.location == "environment"}

        def add(name: str, required: bool, hint: ConsumedParam | None, path: bool = False) -> None:
            if name not in seen:
                seen.add(name)
                out.append(CallerName(name, required, hint, path))

        for var in mustache.path_vars(co.resource.path):
            name = strip_caller_prefix(var, self.exposed_ns)
            fixed = co.param(name)
            if fixed is not None and fixed.location == "path" and fixed.value is not None:
                continue
            if self.secrets.lookup(var, co.resource.path_pos) is not None:
                continue  # reported when the path is planned: secrets never go in URLs
            add(name, True, fixed, path=True)
        for p in params:
            if p.location in ("path", "environment") or p.value is not None:
                continue
            if p.location == "body" and co.op.method == "GET":
                continue
            add(p.name, bool(p.required), p)
        if is_binary(co):
            add(BINARY_BODY, True, None)
            add(BINARY_TYPE, False, None)
        templates: list[tuple[Any, Pos]] = [(p.value, p.pos) for p in params if p.value is not None]
        if co.op.body is not None:
            templates.append((co.op.body.data, co.op.body.pos))
        for data, pos in templates:
            for var in template_vars(data):
                name = strip_caller_prefix(var, self.exposed_ns)
                if name in seen or name in environment:
                    continue
                if self.secrets.lookup(var, pos) is not None:
                    continue
                add(name, False, co.param(name))
        return out

    # -- templates on the consumes side --------------------------------------------------

    def template(self, value: Any, pos: Pos, scope: dict[str, str]) -> ir.Value:
        """A spec value with `{{x}}` → plan value: secrets, or variables of the function."""
        if isinstance(value, str):
            parts = mustache.parse(value)
            if not any(isinstance(p, mustache.Var) for p in parts):
                return str(value)
            out: list[Any] = [
                self.variable(p.name, pos, scope) if isinstance(p, mustache.Var) else p
                for p in parts
            ]
            if (
                len(out) == 1
                and not isinstance(out[0], str)
                and not isinstance(value, QuotedTemplate)
            ):
                return out[0]
            return ir.TextTemplate(tuple(out))
        if isinstance(value, dict):
            return {str(k): self.template(v, pos, scope) for k, v in value.items()}
        if isinstance(value, list):
            return [self.template(v, pos, scope) for v in value]
        return value

    def variable(self, name: str, pos: Pos, scope: dict[str, str]) -> Any:
        secret = self.secrets.lookup(name, pos)
        if secret is not None:
            return secret
        local = scope.get(strip_caller_prefix(name, self.exposed_ns))
        # A variable nobody supplies renders as empty text, as an unset template value does.
        return ir.ArgRef(local) if local is not None else None

    def secret_template(
        self, value: str | None, pos: Pos, what: str, public: bool = False
    ) -> ir.Value:
        """Auth values: every variable must be a secret (never a caller argument).

        `public`: a value that may be written in the spec (an AWS region, a key id, a path).
        """
        if value is None:
            return None
        out: list[Any] = []
        for p in mustache.parse(value):
            if isinstance(p, mustache.Var):
                ref = self.secrets.lookup(p.name, pos, env_fallback=True)
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
        if value and not public and all(isinstance(p, str) for p in out):
            self.report.warning(
                "naftiko-literal-secret",
                f"{what} is a literal string in the spec; reference a bind ('{{{{VAR}}}}') "
                "so the secret is not committed",
                pos,
            )
        if len(out) == 1:
            return out[0]
        return ir.TextTemplate(tuple(out))

    # -- upstreams -----------------------------------------------------------------------

    def upstream(self, c: Consumes) -> ir.Upstream:
        found = self.upstreams.get(c.namespace)
        if found is None:
            found = ir.Upstream(
                namespace=c.namespace,
                const=self.constants.take(_constant(c.namespace)),
                base_url=_base_url(c.base_uri.rstrip("/")),
                env_prefix=env_name(c.namespace),
                auth=self.auth(c.auth) if c.auth is not None else None,
            )
            self.upstreams[c.namespace] = found
        return found

    def forwarded(self, c: Consumes) -> ir.Upstream:
        """The upstream of `forward` routes, with its sender: every request carries the
        adapter's fixed query, header and cookie parameters (and its auth, added by send)."""
        up = self.upstream(c)
        if up.forward is None:
            send = up.forward = ir.ForwardSend(self.functions.take(snake("forward_" + c.namespace)))
            for p in c.params:
                if p.value is None or p.location not in ("query", "header", "cookie"):
                    continue  # a value the caller gives has no caller here: nothing to send
                placed = ir.Placed(p.name, self.template(p.value, p.pos, {}))
                {"query": send.query, "header": send.headers, "cookie": send.cookies}[
                    p.location
                ].append(placed)
        return up

    def auth(self, a: Auth) -> ir.Auth:
        def secret(attr: str, what: str) -> ir.Value:
            return self.secret_template(getattr(a, attr), a.positions.get(attr, a.pos), what)

        if a.kind == "bearer":
            return ir.Auth("bearer", token=secret("token", "the bearer token"))
        if a.kind in ("basic", "digest"):
            return ir.Auth(
                a.kind,
                username=secret("username", "the username"),
                password=secret("password", "the password"),
            )
        if a.kind in SIGNED_AUTH:
            return self.signed_auth(a)
        return ir.Auth(
            "apikey", key=a.key or "", value=secret("value", "the api key"), placement=a.placement
        )

    def signed_auth(self, a: Auth) -> ir.Auth:
        """oauth1, aws-sig-v4, certificate, hmac: the runtime helper's keyword arguments."""
        out = ir.Auth(a.kind)
        for field, keyword, what, public in SIGNED_AUTH[a.kind]:
            value = a.params.get(field)
            if value is None:
                continue
            pos = a.positions.get(field, a.pos)
            if a.kind == "certificate" and value.startswith("file://"):
                out.values[keyword] = "file://" + self.package_relative(value[7:], pos)
                continue
            out.values[keyword] = self.secret_template(value, pos, what, public=public)
            if field in PEM_FIELDS:
                for name in secret_names(out.values[keyword]):
                    self.secrets.allow_line_breaks(name)
        for field, keyword in AUTH_OPTIONS.get(a.kind, ()):
            if a.params.get(field) is not None:
                out.options[keyword] = a.params[field]
        return out

    def package_relative(self, location: str, pos: Pos) -> str:
        """A file named relative to the spec, as a path relative to the generated package."""
        spec_dir = Path(pos.file).resolve().parent if pos.file else Path.cwd()
        target = (spec_dir / location).resolve()
        return Path(os.path.relpath(target, self.secrets.package_dir.resolve())).as_posix()

    # -- operations ----------------------------------------------------------------------

    def operation(self, co: ConsumedOp) -> ir.UpstreamOp:
        names = Names(("client",))
        callers = self.caller_names(co)
        kwargs = [ir.Kwarg(c.name, names.take(snake(c.name)), c.required) for c in callers]
        scope = {k.name: k.py for k in kwargs}
        params = co.all_params()
        environment: list[tuple[str, ir.Value]] = []
        for p in params:
            if p.location == "environment" and p.name not in scope:
                local = names.take(snake(p.name))
                value = (
                    self.template(p.value, p.pos, scope)
                    if p.value is not None
                    else ir.EnvRef(p.name)
                )
                environment.append((local, value))
                scope[p.name] = local
        op = ir.UpstreamOp(
            key=co.key,
            func=self.functions.take(snake(co.op.name)),
            upstream=self.upstream(co.consumes),
            method=co.op.method,
            path_display=co.resource.path,
            description=co.op.description,
            path=self.path(co, scope),
            kwargs=kwargs,
            environment=environment,
            output_format=co.op.output_format,
            output_schema=self.output_schema(co),
        )
        placeholders = set(op.path_names())
        for p in params:
            if p.location not in ("query", "header", "cookie"):
                continue
            if p.value is None and scope.get(p.name) in placeholders:
                continue  # it fills a path placeholder (checks.py warns): the path only
            value = (
                self.template(p.value, p.pos, scope)
                if p.value is not None
                else ir.ArgRef(scope[p.name])
            )
            placed = ir.Placed(p.name, value, bool(p.required) and p.value is None)
            {"query": op.query, "header": op.headers, "cookie": op.cookies}[p.location].append(
                placed
            )
        op.body = self.body(co, scope)
        return op

    def output_schema(self, co: ConsumedOp) -> Any:
        """What reading the answer needs besides its format: the HTML selector or Markdown
        heading prefix as written; for avro and protobuf, the schema file read now."""
        op, fmt = co.op, co.op.output_format
        if fmt == "html" and op.output_schema and not HTML_SELECTOR.match(op.output_schema):
            self.error(
                "naftiko-output-schema",
                f"outputSchema '{op.output_schema}' is a CSS selector naftiko-gen does not read; "
                "use tag, .class and #id parts joined by spaces (descendant) or commas",
                op.output_schema_pos or op.pos,
            )
            return None
        if fmt in ("html", "markdown"):
            return op.output_schema
        if fmt not in ("avro", "protobuf"):
            return None
        kind = ".avsc" if fmt == "avro" else ".proto"
        if not op.output_schema:
            self.error(
                "naftiko-output-schema",
                f"operation '{op.name}' answers {fmt}, which is read with a schema; set "
                f"outputSchema to its {kind} file (relative to the spec)",
                op.pos,
            )
            return None
        pos = op.output_schema_pos or op.pos
        written = op.output_schema
        raw = written.removeprefix("file://")
        spec_dir = Path(pos.file).resolve().parent if pos.file else Path.cwd()
        try:
            if fmt == "avro":
                return schemas.read_avro(spec_dir / raw)
            return schemas.read_proto(spec_dir / raw)
        except schemas.SchemaError as exc:
            self.error("naftiko-output-schema", f"outputSchema '{written}' {exc}", pos)
            return None

    def path(self, co: ConsumedOp, scope: dict[str, str]) -> tuple[Any, ...]:
        out: list[Any] = []
        for part in mustache.parse_path(co.resource.path):
            if isinstance(part, str):
                if "{" in part or "}" in part:
                    self.error(
                        "naftiko-consumed-path",
                        f"consumed path '{co.resource.path}' has a brace that is not a {{name}} "
                        "placeholder",
                        co.resource.path_pos,
                    )
                    continue
                out.append(quote(part, safe=PATH_SAFE))
                continue
            name = strip_caller_prefix(part.name, self.exposed_ns)
            fixed = co.param(name)
            if fixed is not None and fixed.location == "path" and fixed.value is not None:
                out.append(self.template(fixed.value, fixed.pos, scope))
                continue
            if name not in scope:
                self.error(
                    "naftiko-path-secret",
                    f"path placeholder '{part.name}' names a secret; secrets never go in URLs",
                    co.resource.path_pos,
                )
                continue
            out.append(ir.ArgRef(scope[name]))
        return _rooted(out)

    def body(self, co: ConsumedOp, scope: dict[str, str]) -> ir.Body | None:
        spec = co.op.body
        if spec is not None:
            if co.op.method == "GET":
                self.report.warning(
                    "naftiko-get-with-body",
                    "a GET operation never sends a body; 'body' is ignored",
                    spec.pos,
                )
                return None
            return self.body_template(spec.kind, spec.data, spec.pos, scope)
        body_params = [p for p in co.all_params() if p.location == "body"]
        if not body_params or co.op.method == "GET":
            return None
        if len(body_params) == 1 and body_params[0].name == "body":
            return ir.Body("json", ir.ArgRef(scope["body"]))
        fields = {
            p.name: (
                self.template(p.value, p.pos, scope)
                if p.value is not None
                else ir.ArgRef(scope[p.name])
            )
            for p in body_params
        }
        return ir.Body("fields", fields)

    def body_template(
        self, kind: str, data: Any, pos: Pos, scope: dict[str, str]
    ) -> ir.Body | None:
        if kind in ("raw", "json"):
            if data is None:
                self.error("naftiko-body-template", "a json body needs 'data'", pos)
                return None
            if isinstance(data, str):
                structure = parse_json_template(data)
                if structure is None:
                    message = (
                        "the body template is not JSON once its '{{placeholders}}' are filled; "
                        "write it as {type: json, data: {...}} or {type: text, data: '...'}"
                        if kind == "raw"
                        else "json body 'data' string is not JSON"
                    )
                    self.error("naftiko-body-template", message, pos)
                    return None
                data = structure
            return ir.Body("json", self.template(data, pos, scope))
        if kind in TEXT_TYPES:
            if not isinstance(data, str):
                self.error("naftiko-body-template", f"a {kind} body needs 'data' as a string", pos)
                return None
            value = self.template(data, pos, scope)
            if not isinstance(value, (str, ir.TextTemplate)):
                value = ir.TextTemplate((value,))
            return ir.Body("text", value, TEXT_TYPES[kind])
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
            return ir.Body("form", [(k, self.template(v, pos, scope)) for k, v in pairs])
        if kind == "binary":
            # the caller's raw bytes and their content type: two keyword arguments
            return ir.Body("binary", ir.ArgRef(scope[BINARY_BODY]), ir.ArgRef(scope[BINARY_TYPE]))
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
            return ir.Body("multipart", self.template(data, pos, scope))
        self.error("naftiko-body-template", f"body type '{kind}' is not supported", pos)
        return None


def _base_url(uri: str) -> str:
    """The encoded baseUri, or its start-up template (generator/baseuri.py)."""
    templated = env_template(uri)
    return templated[0] if templated is not None else _encode_base_uri(uri)


def _constant(namespace: str) -> str:
    """The upstream's constant in upstream.py: upper snake case, always an identifier."""
    name = env_name(namespace)
    return name if name[0].isalpha() else "UPSTREAM_" + name


def _encode_base_uri(uri: str) -> str:
    scheme, sep, rest = uri.partition("://")
    host, slash, path = rest.partition("/")
    return scheme + sep + host + (slash + quote(path, safe=PATH_SAFE) if slash else "")


def _rooted(parts: list[Any]) -> tuple[Any, ...]:
    """One '/' between the baseUri (kept without its trailing '/') and the resource path,
    whichever side writes it: `api/users` and `/api/users` both call `<base>/api/users`
    (the engine joins the two strings as written, so `api/users` reached `…:8080api/users`)."""
    if not parts:
        return ()
    if isinstance(parts[0], str):
        return ("/" + parts[0].lstrip("/"), *parts[1:])
    return ("/", *parts)
