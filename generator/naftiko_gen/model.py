"""Typed view of a Naftiko capability spec (1.0.0-alpha2), positions kept for diagnostics."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from naftiko_gen.diagnostics import Pos

HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
PARAM_TYPES = ("string", "number", "integer", "boolean", "array", "object")


@dataclass
class Auth:
    kind: (
        str  # bearer | basic | digest | apikey | oauth2 | oauth1 | aws-sig-v4 | certificate | hmac
    )
    pos: Pos
    positions: dict[str, Pos] = field(default_factory=dict)  # value positions by key
    # oauth1, aws-sig-v4, certificate, hmac: canonical field name -> value as written
    params: dict[str, Any] = field(default_factory=dict)
    token: str | None = None
    username: str | None = None
    password: str | None = None
    key: str | None = None  # apikey: header or query parameter name
    value: str | None = None  # apikey value
    placement: str = "header"


@dataclass
class Bind:
    namespace: str
    keys: dict[str, str]  # template variable -> provider key
    pos: Pos
    location: str | None = None
    location_path: Path | None = None  # file:// location resolved against the spec's folder


@dataclass
class ConsumedParam:
    name: str
    location: str  # query | header | path | cookie | body | environment
    pos: Pos
    value: Any = None
    type: str | None = None
    required: bool | None = None
    description: str | None = None


@dataclass
class BodySpec:
    kind: str  # json | text | xml | sparql | formUrlEncoded | multipartForm | raw
    data: Any
    pos: Pos


@dataclass
class ConsumedOutput:
    """A named value of a consumed operation's answer (a JSONPath), for orchestration steps."""

    name: str
    value: str
    pos: Pos
    type: str | None = None


@dataclass
class ConsumedOperation:
    name: str
    method: str
    pos: Pos
    description: str | None = None
    params: list[ConsumedParam] = field(default_factory=list)
    body: BodySpec | None = None
    output_format: str = "json"
    output_schema: str | None = None  # outputSchema: a schema file, a selector or a prefix
    output_schema_pos: Pos | None = None
    outputs: list[ConsumedOutput] = field(default_factory=list)


@dataclass
class ConsumedResource:
    name: str
    path: str
    pos: Pos
    path_pos: Pos
    params: list[ConsumedParam] = field(default_factory=list)
    operations: list[ConsumedOperation] = field(default_factory=list)
    # dialect: operations with their own 'path', as resources of their own (reader only)
    extra: list[ConsumedResource] = field(default_factory=list)


@dataclass
class Consumes:
    namespace: str
    base_uri: str
    pos: Pos
    description: str | None = None
    auth: Auth | None = None
    params: list[ConsumedParam] = field(default_factory=list)
    resources: list[ConsumedResource] = field(default_factory=list)
    alias_of: str | None = None  # imported namespace name when imported under another alias
    positions: dict[str, Pos] = field(default_factory=dict)


@dataclass
class ExposedParam:
    name: str
    pos: Pos
    location: str | None = None  # REST: query | header | path | cookie | body; MCP: None
    type: str = "string"
    description: str | None = None
    required: bool | None = None
    pattern: str | None = None
    value: Any = None


@dataclass
class OutputParam:
    type: str
    pos: Pos
    name: str | None = None
    mapping: str | None = None
    value: Any = None
    properties: dict[str, OutputParam] = field(default_factory=dict)
    items: OutputParam | None = None


@dataclass
class CallRef:
    namespace: str
    operation: str
    pos: Pos


@dataclass
class WithValue:
    key: str
    value: Any  # str | int | float | bool | list | dict | None
    pos: Pos


@dataclass
class Step:
    """One orchestration step: `call` (an upstream call), `lookup` (a join over an earlier
    step's array) or `script` (never generated: reported where it stands)."""

    kind: str  # call | lookup | script
    name: str
    pos: Pos
    call: CallRef | None = None
    with_values: list[WithValue] = field(default_factory=list)
    index: str | None = None  # lookup: the step whose answer is the table
    match: str | None = None  # lookup: the key field of each table entry
    lookup_value: str | None = None  # lookup: JSONPath to the value(s) looked up
    fields: list[str] = field(default_factory=list)  # lookup: fields kept from each match
    positions: dict[str, Pos] = field(default_factory=dict)  # value positions by key


@dataclass
class StepMapping:
    """`{targetName, value: $.step.field}`: one field of an orchestration's composite output."""

    target: str
    value: str
    pos: Pos


@dataclass
class Callable:
    """What REST operations and MCP tools share: inputs, the call, its wiring and its output."""

    pos: Pos
    name: str | None = None
    description: str | None = None
    params: list[ExposedParam] = field(default_factory=list)
    call: CallRef | None = None
    with_values: list[WithValue] = field(default_factory=list)
    outputs: list[OutputParam] = field(default_factory=list)
    unsupported: bool = False  # uses a feature already reported as unsupported
    steps: list[Step] | None = None  # orchestrated mode
    mappings: list[StepMapping] = field(default_factory=list)
    ref: CallRef | None = None  # `ref: aggregateNamespace.function`


@dataclass
class Semantics:
    safe: bool | None = None
    idempotent: bool | None = None
    cacheable: bool | None = None


@dataclass
class AggregateFunction(Callable):
    semantics: Semantics = field(default_factory=Semantics)


@dataclass
class Aggregate:
    namespace: str
    pos: Pos
    label: str | None = None
    functions: list[AggregateFunction] = field(default_factory=list)


@dataclass
class Forward:
    """A REST resource passing every request under its path to a consumes namespace."""

    target: str
    pos: Pos
    trusted_headers: list[str] = field(default_factory=list)


@dataclass
class RestOperation(Callable):
    method: str = "GET"
    label: str | None = None


@dataclass
class RestResource:
    path: str = ""
    pos: Pos = field(default_factory=lambda: Pos("?"))
    name: str | None = None
    description: str | None = None
    params: list[ExposedParam] = field(default_factory=list)
    operations: list[RestOperation] = field(default_factory=list)
    forward: Forward | None = None


@dataclass
class McpHints:
    read_only: bool | None = None
    destructive: bool | None = None
    idempotent: bool | None = None
    open_world: bool | None = None


@dataclass
class McpTool(Callable):
    label: str | None = None
    hints: McpHints = field(default_factory=McpHints)


@dataclass
class McpResource(Callable):
    """An MCP resource: dynamic (`call`/`steps`, like a tool; `{param}`s of `uri` are its
    inputs) or static (`location`: a folder of the spec's whose files are served)."""

    label: str | None = None
    uri: str = ""
    mime_type: str | None = None
    location: str | None = None
    positions: dict[str, Pos] = field(default_factory=dict)  # value positions by key


@dataclass
class McpPromptArgument:
    name: str
    pos: Pos
    label: str | None = None
    description: str | None = None
    required: bool = True


@dataclass
class McpPrompt:
    """An MCP prompt: `template` messages (role, content) or a `location` file (one user
    message); `{{arg}}` placeholders are filled with the arguments at run time."""

    name: str
    pos: Pos
    label: str | None = None
    description: str | None = None
    arguments: list[McpPromptArgument] = field(default_factory=list)
    messages: list[tuple[str, str, Pos]] = field(default_factory=list)
    location: str | None = None
    positions: dict[str, Pos] = field(default_factory=dict)


@dataclass
class SkillTool:
    """A tool of a skill: `from` a sibling rest/mcp adapter, or an `instruction` file."""

    name: str
    pos: Pos
    description: str | None = None
    source: str | None = None  # from.sourceNamespace
    action: str | None = None  # from.action
    instruction: str | None = None
    positions: dict[str, Pos] = field(default_factory=dict)


@dataclass
class Skill:
    name: str
    pos: Pos
    description: str | None = None
    # Agent Skills front matter besides name and description, as written (str or bool values).
    front_matter: dict[str, Any] = field(default_factory=dict)
    location: str | None = None
    tools: list[SkillTool] = field(default_factory=list)
    positions: dict[str, Pos] = field(default_factory=dict)


@dataclass
class SkillAdapter:
    namespace: str
    pos: Pos
    port: int | None = None
    address: str | None = None
    description: str | None = None
    auth: Auth | None = None
    skills: list[Skill] = field(default_factory=list)
    positions: dict[str, Pos] = field(default_factory=dict)


@dataclass
class RestAdapter:
    namespace: str
    port: int
    pos: Pos
    address: str | None = None
    description: str | None = None
    auth: Auth | None = None
    resources: list[RestResource] = field(default_factory=list)
    positions: dict[str, Pos] = field(default_factory=dict)


@dataclass
class McpAdapter:
    namespace: str
    pos: Pos
    port: int | None = None
    address: str | None = None
    transport: str = "http"
    description: str | None = None
    auth: Auth | None = None
    tools: list[McpTool] = field(default_factory=list)
    resources: list[McpResource] = field(default_factory=list)
    prompts: list[McpPrompt] = field(default_factory=list)
    positions: dict[str, Pos] = field(default_factory=dict)


@dataclass
class ControlAdapter:
    """The management plane: health probes, status and Prometheus metrics on its own port."""

    port: int
    pos: Pos
    address: str | None = None
    auth: Auth | None = None
    health: bool = True  # /health/live, /health/ready
    info: bool = False  # /status
    metrics: bool = True  # /metrics
    traces: bool = False  # observability asked for: OpenTelemetry spans and /traces
    trace_buffer: int = 100  # traces.local.buffer-size
    sampling: float = 1.0  # traces.sampling
    otlp_endpoint: str | None = None  # exporters.otlp.endpoint
    positions: dict[str, Pos] = field(default_factory=dict)


@dataclass
class Capability:
    source: Path
    display: str  # the spec path as the user named it, used in messages and headers
    label: str | None = None
    description: str | None = None
    tags: tuple[str, ...] = ()  # info.tags: a family's --include/--exclude select by them
    binds: list[Bind] = field(default_factory=list)
    consumes: list[Consumes] = field(default_factory=list)
    rest: list[RestAdapter] = field(default_factory=list)
    mcp: list[McpAdapter] = field(default_factory=list)
    skills: list[SkillAdapter] = field(default_factory=list)
    control: list[ControlAdapter] = field(default_factory=list)
    aggregates: list[Aggregate] = field(default_factory=list)
    # Namespaces and operations already reported as broken: calls to them raise no second error.
    broken: set[str] = field(default_factory=set)

    def consumes_by_namespace(self) -> dict[str, Consumes]:
        return {c.namespace: c for c in self.consumes}
