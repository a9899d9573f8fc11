"""The pipeline: spec files in, {relative path: text} and diagnostics out; nothing is written.

load (loader) → read (reader) → check (checks) → plan (plan, with the package layout) →
render (render) → format (formatting). `generate` runs it serially; build.py adds the cache and
worker processes around `generate_specs`, writer.py writes the result.
"""

from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from naftiko_gen.cache import recording
from naftiko_gen.diagnostics import Pos, Report
from naftiko_gen.naming import package_name

if TYPE_CHECKING:  # imported in analyse(): a fully cached build never needs them (issue #10)
    from naftiko_gen.plan.ir import Plan

SPEC_SUFFIXES = (".yaml", ".yml")
_TOP_CAPABILITY = re.compile(r"^capability\s*:", re.M)
_TOP_CONSUMES = re.compile(r"^consumes\s*:", re.M)


@dataclass
class Generated:
    files: dict[str, str] = field(default_factory=dict)
    report: Report = field(default_factory=Report)
    packages: list[str] = field(default_factory=list)
    specs: dict[str, str] = field(default_factory=dict)  # package → spec display path


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
    from naftiko_gen.plan.planner import make_plan
    from naftiko_gen.reader.capability import read_capability

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


@dataclass
class Job:
    """One spec to build: its file, the package it becomes, the path diagnostics show."""

    spec: Path
    package: str
    display: str


def collect(paths: list[Path], report: Report) -> list[Job]:
    """The specs to build (find_specs), one per package; two specs of one package are an error."""
    specs = find_specs(paths, report)
    if not specs and not report.has_errors():
        report.error(
            "naftiko-no-specs",
            "no *.yaml or *.yml capability specs found",
            Pos(", ".join(display_path(p) for p in paths)),
        )
    jobs: list[Job] = []
    owners: dict[str, str] = {}
    for spec in specs:
        package = package_name(spec.stem)
        display = display_path(spec)
        if package in owners:
            report.error(
                "naftiko-package-clash",
                f"this spec and {owners[package]} both generate package '{package}'; rename one file",
                Pos(display),
            )
            continue
        owners[package] = display
        jobs.append(Job(spec, package, display))
    return jobs


@dataclass
class SpecOutput:
    """What the pipeline made of one spec. `files` is None when it has errors."""

    package: str
    spec: str  # the spec's display path, as Plan.spec
    report: Report
    files: dict[str, str] | None = None
    consumed: set[str] = field(default_factory=set)  # the consumes namespaces it declares
    shared: list[str] = field(default_factory=list)  # files that are runtime modules
    reads: set[str] = field(default_factory=set)  # paths its analysis read (record=True)


def generate_specs(
    jobs: list[Job],
    out_dir: Path,
    openapi: dict[str, Path] | None = None,
    record: bool = False,
) -> list[SpecOutput]:
    """read → check → plan each spec, render the clean ones, format all their modules in one
    formatter run. Pure: reads the specs (and what they import), writes nothing. `record`: also
    list in `reads` every file each analysis opened (for the build cache)."""
    if not jobs:
        return []
    # Imported here: a build whose specs all come from the cache never renders.
    from naftiko_gen.formatting import format_sources
    from naftiko_gen.render import Rendered, render_plan

    outputs: list[SpecOutput] = []
    rendered: list[tuple[SpecOutput, Rendered]] = []
    for job in jobs:
        out = SpecOutput(job.package, job.display, Report())
        if record:
            with recording() as reads:
                plan = analyse(job.spec, out_dir, out.report, openapi, out.consumed)
            out.reads = reads
        else:
            plan = analyse(job.spec, out_dir, out.report, openapi, out.consumed)
        outputs.append(out)
        if plan is not None and plan.layout is not None:
            rendered.append((out, render_plan(plan)))
            out.shared = [f"{plan.package}/{name}" for name in plan.layout.runtime]
    sources = [text for _, r in rendered for text in r.modules.values()]
    formatted = iter(format_sources(sources))
    for out, r in rendered:
        files = dict(r.files)
        for path in r.modules:
            files[path] = r.head + next(formatted)
        out.files = dict(sorted(files.items()))
    return outputs


def assemble(
    report: Report, outputs: list[SpecOutput], openapi: dict[str, Path] | None
) -> Generated:
    """The result of a build from its specs' outputs (in spec order); no files when any failed."""
    result = Generated(report=report)
    consumed: set[str] = set()
    for out in outputs:
        result.report.extend(out.report)
        consumed |= out.consumed
    if openapi:
        _unused_openapi(openapi, consumed, result.report)
    if result.report.has_errors():
        return result
    for out in outputs:
        if out.files is not None:
            result.files.update(out.files)
            result.specs[out.package] = out.spec
    result.packages = sorted(result.specs)
    return result


def generate(paths: list[Path], out_dir: Path, openapi: dict[str, Path] | None = None) -> Generated:
    """The whole pipeline, serially and without a cache: spec files in, files and diagnostics
    out (never written: see writer.py). `openapi`: consumes namespace → the OpenAPI document of
    that upstream (enrichment). build.build is the same with the cache and worker processes."""
    report = Report()
    jobs = collect(paths, report)
    return assemble(report, generate_specs(jobs, out_dir, openapi), openapi)


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
