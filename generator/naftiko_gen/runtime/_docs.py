"""GET /docs: the server's OpenAPI document in Swagger UI, its assets served by the server itself.

No CDN: the page works offline, on closed networks and behind a proxy. The assets come from the
`swagger-ui-py` distribution (a requirement of the package; it ships swagger-ui-dist), found
without importing it (its package imports Jinja and PyYAML, which the server never needs).
Every URL of the page is relative to it (`docs/swagger-ui.css`, `openapi.json`), so a proxy
serving the API under a path prefix serves its docs there too; the document's `servers` is
relative as well, so "Try it out" calls the host, port and prefix that served the page.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from aiohttp import web

PATH = "/docs"
# Route names: the caller-credential guards leave these open, like /health and /openapi.json
# (the page and its assets hold nothing of the API; calls made from it need credentials).
OPEN_ROUTES = ("naftiko-docs", "naftiko-docs-slash", "naftiko-docs-asset")
ASSETS = {  # the files of swagger-ui-dist the page loads; nothing else of the folder is served
    "swagger-ui.css": "text/css",
    "swagger-ui-bundle.js": "text/javascript",
    "favicon-32x32.png": "image/png",
}
PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>API docs</title>
<link rel="stylesheet" href="docs/swagger-ui.css">
<link rel="icon" type="image/png" href="docs/favicon-32x32.png">
</head>
<body>
<div id="swagger-ui"></div>
<script src="docs/swagger-ui-bundle.js"></script>
<script src="docs/init.js"></script>
</body>
</html>
"""
# A file rather than an inline script: a Content-Security-Policy without 'unsafe-inline' (a
# proxy's, or the operator's) still runs it.
INIT = """window.ui = SwaggerUIBundle({
  url: new URL("openapi.json", document.baseURI).href,
  dom_id: "#swagger-ui",
  deepLinking: true,
  displayRequestDuration: true,
  tryItOutEnabled: false,
});
"""
MISSING = (
    "the API docs page needs the swagger-ui-py distribution (pip install -r requirements.txt); "
    "the OpenAPI document is at openapi.json"
)
HEADERS = {"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"}


def folder() -> Path | None:
    """swagger-ui-dist's files as swagger-ui-py installs them, or None when it is absent."""
    spec = importlib.util.find_spec("swagger_ui")
    if spec is None or not spec.submodule_search_locations:
        return None
    static = Path(next(iter(spec.submodule_search_locations))) / "static"
    return static if (static / "swagger-ui-bundle.js").is_file() else None


def routes() -> list[web.RouteDef]:
    """/docs, its script and its assets; /docs/ redirects to /docs (relative URLs)."""
    static = folder()

    async def page(request: web.Request) -> web.Response:
        if static is None:
            return web.json_response({"error": MISSING, "status": 501}, status=501)
        return web.Response(text=PAGE, content_type="text/html", headers=HEADERS)

    async def slash(request: web.Request) -> web.Response:
        # Relative: behind a proxy prefix, /prefix/docs/ goes to /prefix/docs.
        raise web.HTTPFound("../docs")

    async def asset(request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        if name == "init.js":
            return web.Response(text=INIT, content_type="text/javascript", headers=HEADERS)
        kind = ASSETS.get(name)
        if kind is None or static is None:
            raise web.HTTPNotFound()
        # The files change only when swagger-ui-py is upgraded: revalidated, not re-sent.
        return web.FileResponse(static / name, headers={"Content-Type": kind, **HEADERS})

    return [
        web.get(PATH, page, name=OPEN_ROUTES[0]),
        web.get(PATH + "/", slash, name=OPEN_ROUTES[1]),
        web.get(PATH + "/{name}", asset, name=OPEN_ROUTES[2]),
    ]


def is_open(request: web.Request) -> bool:
    """A request for the page or its assets (matched by route, never by a path a spec owns)."""
    return request.match_info.route.name in OPEN_ROUTES
