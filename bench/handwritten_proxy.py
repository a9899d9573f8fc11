"""A hand-written aiohttp proxy for Qovery's list-containers call: the baseline for issue #7.

Run: QOVERY_API_KEY=... [QOVERY_CONTAINERS_BASE_URL=...] python bench/handwritten_proxy.py --port P

``GET /v1/environment/{environmentid}/container`` →
``GET {base}/environment/{environmentId}/container`` with ``Authorization: Bearer $QOVERY_API_KEY``.

What a careful engineer writes by hand for one route, and nothing more:

* one ``aiohttp.ClientSession`` for the process (keep-alive pool), created on start-up and
  closed on clean-up, with a total timeout (``QOVERY_CONTAINERS_TIMEOUT``, default 30 s);
* the path value percent-encoded as one segment (``quote(v, safe="")``, ``.``/``..`` as
  ``%2E``) and sent as an already-encoded URL, so ``..``, ``../x``, ``a/b`` or ``%2F`` can
  never change the upstream path;
* upstream status, body and ``Content-Type`` relayed as they are (4xx included);
* upstream unreachable → 502, upstream timeout → 504, as ``{"error": ..., "status": N}``;
* the API key read once at start-up (refuse to start without it), never logged or echoed.
"""

from __future__ import annotations

import argparse
import os
import sys
from urllib.parse import quote

import aiohttp
from aiohttp import web
from yarl import URL

SESSION = web.AppKey("session", aiohttp.ClientSession)
DEFAULT_BASE = "https://api.qovery.com"


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message, "status": status}, status=status)


def create_app(token: str, base_url: str = DEFAULT_BASE, timeout: float = 30.0) -> web.Application:
    base = base_url.rstrip("/")
    auth = {"Authorization": f"Bearer {token}", "Accept": "application/json"}

    async def list_containers(request: web.Request) -> web.Response:
        segment = quote(request.match_info["environmentid"], safe="")
        if segment in (".", ".."):  # a dot segment would be resolved away by the upstream
            segment = segment.replace(".", "%2E")
        url = URL(f"{base}/environment/{segment}/container", encoded=True)
        try:
            async with request.app[SESSION].get(url, headers=auth) as resp:
                body = await resp.read()
                content_type = resp.headers.get("Content-Type", "application/octet-stream")
                return web.Response(
                    status=resp.status, body=body, headers={"Content-Type": content_type}
                )
        except TimeoutError:  # aiohttp raises asyncio.TimeoutError, the same class on 3.11+
            return _error(504, "upstream timed out")
        except aiohttp.ClientError:
            return _error(502, "upstream unreachable")

    async def session_ctx(app: web.Application):  # type: ignore[no-untyped-def]
        session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout))
        app[SESSION] = session
        yield
        await session.close()

    app = web.Application()
    app.cleanup_ctx.append(session_ctx)
    app.router.add_get("/v1/environment/{environmentid}/container", list_containers)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description="hand-written list-containers proxy")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    args = parser.parse_args()
    token = os.environ.get("QOVERY_API_KEY")
    if not token:
        sys.exit("QOVERY_API_KEY is not set")
    base = os.environ.get("QOVERY_CONTAINERS_BASE_URL", DEFAULT_BASE)
    timeout = float(os.environ.get("QOVERY_CONTAINERS_TIMEOUT", "30"))
    app = create_app(token, base, timeout)
    web.run_app(app, host=args.host, port=args.port, access_log=None, print=None)


if __name__ == "__main__":
    main()
