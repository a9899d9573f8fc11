"""Generation speed: `naftiko-gen build` over synthetic families of 1, 10 and 100 capabilities.

Each capability looks like specs/qovery-containers.yaml: one bearer-authenticated `consumes`
block with 5-10 operations (path parameters, query parameters, JSON bodies, all HTTP methods),
one REST adapter and one MCP adapter exposing every operation. The specs are written to a
temporary folder and built by `python -m naftiko_gen` in a subprocess, so interpreter start-up
and imports are part of every figure.

With `--before REV`, the same rows are measured for the generator at git revision REV (its
sources exported with `git archive`, run from there with this interpreter and its packages) in
the same run, alternating the two run by run, and the ratios are printed.

    python bench/bench_build.py                       # the table in docs/benchmarks.md
    python bench/bench_build.py --before ac859f9      # and the generator before issue #18
    python bench/bench_build.py --sizes 1 10 --runs 3
    python bench/bench_build.py --wheel               # and the checkout installed from its wheel

With `--wheel`, the checkout's wheel is built (with its build step: templates precompiled, see
naftiko_gen.render.PRECOMPILED) and unpacked, and measured too: its `cold` row is the first
build after `pip install naftiko-gen`.

Rows (each the median of --runs runs):
  cold    empty cache folder, empty output folder: the first build after installing (the
          templates are compiled too), then everything is parsed, rendered, formatted
  coldspec  the same, but the cache folder keeps the compiled templates (a spec never built)
  warm    warm cache, empty output folder: every file is written again
  check   warm cache, output up to date: `build --check` (the no-op CI/pre-commit case)
  check0  no cache at all (NAFTIKO_GEN_NO_CACHE=1), output up to date: `build --check`
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

WORDS = [
    "cluster",
    "environment",
    "application",
    "container",
    "database",
    "job",
    "helm",
    "project",
    "organization",
    "deployment",
    "service",
    "registry",
    "secret",
    "variable",
    "domain",
    "alias",
    "backup",
    "log",
    "status",
    "stage",
    "credential",
    "policy",
    "token",
    "invoice",
    "member",
    "role",
    "webhook",
    "billing",
    "usage",
    "event",
]
ROWS = ("cold", "coldspec", "warm", "check", "check0")
METHODS = ("GET", "GET", "GET", "POST", "PUT", "PATCH", "DELETE")


ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Variant:
    """A generator to measure: its label, how to run it, what its environment adds."""

    label: str
    command: list[str]
    env: dict[str, str] = field(default_factory=dict)


def current() -> Variant:
    return Variant("this checkout", [sys.executable, "-m", "naftiko_gen"])


def before(rev: str, root: Path) -> Variant:
    """The generator at `rev`, exported beside the benchmark's files and run from there."""
    folder = root / "before"
    folder.mkdir()
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", "--format=tar", rev], capture_output=True, check=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    # Before issue #18 the import package was `generator`, at the top of the checkout.
    package = "generator" if (folder / "generator" / "__main__.py").is_file() else "naftiko_gen"
    path = folder if package == "generator" else folder / "generator"
    return Variant(f"{rev}", [sys.executable, "-m", package], {"PYTHONPATH": str(path)})


def wheel(root: Path) -> Variant:
    """This checkout as its wheel installs it (with its build step: precompiled templates), the
    wheel unpacked beside the benchmark's files and run from there."""
    folder = root / "wheel"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(root / "dist"), str(ROOT)],
        check=True,
    )  # fmt: skip
    (built,) = (root / "dist").glob("naftiko_gen-*.whl")
    shutil.unpack_archive(built, folder, format="zip")
    return Variant(
        "this checkout, as a wheel",
        [sys.executable, "-m", "naftiko_gen"],
        {"PYTHONPATH": str(folder)},
    )


def _op(rng: random.Random, words: list[str], used: set[str]) -> dict[str, object]:
    """One operation: a path of 1-3 segments with 0-2 parameters, a method, maybe a body."""
    while True:
        parts = rng.sample(words, rng.randint(1, 3))
        method = rng.choice(METHODS)
        name = (method.lower() + "".join(p.capitalize() for p in parts))[:60]
        if name not in used:
            used.add(name)
            break
    path: list[str] = []
    params: list[str] = []
    for i, part in enumerate(parts):
        path.append(part)
        if i < len(parts) - 1 or rng.random() < 0.4:
            if len(params) < 2:
                params.append(f"{part}Id")
                path.append("{" + f"{part}Id" + "}")
    query = [q for q in ("page", "pageSize", "sort", "filter") if rng.random() < 0.3]
    if method in ("POST", "PUT", "PATCH"):
        query = []
    return {
        "name": name,
        "method": method,
        "path": "/" + "/".join(path),
        "params": params,
        "query": query if method == "GET" else [],
        "body": method in ("POST", "PUT", "PATCH"),
        "title": f"{method.title()} {' '.join(parts)}",
    }


def spec_text(index: int, seed: int = 0) -> str:
    rng = random.Random(seed * 100_003 + index)
    words = rng.sample(WORDS, 8)
    slug = f"bench-{index:03d}-{words[0]}"
    used: set[str] = set()
    ops = [_op(rng, words, used) for _ in range(rng.randint(5, 10))]
    out = [
        "naftiko: 1.0.0-alpha2",
        "info:",
        f"  label: Bench API {index} — {words[0].title()}",
        f"  description: Synthetic capability {index} with {len(ops)} operations.",
        "binds:",
        "- namespace: env",
        "  keys:",
        "    BENCH_API_KEY: BENCH_API_KEY",
        "capability:",
        "  consumes:",
        "  - type: http",
        f"    namespace: {slug}",
        f"    baseUri: https://api{index}.example.invalid",
        f"    description: Upstream of synthetic capability {index}.",
        "    resources:",
    ]
    for op in ops:
        upstream_path = str(op["path"])
        out += [
            f"    - name: {op['name']}-resource",
            f"      path: {upstream_path}",
            "      operations:",
            f"      - name: {op['name']}",
            f"        method: {op['method']}",
            f"        description: {op['title']}",
            "        outputRawFormat: json",
            "        outputParameters:",
            "        - name: result",
            "          type: object",
            "          value: $.",
        ]
        inputs = [(q, "query") for q in op["query"]]  # type: ignore[attr-defined]
        if op["body"]:
            inputs.append(("body", "body"))
        if inputs:
            out.append("        inputParameters:")
            for name, where in inputs:
                out += [f"        - name: {name}", f"          in: {where}"]
    out += [
        "    authentication:",
        "      type: bearer",
        "      token: '{{env.BENCH_API_KEY}}'",
        "  exposes:",
        "  - type: rest",
        f"    namespace: {slug}-rest",
        "    port: 8080",
        f"    description: REST adapter for synthetic capability {index}.",
        "    resources:",
    ]
    for op in ops:
        rest_path = "/v1" + str(op["path"]).lower()
        out += [
            f"    - path: {rest_path}",
            f"      name: {op['name'].lower()}-rest",  # type: ignore[attr-defined]
            f"      description: REST surface for {op['name']}.",
            "      operations:",
            f"      - method: {op['method']}",
            f"        name: {op['name']}",
            f"        description: {op['title']}",
            f"        call: {slug}.{op['name']}",
        ]
        withs = [(p, f"rest.{p.lower()}") for p in op["params"]]  # type: ignore[attr-defined]
        withs += [(q, f"rest.{q}") for q in op["query"]]  # type: ignore[attr-defined]
        if op["query"]:
            out.append("        inputParameters:")
            for q in op["query"]:  # type: ignore[attr-defined]
                kind = "integer" if q.startswith("page") else "string"
                out += [
                    f"        - name: {q}",
                    "          in: query",
                    f"          type: {kind}",
                    f"          description: The {q} query parameter.",
                ]
        if op["body"]:
            withs.append(("body", "rest.body"))
        if withs:
            out.append("        with:")
            out += [f"          {k}: {v}" for k, v in withs]
        out += ["        outputParameters:", "        - type: object", "          mapping: $."]
    out += [
        "  - type: mcp",
        f"    namespace: {slug}-mcp",
        "    port: 9090",
        "    transport: http",
        f"    description: MCP adapter for synthetic capability {index}.",
        "    tools:",
    ]
    for op in ops:
        read_only = op["method"] == "GET"
        out += [
            f"    - name: {str(op['name']).lower()}",
            f"      description: {op['title']}",
            "      hints:",
            f"        readOnly: {str(read_only).lower()}",
            f"        destructive: {str(op['method'] == 'DELETE').lower()}",
            f"        idempotent: {str(op['method'] in ('GET', 'PUT', 'DELETE')).lower()}",
            f"      call: {slug}.{op['name']}",
        ]
        args = [*op["params"], *op["query"]]  # type: ignore[misc]
        if op["body"]:
            args.append("body")
        if args:
            out.append("      with:")
            out += [f"        {a}: tools.{a}" for a in args]
        out += ["      outputParameters:", "      - type: object", "        mapping: $."]
    return "\n".join(out) + "\n"


def write_family(folder: Path, n: int) -> int:
    folder.mkdir(parents=True, exist_ok=True)
    ops = 0
    for i in range(n):
        text = spec_text(i)
        ops += text.count("\n      - name: ")
        (folder / f"bench-{i:03d}.yaml").write_text(text, encoding="utf-8")
    return ops


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(variant: Variant, args: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float]:
    """Wall-clock and CPU seconds (the command and its worker processes) of one run."""
    cpu = _children_cpu()
    start = time.perf_counter()
    proc = subprocess.run(
        [*variant.command, *args],
        cwd=cwd,
        env={**env, **variant.env},
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"naftiko-gen {' '.join(args)} exited {proc.returncode}:\n{proc.stderr[-3000:]}")
    return elapsed, _children_cpu() - cpu


def bytecode_env(root: Path) -> dict[str, str]:
    """The environment every run gets: compiled bytecode, as an installed package has.

    pip compiles a package's modules when it installs it; an editable checkout gets them on
    first use, unless PYTHONDONTWRITEBYTECODE is set (as in some sandboxes), when every run
    would compile the whole generator again (~0.2 s). The generators' modules are compiled once,
    untimed, into a private PYTHONPYCACHEPREFIX. Compiled templates are a cache like any other:
    a cold run starts without them.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("NAFTIKO_GEN_")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(root / "pycache")
    for folder in (ROOT / "generator", root / "before", root / "wheel"):
        if folder.is_dir():
            subprocess.run(
                [sys.executable, "-m", "compileall", "-q", str(folder)], env=env, check=True
            )
    return env


def bench_size(
    root: Path, n: int, runs: int, base: dict[str, str], variants: list[Variant]
) -> list[dict[str, Any]]:
    """Each row of ROWS for each variant; the variants alternate run by run."""
    work = root / f"n{n}"
    specs = work / "specs"
    ops = write_family(specs, n)
    times = {(v.label, k): [] for v in variants for k in ROWS}  # type: dict[tuple[str, str], list[tuple[float, float]]]

    def folders(v: Variant) -> tuple[Path, Path]:
        tag = variants.index(v)
        return work / f"cache{tag}", work / f"out{tag}"

    for _ in range(runs):
        for v in variants:
            cache, out = folders(v)
            shutil.rmtree(cache, ignore_errors=True)
            shutil.rmtree(out, ignore_errors=True)
            env = {**base, "NAFTIKO_GEN_CACHE_DIR": str(cache)}
            build = ["build", "-q", "specs", "-o", out.name]
            times[(v.label, "cold")].append(run(v, build, env, work))
    for _ in range(runs):
        for v in variants:
            cache, out = folders(v)
            for kind in ("spec", "blob", "black"):  # cache entries, not compiled templates
                for entry in cache.glob(f"v*/{kind}"):
                    shutil.rmtree(entry, ignore_errors=True)
            shutil.rmtree(out, ignore_errors=True)
            env = {**base, "NAFTIKO_GEN_CACHE_DIR": str(cache)}
            build = ["build", "-q", "specs", "-o", out.name]
            times[(v.label, "coldspec")].append(run(v, build, env, work))
    for _ in range(runs):
        for v in variants:
            cache, out = folders(v)
            shutil.rmtree(out, ignore_errors=True)
            env = {**base, "NAFTIKO_GEN_CACHE_DIR": str(cache)}
            times[(v.label, "warm")].append(
                run(v, ["build", "-q", "specs", "-o", out.name], env, work)
            )
    for _ in range(runs):
        for v in variants:
            cache, out = folders(v)
            env = {**base, "NAFTIKO_GEN_CACHE_DIR": str(cache)}
            check = ["build", "-q", "--check", "specs", "-o", out.name]
            times[(v.label, "check")].append(run(v, check, env, work))
    for _ in range(runs):
        for v in variants:
            _, out = folders(v)
            nocache = {**base, "NAFTIKO_GEN_NO_CACHE": "1"}
            check = ["build", "-q", "--check", "specs", "-o", out.name]
            times[(v.label, "check0")].append(run(v, check, nocache, work))
    rows = []
    for v in variants:
        medians = {
            k: (
                statistics.median(w for w, _ in times[(v.label, k)]),
                statistics.median(c for _, c in times[(v.label, k)]),
            )
            for k in ROWS
        }
        rows.append({"variant": v.label, "specs": n, "ops": ops, **medians})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 10, 100])
    parser.add_argument("--runs", type=int, default=5, help="runs per figure (median shown)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument(
        "--before", metavar="REV", help="also measure the generator at this git revision"
    )
    parser.add_argument(
        "--dir",
        type=Path,
        default=Path(__file__).resolve().parent.parent,
        help="where the temporary folder (specs, output, cache) goes; default: this checkout, "
        "where a build writes its output (creating files in /tmp can cost several times more)",
    )
    parser.add_argument(
        "--wheel",
        action="store_true",
        help="also measure this checkout installed from its wheel (templates precompiled)",
    )
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix=".naftiko-bench-", dir=args.dir))
    try:
        variants = [current()]
        if args.wheel:
            variants.append(wheel(root))
        if args.before:
            variants.insert(0, before(args.before, root))
        base = bytecode_env(root)
        rows = [row for n in args.sizes for row in bench_size(root, n, args.runs, base, variants)]
        start = time.perf_counter()
        subprocess.run([*current().command, "--help"], capture_output=True, check=True, env=base)
        help_time = time.perf_counter() - start
    finally:
        if args.keep:
            print(f"specs and output kept in {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
    print(
        f"naftiko-gen build: seconds wall-clock (CPU), median of {args.runs} runs, "
        f"{os.cpu_count()} CPU(s), load average {os.getloadavg()[0]:.1f} at the end; "
        "bytecode compiled beforehand (as on install)"
    )
    print()
    print(
        "| generator | specs | operations | cold cache | cold spec (templates compiled) "
        "| warm cache | --check no-op | --check no-op, no cache |"
    )
    print(
        "|---|------:|-----------:|-----------:|-----------:|-----------:|--------------:|------:|"
    )
    for r in rows:
        cells = " | ".join(f"{r[k][0]:.2f} ({r[k][1]:.2f})" for k in ROWS)
        print(f"| {r['variant']} | {r['specs']} | {r['ops']} | {cells} |")
    if args.before:
        print()
        print(f"each / {args.before} (wall-clock; below 1 is faster):")
        for old in (r for r in rows if r["variant"] == args.before):
            for new in (r for r in rows if r["specs"] == old["specs"] and r is not old):
                ratios = ", ".join(f"{k} {new[k][0] / old[k][0]:.2f}" for k in ROWS)
                print(f"  {new['variant']}, {new['specs']} specs: {ratios}")
    budgets = {
        (1, "cold"): 0.5,
        (1, "coldspec"): 0.5,
        (100, "cold"): 3.0,
        (100, "check"): 0.5,
    }
    print()
    for r in rows:
        if args.before and r["variant"] == args.before:
            continue
        for (n, k), limit in budgets.items():
            if r["specs"] == n:
                verdict = "within" if r[k][0] <= limit else "OVER"
                print(
                    f"budget {n} spec(s) {k} <= {limit} s, {r['variant']}: {r[k][0]:.2f} s, {verdict}"
                )
    print()
    print(f"`naftiko-gen --help`: {help_time:.2f} s")


if __name__ == "__main__":
    main()
