"""exposes → mcp: adapters and tools."""

from __future__ import annotations

import re

from naftiko_gen.degrade import attempt
from naftiko_gen.loader import Node
from naftiko_gen.model import McpAdapter, McpHints, McpTool
from naftiko_gen.reader.auth import auth
from naftiko_gen.reader.callables import callable_body, exposed_params
from naftiko_gen.reader.common import Reader
from naftiko_gen.reader.mcp_content import prompts, resources


def mcp(r: Reader, node: Node) -> McpAdapter | None:
    w = "an mcp adapter"
    r.check(node, "mcp")
    ns = r.text(node, "namespace", w, required=True)
    if ns is None:
        return None
    m = McpAdapter(ns, node.pos, address=r.text(node, "address", w))
    m.positions = {k: node.value_pos(k) for k in node.value}
    m.transport = r.text(node, "transport", w) or "http"
    if m.transport not in ("http", "stdio"):
        r.error(
            "naftiko-schema-enum",
            f"transport '{m.transport}' is unknown; use http or stdio",
            node.pos_of("transport"),
        )
        return None
    m.port = r.integer(node, "port", w)
    # an http adapter without a port gets a default one once every adapter is read (capability.py)
    if m.transport == "stdio" and node.get("port") is not None:
        r.warn(
            "naftiko-mcp-stdio-port",
            "a stdio mcp adapter takes no port; it is ignored",
            node.pos_of("port"),
        )
        m.port = None
    m.description = r.text(node, "description", w)
    m.auth = auth(r, r.auth_node(node), consumes_side=False)
    resources(r, node, m)
    prompts(r, node, m)
    tools = r.expect_list(node, "tools", w)
    if not tools:
        r.error("naftiko-schema-required", f"mcp adapter '{ns}' has no tools; add some", node.pos)
    for t in tools:
        tool_name = t.plain().get("name") if t.is_map else None
        with attempt(r.report, f"tool '{tool_name or '?'}'") as tried:
            tool = mcp_tool(r, t)
        if tool and not tried.failed:
            m.tools.append(tool)
    return m


def mcp_tool(r: Reader, node: Node) -> McpTool | None:
    w = "an mcp tool"
    if r.expect_map(node, w) is None:
        return None
    r.check(node, "mcp-tool")
    ref_text = r.text(node, "ref", w) if node.get("name") is None else None
    if ref_text is not None and "." in ref_text:
        # A tool with only `ref` is named after the aggregate function (the engine's
        # AggregateRefResolver): the part after the namespace.
        name: str | None = ref_text.partition(".")[2]
    else:
        name = r.text(node, "name", w, required=True)
    if not name:
        return None
    tool = McpTool(pos=node.pos, name=name)
    if re.fullmatch(r"[A-Za-z0-9._-]+", name) and not re.fullmatch(r"[A-Za-z0-9-]+", name):
        r.warn(
            "naftiko-schema-deviation",
            f"tool name '{name}' has '.' or '_', which the alpha2 schema does not allow "
            "(MCP does); it is kept as written",
            node.value_pos("name"),
        )
    tool.label = r.text(node, "label", w)
    tool.description = r.text(node, "description", w)
    tool.params = exposed_params(r, node, w, rest=False)
    hints = r.expect_map(node.get("hints"), "'hints'")
    if hints is not None:
        r.check(hints, "hints")
        tool.hints = McpHints(
            read_only=r.boolean(hints, "readOnly", "'hints'"),
            destructive=r.boolean(hints, "destructive", "'hints'"),
            idempotent=r.boolean(hints, "idempotent", "'hints'"),
            open_world=r.boolean(hints, "openWorld", "'hints'"),
        )
    callable_body(r, node, tool, w)
    return tool
