"""The one pure function: spec files in, {relative path: text} and diagnostics out."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from generator.cache import CachedSpec, SpecCache
from generator.diagnostics import Pos, Report
from generator.naming import package_name

if TYPE_CHECKING:  # imported in analyse(): a fully cached build never needs them (issue #10)
    from generator.plan import Plan

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
        rel = os.path.relpath(path.resolve(), Path.cwd().resolve())
    except ValueError:
        return path.as_posix()
    return Path(rel).as_posix() if not rel.startswith("..") else path.as_posix()


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
    from generator.checks import run_checks
    from generator.plan import make_plan
    from generator.reader import read_capability

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

    from generator.plan.enrich import DocumentError, load_document

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


def generate(paths: list[Path], out_dir: Path, openapi: dict[str, Path] | None = None) -> Generated:
    """`openapi`: consumes namespace → OpenAPI document of that upstream (enrichment)."""
    result = Generated()
    consumed: set[str] = set()
    specs = find_specs(paths, result.report)
    if not specs and not result.report.has_errors():
        result.report.error(
            "naftiko-no-specs",
            "no *.yaml or *.yml capability specs found",
            Pos(", ".join(display_path(p) for p in paths)),
        )
    owners: dict[str, str] = {}
    plans: list[Plan] = []
    cached: dict[str, CachedSpec] = {}  # issue #10: specs whose inputs did not change
    spec_cache = SpecCache(out_dir)
    for spec in specs:
        package = package_name(spec.stem)
        if package in owners:
            result.report.error(
                "naftiko-package-clash",
                f"this spec and {owners[package]} both generate package '{package}'; rename one file",
                Pos(display_path(spec)),
            )
            continue
        owners[package] = display_path(spec)
        # Documents named on the command line are not part of the cache key: no cache then.
        hit = None if openapi else spec_cache.lookup(spec, owners[package], package)
        if hit is not None:  # same files and diagnostics as last time, without the work
            result.report.extend(hit.report)
            cached[package] = hit
            continue
        report = Report()
        with spec_cache.analysing(spec, package, report):
            plan = analyse(spec, out_dir, report, openapi, consumed)
        result.report.extend(report)
        if plan is not None:
            plans.append(plan)
    if openapi:
        _unused_openapi(openapi, consumed, result.report)
    if result.report.has_errors():
        return result
    for plan, files in zip(plans, _render_all(plans), strict=True):
        spec_cache.save(plan.package, files, plan.spec)
        result.files.update(files)
        result.specs[plan.package] = plan.spec
    for package, hit in cached.items():
        result.files.update(hit.files)
        result.specs[package] = hit.spec
    result.packages = sorted(result.specs)
    return result


def _render_all(plans: list[Plan]) -> list[dict[str, str]]:
    if not plans:
        return []  # everything came from the cache: black and Jinja are not even imported
    from generator.render import format_ahead, render_plan

    format_ahead(plans)
    return [render_plan(plan) for plan in plans]


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
