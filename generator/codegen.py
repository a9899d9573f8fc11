"""The one pure function: spec files in, {relative path: text} and diagnostics out."""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from naftiko_gen.cache import CachedSpec, SpecCache
from naftiko_gen.diagnostics import Pos, Report
from naftiko_gen.naming import package_name

if TYPE_CHECKING:  # imported in analyse(): a fully cached build never needs them (issue #10)
    from naftiko_gen.plan import Plan

SPEC_SUFFIXES = (".yaml", ".yml")
_TOP_CAPABILITY = re.compile(r"^capability\s*:", re.M)
_TOP_CONSUMES = re.compile(r"^consumes\s*:", re.M)


@dataclass
class Generated:
    files: dict[str, str] = field(default_factory=dict)
    report: Report = field(default_factory=Report)
    packages: list[str] = field(default_factory=list)
    specs: dict[str, str] = field(default_factory=dict)  # package → spec display path
    # package → (folder, files) a `stage` callback wrote while the build ran (see generate)
    staged: dict[str, tuple[str, list[str]]] = field(default_factory=dict)


def display_path(path: Path) -> str:
    try:
        rel = os.path.relpath(path.resolve(), _resolved(os.getcwd()))
    except ValueError:
        return path.as_posix()
    return Path(rel).as_posix() if not rel.startswith("..") else path.as_posix()


@functools.lru_cache(maxsize=8)
def _resolved(folder: str) -> Path:
    return Path(folder).resolve()


def find_specs(paths: list[Path], report: Report) -> list[Path]:
    """Spec files named directly, and capability files in named folders (not shared consumes)."""
    found: list[Path] = []
    for p in paths:
        if p.is_dir():
            for child in sorted(p.iterdir()):
                if child.is_file() and child.suffix in SPEC_SUFFIXES and _is_capability(child):
                    found.append(child)
        elif p.is_file():
            found.append(p)
        else:
            report.error("naftiko-file-unreadable", "no such file or folder", Pos(display_path(p)))
    return found


def _is_capability(path: Path) -> bool:
    """Folders may hold shared consumes files beside capabilities; only the latter are built."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return True
    return bool(_TOP_CAPABILITY.search(text)) or not _TOP_CONSUMES.search(text)


UNREADABLE_RULES = ("naftiko-file-unreadable", "naftiko-file-encoding", "naftiko-file-too-large")


def analyse(
    spec: Path,
    out_dir: Path,
    report: Report,
    openapi: dict[str, Path] | None = None,
    consumed: set[str] | None = None,
) -> Plan | None:
    """Read, check and plan one spec; problems go to `report`.

    `openapi`: consumes namespace → the upstream's OpenAPI document (else `openapi/<NS>.yaml`
    beside the spec, when there is one); `consumed` collects the namespaces the spec consumes.
    """
    from naftiko_gen.checks import run_checks
    from naftiko_gen.plan import make_plan
    from naftiko_gen.reader import read_capability

    display = display_path(spec)
    cap = read_capability(spec, display, report)
    if cap is None:
        return None
    run_checks(cap, report)
    package = package_name(spec.stem)
    namespaces = [c.namespace for c in cap.consumes]
    if consumed is not None:
        consumed.update(namespaces)
    documents = openapi_documents(spec, namespaces, openapi or {}, report)
    plan = make_plan(cap, package, out_dir / package, report, display, documents)
    return None if report.has_errors() else plan


OPENAPI_FOLDER = "openapi"  # beside a spec: openapi/<consumes namespace>.yaml|.yml|.json
OPENAPI_SUFFIXES = (".yaml", ".yml", ".json")
_documents: dict[str, Any] = {}  # content digest → parsed document (one process, many specs)


def convention_documents(spec: Path) -> dict[str, Path]:
    """`openapi/<namespace>.yaml` files beside a spec (listing the folders records them for the
    build cache: adding a document later is a cache miss)."""
    try:
        if OPENAPI_FOLDER not in os.listdir(spec.parent or "."):
            return {}
        folder = spec.parent / OPENAPI_FOLDER
        names = sorted(os.listdir(folder))
    except OSError:
        return {}
    found: dict[str, Path] = {}
    for name in names:
        stem, suffix = os.path.splitext(name)
        if suffix in OPENAPI_SUFFIXES and stem not in found:
            found[stem] = folder / name
    return found


def openapi_documents(
    spec: Path, namespaces: list[str], explicit: dict[str, Path], report: Report
) -> dict[str, Any]:
    """Consumes namespace → parsed OpenAPI document (enrich.Document), for those that have one."""
    beside = convention_documents(spec)
    wanted = {ns: explicit.get(ns) or beside.get(ns) for ns in namespaces}
    if not any(wanted.values()):
        return {}
    import hashlib

    from naftiko_gen.plan.enrich import DocumentError, load_document

    out: dict[str, Any] = {}
    for ns, path in wanted.items():
        if path is None:
            continue
        shown = display_path(path)
        try:
            with open(path, "rb") as fh:
                key = hashlib.sha256(fh.read()).hexdigest()
            if key not in _documents:
                _documents[key] = load_document(path)
            out[ns] = _documents[key]
            out[ns].source = shown
        except OSError as exc:
            report.error(
                "naftiko-openapi-unreadable",
                f"cannot read the OpenAPI document of '{ns}': {exc.strerror or exc}",
                Pos(shown),
            )
        except DocumentError as exc:
            report.error(
                "naftiko-openapi-unreadable",
                f"the OpenAPI document of '{ns}' cannot be used: {exc}",
                Pos(shown),
            )
    return out


def _unused_openapi(openapi: dict[str, Path], consumed: set[str], report: Report) -> None:
    for ns, path in sorted(openapi.items()):
        if ns not in consumed:
            report.warning(
                "naftiko-openapi-unmatched",
                f"--openapi {ns}=...: no spec consumes namespace '{ns}'; the document is unused",
                Pos(display_path(path)),
            )


def generate(
    paths: list[Path],
    out_dir: Path,
    openapi: dict[str, Path] | None = None,
    stage: Stage | None = None,
) -> Generated:
    """`openapi`: consumes namespace → OpenAPI document of that upstream (enrichment).

    `stage(package, files)` is called, in whichever process rendered them, with the files of
    each package built here as soon as they are rendered, so that writing them can overlap the
    rest of the build (writer.Stager), and at the end for those from the cache; what it
    returns is in `staged`. It may be called for packages of a build that then fails.
    """
    result = Generated()
    specs = find_specs(paths, result.report)
    if not specs and not result.report.has_errors():
        result.report.error(
            "naftiko-no-specs",
            "no *.yaml or *.yml capability specs found",
            Pos(", ".join(display_path(p) for p in paths)),
        )
    owners: dict[str, str] = {}
    order: list[Report | int] = []  # per spec: its diagnostics, or its index among the misses
    misses: list[tuple[Path, str]] = []
    cached: dict[str, CachedSpec] = {}  # issue #10: specs whose inputs did not change
    spec_cache = SpecCache(out_dir)
    for spec in specs:
        package = package_name(spec.stem)
        if package in owners:
            clash = Report()
            clash.error(
                "naftiko-package-clash",
                f"this spec and {owners[package]} both generate package '{package}'; rename one file",
                Pos(display_path(spec)),
            )
            order.append(clash)
            continue
        owners[package] = display_path(spec)
        # Documents named on the command line are not part of the cache key: no cache then.
        hit = None if openapi else spec_cache.lookup(spec, owners[package], package)
        if hit is not None:  # same files and diagnostics as last time, without the work
            order.append(hit.report)
            cached[package] = hit
            continue
        order.append(len(misses))
        misses.append((spec, package))
    # Rendering is pointless when the build already failed (a package clash).
    render = not result.report.has_errors() and not any(
        isinstance(r, Report) and r.has_errors() for r in order
    )
    built = _build_all(misses, out_dir, openapi, spec_cache, render, stage)
    consumed: set[str] = set()
    for item in order:
        if isinstance(item, Report):
            result.report.extend(item)
        else:
            result.report.extend(built[item].report)
            consumed |= built[item].consumed
    if openapi:
        _unused_openapi(openapi, consumed, result.report)
    if result.report.has_errors():
        return result
    for done in built:
        if done.files is not None:
            result.files.update(done.files)
            result.specs[done.package] = done.spec
        if done.staged is not None:
            result.staged[done.package] = done.staged
    for package, hit in cached.items():
        result.files.update(hit.files)
        result.specs[package] = hit.spec
        if stage is not None:  # a new folder is cheaper to create whole (writer.Stager)
            staged = stage(package, hit.files)
            if staged is not None:
                result.staged[package] = staged
    result.packages = sorted(result.specs)
    return result


@dataclass
class _Built:
    """One spec analysed (and rendered when its batch was clean), here or in a worker process."""

    report: Report
    consumed: set[str]
    package: str = ""
    spec: str = ""  # the spec's display path, as Plan.spec
    files: dict[str, str] | None = None
    staged: tuple[str, list[str]] | None = None


Stage = Callable[[str, dict[str, str]], "tuple[str, list[str]] | None"]


def _build_batch(
    batch: Iterable[tuple[Path, str]],
    out_dir: Path,
    openapi: dict[str, Path] | None,
    spec_cache: SpecCache,
    render: bool,
    stage: Stage | None = None,
    left: Callable[[], int] | None = None,
) -> list[_Built]:
    """Analyse every spec of `batch` (taken one at a time); while none has errors, render them
    (one formatter run) and record them in the cache: all at the end, or with `stage` every
    STAGE_GROUP specs, each group staged while the next is analysed.

    `left()`: how many specs each process still has to take, when several share the work.
    Groups then shrink towards the end (to half that), so that no process is left rendering a
    whole group alone while the others have finished.
    """
    built: list[_Built] = []
    plans: list[tuple[_Built, Plan]] = []
    failed = False
    group = STAGE_GROUP if stage is not None else 0
    for spec, package in batch:
        done = _Built(Report(), set())
        with spec_cache.analysing(spec, package, done.report):
            plan = analyse(spec, out_dir, done.report, openapi, done.consumed)
        built.append(done)
        failed = failed or done.report.has_errors()
        if plan is not None:
            plans.append((done, plan))
        if render and not failed and group and plans:
            if len(plans) >= (group if left is None else min(group, max(1, left() // 2))):
                _render(plans, spec_cache, stage)
                plans = []
    if render and not failed and plans:
        _render(plans, spec_cache, stage)
    return built


# With a `stage` callback, specs are rendered and staged in groups of at most this many (fewer
# towards the end of a parallel build). Each group is one `ruff format` process, ~5 ms to start:
# groups of 8 cost a 100-spec build ~0.1 s more than groups of 24-64 did.
STAGE_GROUP = 32


def _render(plans: list[tuple[_Built, Plan]], spec_cache: SpecCache, stage: Stage | None) -> None:
    from naftiko_gen.render import render_plans

    for (done, plan), files in zip(plans, render_plans([p for _, p in plans]), strict=True):
        spec_cache.save(plan.package, files, plan.spec, _runtime_copies(files))
        done.package, done.spec, done.files = plan.package, plan.spec, files
        if stage is not None:
            done.staged = stage(plan.package, files)


def _runtime_copies(files: dict[str, str]) -> list[str]:
    """The files that are a runtime module after their header line (the same in every package)."""
    from naftiko_gen.render import RUNTIME_DIR, runtime_source

    if not _RUNTIME_NAMES:
        _RUNTIME_NAMES.update(n for n in os.listdir(RUNTIME_DIR) if n.endswith(".py"))
    found = []
    for path, text in files.items():
        name = path.partition("/")[2]
        if name in _RUNTIME_NAMES and text.partition("\n")[2] == runtime_source(name):
            found.append(path)
    return found


_RUNTIME_NAMES: set[str] = set()


# Below this many specs to analyse, a second process costs more than it saves.
PARALLEL_MIN_SPECS = 4


def _build_all(
    misses: list[tuple[Path, str]],
    out_dir: Path,
    openapi: dict[str, Path] | None,
    spec_cache: SpecCache,
    render: bool,
    stage: Stage | None = None,
) -> list[_Built]:
    """_build_batch over the misses, shared with forked worker processes when it pays.

    Each process takes the next spec from a shared counter, analyses it, and at the end renders
    and formats what it took. A worker that fails in any way has its specs built again here, so
    results (and errors) are the serial ones; diagnostics are merged back in spec order.
    """
    if not misses:
        return []
    from naftiko_gen.render import jobs

    workers = min(jobs(), len(misses))
    parallel = len(misses) >= PARALLEL_MIN_SPECS and workers >= 2 and _can_fork()
    if parallel:
        _preload()  # imports, shared with the workers by fork
    with _fewer_collections():
        if not parallel:
            return _build_batch(misses, out_dir, openapi, spec_cache, render, stage)
        return _build_parallel(misses, out_dir, openapi, spec_cache, render, stage, workers)


@contextmanager
def _fewer_collections() -> Iterator[None]:
    """The cyclic garbage collector less often during a build.

    A build makes hundreds of thousands of small objects (YAML nodes, positions, plan values)
    that live until their spec is rendered, and few reference cycles. With the default
    thresholds the collector ran every 700 allocations and again and again walked the older
    objects, a third of the time of the YAML loader. Here it runs about 14 times less often, and
    what exists already (the imported modules) is moved out of its sight (gc.freeze: forked
    workers then do not touch, and so copy, the memory pages they share with the parent). The
    settings are restored afterwards.
    """
    import gc

    threshold = gc.get_threshold()
    freeze = gc.get_freeze_count() == 0  # someone else's frozen objects stay as they are
    if freeze:
        gc.freeze()
    gc.set_threshold(10_000, 20, 20)
    try:
        yield
    finally:
        gc.set_threshold(*threshold)
        if freeze:
            gc.unfreeze()


def _build_parallel(
    misses: list[tuple[Path, str]],
    out_dir: Path,
    openapi: dict[str, Path] | None,
    spec_cache: SpecCache,
    render: bool,
    stage: Stage | None,
    workers: int,
) -> list[_Built]:
    import contextlib
    import multiprocessing
    import pickle
    import signal

    counter = multiprocessing.get_context("fork").Value("l", 0)

    def take() -> Iterator[int]:
        while True:
            with counter.get_lock():
                index = counter.value
                counter.value = index + 1
            if index >= len(misses):
                return
            yield index

    def batch(indices: Iterable[int]) -> list[tuple[int, _Built]]:
        taken: list[int] = []

        def picked() -> Iterator[tuple[Path, str]]:
            for i in indices:
                taken.append(i)
                yield misses[i]

        built = _build_batch(picked(), out_dir, openapi, spec_cache, render, stage, left)
        return list(zip(taken, built, strict=True))

    def left() -> int:
        taken: int = counter.value
        return max(0, len(misses) - taken) // workers

    children: list[tuple[int, int]] = []
    for _ in range(workers - 1):
        read_end, write_end = os.pipe()
        try:
            pid = os.fork()
        except OSError:
            os.close(read_end)
            os.close(write_end)
            break
        if pid == 0:  # a worker: never returns
            os.close(read_end)
            try:
                _compile_templates(len(children) + 1, workers)
                payload = pickle.dumps(batch(take()), pickle.HIGHEST_PROTOCOL)
            except BaseException:  # noqa: BLE001 - the parent builds this worker's specs again
                payload = b""
            try:
                with os.fdopen(write_end, "wb") as out:
                    out.write(payload)
            finally:
                os._exit(0)
        os.close(write_end)
        children.append((pid, read_end))
    _compile_templates(0, workers)
    results: dict[int, _Built] = {}
    try:
        results.update(batch(take()))
        while children:
            pid, read_end = children[0]
            with os.fdopen(read_end, "rb") as fh:
                payload = fh.read()
            children.pop(0)
            os.waitpid(pid, 0)
            try:
                results.update(pickle.loads(payload) if payload else [])
            except Exception:  # noqa: BLE001, S110 - a damaged answer: built again below
                pass
    except BaseException:  # Ctrl-C, a bug: stop the workers before anything is cleaned up
        for pid, read_end in children:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            with contextlib.suppress(OSError):
                os.close(read_end)
        raise
    missing = [i for i in range(len(misses)) if i not in results]
    if missing:
        results.update(batch(missing))
    return [results[i] for i in range(len(misses))]


def _can_fork() -> bool:
    import sys

    return sys.platform == "linux" and hasattr(os, "fork")


def _preload() -> None:
    """What every worker needs, imported once before forking: the modules, Jinja, and the
    main templates when they are compiled already (else the workers compile them)."""
    import naftiko_gen.checks
    import naftiko_gen.plan
    import naftiko_gen.reader  # noqa: F401
    from naftiko_gen.render import environment

    env = environment()
    for name in MAIN_TEMPLATES:
        try:
            source, filename, _ = env.loader.get_source(env, name)  # type: ignore[union-attr]
            cache = env.bytecode_cache
            if cache is not None and cache.get_bucket(env, name, filename, source).code:
                env.get_template(name)
        except Exception:  # noqa: BLE001, S110 - the render meets (and reports) it again
            pass


# The templates every spec renders (and the macros they all import). Compiled ones are loaded
# before forking; otherwise (the first build after installing or editing them) each worker
# compiles its share into Jinja's bytecode cache (cache.jinja_bytecode_cache), where the others
# find them when they render. Ordered so that two processes get about as much to compile.
MAIN_TEMPLATES = (
    "_macros.j2",
    "mcp_server.py.j2",
    "rest_server.py.j2",
    "__init__.py.j2",
    "upstream.py.j2",
)


def _compile_templates(worker: int, workers: int) -> None:
    from naftiko_gen.render import environment

    env = environment()
    for name in MAIN_TEMPLATES[worker::workers]:
        try:
            env.get_template(name)
        except Exception:  # noqa: BLE001, S110 - the render meets (and reports) it again
            pass


def validate(paths: list[Path], openapi: dict[str, Path] | None = None) -> tuple[Report, bool]:
    """All diagnostics for the specs; the flag says whether some input could not be read."""
    report = Report()
    specs = find_specs(paths, report)
    if not specs and not report.has_errors():
        report.error(
            "naftiko-no-specs",
            "no *.yaml or *.yml capability specs found",
            Pos(", ".join(display_path(p) for p in paths)),
        )
    consumed: set[str] = set()
    for spec in specs:
        analyse(spec, Path("generated"), report, openapi, consumed)
    if openapi:
        _unused_openapi(openapi, consumed, report)
    unreadable = any(d.rule in UNREADABLE_RULES for d in report.items)
    return report, unreadable
