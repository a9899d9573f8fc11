"""Issue #21: families. What plan/family.py decides (prefixes, selection, refusals), what
`build --compose` writes (a package that lints and runs in-process), and `serve` on a busy port
(#21 item 4: one error line naming the flag, nothing left running)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from naftiko_gen.cli import cli
from naftiko_gen.compose import compose, member_plans
from naftiko_gen.diagnostics import Report
from naftiko_gen.plan.family import Family, Selection
from tests.e2e.family_specs import write_family
from tests.support import ROOT, import_module

AUTH_MCP = """\
    - type: mcp
      port: 9091
      namespace: guarded-mcp
      authentication:
        type: bearer
        token: "{{env.GUARD_TOKEN}}"
      tools:
        - name: guarded
          description: A tool behind callers' credentials
          call: shelf.get-item
"""


@pytest.fixture(scope="module")
def specs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("family") / "specs"
    write_family(folder, 4)
    return folder


def _family(
    specs: Path, selection: Selection | None = None, name: str = "fam"
) -> tuple[Family, dict[str, str], Report]:
    report = Report()
    plans = member_plans([specs], specs.parent / "out", None, report)
    family, files = compose(name, "specs", plans, selection or Selection(), report)
    return family, files, report


def test_shared_names_are_prefixed_unique_ones_kept(specs: Path) -> None:
    family, files, report = _family(specs)
    tools = {m.capability: m.tools for m in family.mcp}
    assert tools["cap01"] == {"get-item": "cap01_get-item", "cap01-info": "cap01-info"}
    assert {m.capability: m.prefix for m in family.rest} == {
        "cap01": "/cap01", "cap02": "/cap02", "cap03": "", "cap04": "",
    }  # fmt: skip
    rules = sorted({d.rule for d in report.items})
    assert rules == ["naftiko-family-routes-prefixed", "naftiko-family-tool-renamed"]
    assert "fam/rest_server.py" in files and "fam/_family.py" in files


def test_prefix_all_and_selection_by_tag_and_glob(specs: Path) -> None:
    family, _, report = _family(specs, Selection(prefix_all=True, include=("odd",)))
    assert [m.capability for m in family.mcp] == ["cap01", "cap03"]
    assert family.mcp[1].tools == {"get-item": "cap03_get-item", "cap03-info": "cap03_cap03-info"}
    assert all(m.prefix == f"/{m.capability}" for m in family.rest)
    assert not report.items  # nothing is renamed because of a collision
    family, _, _ = _family(specs, Selection(exclude=("*-info", "GET /v1/items/*")))
    assert family.tools == 4
    assert all(m.prefix == "" for m in family.rest)  # the colliding route is left out
    assert family.rest[0].hidden == [("GET", "/v1/items/{id}")]


def test_refusals(specs: Path, tmp_path: Path) -> None:
    _, files, report = _family(specs, name="cap01")
    assert not files and [d.rule for d in report.errors] == ["naftiko-family-clash"]
    _, files, report = _family(specs, Selection(include=("nothing-matches",)))
    assert not files and [d.rule for d in report.errors] == ["naftiko-family-empty"]
    guarded = tmp_path / "specs"
    write_family(guarded, 2)
    text = (guarded / "cap02.yaml").read_text()
    (guarded / "cap02.yaml").write_text(text + AUTH_MCP.replace("    - type", "    - type", 1))
    _, files, report = _family(guarded)
    assert [(d.rule, d.pos.file) for d in report.errors] == [
        ("naftiko-family-auth", "specs/cap02.yaml")
    ] or [d.rule for d in report.errors] == ["naftiko-family-auth"]


def test_build_compose_writes_a_package_that_serves_in_process(
    specs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "generated"
    result = CliRunner().invoke(cli, ["build", str(specs), "-o", str(out), "--compose", "fam"])
    assert result.exit_code == 0, result.output
    assert (out / "fam" / "mcp.json").is_file()
    lint = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--no-cache", str(out / "fam")],
        capture_output=True, text=True, cwd=ROOT,
    )  # fmt: skip
    assert lint.returncode == 0, lint.stdout
    again = CliRunner().invoke(
        cli, ["build", str(specs), "-o", str(out), "--compose", "fam", "--check"]
    )
    assert again.exit_code == 0, again.output
    monkeypatch.syspath_prepend(str(out))
    mcp_server = import_module(out, "fam", "mcp_server")
    server = mcp_server.build_server({"SHELF_BASE_URL": "http://127.0.0.1:9"})
    listed = [t["name"] for t in server.listed["tools"]]
    assert len(listed) == len(set(listed)) == 8 and "cap04-info" in listed


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_on_a_busy_port_is_one_line_naming_the_flag(tmp_path: Path) -> None:
    """The MCP port is taken: the REST server, up first, is stopped again (one case: each runs
    a build and two servers; the REST flag takes the same path)."""
    flag = "--mcp-port"
    spec = ROOT / "tests" / "fixtures" / "features" / "feat_mcp.yaml"
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        taken = busy.getsockname()[1]
        other = _free_port()
        ports = {"--rest-port": other, "--mcp-port": other} | {flag: taken}
        env = dict(os.environ, NAFTIKO_GEN_NO_CACHE="1")
        done = subprocess.run(
            [sys.executable, "-m", "naftiko_gen", "serve", str(spec), "-o", str(tmp_path),
             *(f"{k}={v}" for k, v in ports.items())],
            capture_output=True, text=True, env=env, timeout=120,
        )  # fmt: skip
    errors = [line for line in done.stderr.splitlines() if "error" in line]
    assert done.returncode != 0 and not done.stdout.strip(), done.stdout
    assert len(errors) == 1, done.stderr
    assert f"port {taken}" in errors[0] and f"choose another with {flag}" in errors[0]
    # Nothing left running: no server of this run listens on the other port.
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", other)) != 0
    leftovers = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"feat_mcp" in b" ".join(argv) and str(other).encode() in argv:
            leftovers.append(pid)
    assert not leftovers


def test_deploy_files_of_a_family(specs: Path) -> None:
    import yaml

    from naftiko_gen.deploy import deploy_files

    files, targets, report = deploy_files([specs], None, 2, "generated", compose="fam")
    assert not report.has_errors() and [t.package for t in targets] == ["fam"]
    assert targets[0].members == ["cap01", "cap02", "cap03", "cap04"]
    deployment = yaml.safe_load(files["fam/deployment.yaml"])
    commands = [c["command"] for c in deployment["spec"]["template"]["spec"]["containers"]]
    assert [c[:3] for c in commands] == [
        ["python", "-m", "fam.rest_server"], ["python", "-m", "fam.mcp_server"],
    ]  # fmt: skip
    assert 'COPY ["generated/", "/app/"]' in files["fam/Dockerfile"]


@pytest.mark.anyio
async def test_resources_and_prompts_of_members(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A member's static resources and prompts through the family's endpoint (real client)."""
    import shutil

    from mcp import Client

    from tests.support import serve_asgi

    content = ROOT / "tests" / "fixtures" / "features" / "mcp_content"
    specs = tmp_path / "specs"
    shutil.copytree(content, specs)
    write_family(specs, 1)
    out = tmp_path / "generated"
    result = CliRunner().invoke(cli, ["build", str(specs), "-o", str(out), "--compose", "fam"])
    assert result.exit_code == 0, result.output
    monkeypatch.syspath_prepend(str(out))
    mcp_server = import_module(out, "fam", "mcp_server")
    app = mcp_server.create_app(environ={})
    async with serve_asgi(app) as base, Client(base + "/mcp") as client:
        uris = sorted(r.uri for r in (await client.list_resources()).resources)
        assert "docs://shipyard/readme.md" in uris and "data://fleet" in uris
        read = await client.read_resource("docs://shipyard/guides/scrapping.txt")
        assert read.contents[0].text == "Scrap a ship only after its crew has left.\n"
        prompts = sorted(p.name for p in (await client.list_prompts()).prompts)
        assert prompts == ["inspect", "summarize-ship"]
        got = await client.get_prompt("inspect", {"imo": "9", "topic": "rust"})
        assert got.messages[0].content.text.startswith("Inspect ship 9")  # type: ignore[union-attr]
        tools = {t.name for t in (await client.list_tools()).tools}
        assert {"get-item", "cap01-info"} <= tools  # unique across the family: as written
