"""Issue #7, counted rather than timed: CPU instructions per proxied REST request, under valgrind.

Run: .venv/bin/python bench/bench_rest_instructions.py [--requests 100 400] [--kinds ...]

Requests per second on a 2-core machine move by ±15 % between two runs of the same server, so
this script counts instead: each server runs under ``valgrind --tool=callgrind`` (which counts
every instruction the process executes, deterministically) and is sent N sequential keep-alive
``GET /v1/environment/{id}/container`` calls, once with N = 100 and once with N = 400, against
the same local upstream (bench/upstream_app.py). Instructions per request =
(total(400) - total(100)) / 300: start-up, imports and shutdown cancel out. The kinds are those
of bench_rest.py (the generated server as shipped, --quiet, --quiet on asyncio's loop, and the
hand-written proxy). Needs valgrind (``apt-get install valgrind``); takes a few minutes.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as c
from bench_rest import KINDS, PATH, server_argv, server_env


async def _drive(url: str, requests: int) -> None:
    import aiohttp

    async with aiohttp.ClientSession() as session:
        for _ in range(requests):
            async with session.get(url) as response:
                if response.status != 200:
                    raise SystemExit(f"{url}: HTTP {response.status}")
                await response.read()


def instructions(kind: str, upstream: str, requests: int, out: Path) -> int:
    """Instructions the server process executed from start to exit, having answered `requests`."""
    port = c.free_port()
    argv = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", *server_argv(kind, port)]
    proc = c.spawn(argv, env=server_env(kind, upstream))
    url = f"http://127.0.0.1:{port}{PATH}"
    c.wait_until(lambda: c.http(url, timeout=30)[0] == 200, proc, timeout=180, what=kind)
    asyncio.run(_drive(url, requests))
    proc.send_signal(2)  # SIGINT: a clean shutdown, so callgrind writes its totals
    proc.wait(timeout=120)
    found = re.search(r"^(?:summary|totals): (\d+)", out.read_text(), re.MULTILINE)
    if found is None:
        raise SystemExit(f"{kind}: no totals in {out}")
    return int(found.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--requests", type=int, nargs=2, default=[100, 400], metavar=("FEW", "MANY")
    )
    parser.add_argument("--kinds", nargs="+", choices=list(KINDS), default=list(KINDS))
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed (apt-get install valgrind)")
    few, many = args.requests
    kinds = list(dict.fromkeys([*args.kinds, "hand-written"]))
    upstream_proc, upstream = c.start_upstream()
    per_request: dict[str, float] = {}
    print(f"# REST instructions per request (callgrind): {c.machine_line()}")
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for kind in kinds:
                counts = [
                    instructions(kind, upstream, n, Path(tmp) / f"cg.{n}.out") for n in (few, many)
                ]
                per_request[kind] = (counts[1] - counts[0]) / (many - few)
                print(f"{kind:17} {per_request[kind]:10,.0f} instructions/request", flush=True)
    finally:
        c.stop(upstream_proc)
    base = per_request["hand-written"]
    print()
    c.print_table(
        ["REST GET list-containers", "instructions/request", "ratio to hand-written"],
        [[k, f"{v:,.0f}", f"{v / base:.2f}"] for k, v in per_request.items()],
    )


if __name__ == "__main__":
    main()
