"""The engine's alpha2 fixtures, built and served: REST and MCP servers of the generated package
on 127.0.0.1, each upstream a validating, recording fake (tests/features/upstream.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from naftiko_gen.codegen import generate
from tests.features.upstream import (
    Built,
    FakeUpstream,
    Reply,
    build_package,
    rest_call,
    serve_mcp,
    serve_rest,
    start_fakes,
)

# Vendored from github.com/naftiko/ikanos at v1.0.0-alpha2 (see ATTRIBUTION.md beside them).
ENGINE = Path(__file__).resolve().parent.parent / "fixtures" / "engine-alpha2"


def diagnostics(spec: Path, out_dir: Path) -> list[str]:
    """The build's diagnostics, formatted (file:line:col: severity rule: message)."""
    result = generate([spec], out_dir)
    return [d.format() for d in result.report.items]


@dataclass
class Stack:
    rest_url: str = ""
    mcp: Any = None  # mcp.Client connected to the generated MCP server
    fakes: dict[str, FakeUpstream] = field(default_factory=dict)

    async def rest(self, method: str, path: str, **kwargs: Any) -> Reply:
        return await rest_call(self.rest_url, method, path, **kwargs)

    def reset(self) -> None:
        for fake in self.fakes.values():
            fake.routes.clear()
            fake.requests.clear()


@asynccontextmanager
async def serve(
    built: Built,
    fakes: Mapping[str, FakeUpstream],
    base_paths: Mapping[str, str] | None = None,
    env: Mapping[str, str] | None = None,
) -> AsyncIterator[Stack]:
    """Start the fakes (each at `<PREFIX>_BASE_URL` + its base path), then whichever servers the
    package has, and connect the real MCP client to its MCP server."""
    from mcp import Client

    with pytest.MonkeyPatch.context() as mp:
        async with AsyncExitStack() as stack:
            await start_fakes(stack, mp, fakes, base_paths, env)
            running = Stack(fakes=dict(fakes))
            if built.rest is not None:
                running.rest_url = await stack.enter_async_context(serve_rest(built))
            if built.mcp is not None:
                url = await stack.enter_async_context(serve_mcp(built))
                running.mcp = await stack.enter_async_context(Client(url + "/mcp"))
            yield running


def build(spec: Path, out_dir: Path, rest: bool = True, mcp: bool = True) -> Built:
    return build_package(spec, out_dir, rest=rest, mcp=mcp)
