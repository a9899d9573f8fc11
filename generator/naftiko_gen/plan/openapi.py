"""The OpenAPI 3.1 document a REST server serves, built from its planned routes."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

from naftiko_gen import mustache
from naftiko_gen.plan import ir
from naftiko_gen.plan.portable import portable, typed_schema

PATH_SAFE = "/:@!$&'()*+,;=-._~%"  # as plan.consumed: what a path keeps unencoded
ERROR_REF = {"$ref": "#/components/schemas/Error"}


def openapi_document(title: str, description: str | None, server: ir.RestServer) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for route in server.routes:
        oas_path = "".join(
            "{" + p.name + "}" if isinstance(p, mustache.Var) else quote(p, safe=PATH_SAFE)
            for p in mustache.parse_path(route.spec_path)
        )
        if not oas_path.startswith("/"):
            oas_path = "/" + oas_path
        op: dict[str, Any] = {}
        if route.name:
            op["operationId"] = route.name
        if route.label:
            op["summary"] = route.label
        if route.description:
            op["description"] = route.description
        if not route.label and route.description:
            # Clients name and list operations by their summary.
            op["summary"] = route.description.split(". ")[0][:120]
        tag = _tag(route.spec_path)
        if tag:
            op["tags"] = [tag]
        params, body = _inputs(route.action.inputs)
        if route.action.reads_raw:  # a binary upstream body: the request's bytes, any type
            body = {
                "required": True,
                "description": "The raw bytes, sent upstream with this request's Content-Type",
                "content": {"*/*": {}},
            }
        if params:
            op["parameters"] = params
        if body is not None:
            op["requestBody"] = body
        op["responses"] = {
            **_documented(route.action),
            **_mapped(route.action),
            "default": {"description": "The upstream response, relayed or mapped"},
            # Our own 400 is an Error; the upstream's 400 is relayed as it came (any body).
            "400": {
                "description": "Invalid input (an Error), or the upstream's own 400 relayed as it came",
                "content": {"application/json": {"schema": {"anyOf": [ERROR_REF, {}]}}},
            },
            "502": _error("Upstream unreachable or its answer unreadable"),
            "503": _error("Too many calls of this operation in flight; retry after Retry-After"),
            "504": _error("Upstream timeout"),
        }
        paths.setdefault(oas_path, {})[route.method.lower()] = op
    doc: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {"title": title, "version": "1.0.0"},
        # Relative to where the document is served (OAS 3.1 §4.8.5): "Try it out" in /docs and
        # other clients call the host, port and path prefix that served it (--port, a proxy,
        # a Kubernetes Service), not the spec's default address.
        "servers": [{"url": "."}],
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
    if description:
        doc["info"]["description"] = description
    return portable(doc)  # patterns every client compiles, arrays with items


def _tag(spec_path: str) -> str:
    """The operation's group: the first path segment that names something (`/v1/pets/{id}` →
    `pets`), as the document's own paths group them."""
    for segment in spec_path.strip("/").split("/"):
        if segment and "{" not in segment and not re.fullmatch(r"v\d+(\.\d+)*|api", segment):
            return segment
    return ""


def mapped_output(action: ir.Action) -> Any:
    """The output expression that builds the action's answer: its own mapping, or that of the
    function it runs (orchestrated steps, a `ref`); None when the upstream answer is relayed."""
    if action.function is None:
        return action.output
    function = action.function.function
    if function.orchestration is not None:
        return function.orchestration.output
    return function.action.output if function.action is not None else None


def _mapped(action: ir.Action) -> dict[str, Any]:
    """The success response of a mapped output: its schema from the declared output types."""
    output = mapped_output(action)
    if output is None:
        return {}
    return {
        "200": {
            "description": "The mapped result",
            "content": {"application/json": {"schema": typed_schema(output)}},
        }
    }


def _documented(action: ir.Action) -> dict[str, Any]:
    """The upstream's success response, from its OpenAPI document, when relayed unmapped."""
    info = action.call.op.openapi if action.call is not None else None
    if info is None or info.response_schema is None or action.output is not None:
        return {}
    if action.output_format != "json":
        return {}
    return {
        str(info.status): {
            "description": "The upstream response, relayed (schema from its OpenAPI document)",
            "content": {"application/json": {"schema": info.response_schema}},
        }
    }


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": ERROR_REF}}}


def _inputs(inputs: list[ir.Input]) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    params = []
    body_props: dict[str, Any] = {}
    body_required: list[str] = []
    whole_body = False
    whole_schema: dict[str, Any] | None = None
    for i in inputs:
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
                whole_schema = i.json_schema
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
    if not (whole_body or body_props):
        return params, None
    schema: dict[str, Any] = dict(whole_schema) if whole_schema else {"type": "object"}
    if body_props and not whole_body:
        schema["properties"] = body_props
        if body_required:
            schema["required"] = body_required
    return params, {
        "required": bool(body_required),
        "content": {"application/json": {"schema": schema}},
    }
