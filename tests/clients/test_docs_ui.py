"""GET /docs in a real browser: headless Chromium renders the committed seed package's page
(Swagger UI, its files served by the server itself) and every route of openapi.json is on it.

The browser can resolve no name but 127.0.0.1 (`--host-resolver-rules`): a page that loaded
anything from a CDN would render no operation. The server's /docs is opened through a proxy
that serves the API under /api (as an ingress with a path prefix does), which works only
because every URL of the page is relative; opening it directly as well would cost a second
browser start (~3 s) and check less.

Skipped, with the reason, when Chromium is not installed (CI installs it: .ci/run).
"""

from __future__ import annotations

import asyncio
import json
import shutil
import tempfile
from collections.abc import AsyncIterator
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import pytest
from aiohttp import web

from tests.e2e.harness import import_generated
from tests.support import judge_missing, serve_aiohttp

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

CHROMIUM = next((p for p in map(shutil.which, ("chromium", "chromium-browser")) if p), None)
FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-extensions", "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    "--virtual-time-budget=5000", "--dump-dom",
)  # fmt: skip
PREFIX = "/api"


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


class Page(HTMLParser):
    """The operations Swagger UI rendered ((METHOD, path)) and the URLs the page loads."""

    def __init__(self) -> None:
        super().__init__()
        self.operations: set[tuple[str, str]] = set()
        self.loads: list[str] = []
        self._method: str | None = None
        self._in_method = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        classes = (a.get("class") or "").split()
        if "opblock-summary-method" in classes:
            self._in_method = True
        if "opblock-summary-path" in classes and self._method and a.get("data-path"):
            self.operations.add((self._method, a["data-path"] or ""))
            self._method = None
        if tag == "script" and a.get("src"):
            self.loads.append(a["src"] or "")
        if tag == "link" and a.get("href"):
            self.loads.append(a["href"] or "")
        if tag == "img" and a.get("src"):
            self.loads.append(a["src"] or "")

    def handle_data(self, data: str) -> None:
        if self._in_method:
            self._method = data.strip()
            self._in_method = False


async def _dump(url: str) -> str:
    """The page's DOM after its scripts ran (Chromium's virtual time: no wall-clock wait)."""
    assert CHROMIUM is not None
    with tempfile.TemporaryDirectory() as profile:
        proc = await asyncio.create_subprocess_exec(
            CHROMIUM, *FLAGS, f"--user-data-dir={profile}", url,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, err = await asyncio.wait_for(proc.communicate(), 90)
    assert proc.returncode == 0, err.decode(errors="replace")[-2000:]
    return out.decode("utf-8")


def _prefix_proxy(upstream: str) -> web.Application:
    """A reverse proxy serving `upstream` under /api (it strips the prefix), as an ingress does."""

    async def forward(request: web.Request) -> web.Response:
        tail = request.match_info["tail"]
        headers = {"Host": urlsplit(upstream).netloc}  # the server answers its loopback name
        async with aiohttp.ClientSession() as session:
            async with session.request(
                request.method, f"{upstream}/{tail}", headers=headers, allow_redirects=False
            ) as answer:
                body = await answer.read()
                kept = {
                    k: v for k, v in answer.headers.items() if k in ("Content-Type", "Location")
                }
                return web.Response(status=answer.status, body=body, headers=kept)

    app = web.Application()
    app.router.add_route("*", PREFIX + "/{tail:.*}", forward)
    return app


@pytest.fixture(scope="module")
async def served() -> AsyncIterator[tuple[str, str, Any]]:
    """The seed's REST server, and the proxy in front of it: (direct URL, proxied URL, module)."""
    if CHROMIUM is None:
        judge_missing("Chromium is not installed (apt-get install chromium)")
    rest = import_generated("rest_server")
    app = rest.create_app(environ={"QOVERY_API_KEY": "unused: no call goes upstream"})
    async with serve_aiohttp(app) as base, serve_aiohttp(_prefix_proxy(base)) as proxy:
        yield base, proxy + PREFIX, rest


async def test_docs_page_renders_every_route_offline(served: tuple[str, str, Any]) -> None:
    base, proxied, rest = served
    async with aiohttp.ClientSession() as session:
        async with session.get(base + "/openapi.json") as answer:
            document = json.loads(await answer.read())
    expected = {(m.upper(), p) for p, item in document["paths"].items() for m in item}
    assert len(expected) == sum(isinstance(r, web.RouteDef) for r in rest.routes)
    dom = await _dump(proxied + "/docs")
    page = Page()
    page.feed(dom)
    assert page.operations == expected, dom[-3000:]
    assert {"docs/swagger-ui-bundle.js", "docs/init.js", "docs/swagger-ui.css"} <= set(page.loads)
    # Nothing from elsewhere: every URL the page loads is relative to it.
    assert all(not urlsplit(u).scheme and not u.startswith("/") for u in page.loads), page.loads


async def test_docs_assets_and_redirect(served: tuple[str, str, Any]) -> None:
    base, _, _ = served
    async with aiohttp.ClientSession() as session:
        async with session.get(base + "/docs/", allow_redirects=False) as answer:
            assert (answer.status, answer.headers["Location"]) == (302, "../docs")
        async with session.get(base + "/docs/swagger-ui.css") as answer:
            assert (answer.status, answer.content_type) == (200, "text/css")
            etag = answer.headers["ETag"]
        async with session.get(
            base + "/docs/swagger-ui.css", headers={"If-None-Match": etag}
        ) as answer:
            assert answer.status == 304  # revalidated, not sent again
        # Only the files the page needs: not the rest of the distribution's folder.
        for name in ("swagger-editor-bundle.js", "..%2F__init__.py", "index.html"):
            async with session.get(base + "/docs/" + name) as answer:
                assert answer.status == 404, name
