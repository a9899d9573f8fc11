"""`naftiko-gen import openapi`: OpenAPI 3.0/3.1 and Swagger 2.0 → Naftiko alpha2 capability specs.

The import is a pure function from a parsed document to `{file name: YAML text}` plus notes on what
could not be imported; the command writes the files. Every spec is built as data and serialised by
the YAML dumper (never by string concatenation), with names reduced to what the schema allows, in
the document's order (paths as written, methods in a fixed order), so the same input always gives
the same bytes.

What each operation becomes (the house style of specs/qovery-containers.yaml):

- consumes: one resource per path, one operation per method; query, header and cookie parameters
  as consumed `inputParameters` (`type`, `required`, `description` kept: naftiko-gen uses them), a
  JSON request body as one `in: body` parameter named `body`; path parameters stay placeholders;
- REST: `/v1` + the path, one operation per method with `call` and `with: {x: rest.x}`;
- MCP: one tool per operation named from the operationId (kebab case, at most 64 characters),
  described by its summary, hints from the method (GET read-only, DELETE destructive and
  idempotent, PUT idempotent), its inputs declared with their descriptions.

Upstream auth comes from the security schemes (the document's `security` first): http bearer,
oauth2 and openIdConnect → bearer token; http basic → basic; apiKey in a header or query → apikey.
Secrets come from environment variables named after the API title (`PETSTORE_API_KEY`) via `binds`.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from naftiko_gen.naming import env_name

METHODS = ("get", "post", "put", "patch", "delete")
OTHER_METHODS = ("head", "options", "trace")
PARAM_TYPES = ("string", "number", "integer", "boolean", "array", "object")
MAX_TOOL_NAME = 64
MAX_NAME = 100
MAX_DESCRIPTION = 600
REST_PORT = 8080
MCP_PORT = 9090

_PARAM_NAME = re.compile(r"^[A-Za-z0-9_-]+$")
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_PRINTABLE_PATH = re.compile(r"^/[\x21-\x7e]*$")
_NOISE_WORDS = {"api", "apis", "openapi", "swagger", "rest", "spec", "specification", "the"}


class ImportError_(Exception):
    """The document cannot be imported at all (one line, for the command to print)."""


@dataclass
class ImportResult:
    files: dict[str, str] = field(default_factory=dict)  # file name → YAML text
    notes: list[str] = field(default_factory=list)  # what was skipped or approximated
    operations: int = 0  # operations imported


# -- names ------------------------------------------------------------------------------------------


def kebab(text: str) -> str:
    """'listContainer' → 'list-container'; 'actions/add-label' → 'actions-add-label'."""
    s = re.sub(r"([a-z0-9])([A-Z])", r"\1-\2", text)
    s = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1-\2", s)
    s = re.sub(r"[^0-9A-Za-z]+", "-", s).strip("-").lower()
    return re.sub(r"-+", "-", s)


def _cap(name: str, limit: int) -> str:
    if len(name) <= limit:
        return name
    digest = hashlib.sha1(name.encode()).hexdigest()[:8]
    return name[: limit - 9].rstrip("-") + "-" + digest


class _Unique:
    def __init__(self, limit: int) -> None:
        self.used: set[str] = set()
        self.limit = limit

    def take(self, base: str) -> str:
        base = _cap(base or "x", self.limit)
        name, n = base, 2
        while name in self.used:
            suffix = f"-{n}"
            name = _cap(base, self.limit - len(suffix)) + suffix
            n += 1
        self.used.add(name)
        return name


def _placeholder_name(raw: str) -> str:
    """A path placeholder as a Python-identifier-like name (aiohttp needs that for routes)."""
    s = re.sub(r"[^0-9A-Za-z_]+", "_", raw).strip("_") or "param"
    return "p_" + s if s[0].isdigit() else s


def slug_from_title(title: str) -> str:
    words = [w for w in kebab(title).split("-") if w and w not in _NOISE_WORDS]
    return "-".join(words[:4]) or "api"


def env_prefix_from_title(title: str) -> str:
    words = [w for w in kebab(title).split("-") if w and w not in _NOISE_WORDS]
    prefix = env_name("_".join(words[:3]) or "API")
    return prefix if prefix[0].isalpha() else "API_" + prefix


def _text(value: Any, limit: int = MAX_DESCRIPTION) -> str:
    """A description: the first paragraph, whitespace collapsed, capped."""
    if not isinstance(value, str):
        return ""
    first = re.split(r"\n\s*\n", value.strip(), maxsplit=1)[0]
    first = " ".join(first.split())
    # Control characters have no place in a description (the dumper would escape them anyway).
    first = "".join(ch for ch in first if ch >= " " or ch == "\t")
    if len(first) > limit:
        first = first[: limit - 1].rstrip() + "…"
    return first


# -- the document -----------------------------------------------------------------------------------


class _Doc:
    def __init__(self, doc: dict[str, Any]) -> None:
        self.doc = doc
        self.swagger2 = str(doc.get("swagger", "")).startswith("2")

    def resolve(self, node: Any, depth: int = 0) -> Any:
        """Follow local $refs (#/...), at most 20 deep; an unresolvable one gives {}."""
        while isinstance(node, dict) and isinstance(node.get("$ref"), str) and depth < 20:
            ref = node["$ref"]
            if not ref.startswith("#/"):
                return {}
            target: Any = self.doc
            for part in ref[2:].split("/"):
                part = part.replace("~1", "/").replace("~0", "~")
                if not isinstance(target, dict) or part not in target:
                    return {}
                target = target[part]
            node = target
            depth += 1
        return node if isinstance(node, dict) else {}

    def schema_type(self, schema: Any) -> str:
        schema = self.resolve(schema)
        t = schema.get("type")
        if isinstance(t, list):  # 3.1: ["string", "null"]
            t = next((x for x in t if x != "null"), None)
        if t in PARAM_TYPES:
            return str(t)
        for key in ("allOf", "oneOf", "anyOf"):
            subs = schema.get(key)
            if isinstance(subs, list):
                for sub in subs:
                    found = self.schema_type(sub)
                    if found != "string" or self.resolve(sub).get("type") == "string":
                        return found
        if "properties" in schema:
            return "object"
        return "string"

    def base_uri(self, override: str | None) -> str:
        if override:
            uri = override
        elif self.swagger2:
            host = self.doc.get("host")
            if not isinstance(host, str) or not host:
                raise ImportError_(
                    "the document has no 'host'; pass --base-uri https://host[/prefix]"
                )
            schemes = self.doc.get("schemes") or ["https"]
            scheme = "https" if "https" in schemes else str(schemes[0])
            uri = f"{scheme}://{host}{self.doc.get('basePath') or ''}"
        else:
            servers = self.doc.get("servers")
            first = servers[0] if isinstance(servers, list) and servers else None
            if not isinstance(first, dict) or not isinstance(first.get("url"), str):
                raise ImportError_(
                    "the document has no 'servers'; pass --base-uri https://host[/prefix]"
                )
            uri = first["url"]
            for name, var in (first.get("variables") or {}).items():
                if isinstance(var, dict) and "default" in var:
                    uri = uri.replace("{" + str(name) + "}", str(var["default"]))
        uri = uri.rstrip("/")
        if not re.match(r"^https?://[^/\s{}]+(/[^{}\s]*)?$", uri):
            raise ImportError_(
                f"server URL '{uri}' is not an absolute http(s) URL; pass --base-uri https://host[/prefix]"
            )
        return uri

    def security_scheme(self) -> tuple[str, dict[str, Any]] | None:
        """The scheme to use upstream: the document's `security` first, then any declared one."""
        if self.swagger2:
            schemes = self.doc.get("securityDefinitions") or {}
        else:
            schemes = (self.doc.get("components") or {}).get("securitySchemes") or {}
        if not isinstance(schemes, dict):
            return None
        order: list[str] = []
        for requirement in self.doc.get("security") or []:
            if isinstance(requirement, dict):
                order += [str(k) for k in requirement]
        order += [str(k) for k in schemes]
        for name in order:
            scheme = self.resolve(schemes.get(name))
            if _auth_kind(scheme, self.swagger2) is not None:
                return name, scheme
        return None


def _auth_kind(scheme: dict[str, Any], swagger2: bool) -> str | None:
    t = str(scheme.get("type", "")).lower()
    if t == "http":
        s = str(scheme.get("scheme", "")).lower()
        return {"bearer": "bearer", "basic": "basic"}.get(s)
    if t == "basic" and swagger2:
        return "basic"
    if t in ("oauth2", "openidconnect"):
        return "bearer"
    if t == "apikey" and scheme.get("in") in ("header", "query") and scheme.get("name"):
        return "apikey"
    return None


# -- operations -------------------------------------------------------------------------------------


@dataclass
class _Param:
    name: str  # as sent upstream (query/header/cookie) or the placeholder name (path)
    location: str
    type: str
    required: bool
    description: str


@dataclass
class _Op:
    path: str  # upstream path, placeholders renamed
    method: str
    op_id: str
    summary: str
    description: str
    tag: str
    params: list[_Param]
    body: _Param | None


def _is_json(media: str) -> bool:
    m = media.split(";")[0].strip().lower()
    return m in ("application/json", "*/*", "text/json") or m.endswith("+json")


class _Collector:
    def __init__(self, doc: _Doc, notes: list[str]) -> None:
        self.doc = doc
        self.notes = notes

    def note(self, method: str, path: str, what: str) -> None:
        self.notes.append(f"{method.upper()} {path}: {what}")

    def operations(self) -> list[_Op]:
        paths = self.doc.doc.get("paths")
        if not isinstance(paths, dict) or not paths:
            raise ImportError_("the document has no 'paths'")
        ops: list[_Op] = []
        for raw_path, item in paths.items():
            item = self.doc.resolve(item)
            if not isinstance(raw_path, str):
                continue
            for method in OTHER_METHODS:
                if method in item:
                    self.note(method, raw_path, "method not supported by Naftiko; skipped")
            for method in METHODS:
                if isinstance(item.get(method), dict):
                    op = self.operation(raw_path, method, item, item[method])
                    if op is not None:
                        ops.append(op)
        return ops

    def operation(
        self, raw_path: str, method: str, item: dict[str, Any], op: dict[str, Any]
    ) -> _Op | None:
        path_part = raw_path.split("?")[0].split("#")[0]
        if path_part != raw_path or not _PRINTABLE_PATH.match(raw_path):
            self.note(
                method, raw_path, "path with a query, spaces or non-ASCII characters; skipped"
            )
            return None
        renames: dict[str, str] = {}
        for raw in _PLACEHOLDER.findall(raw_path):
            renames[raw] = _placeholder_name(raw)
        if len(set(renames.values())) != len(renames):
            self.note(method, raw_path, "path placeholders that clash once sanitised; skipped")
            return None
        path = _PLACEHOLDER.sub(lambda m: "{" + renames[m.group(1)] + "}", raw_path)
        if "{" in _PLACEHOLDER.sub("", path) or "}" in _PLACEHOLDER.sub("", path):
            self.note(method, raw_path, "unbalanced braces in the path; skipped")
            return None

        merged: dict[tuple[str, str], dict[str, Any]] = {}
        for source in (item.get("parameters") or [], op.get("parameters") or []):
            for p in source if isinstance(source, list) else []:
                p = self.doc.resolve(p)
                if isinstance(p.get("name"), str) and isinstance(p.get("in"), str):
                    merged[(p["in"], p["name"])] = p
        params: list[_Param] = []
        body: _Param | None = None
        names: set[str] = set(renames.values())
        path_descriptions: dict[str, str] = {}
        for (location, name), p in merged.items():
            if location == "path":
                if name in renames:
                    path_descriptions[renames[name]] = _text(p.get("description"), 300)
                continue
            if location == "body" and self.doc.swagger2:
                if method != "get":
                    body = _Param(
                        "body",
                        "body",
                        self.doc.schema_type(p.get("schema")) if p.get("schema") else "object",
                        bool(p.get("required")),
                        _text(p.get("description"), 300) or "Request body (JSON).",
                    )
                continue
            if location not in ("query", "header", "cookie"):
                if p.get("required"):
                    self.note(method, raw_path, f"required {location} parameter '{name}'; skipped")
                    return None
                self.note(method, raw_path, f"{location} parameter '{name}' not imported")
                continue
            if location == "header" and name.lower() in ("authorization", "content-type", "accept"):
                continue  # auth and content negotiation are the generated client's job
            if not _PARAM_NAME.match(name) or name in names or name == "body":
                if p.get("required"):
                    self.note(
                        method, raw_path, f"required parameter name '{name}' not usable; skipped"
                    )
                    return None
                self.note(method, raw_path, f"parameter name '{name}' not usable; not imported")
                continue
            names.add(name)
            schema = p.get("schema") if not self.doc.swagger2 else p
            typ = self.doc.schema_type(schema) if schema else "string"
            params.append(
                _Param(
                    name,
                    location,
                    typ,
                    bool(p.get("required")),
                    _text(p.get("description"), 300)
                    or f"{location.capitalize()} parameter '{name}'.",
                )
            )

        if not self.doc.swagger2 and op.get("requestBody") is not None:
            rb = self.doc.resolve(op.get("requestBody"))
            content = rb.get("content") if isinstance(rb.get("content"), dict) else {}
            json_media = next((m for m in content if _is_json(str(m))), None)
            required = bool(rb.get("required"))
            if method == "get":
                self.note(method, raw_path, "request body on GET not imported")
            elif json_media is not None:
                schema = self.doc.resolve((content[json_media] or {}).get("schema"))
                body = _Param(
                    "body",
                    "body",
                    self.doc.schema_type(schema) if schema else "object",
                    required,
                    _text(rb.get("description"), 300) or "Request body (JSON).",
                )
            elif required:
                self.note(
                    method, raw_path, f"request body of type {', '.join(content)} only; skipped"
                )
                return None
            else:
                self.note(method, raw_path, "non-JSON request body not imported")
        if self.doc.swagger2 and body is None and method != "get":
            consumes = op.get("consumes") or self.doc.doc.get("consumes") or ["application/json"]
            form = [p for (loc, _), p in merged.items() if loc == "formData"]
            if form and any(p.get("required") for p in form):
                self.note(method, raw_path, f"form body ({', '.join(consumes)}) only; skipped")
                return None

        for raw, name in renames.items():
            params.insert(
                0,
                _Param(
                    name,
                    "path",
                    "string",
                    True,
                    path_descriptions.get(name) or f"Path parameter '{raw}'.",
                ),
            )
        # Keep path parameters in path order.
        path_params = [p for p in params if p.location == "path"]
        order = list(renames.values())
        path_params.sort(key=lambda p: order.index(p.name))
        params = path_params + [p for p in params if p.location != "path"]

        tags = op.get("tags")
        tag = str(tags[0]) if isinstance(tags, list) and tags else ""
        summary = _text(op.get("summary"), 200)
        description = _text(op.get("description"))
        op_id = op.get("operationId")
        if not isinstance(op_id, str) or not kebab(op_id):
            op_id = f"{method}-{raw_path}"
        return _Op(path, method, op_id, summary, description, tag, params, body)


# -- building the specs -----------------------------------------------------------------------------

HINTS = {
    "get": {"readOnly": True, "destructive": False, "idempotent": True},
    "put": {"readOnly": False, "destructive": False, "idempotent": True},
    "delete": {"readOnly": False, "destructive": True, "idempotent": True},
    "post": {"readOnly": False, "destructive": False, "idempotent": False},
    "patch": {"readOnly": False, "destructive": False, "idempotent": False},
}


def _route_key(method: str, path: str) -> tuple[str, str]:
    return method, _PLACEHOLDER.sub("{}", path).lower()


def _exposed_path(path: str) -> str:
    return "/v1" + (path.rstrip("/") if path != "/" else "")


@dataclass
class _Auth:
    block: dict[str, Any]
    keys: list[str]


def _auth(doc: _Doc, env_prefix: str) -> _Auth | None:
    found = doc.security_scheme()
    if found is None:
        return None
    _, scheme = found
    kind = _auth_kind(scheme, doc.swagger2)
    if kind == "bearer":
        var = f"{env_prefix}_TOKEN"
        return _Auth({"type": "bearer", "token": "{{env." + var + "}}"}, [var])
    if kind == "basic":
        user, password = f"{env_prefix}_USERNAME", f"{env_prefix}_PASSWORD"
        return _Auth(
            {
                "type": "basic",
                "username": "{{env." + user + "}}",
                "password": "{{env." + password + "}}",
            },
            [user, password],
        )
    var = f"{env_prefix}_API_KEY"
    return _Auth(
        {
            "type": "apikey",
            "key": str(scheme["name"]),
            "value": "{{env." + var + "}}",
            "placement": str(scheme["in"]),
        },
        [var],
    )


def _capability(
    *,
    title: str,
    label: str,
    description: str,
    tags: list[str],
    namespace: str,
    base_uri: str,
    auth: _Auth | None,
    ops: list[_Op],
    notes: list[str],
) -> tuple[dict[str, Any], int]:
    resources: dict[str, dict[str, Any]] = {}
    rest_resources: dict[str, dict[str, Any]] = {}
    tools: list[dict[str, Any]] = []
    resource_names = _Unique(MAX_NAME)
    rest_names = _Unique(MAX_NAME)
    op_names = _Unique(MAX_NAME)
    tool_names = _Unique(MAX_TOOL_NAME)
    routes: set[tuple[str, str]] = set()
    count = 0
    for op in ops:
        exposed = _exposed_path(op.path)
        key = _route_key(op.method, exposed)
        if key in routes:
            notes.append(
                f"{op.method.upper()} {op.path}: same route as another operation once compared "
                "without case; skipped"
            )
            continue
        routes.add(key)
        count += 1
        op_name = op_names.take(kebab(op.op_id))
        text = op.summary or op.description or f"{op.method.upper()} {op.path}"
        long_text = text
        if op.summary and op.description and op.description != op.summary:
            long_text = (
                f"{op.summary}. {op.description}"
                if op.summary[-1:] not in ".!?"
                else (f"{op.summary} {op.description}")
            )

        consumed_inputs: list[dict[str, Any]] = [
            {
                "name": p.name,
                "in": p.location,
                "type": p.type,
                "description": p.description,
                "required": p.required,
            }
            for p in op.params
            if p.location != "path"
        ]
        if op.body is not None:
            consumed_inputs.append(
                {
                    "name": "body",
                    "in": "body",
                    "type": op.body.type,
                    "description": op.body.description,
                    "required": op.body.required,
                }
            )
        consumed_op: dict[str, Any] = {
            "name": op_name,
            "method": op.method.upper(),
            "description": text,
            "outputRawFormat": "json",
            "outputParameters": [{"name": "result", "type": "object", "value": "$."}],
        }
        if consumed_inputs:
            consumed_op["inputParameters"] = consumed_inputs
        resource = resources.get(op.path)
        if resource is None:
            resource = {
                "name": resource_names.take(kebab(op.path) or "root"),
                "path": op.path,
                "operations": [],
            }
            resources[op.path] = resource
        resource["operations"].append(consumed_op)

        call = f"{namespace}.{op_name}"
        forwarded = [p.name for p in op.params if p.location != "path"]
        if op.body is not None:
            forwarded.append("body")
        rest_op: dict[str, Any] = {
            "method": op.method.upper(),
            "name": op_name,
            "description": text,
            "call": call,
        }
        if forwarded:
            rest_op["with"] = {name: f"rest.{name}" for name in forwarded}
        rest_op["outputParameters"] = [{"type": "object", "mapping": "$."}]
        rest_resource = rest_resources.get(exposed.lower())
        if rest_resource is None:
            rest_resource = {
                "path": exposed,
                "name": rest_names.take(kebab(exposed[3:]) or "root"),
                "description": f"REST surface for {op.path}.",
                "operations": [],
            }
            rest_resources[exposed.lower()] = rest_resource
        elif rest_resource["path"] != exposed:
            # Same path up to placeholder names: reuse the first spelling's placeholders.
            notes.append(f"{op.method.upper()} {op.path}: placeholder names differ; skipped")
            count -= 1
            resource["operations"].pop()
            if not resource["operations"]:
                del resources[op.path]
            continue
        rest_resource["operations"].append(rest_op)

        tool_inputs = [
            {
                "name": p.name,
                "type": p.type,
                "description": p.description,
                "required": p.required,
            }
            for p in op.params
        ]
        if op.body is not None:
            tool_inputs.append(
                {
                    "name": "body",
                    "type": op.body.type,
                    "description": op.body.description,
                    "required": op.body.required,
                }
            )
        tool: dict[str, Any] = {
            "name": tool_names.take(kebab(op.op_id)),
            "description": _text(long_text),
            "hints": dict(HINTS[op.method]),
        }
        if tool_inputs:
            tool["inputParameters"] = tool_inputs
        tool["call"] = call
        if forwarded:
            tool["with"] = {name: f"tools.{name}" for name in forwarded}
        tool["outputParameters"] = [{"type": "object", "mapping": "$."}]
        tools.append(tool)

    consumes: dict[str, Any] = {
        "type": "http",
        "namespace": namespace,
        "baseUri": base_uri,
        "description": description,
        "resources": list(resources.values()),
    }
    if auth is not None:
        consumes["authentication"] = dict(auth.block)
    spec: dict[str, Any] = {
        "naftiko": "1.0.0-alpha2",
        "info": {"label": label, "description": description, "tags": tags},
    }
    if auth is not None:
        spec["binds"] = [{"namespace": "env", "keys": {k: k for k in auth.keys}}]
    spec["capability"] = {
        "consumes": [consumes],
        "exposes": [
            {
                "type": "rest",
                "namespace": f"{namespace}-rest",
                "port": REST_PORT,
                "resources": list(rest_resources.values()),
            },
            {
                "type": "mcp",
                "namespace": f"{namespace}-mcp",
                "port": MCP_PORT,
                "transport": "http",
                "description": f"MCP adapter for {label}. One tool per operation of {title}.",
                "tools": tools,
            },
        ],
    }
    return spec, count


_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Dumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):  # type: ignore[misc]
    """No anchors or aliases: every node is written out where it is used."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def dump(spec: dict[str, Any]) -> str:
    text = yaml.dump(
        spec,
        Dumper=_Dumper,
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
        width=120,
    )
    # Round trip: what we wrote reads back as exactly what we meant.
    assert yaml.load(text, Loader=_Loader) == json.loads(json.dumps(spec))  # noqa: S506
    return text


def load_document(path: Path) -> dict[str, Any]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ImportError_(f"cannot read {path}: {exc.strerror or exc}") from exc
    if path.suffix == ".gz":
        import gzip

        raw = gzip.decompress(raw)
    try:
        doc = json.loads(raw)
    except ValueError:
        doc = None
    try:
        if doc is None:
            doc = yaml.load(raw, Loader=_Loader)  # noqa: S506 - a safe loader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ImportError_(f"{path}: not valid YAML or JSON{where}") from exc
    if not isinstance(doc, dict) or not (
        str(doc.get("openapi", "")).startswith("3") or str(doc.get("swagger", "")).startswith("2")
    ):
        raise ImportError_(f"{path}: not an OpenAPI 3.x or Swagger 2.0 document")
    return doc


def import_openapi(
    document: dict[str, Any],
    *,
    by: str = "document",
    name: str | None = None,
    base_uri: str | None = None,
    env_prefix: str | None = None,
) -> ImportResult:
    """Build the capability specs for one document. Raises ImportError_ when nothing can be."""
    doc = _Doc(document)
    raw_info = document.get("info")
    info: dict[str, Any] = raw_info if isinstance(raw_info, dict) else {}
    title = _text(info.get("title"), 120) or "API"
    slug = kebab(name) if name else slug_from_title(title)
    if not slug:
        raise ImportError_("--name must contain letters or digits")
    prefix = env_name(env_prefix) if env_prefix else env_prefix_from_title(title)
    if not prefix[0].isalpha():
        prefix = "API_" + prefix
    result = ImportResult()
    uri = doc.base_uri(base_uri)
    auth = _auth(doc, prefix)
    ops = _Collector(doc, result.notes).operations()
    doc_description = _text(info.get("description")) or title

    groups: dict[str, list[_Op]] = {}
    tag_text: dict[str, str] = {}
    for t in document.get("tags") or []:
        if isinstance(t, dict) and isinstance(t.get("name"), str):
            tag_text[t["name"]] = _text(t.get("description"))
            if by == "tag":
                groups.setdefault(t["name"], [])
    for op in ops:
        groups.setdefault(op.tag if by == "tag" else "", []).append(op)

    file_names = _Unique(MAX_NAME)
    for tag, members in groups.items():
        if not members:
            continue
        if by == "tag":
            tag_slug = kebab(tag) or "untagged"
            base = f"{slug}-{tag_slug}"
            label = f"{title} — {tag or 'untagged'}"
            what = tag_text.get(tag) or f"The '{tag or 'untagged'}' operations of {title}."
            description = f"{label}. {len(members)} operation(s). {what}"
            tags = [title, tag] if tag else [title]
        else:
            base = slug
            label = title
            description = doc_description
            tags = [title]
        file_base = file_names.take(base)
        spec, count = _capability(
            title=title,
            label=label,
            description=_text(description),
            tags=tags,
            namespace=_cap(file_base, 60),
            base_uri=uri,
            auth=auth,
            ops=members,
            notes=result.notes,
        )
        if count == 0:
            continue
        result.operations += count
        result.files[f"{file_base}.yaml"] = dump(spec)
    if not result.files:
        raise ImportError_("no operation could be imported")
    return result


def run_import(
    file: Path,
    by: str,
    out_dir: Path,
    name: str | None,
    base_uri: str | None,
    env_prefix: str | None,
    force: bool,
) -> int:
    """The command: import, refuse to overwrite (unless force), write. Exit 0, or 2 on bad input."""
    import click

    try:
        result = import_openapi(
            load_document(file), by=by, name=name, base_uri=base_uri, env_prefix=env_prefix
        )
    except ImportError_ as exc:
        click.echo(f"naftiko-gen: {exc}", err=True)
        return 2
    existing = sorted(n for n in result.files if (out_dir / n).exists())
    if existing and not force:
        click.echo(
            f"naftiko-gen: {len(existing)} spec(s) already exist in {out_dir.as_posix()}/ "
            f"({', '.join(existing[:5])}{' ...' if len(existing) > 5 else ''}); nothing was "
            "written (use --force to overwrite)",
            err=True,
        )
        return 2
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        for file_name, text in result.files.items():
            (out_dir / file_name).write_text(text, encoding="utf-8")
    except OSError as exc:
        click.echo(
            f"naftiko-gen: cannot write {out_dir.as_posix()}/: {exc.strerror or exc}", err=True
        )
        return 2
    for note in result.notes:
        click.echo(f"naftiko-gen: note: {note}", err=True)
    click.echo(
        f"imported {result.operations} operation(s) into {len(result.files)} spec(s) in "
        f"{out_dir.as_posix()}/" + (f"; {len(result.notes)} note(s)" if result.notes else "")
    )
    return 0
