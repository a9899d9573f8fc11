"""What every generated aiohttp REST server shares: reading inputs, relaying, errors, running."""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from typing import Any

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger
from aiohttp.typedefs import Handler

from . import _runtime as rt

CLIENT = web.AppKey("client", rt.Client)
CONFIG = web.AppKey("config", rt.Config)
OPENAPI = web.AppKey("openapi", bytes)
JSON_TYPES = ("application/json",)
LOG = logging.getLogger("naftiko.rest")


def error(status: int, message: str, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response({"error": message, "status": status}, status=status, headers=headers)


def relay(result: rt.Result) -> web.Response:
    """The upstream answer as it came (or as mapped): status, content type and body."""
    response = web.Response(status=result.status, body=result.body)
    if result.content_type:
        response.headers["Content-Type"] = result.content_type
    return response


async def json_body(request: web.Request) -> Any:
    """The request body as JSON, or None when there is none; only JSON content types.

    A browser can send text/plain or form bodies cross-site without a preflight; refusing
    them keeps a page the operator visits from driving this server.
    """
    if not request.body_exists:
        return None
    raw = await request.read()
    if not raw.strip():
        return None
    if request.content_type not in JSON_TYPES and not request.content_type.endswith("+json"):
        raise web.HTTPUnsupportedMediaType(text="request bodies must be application/json")
    try:
        return json.loads(raw, parse_constant=_no_constant)
    except (ValueError, RecursionError):
        raise rt.InputError("request body is not valid JSON") from None


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
    return rt.check(name, value, kind, pattern)


Guard = Callable[[Mapping[str, str], Mapping[str, str]], bool]
OPEN_PATHS = ("/health", "/openapi.json")


def require(allows: Guard, challenge: str) -> Any:
    """Middleware: callers present the adapter's credentials (probes and the document excepted)."""

    @web.middleware
    async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path not in OPEN_PATHS and not allows(request.headers, request.query):
            return error(401, "missing or invalid credentials", {"WWW-Authenticate": challenge})
        return await handler(request)

    return guard


@web.middleware
async def errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every failure as a JSON error body; 405 keeps its Allow header."""
    try:
        return await handler(request)
    except rt.InputError as exc:
        return error(400, str(exc))
    except rt.UpstreamError as exc:
        return error(exc.status, str(exc))
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        allow = exc.headers.get("Allow")
        return error(exc.status, exc.reason, {"Allow": allow} if allow else None)


async def health(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def openapi(request: web.Request) -> web.Response:
    return web.Response(body=request.app[OPENAPI], content_type="application/json")


def application(
    config: rt.Config,
    client: Callable[[rt.Config], rt.Client],
    routes: web.RouteTableDef,
    openapi_document: bytes,
    middlewares: Iterable[Any] = (),
) -> web.Application:
    app = web.Application(middlewares=[*middlewares, errors])
    app[CONFIG] = config
    app[OPENAPI] = openapi_document

    async def session(app: web.Application) -> AsyncIterator[None]:
        async with client(config) as opened:
            app[CLIENT] = opened
            yield

    app.cleanup_ctx.append(session)
    app.router.add_get("/health", health)
    app.router.add_get("/openapi.json", openapi)
    app.add_routes(routes)
    return app


class AccessLog(AbstractAccessLogger):
    """One line per request: method, path, status, milliseconds (never headers or query)."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, duration: float) -> None:
        self.logger.info(
            "%s %s %d %.1fms", request.method, request.path, response.status, duration * 1000
        )

    @property
    def enabled(self) -> bool:
        return self.logger.isEnabledFor(logging.INFO)


def serve(app: web.Application, host: str, port: int, routes: int, quiet: bool = False) -> None:
    """Run until interrupted; a port in use is one line naming it, not a traceback."""
    logging.basicConfig(level=logging.WARNING if quiet else logging.INFO, format="%(message)s")
    shown = f"[{host}]" if ":" in host else host
    started = time.monotonic()

    def ready(*_: object) -> None:
        LOG.warning(
            "REST on http://%s:%d (%d routes), ready in %.2f s",
            shown, port, routes, time.monotonic() - started,
        )  # fmt: skip

    try:
        web.run_app(
            app,
            host=host,
            port=port,
            print=ready,
            access_log=LOG,
            access_log_class=AccessLog,
            shutdown_timeout=10,
        )
    except OSError as exc:
        if exc.errno in (98, 48, 10048):  # EADDRINUSE on Linux, macOS, Windows
            sys.exit(f"error: port {port} on {host} is already in use; choose another with --port")
        sys.exit(f"error: cannot listen on {host}:{port}: {exc.strerror or exc}")
