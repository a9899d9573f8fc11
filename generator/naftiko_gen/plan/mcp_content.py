"""MCP resources and prompts of an adapter → ir.Resource / ir.Prompt.

Dynamic resources (`call`/`steps`) are planned like tools: one function over the URI's
`{param}`s (a resource template when there are some). Static resources (`location`) are the
files of a folder of the spec's, copied into the package under resources/<module>/<name>/,
one resource per file (`uri/relative-path`). Prompt `location` files are copied likewise.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING
from urllib.parse import quote

from naftiko_gen.model import Capability, McpAdapter, McpPrompt, McpResource
from naftiko_gen.naming import Names, snake
from naftiko_gen.plan import ir
from naftiko_gen.plan.files import folder_files, locate, media_type, read_text

if TYPE_CHECKING:
    from naftiko_gen.plan.adapters import AdapterPlanner

URI_PARAM = re.compile(r"\{([A-Za-z0-9_]+)\}")
PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z0-9_.-]+)\s*\}\}")


def plan_resources(
    planner: AdapterPlanner,
    cap: Capability,
    adapter: McpAdapter,
    module: str,
    names: Names,
    constants: Names,
    module_names: tuple[str, ...],
) -> list[ir.Resource]:
    report = planner.report
    out: list[ir.Resource] = []
    seen: dict[str, McpResource] = {}
    folders = Names(())
    for res in adapter.resources:
        assert res.name is not None
        uri_pos = res.positions.get("uri", res.pos)
        params = URI_PARAM.findall(res.uri)
        shape = URI_PARAM.sub("\0", res.uri)
        if "{" in shape or "}" in shape or not res.uri.strip():
            report.error(
                "naftiko-mcp-resource-uri",
                f"resource uri '{res.uri}' has a brace that is not a {{name}} placeholder "
                "(letters, digits and '_')",
                uri_pos,
            )
            continue
        if shape in seen:
            report.error(
                "naftiko-mcp-resource-uri",
                f"resource uri '{res.uri}' is also the uri of resource '{seen[shape].name}' "
                f"(line {seen[shape].pos.line}); give each resource its own uri",
                uri_pos,
            )
            continue
        seen[shape] = res
        const = constants.take(snake(res.name).upper().rstrip("_") + "_RESOURCE")
        planned = ir.Resource(
            name=res.name,
            const=const,
            title=res.label,
            description=res.description,
            uri=res.uri,
            mime_type=res.mime_type,
            params=params,
        )
        if res.location is not None:
            if params:
                report.error(
                    "naftiko-mcp-resource-uri",
                    f"static resource '{res.name}' has {{{params[0]}}} in its uri; placeholders "
                    "are for dynamic resources (call or steps)",
                    uri_pos,
                )
                continue
            base = cap.source.parent
            pos = res.positions.get("location", res.pos)
            folder = locate(
                res.location, base, pos, report, True, f"resource '{res.name}' location"
            )
            if folder is None:
                continue
            files = folder_files(folder, base, pos, report, f"resource '{res.name}'")
            if files is None:
                continue
            where = f"resources/{module}/{folders.take(snake(res.name))}"
            planned.files = [
                ir.StaticFile(
                    uri=f"{res.uri.rstrip('/')}/{quote(rel)}",
                    path=f"{where}/{rel}",
                    mime_type=res.mime_type or media_type(rel),
                    text=text,
                )
                for rel, text in files
            ]
            out.append(planned)
            continue
        action: ir.Action | None = None
        with planner.attempt(f"resource '{res.name}'") as tried:
            inputs = [
                ir.Input(p, "string", True, "argument", f"{{{p}}} of the resource uri")
                for p in params
            ]
            action = planner.action(
                res,
                names.take("read_" + snake(res.name)),
                inputs,
                adapter.namespace,
                None,
                f"resource '{res.name}'",
                module_names,
            )
            if action is not None:
                extra = [i.name for i in action.inputs if i.name not in params]
                if extra:
                    report.error(
                        "naftiko-mcp-resource-uri",
                        f"resource '{res.name}' needs '{extra[0]}', which its uri does not "
                        f"give; add {{{extra[0]}}} to the uri or set it with 'with'",
                        uri_pos,
                    )
                    action = None
        if tried.failed or action is None:
            continue
        planned.action = action
        out.append(planned)
    return out


def plan_prompts(
    planner: AdapterPlanner, cap: Capability, adapter: McpAdapter, module: str, constants: Names
) -> list[ir.Prompt]:
    report = planner.report
    out: list[ir.Prompt] = []
    seen: dict[str, McpPrompt] = {}
    files = Names(())
    for p in adapter.prompts:
        if p.name in seen:
            report.error(
                "naftiko-mcp-prompt-name-unique",
                f"prompt name '{p.name}' is used twice (first at line {seen[p.name].pos.line}); "
                "rename one",
                p.pos,
            )
            continue
        seen[p.name] = p
        declared = {a.name for a in p.arguments}
        planned = ir.Prompt(
            name=p.name,
            const=constants.take(snake(p.name).upper().rstrip("_") + "_PROMPT"),
            title=p.label,
            description=p.description,
            arguments=[
                ir.PromptArgument(a.name, a.label, a.description, a.required) for a in p.arguments
            ],
            messages=[(role, content) for role, content, _ in p.messages],
        )
        texts = [(content, pos) for _, content, pos in p.messages]
        if p.location is not None:
            base = cap.source.parent
            pos = p.positions.get("location", p.pos)
            path = locate(p.location, base, pos, report, False, f"prompt '{p.name}' location")
            if path is None:
                continue
            text = read_text(path, p.location, pos, report, f"prompt '{p.name}' location")
            if text is None:
                continue
            stem = files.take(snake(p.name))
            planned.file = ir.StaticFile("", f"prompts/{module}/{stem}{path.suffix}", "", text)
            texts = [(text, pos)]
        for text, pos in texts:
            for name in PLACEHOLDER.findall(text):
                if name not in declared:
                    report.warning(
                        "naftiko-mcp-prompt-argument",
                        f"prompt '{p.name}' uses {{{{{name}}}}}, which is not one of its "
                        "arguments; it is left as written",
                        pos,
                    )
        out.append(planned)
    return out
