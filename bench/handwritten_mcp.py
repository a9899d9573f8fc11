"""A hand-written MCP server on the low-level ``mcp`` SDK for Qovery's list-containers call.

Run: QOVERY_API_KEY=... [QOVERY_CONTAINERS_BASE_URL=...] python bench/handwritten_mcp.py --port P

The baseline for issue #10: one tool, ``list-containers(environmentId)``, written the way
/work/shared/notes/mcp-sdk-2.md recommends — ``mcp.server.Server`` with
``get_tool_input_schema``, one ``aiohttp.ClientSession`` in the server lifespan, arguments
checked by hand, upstream failures as ``is_error`` results, stateless JSON streamable HTTP at
``/mcp`` served by uvicorn with its defaults (as ``uvicorn.run`` is usually called).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import quote

import aiohttp
from mcp import types
from mcp.server import Server, ServerRequestContext
from yarl import URL

DEFAULT_BASE = "https://api.qovery.com"

LIST_CONTAINERS = types.Tool(
    name="list-containers",
    title="List containers",
    description="List containers (GET /environment/{environmentId}/container)",
    input_schema={
        "type": "object",
        "properties": {"environmentId": {"type": "string"}},
        "required": ["environmentId"],
    },
    annotations=types.ToolAnnotations(read_only_hint=True, open_world_hint=True),
)
SCHEMAS = {LIST_CONTAINERS.name: LIST_CONTAINERS.input_schema}


def _error(message: str) -> types.CallToolResult:
    return types.CallToolResult(content=[types.TextContent(text=message)], is_error=True)


def build_server(token: str, base_url: str, timeout: float) -> Server[dict[str, Any]]:
    base = base_url.rstrip("/")
    auth = {"Authorization": f"Bearer {token}", "Accept": "application/json"}

    @asynccontextmanager
    async def lifespan(server: Server[dict[str, Any]]) -> AsyncIterator[dict[str, Any]]:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as http:
            yield {"http": http}

    async def list_tools(
        ctx: ServerRequestContext[dict[str, Any]], params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        return types.ListToolsResult(tools=[LIST_CONTAINERS])

    async def call_tool(
        ctx: ServerRequestContext[dict[str, Any]], params: types.CallToolRequestParams
    ) -> types.CallToolResult:
        if params.name != LIST_CONTAINERS.name:
            return _error(f"unknown tool '{params.name}'")
        env_id = (params.arguments or {}).get("environmentId")
        if not isinstance(env_id, str):
            return _error("invalid arguments: environmentId (string) is required")
        segment = quote(env_id, safe="")
        if segment in (".", ".."):  # a dot segment would be resolved away by the upstream
            segment = segment.replace(".", "%2E")
        url = URL(f"{base}/environment/{segment}/container", encoded=True)
        http: aiohttp.ClientSession = ctx.lifespan_context["http"]
        try:
            async with http.get(url, headers=auth) as resp:
                text = await resp.text()
                status = resp.status
        except TimeoutError:
            return _error("upstream timed out (504)")
        except aiohttp.ClientError:
            return _error("upstream unreachable (502)")
        if status >= 400:
            return _error(f"upstream answered HTTP {status}: {text}")
        try:
            data = json.loads(text)
        except ValueError:
            data = None
        content: list[types.ContentBlock] = [types.TextContent(text=text)]
        if isinstance(data, dict):
            return types.CallToolResult(content=content, structured_content=data)
        return types.CallToolResult(content=content)

    return Server(
        "qovery-containers-handwritten",
        version="1.0.0",
        lifespan=lifespan,
        on_list_tools=list_tools,
        on_call_tool=call_tool,
        get_tool_input_schema=SCHEMAS.get,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description="hand-written list-containers MCP server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9090)
    args = parser.parse_args()
    token = os.environ.get("QOVERY_API_KEY")
    if not token:
        sys.exit("QOVERY_API_KEY is not set")
    server = build_server(
        token,
        os.environ.get("QOVERY_CONTAINERS_BASE_URL", DEFAULT_BASE),
        float(os.environ.get("QOVERY_CONTAINERS_TIMEOUT", "30")),
    )
    app = server.streamable_http_app(
        streamable_http_path="/mcp", stateless_http=True, json_response=True, host=args.host
    )
    import uvicorn

    uvicorn.run(app, host=args.host, port=args.port)


if __name__ == "__main__":
    main()
