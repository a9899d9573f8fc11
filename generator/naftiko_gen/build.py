"""A build: the pipeline (codegen.generate_specs) with the cache and worker processes around it.

Specs whose inputs did not change come whole from the cache (cache.SpecCache); the others are
built in chunks, in worker processes of the standard library's pool when there are enough of
them to pay for starting the workers. The result is exactly codegen.generate's.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from naftiko_gen import formatting
from naftiko_gen.cache import SpecCache
from naftiko_gen.codegen import Generated, Job, SpecOutput, assemble, collect, generate_specs
from naftiko_gen.diagnostics import Report
from naftiko_gen.resources import TEMPLATE_DIRS

if TYPE_CHECKING:  # imported when there are enough specs to build in worker processes
    import multiprocessing.context

# Below this many specs to build, starting worker processes costs more than it saves.
PARALLEL_MIN_SPECS = 8
# Specs per task: one formatter process each (~5 ms to start), small enough to share the work.
CHUNK = 8


def jobs() -> int:
    """Worker processes: NAFTIKO_GEN_JOBS, else the CPUs this process may use."""
    try:
        wanted = int(os.environ.get("NAFTIKO_GEN_JOBS", "0"))
    except ValueError:
        wanted = 0
    if wanted > 0:
        return wanted
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def build(paths: list[Path], out_dir: Path, openapi: dict[str, Path] | None = None) -> Generated:
    """Build every spec of `paths` for `out_dir` (nothing is written: see writer.py).

    Documents named on the command line (`openapi`) are not part of the cache key: no cache then.
    """
    report = Report()
    todo = collect(paths, report)
    cache = SpecCache(out_dir, TEMPLATE_DIRS, formatting.identity())
    outputs: dict[str, SpecOutput] = {}
    keys: dict[str, str] = {}
    misses: list[Job] = []
    for job in todo:
        key = None if openapi else cache.key(job.spec, job.display, job.package)
        hit = cache.lookup(key) if key is not None else None
        if hit is not None:
            outputs[job.package] = SpecOutput(job.package, hit.spec, hit.report, hit.files)
            continue
        if key is not None:
            keys[job.package] = key
        misses.append(job)
    specs = {job.package: job.spec for job in misses}
    for out in _run(misses, out_dir, openapi, record=bool(keys)):
        outputs[out.package] = out
        if out.package in keys and out.files is not None:
            cache.save(
                keys[out.package],
                specs[out.package],
                out.spec,
                out.files,
                out.report,
                out.reads,
                out.shared,
            )
    return assemble(report, [outputs[job.package] for job in todo], openapi)


def _run(
    misses: list[Job], out_dir: Path, openapi: dict[str, Path] | None, record: bool
) -> list[SpecOutput]:
    workers = min(jobs(), -(-len(misses) // CHUNK))
    if len(misses) < PARALLEL_MIN_SPECS or workers < 2:
        return generate_specs(misses, out_dir, openapi, record)
    import concurrent.futures  # here: a build from the cache never starts a worker

    chunks = [misses[i : i + CHUNK] for i in range(0, len(misses), CHUNK)]
    try:
        with concurrent.futures.ProcessPoolExecutor(workers, mp_context=_context()) as pool:
            done = pool.map(
                generate_specs,
                chunks,
                [out_dir] * len(chunks),
                [openapi] * len(chunks),
                [record] * len(chunks),
            )
            return [out for chunk in done for out in chunk]
    except (OSError, concurrent.futures.process.BrokenProcessPool):
        # No worker processes here (a sandbox, limits): the same work in this process.
        return generate_specs(misses, out_dir, openapi, record)


def _context() -> multiprocessing.context.BaseContext:
    """forkserver where there is one (safe beside threads, such as the progress spinner's; the
    pipeline's modules are imported once, in the server), else spawn."""
    import multiprocessing

    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["naftiko_gen.build", "naftiko_gen.plan", "jinja2"])
        return context
    return multiprocessing.get_context("spawn")
