"""The plan: the resolved, typed view of a capability that templates render.

No Python source lives here: values are data (literals, references to variables, secrets,
environment variables, text templates), and the templates and the expression filter in
generator/emit decide the syntax.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

T = TypeVar("T")

# -- values ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ArgRef:
    """A variable in scope: an upstream function's keyword argument, or a handler's input."""

    name: str


@dataclass(frozen=True)
class SecretRef:
    """A bind value, loaded at start-up (name: 'bindNamespace.VAR')."""

    name: str


@dataclass(frozen=True)
class EnvRef:
    """A process environment variable read when the call is made."""

    name: str


@dataclass(frozen=True)
class TextTemplate:
    """Literal pieces and values joined as text (an f-string)."""

    parts: tuple[str | ArgRef | SecretRef | EnvRef, ...]


class EachStep:
    """The JSONPath wildcard `[*]` in a compiled path."""

    def __repr__(self) -> str:
        return "EACH"


EACH = EachStep()

# A value is a JSON literal (None, bool, int, float, str), one of the references above,
# a TextTemplate, or a dict/list of values.
Value = Any


# -- the upstream side -----------------------------------------------------------------------


@dataclass
class Kwarg:
    """A keyword argument of an upstream function: a value the caller supplies."""

    name: str  # the consumed parameter name
    py: str
    required: bool = False


@dataclass
class Placed:
    """A query, header or cookie parameter of an upstream request."""

    name: str
    value: Value
    required: bool = False


@dataclass
class Body:
    """How the request body is built.

    kind: json (value is a JSON structure of values), text/xml/sparql (a text value),
    form (a list of (name, value) pairs), multipart (a list of part dicts), binary (value: the
    caller's bytes, content_type: the caller's content type, both ArgRefs).
    """

    kind: str
    value: Value
    content_type: Any = ""  # a literal, or (binary) the ArgRef of the caller's content type


@dataclass
class Upstream:
    namespace: str
    const: str  # the module-level constant in upstream.py
    base_url: str
    env_prefix: str  # <PREFIX>_BASE_URL, <PREFIX>_TIMEOUT
    auth: Auth | None = None
    params: list[Placed] = field(default_factory=list)  # adapter-level query/header/cookie
    forward: ForwardSend | None = None  # the target of REST `forward` routes


@dataclass
class ForwardSend:
    """upstream.py's sender of forwarded requests: the adapter-level parameters with a `value`
    (consumes `inputParameters`) are added to each one, as the engine adds them."""

    func: str
    query: list[Placed] = field(default_factory=list)
    headers: list[Placed] = field(default_factory=list)
    cookies: list[Placed] = field(default_factory=list)


@dataclass
class Auth:
    """Upstream authentication; every value is a secret or a literal."""

    kind: str  # bearer | basic | digest | apikey | oauth1 | aws-sig-v4 | certificate | hmac
    token: Value = None
    username: Value = None
    password: Value = None
    key: Value = ""  # apikey: the name, a literal or (from the environment) a secret
    value: Value = None
    placement: str = "header"  # apikey: header | query | body
    # oauth1, aws-sig-v4, certificate, hmac: the runtime helper's keyword arguments, as
    # values (secrets, environment values or literals) and literal options.
    values: dict[str, Value] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class UpstreamOp:
    key: str  # namespace.operation
    func: str
    upstream: Upstream
    method: str
    path_display: str  # the consumed path as the spec writes it
    description: str | None
    path: tuple[str | Value, ...]  # encoded literal pieces and values (each one segment)
    kwargs: list[Kwarg] = field(default_factory=list)
    environment: list[tuple[str, Value]] = field(default_factory=list)  # locals first
    query: list[Placed] = field(default_factory=list)
    headers: list[Placed] = field(default_factory=list)
    cookies: list[Placed] = field(default_factory=list)
    body: Body | None = None
    output_format: str = "json"
    output_schema: Any = None  # what _formats.reader takes besides the format (a literal)
    openapi: Any = None  # enrich.OperationInfo: what the upstream's OpenAPI document says

    def path_names(self) -> list[str]:
        return [p.name for p in self.path if isinstance(p, ArgRef)]


# -- the served side -------------------------------------------------------------------------


@dataclass
class Input:
    """One input of a route or tool, as advertised and validated."""

    name: str
    type: str
    required: bool
    location: str  # path | query | header | cookie | body | argument | raw | content-type
    description: str | None = None
    pattern: str | None = None
    body_path: tuple[Any, ...] | None = None  # REST body field: steps into the JSON body
    key: str = ""  # the aiohttp route variable, for path inputs
    py: str = ""  # the handler's local variable
    used: bool = True  # read by the call or the output (else only validated)
    json_schema: dict[str, Any] | None = None  # from the upstream's OpenAPI document

    def schema(self) -> dict[str, Any]:
        if self.json_schema is not None:
            enriched = dict(self.json_schema)
            if self.description and "description" not in enriched:
                enriched["description"] = self.description
            return enriched
        s: dict[str, Any] = (
            {"type": "string", "contentEncoding": "base64"}
            if self.type == "binary"
            else {"type": self.type}
        )
        if self.description:
            s["description"] = self.description
        if self.pattern:
            s["pattern"] = self.pattern
        return s


@dataclass
class Call:
    op: UpstreamOp
    kwargs: list[tuple[str, Value]]  # the upstream function's keyword → value over inputs


# Outputs: a small expression tree over the upstream data (`data`) and the inputs.


@dataclass(frozen=True)
class Select:
    source: str  # "data" or "item"
    steps: tuple[Any, ...]


@dataclass(frozen=True)
class Fields:
    fields: tuple[tuple[str, Any], ...]  # (key, output)


@dataclass(frozen=True)
class Each:
    source: Select
    item: Any  # output over `item`, or None for the elements as they are


@dataclass(frozen=True)
class Coerce:
    kind: str
    inner: Any


@dataclass(frozen=True)
class Const:
    value: Any


# Orchestration: one generated function (functions.py) runs the steps in order.


@dataclass
class CallStep:
    """One awaited upstream call; its answer's data is the local variable `var`."""

    name: str  # as the spec writes it
    var: str
    call: Call

    @property
    def output_format(self) -> str:
        return self.call.op.output_format

    @property
    def output_schema(self) -> Any:
        return self.call.op.output_schema


@dataclass
class LookupStep:
    """Entries of an earlier step's array whose `key` equals the value(s) looked up."""

    name: str
    var: str
    table: Select  # the array (an earlier step's data)
    key: tuple[Any, ...]  # steps from one entry to its key
    value: Select  # the value, or list of values, looked up
    fields: tuple[str, ...]  # kept from each matching entry


@dataclass
class Orchestration:
    steps: list[CallStep | LookupStep]
    output: Any  # an output expression over the step variables and the inputs


@dataclass
class Function:
    """One function of functions.py: an aggregate function, or the steps of an operation/tool.

    Its inputs are keyword-only parameters (`py`), checked by the route or tool that calls it.
    """

    func: str
    key: str  # what the spec calls it, for the docstring
    description: str | None
    inputs: list[Input]
    orchestration: Orchestration | None = None
    action: Action | None = None  # a single call (or a mock) with its output mapping
    cacheable: bool = False  # semantics.cacheable, and it calls upstream: _cache keeps answers
    cache_scope: str = "public"  # "private" when an adapter exposing it checks its callers


@dataclass
class FunctionCall:
    function: Function
    kwargs: list[tuple[str, Value]]  # the function's parameter → value over the caller's inputs


@dataclass
class Action:
    """What a route or tool does: read inputs, call upstream (or not: a mock), map output."""

    func: str
    inputs: list[Input]
    call: Call | None
    output: Any = None  # an output expression, or None to relay the answer as it is
    target: str = ""  # what it calls, for the docstring
    function: FunctionCall | None = None  # orchestrated or `ref`: a function of functions.py

    @property
    def output_format(self) -> str:
        return self.call.op.output_format if self.call else "json"

    @property
    def output_schema(self) -> Any:
        return self.call.op.output_schema if self.call else None

    @property
    def reads_body(self) -> bool:
        return any(i.location == "body" for i in self.inputs)

    @property
    def reads_raw(self) -> bool:
        """A REST route taking the raw request body (a binary upstream body): any content type."""
        return any(i.location == "raw" for i in self.inputs)


@dataclass
class Route:
    method: str
    path: str  # the aiohttp pattern
    spec_path: str
    name: str | None
    label: str | None
    description: str | None
    action: Action


@dataclass
class Forward:
    """Every request under `prefix` passed to one upstream: method, query, body, trusted headers."""

    func: str
    prefix: str  # the served path prefix, no trailing '/'
    spec_path: str
    upstream: Upstream
    trusted_headers: tuple[str, ...]
    description: str | None = None


@dataclass
class OAuth2:
    """A resource server's token checks: issuer, audience, scopes, where the keys are."""

    issuer: str
    resource: str
    audience: str
    scopes: list[str]
    jwks_uri: str | None = None
    jwks_file: str | None = None  # relative to the package folder


@dataclass
class InboundAuth:
    kind: str  # bearer | apikey | basic | oauth2
    secret: Value
    username: Value = None
    key: str = ""
    placement: str = "header"
    oauth2: OAuth2 | None = None


@dataclass
class ControlServer:
    """The control adapter: probes, status and metrics, serving the spec's servers with it."""

    module: str
    host: str
    port: int
    auth: InboundAuth | None
    secrets: list[str]
    health: bool
    info: bool
    metrics: bool
    traces: bool = False  # OpenTelemetry spans and /traces (_tracing)
    trace_buffer: int = 100
    sampling: float = 1.0
    otlp_endpoint: str | None = None


@dataclass
class RestServer:
    module: str
    namespace: str
    host: str
    port: int
    routes: list[Route]
    auth: InboundAuth | None
    secrets: list[str]
    openapi_file: str
    openapi: dict[str, Any]
    description: str | None
    forwards: list[Forward] = field(default_factory=list)
    docs: bool = True  # /docs served: no path of the spec's is under it


@dataclass
class Tool:
    name: str
    const: str
    title: str | None
    description: str | None
    schema: dict[str, Any]
    annotations: dict[str, bool]
    action: Action
    output_schema: dict[str, Any] | None = None  # from the upstream's OpenAPI document
    validate: bool = False  # arguments checked against `schema` (jsonschema) before the call


@dataclass
class StaticFile:
    """A file of a static resource (or a prompt's file), copied into the package."""

    uri: str  # the resource URI it answers (prompts: "")
    path: str  # relative to the package folder, '/'-separated
    mime_type: str
    text: str


@dataclass
class Resource:
    """An MCP resource, or a resource template when `params` is not empty (`{param}`s of uri)."""

    name: str
    const: str
    title: str | None
    description: str | None
    uri: str
    mime_type: str | None
    params: list[str] = field(default_factory=list)
    action: Action | None = None  # dynamic: a function like a tool's, over the URI's params
    files: list[StaticFile] = field(default_factory=list)  # static: one resource per file


@dataclass
class PromptArgument:
    name: str
    title: str | None
    description: str | None
    required: bool


@dataclass
class Prompt:
    name: str
    const: str
    title: str | None
    description: str | None
    arguments: list[PromptArgument]
    messages: list[tuple[str, str]]  # (role, text with {{arg}} placeholders)
    file: StaticFile | None = None  # a `location` prompt: one user message from this file


@dataclass
class McpServer:
    module: str
    namespace: str
    transport: str
    host: str
    port: int | None
    instructions: str | None
    tools: list[Tool]
    auth: InboundAuth | None
    secrets: list[str]
    version: str = "1.0.0"
    resources: list[Resource] = field(default_factory=list)
    prompts: list[Prompt] = field(default_factory=list)


@dataclass
class SkillTool:
    name: str
    description: str | None
    source: str | None = None  # derived: the sibling adapter's namespace
    action: str | None = None  # derived: its operation (rest) or tool (mcp) name
    mode: str | None = None  # derived: rest | mcp
    title: str | None = None  # derived: the tool's or operation's label
    schema: dict[str, Any] | None = None  # derived: its inputs as JSON Schema
    method: str | None = None  # derived from rest: the route's method and path
    path: str | None = None
    instruction: str | None = None  # an instruction file, relative to the skill folder


@dataclass
class Skill:
    name: str
    description: str
    front_matter: dict[str, Any]  # the Agent Skills keys besides name and description
    tools: list[SkillTool]
    files: dict[str, str]  # path in the skill folder → text; SKILL.md first


@dataclass
class SkillServer:
    """The Agent Skills catalogue of a skill adapter: skills/<name>/ folders and its HTTP routes."""

    module: str
    namespace: str
    host: str
    port: int
    description: str | None
    skills: list[Skill]
    auth: InboundAuth | None
    secrets: list[str]
    catalogue: dict[str, Any] = field(default_factory=dict)  # what GET /skills/{name} answers


@dataclass
class SecretSource:
    bind: str
    key: str  # the environment variable, or the key in the bind file
    file: str | None = None  # relative to the package folder
    multiline: bool = False  # PEM text: line breaks allowed


@dataclass
class Module:
    """A generated Python module: its template, its file name in the package, its context."""

    template: str
    name: str
    context: dict[str, Any] = field(default_factory=dict)


@dataclass
class Layout:
    """What a package holds (decided by plan/layout.py; render.py turns it into files)."""

    modules: list[Module]
    openapi: dict[str, dict[str, Any]]  # file name → OpenAPI document of a REST server
    copies: dict[str, str]  # package-relative path → text copied as it is (resources, skills)
    runtime: list[str]  # runtime module file names (naftiko_gen/runtime/), in order
    requirements: str  # requirements.txt without its header line
    mcp_clients: dict[str, Any] | None  # mcp.json, when the package has MCP servers


@dataclass
class Plan:
    package: str
    spec: str  # display path of the spec, for the DO NOT EDIT line
    label: str | None
    description: str | None
    secret_sources: dict[str, SecretSource]
    upstream_secrets: list[str]
    upstreams: list[Upstream]
    operations: list[UpstreamOp]
    rest: list[RestServer] = field(default_factory=list)
    mcp: list[McpServer] = field(default_factory=list)
    functions: list[Function] = field(default_factory=list)  # functions.py
    control: ControlServer | None = None  # control_server.py
    skills: list[SkillServer] = field(default_factory=list)
    layout: Layout | None = None  # set last by make_plan (plan/layout.py)
    tags: tuple[str, ...] = ()  # info.tags (a family selects by them)


def find(kind: type[T], *values: Any) -> Iterator[T]:
    """Every `kind` node in pieces of the plan (through dataclasses, lists, tuples and dicts).

    Depth first, in field order. A loop over a stack, with each dataclass's field names looked
    up once: plans hold whole OpenAPI documents, and this walk runs many times per spec.
    """
    stack = list(values)
    stack.reverse()
    while stack:
        value = stack.pop()
        if isinstance(value, kind):
            yield value
            continue
        cls = type(value)
        if cls in _ATOMS:
            continue
        names = _FIELDS.get(cls, _UNSEEN)
        if names is _UNSEEN:
            is_instance = dataclasses.is_dataclass(value) and not isinstance(value, type)
            names = _FIELDS[cls] = (
                tuple(f.name for f in dataclasses.fields(value)) if is_instance else None
            )
        if names is not None:
            stack.extend([getattr(value, name) for name in reversed(names)])
        elif isinstance(value, (list, tuple)):
            stack.extend(reversed(value))
        elif isinstance(value, dict):
            stack.extend(reversed(value.values()))


_ATOMS = frozenset((str, int, float, bool, type(None), bytes))  # exactly these: nothing inside
_UNSEEN: Any = object()
_FIELDS: dict[type, tuple[str, ...] | None] = {}  # dataclass → its field names; others → None
