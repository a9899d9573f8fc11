"""MCP resources and prompts of a generated server: resources/list, resources/read,
resources/templates/list, prompts/list and prompts/get, answered as plain JSON (no SDK).

Each declaration builds its wire JSON once; _mcp_sdk.py turns the same declarations into the
SDK's handlers for `--sdk`.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from . import _runtime as rt
from ._mcp import INTERNAL_ERROR, INVALID_PARAMS, Failure, Handler

Read = Callable[[rt.Client, Mapping[str, Any]], Awaitable[rt.Result]]
_PARAM = re.compile(r"\{([A-Za-z0-9_]+)\}")
_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z0-9_.-]+)\s*\}\}")


def _wire(**fields: Any) -> dict[str, Any]:
    """camelCase keys, absent (None) fields left out: as the SDK serializes its models."""
    out: dict[str, Any] = {}
    for key, value in fields.items():
        if value is not None:
            head, *rest = key.split("_")
            out[head + "".join(word.title() for word in rest)] = value
    return out


class Resource:
    """A resource at a fixed URI (a static file or an upstream call)."""

    def __init__(
        self,
        name: str,
        uri: str,
        *,
        title: str | None = None,
        description: str | None = None,
        mime_type: str | None = None,
        size: int | None = None,
    ) -> None:
        self.name, self.uri, self.mime_type = name, uri, mime_type
        self.wire = _wire(
            name=name, title=title, uri=uri, description=description, mime_type=mime_type, size=size
        )


class ResourceTemplate:
    """Resources whose URI has {parameters}, read by an upstream call."""

    def __init__(
        self,
        name: str,
        uri_template: str,
        *,
        title: str | None = None,
        description: str | None = None,
        mime_type: str | None = None,
    ) -> None:
        self.name, self.uri_template, self.mime_type = name, uri_template, mime_type
        self.wire = _wire(
            name=name,
            title=title,
            uri_template=uri_template,
            description=description,
            mime_type=mime_type,
        )


def _pattern(uri_template: str) -> re.Pattern[str]:
    parts = _PARAM.split(uri_template)  # literal, name, literal, name, ...
    return re.compile(
        "".join(re.escape(p) if i % 2 == 0 else f"(?P<{p}>[^/]+)" for i, p in enumerate(parts))
    )


def _failed(message: str, code: int = INVALID_PARAMS) -> Failure:
    return Failure(code, message)


class Resources:
    """Static files (read from the package folder), dynamic resources and templates."""

    def __init__(
        self,
        package_dir: Path,
        files: Sequence[tuple[Resource, str]] = (),
        dynamic: Sequence[tuple[Resource, Read]] = (),
        templates: Sequence[tuple[ResourceTemplate, Read]] = (),
    ) -> None:
        self.package_dir = package_dir
        self.declared = (tuple(files), tuple(dynamic), tuple(templates))
        self.files = {r.uri: (r, path) for r, path in files}
        self.dynamic = {r.uri: (r, read) for r, read in dynamic}
        self.templates = [(t, _pattern(t.uri_template), read) for t, read in templates]
        self.listed = {"resources": [r.wire for r, _ in files] + [r.wire for r, _ in dynamic]}
        self.listed_templates = {"resourceTemplates": [t.wire for t, _ in templates]}

    async def list(self, client: rt.Client, params: Mapping[str, Any]) -> dict[str, Any]:
        return self.listed

    async def list_templates(self, client: rt.Client, params: Mapping[str, Any]) -> dict[str, Any]:
        return self.listed_templates

    async def read(self, client: rt.Client, params: Mapping[str, Any]) -> dict[str, Any]:
        uri = str(params["uri"])
        if uri in self.files:
            resource, path = self.files[uri]
            text = (self.package_dir / path).read_text(encoding="utf-8")
            return _contents(uri, resource.mime_type, text)
        if uri in self.dynamic:
            resource, read = self.dynamic[uri]
            return await _read(client, read, {}, uri, resource.mime_type)
        for template, pattern, read in self.templates:
            found = pattern.fullmatch(uri)
            if found is not None:
                args = {k: unquote(v) for k, v in found.groupdict().items()}
                return await _read(client, read, args, uri, template.mime_type)
        raise _failed(f"unknown resource '{uri}'")

    def handlers(self) -> dict[str, Handler]:
        out: dict[str, Handler] = {"resources/list": self.list, "resources/read": self.read}
        if self.templates:
            out["resources/templates/list"] = self.list_templates
        return out


async def _read(
    client: rt.Client, read: Read, args: Mapping[str, Any], uri: str, mime_type: str | None
) -> dict[str, Any]:
    try:
        answer = await read(client, args)
    except rt.InputError as exc:
        raise _failed(f"invalid resource uri '{uri}': {exc}") from None
    except rt.UpstreamError as exc:
        raise _failed(f"upstream error ({exc.status}): {exc}", INTERNAL_ERROR) from None
    if not answer.ok:
        raise _failed(f"upstream answered HTTP {answer.status}: {answer.text()}", INTERNAL_ERROR)
    return _contents(uri, mime_type or "application/json", answer.text())


def _contents(uri: str, mime_type: str | None, text: str) -> dict[str, Any]:
    return {"contents": [_wire(uri=uri, mime_type=mime_type, text=text)]}


class PromptArgument:
    def __init__(
        self,
        name: str,
        *,
        title: str | None = None,
        description: str | None = None,
        required: bool | None = None,
    ) -> None:
        self.name, self.required = name, required
        self.wire = _wire(name=name, title=title, description=description, required=required)


class Prompt:
    def __init__(
        self,
        name: str,
        *,
        title: str | None = None,
        description: str | None = None,
        arguments: Sequence[PromptArgument] | None = None,
    ) -> None:
        self.name, self.description = name, description
        self.arguments = tuple(arguments or ())
        listed = [a.wire for a in self.arguments] if arguments is not None else None
        self.wire = _wire(name=name, title=title, description=description, arguments=listed)


class Prompts:
    """Prompt templates: `{{argument}}` placeholders filled by plain text substitution."""

    def __init__(
        self,
        package_dir: Path,
        prompts: Sequence[tuple[Prompt, Sequence[tuple[str, str]], str | None]],
    ) -> None:
        self.package_dir = package_dir
        self.declared = tuple(prompts)
        self.prompts = {p.name: (p, messages, file) for p, messages, file in prompts}
        self.listed = {"prompts": [p.wire for p, _, _ in prompts]}

    async def list(self, client: rt.Client, params: Mapping[str, Any]) -> dict[str, Any]:
        return self.listed

    async def get(self, client: rt.Client, params: Mapping[str, Any]) -> dict[str, Any]:
        return self.render(params["name"], params.get("arguments") or {})

    def render(self, name: str, given: Mapping[str, str]) -> dict[str, Any]:
        found = self.prompts.get(name)
        if found is None:
            raise _failed(f"unknown prompt '{name}'")
        prompt, messages, file = found
        declared = {a.name for a in prompt.arguments}
        for a in prompt.arguments:
            if a.required and given.get(a.name) is None:
                raise _failed(f"missing required argument '{a.name}' of prompt '{prompt.name}'")
        if file is not None:
            messages = [("user", (self.package_dir / file).read_text(encoding="utf-8"))]

        def fill(found: re.Match[str]) -> str:
            name = found.group(1)
            return str(given.get(name) or "") if name in declared else found.group(0)

        return _wire(
            description=prompt.description,
            messages=[
                {
                    "role": "assistant" if role == "assistant" else "user",
                    "content": {"type": "text", "text": _PLACEHOLDER.sub(fill, text)},
                }
                for role, text in messages
            ],
        )

    def handlers(self) -> dict[str, Handler]:
        return {"prompts/list": self.list, "prompts/get": self.get}
