"""Start-up time and memory: process start → first successful answer, and RSS at that moment.

Run: .venv/bin/python bench/bench_startup.py [--rounds 5] [--fastmcp-python PATH]

For each server (the generated REST and MCP servers, the MCP one also with ``--sdk``, the
hand-written baselines and FastMCP ``from_openapi`` for context), ``--rounds`` fresh processes, alternated: the clock starts
just before ``Popen`` and stops at the first successful real call (REST: ``GET`` list-containers
→ 200 with the upstream's JSON; MCP: a ``tools/call`` of list-containers with a good result),
polling every 5 ms. RSS (VmRSS) and the server's CPU time so far (utime+stime: what the start
cost the server itself, which, unlike the wall clock, hardly moves when other work shares the
machine) are read right after that first answer. Medians are printed.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as c
from bench_mcp import check_answer, fastmcp_kind, request


@dataclass
class Server:
    name: str
    argv: list[str]
    mcp_tool: str | None  # None: a REST server


def compiled_copy(folder: Path) -> Path:
    """generated/ copied to `folder` with its bytecode compiled, as a server has it after its
    first start, or in the image deploy-files writes (which runs compileall): environments
    with PYTHONDONTWRITEBYTECODE (this sandbox) would otherwise compile the package at every
    start (about 15 ms). The hand-written baselines are single scripts, compiled every time."""
    target = folder / "generated"
    shutil.copytree(c.GENERATED, target, ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(target)], check=True)
    return target


GENERATED = c.GENERATED  # main() points it at the compiled copy


def first_answer(server: Server, upstream: str, expected: object) -> tuple[float, float, float]:
    port = c.free_port()
    env = {
        "PYTHONPATH": str(GENERATED),
        "QOVERY_API_KEY": c.TOKEN,
        "QOVERY_CONTAINERS_BASE_URL": upstream,
    }
    if server.mcp_tool is None:
        url = f"http://127.0.0.1:{port}/v1/environment/{c.ENV_ID}/container"

        def ok() -> bool:
            status, body = c.http(url, timeout=10)
            return status == 200 and json.loads(body) == expected

    else:
        url = f"http://127.0.0.1:{port}/mcp"
        body, headers = request(server.mcp_tool, "legacy")

        def ok() -> bool:
            return check_answer(
                server.name,
                *c.http(url, method="POST", body=body, headers=headers, timeout=10),
                expected,
            )

    t0 = time.perf_counter()
    proc = c.spawn([*server.argv, "--port", str(port)], env=env)
    try:
        c.wait_until(ok, proc, timeout=60, interval=0.005, what=server.name)
        elapsed = time.perf_counter() - t0
        rss = c.rss_mib(proc.pid)
        cpu = c.cpu_seconds(proc.pid)
    finally:
        c.stop(proc)
    return elapsed, rss, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--duration",
        type=float,
        default=None,
        help="ignored (so `nox -s bench -- ...` can pass one set of options)",
    )
    parser.add_argument(
        "--fastmcp-python", default=os.environ.get("BENCH_FASTMCP_PYTHON", sys.executable)
    )
    args = parser.parse_args()

    py = sys.executable
    servers = [
        Server("generated REST", [py, "-m", "qovery_containers.rest_server"], None),
        Server("hand-written REST", [py, str(c.BENCH_DIR / "handwritten_proxy.py")], None),
        Server("generated MCP", [py, "-m", "qovery_containers.mcp_server"], "list-containers"),
        Server(
            "generated MCP --sdk",
            [py, "-m", "qovery_containers.mcp_server", "--sdk"],
            "list-containers",
        ),
        Server(
            "hand-written MCP (low-level)",
            [py, str(c.BENCH_DIR / "handwritten_mcp.py")],
            "list-containers",
        ),
    ]
    import qovery_subset

    tmp = tempfile.TemporaryDirectory()
    global GENERATED
    GENERATED = compiled_copy(Path(tmp.name))
    source = qovery_subset.find_document()
    if source is None:
        print("# FastMCP skipped: Qovery's OpenAPI document not found (set NAFTIKO_QOVERY_OPENAPI)")
    else:
        spec_file = os.path.join(tmp.name, "qovery-containers-openapi.json")
        with open(spec_file, "w", encoding="utf-8") as f:
            json.dump(qovery_subset.load_subset(source), f)
        fast = fastmcp_kind(args.fastmcp_python, spec_file)
        if fast is not None:
            servers.append(Server("FastMCP from_openapi", fast.argv, fast.tool))

    upstream_proc, upstream = c.start_upstream()
    _, raw = c.http(
        f"{upstream}/environment/{c.ENV_ID}/container",
        headers={"Authorization": f"Bearer {c.TOKEN}"},
    )
    expected = json.loads(raw)
    times: dict[str, list[float]] = {s.name: [] for s in servers}
    rss: dict[str, list[float]] = {s.name: [] for s in servers}
    cpu: dict[str, list[float]] = {s.name: [] for s in servers}
    print(f"# start-up benchmark: {c.machine_line()}, {args.rounds} rounds")
    try:
        for rnd in range(args.rounds):
            order = servers if rnd % 2 == 0 else servers[::-1]
            for server in order:
                t, m, u = first_answer(server, upstream, expected)
                times[server.name].append(t)
                rss[server.name].append(m)
                cpu[server.name].append(u)
                print(
                    f"round {rnd + 1} {server.name:29} {t * 1000:6.0f} ms  CPU {u * 1000:5.0f} ms"
                    f"  RSS {m:5.1f} MiB",
                    flush=True,
                )
    finally:
        c.stop(upstream_proc)
        tmp.cleanup()
    print()
    c.print_table(
        [
            "server",
            "start → first answer, ms (median)",
            "min-max ms",
            "server CPU ms (median)",
            "RSS MiB (median)",
        ],
        [
            [
                s.name,
                f"{c.median(times[s.name]) * 1000:.0f}",
                f"{min(times[s.name]) * 1000:.0f}-{max(times[s.name]) * 1000:.0f}",
                f"{c.median(cpu[s.name]) * 1000:.0f}",
                f"{c.median(rss[s.name]):.1f}",
            ]
            for s in servers
        ],
    )


if __name__ == "__main__":
    main()
