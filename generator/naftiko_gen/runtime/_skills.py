"""The skill catalogue server (a skill adapter): read-only Agent Skills over HTTP.

GET /skills                          every skill: name, description, tool names
GET /skills/{name}                   its front matter and tools (derived: where to invoke them)
GET /skills/{name}/contents          the files of its folder (name, path, size, type)
GET /skills/{name}/contents/{file}   one file (only the files listed; nothing else is read)
GET /skills/{name}/download          the folder as a ZIP archive
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from aiohttp import web

from . import _rest
from ._guard import Policy

TYPES = {".md": "text/markdown", ".json": "application/json", ".yaml": "application/yaml"}


def _type(path: str) -> str:
    return TYPES.get(Path(path).suffix.lower(), "text/plain")


class Catalogue:
    """Skills as data (`catalogue`: name → detail) and their folders under `skills_dir`."""

    def __init__(
        self,
        skills_dir: Path,
        catalogue: Mapping[str, Mapping[str, Any]],
        files: Mapping[str, Iterable[str]],
    ) -> None:
        self.skills_dir = skills_dir
        self.catalogue = catalogue
        self.files = {name: tuple(paths) for name, paths in files.items()}

    def skill(self, request: web.Request) -> str:
        name = request.match_info["name"]
        if name not in self.catalogue:
            raise web.HTTPNotFound(reason=f"skill not found: {name}")
        return name

    async def list(self, request: web.Request) -> web.Response:
        skills = []
        for detail in self.catalogue.values():
            entry = {k: detail[k] for k in ("name", "description", "license") if k in detail}
            entry["tools"] = [t["name"] for t in detail["tools"]]
            skills.append(entry)
        return web.json_response({"count": len(skills), "skills": skills})

    async def detail(self, request: web.Request) -> web.Response:
        return web.json_response(self.catalogue[self.skill(request)])

    async def contents(self, request: web.Request) -> web.Response:
        name = self.skill(request)
        folder = self.skills_dir / name
        listed = [
            {"name": p.rpartition("/")[2], "path": p, "size": (folder / p).stat().st_size,
             "type": _type(p)}  # fmt: skip
            for p in self.files[name]
        ]
        return web.json_response({"name": name, "files": listed})

    async def file(self, request: web.Request) -> web.Response:
        name = self.skill(request)
        path = request.match_info["file"]
        if path not in self.files[name]:
            raise web.HTTPNotFound(reason=f"skill '{name}' has no file '{path}'")
        body = (self.skills_dir / name / path).read_bytes()
        return web.Response(body=body, content_type=_type(path), charset="utf-8")

    async def download(self, request: web.Request) -> web.Response:
        name = self.skill(request)
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in self.files[name]:
                info = zipfile.ZipInfo(f"{name}/{path}", date_time=(1980, 1, 1, 0, 0, 0))
                archive.writestr(info, (self.skills_dir / name / path).read_bytes())
        return web.Response(
            body=buffer.getvalue(),
            content_type="application/zip",
            headers={"Content-Disposition": f'attachment; filename="{name}.zip"'},
        )


def application(
    catalogue: Catalogue, policy: Policy, middlewares: Iterable[Any] = ()
) -> web.Application:
    app = web.Application(middlewares=[_rest.front_middleware(policy), *middlewares])
    app.router.add_get("/health", _rest.health)
    app.router.add_get("/skills", catalogue.list)
    app.router.add_get("/skills/{name}", catalogue.detail)
    app.router.add_get("/skills/{name}/contents", catalogue.contents)
    app.router.add_get("/skills/{name}/contents/{file:.+}", catalogue.file)
    app.router.add_get("/skills/{name}/download", catalogue.download)
    return app
