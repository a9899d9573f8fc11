"""REST `forward`: a request under a path prefix passed to one upstream, segment by segment.

The rest of the path is decoded once per segment and encoded again, so '%2F' stays inside its
segment; dot segments ('..', '%2e%2e') and encoded slashes or backslashes are refused (400):
nothing the caller writes can reach an upstream path outside the prefix's target.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from urllib.parse import quote, unquote

from aiohttp import web

from . import _runtime as rt

SEGMENT_SAFE = "!$&'()*+,;=:@-._~"


def upstream_path(raw_path: str, prefix: str) -> str:
    """The upstream path for a raw request path under `prefix` ('/' + the re-encoded rest)."""
    if raw_path == prefix:
        return "/"
    if not raw_path.startswith(prefix + "/"):
        raise web.HTTPNotFound()
    segments: list[str] = []
    for raw in raw_path[len(prefix) + 1 :].split("/"):
        try:
            decoded = unquote(raw, errors="strict")
        except UnicodeDecodeError:
            raise rt.InputError("a path segment is not valid percent-encoded UTF-8") from None
        if decoded in (".", "..") or "/" in decoded or "\\" in decoded or "\x00" in decoded:
            raise rt.InputError(
                "the forwarded path may not contain dot segments or encoded slashes"
            )
        segments.append(quote(decoded, safe=SEGMENT_SAFE))
    return "/" + "/".join(segments)


Send = Callable[
    [rt.Client, str, str, list[tuple[str, str]], dict[str, str], "tuple[bytes, str] | None"],
    Awaitable[rt.Result],
]


async def forward(
    client: rt.Client,
    upstream: rt.Upstream,
    request: web.Request,
    prefix: str,
    trusted: Iterable[str],
    send: Send,
) -> rt.Result:
    """Send the request on with `send` (upstream.py's, which adds the adapter's own query,
    header and cookie parameters): same method, query and body; only `trusted` headers copied
    (the upstream's own authentication replaces a trusted Authorization)."""
    path = upstream_path(request.rel_url.raw_path, prefix)
    headers = {
        name: request.headers[name]
        for name in trusted
        if name in request.headers
        and not (upstream.auth is not None and name.lower() == "authorization")
    }
    body: tuple[bytes, str] | None = None
    if request.body_exists:
        raw = await request.read()
        if raw:
            body = (raw, request.headers.get("Content-Type", ""))
    return await send(client, request.method, path, list(request.query.items()), headers, body)
