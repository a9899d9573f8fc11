"""The composed package of a family (`build --compose NAME`, `serve DIR`): a small generated
package that imports the member packages written beside it and serves them as one.

What it serves is decided by plan/family.py; this module analyses the members, renders the
family's three modules (family_*.py.j2), copies the runtime they need and writes its
requirements.txt and mcp.json.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from naftiko_gen.codegen import Generated, analyse, collect
from naftiko_gen.diagnostics import Report
from naftiko_gen.plan import ir
from naftiko_gen.plan.family import Family, Selection, plan_family
from naftiko_gen.plan.layout import (
    REQUIREMENTS,
    claude_entry,
    vscode_http_entry,
    vscode_stdio_entry,
)

# The runtime a family package runs on (members bring their own): its modules' own imports
# are followed (resources.runtime_closure), so a module split in two needs no change here.
RUNTIME_ROOTS = (
    "_config.py",
    "_family.py",
    "_mcp_http.py",
    "_mcp_stdio.py",
    "_rest.py",
    "_serve.py",
)
_REGEX = re.compile(r"\{([^}:]+):[^}]*\}")  # aiohttp's {name:regex}: its canonical is {name}


def member_plans(
    paths: list[Path], out_dir: Path, openapi: dict[str, Path] | None, report: Report
) -> list[ir.Plan]:
    """The plans of the specs of `paths` (those that plan without errors), in package order."""
    plans: list[ir.Plan] = []
    for job in collect(paths, report):
        plan = analyse(job.spec, out_dir, Report(), openapi)
        if plan is not None:
            plans.append(plan)
    return sorted(plans, key=lambda p: p.package)


def compose(
    name: str, source: str, plans: list[ir.Plan], selection: Selection, report: Report
) -> tuple[Family, dict[str, str]]:
    """The family of `plans` and its package's files (relative to the output folder); no
    files when `report` gets an error. `source`: what it was made from, for its headers."""
    from naftiko_gen.formatting import format_sources
    from naftiko_gen.render import environment, header
    from naftiko_gen.resources import runtime_closure, runtime_source

    family = plan_family(name, plans, selection, report)
    for member in family.rest:
        member.hidden = [(m, _REGEX.sub(r"{\1}", p)) for m, p in member.hidden]
    if report.has_errors():
        return family, {}
    by_package = {p.package: p for p in plans}
    head = header(source) + "\n"
    env = environment()
    context: dict[str, Any] = {"family": family, "header": "", "source": source}
    rest = _first(by_package, [(m.capability, m.module) for m in family.rest], "rest")
    mcp = _first(by_package, [(m.capability, m.module) for m in family.mcp], "mcp")
    # Callers must authenticate to the family's REST server only when every member asks them to.
    authenticated = bool(family.rest) and all(r.auth is not None for p in plans for r in p.rest)
    rest_context = {
        **_imports([(m.capability, m.module) for m in family.rest]),
        "host": rest.host if rest else "127.0.0.1",
        "port": rest.port if rest else 8080,
        "authenticated": authenticated,
    }
    mcp_context = {
        **_imports([(m.capability, m.module) for m in family.mcp]),
        "host": mcp.host if mcp else "127.0.0.1",
        "port": (mcp.port if mcp else None) or 9090,
    }
    modules = {
        "__init__.py": env.get_template("family_init.py.j2").render(**context),
        "rest_server.py": env.get_template("family_rest.py.j2").render(**context, **rest_context),
        "mcp_server.py": env.get_template("family_mcp.py.j2").render(**context, **mcp_context),
    }
    formatted = format_sources([text.lstrip("\n") for text in modules.values()])
    files = {f"{name}/{path}": head + text for path, text in zip(modules, formatted, strict=True)}
    files.update({f"{name}/{m}": head + runtime_source(m) for m in runtime_closure(RUNTIME_ROOTS)})
    files[f"{name}/requirements.txt"] = (
        head
        + "\n".join(["# pip install -r requirements.txt (and each member's)", *REQUIREMENTS])
        + "\n"
    )
    files[f"{name}/mcp.json"] = json.dumps(mcp_clients(family, plans, mcp), indent=2) + "\n"
    return family, dict(sorted(files.items()))


def _first(
    plans: dict[str, ir.Plan], members: list[tuple[str, str]], kind: str
) -> ir.RestServer | ir.McpServer | None:
    """The first member server: the family listens where it would (its host and port)."""
    for package, module in members:
        servers: list[Any] = plans[package].rest if kind == "rest" else plans[package].mcp
        for server in servers:
            if server.module == module:
                found: ir.RestServer | ir.McpServer = server
                return found
    return None


def _imports(members: list[tuple[str, str]]) -> dict[str, Any]:
    """The import lines (isort's order: aiohttp among the member packages) and each member
    module's alias."""
    aliases = {key: f"{key[0]}_{key[1]}" for key in members}
    lines = {"aiohttp": "from aiohttp import web"}
    for (package, module), alias in aliases.items():
        lines[f"{package}.{module}"] = f"from {package} import {module} as {alias}"
    return {"imports": [lines[k] for k in sorted(lines)], "aliases": aliases}


def mcp_clients(family: Family, plans: list[ir.Plan], mcp: Any) -> dict[str, Any]:
    """MCP client configuration for the family: one entry, whatever the number of members."""
    variables = sorted(
        {
            p.secret_sources[n].key
            for p in plans
            if any(m.capability == p.package for m in family.mcp)
            for n in p.upstream_secrets
            if n in p.secret_sources and p.secret_sources[n].file is None
        }
    )
    args = ["-m", f"{family.name}.mcp_server", "--stdio"]
    port = (mcp.port if mcp else None) or 9090
    host = mcp.host if mcp else "127.0.0.1"
    return {
        "comment": (
            f"MCP client configuration for the family {family.name} ({len(family.members)} "
            "capabilities, one entry). 'claudeDesktop' goes into claude_desktop_config.json "
            "(replace the paths: a Python with aiohttp, and the folder that holds this package "
            "and its members; replace each <VARIABLE>); 'vscode' into .vscode/mcp.json (the http "
            f"entry needs its server running: python -m {family.name}.mcp_server)."
        ),
        "claudeDesktop": {"mcpServers": {family.name: claude_entry(args, variables)}},
        "vscode": {
            "servers": {
                family.name: vscode_http_entry(host, port),
                f"{family.name}-stdio": vscode_stdio_entry(args, variables),
            }
        },
    }


def add_family(
    result: Generated,
    paths: list[Path],
    out_dir: Path,
    openapi: dict[str, Path] | None,
    name: str,
    selection: Selection,
) -> None:
    """`build --compose NAME`: the family package joins the build's files (diagnostics in its
    report); the manifest records the folders it was made from as its source."""
    from naftiko_gen.codegen import display_path

    plans = member_plans(paths, out_dir, openapi, result.report)
    source = " ".join(display_path(p) for p in paths)
    _, files = compose(name, source, plans, selection, result.report)
    if files:
        result.files.update(files)
        result.specs[name] = paths[0].as_posix()
        result.packages = sorted(result.specs)
