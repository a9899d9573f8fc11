"""MCP resources and prompts of a generated server: resources/list, resources/read,
resources/templates/list, prompts/list and prompts/get, as low-level SDK handlers."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from mcp import types
from mcp.server import ServerRequestContext
from mcp.shared.exceptions import MCPError

from . import _runtime as rt

Read = Callable[[rt.Client, Mapping[str, Any]], Awaitable[rt.Result]]
Context = ServerRequestContext[dict[str, Any]]
_PARAM = re.compile(r"\{([A-Za-z0-9_]+)\}")
_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z0-9_.-]+)\s*\}\}")


def _pattern(uri_template: str) -> re.Pattern[str]:
    parts = _PARAM.split(uri_template)  # literal, name, literal, name, ...
    return re.compile(
        "".join(re.escape(p) if i % 2 == 0 else f"(?P<{p}>[^/]+)" for i, p in enumerate(parts))
    )


def _failed(message: str, code: int = types.INVALID_PARAMS) -> MCPError:
    return MCPError(code=code, message=message)


class Resources:
    """Static files (read from the package folder), dynamic resources and templates."""

    def __init__(
        self,
        package_dir: Path,
        files: Sequence[tuple[types.Resource, str]] = (),
        dynamic: Sequence[tuple[types.Resource, Read]] = (),
        templates: Sequence[tuple[types.ResourceTemplate, Read]] = (),
    ) -> None:
        self.package_dir = package_dir
        self.files = {r.uri: (r, path) for r, path in files}
        self.dynamic = {r.uri: (r, read) for r, read in dynamic}
        self.templates = [(t, _pattern(t.uri_template), read) for t, read in templates]
        self.listed = types.ListResourcesResult(
            resources=[r for r, _ in files] + [r for r, _ in dynamic]
        )
        self.listed_templates = types.ListResourceTemplatesResult(
            resource_templates=[t for t, _ in templates]
        )

    async def list(
        self, ctx: Context, params: types.PaginatedRequestParams | None
    ) -> types.ListResourcesResult:
        return self.listed

    async def list_templates(
        self, ctx: Context, params: types.PaginatedRequestParams | None
    ) -> types.ListResourceTemplatesResult:
        return self.listed_templates

    async def read(
        self, ctx: Context, params: types.ReadResourceRequestParams
    ) -> types.ReadResourceResult:
        uri = str(params.uri)
        if uri in self.files:
            resource, path = self.files[uri]
            text = (self.package_dir / path).read_text(encoding="utf-8")
            return _contents(uri, resource.mime_type, text)
        if uri in self.dynamic:
            resource, read = self.dynamic[uri]
            return await _read(ctx, read, {}, uri, resource.mime_type)
        for template, pattern, read in self.templates:
            found = pattern.fullmatch(uri)
            if found is not None:
                args = {k: unquote(v) for k, v in found.groupdict().items()}
                return await _read(ctx, read, args, uri, template.mime_type)
        raise _failed(f"unknown resource '{uri}'")

    def handlers(self) -> dict[str, Any]:
        out: dict[str, Any] = {"on_list_resources": self.list, "on_read_resource": self.read}
        if self.templates:
            out["on_list_resource_templates"] = self.list_templates
        return out


async def _read(
    ctx: Context, read: Read, args: Mapping[str, Any], uri: str, mime_type: str | None
) -> types.ReadResourceResult:
    try:
        answer = await read(ctx.lifespan_context["client"], args)
    except rt.InputError as exc:
        raise _failed(f"invalid resource uri '{uri}': {exc}") from None
    except rt.UpstreamError as exc:
        raise _failed(f"upstream error ({exc.status}): {exc}", types.INTERNAL_ERROR) from None
    if not answer.ok:
        raise _failed(
            f"upstream answered HTTP {answer.status}: {answer.text()}", types.INTERNAL_ERROR
        )
    return _contents(uri, mime_type or "application/json", answer.text())


def _contents(uri: str, mime_type: str | None, text: str) -> types.ReadResourceResult:
    contents: list[types.TextResourceContents | types.BlobResourceContents] = [
        types.TextResourceContents(uri=uri, mime_type=mime_type, text=text)
    ]
    return types.ReadResourceResult(contents=contents)


class Prompts:
    """Prompt templates: `{{argument}}` placeholders filled by plain text substitution."""

    def __init__(
        self,
        package_dir: Path,
        prompts: Sequence[tuple[types.Prompt, Sequence[tuple[str, str]], str | None]],
    ) -> None:
        self.package_dir = package_dir
        self.prompts = {p.name: (p, messages, file) for p, messages, file in prompts}
        self.listed = types.ListPromptsResult(prompts=[p for p, _, _ in prompts])

    async def list(
        self, ctx: Context, params: types.PaginatedRequestParams | None
    ) -> types.ListPromptsResult:
        return self.listed

    async def get(
        self, ctx: Context, params: types.GetPromptRequestParams
    ) -> types.GetPromptResult:
        found = self.prompts.get(params.name)
        if found is None:
            raise _failed(f"unknown prompt '{params.name}'")
        prompt, messages, file = found
        given = params.arguments or {}
        declared = {a.name for a in prompt.arguments or ()}
        for a in prompt.arguments or ():
            if a.required and given.get(a.name) is None:
                raise _failed(f"missing required argument '{a.name}' of prompt '{prompt.name}'")
        if file is not None:
            messages = [("user", (self.package_dir / file).read_text(encoding="utf-8"))]

        def fill(found: re.Match[str]) -> str:
            name = found.group(1)
            return str(given.get(name) or "") if name in declared else found.group(0)

        return types.GetPromptResult(
            description=prompt.description,
            messages=[
                types.PromptMessage(
                    role="assistant" if role == "assistant" else "user",
                    content=types.TextContent(text=_PLACEHOLDER.sub(fill, text)),
                )
                for role, text in messages
            ],
        )

    def handlers(self) -> dict[str, Any]:
        return {"on_list_prompts": self.list, "on_get_prompt": self.get}
