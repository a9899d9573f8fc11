"""exposes → mcp: resources (dynamic `call`/`steps`, or a static `location` folder) and prompts
(`template` messages or a `location` file). Files are resolved and read by the planner."""

from __future__ import annotations

from naftiko_gen.loader import Node
from naftiko_gen.model import McpAdapter, McpPrompt, McpPromptArgument, McpResource
from naftiko_gen.reader.callables import callable_body
from naftiko_gen.reader.common import Reader

PROMPT_ROLES = ("user", "assistant")


def resources(r: Reader, node: Node, m: McpAdapter) -> None:
    for n in r.expect_list(node, "resources", "an mcp adapter"):
        found = resource(r, n)
        if found is not None:
            m.resources.append(found)


def resource(r: Reader, node: Node) -> McpResource | None:
    w = "an mcp resource"
    if r.expect_map(node, w) is None:
        return None
    r.check(node, "mcp-resource")
    name = r.text(node, "name", w, required=True)
    uri = r.text(node, "uri", w, required=True)
    if name is None or uri is None:
        return None
    res = McpResource(pos=node.pos, name=name, uri=uri)
    res.positions = {k: node.value_pos(k) for k in node.value}
    res.label = r.text(node, "label", w)
    res.description = r.text(node, "description", w)
    res.mime_type = r.text(node, "mimeType", w)
    res.location = r.text(node, "location", w)
    kinds = [k for k in ("call", "steps", "location") if node.get(k) is not None]
    if len(kinds) != 1:
        r.error(
            "naftiko-schema-required",
            f"resource '{name}' needs exactly one of 'call', 'steps' (dynamic) or 'location' "
            f"(static files){'; it has ' + ' and '.join(kinds) if kinds else ''}",
            node.pos,
        )
        return None
    if res.location is None:
        callable_body(r, node, res, f"resource '{name}'")
        if res.unsupported:
            return None
    return res


def prompts(r: Reader, node: Node, m: McpAdapter) -> None:
    for n in r.expect_list(node, "prompts", "an mcp adapter"):
        found = prompt(r, n)
        if found is not None:
            m.prompts.append(found)


def prompt(r: Reader, node: Node) -> McpPrompt | None:
    w = "an mcp prompt"
    if r.expect_map(node, w) is None:
        return None
    r.check(node, "mcp-prompt")
    name = r.text(node, "name", w, required=True)
    if name is None:
        return None
    p = McpPrompt(name, node.pos)
    p.positions = {k: node.value_pos(k) for k in node.value}
    p.label = r.text(node, "label", w)
    p.description = r.text(node, "description", w)
    p.location = r.text(node, "location", w)
    for a in r.expect_list(node, "arguments", w):
        wa = "a prompt argument"
        if r.expect_map(a, wa) is None:
            continue
        r.check(a, "prompt-argument")
        arg_name = r.text(a, "name", wa, required=True)
        if arg_name is None:
            continue
        required = r.boolean(a, "required", wa)
        p.arguments.append(
            McpPromptArgument(
                arg_name,
                a.pos,
                label=r.text(a, "label", wa),
                description=r.text(a, "description", wa),
                required=True if required is None else required,
            )
        )
    for msg in r.expect_list(node, "template", w):
        wm = "a prompt message"
        if r.expect_map(msg, wm) is None:
            return None
        r.check(msg, "prompt-message")
        role = r.text(msg, "role", wm, required=True)
        content = r.text(msg, "content", wm, required=True)
        if role is None or content is None:
            return None
        if role not in PROMPT_ROLES:
            r.error(
                "naftiko-schema-enum",
                f"role '{role}' is unknown; use user or assistant",
                msg.value_pos("role"),
            )
            return None
        p.messages.append((role, content, msg.value_pos("content")))
    if bool(p.messages) == (p.location is not None):
        r.error(
            "naftiko-schema-required",
            f"prompt '{name}' needs exactly one of 'template' (messages) or 'location' (a file)",
            node.pos,
        )
        return None
    return p
