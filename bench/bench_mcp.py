"""Issue #10: MCP ``tools/call`` throughput and server CPU per call, four servers, same upstream.

Run: .venv/bin/python bench/bench_mcp.py [--rounds 5] [--duration 5] [--concurrency 8]
     [--era legacy|modern] [--fastmcp-python PATH]

Servers, each in a fresh process per run, alternated round after round (order rotated):

* generated:    python -m qovery_containers.mcp_server (tool ``list-containers``): the default,
                SDK-free fast path (aiohttp, plain JSON), both eras
* generated --sdk: the same module with ``--sdk``: the official SDK's low-level server (uvicorn)
* FastMCP:      bench/fastmcp_server.py, ``FastMCP.from_openapi`` over the same 8 Qovery
                operations (tool ``listContainer``), cut at run time out of Qovery's OpenAPI
                document (bench/qovery_subset.py); skipped, with a message, when FastMCP 4 or
                the document is missing
* hand-written: bench/handwritten_mcp.py, low-level ``mcp.server.Server`` (tool ``list-containers``)

All serve stateless JSON streamable HTTP at /mcp (uvicorn, or aiohttp for the fast path) and call the same local
upstream (bench/upstream_app.py). The load is raw HTTP POSTs of one JSON-RPC ``tools/call``
with keep-alive and fixed concurrency (wrk when installed, else bench/loadclient.py).

Protocol era (``--era``): ``legacy`` (default) is what deployed MCP clients send today, the
TypeScript SDK and the conformance suite included: ``MCP-Protocol-Version: 2025-11-25``, no
session (the servers are stateless, so no ``initialize`` is needed). ``modern`` is the
2026-07-28 per-request envelope the Python SDK 2.x ``Client`` negotiates by default:
``params._meta`` plus ``Mcp-Method``/``Mcp-Name`` headers.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as c  # noqa: E402

LEGACY = "2025-11-25"
MODERN = "2026-07-28"


@dataclass
class Kind:
    name: str
    argv: list[str]
    tool: str


def request(tool: str, era: str) -> tuple[bytes, dict[str, str]]:
    params: dict[str, object] = {"name": tool, "arguments": {"environmentId": c.ENV_ID}}
    headers = {
        "Content-Type": "application/json",
        "Accept": "application/json, text/event-stream",
    }
    if era == "modern":
        params["_meta"] = {
            "io.modelcontextprotocol/protocolVersion": MODERN,
            "io.modelcontextprotocol/clientCapabilities": {},
            "io.modelcontextprotocol/clientInfo": {"name": "bench", "version": "1"},
        }
        headers.update(
            {"MCP-Protocol-Version": MODERN, "Mcp-Method": "tools/call", "Mcp-Name": tool}
        )
    else:
        headers["MCP-Protocol-Version"] = LEGACY
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": params}
    return json.dumps(body).encode(), headers


def check_answer(kind: str, status: int, raw: bytes, expected: object) -> bool:
    if status != 200:
        return False
    msg = json.loads(raw)
    if "error" in msg:
        raise SystemExit(f"{kind}: JSON-RPC error {msg['error']}")
    result = msg["result"]
    if result.get("isError"):
        raise SystemExit(f"{kind}: tool error {result['content']}")
    if json.loads(result["content"][0]["text"]) != expected:
        raise SystemExit(f"{kind}: the tool's text differs from the upstream's answer")
    return True


def stack(python: str) -> str:
    """What uvicorn runs on with `python`'s packages: its event loop and HTTP parser (uvloop
    and httptools when installed, else asyncio and h11): the fair-comparison check."""
    probe = subprocess.run(
        [python, "-c", "import importlib.util as u; print(*(m for m in ('uvloop', 'httptools') "
         "if u.find_spec(m)) or ['asyncio/h11 only'])"],
        capture_output=True, text=True,
    )  # fmt: skip
    return probe.stdout.strip() or "unknown"


def fastmcp_kind(python: str, spec_file: str | None) -> Kind | None:
    if spec_file is None:
        return None
    probe = subprocess.run(
        [python, "-c", "import fastmcp, sys; sys.exit(fastmcp.__version__[0] != '4')"],
        capture_output=True,
    )
    if probe.returncode != 0:
        print(
            f"# FastMCP skipped: FastMCP 4.x is not importable by {python} "
            "(pip install 'fastmcp>=4,<5' there, or pass --fastmcp-python)"
        )
        return None
    return Kind(
        "FastMCP from_openapi",
        [python, str(c.BENCH_DIR / "fastmcp_server.py"), "--spec", spec_file],
        "listContainer",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--duration", type=float, default=5.0, help="measured seconds per run")
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--era", choices=["legacy", "modern"], default="legacy")
    parser.add_argument(
        "--fastmcp-python",
        default=os.environ.get("BENCH_FASTMCP_PYTHON", sys.executable),
        help="interpreter that has FastMCP 4 (default: this one)",
    )
    args = parser.parse_args()

    import qovery_subset

    tmp = tempfile.TemporaryDirectory()
    spec_file: str | None = None
    source = qovery_subset.find_document()
    if source is None:
        print(
            "# FastMCP skipped: Qovery's OpenAPI document not found at "
            "../shared/reference/qovery-openapi.yaml (set NAFTIKO_QOVERY_OPENAPI); it is not "
            "vendored because it carries no licence statement"
        )
    else:
        spec_file = os.path.join(tmp.name, "qovery-containers-openapi.json")
        with open(spec_file, "w", encoding="utf-8") as f:
            json.dump(qovery_subset.load_subset(source), f)

    module = [sys.executable, "-m", "qovery_containers.mcp_server"]
    kinds = [
        Kind("generated", module, "list-containers"),
        Kind("generated --sdk", [*module, "--sdk"], "list-containers"),
    ]
    fast = fastmcp_kind(args.fastmcp_python, spec_file)
    if fast is not None:
        kinds.append(fast)
    kinds.append(
        Kind(
            "hand-written low-level",
            [sys.executable, str(c.BENCH_DIR / "handwritten_mcp.py")],
            "list-containers",
        )
    )

    upstream_proc, upstream = c.start_upstream()
    _, raw = c.http(
        f"{upstream}/environment/{c.ENV_ID}/container",
        headers={"Authorization": f"Bearer {c.TOKEN}"},
    )
    expected = json.loads(raw)
    env = {
        "PYTHONPATH": str(c.GENERATED),
        "QOVERY_API_KEY": c.TOKEN,
        "QOVERY_CONTAINERS_BASE_URL": upstream,
    }
    samples: dict[str, list[c.Sample]] = {k.name: [] for k in kinds}
    print(f"# MCP tools/call benchmark: {c.machine_line()}")
    print(f"# uvicorn stack: --sdk {stack(sys.executable)}", end="")
    print(f"; FastMCP {stack(args.fastmcp_python)}" if fast is not None else "")
    print(
        f"# era {args.era}, {args.rounds} rounds x {args.duration:g} s, "
        f"concurrency {args.concurrency}, upstream body {len(raw)} bytes"
    )
    try:
        for rnd in range(args.rounds):
            shift = rnd % len(kinds)
            for kind in kinds[shift:] + kinds[:shift]:
                port = c.free_port()
                proc = c.spawn([*kind.argv, "--port", str(port)], env=env)
                url = f"http://127.0.0.1:{port}/mcp"
                body, headers = request(kind.tool, args.era)
                try:
                    c.wait_until(
                        lambda kind=kind, url=url, body=body, headers=headers: check_answer(
                            kind.name,
                            *c.http(url, method="POST", body=body, headers=headers),
                            expected,
                        ),
                        proc,
                        what=kind.name,
                    )
                    s = c.measure(
                        proc.pid,
                        c.Load(url, "POST", body, headers, args.concurrency, args.duration),
                        args.warmup,
                    )
                    # The last answer must still be a good one (wrk counts only HTTP statuses).
                    check_answer(
                        kind.name, *c.http(url, method="POST", body=body, headers=headers), expected
                    )
                finally:
                    c.stop(proc)
                samples[kind.name].append(s)
                print(
                    f"round {rnd + 1} {kind.name:23} {s.rps:7.0f} calls/s {s.cpu_us:7.0f} "
                    f"us/call peak RSS {s.hwm_mib:6.1f} MiB errors {s.errors}",
                    flush=True,
                )
            if fast is not None:  # the same round's pair: the must-show of issue #18
                sdk_rps = samples["generated --sdk"][-1].rps
                fast_rps = samples[fast.name][-1].rps
                print(f"round {rnd + 1} --sdk / FastMCP calls/s: {sdk_rps / fast_rps:.2f}")
    finally:
        c.stop(upstream_proc)
        tmp.cleanup()

    med = {
        k: (
            c.median([s.rps for s in v]),
            c.median([s.cpu_us for s in v]),
            c.median([s.hwm_mib for s in v]),
        )
        for k, v in samples.items()
    }
    fast_med = med.get(fast.name) if fast else None
    hand = med["hand-written low-level"]
    rows = []
    for name, (rps, cpu, hwm) in med.items():
        row = [name, f"{rps:.0f}", f"{cpu:.0f}", f"{hwm:.1f}"]
        if fast_med:
            row.append(f"{rps / fast_med[0]:.2f} / {cpu / fast_med[1]:.2f}")
        row.append(f"{rps / hand[0]:.2f} / {cpu / hand[1]:.2f}")
        rows.append(row)
    headers = [
        f"MCP tools/call ({args.era})",
        "calls/s (median)",
        "server CPU µs/call (median)",
        "peak RSS MiB",
    ]
    if fast_med:
        headers.append("vs FastMCP: calls/s / CPU")
    headers.append("vs hand-written: calls/s / CPU")
    print()
    c.print_table(headers, rows)
    if fast_med:
        ratio = med["generated --sdk"][0] / fast_med[0]
        verdict = "at least level" if ratio >= 1 else "BELOW FastMCP"
        print(f"\n--sdk / FastMCP, median calls/s: {ratio:.2f} ({verdict})")
    errors = sum(s.errors for v in samples.values() for s in v)
    if errors:
        raise SystemExit(f"{errors} non-2xx answers or socket errors during the runs")


if __name__ == "__main__":
    main()
