"""OpenAPI enrichment: what an upstream's own OpenAPI document says about a consumed operation.

Optional, per consumes namespace (`build --openapi NS=FILE`, or `openapi/<NS>.yaml` beside the
spec). A consumed operation is matched by method and path template; from the document come:

- the request body's JSON Schema (for the MCP tool's `inputSchema.properties.body` and the served
  OpenAPI document's requestBody),
- query parameter types, enums and descriptions,
- the success response's JSON Schema (`outputSchema` of pass-through tools, `openapi.json`) and
  its example (the mock upstream of `naftiko-gen serve --mock`).

Schemas are converted to self-contained JSON Schema 2020-12: local `$ref`s resolved (cycles cut to
`{}`), `allOf` merged, `oneOf` relaxed to `anyOf`, OpenAPI 3.0 `nullable` and boolean
`exclusiveMinimum` translated, `readOnly` properties left out of requests and `writeOnly` ones
out of responses, patterns Python cannot compile dropped. Reading files is the caller's business
(`load_document`); everything here is a pure function of the parsed document.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from naftiko_gen import mustache
from naftiko_gen.plan import ir

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
# Nested levels kept before a schema is cut to `{}` (any value): real documents nest deeply.
MAX_DEPTH = 12
_KEEP = (
    "title", "description", "format", "default", "const", "multipleOf", "maximum", "minimum",
    "maxLength", "minLength", "maxItems", "minItems", "uniqueItems", "maxProperties",
    "minProperties", "readOnly", "writeOnly", "deprecated",
)  # fmt: skip
JSON_TYPES = ("string", "number", "integer", "boolean", "array", "object", "null")


class DocumentError(Exception):
    """The file is not an OpenAPI document naftiko-gen can read (one line)."""


@dataclass
class QueryParam:
    name: str
    schema: dict[str, Any]
    required: bool = False


@dataclass
class OperationInfo:
    """What the document says about one operation."""

    method: str
    path: str  # the document's path template
    operation_id: str | None = None
    body_schema: dict[str, Any] | None = None
    body_required: bool = False
    query: dict[str, QueryParam] = field(default_factory=dict)
    status: int = 200  # the first 2xx response
    response_schema: dict[str, Any] | None = None
    response_example: Any = None
    has_example: bool = False


@dataclass
class Document:
    """A parsed OpenAPI 3.x / Swagger 2.0 document and where it came from (for messages)."""

    source: str
    doc: dict[str, Any]
    _index: dict[tuple[str, str], tuple[str, str]] | None = None

    @property
    def swagger2(self) -> bool:
        return str(self.doc.get("swagger", "")).startswith("2")

    def operation(self, method: str, path: str) -> OperationInfo | None:
        """The operation at METHOD PATH (placeholders compared by position, not by name)."""
        if self._index is None:
            self._index = {}
            paths = self.doc.get("paths")
            for p, item in (paths if isinstance(paths, dict) else {}).items():
                if not isinstance(p, str) or not isinstance(item, dict):
                    continue
                for m in METHODS:
                    if isinstance(item.get(m), dict):
                        self._index.setdefault((m, shape(p)), (p, m))
                        self._index.setdefault((m, shape(p).lower()), (p, m))
        m = method.lower()
        found = self._index.get((m, shape(path))) or self._index.get((m, shape(path).lower()))
        if found is None:
            return None
        return _Reader(self).operation(*found)


def shape(path: str) -> str:
    """A path template with every placeholder as `{}`: `/a/{id}` and `/a/{{x}}` → `/a/{}`."""
    if "{{" in path:
        parts = mustache.parse_path(path)
        path = "".join("{}" if isinstance(p, mustache.Var) else p for p in parts)
    path = re.sub(r"\{[^{}]*\}", "{}", path)
    path = "/" + path.strip("/") if path not in ("", "/") else "/"
    return path


def parse_document(source: str, data: Any) -> Document:
    if not isinstance(data, dict) or not (
        str(data.get("openapi", "")).startswith("3") or str(data.get("swagger", "")).startswith("2")
    ):
        raise DocumentError("not an OpenAPI 3.x or Swagger 2.0 document")
    return Document(source, data)


def load_document(path: Path) -> Document:
    """Read and parse FILE (YAML or JSON, also .gz); DocumentError with one line on failure."""
    from naftiko_gen.openapi_import import ImportError_
    from naftiko_gen.openapi_import import load_document as load

    try:
        data = load(path)
    except ImportError_ as exc:
        raise DocumentError(str(exc).removeprefix(f"{path}: ")) from exc
    except RecursionError as exc:
        raise DocumentError("the document nests too deeply to read") from exc
    return parse_document(path.as_posix(), data)


class _Reader:
    def __init__(self, document: Document) -> None:
        self.document = document
        self.doc = document.doc

    def deref(self, node: Any) -> tuple[Any, str | None]:
        """Follow local $refs; the last ref followed (for cycle detection)."""
        ref_seen = None
        for _ in range(32):
            if not (isinstance(node, dict) and isinstance(node.get("$ref"), str)):
                return node, ref_seen
            ref = node["$ref"]
            if not ref.startswith("#/"):
                return {}, ref
            target: Any = self.doc
            for part in ref[2:].split("/"):
                part = part.replace("~1", "/").replace("~0", "~")
                if not isinstance(target, dict) or part not in target:
                    return {}, ref
                target = target[part]
            node, ref_seen = target, ref
        return {}, ref_seen

    # -- operations ------------------------------------------------------------------------

    def operation(self, path: str, method: str) -> OperationInfo:
        item = self.doc["paths"][path]
        op = item[method]
        info = OperationInfo(method.upper(), path)
        if isinstance(op.get("operationId"), str):
            info.operation_id = op["operationId"]
        params = [*_list(item.get("parameters")), *_list(op.get("parameters"))]
        for raw in params:
            p, _ = self.deref(raw)
            if not isinstance(p, dict) or not isinstance(p.get("name"), str):
                continue
            where = p.get("in")
            if where == "query":
                info.query[p["name"]] = QueryParam(
                    p["name"], self.param_schema(p), p.get("required") is True
                )
            elif where == "body" and self.document.swagger2:
                info.body_schema = self.schema(p.get("schema"), "request")
                info.body_required = p.get("required") is True
        body, _ = self.deref(op.get("requestBody"))
        if isinstance(body, dict):
            media = _json_media(body.get("content"))
            if media is not None:
                info.body_schema = self.schema(media.get("schema"), "request")
                info.body_required = body.get("required") is True
        self.response(op, info)
        return info

    def param_schema(self, p: dict[str, Any]) -> dict[str, Any]:
        if "schema" in p:
            s = self.schema(p["schema"], "request")
        else:  # Swagger 2.0: the schema keywords sit on the parameter
            s = self.schema({k: v for k, v in p.items() if k not in ("name", "in")}, "request")
        if isinstance(p.get("description"), str) and "description" not in s:
            s["description"] = p["description"]
        return s

    def response(self, op: dict[str, Any], info: OperationInfo) -> None:
        responses = op.get("responses")
        if not isinstance(responses, dict):
            return
        codes = sorted(str(c) for c in responses if re.fullmatch(r"2\d\d", str(c)))
        if not codes:
            return
        code = codes[0]
        info.status = int(code)
        resp, _ = self.deref(responses.get(code, responses.get(int(code))))
        if not isinstance(resp, dict):
            return
        if self.document.swagger2:
            if "schema" in resp:
                info.response_schema = self.schema(resp["schema"], "response")
            examples = resp.get("examples")
            if isinstance(examples, dict):
                for media, value in examples.items():
                    if "json" in str(media):
                        info.response_example, info.has_example = value, True
                        break
            return
        media = _json_media(resp.get("content"))
        if media is None:
            return
        if "schema" in media:
            info.response_schema = self.schema(media["schema"], "response")
        if "example" in media:
            info.response_example, info.has_example = media["example"], True
        elif isinstance(media.get("examples"), dict):
            for ex in media["examples"].values():
                ex, _ = self.deref(ex)
                if isinstance(ex, dict) and "value" in ex:
                    info.response_example, info.has_example = ex["value"], True
                    break

    # -- schemas ---------------------------------------------------------------------------

    def schema(self, node: Any, mode: str) -> dict[str, Any]:
        """A self-contained JSON Schema 2020-12 for an OpenAPI schema object."""
        return self.convert(node, mode, (), 0)

    def convert(self, node: Any, mode: str, stack: tuple[str, ...], depth: int) -> dict[str, Any]:
        if node is True or node is None:
            return {}
        if node is False:
            return {"not": {}}
        target, ref = self.deref(node)
        if ref is not None:
            if ref in stack:
                return {}  # a cycle: the recursive part accepts any value
            stack = (*stack, ref)
        if not isinstance(target, dict) or depth > MAX_DEPTH:
            return {}
        s = self.merge_all_of(target)
        out: dict[str, Any] = {}
        for key in _KEEP:
            if key in s and not isinstance(s[key], dict):
                out[key] = copy.deepcopy(s[key])
        t = s.get("type")
        types = [x for x in (t if isinstance(t, list) else [t]) if x in JSON_TYPES]
        if not types and isinstance(s.get("properties"), dict):
            types = ["object"]
        nullable = s.get("nullable") is True or s.get("x-nullable") is True
        if nullable and types and "null" not in types:
            types.append("null")
        if types:
            out["type"] = types[0] if len(types) == 1 else types
        if isinstance(s.get("enum"), list):
            enum = copy.deepcopy(s["enum"])
            if nullable and None not in enum:
                enum.append(None)
            out["enum"] = enum
        if "example" in s and "examples" not in s:
            out["examples"] = [copy.deepcopy(s["example"])]
        elif isinstance(s.get("examples"), list):
            out["examples"] = copy.deepcopy(s["examples"])
        if isinstance(s.get("pattern"), str):
            try:
                re.compile(s["pattern"])
                out["pattern"] = s["pattern"]
            except (re.error, RecursionError, OverflowError):
                pass  # ECMA syntax Python does not read: the upstream still checks it
        for bound, exclusive in (("minimum", "exclusiveMinimum"), ("maximum", "exclusiveMaximum")):
            value = s.get(exclusive)
            if value is True and isinstance(s.get(bound), (int, float)):
                out[exclusive] = out.pop(bound)  # 3.0: a flag on the bound
            elif isinstance(value, (int, float)) and not isinstance(value, bool):
                out[exclusive] = value
        if isinstance(s.get("properties"), dict):
            props: dict[str, Any] = {}
            skipped: set[str] = set()
            for name, sub in s["properties"].items():
                sub_target, _ = self.deref(sub)
                if isinstance(sub_target, dict) and sub_target.get(_HIDDEN[mode]) is True:
                    skipped.add(str(name))
                    continue
                props[str(name)] = self.convert(sub, mode, stack, depth + 1)
            out["properties"] = props
            if isinstance(s.get("required"), list):
                required = [r for r in s["required"] if isinstance(r, str) and r not in skipped]
                if required:
                    out["required"] = list(dict.fromkeys(required))
        elif isinstance(s.get("required"), list) and all(isinstance(r, str) for r in s["required"]):
            out["required"] = list(dict.fromkeys(s["required"]))
        extra = s.get("additionalProperties")
        if isinstance(extra, bool):
            out["additionalProperties"] = extra
        elif isinstance(extra, dict):
            out["additionalProperties"] = self.convert(extra, mode, stack, depth + 1)
        if "items" in s:
            out["items"] = self.convert(s["items"], mode, stack, depth + 1)
        for key in ("oneOf", "anyOf"):
            subs = s.get(key)
            if isinstance(subs, list) and subs:
                # oneOf → anyOf: OpenAPI alternatives overlap often; exclusivity is the upstream's.
                alternatives = [self.convert(x, mode, stack, depth + 1) for x in subs]
                out["anyOf"] = out.get("anyOf", []) + alternatives
        if nullable and "anyOf" in out and {"type": "null"} not in out["anyOf"]:
            out["anyOf"].append({"type": "null"})
        return out

    def merge_all_of(self, s: dict[str, Any], depth: int = 0) -> dict[str, Any]:
        """`allOf` folded into one schema: properties and required united, first keyword wins."""
        parts = s.get("allOf")
        if not isinstance(parts, list) or depth > MAX_DEPTH:
            return s
        merged: dict[str, Any] = {k: v for k, v in s.items() if k != "allOf"}
        props: dict[str, Any] = dict(merged.get("properties") or {})
        required: list[Any] = list(merged.get("required") or [])
        for part in parts:
            target, _ = self.deref(part)
            if not isinstance(target, dict):
                continue
            target = self.merge_all_of(target, depth + 1)
            for k, v in target.items():
                if k == "properties" and isinstance(v, dict):
                    for name, sub in v.items():
                        props.setdefault(name, sub)
                elif k == "required" and isinstance(v, list):
                    required += [r for r in v if r not in required]
                elif k == "nullable" and v is True and len(parts) == 1:
                    merged["nullable"] = True  # allOf: [X] with nullable on the wrapper or on X
                else:
                    merged.setdefault(k, v)
        if props:
            merged["properties"] = props
        if required:
            merged["required"] = required
        return merged


_HIDDEN = {"request": "readOnly", "response": "writeOnly"}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _json_media(content: Any) -> dict[str, Any] | None:
    if not isinstance(content, dict):
        return None
    for media, value in content.items():
        kind = str(media).split(";")[0].strip().lower()
        if (kind == "application/json" or kind.endswith("+json")) and isinstance(value, dict):
            return value
    for media, value in content.items():
        if str(media).startswith("*/*") and isinstance(value, dict):
            return value
    return None


# -- examples for the mock upstream -------------------------------------------------------------


def example_from_schema(schema: Any, depth: int = 0) -> Any:
    """A small value valid against `schema` (as converted above): required properties only."""
    if not isinstance(schema, dict) or depth > MAX_DEPTH:
        return None
    if "const" in schema:
        return copy.deepcopy(schema["const"])
    if isinstance(schema.get("examples"), list) and schema["examples"]:
        return copy.deepcopy(schema["examples"][0])
    if "default" in schema:
        return copy.deepcopy(schema["default"])
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return copy.deepcopy(schema["enum"][0])
    if isinstance(schema.get("anyOf"), list) and schema["anyOf"] and "type" not in schema:
        return example_from_schema(schema["anyOf"][0], depth + 1)
    t = schema.get("type")
    types = t if isinstance(t, list) else [t]
    kind = next((x for x in types if x not in (None, "null")), None)
    if kind is None:
        if "properties" in schema:
            kind = "object"
        elif "items" in schema:
            kind = "array"
        elif "null" in types:
            return None
        else:
            return "example"
    if kind == "object":
        props = schema.get("properties") or {}
        required = schema.get("required") or []
        out: dict[str, Any] = {}
        for name in props:
            if name in required or len(out) < 3:
                out[name] = example_from_schema(props[name], depth + 1)
        for name in required:
            if name not in out:
                out[name] = "example"
        return out
    if kind == "array":
        count = max(1, int(schema.get("minItems") or 1))
        if schema.get("maxItems") == 0:
            return []
        return [example_from_schema(schema.get("items"), depth + 1) for _ in range(count)]
    if kind in ("integer", "number"):
        low = schema.get("minimum", schema.get("exclusiveMinimum"))
        value: Any = 1
        if isinstance(low, (int, float)) and not isinstance(low, bool):
            value = int(low) + 1 if "exclusiveMinimum" in schema else low
        high = schema.get("maximum")
        if isinstance(high, (int, float)) and value > high:
            value = high
        return int(value) if kind == "integer" else value
    if kind == "boolean":
        return True
    return _string_example(schema)


_FORMATS = {
    "uuid": "3fa85f64-5717-4562-b3fc-2c963f66afa6",
    "date-time": "2026-01-01T00:00:00Z",
    "date": "2026-01-01",
    "time": "00:00:00Z",
    "email": "user@example.com",
    "uri": "https://example.com",
    "url": "https://example.com",
    "hostname": "example.com",
    "ipv4": "192.0.2.1",
    "ipv6": "2001:db8::1",
}


def _string_example(schema: dict[str, Any]) -> str:
    text = _FORMATS.get(str(schema.get("format", "")), "string")
    low = schema.get("minLength")
    if isinstance(low, int) and len(text) < low:
        text = text + "x" * (low - len(text))
    high = schema.get("maxLength")
    if isinstance(high, int) and len(text) > high:
        text = text[:high]
    return text


# -- applying a document to the plan ------------------------------------------------------------


class Enricher:
    """Fills the enrichment fields of the plan (ir.Input.json_schema, ir.Tool.output_schema, …)."""

    def __init__(self, documents: dict[str, Document], report: Any) -> None:
        self.documents = documents
        self.report = report
        self.done: set[str] = set()

    def operation(self, co: Any, op: Any) -> Any:
        """The document's view of a consumed operation (ir.UpstreamOp), matched once."""
        if op.key in self.done:
            return op.openapi
        self.done.add(op.key)
        document = self.documents.get(co.consumes.namespace)
        if document is None:
            return None
        op.openapi = document.operation(op.method, op.path_display)
        if op.openapi is None:
            self.report.warning(
                "naftiko-openapi-unmatched",
                f"{op.method} {op.path_display} is not in {document.source} (matched by method "
                "and path template); this operation is generated without its schemas",
                co.op.pos,
            )
        return op.openapi

    def action(self, co: Any, action: Any) -> bool:
        """Schemas for the inputs that feed the body or a query parameter; True when any did."""
        call = action.call
        if call is None:
            return False
        info = self.operation(co, call.op)
        if info is None:
            return False
        feeds = _feeds(call)
        changed = False
        for i in action.inputs:
            target = feeds.get(i.py)
            if target is None:
                continue
            where, name = target
            schema: dict[str, Any] | None = None
            if where == "body" and info.body_schema is not None and i.type in ("object", ""):
                schema = info.body_schema
            elif where == "field" and info.body_schema is not None:
                sub = (info.body_schema.get("properties") or {}).get(name)
                schema = sub if isinstance(sub, dict) and _compatible(sub, i.type) else None
            elif where == "query" and name in info.query:
                sub = info.query[name].schema
                schema = sub if _compatible(sub, i.type) else None
            if schema is not None:
                i.json_schema = schema
                changed = True
        return changed

    @staticmethod
    def output_schema(action: Any) -> dict[str, Any] | None:
        """The tool's outputSchema: only a pass-through of a JSON object the document describes."""
        call = action.call
        if call is None or action.output is not None or action.output_format != "json":
            return None
        info = call.op.openapi
        schema = info.response_schema if info is not None else None
        if not isinstance(schema, dict) or schema.get("type") != "object":
            return None
        return schema


def _feeds(call: Any) -> dict[str, tuple[str, str]]:
    """Handler variable → (body | field | query, upstream name) for inputs passed as they are."""

    by_kwarg = {k: v.name for k, v in call.kwargs if isinstance(v, ir.ArgRef)}
    op = call.op
    out: dict[str, tuple[str, str]] = {}
    body = op.body
    if body is not None and body.kind == "json" and isinstance(body.value, ir.ArgRef):
        if body.value.name in by_kwarg:
            out[by_kwarg[body.value.name]] = ("body", "")
    elif body is not None and body.kind == "fields" and isinstance(body.value, dict):
        for name, value in body.value.items():
            if isinstance(value, ir.ArgRef) and value.name in by_kwarg:
                out[by_kwarg[value.name]] = ("field", name)
    for placed in op.query:
        if isinstance(placed.value, ir.ArgRef) and placed.value.name in by_kwarg:
            out[by_kwarg[placed.value.name]] = ("query", placed.name)
    return out


def _compatible(schema: dict[str, Any], declared: str) -> bool:
    """The document's type agrees with the type the generated code checks (or says nothing)."""
    t = schema.get("type")
    types = set(t) if isinstance(t, list) else {t}
    types.discard("null")
    if not declared or None in types or not types:
        return True
    return declared in types or (declared == "number" and "integer" in types)
