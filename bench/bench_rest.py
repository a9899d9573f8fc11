"""Issue #7: the generated REST server against a hand-written aiohttp proxy, same call, same upstream.

Run: .venv/bin/python bench/bench_rest.py [--rounds 5] [--duration 5] [--concurrency 16]

One fast local upstream (bench/upstream_app.py) in its own process. Then, alternately, round
after round (ABBA order), each server in a fresh process of its own:

* generated:    python -m qovery_containers.rest_server   (generated/qovery_containers), as
                shipped (uvloop, access log), with --quiet, and --quiet on asyncio's loop
* hand-written: python bench/handwritten_proxy.py

Each is driven on ``GET /v1/environment/{id}/container`` by a load generator in another process
(wrk when installed, else bench/loadclient.py) with keep-alive and fixed concurrency, after a
warm-up. Server CPU per request = utime+stime delta of the server's /proc/<pid>/stat over the
measured window / requests answered. Prints medians across rounds and the generated/hand-written
ratios as a Markdown table. Asserts only that every answer was a 2xx.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as c

PATH = f"/v1/environment/{c.ENV_ID}/container"


# The generated variants measured against the hand-written proxy (which logs nothing and runs
# on asyncio's event loop):
#   generated          as shipped: uvloop (in its requirements), one access line per request
#   generated --quiet  as shipped, no access line: the same work as the hand-written proxy
#   generated asyncio  --quiet on asyncio's loop (NAFTIKO_EVENT_LOOP=asyncio): same loop too
KINDS = {
    "generated": ([], {}),
    "generated --quiet": (["--quiet"], {}),
    "generated asyncio": (["--quiet"], {"NAFTIKO_EVENT_LOOP": "asyncio"}),
    "hand-written": ([], {}),
}


def server_argv(kind: str, port: int) -> list[str]:
    if kind == "hand-written":
        return [sys.executable, str(c.BENCH_DIR / "handwritten_proxy.py"), "--port", str(port)]
    flags = KINDS[kind][0]
    return [sys.executable, "-m", "qovery_containers.rest_server", "--port", str(port), *flags]


def server_env(kind: str, upstream: str) -> dict[str, str]:
    return {
        "PYTHONPATH": str(c.GENERATED),
        "QOVERY_API_KEY": c.TOKEN,
        "QOVERY_CONTAINERS_BASE_URL": upstream,
        **KINDS[kind][1],
    }


def start_server(kind: str, upstream: str, expected: object):  # type: ignore[no-untyped-def]
    port = c.free_port()
    proc = c.spawn(server_argv(kind, port), env=server_env(kind, upstream))
    url = f"http://127.0.0.1:{port}{PATH}"

    def ready() -> bool:
        status, body = c.http(url)
        if status != 200:
            return False
        if json.loads(body) != expected:
            raise SystemExit(f"{kind}: the answer differs from the upstream's")
        return True

    c.wait_until(ready, proc, what=kind)
    return proc, url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--duration", type=float, default=5.0, help="measured seconds per run")
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument(
        "--kinds", nargs="+", choices=list(KINDS), default=list(KINDS), help="servers to measure"
    )
    args = parser.parse_args()

    kinds = list(dict.fromkeys([*args.kinds, "hand-written"]))
    samples: dict[str, list[c.Sample]] = {k: [] for k in kinds}
    upstream_proc, upstream = c.start_upstream()
    _status, raw = c.http(
        f"{upstream}/environment/{c.ENV_ID}/container",
        headers={"Authorization": f"Bearer {c.TOKEN}"},
    )
    expected = json.loads(raw)
    print(f"# REST proxy benchmark: {c.machine_line()}")
    print(
        f"# {args.rounds} rounds x {args.duration:g} s, concurrency {args.concurrency}, "
        f"upstream body {len(raw)} bytes"
    )
    try:
        for rnd in range(args.rounds):
            order = kinds if rnd % 2 == 0 else kinds[::-1]
            for kind in order:
                proc, url = start_server(kind, upstream, expected)
                try:
                    s = c.measure(
                        proc.pid,
                        c.Load(url, concurrency=args.concurrency, duration=args.duration),
                        args.warmup,
                    )
                finally:
                    c.stop(proc)
                samples[kind].append(s)
                print(
                    f"round {rnd + 1} {kind:17} {s.rps:8.0f} req/s {s.cpu_us:7.0f} us/req "
                    f"peak RSS {s.hwm_mib:5.1f} MiB errors {s.errors}",
                    flush=True,
                )
    finally:
        c.stop(upstream_proc)

    med = {
        k: (
            c.median([s.rps for s in v]),
            c.median([s.cpu_us for s in v]),
            c.median([s.hwm_mib for s in v]),
        )
        for k, v in samples.items()
    }
    print()
    rows = [[k, f"{rps:.0f}", f"{cpu:.0f}", f"{hwm:.1f}"] for k, (rps, cpu, hwm) in med.items()]
    h = med["hand-written"]
    for kind in kinds[:-1]:
        g = med[kind]
        rows.append(
            [
                f"ratio {kind} / hand-written",
                f"{g[0] / h[0]:.2f}",
                f"{g[1] / h[1]:.2f}",
                f"{g[2] / h[2]:.2f}",
            ]
        )
    c.print_table(
        [
            "REST GET list-containers",
            "req/s (median)",
            "server CPU µs/req (median)",
            "peak RSS MiB",
        ],
        rows,
    )
    errors = sum(s.errors for v in samples.values() for s in v)
    if errors:
        raise SystemExit(f"{errors} non-2xx answers or socket errors during the runs")


if __name__ == "__main__":
    main()
