"""The README's path, followed as a new user would (issue #12): a copy of the repository, a fresh
venv made by the README's own build command, the documented run commands, the documented MCP
client configuration over stdio, then the README's test set-up in the same venv (issue #18). Also
what the servers print: the listening line, one line per request, and a port in use (snapshot).

In CI, .ci/run follows the README's commands in a clone of its clean clone (in the background,
while it sets up its own venv), and this module checks that clone (NAFTIKO_README_FOLLOWED) instead
of making a copy.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from tests.support import ROOT

from .harness import free_port, run_fake_qovery, wait_for_port

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

README = ROOT / "README.md"
SNAPSHOTS = ROOT / "tests" / "golden" / "first_hour"
TOKEN = "qv-readme-path-91c2"
ENV_ID = str(uuid.uuid4())


def _readme_command(prefix: str, after: str = "") -> str:
    """The first README line that starts with `prefix` (and, if given, comes after the first line
    containing `after`), comment removed."""
    lines = README.read_text(encoding="utf-8").splitlines()
    if after:
        lines = lines[next(i for i, line in enumerate(lines) if after in line) + 1 :]
    for line in lines:
        if line.startswith(prefix):
            return line.split("  #", 1)[0].strip()
    raise AssertionError(f"the README has no command starting with {prefix!r}")


def _client_configuration() -> dict[str, object]:
    text = README.read_text(encoding="utf-8")
    block = re.search(r"```json\n(\{\n  \"mcpServers\".*?)\n```", text, re.DOTALL)
    assert block, "the README's MCP client configuration block"
    data = json.loads(block.group(1))
    assert isinstance(data, dict)
    return data


# .ci/run follows the README itself in a clone of its clean clone: the build command,
# readme_installation.py, then the test command's install, in one venv. It names that clone in
# NAFTIKO_README_FOLLOWED, and this module checks it instead of making a copy and following the
# commands again (two installs: a minute of CPU, which .ci/run spends on the core its own pip
# leaves idle).
FOLLOWED = os.environ.get("NAFTIKO_README_FOLLOWED", "")


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the repository (what git tracks or would track), set up by the README's build
    command in a fresh venv: `python3 -m venv .venv && .venv/bin/pip install ... && ...build`;
    or the checkout .ci/run set up that way (FOLLOWED)."""
    if FOLLOWED:
        return Path(FOLLOWED)
    copy = tmp_path_factory.mktemp("readme") / "repo"
    listed = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT, capture_output=True,
        text=True, check=True,
    ).stdout.splitlines()  # fmt: skip
    for rel in listed:
        source = ROOT / rel
        if source.is_file():
            (copy / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, copy / rel)
    shutil.rmtree(copy / "generated")  # the build command must write it
    build = _readme_command("python3 -m venv .venv && ")  # the first: build
    assert build.endswith("&& .venv/bin/naftiko-gen build specs/"), build
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    done = subprocess.run(
        ["bash", "-c", build], cwd=copy, env=env, capture_output=True, text=True, timeout=900
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert (copy / "generated" / "qovery_containers" / "rest_server.py").is_file()
    return copy


def test_readme_build_writes_the_committed_generated_folder(repo: Path) -> None:
    """The README's non-editable install ships every template and runtime module: what it
    builds from specs/ is, file for file, the committed generated/."""
    if FOLLOWED:  # the build command wrote generated/ of this checkout: git sees no change
        status = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=all", "--", "generated"],
            cwd=repo, capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        assert status == "", status
        assert (repo / "generated" / "qovery_containers" / "rest_server.py").is_file()
        return

    def tree(root: Path) -> dict[str, bytes]:
        return {
            p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*"))
            if p.is_file() and "__pycache__" not in p.parts
        }

    built, committed = tree(repo / "generated"), tree(ROOT / "generated")
    assert sorted(built) == sorted(committed)
    assert [rel for rel in built if built[rel] != committed[rel]] == []


@pytest.fixture
async def upstream() -> AsyncIterator[str]:
    async with run_fake_qovery(token=TOKEN) as fake:
        yield fake.base_url


def _env(upstream: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("QOVERY_", "VIRTUAL_ENV"))}
    env.pop("PYTHONPATH", None)
    return env | {
        "QOVERY_API_KEY": TOKEN,
        "QOVERY_CONTAINERS_BASE_URL": upstream,
        "PYTHONUNBUFFERED": "1",
    }


async def _start(repo: Path, command: str, env: dict[str, str]) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        "bash", "-c", command, cwd=repo, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip


async def _stop(proc: asyncio.subprocess.Process) -> str:
    if proc.returncode is None:
        proc.terminate()
    _, err = await asyncio.wait_for(proc.communicate(), 30)
    return err.decode(errors="replace")


async def test_readme_run_commands_serve_a_route_and_a_tool(repo: Path, upstream: str) -> None:
    env = _env(upstream)
    rest_port, mcp_port = free_port(), free_port()
    # The documented commands, verbatim, with a free port each (8080/9090 may be taken here).
    rest_cmd = _readme_command(
        "PYTHONPATH=generated .venv/bin/python -m qovery_containers.rest_server"
    )
    mcp_cmd = _readme_command(
        "PYTHONPATH=generated .venv/bin/python -m qovery_containers.mcp_server"
    )
    rest = await _start(repo, f"{rest_cmd} --port {rest_port}", env)
    mcp = await _start(repo, f"{mcp_cmd} --port {mcp_port}", env)
    try:
        await wait_for_port(rest_port, timeout=60, proc=rest)
        await wait_for_port(mcp_port, timeout=60, proc=mcp)
        async with aiohttp.ClientSession() as http:
            url = f"http://127.0.0.1:{rest_port}/v1/environment/{ENV_ID}/container"
            async with http.get(url) as resp:
                assert resp.status == 200
                assert "results" in await resp.json()
        from mcp import Client

        async with Client(f"http://127.0.0.1:{mcp_port}/mcp") as client:
            result = await client.call_tool("list-containers", {"environmentId": ENV_ID})
        assert not result.is_error, result
        assert (
            isinstance(result.structured_content, dict) and "results" in result.structured_content
        )
    finally:
        rest_log, mcp_log = await _stop(rest), await _stop(mcp)
    # One line when listening, one line per request (method, path, status, ms), no secret.
    started = re.search(
        rf"^REST on http://127\.0\.0\.1:{rest_port} \(8 routes\), ready ([0-9.]+) s after start$",
        rest_log,
        re.MULTILINE,
    )
    assert started, rest_log
    # Counted from the process's start (interpreter start-up and imports included), not from
    # when the server began listening.
    assert 0.05 <= float(started[1]) < 30, rest_log
    assert re.search(
        rf"^GET /v1/environment/{ENV_ID}/container 200 \d+\.\dms$", rest_log, re.MULTILINE
    ), rest_log
    assert re.search(
        rf"^MCP on http://127\.0\.0\.1:{mcp_port}/mcp \(8 tools\)", mcp_log, re.MULTILINE
    ), mcp_log
    assert re.search(r"^POST /mcp 200 \d+\.\dms$", mcp_log, re.MULTILINE), mcp_log
    assert TOKEN not in rest_log + mcp_log
    assert "Traceback" not in rest_log + mcp_log


async def test_readme_client_configuration_runs_over_stdio(repo: Path, upstream: str) -> None:
    from mcp import Client, StdioServerParameters

    [entry] = _client_configuration()["mcpServers"].values()  # type: ignore[union-attr]
    command = entry["command"].replace("/path/to/repo", str(repo))
    env = {k: v.replace("/path/to/repo", str(repo)) for k, v in entry["env"].items()}
    env |= {"QOVERY_API_KEY": TOKEN, "QOVERY_CONTAINERS_BASE_URL": upstream}
    assert Path(command).is_file(), command
    params = StdioServerParameters(command=command, args=entry["args"], env=env, cwd=str(repo))
    async with Client(params) as client:
        names = {t.name for t in (await client.list_tools()).tools}
        result = await client.call_tool("list-containers", {"environmentId": ENV_ID})
    assert "list-containers" in names and len(names) == 8
    assert not result.is_error, result


@pytest.mark.parametrize("module", ["rest_server", "mcp_server"])
def test_port_in_use_is_one_line_naming_the_port(module: str) -> None:
    import socket

    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    port = holder.getsockname()[1]
    try:
        env = {**os.environ, "PYTHONPATH": str(ROOT / "generated"), "QOVERY_API_KEY": TOKEN}
        done = subprocess.run(
            [sys.executable, "-m", f"qovery_containers.{module}", "--port", str(port)],
            env=env, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    finally:
        holder.close()
    assert done.returncode != 0
    shown = done.stderr.replace(str(port), "PORT").strip().splitlines()[-1]
    snapshot = SNAPSHOTS / "port-in-use.txt"
    if os.environ.get("NAFTIKO_UPDATE_GOLDEN") == "1":
        snapshot.write_text(shown + "\n", encoding="utf-8")
    assert shown + "\n" == snapshot.read_text(encoding="utf-8")
    assert "Traceback" not in done.stderr


def _follow_the_test_command(repo: Path, env: dict[str, str]) -> None:
    """The installation check of the build command's venv, then the README's test set-up in it."""
    python = repo / ".venv" / "bin" / "python"
    check = subprocess.run(
        [str(python), str(Path(__file__).with_name("readme_installation.py"))],
        capture_output=True, text=True,
    )  # fmt: skip
    assert check.returncode == 0, check.stderr
    test_setup = _readme_command("python3 -m venv .venv && ", after="naftiko-gen build specs/")
    setup_only = test_setup.rsplit(" && ", 1)[0]  # the suite itself is not run again in here
    assert setup_only.endswith("-e '.[test]'"), test_setup
    # Bytecode is written on import as usual; pip's compiling every installed test tool ahead
    # of time (about 10 s of CPU) is left out: only the CLI runs from this venv below.
    done = subprocess.run(
        ["bash", "-c", setup_only], cwd=repo, env=env | {"PIP_NO_COMPILE": "1"},
        capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]


def test_readme_setup_commands_in_order_leave_a_working_tool(repo: Path, tmp_path: Path) -> None:
    """The README's build set-up, then its test set-up, in the same venv (issue #18): the first
    build must write nothing into the installation (Jinja bytecode in site-packages once shadowed
    the editable install that followed), and the tool must still work after the second."""
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    tool = str(repo / ".venv" / "bin" / "naftiko-gen")
    if not FOLLOWED:
        _follow_the_test_command(repo, env)
    # else: .ci/run ran readme_installation.py between the two commands in that clone
    version = subprocess.run([tool, "--version"], cwd=repo, env=env, capture_output=True, text=True)
    assert version.returncode == 0 and "naftiko-gen" in version.stdout, version.stderr
    check = subprocess.run(
        [tool, "build", "specs/", "--check"], cwd=repo, env=env, capture_output=True, text=True
    )
    assert check.returncode == 0 and "up to date" in check.stdout, check.stdout + check.stderr
    again = tmp_path / "again"
    rebuilt = subprocess.run(
        [tool, "build", "specs/", "-o", str(again)], cwd=repo, env=env, capture_output=True,
        text=True,
    )  # fmt: skip
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert (again / "qovery_containers" / "rest_server.py").read_bytes() == (
        repo / "generated" / "qovery_containers" / "rest_server.py"
    ).read_bytes()
