"""A mock upstream for `naftiko-gen serve --mock`: answers every consumed operation of a plan.

One aiohttp app serves every consumes namespace under its own prefix (`/<namespace>`), so each
generated server is pointed at it with `<NS>_BASE_URL=http://127.0.0.1:<port>/<namespace>`.
Requests are routed by method and consumed path template, and checked like a real API would
(400 with a JSON error): a path parameter present, required query parameters, a JSON body when
the upstream's OpenAPI document requires one, and a present body valid against its schema.

The answer comes, in this order, from the spec's own output `value`s (literal, not JSONPath),
the OpenAPI document's response example (when valid against its schema), an example built from
the response schema, or a small plausible JSON object.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from naftiko_gen import mustache
from naftiko_gen.plan import ir
from naftiko_gen.plan.enrich import OperationInfo, example_from_schema


@dataclass
class MockOperation:
    namespace: str
    name: str  # the consumed operation's key (namespace.operation)
    method: str
    template: str  # the consumed path as the spec writes it
    pattern: re.Pattern[str]
    path_params: list[str]
    required_query: list[str] = field(default_factory=list)
    body_required: bool = False
    body_schema: dict[str, Any] | None = None
    status: int = 200
    answer: Any = None
    source: str = "plausible JSON"  # where the answer comes from (for the startup line)


def compile_template(template: str) -> tuple[re.Pattern[str], list[str]]:
    """`/a/{id}/b` → a pattern with one group per placeholder (a segment, maybe empty)."""
    parts: list[str] = []
    names: list[str] = []
    for p in mustache.parse_path(template if template.startswith("/") else "/" + template):
        if isinstance(p, mustache.Var):
            names.append(p.name.split(".")[-1])
            parts.append("([^/]*)")
        else:
            parts.append(re.escape(re.sub(r"\{([^{}]*)\}", "\x00", p)).replace("\x00", "([^/]*)"))
            names += re.findall(r"\{([^{}]*)\}", p)
    return re.compile("".join(parts).rstrip("/") + "/?"), names


def literal_outputs(outputs: list[Any]) -> Any:
    """A consumed operation's literal output values as one JSON object, or None."""
    found = {
        o.name: o.value
        for o in outputs
        if isinstance(getattr(o, "value", None), str) and not o.value.startswith("$")
    }
    return found or None


def operations(plan: ir.Plan, literal: dict[str, Any] | None = None) -> list[MockOperation]:
    """One mock operation per upstream operation the plan calls."""
    out: list[MockOperation] = []
    for op in plan.operations:
        pattern, names = compile_template(op.path_display)
        info: OperationInfo | None = op.openapi
        mock = MockOperation(
            namespace=op.upstream.namespace,
            name=op.key,
            method=op.method,
            template=op.path_display,
            pattern=pattern,
            path_params=names,
            required_query=[q.name for q in op.query if q.required],
        )
        if info is not None:
            mock.required_query += [
                q.name
                for q in info.query.values()
                if q.required and q.name not in mock.required_query
            ]
            mock.body_required = info.body_required and info.body_schema is not None
            mock.body_schema = info.body_schema
            mock.status = info.status
        mock.answer, mock.source = _answer(op, info, (literal or {}).get(op.key))
        out.append(mock)
    return out


def _valid(schema: dict[str, Any] | None, value: Any) -> bool:
    if schema is None:
        return True
    try:
        import jsonschema
    except ImportError:  # pragma: no cover - comes with mcp
        return True
    try:
        return not any(jsonschema.Draft202012Validator(schema).iter_errors(value))
    except Exception:  # noqa: BLE001 - a schema jsonschema cannot use: trust the value
        return True


def _answer(op: ir.UpstreamOp, info: OperationInfo | None, literal: Any) -> tuple[Any, str]:
    if literal is not None:
        return literal, "the spec's output values"
    if info is not None:
        if info.has_example and _valid(info.response_schema, info.response_example):
            return info.response_example, "the OpenAPI example"
        if info.response_schema is not None:
            example = example_from_schema(info.response_schema)
            if _valid(info.response_schema, example):
                return example, "the OpenAPI response schema"
    return _plausible(op), "plausible JSON"


def _plausible(op: ir.UpstreamOp) -> dict[str, Any]:
    ident = str(uuid.uuid5(uuid.NAMESPACE_URL, f"naftiko-mock:{op.key}"))
    name = op.key.split(".", 1)[-1]
    return {"id": ident, "name": name, "status": "ok", "mock": True}


def _problem(status: int, message: str) -> Any:
    from aiohttp import web

    return web.json_response({"status": status, "error": message}, status=status)


class MockUpstream:
    """The aiohttp app and its recorded requests (method, path, JSON body) for inspection."""

    def __init__(self, ops: list[MockOperation]) -> None:
        from aiohttp import web

        self.ops = ops
        self.requests: list[tuple[str, str, Any]] = []
        self.app = web.Application()
        self.app.router.add_route("*", "/{tail:.*}", self.handle)

    def base_url(self, port: int, namespace: str) -> str:
        return f"http://127.0.0.1:{port}/{namespace}"

    async def handle(self, request: Any) -> Any:
        from aiohttp import web

        raw = request.raw_path.split("?", 1)[0]
        body = await request.read()
        data: Any = None
        if body:
            try:
                data = json.loads(body)
            except ValueError:
                data = ...
        self.requests.append((request.method, request.raw_path, None if data is ... else data))
        candidates = []
        for op in self.ops:
            prefix = "/" + op.namespace
            if not (raw == prefix or raw.startswith(prefix + "/")):
                continue
            match = op.pattern.fullmatch(raw[len(prefix) :] or "/")
            if match is not None:
                candidates.append((op, match))
        if not candidates:
            return _problem(404, f"no mocked operation at {raw}")
        chosen = next(((op, m) for op, m in candidates if op.method == request.method), None)
        if chosen is None:
            allowed = ", ".join(sorted({op.method for op, _ in candidates}))
            return web.json_response(
                {"status": 405, "error": f"{request.method} not allowed here"},
                status=405,
                headers={"Allow": allowed},
            )
        op, match = chosen
        for name, value in zip(op.path_params, match.groups(), strict=False):
            if not unquote(value):
                return _problem(400, f"path parameter '{name}' is missing")
        missing = [q for q in op.required_query if not request.query.get(q)]
        if missing:
            return _problem(400, f"required query parameter(s) missing: {', '.join(missing)}")
        if data is ...:
            return _problem(400, "the request body is not valid JSON")
        if body and data is not None and op.body_schema is not None:
            problem = _body_problem(op.body_schema, data)
            if problem:
                return _problem(400, f"invalid request body: {problem}")
        elif not body and op.body_required:
            return _problem(400, "a JSON request body is required")
        if op.answer is None:
            return web.Response(status=204 if op.status == 200 else op.status)
        return web.json_response(op.answer, status=op.status)


def _body_problem(schema: dict[str, Any], data: Any) -> str:
    try:
        import jsonschema
    except ImportError:  # pragma: no cover - comes with mcp
        return ""
    try:
        error = jsonschema.exceptions.best_match(
            jsonschema.Draft202012Validator(schema).iter_errors(data)
        )
    except Exception:  # noqa: BLE001 - a schema jsonschema cannot use: accept the body
        return ""
    if error is None:
        return ""
    where = ".".join(str(p) for p in error.absolute_path)
    return f"{where}: {error.message}" if where else str(error.message)


@asynccontextmanager
async def run_mock(
    ops: list[MockOperation], port: int = 0
) -> AsyncIterator[tuple[MockUpstream, int]]:
    """Serve the mock on 127.0.0.1 (port 0: any free port); yields it and its port."""
    from aiohttp import web

    mock = MockUpstream(ops)
    runner = web.AppRunner(mock.app, access_log=None, handle_signals=False)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", port)
        await site.start()
        sockets = getattr(site._server, "sockets", None)  # noqa: SLF001 - port-0 site's port
        bound = sockets[0].getsockname()[1] if sockets else port
        yield mock, int(bound)
    finally:
        await runner.cleanup()
