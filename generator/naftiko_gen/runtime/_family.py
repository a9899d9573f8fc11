"""A family: the REST routes and MCP tools of several generated packages in one process, on one
REST port and one MCP endpoint (`naftiko-gen build --compose`, `naftiko-gen serve DIR`).

Composition only: each member package builds its own aiohttp application and MCP server as it
does when it runs alone (its checks, credentials, upstream client); this module mounts them.
Which routes are prefixed and which tools renamed was decided when the family was generated.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from types import ModuleType
from typing import Any, NamedTuple

from aiohttp import web
from aiohttp.web_urldispatcher import AbstractRuleMatching, MatchedSubAppResource

from . import _docs, _mcp, _rest
from . import _runtime as rt
from ._guard import Policy
from ._mcp_wire import Failure

# -- REST ------------------------------------------------------------------------------------

UNMATCHED = "unmatched"  # the name each member gives its catch-all route (_rest.UNMATCHED)
_PARAM = re.compile(r"\{[^}]*\}")
_METHODS = frozenset(("get", "put", "post", "delete", "patch", "options", "head", "trace"))


DOCS_PATHS = (_docs.PATH, _docs.PATH + "/", _docs.PATH + "/{name}")  # canonical, as routed


class RestMember(NamedTuple):
    capability: str  # the member package
    module: ModuleType  # its rest_server module (create_app, OPENAPI_FILE)
    prefix: str  # "" (paths as written) or "/<capability>" (its paths collide with another's)
    hidden: tuple[tuple[str, str], ...] = ()  # (METHOD, path) left out by --include/--exclude


class _Everywhere(AbstractRuleMatching):
    """The rule of a member mounted at its own paths: asked for every request."""

    def __init__(self, canonical: str) -> None:
        self._canonical = canonical

    async def match(self, request: web.Request) -> bool:
        return True

    def get_info(self) -> Any:
        return {"capability": self._canonical}

    @property
    def canonical(self) -> str:
        return self._canonical


class MemberRoutes(MatchedSubAppResource):
    """A member application at its own paths: it answers when one of its routes matches (not
    its catch-all, nor a route the family leaves out); otherwise the next member is asked, and
    at last the family's fallback."""

    def __init__(self, name: str, app: web.Application, hidden: frozenset[tuple[str, str]]) -> None:
        super().__init__(_Everywhere(name), app)
        self.hidden = hidden
        self.reserved: frozenset[str] = frozenset()  # the family's own paths, at the root

    async def resolve(self, request: web.Request) -> Any:
        match_info = await self._app.router.resolve(request)
        resource = match_info.route.resource
        if match_info.http_exception is not None or resource is None:
            return None, set()
        if resource.name == UNMATCHED or resource.canonical in self.reserved:
            return None, set()
        if self.hidden and (match_info.route.method, resource.canonical) in self.hidden:
            return None, set()
        match_info.add_app(self._app)
        return match_info, set()


async def _allowed(apps: Sequence[web.Application], request: web.Request) -> set[str]:
    """Methods some member answers on this path (for a 405): asked only when nothing matched."""
    allowed: set[str] = set()
    for app in apps:
        for resource in app.router.resources():
            if resource.name != UNMATCHED:
                allowed |= (await resource.resolve(request))[1]
    return allowed


Document = tuple[str, bytes, Sequence[tuple[str, str]]]  # prefix, the document, hidden routes


def _mount(root: web.Application, resource: MemberRoutes, app: web.Application) -> None:
    """As add_domain mounts a sub-application (its signals, its freezing), with our resource."""
    root._add_subapp(lambda: resource, app)


def rest_application(
    members: Sequence[RestMember],
    title: str,
    environ: Mapping[str, str] | None = None,
    host: str = "127.0.0.1",
    allow_hosts: Sequence[str] = (),
    allow_origins: Sequence[str] = (),
) -> web.Application:
    """One application with every member's routes; raises rt.ConfigError naming the member
    whose configuration is missing."""
    policy = Policy.for_bind(host, allow_hosts, allow_origins)
    root = web.Application()
    apps: list[web.Application] = []
    documents: list[Document] = []
    for member in members:
        try:
            app = member.module.create_app(environ, host, allow_hosts, allow_origins)
        except member.module.rt.ConfigError as exc:
            raise rt.ConfigError(f"{member.capability}: {exc}") from None
        apps.append(app)
        hidden = frozenset((m, member.prefix + p) for m, p in member.hidden)
        documents.append(
            (member.prefix, Path(member.module.OPENAPI_FILE).read_bytes(), member.hidden)
        )
        if member.prefix:  # what add_subapp(prefix) does, keeping our resolution
            router = app.router
            for resource in router.resources():  # re-indexed under their new path
                router.unindex_resource(resource)
                resource.add_prefix(member.prefix)
                router.index_resource(resource)
        resource = MemberRoutes(member.capability, app, hidden)
        if not member.prefix:  # its probe, document and docs page: the family answers those
            resource.reserved = frozenset(("/health", "/openapi.json", *DOCS_PATHS))
        _mount(root, resource, app)
    document = json.dumps(merged_openapi(documents, title)).encode()

    async def health(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def openapi(request: web.Request) -> web.Response:
        return web.Response(body=document, content_type="application/json")

    async def unmatched(request: web.Request) -> web.StreamResponse:
        allowed = await _allowed(apps, request)
        if allowed:
            raise web.HTTPMethodNotAllowed(request.method, allowed)
        raise web.HTTPNotFound()

    # aiohttp asks matched sub-applications before the root's own routes: the family's probe,
    # document and 404/405 answers sit in the last one.
    fallback = web.Application()
    fallback.router.add_get("/health", _rest.front(policy, health))
    fallback.router.add_get("/openapi.json", _rest.front(policy, openapi))
    fallback.router.add_routes(  # /docs: the family's page, for the merged document
        web.RouteDef(r.method, r.path, _rest.front(policy, r.handler), r.kwargs)
        for r in _docs.routes()
    )
    fallback.router.add_route("*", "/{tail:.*}", _rest.front(policy, unmatched))
    _mount(root, MemberRoutes("fallback", fallback, frozenset()), fallback)
    return root


def merged_openapi(documents: Sequence[Document], title: str) -> dict[str, Any]:
    """The members' OpenAPI documents as one: paths (under their prefix, without the routes left
    out), components and tags; the first member's wins where two name the same component."""
    merged: dict[str, Any] = {"openapi": "3.1.0", "info": {"title": title, "version": "1.0.0"}}
    paths: dict[str, Any] = {}
    components: dict[str, dict[str, Any]] = {}
    tags: dict[str, Any] = {}
    for prefix, raw, hidden in documents:
        document = json.loads(raw)
        left_out = {(m.lower(), _PARAM.sub("{}", p)) for m, p in hidden}
        for path, item in document.get("paths", {}).items():
            shape = _PARAM.sub("{}", path)
            kept = {k: v for k, v in item.items() if (k, shape) not in left_out}
            if any(k in _METHODS for k in kept):
                paths.setdefault(prefix + path, kept)
        for section, entries in document.get("components", {}).items():
            for name, entry in entries.items():
                components.setdefault(section, {}).setdefault(name, entry)
        for tag in document.get("tags", []):
            tags.setdefault(tag.get("name"), tag)
    merged["paths"] = paths
    if components:
        merged["components"] = components
    if tags:
        merged["tags"] = list(tags.values())
    return merged


# -- MCP -------------------------------------------------------------------------------------


class McpMember(NamedTuple):
    capability: str
    module: ModuleType  # its mcp_server module (load_config, build_server)
    tools: Mapping[str, str]  # the member's tool name → the name the family lists


Handler = Callable[[Any, Mapping[str, Any]], Any]


def _own(exc: Exception) -> Failure | None:
    """A member's JSON-RPC error (its own Failure class) as the family's."""
    code, message = getattr(exc, "code", None), getattr(exc, "message", None)
    if isinstance(code, int) and isinstance(message, str):
        return Failure(code, message, getattr(exc, "data", None))
    return None


async def _ask(handler: Handler, client: Any, params: Mapping[str, Any]) -> dict[str, Any]:
    try:
        found: dict[str, Any] = await handler(client, params)
    except Exception as exc:
        failure = _own(exc)
        if failure is None:
            raise
        raise failure from None
    return found


class FamilyServer(_mcp.Server):
    """One MCP server listing the members' tools (renamed where the family says) and calling
    each on its member's server, with that member's upstream client."""

    def __init__(self, name: str, version: str, members: Sequence[tuple[McpMember, Any]]) -> None:
        """`members`: each with its built (not yet running) server."""
        instructions = [
            f"{m.capability}: {s.instructions}" for m, s in members if s.instructions is not None
        ]
        super().__init__(name, version, "\n\n".join(instructions) or None, (), self._open)
        self.members = [server for _, server in members]
        self.routes: dict[str, tuple[Any, str]] = {}
        listed: list[dict[str, Any]] = []
        for member, server in members:
            for tool, _ in server.tools:
                exposed = member.tools.get(tool.name)
                if exposed is None:  # left out by --include/--exclude
                    continue
                self.routes[exposed] = (server, tool.name)
                listed.append(tool.wire if exposed == tool.name else {**tool.wire, "name": exposed})
        self.listed = {"tools": listed}
        self.handlers["tools/call"] = self._call
        for method, key in (("resources/list", "resources"), ("prompts/list", "prompts")):
            if any(method in s.handlers for s in self.members):
                self.handlers[method] = self._concatenated(method, key)
        for method, listing, key, field in (
            ("resources/read", "resources/list", "resources", "uri"),
            ("prompts/get", "prompts/list", "prompts", "name"),
        ):
            if any(method in s.handlers for s in self.members):
                self.handlers[method] = self._routed(method, listing, key, field)
        if "resources/list" in self.handlers:
            self.capabilities["resources"] = {"subscribe": False, "listChanged": False}
        if "prompts/list" in self.handlers:
            self.capabilities["prompts"] = {"listChanged": False}

    @asynccontextmanager
    async def _open(self) -> AsyncIterator[Any]:
        """Every member's upstream client, open while the family serves."""
        async with AsyncExitStack() as stack:
            for server in self.members:
                await stack.enter_async_context(server.running())
            yield self

    async def _call(self, client: Any, params: Mapping[str, Any]) -> dict[str, Any]:
        route = self.routes.get(params["name"])
        if route is None:
            raise Failure(_mcp.INVALID_PARAMS, f"Unknown tool: {params['name']}")
        server, name = route
        return await _ask(server.handlers["tools/call"], server.client, {**params, "name": name})

    def _concatenated(self, method: str, key: str) -> Handler:
        async def listing(client: Any, params: Mapping[str, Any]) -> dict[str, Any]:
            found: list[Any] = []
            for server in self.members:
                if method in server.handlers:
                    found += (await _ask(server.handlers[method], server.client, params))[key]
            return {key: found}

        return listing

    def _routed(self, method: str, listing: str, key: str, field: str) -> Handler:
        """Resources by URI, prompts by name: the first member that lists it answers; a
        resource template's URI goes to the first member whose templates read it."""

        async def route(client: Any, params: Mapping[str, Any]) -> dict[str, Any]:
            wanted = params.get(field)
            candidates = [s for s in self.members if method in s.handlers]
            for server in candidates:
                if listing in server.handlers:
                    listed = await _ask(server.handlers[listing], server.client, {})
                    if any(entry.get(field) == wanted for entry in listed[key]):
                        return await _ask(server.handlers[method], server.client, params)
            last: Failure | None = None
            for server in candidates:
                try:
                    return await _ask(server.handlers[method], server.client, params)
                except Failure as failure:
                    last = failure
            assert last is not None, "a handler exists for this method"
            raise last

        return route


def mcp_server(
    members: Sequence[McpMember], name: str, version: str, environ: Mapping[str, str] | None = None
) -> FamilyServer:
    """The family's MCP server; raises rt.ConfigError naming the member whose configuration is
    missing."""
    built: list[tuple[McpMember, Any]] = []
    for member in members:
        try:
            built.append((member, member.module.build_server(member.module.load_config(environ))))
        except member.module.rt.ConfigError as exc:
            raise rt.ConfigError(f"{member.capability}: {exc}") from None
    return FamilyServer(name, version, built)
