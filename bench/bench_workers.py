"""Issue #23: the generated REST server with 1 and with N `--workers`, same call, same upstream.

Run: .venv/bin/python bench/bench_workers.py [--workers 1 2] [--rounds 6] [--duration 4]

One fast local upstream (bench/upstream_app.py) in its own process. Then, alternately, round
after round (ABBA order), `python -m qovery_containers.rest_server --workers N` in a fresh process
tree of its own, as shipped (uvloop, access log), driven on ``GET /v1/environment/{id}/container``
by the load generator of the other benchmarks (wrk when installed, else bench/loadclient.py;
keep-alive, fixed concurrency) after a warm-up. A server counts as ready once its banner is out
(every worker listens) and a real call answered. Server CPU per request and memory are sums over
the parent and its workers; memory is PSS after the run (/proc/<pid>/smaps_rollup), which splits
the pages forked workers share instead of counting them once per process as RSS would. Prints
medians across rounds and the N/1 ratios.

On a machine with few cores the load generator and the upstream compete with the workers: the
ratio is what N workers bring *there*, not the ceiling (docs/benchmarks.md says what was busy).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as c

PATH = f"/v1/environment/{c.ENV_ID}/container"


def tree(pid: int) -> list[int]:
    """The server's parent and its workers (Linux: /proc's children list)."""
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        children = []
    return [pid, *(int(child) for child in children)]


def start_server(workers: int, upstream: str, expected: object, quiet: bool, path: str):  # type: ignore[no-untyped-def]
    port = c.free_port()
    argv = [sys.executable, "-m", "qovery_containers.rest_server", "--port", str(port)]
    argv += ["--workers", str(workers), *(["--quiet"] if quiet else [])]
    env = {
        "PYTHONPATH": str(c.GENERATED),
        "QOVERY_API_KEY": c.TOKEN,
        "QOVERY_CONTAINERS_BASE_URL": upstream,
    }
    proc = c.spawn(argv, env=env)
    url = f"http://127.0.0.1:{port}{path}"

    def ready() -> bool:
        if ", ready " not in c.stderr_of(proc):  # the banner: every worker listens
            return False
        status, body = c.http(url)
        if status != 200:
            return False
        if path == PATH and json.loads(body) != expected:
            raise SystemExit(f"{workers} workers: the answer differs from the upstream's")
        return True

    c.wait_until(ready, proc, what=f"{workers} workers")
    return proc, url


def pss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def measure(pid: int, load: c.Load, warmup: float) -> c.Sample:
    """c.measure, with CPU and memory (PSS) summed over the process tree."""
    if warmup > 0:
        c.run_load(c.Load(load.url, concurrency=load.concurrency, duration=warmup))
    pids = tree(pid)
    cpu0 = sum(c.cpu_seconds(p) for p in pids)
    result = c.run_load(load)
    cpu1 = sum(c.cpu_seconds(p) for p in pids)
    per_req = (cpu1 - cpu0) / result.requests * 1e6 if result.requests else float("nan")
    pss = sum(pss_mib(p) for p in pids)
    return c.Sample(result.rps, per_req, pss, result.errors)  # hwm_mib holds the PSS here


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="counts compared")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--duration", type=float, default=4.0, help="measured seconds per run")
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--quiet", action="store_true", help="servers without access lines")
    parser.add_argument(
        "--path", default=PATH,
        help="the route driven (default: list-containers, a proxied call; /openapi.json is "
        "answered by the server alone, so the upstream takes no core)",
    )  # fmt: skip
    args = parser.parse_args()

    counts = list(dict.fromkeys([1, *args.workers]))  # 1 worker: the reference
    samples: dict[int, list[c.Sample]] = {n: [] for n in counts}
    upstream_proc, upstream = c.start_upstream()
    _status, raw = c.http(
        f"{upstream}/environment/{c.ENV_ID}/container",
        headers={"Authorization": f"Bearer {c.TOKEN}"},
    )
    expected = json.loads(raw)
    print(f"# REST --workers benchmark: {c.machine_line()}")
    print(
        f"# {args.rounds} rounds x {args.duration:g} s, concurrency {args.concurrency}, "
        f"{'--quiet' if args.quiet else 'as shipped (access lines)'}, GET {args.path}"
    )
    try:
        for rnd in range(args.rounds):
            order = counts if rnd % 2 == 0 else counts[::-1]
            for n in order:
                proc, url = start_server(n, upstream, expected, args.quiet, args.path)
                try:
                    load = c.Load(url, concurrency=args.concurrency, duration=args.duration)
                    s = measure(proc.pid, load, args.warmup)
                finally:
                    c.stop(proc, timeout=15.0)
                samples[n].append(s)
                print(
                    f"round {rnd + 1} {n} worker(s) {s.rps:8.0f} req/s {s.cpu_us:7.0f} us/req "
                    f"PSS {s.hwm_mib:6.1f} MiB errors {s.errors} "
                    f"(machine {c.machine_busy(0.5):.0%} busy after)",
                    flush=True,
                )
    finally:
        c.stop(upstream_proc)

    med = {
        n: (
            c.median([s.rps for s in v]),
            c.median([s.cpu_us for s in v]),
            c.median([s.hwm_mib for s in v]),
        )
        for n, v in samples.items()
    }
    print()
    rows = [[f"{n} worker(s)", f"{r:.0f}", f"{u:.0f}", f"{h:.1f}"] for n, (r, u, h) in med.items()]
    one = med[1]
    for n in counts[1:]:
        g = med[n]
        rows.append(
            [
                f"ratio {n} / 1",
                f"{g[0] / one[0]:.2f}",
                f"{g[1] / one[1]:.2f}",
                f"{g[2] / one[2]:.2f}",
            ]
        )
    for n in counts[1:]:  # round by round: the runs next to each other saw the same load
        paired = [a.rps / b.rps for a, b in zip(samples[n], samples[1], strict=True)]
        listed = ", ".join(f"{r:.2f}" for r in paired)
        print(f"req/s ratio {n} / 1 round by round: {listed}; median {c.median(paired):.2f}")
    print()
    c.print_table(
        [
            f"REST GET {'list-containers' if args.path == PATH else args.path}",
            "req/s (median)",
            "server CPU µs/req (median)",
            "PSS MiB",
        ],
        rows,
    )
    errors = sum(s.errors for v in samples.values() for s in v)
    if errors:
        raise SystemExit(f"{errors} non-2xx answers or socket errors during the runs")


if __name__ == "__main__":
    main()
