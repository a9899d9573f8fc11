"""`naftiko-gen import openapi`: small documents in detail, and GitHub's real REST API description
(tests/fixtures/openapi, MIT, 1223 operations) imported by tag, validated, built and served."""

from __future__ import annotations

import gzip
import json
import os
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from naftiko_gen.cli import cli
from naftiko_gen.codegen import generate, validate
from naftiko_gen.openapi_import import ImportError_, import_openapi, kebab
from naftiko_gen.writer import apply_changes, plan_changes
from tests.support import FIXTURES, OFFICIAL_SCHEMA, free_port, run_cli

GITHUB = FIXTURES / "openapi" / "api.github.com.json.gz"
KEBAB = re.compile(r"^[a-zA-Z0-9-]+$")
EXTENDED = re.compile(r"^[a-zA-Z0-9-_*]+$")

HOSTILE = "a: b\n- c\n'\"{{env.X}} #x &a *a !!python/object \\u0000 \x07 — ünï"

PETSTORE: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {"title": "Petstore API", "version": "1", "description": HOSTILE},
    "servers": [
        {"url": "https://{region}.petstore.example/v2/", "variables": {"region": {"default": "eu"}}}
    ],
    "tags": [{"name": "pets", "description": "Everything about pets"}, {"name": "store"}],
    "security": [{"key": []}],
    "components": {
        "securitySchemes": {"key": {"type": "apiKey", "in": "header", "name": "X-Api-Key"}},
        "parameters": {
            "PetId": {
                "name": "pet-id",
                "in": "path",
                "required": True,
                "schema": {"type": "integer"},
            }
        },
        "schemas": {"Pet": {"type": "object", "properties": {"name": {"type": "string"}}}},
    },
    "paths": {
        "/pets": {
            "get": {
                "operationId": "listPets",
                "summary": "List pets",
                "tags": ["pets"],
                "parameters": [
                    {
                        "name": "limit",
                        "in": "query",
                        "schema": {"type": "integer"},
                        "description": HOSTILE,
                    },
                    {"name": "tags[]", "in": "query", "schema": {"type": "array"}},
                    {
                        "name": "X-Trace",
                        "in": "header",
                        "required": True,
                        "schema": {"type": "string"},
                    },
                ],
            },
            "post": {
                "operationId": "createPet",
                "summary": "Create a pet",
                "tags": ["pets"],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/Pet"}}
                    },
                },
            },
        },
        "/pets/{pet-id}": {
            "parameters": [{"$ref": "#/components/parameters/PetId"}],
            "get": {"operationId": "showPetById", "summary": HOSTILE, "tags": ["pets"]},
            "put": {
                "operationId": "updatePet",
                "tags": ["pets"],
                "requestBody": {"content": {"application/json": {}}},
            },
            "delete": {"operationId": "deletePet", "tags": ["pets"]},
            "head": {"operationId": "headPet"},
        },
        "/store/inventory": {"get": {"operationId": "getInventory", "tags": ["store"]}},
        "/store/upload": {
            "post": {
                "operationId": "upload",
                "tags": ["store"],
                "requestBody": {"required": True, "content": {"application/octet-stream": {}}},
            }
        },
    },
}

SWAGGER2: dict[str, Any] = {
    "swagger": "2.0",
    "info": {"title": "Old Shop", "version": "1"},
    "host": "shop.example",
    "basePath": "/api",
    "schemes": ["http", "https"],
    "securityDefinitions": {"basic": {"type": "basic"}},
    "paths": {
        "/orders/{id}": {
            "get": {"operationId": "get_order", "parameters": [{"name": "id", "in": "path", "required": True, "type": "string"}]},
            "patch": {
                "operationId": "patch_order",
                "parameters": [
                    {"name": "id", "in": "path", "required": True, "type": "string"},
                    {"name": "payload", "in": "body", "required": True, "schema": {"type": "object"}},
                    {"name": "dry", "in": "query", "type": "boolean"},
                ],
            },
        }
    },
}  # fmt: skip


def _write(tmp_path: Path, files: dict[str, str]) -> Path:
    out = tmp_path / "specs"
    out.mkdir()
    for name, text in files.items():
        (out / name).write_text(text, encoding="utf-8")
    return out


def _validate_clean(folder: Path) -> None:
    report, unreadable = validate([folder])
    assert not unreadable
    errors = [d.format() for d in report.errors]
    assert not errors, "\n".join(errors[:20])


def _check_names(spec: dict[str, Any]) -> None:
    cap = spec["capability"]
    for c in cap["consumes"]:
        assert KEBAB.match(c["namespace"])
        for r in c["resources"]:
            assert KEBAB.match(r["name"])
            for o in r["operations"]:
                assert KEBAB.match(o["name"])
                for p in o.get("inputParameters", []):
                    assert EXTENDED.match(p["name"])
    for e in cap["exposes"]:
        assert KEBAB.match(e["namespace"])
        if e["type"] == "mcp":
            for t in e["tools"]:
                assert KEBAB.match(t["name"]) and len(t["name"]) <= 64, t["name"]
                for p in t.get("inputParameters", []):
                    assert EXTENDED.match(p["name"])
        else:
            for r in e["resources"]:
                assert KEBAB.match(r["name"]) and r["path"].startswith("/v1")


def test_kebab() -> None:
    assert kebab("listContainer") == "list-container"
    assert kebab("actions/add-label") == "actions-add-label"
    assert kebab("getHTTPResponse") == "get-http-response"
    assert kebab("get_order") == "get-order"


def test_petstore_by_tag(tmp_path: Path) -> None:
    result = import_openapi(PETSTORE, by="tag")
    assert sorted(result.files) == ["petstore-pets.yaml", "petstore-store.yaml"]
    assert result.operations == 6  # head skipped; octet-stream required body skipped
    assert any("HEAD /pets/{pet-id}" in n for n in result.notes)
    assert any("POST /store/upload" in n for n in result.notes)
    assert not any("tags[]" in n for n in result.notes)  # bracketed: imported as `tags`
    pets = yaml.safe_load(result.files["petstore-pets.yaml"])
    _check_names(pets)
    assert pets["info"]["label"] == "Petstore API — pets"
    assert pets["binds"] == [{"namespace": "env", "keys": {"PETSTORE_API_KEY": "PETSTORE_API_KEY"}}]
    consumes = pets["capability"]["consumes"][0]
    assert consumes["baseUri"] == "https://eu.petstore.example/v2"
    assert consumes["authentication"] == {
        "type": "apikey",
        "key": "X-Api-Key",
        "value": "{{env.PETSTORE_API_KEY}}",
        "placement": "header",
    }
    by_path = {r["path"]: r for r in consumes["resources"]}
    assert set(by_path) == {"/pets", "/pets/{pet_id}"}
    list_op, create_op = by_path["/pets"]["operations"]
    # Consumed parameters carry what the official schema allows (name, in); types and
    # requiredness are on the REST and MCP inputs.
    assert list_op["inputParameters"] == [
        {"name": "limit", "in": "query"},
        {"name": "tags", "in": "query"},
        {"name": "X-Trace", "in": "header"},
    ]
    assert create_op["inputParameters"] == [{"name": "body", "in": "body"}]
    rest, mcp = pets["capability"]["exposes"]
    rest_list = rest["resources"][0]["operations"][0]["inputParameters"]
    assert [(p["name"], p["in"], p["type"]) for p in rest_list] == [
        ("limit", "query", "integer"),
        ("tags", "query", "array"),
        ("X-Trace", "header", "string"),
    ]
    assert "\n" not in rest_list[0]["description"]
    assert [r["path"] for r in rest["resources"]] == ["/v1/pets", "/v1/pets/{pet_id}"]
    assert rest["resources"][0]["operations"][1]["with"] == {"body": "rest.body"}
    tools = {t["name"]: t for t in mcp["tools"]}
    assert list(tools) == ["list-pets", "create-pet", "show-pet-by-id", "update-pet", "delete-pet"]
    assert tools["list-pets"]["hints"] == {
        "readOnly": True,
        "destructive": False,
        "idempotent": True,
    }
    assert tools["delete-pet"]["hints"] == {
        "readOnly": False,
        "destructive": True,
        "idempotent": True,
    }
    assert tools["update-pet"]["hints"] == {
        "readOnly": False,
        "destructive": False,
        "idempotent": True,
    }
    assert tools["create-pet"]["hints"] == {
        "readOnly": False,
        "destructive": False,
        "idempotent": False,
    }
    assert tools["show-pet-by-id"]["inputParameters"][0]["name"] == "pet_id"
    assert tools["show-pet-by-id"]["inputParameters"][0]["type"] == "integer"
    assert tools["show-pet-by-id"]["description"].startswith("a: b - c '\"{{env.X}}")
    assert tools["list-pets"]["with"] == {
        "limit": "tools.limit",
        "tags": "tools.tags",
        "X-Trace": "tools.X-Trace",
    }
    assert [(p["name"], p["required"]) for p in tools["list-pets"]["inputParameters"]] == [
        ("limit", False),
        ("tags", False),
        ("X-Trace", True),
    ]
    # Deterministic, and valid for naftiko-gen.
    assert import_openapi(PETSTORE, by="tag").files == result.files
    _validate_clean(_write(tmp_path, result.files))


def test_petstore_whole_document_builds(tmp_path: Path) -> None:
    result = import_openapi(PETSTORE, name="Pet Shop", env_prefix="shop")
    assert list(result.files) == ["pet-shop.yaml"]
    spec = yaml.safe_load(result.files["pet-shop.yaml"])
    assert spec["binds"][0]["keys"] == {"SHOP_API_KEY": "SHOP_API_KEY"}
    assert spec["info"]["description"].startswith("a: b - c")
    folder = _write(tmp_path, result.files)
    generated = generate([folder], tmp_path / "generated")
    assert not generated.report.has_errors(), [d.format() for d in generated.report.errors]


def test_swagger2(tmp_path: Path) -> None:
    result = import_openapi(SWAGGER2)
    spec = yaml.safe_load(result.files["old-shop.yaml"])
    consumes = spec["capability"]["consumes"][0]
    assert consumes["baseUri"] == "https://shop.example/api"
    assert consumes["authentication"]["type"] == "basic"
    assert spec["binds"][0]["keys"] == {
        "OLD_SHOP_USERNAME": "OLD_SHOP_USERNAME",
        "OLD_SHOP_PASSWORD": "OLD_SHOP_PASSWORD",
    }
    patch = spec["capability"]["exposes"][0]["resources"][0]["operations"][1]
    assert [(p["name"], p["in"], p["type"]) for p in patch["inputParameters"]] == [
        ("dry", "query", "boolean"),
        ("body", "body", "object"),
    ]
    _validate_clean(_write(tmp_path, result.files))


def test_the_official_schema_accepts_imports() -> None:
    """Beyond naftiko-gen's own checks: every import passes the official alpha2 JSON schema."""
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads(OFFICIAL_SCHEMA.read_text(encoding="utf-8"))
    for document in (PETSTORE, SWAGGER2):
        for by in ("document", "tag", "path"):
            for text in import_openapi(document, by=by).files.values():
                spec = yaml.safe_load(text)
                validator = jsonschema.Draft202012Validator(schema)
                errors = [e.message for e in validator.iter_errors(spec)]
                assert not errors, errors[:5]


def test_unusable_documents() -> None:
    with pytest.raises(ImportError_, match="--base-uri"):
        import_openapi({"openapi": "3.1.0", "info": {"title": "x"}, "paths": {"/a": {"get": {}}}})
    with pytest.raises(ImportError_, match="no 'paths'"):
        import_openapi({"openapi": "3.1.0", "servers": [{"url": "https://x.example"}]})
    doc = {"openapi": "3.1.0", "servers": [{"url": "/relative"}], "paths": {"/a": {"get": {}}}}
    with pytest.raises(ImportError_, match="not an absolute"):
        import_openapi(doc)
    assert import_openapi(doc, base_uri="https://x.example").operations == 1


def test_cli_refuses_to_overwrite(tmp_path: Path) -> None:
    source = tmp_path / "petstore.json"
    source.write_text(json.dumps(PETSTORE), encoding="utf-8")
    out = tmp_path / "specs"
    runner = CliRunner()
    first = runner.invoke(cli, ["import", "openapi", str(source), "--by", "tag", "-o", str(out)])
    assert first.exit_code == 0, first.output
    assert "imported 6 operation(s) into 2 spec(s)" in first.output
    (out / "petstore-pets.yaml").write_text("mine", encoding="utf-8")
    second = runner.invoke(cli, ["import", "openapi", str(source), "--by", "tag", "-o", str(out)])
    assert second.exit_code == 2
    assert "already exist" in second.output and "--force" in second.output
    assert (out / "petstore-pets.yaml").read_text(encoding="utf-8") == "mine"
    third = runner.invoke(cli, ["import", "openapi", str(source), "--by", "tag", "-o", str(out), "--force"])  # fmt: skip
    assert third.exit_code == 0
    assert (
        (out / "petstore-pets.yaml").read_text(encoding="utf-8").startswith("naftiko: 1.0.0-alpha2")
    )
    missing = runner.invoke(cli, ["import", "openapi", str(tmp_path / "nope.yaml")])
    assert missing.exit_code == 2 and "cannot read" in missing.output


# -- GitHub's REST API description ------------------------------------------------------------------


def _get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.loads(response.read())


def _mcp(url: str, method: str, params: dict[str, Any], rid: int) -> Any:
    body = json.dumps({"jsonrpc": "2.0", "id": rid, "method": method, "params": params}).encode()
    request = urllib.request.Request(
        url,
        data=body,
        headers={
            "Content-Type": "application/json",
            "Accept": "application/json, text/event-stream",
            "MCP-Protocol-Version": "2025-06-18",
        },
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read())


class _Server:
    def __init__(self, generated: Path, module: str) -> None:
        self.port = free_port()
        env = {**os.environ, "PYTHONPATH": str(generated)}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", module, "--host", "127.0.0.1", "--port", str(self.port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        self.base = f"http://127.0.0.1:{self.port}"

    def wait(self, path: str) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(self.proc.stderr.read().decode() if self.proc.stderr else "")
            try:
                urllib.request.urlopen(self.base + path, timeout=1).close()
                return
            except OSError:
                time.sleep(0.1)
        raise AssertionError(f"{self.base}{path} did not answer")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if self.proc.stderr:
            self.proc.stderr.close()


def _load(text: str) -> Any:
    """PyYAML with libyaml when it is there: the 47 GitHub specs are 13 MB of YAML."""
    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506


@pytest.fixture(scope="module")
def github(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict[str, str]]:
    root = tmp_path_factory.mktemp("github")
    source = root / "api.github.com.json"
    source.write_bytes(gzip.decompress(GITHUB.read_bytes()))
    out = root / "specs"
    # The import and validation of 1,223 operations run as the CLI in a process of their own:
    # `nox -s coverage` does not trace them there (traced, they took four times as long).
    result = run_cli(
        "import", "openapi", str(source), "--by", "tag", "--name", "github", "-o", str(out),
        timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    files = {p.name: p.read_text(encoding="utf-8") for p in sorted(out.glob("*.yaml"))}
    return root, out, files


@pytest.mark.slow
# 1,223 operations through the code paths smaller tests cover: traced, the test took three
# times as long and added no covered line (pytest-cov's marker; a no-op without --cov).
@pytest.mark.no_cover
def test_github_imports_by_tag_and_validates(github: tuple[Path, Path, dict[str, str]]) -> None:
    _, out, files = github
    assert len(files) >= 40
    total = 0
    for name, text in files.items():
        spec = _load(text)
        _check_names(spec)
        tools = spec["capability"]["exposes"][1]["tools"]
        routes = [o for r in spec["capability"]["exposes"][0]["resources"] for o in r["operations"]]
        assert len(tools) == len(routes), name
        total += len(tools)
    assert total >= 1200
    result = run_cli("validate", str(out), timeout=600)
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]


SAMPLE = ("github-meta.yaml", "github-gists.yaml", "github-reactions.yaml")


@pytest.mark.slow
def test_github_builds_and_a_sample_serves(github: tuple[Path, Path, dict[str, str]]) -> None:
    """Three of the imported specs, built with the kept document (enrichment) and served. Every
    spec is planned by the validate test above; rendering all 47 here would add a minute of CPU
    to the suite and test the same templates again."""
    root, out, files = github
    generated = root / "generated"
    result = generate([out / name for name in SAMPLE], generated)
    assert not result.report.has_errors(), [d.format() for d in result.report.errors][:20]
    assert len(result.packages) == len(SAMPLE)
    apply_changes(plan_changes(result.files, result.specs, generated), generated)

    for name in SAMPLE:
        spec = _load(files[name])
        package = name[: -len(".yaml")].replace("-", "_")
        rest, mcp = spec["capability"]["exposes"]
        declared_routes = {
            (o["method"].lower(), r["path"]) for r in rest["resources"] for o in r["operations"]
        }
        declared_tools = {t["name"] for t in mcp["tools"]}

        server = _Server(generated, f"{package}.rest_server")
        try:
            server.wait("/openapi.json")
            document = _get_json(server.base + "/openapi.json")
            served = {
                (method, path)
                for path, item in document["paths"].items()
                for method in item
                if method in ("get", "post", "put", "patch", "delete")
            }
            assert served == declared_routes, name
        finally:
            server.stop()

        server = _Server(generated, f"{package}.mcp_server")
        try:
            server.wait("/health")
            url = server.base + "/mcp"
            init = _mcp(
                url,
                "initialize",
                {
                    "protocolVersion": "2025-06-18",
                    "capabilities": {},
                    "clientInfo": {"name": "test", "version": "1"},
                },
                1,
            )
            assert "result" in init, init
            listed = _mcp(url, "tools/list", {}, 2)["result"]["tools"]
            assert {t["name"] for t in listed} == declared_tools, name
        finally:
            server.stop()
