"""What every generated aiohttp REST server shares: reading inputs, relaying, errors, running."""

from __future__ import annotations

import json
import zlib
from collections.abc import AsyncIterator, Callable, Collection, Iterable, Mapping
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.typedefs import Handler

from . import _docs, _serve
from . import _runtime as rt
from ._guard import Policy, add_cors, preflight
from ._inputs import check

CLIENT = web.AppKey("client", rt.Client)
STREAMING = web.AppKey("streaming", rt.Client)  # the same client, relaying bodies as they arrive
CONFIG = web.AppKey("config", rt.Config)
OPENAPI = web.AppKey("openapi", bytes)
JSON_TYPES = ("application/json",)


def error(status: int, message: str, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response({"error": message, "status": status}, status=status, headers=headers)


async def relay(request: web.Request, result: rt.Result) -> web.StreamResponse:
    """The upstream answer as it came (or as mapped): status, content type, body, Location.

    A streamed answer is copied through chunk by chunk, so its size never sits in memory.
    """
    headers = {"Content-Type": result.content_type} if result.content_type else {}
    if result.location:
        headers["Location"] = result.location
    if result.headers:
        headers.update(result.headers)
    if result.stream is None:
        return web.Response(status=result.status, body=result.body, headers=headers)
    upstream = result.stream
    encoding = upstream.headers.get("Content-Encoding", "identity").strip().lower()
    decoder = None
    if encoding != "identity":
        headers["Vary"] = "Accept-Encoding"
        if accepts(request.headers.get("Accept-Encoding"), encoding):
            headers["Content-Encoding"] = encoding  # relayed as it came: the caller decodes it
        elif encoding in rt.ZLIB_CODINGS:
            decoder = zlib.decompressobj(rt.ZLIB_AUTO)  # decoded on the way, chunk by chunk
        else:
            upstream.release()
            raise rt.UpstreamError(
                f"the upstream answered in the {encoding!r} encoding, which the caller does "
                "not accept and this server cannot decode"
            )
    response = web.StreamResponse(status=result.status, headers=headers)
    if upstream.content_length is not None and decoder is None:
        response.content_length = upstream.content_length
    try:
        await response.prepare(request)
        async for chunk in upstream.content.iter_chunked(64 * 1024):
            if decoder is None:
                await response.write(chunk)
                continue
            data = decoder.decompress(chunk, DECODED_CHUNK)
            while data:  # a small chunk may inflate a lot: written a bounded piece at a time
                await response.write(data)
                data = decoder.decompress(decoder.unconsumed_tail, DECODED_CHUNK)
        if decoder is not None:
            await response.write(decoder.flush())
        await response.write_eof()
    except (aiohttp.ClientError, TimeoutError, ConnectionError, zlib.error):
        # Headers are gone: all that is left is to cut the connection, not to send a 200 body.
        if request.transport is not None:
            request.transport.close()
    finally:
        upstream.release()
    return response


DECODED_CHUNK = 256 * 1024


def accepts(header: str | None, coding: str) -> bool:
    """Whether an Accept-Encoding value takes `coding` (by name or `*`, with q > 0). Without
    the header, only identity: curl and most API clients send none and want plain bytes."""
    wanted = "gzip" if coding == "x-gzip" else coding
    for part in (header or "").split(","):
        name, _, params = part.partition(";")
        name = name.strip().lower()
        if name == "x-gzip":
            name = "gzip"
        if name not in (wanted, "*"):
            continue
        q = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key.lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        return q > 0
    return False


async def json_body(request: web.Request, fields: bool = False) -> Any:
    """The request body as JSON, or None when there is none (`front` let only JSON through).
    `fields`: the route declares body fields, so the body must be an object (`[1, 2]` would
    otherwise send an upstream request without any of them)."""
    if not request.body_exists:
        return None
    raw = await request.read()
    if not raw.strip():
        return None
    try:
        data = json.loads(raw, parse_constant=_no_constant)
    except (ValueError, RecursionError):
        raise rt.InputError("request body is not valid JSON") from None
    if fields and not isinstance(data, dict):
        raise rt.InputError("request body must be a JSON object (this route reads its fields)")
    return data


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def param(
    name: str,
    value: Any,
    kind: str = "string",
    pattern: str | None = None,
    *,
    where: str = "query",
    required: bool = False,
) -> Any:
    """One input: present when required; text from the URL or headers converted to its type."""
    if value is None:
        if required:
            raise rt.InputError(f"missing required {where} parameter '{name}'")
        return None
    if isinstance(value, str) and kind != "string" and where != "body":
        try:
            if kind == "integer":
                value = int(value)
            elif kind == "number":
                value = float(value)
            elif kind == "boolean":
                lowered = value.lower()
                if lowered not in ("true", "1", "false", "0"):
                    raise ValueError(value)
                value = lowered in ("true", "1")
            elif kind in ("object", "array"):
                value = json.loads(value)
        except (ValueError, RecursionError):
            raise rt.InputError(f"parameter '{name}' must be of type {kind}") from None
    return check(name, value, kind, pattern)


Guard = Callable[[Mapping[str, str], Mapping[str, str]], bool]
OPEN_PATHS = ("/health", "/openapi.json")


def require(allows: Guard, challenge: str) -> Any:
    """Middleware: callers present the adapter's credentials (probes and the document excepted)."""

    @web.middleware
    async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
        if (
            request.path not in OPEN_PATHS
            and not _docs.is_open(request)
            and not allows(request.headers, request.query)
        ):
            return error(401, "missing or invalid credentials", {"WWW-Authenticate": challenge})
        return await handler(request)

    return guard


async def health(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def openapi(request: web.Request) -> web.Response:
    return web.Response(body=request.app[OPENAPI], content_type="application/json")


def front(policy: Policy, handler: Handler, raw: bool = False) -> Handler:
    """`handler` behind the checks every request passes: browser safety, then errors as JSON.

    Host and Origin are checked (421/403), bodies are JSON only (415) and CORS answers only
    for allowed origins: a refused request never reaches a handler, so nothing goes upstream.
    Failures become `{"error", "status"}` bodies; 405 keeps its Allow header.
    `raw`: the route's upstream body is the caller's raw bytes; it takes any content type, from
    callers without an Origin or of an allowed one (others got 403).
    A wrapper rather than an aiohttp middleware: middlewares cost every request a handler chain
    built by aiohttp (about 4 % of a proxied call), a wrapper costs one call.
    """

    async def checked(request: web.Request) -> web.StreamResponse:
        headers = request.headers
        origin = headers.get("Origin")
        refused = policy.refuse(headers.get("Host"), origin, headers.get("Sec-Fetch-Site"))
        if refused is not None:
            return error(*refused)
        if origin and request.method == "OPTIONS":  # answers carry CORS: see add_cors
            answer = preflight(origin, headers)
            if answer is not None:
                return web.Response(status=204, headers=answer)
        if not raw and request.body_exists and not is_json(request.content_type):
            return error(415, "request bodies must be application/json")
        try:
            with rt.holding():  # the bodies its calls read count until it is answered
                response = await handler(request)
        except rt.InputError as exc:
            return error(400, str(exc))
        except rt.UpstreamError as exc:
            busy = {"Retry-After": "1"} if isinstance(exc, rt.UpstreamBusy) else None
            return error(exc.status, str(exc), busy)
        except web.HTTPException as exc:
            if exc.status < 400:
                raise
            allow = exc.headers.get("Allow")
            return error(exc.status, exc.reason, {"Allow": allow} if allow else None)
        return response

    return checked


def front_middleware(policy: Policy, binary: Collection[Handler] = ()) -> Any:
    """`front` as the first middleware, for applications with more middlewares (caller
    credentials, metrics): browser safety and CORS preflights come before their checks."""
    checked: dict[Handler, Handler] = {}

    @web.middleware
    async def check(request: web.Request, handler: Handler) -> web.StreamResponse:
        wrapped = checked.get(handler)
        if wrapped is None:  # aiohttp makes a new handler per unmatched request: not kept
            wrapped = front(policy, handler, handler in binary)
            if len(checked) < 1024:
                checked[handler] = wrapped
        return await wrapped(request)

    return check


async def unmatched(request: web.Request) -> web.StreamResponse:
    """No route for this path (404), or none for this method (405 with Allow), as JSON."""
    allowed: set[str] = set()
    for resource in request.app.router.resources():
        if resource.name != UNMATCHED:
            allowed |= (await resource.resolve(request))[1]
    if allowed:
        raise web.HTTPMethodNotAllowed(request.method, allowed)
    raise web.HTTPNotFound()


UNMATCHED = "unmatched"  # the name of unmatched's catch-all route (metrics count it so)


def is_json(content_type: str) -> bool:
    return content_type in JSON_TYPES or content_type.endswith("+json")


def application(
    config: rt.Config,
    client: Callable[[rt.Config], rt.Client],
    routes: web.RouteTableDef,
    openapi_document: bytes,
    policy: Policy,
    middlewares: Iterable[Any] = (),
    binary: Collection[Handler] = (),
    docs: bool = True,
) -> web.Application:
    """`binary`: handlers taking the raw request body of any content type (see `front`).
    `docs`: serve /docs (off when the spec's own paths are under /docs).

    Without other middlewares each handler is wrapped in `front`; with them, `front` is the
    first middleware. Unmatched paths and methods reach `unmatched` through the same checks.
    """
    app = web.Application(
        middlewares=[front_middleware(policy, binary), *middlewares] if middlewares else ()
    )
    app[CONFIG] = config
    app[OPENAPI] = openapi_document
    if policy.origins or policy.local_origins:
        app.on_response_prepare.append(add_cors(policy))

    async def session(app: web.Application) -> AsyncIterator[None]:
        async with client(config) as opened:
            app[CLIENT] = opened
            app[STREAMING] = opened.streaming()
            yield

    app.cleanup_ctx.append(session)
    table = [
        web.get("/health", health),
        web.get("/openapi.json", openapi),
        *(_docs.routes() if docs else ()),
        *(r for r in routes if isinstance(r, web.RouteDef)),
        web.route("*", "/{tail:.*}", unmatched, name=UNMATCHED),
    ]
    for route in table:
        handler: Any = route.handler
        if not middlewares:
            handler = front(policy, handler, handler in binary)
        web.RouteDef(route.method, route.path, handler, route.kwargs).register(app.router)
    return app


def serve(
    app: web.Application, host: str, port: int, routes: int, quiet: bool = False, workers: int = 1
) -> None:
    """Run until interrupted; a port in use is one line naming it, not a traceback."""
    _serve.run(app, host, port, lambda url: f"REST on {url} ({routes} routes)", quiet, workers)
