"""MCP tools of a generated server: a tool's declaration (its `tools/list` JSON, built once),
its arguments as the tool function reads them, and the tool result an upstream answer becomes
(isError results for bad arguments and upstream failures: the model reads those, they are not
protocol errors). Plain JSON, no SDK: _mcp_sdk.py converts the same results to its models.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from . import _runtime as rt
from ._inputs import check
from ._mcp_wire import upstream_json

Args = Mapping[str, Any]
ToolFunction = Callable[[rt.Client, Args], Awaitable[rt.Result]]
MAX_RESULT_BYTES = 4 * 1024 * 1024  # what a model reads: cap it, say so


class Tool:
    """One tool: its declaration as `tools/list` sends it, built once."""

    def __init__(
        self,
        name: str,
        input_schema: dict[str, Any],
        *,
        title: str | None = None,
        description: str | None = None,
        output_schema: dict[str, Any] | None = None,
        annotations: Mapping[str, bool | str] | None = None,  # hints, and title
    ) -> None:
        self.name, self.title, self.description = name, title, description
        self.input_schema, self.output_schema = input_schema, output_schema
        # An array or scalar result declared as {"result": ...} (the SDK's and FastMCP's way).
        self.wraps = bool(output_schema and output_schema.get(WRAP_MARK))
        self.annotations = dict(annotations or {})  # wire names: readOnlyHint, ...
        wire: dict[str, Any] = {"name": name}
        if title is not None:
            wire["title"] = title
        if description is not None:
            wire["description"] = description
        wire["inputSchema"] = input_schema
        if output_schema is not None:
            wire["outputSchema"] = output_schema
        if annotations:
            wire["annotations"] = self.annotations
        self.wire = wire


def arg(
    args: Args, name: str, kind: str, required: bool = False, pattern: str | None = None
) -> Any:
    """One tool argument: present when required, of its declared type."""
    value = args.get(name)
    if value is None:
        if required:
            raise rt.InputError(f"missing required argument '{name}'")
        return None
    return check(name, value, kind, pattern)


def binary(args: Args, name: str, required: bool = False) -> bytes | None:
    """A base64 tool argument (a binary body), decoded."""
    value = arg(args, name, "string", required)
    if value is None:
        return None
    try:
        return base64.b64decode(value, validate=True)
    except ValueError:
        raise rt.InputError(f"argument '{name}' must be base64-encoded bytes") from None


def error(message: str) -> dict[str, Any]:
    """A tool result the model reads as a failure (isError), not a protocol error."""
    return {"content": [{"type": "text", "text": message}], "isError": True}


WRAP_MARK = "x-fastmcp-wrap-result"  # FastMCP's clients unwrap {"result": ...} on this mark


def result(answer: rt.Result, wraps: bool = False) -> dict[str, Any]:
    """Upstream JSON objects as structured content (and text); errors as isError results.
    `wraps`: the tool declares its value under "result" (an array or a scalar), sent so; the
    text stays the value itself, as the SDK's and FastMCP's servers send it."""
    if len(answer.body) > MAX_RESULT_BYTES:
        return error(
            f"the upstream answer is {len(answer.body)} bytes, over the {MAX_RESULT_BYTES}-byte "
            "limit for tool results; narrow the request"
        )
    text = answer.text()
    if 300 <= answer.status < 400:
        return error(f"upstream answered HTTP {answer.status} (a redirect), not a result")
    if not answer.ok:
        return error(f"upstream answered HTTP {answer.status}: {text}")
    data: Any = answer.data
    if not answer.is_json:
        data, lax = upstream_json(text)
        if lax:  # the text a client parses must be the strict JSON of structuredContent
            text = json.dumps(data, ensure_ascii=False)
    found: dict[str, Any] = {"content": [{"type": "text", "text": text}]}
    if wraps:  # the outputSchema promises it: a list alone is an error on 2025-era clients
        found["structuredContent"] = {"result": data}
    elif isinstance(data, dict):  # only objects: a list is a protocol error on 2025-era clients
        found["structuredContent"] = data
    found["isError"] = False
    return found


async def call_tool(
    function: ToolFunction, client: rt.Client, args: Args, wraps: bool = False
) -> dict[str, Any]:
    """A tool function's answer as a result; bad arguments and upstream failures as isError."""
    try:
        answer = await function(client, args)
    except rt.InputError as exc:
        return error(f"invalid arguments: {exc}")
    except rt.UpstreamError as exc:
        return error(f"upstream error ({exc.status}): {exc}")
    return result(answer, wraps)
