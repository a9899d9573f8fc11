"""The 8 Qovery container operations of the seed spec, cut out of Qovery's public OpenAPI document.

Qovery's document carries no licence statement, so it is not vendored here: the subset is built
at run time from ``../shared/reference/qovery-openapi.yaml`` (next to the repository, as laid for
developers and CI) or from the file named by ``NAFTIKO_QOVERY_OPENAPI``. ``find_document()``
returns None when neither exists, and the callers skip with a message saying so.

The subset keeps those 8 operations and every ``#/components/...`` object they reach by
``$ref`` (transitively), plus ``openapi``, ``info``, ``servers`` and ``security``.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent

OPERATION_IDS = (
    "cloneContainer",
    "getDefaultContainerAdvancedSettings",
    "listContainer",
    "createContainer",
    "getEnvironmentContainerStatus",
    "autoDeployContainerEnvironments",
    "previewContainerEnvironments",
    "getContainerRegistryContainerStatus",
)
HTTP_METHODS = {"get", "put", "post", "delete", "patch", "options", "head", "trace"}


def find_document() -> Path | None:
    candidates = [os.environ.get("NAFTIKO_QOVERY_OPENAPI", "")]
    candidates.append(str(ROOT.parent / "shared" / "reference" / "qovery-openapi.yaml"))
    for name in candidates:
        if name and Path(name).is_file():
            return Path(name)
    return None


def _refs(node: Any) -> set[str]:
    found: set[str] = set()
    stack = [node]
    while stack:
        cur = stack.pop()
        if isinstance(cur, dict):
            ref = cur.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/"):
                found.add(ref)
            stack.extend(cur.values())
        elif isinstance(cur, list):
            stack.extend(cur)
    return found


def _resolve(doc: dict[str, Any], ref: str) -> Any:
    node: Any = doc
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def build_subset(doc: dict[str, Any]) -> dict[str, Any]:
    wanted = set(OPERATION_IDS)
    paths: dict[str, Any] = {}
    for path, item in doc.get("paths", {}).items():
        kept = {
            k: v
            for k, v in item.items()
            if k in HTTP_METHODS and isinstance(v, dict) and v.get("operationId") in wanted
        }
        if kept:
            shared = {k: v for k, v in item.items() if k not in HTTP_METHODS}
            paths[path] = {**shared, **kept}
    found = {
        op["operationId"]
        for item in paths.values()
        for op in item.values()
        if isinstance(op, dict) and "operationId" in op
    }
    missing = wanted - found
    if missing:
        raise ValueError(f"operations not in the document: {sorted(missing)}")

    components: dict[str, dict[str, Any]] = {}
    pending = _refs(paths) | _refs(doc.get("security", []))
    seen: set[str] = set()
    while pending:
        ref = pending.pop()
        if ref in seen:
            continue
        seen.add(ref)
        parts = ref[2:].split("/")
        if parts[0] != "components" or len(parts) != 3:
            continue
        target = _resolve(doc, ref)
        components.setdefault(parts[1], {})[parts[2]] = target
        pending |= _refs(target) - seen
    schemes = doc.get("components", {}).get("securitySchemes")
    if schemes:
        components["securitySchemes"] = schemes
    out: dict[str, Any] = {
        "openapi": doc["openapi"],
        "info": doc["info"],
        "servers": doc.get("servers", []),
        "paths": paths,
        "components": components,
    }
    if "security" in doc:
        out["security"] = doc["security"]
    return out


def load_subset(path: Path) -> dict[str, Any]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with path.open(encoding="utf-8") as f:
        doc = yaml.load(f, Loader=loader)  # noqa: S506 - a safe loader
    return build_subset(doc)


if __name__ == "__main__":
    source = find_document()
    if source is None:
        sys.exit("Qovery OpenAPI document not found (set NAFTIKO_QOVERY_OPENAPI)")
    json.dump(load_subset(source), sys.stdout, indent=1)
