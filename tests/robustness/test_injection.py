"""Hostile text in every free-text field of a spec: the generated code stays valid, lint-clean and
inert, and the servers hand the text back byte for byte.

The spec is built here as data and dumped to YAML, so that each hostile string is known exactly:
triple quotes of both kinds, quotes, backslashes (also trailing), newlines, \\t and \\r, Jinja and
Mustache syntax, </script>, '# DO NOT EDIT', emoji, right-to-left text and 10 000 characters.
The upstream is a small aiohttp app started first, so the spec's baseUri (with a hostile but
legal path) points at it and the generated constant is exercised as is.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml
from aiohttp import web

from naftiko_gen.codegen import generate
from naftiko_gen.writer import apply_changes, plan_changes
from tests.robustness.helpers import HEADER_PREFIX, HEADER_SUFFIX, LONG, forget_package
from tests.support import ROOT, import_module, serve_aiohttp, serve_asgi

# One string with every troublemaker; its variants end in a backslash or a quote.
BASE = (
    'Q"""q \'\'\' "dq" \'sq\' back\\slash \\n \\" \\\\ '
    "line1\nline2\r\n\ttab\r {{ }} {{x}} {% if x %}{% endif %} {# c #} "
    "</script><script>alert(1)</script> # DO NOT EDIT 🚀 émoji "
    "\u202eRTL\u202c \u05e9\u05dc\u05d5\u05dd \u0645\u0631\u062d\u0628\u0627"
)
# Mustache placeholders are templates in output values and `with`; there, the rest stays.
NO_MUSTACHE = BASE.replace("{{ }} {{x}} ", "")


def hostile(tag: str) -> str:
    """A distinct hostile string per field, so a mix-up between fields is caught too."""
    return f"<{tag}> {BASE}"


INFO_LABEL = hostile("info.label") + "\\"
INFO_DESCRIPTION = hostile("info.description") + '"'
REST_DESCRIPTION = hostile("rest.description") + "'"
RESOURCE_DESCRIPTION = hostile("resource.description")
OP_LABEL = hostile("op.label")
OP_DESCRIPTION = hostile("op.description") + LONG
PARAM_DESCRIPTION = hostile("param.description") + "\\"
REST_MOCK_VALUE = "<rest.value> " + NO_MUSTACHE + "\\"
MCP_DESCRIPTION = hostile("mcp.description") + '"""'
TOOL_TITLE = hostile("tool.title") + "'''"
TOOL_DESCRIPTION = hostile("tool.description") + LONG
TOOL_PARAM_DESCRIPTION = hostile("tool.param.description")
MOCK_TOOL_DESCRIPTION = hostile("mock.description")
MCP_MOCK_VALUE = "<mcp.value> " + NO_MUSTACHE + '"'
CONSUMED_DESCRIPTION = hostile("consumes.description")
CONSUMED_OP_DESCRIPTION = hostile("consumed.op.description")
CONSUMED_PARAM_DESCRIPTION = hostile("consumed.param.description")
RCE = '"); import os; os.system("x'
WITH_LITERAL = RCE + " '''\"\"\" \\ </script> 🚀"

# Operation names are not templated and need no particular form (a 'call' splits on the last dot).
REST_OP_NAME = hostile("rest.op.name").replace("{{ }} {{x}} ", "") + "\\"
CONSUMED_OP_NAME = "send " + NO_MUSTACHE.replace(".", "")
TOOL_NAME = "a.b-c_D.9"
LONG_TOOL_NAME = "t" * 127 + "9"
# Unusual literal path segments made only of characters a URL path may hold as they are
# (sub-delims, ':' and '@'); non-ASCII and spaces have their own tests below.
UPSTREAM_PREFIX = "/b'ase/(x)!*,;=@:~$&+"
UPSTREAM_SEGMENT = "/it's/a;b=c"
EXPOSED_PATH = "/v1/it's/(x)!/{id}"
TOKEN_ENV = "INJECTION_UPSTREAM_TOKEN"
TOKEN = "tok-injection-7"


def spec_data(upstream_base: str) -> dict[str, Any]:
    return {
        "naftiko": "1.0.0-alpha2",
        "info": {"label": INFO_LABEL, "description": INFO_DESCRIPTION},
        "binds": [{"namespace": "env", "keys": {TOKEN_ENV: TOKEN_ENV}}],
        "capability": {
            "consumes": [
                {
                    "type": "http",
                    "namespace": "up",
                    "baseUri": upstream_base + UPSTREAM_PREFIX,
                    "description": CONSUMED_DESCRIPTION,
                    "authentication": {"type": "bearer", "token": "{{env." + TOKEN_ENV + "}}"},
                    "resources": [
                        {
                            "name": "things",
                            "path": UPSTREAM_SEGMENT + "/{{id}}",
                            "operations": [
                                {
                                    "name": CONSUMED_OP_NAME,
                                    "method": "POST",
                                    "description": CONSUMED_OP_DESCRIPTION,
                                    "inputParameters": [
                                        {
                                            "name": "note",
                                            "in": "query",
                                            "description": CONSUMED_PARAM_DESCRIPTION,
                                        },
                                    ],
                                    "body": {
                                        "type": "json",
                                        "data": {"payload": "{{payload}}", "fixed": WITH_LITERAL},
                                    },
                                }
                            ],
                        }
                    ],
                }
            ],
            "exposes": [
                {
                    "type": "rest",
                    "namespace": "hostile-rest",
                    "port": 8401,
                    "description": REST_DESCRIPTION,
                    "resources": [
                        {
                            "path": EXPOSED_PATH,
                            "name": "thing",
                            "description": RESOURCE_DESCRIPTION,
                            "operations": [
                                {
                                    "method": "POST",
                                    "name": "send-thing",
                                    "label": OP_LABEL,
                                    "description": OP_DESCRIPTION,
                                    "inputParameters": [
                                        {
                                            "name": "extra",
                                            "in": "query",
                                            "type": "string",
                                            "description": PARAM_DESCRIPTION,
                                        }
                                    ],
                                    "call": "up." + CONSUMED_OP_NAME,
                                    "with": {
                                        "id": "hostile-rest.id",
                                        "note": WITH_LITERAL,
                                        "payload": WITH_LITERAL,
                                    },
                                },
                                {
                                    "method": "GET",
                                    "name": REST_OP_NAME,
                                    "description": OP_DESCRIPTION,
                                    "outputParameters": [
                                        {"name": "text", "type": "string", "value": REST_MOCK_VALUE},
                                        {"name": "rce", "type": "string", "value": RCE},
                                    ],
                                },
                            ],
                        }
                    ],
                },
                {
                    "type": "mcp",
                    "namespace": "hostile-mcp",
                    "port": 8402,
                    "description": MCP_DESCRIPTION,
                    "tools": [
                        {
                            "name": TOOL_NAME,
                            "label": TOOL_TITLE,
                            "description": TOOL_DESCRIPTION,
                            "inputParameters": [
                                {"name": "id", "type": "string",
                                 "description": TOOL_PARAM_DESCRIPTION},
                            ],
                            "call": "up." + CONSUMED_OP_NAME,
                            "with": {"note": WITH_LITERAL, "payload": WITH_LITERAL},
                        },
                        {
                            "name": LONG_TOOL_NAME,
                            "description": MOCK_TOOL_DESCRIPTION,
                            "outputParameters": [
                                {"name": "text", "type": "string", "value": MCP_MOCK_VALUE},
                                {"name": "rce", "type": "string", "value": RCE},
                            ],
                        },
                    ],
                },
            ],
        },
    }


# -- a fake upstream that records what it receives ------------------------------------------------


@dataclass
class Seen:
    method: str
    path: str
    raw_path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes


@dataclass
class FakeUpstream:
    base_url: str = ""
    requests: list[Seen] = field(default_factory=list)


FAKE = web.AppKey("fake", FakeUpstream)


async def _record(request: web.Request) -> web.Response:
    fake = request.app[FAKE]
    query: dict[str, list[str]] = {}
    for k, v in request.query.items():
        query.setdefault(k, []).append(v)
    fake.requests.append(
        Seen(request.method, request.path, request.raw_path, query, dict(request.headers),
             await request.read())
    )  # fmt: skip
    return web.json_response({"id": "up-1", "ok": True})


@pytest.fixture
async def upstream() -> AsyncIterator[FakeUpstream]:
    fake = FakeUpstream()
    app = web.Application()
    app[FAKE] = fake
    app.router.add_route("*", "/{tail:.*}", _record)
    async with serve_aiohttp(app) as base:
        fake.base_url = base
        yield fake


@dataclass
class Built:
    out: Path
    package: str
    files: dict[str, str]
    spec: Path


def build_hostile(folder: Path, upstream_base: str) -> Built:
    data = spec_data(upstream_base)
    text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=2**20)
    assert yaml.safe_load(text) == data  # the YAML carries the strings exactly
    spec = folder / "specs" / "hostile-capability.yaml"
    spec.parent.mkdir()
    spec.write_text(text, encoding="utf-8")
    out = folder / "out"
    result = generate([spec], out)
    errors = [d.format() for d in result.report.errors]
    assert not errors, "\n".join(errors)
    apply_changes(plan_changes(result.files, result.specs, out), out)
    return Built(out, result.packages[0], result.files, spec)


@pytest.fixture(scope="module")
def built_static(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    """Built against an upstream that is never called (for the tests that only read code)."""
    built = build_hostile(tmp_path_factory.mktemp("hostile"), "http://127.0.0.1:9")
    yield built
    forget_package(built.package)


@pytest.fixture
async def built(tmp_path: Path, upstream: FakeUpstream) -> AsyncIterator[Built]:
    """Built with the fake upstream's address as baseUri."""
    built = build_hostile(tmp_path, upstream.base_url)
    yield built
    forget_package(built.package)


# -- the generated code ---------------------------------------------------------------------------


def test_every_python_file_compiles_and_starts_with_do_not_edit(built_static: Built) -> None:
    py_files = {rel: text for rel, text in built_static.files.items() if rel.endswith(".py")}
    assert {Path(rel).name for rel in py_files} >= {"rest_server.py", "mcp_server.py", "upstream.py"}
    for rel, text in py_files.items():
        compile(text, rel, "exec")
        first = text.split("\n", 1)[0]
        assert first.startswith(HEADER_PREFIX) and first.endswith(HEADER_SUFFIX), (rel, first)
        # Nothing from the spec reaches a line of its own outside a literal: the only comment
        # lines are the generator's own, so '# DO NOT EDIT' from the spec never is one.
        for line in text.splitlines()[1:]:
            stripped = line.strip()
            assert not stripped.startswith("# DO NOT EDIT"), (rel, line)
            assert "</script>" not in stripped or "'" in stripped or '"' in stripped, (rel, line)


def _ruff() -> list[str] | None:
    exe = Path(sys.executable).with_name("ruff")
    if exe.is_file():
        return [str(exe)]
    found = shutil.which("ruff")
    return [found] if found else None


@pytest.mark.parametrize("config", ["default", "project"])
def test_ruff_is_clean(built_static: Built, config: str) -> None:
    built = built_static
    ruff = _ruff()
    if ruff is None:
        pytest.skip("ruff is not installed")
    args = [*ruff, "check", "--no-cache"]
    if config == "project":  # the rules CI applies to generated/
        args += ["--config", str(ROOT / "pyproject.toml")]
    proc = subprocess.run(
        [*args, str(built.out / built.package)], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]


def test_upstream_table_keeps_the_base_uri(built_static: Built) -> None:
    up = import_module(built_static.out, built_static.package, "upstream")
    assert up.UPSTREAMS["up"].base_url == "http://127.0.0.1:9" + UPSTREAM_PREFIX


# -- the running servers --------------------------------------------------------------------------


def _env() -> dict[str, str]:
    return {TOKEN_ENV: TOKEN}


@pytest.mark.anyio
async def test_rest_openapi_returns_the_strings_unchanged(built: Built) -> None:
    rest = import_module(built.out, built.package, "rest_server")
    async with serve_aiohttp(rest.create_app(_env())) as base:
        async with aiohttp.ClientSession() as session:
            async with session.get(base + "/openapi.json") as resp:
                assert resp.status == 200
                doc = json.loads(await resp.read())
    assert doc["info"]["title"] == INFO_LABEL
    assert doc["info"]["description"] == REST_DESCRIPTION
    oas_path = EXPOSED_PATH
    assert oas_path in doc["paths"], list(doc["paths"])
    post = doc["paths"][oas_path]["post"]
    assert post["operationId"] == "send-thing"
    assert post["summary"] == OP_LABEL
    assert post["description"] == OP_DESCRIPTION
    params = {p["name"]: p for p in post.get("parameters", [])}
    assert params["extra"]["description"] == PARAM_DESCRIPTION
    get = doc["paths"][oas_path]["get"]
    assert get["operationId"] == REST_OP_NAME
    assert get["description"] == OP_DESCRIPTION
    # The committed file is what is served.
    on_disk = json.loads((built.out / built.package / "openapi.json").read_text(encoding="utf-8"))
    assert on_disk == doc


@pytest.mark.anyio
async def test_rest_mock_value_and_with_literal_reach_their_targets_unchanged(
    built: Built, upstream: FakeUpstream
) -> None:
    rest = import_module(built.out, built.package, "rest_server")
    url_path = "/v1/it's/(x)!/thing-1"
    async with serve_aiohttp(rest.create_app(_env())) as base:
        async with aiohttp.ClientSession() as session:
            async with session.get(base + url_path) as resp:
                body = await resp.text()
                assert resp.status == 200, body
                assert json.loads(body) == {"text": REST_MOCK_VALUE, "rce": RCE}
            assert upstream.requests == []
            async with session.post(base + url_path, params={"extra": "x"}) as resp:
                body = await resp.text()
                assert resp.status == 200, body
    assert len(upstream.requests) == 1
    seen = upstream.requests[0]
    assert seen.method == "POST"
    assert seen.path == UPSTREAM_PREFIX + UPSTREAM_SEGMENT + "/thing-1"
    assert seen.query == {"note": [WITH_LITERAL]}
    assert json.loads(seen.body) == {"payload": WITH_LITERAL, "fixed": WITH_LITERAL}
    assert seen.headers.get("Authorization") == f"Bearer {TOKEN}"


@pytest.mark.anyio
async def test_mcp_tools_list_and_instructions_return_the_strings_unchanged(
    built: Built, upstream: FakeUpstream
) -> None:
    from mcp import Client

    mcp_server = import_module(built.out, built.package, "mcp_server")
    async with serve_asgi(mcp_server.create_app(environ=_env())) as base:
        async with Client(base + "/mcp") as client:
            instructions = client.instructions
            tools = {t.name: t for t in (await client.list_tools()).tools}
    assert instructions == MCP_DESCRIPTION
    assert set(tools) == {TOOL_NAME, LONG_TOOL_NAME}
    tool = tools[TOOL_NAME]
    assert tool.title == TOOL_TITLE
    assert tool.description == TOOL_DESCRIPTION
    assert tool.input_schema["properties"]["id"]["description"] == TOOL_PARAM_DESCRIPTION
    assert tools[LONG_TOOL_NAME].description == MOCK_TOOL_DESCRIPTION
    assert upstream.requests == []


@pytest.mark.anyio
async def test_mcp_mock_value_and_with_literal_reach_their_targets_unchanged(
    built: Built, upstream: FakeUpstream
) -> None:
    from mcp import Client

    mcp_server = import_module(built.out, built.package, "mcp_server")
    async with serve_asgi(mcp_server.create_app(environ=_env())) as base:
        async with Client(base + "/mcp") as client:
            mock = await client.call_tool(LONG_TOOL_NAME, {})
            called = await client.call_tool(TOOL_NAME, {"id": "thing-2"})
    assert not mock.is_error, mock
    expected = {"text": MCP_MOCK_VALUE, "rce": RCE}
    assert mock.structured_content == expected
    assert json.loads(mock.content[0].text) == expected
    assert not called.is_error, called
    assert len(upstream.requests) == 1
    seen = upstream.requests[0]
    assert seen.path == UPSTREAM_PREFIX + UPSTREAM_SEGMENT + "/thing-2"
    assert seen.query == {"note": [WITH_LITERAL]}
    assert json.loads(seen.body) == {"payload": WITH_LITERAL, "fixed": WITH_LITERAL}


# -- literal path characters that must be percent-encoded (known defects) -------------------------


def _path_spec(base_uri: str, consumed_path: str, exposed_path: str) -> str:
    return yaml.safe_dump(
        {
            "naftiko": "1.0.0-alpha2",
            "capability": {
                "consumes": [
                    {
                        "type": "http",
                        "namespace": "up",
                        "baseUri": base_uri,
                        "resources": [
                            {"name": "r", "path": consumed_path + "/{{id}}",
                             "operations": [{"name": "get", "method": "GET"}]},
                        ],
                    }
                ],
                "exposes": [
                    {
                        "type": "rest",
                        "namespace": "paths-rest",
                        "port": 8411,
                        "resources": [
                            {"path": exposed_path,
                             "operations": [{"method": "GET", "name": "get", "call": "up.get"}]},
                        ],
                    }
                ],
            },
        },
        allow_unicode=True,
    )


async def _get_through(tmp_path: Path, text: str, url_path: str) -> tuple[int, str]:
    spec = tmp_path / "path-literals.yaml"
    spec.write_text(text, encoding="utf-8")
    out = tmp_path / "out"
    result = generate([spec], out)
    assert not result.report.has_errors(), [d.format() for d in result.report.errors]
    apply_changes(plan_changes(result.files, result.specs, out), out)
    rest = import_module(out, result.packages[0], "rest_server")
    try:
        async with serve_aiohttp(rest.create_app({})) as base:
            async with aiohttp.ClientSession() as session:
                async with session.get(base + url_path) as resp:
                    return resp.status, await resp.text()
    finally:
        forget_package(result.packages[0])


@pytest.mark.anyio
@pytest.mark.parametrize(
    "prefix,segment",
    [("", "/caf\u00e9"), ("", "/a b"), ("/caf\u00e9", "/x")],
    ids=["non-ascii-path", "space-in-path", "non-ascii-baseuri-path"],
)
async def test_consumed_literal_path_is_percent_encoded(
    tmp_path: Path, upstream: FakeUpstream, prefix: str, segment: str
) -> None:
    text = _path_spec(upstream.base_url + prefix, segment, "/x/{id}")
    status, body = await _get_through(tmp_path, text, "/x/item-1")
    assert status == 200, body
    assert [r.path for r in upstream.requests] == [prefix + segment + "/item-1"]


@pytest.mark.anyio
@pytest.mark.parametrize(
    "exposed,url_path",
    [("/v1/caf\u00e9/{id}", "/v1/caf%C3%A9/item-1"), ("/v1/a b/{id}", "/v1/a%20b/item-1")],
    ids=["non-ascii", "space"],
)
async def test_exposed_literal_path_needing_encoding_is_refused_or_reachable(
    tmp_path: Path, upstream: FakeUpstream, exposed: str, url_path: str
) -> None:
    """aiohttp's dynamic routes never match such literals: the path is refused, or it works."""
    text = _path_spec(upstream.base_url, "/r", exposed)
    spec = tmp_path / "path-literals.yaml"
    spec.write_text(text, encoding="utf-8")
    result = generate([spec], tmp_path / "out")
    if result.report.has_errors():
        errors = result.report.errors
        assert [d.rule for d in errors] == ["naftiko-rest-path"], [d.format() for d in errors]
        assert errors[0].pos.line > 1
        return
    status, body = await _get_through(tmp_path, text, url_path)
    assert status == 200, body
    assert [r.path for r in upstream.requests] == ["/r/item-1"]
