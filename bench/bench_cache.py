"""Issue #23: the latency of a call a cacheable function answers from its cache, against the same
call going upstream.

Run: .venv/bin/python bench/bench_cache.py [--calls 200] [--delays 100 0]

A small capability (written here) over bench/upstream_app.py's list-containers call exposes the
same aggregate function twice on REST: `cacheable: true` (/cached) and not (/uncached). The
upstream runs in its own process, answering after each `--delays` value (ms: 100 is a slow real
API, 0 a local one); the generated REST server in another (--quiet). One keep-alive client sends
`--calls` sequential GETs per route after a warm-up; each call's wall time is one sample.

With `redis-server` installed (and the `redis` package), a third column: two servers share a
Redis (NAFTIKO_CACHE_URL); server A fills `--calls` distinct entries, then server B answers each
once, from Redis (its own in-process entries are empty): what another replica's entry costs.
Prints medians and 90th percentiles as a Markdown table; never passes or fails.
"""

from __future__ import annotations

import argparse
import http.client
import importlib.util
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as c

SPEC = """\
naftiko: "1.0.0-alpha2"
info:
  label: Cache bench
  description: One upstream call, exposed cached and uncached.
capability:
  consumes:
    - type: http
      namespace: qovery
      baseUri: http://127.0.0.1:1/
      authentication:
        type: bearer
        token: "{{QOVERY_API_KEY}}"
      resources:
        - name: containers
          path: /environment/{{environmentId}}/container
          operations:
            - name: list-containers
              method: GET
  binds:
    - namespace: env
      keys:
        QOVERY_API_KEY: QOVERY_API_KEY
  aggregates:
    - namespace: fns
      functions:
        - name: cached
          description: Containers of an environment, kept a minute.
          semantics: {safe: true, cacheable: true}
          inputParameters:
            - {name: environmentId, type: string, description: The environment.}
          call: qovery.list-containers
          with: {environmentId: "{{environmentId}}"}
        - name: uncached
          description: The same, never kept.
          semantics: {safe: true}
          inputParameters:
            - {name: environmentId, type: string, description: The environment.}
          call: qovery.list-containers
          with: {environmentId: "{{environmentId}}"}
  exposes:
    - type: rest
      namespace: api
      port: 8080
      resources:
        - path: /cached
          operations:
            - {method: GET, name: cached, ref: fns.cached}
        - path: /uncached
          operations:
            - {method: GET, name: uncached, ref: fns.uncached}
"""


def build(out: Path) -> str:
    spec = out / "cache_bench.yaml"
    spec.write_text(SPEC, encoding="utf-8")
    subprocess.run(
        [sys.executable, "-m", "naftiko_gen", "build", str(spec), "-o", str(out / "gen"), "-q"],
        check=True,
    )
    return "cache_bench"


def start_upstream(delay_ms: float) -> tuple[subprocess.Popen[bytes], str]:
    port = c.free_port()
    proc = c.spawn(
        [sys.executable, str(c.BENCH_DIR / "upstream_app.py"), "--port", str(port)],
        env={"BENCH_UPSTREAM_TOKEN": c.TOKEN, "BENCH_UPSTREAM_DELAY_MS": str(delay_ms)},
    )
    base = f"http://127.0.0.1:{port}"
    probe = f"{base}/environment/{c.ENV_ID}/container"
    auth = {"Authorization": f"Bearer {c.TOKEN}"}
    c.wait_until(lambda: c.http(probe, headers=auth)[0] == 200, proc, what="upstream")
    return proc, base


def start_server(
    out: Path, package: str, upstream: str, extra: dict[str, str]
) -> tuple[subprocess.Popen[bytes], int]:
    port = c.free_port()
    env = {
        "PYTHONPATH": str(out / "gen"),
        "QOVERY_API_KEY": c.TOKEN,
        "QOVERY_BASE_URL": upstream,
        **extra,
    }
    proc = c.spawn(
        [sys.executable, "-m", f"{package}.rest_server", "--port", str(port), "--quiet"], env=env
    )
    c.wait_until(
        lambda: c.http(f"http://127.0.0.1:{port}/health")[0] == 200, proc, what="REST server"
    )
    return proc, port


def timed(port: int, paths: list[str]) -> list[float]:
    """Each GET's wall time (ms) on one keep-alive connection; every answer must be a 200."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    samples = []
    try:
        for path in paths:
            t0 = time.perf_counter()
            conn.request("GET", path)
            response = conn.getresponse()
            response.read()
            samples.append((time.perf_counter() - t0) * 1000)
            if response.status != 200:
                raise RuntimeError(f"GET {path} answered {response.status}")
    finally:
        conn.close()
    return samples


def figure(samples: list[float]) -> str:
    p90 = statistics.quantiles(samples, n=10)[-1]
    return f"{statistics.median(samples):.2f} ms (p90 {p90:.2f})"


def redis_available() -> bool:
    return shutil.which("redis-server") is not None and bool(importlib.util.find_spec("redis"))


def start_redis(tmp: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = c.free_port()
    argv = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
    proc = c.spawn([*argv, "--appendonly", "no", "--dir", str(tmp)])

    def listening() -> bool:
        import socket

        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
        return True

    c.wait_until(listening, proc, what="redis-server")
    return proc, f"redis://127.0.0.1:{port}/0"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200, help="sequential calls per figure")
    parser.add_argument("--delays", type=float, nargs="+", default=[100.0, 0.0], help="ms")
    args = parser.parse_args()
    print(c.machine_line())
    with_redis = redis_available()
    rows = []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        package = build(tmp)
        redis_proc, redis_url = start_redis(tmp) if with_redis else (None, "")
        for delay in args.delays:
            upstream, base = start_upstream(delay)
            server, port = start_server(tmp, package, base, {})
            same = [f"/cached?environmentId={c.ENV_ID}"] * args.calls
            plain = [f"/uncached?environmentId={c.ENV_ID}"] * args.calls
            timed(port, same[:5] + plain[:5])  # warm-up: connections, the first entry
            cached, uncached = timed(port, same), timed(port, plain)
            row = [f"{delay:g} ms", figure(uncached), figure(cached)]
            c.stop(server)
            if redis_proc is not None:
                env = {"NAFTIKO_CACHE_URL": redis_url}
                a, port_a = start_server(tmp, package, base, env)
                b, port_b = start_server(tmp, package, base, env)
                ids = [f"/cached?environmentId=d{delay:g}-{i}" for i in range(args.calls)]
                timed(port_a, ids)  # A fills Redis
                timed(port_b, ["/health"] * 5)  # B's connection warm
                row.append(figure(timed(port_b, ids)))  # each one a miss in B, a hit in Redis
                c.stop(a)
                c.stop(b)
            rows.append(row)
            c.stop(upstream)
        if redis_proc is not None:
            c.stop(redis_proc)
    headers = ["upstream delay", "uncached call", "cached (in process)"]
    if with_redis:
        headers.append("cached (Redis, filled by another server)")
    else:
        print("(redis-server or the redis package is missing: no Redis column)")
    print(f"\nmedian (p90) of {args.calls} sequential GETs on one keep-alive connection\n")
    c.print_table(headers, rows)


if __name__ == "__main__":
    main()
