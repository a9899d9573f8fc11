"""Skill adapters → ir.SkillServer: the Agent Skills bundle (skills/<name>/SKILL.md with its
tools, plus the files of the skill's `location` folder) and the catalogue served over HTTP."""

from __future__ import annotations

import json
from typing import Any

from naftiko_gen.diagnostics import Report
from naftiko_gen.model import Capability, Skill
from naftiko_gen.naming import snake
from naftiko_gen.plan import ir
from naftiko_gen.plan.adapters import AdapterPlanner, input_schema
from naftiko_gen.plan.files import folder_files, locate
from naftiko_gen.plan.secrets import secret_names
from naftiko_gen.suggest import did_you_mean


def plan_skills(
    planner: AdapterPlanner,
    cap: Capability,
    rest: list[ir.RestServer],
    mcp: list[ir.McpServer],
    report: Report,
) -> list[ir.SkillServer]:
    out: list[ir.SkillServer] = []
    for i, adapter in enumerate(cap.skills):
        module = planner.modules.take(
            "skill_server" if i == 0 else f"skill_server_{snake(adapter.namespace)}"
        )
        skills: list[ir.Skill] = []
        seen: dict[str, Skill] = {}
        for s in adapter.skills:
            if s.name in seen:
                report.error(
                    "naftiko-skill-tool",
                    f"skill name '{s.name}' is used twice (first at line {seen[s.name].pos.line}); "
                    "rename one",
                    s.pos,
                )
                continue
            seen[s.name] = s
            planned = _skill(cap, s, rest, mcp, report)
            if planned is not None:
                skills.append(planned)
        auth = planner.inbound_auth(adapter.auth)
        out.append(
            ir.SkillServer(
                module=module,
                namespace=adapter.namespace,
                host=planner.host(adapter.address, adapter.positions.get("address", adapter.pos)),
                port=adapter.port or 0,
                description=adapter.description,
                skills=skills,
                auth=auth,
                secrets=secret_names(auth, []),
                catalogue={s.name: catalogue_entry(s) for s in skills},
            )
        )
    return out


def catalogue_entry(skill: ir.Skill) -> dict[str, Any]:
    """GET /skills/{name}: the skill's front matter and tools, as the reference engine answers."""
    entry: dict[str, Any] = {"name": skill.name, "description": skill.description}
    entry.update(skill.front_matter)
    tools: list[dict[str, Any]] = []
    for t in skill.tools:
        tool: dict[str, Any] = {"name": t.name, "description": t.description}
        if t.instruction is not None:
            tool |= {"type": "instruction", "instruction": t.instruction}
        else:
            ref = {"targetNamespace": t.source, "action": t.action, "mode": t.mode}
            tool |= {"type": "derived", "invocationRef": ref, "inputSchema": t.schema}
        tools.append(tool)
    entry["tools"] = tools
    return entry


def _skill(
    cap: Capability,
    s: Skill,
    rest: list[ir.RestServer],
    mcp: list[ir.McpServer],
    report: Report,
) -> ir.Skill | None:
    files: dict[str, str] = {}
    if s.location is not None:
        base = cap.source.parent
        pos = s.positions.get("location", s.pos)
        # As the engine does, an absolute file:///folder may be anywhere (it is copied into the
        # package now); a missing folder skips this skill only, with a warning.
        folder = locate(
            s.location, base, pos, report, True, f"skill '{s.name}' location",
            absolute_ok=True, missing_rule="naftiko-skill-location",
        )  # fmt: skip
        root = folder if folder is not None and base.resolve() not in folder.parents else base
        found = folder_files(folder, root, pos, report, f"skill '{s.name}'") if folder else None
        if found is None:
            return None
        files = dict(found)
    siblings: dict[str, Any] = {a.namespace: a for a in rest} | {a.namespace: a for a in mcp}
    declared = {a.namespace for a in cap.rest} | {a.namespace for a in cap.mcp}
    tools: list[ir.SkillTool] = []
    failed = False
    for t in s.tools:
        tool = ir.SkillTool(t.name, t.description)
        if t.instruction is not None:
            if s.location is None:
                report.error(
                    "naftiko-skill-tool",
                    f"skill tool '{t.name}' has an 'instruction' but skill '{s.name}' has no "
                    "'location' folder to find it in; add 'location: file:///./folder'",
                    t.positions.get("instruction", t.pos),
                )
                failed = True
                continue
            rel = t.instruction.removeprefix("./")
            if rel not in files:
                report.error(
                    "naftiko-skill-tool",
                    f"instruction '{t.instruction}' of skill tool '{t.name}' is not a file of "
                    f"'{s.location}'{did_you_mean(rel, files)}",
                    t.positions.get("instruction", t.pos),
                )
                failed = True
                continue
            tool.instruction = rel
            tools.append(tool)
            continue
        assert t.source is not None and t.action is not None
        sibling = siblings.get(t.source)
        if sibling is None:
            if t.source not in declared:
                known = sorted(declared)
                report.error(
                    "naftiko-skill-tool",
                    f"skill tool '{t.name}' comes from '{t.source}', which is no rest or mcp "
                    f"adapter of this capability{did_you_mean(t.source, known)}",
                    t.positions.get("from", t.pos),
                )
            failed = True
            continue
        tool.source, tool.action = t.source, t.action
        if isinstance(sibling, ir.McpServer):
            tool.mode = "mcp"
            match = next((x for x in sibling.tools if x.name == t.action), None)
            if match is not None:
                tool.title, tool.schema = match.title, match.schema
                tool.description = tool.description or match.description
            candidates = [x.name for x in sibling.tools]
            model = next(m for m in cap.mcp if m.namespace == t.source)
            known = [n for n in (x.name for x in model.tools) if n]
        else:
            tool.mode = "rest"
            route = next((x for x in sibling.routes if x.name == t.action), None)
            if route is not None:
                tool.title, tool.method, tool.path = route.label, route.method, route.spec_path
                tool.schema = input_schema(route.action.inputs)
                tool.description = tool.description or route.description
            match = route
            candidates = [n for n in (x.name for x in sibling.routes) if n]
            model_rest = next(m for m in cap.rest if m.namespace == t.source)
            known = [n for r in model_rest.resources for n in (o.name for o in r.operations) if n]
        if match is None:
            if t.action not in known:  # else the tool or route was skipped, its errors said why
                report.error(
                    "naftiko-skill-tool",
                    f"skill tool '{t.name}' comes from '{t.source}.{t.action}', but '{t.source}' "
                    f"has no {'tool' if tool.mode == 'mcp' else 'operation'} named "
                    f"'{t.action}'{did_you_mean(t.action, candidates)}",
                    t.positions.get("from", t.pos),
                )
            failed = True
            continue
        tools.append(tool)
    if failed:
        return None
    description = s.description or ""
    skill = ir.Skill(s.name, description, dict(s.front_matter), tools, {})
    skill.files = {"SKILL.md": skill_md(skill, files)} | {
        k: v for k, v in files.items() if k != "SKILL.md"
    }
    return skill


def _yaml(value: Any) -> str:
    """A YAML scalar for front matter: JSON strings are valid YAML double-quoted scalars."""
    return json.dumps(value, ensure_ascii=False)


def skill_md(skill: ir.Skill, files: dict[str, str]) -> str:
    """SKILL.md: Agent Skills front matter (name, description, the optional keys), then the
    skill's tools: where each comes from, its description and its input schema, or the
    content of its instruction file."""
    lines = ["---", f"name: {skill.name}", f"description: {_yaml(skill.description)}"]
    for key, value in skill.front_matter.items():
        if isinstance(value, dict):
            lines.append(f"{key}:")
            lines.extend(f"  {_yaml(k)}: {_yaml(v)}" for k, v in value.items())
        else:
            lines.append(f"{key}: {_yaml(value)}")
    lines += ["---", "", f"# {skill.name}", "", skill.description, ""]
    if skill.tools:
        lines += ["## Tools", ""]
    for t in skill.tools:
        lines += [f"### {t.name}", ""]
        if t.description:
            lines += [t.description, ""]
        if t.instruction is not None:
            lines += [f"Instructions (`{t.instruction}`):", "", files[t.instruction].rstrip(), ""]
            continue
        if t.mode == "mcp":
            lines.append(f"- MCP tool `{t.action}` of the `{t.source}` server")
        else:
            lines.append(f"- REST operation `{t.action}` of `{t.source}`: `{t.method} {t.path}`")
        if t.title:
            lines.append(f"- Title: {t.title}")
        lines += ["- Input schema:", "", "```json", json.dumps(t.schema, indent=2), "```", ""]
    return "\n".join(lines).rstrip() + "\n"
