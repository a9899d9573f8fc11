"""The document: version, info, binds, consumes and exposes of a capability."""

from __future__ import annotations

from pathlib import Path

from naftiko_gen.diagnostics import Report
from naftiko_gen.loader import Node, load_file
from naftiko_gen.model import Capability, Consumes
from naftiko_gen.reader.aggregates import aggregates
from naftiko_gen.reader.binds import bind
from naftiko_gen.reader.common import Reader
from naftiko_gen.reader.consumes import consumes_entry
from naftiko_gen.reader.exposes_control import control
from naftiko_gen.reader.exposes_mcp import mcp
from naftiko_gen.reader.exposes_rest import rest
from naftiko_gen.reader.exposes_skill import skill_adapter
from naftiko_gen.reader.versions import expand_imports, read_version

DEFAULT_MCP_PORT = 9090  # as the README and `serve` say


def capability(r: Reader, root: Node, source: Path, display: str) -> Capability | None:
    if not root.is_map:
        r.error("naftiko-schema-type", "a Naftiko document must be a mapping", root.pos)
        return None
    read_version(r, root)
    r.check(root, "document")
    cap_node = root.get("capability")
    if cap_node is None:
        if root.get("consumes") is not None:
            r.error(
                "naftiko-not-a-capability",
                "this is a shared consumes file (no 'capability'); import it from a capability "
                "with 'consumes: [{import: NS, location: ./file.yaml}]' instead of building it",
                root.pos,
            )
        else:
            r.error(
                "naftiko-schema-required",
                "the document has no 'capability'; add one with 'consumes' and 'exposes'",
                root.pos,
            )
        return None
    cap_node = r.expect_map(cap_node, "'capability'")
    if cap_node is None:
        return None
    cap = Capability(source=source, display=display)
    info = r.expect_map(root.get("info"), "'info'")
    if info is not None:
        cap.label = r.text(info, "label", "'info'")
        cap.description = r.text(info, "description", "'info'")
        tags = info.get("tags")  # its shape is the schema check's to report
        if tags is not None and tags.is_list:
            cap.tags = tuple(
                str(t.value) for t in tags.value if t.is_scalar and t.value is not None
            )
    r.check(cap_node, "capability")
    expand_imports(r, root, "binds", source)
    for section in ("binds", "aggregates", "exposes"):
        expand_imports(r, cap_node, section, source)
    for b in r.expect_list(root, "binds", "the document"):
        found = bind(r, b, source.parent)
        if found:
            cap.binds.append(found)
    for b in r.expect_list(cap_node, "binds", "'capability'"):
        found = bind(r, b, source.parent)
        if found:
            cap.binds.append(found)
    for c in r.expect_list(cap_node, "consumes", "'capability'"):
        cap.consumes.extend(consumes_entry(r, c, source, cap))
    cap.consumes = unique_consumes(r, cap.consumes)
    aggregates(r, cap_node, cap)
    exposes = r.expect_list(cap_node, "exposes", "'capability'")
    if not exposes:
        r.error("naftiko-exposes-required", nothing_exposed(cap), cap_node.pos)
    for e in exposes:
        expose(r, e, cap)
    default_mcp_ports(r, cap)
    return cap


def unique_consumes(r: Reader, consumes: list[Consumes]) -> list[Consumes]:
    """dialect: a consumes namespace declared twice; the first one is kept."""
    first: dict[str, Consumes] = {}
    for c in consumes:
        if c.namespace in first:
            r.warn(
                "naftiko-dialect-consumes-twice",
                f"consumes namespace '{c.namespace}' is declared again; this one is skipped and "
                f"'call: {c.namespace}.…' uses the first (line {first[c.namespace].pos.line})",
                c.positions.get("namespace", c.pos),
            )
            continue
        first[c.namespace] = c
    return list(first.values())


def nothing_exposed(cap: Capability) -> str:
    """The error of a capability without adapters, with the adapter to add (from what it consumes)."""
    ops = [
        (c.namespace, o.name) for c in cap.consumes for res in c.resources for o in res.operations
    ]
    example = ""
    if ops:
        ns, op = ops[0]
        example = (
            f", e.g. '- {{type: mcp, namespace: {ns}-mcp, port: {DEFAULT_MCP_PORT}, tools: "
            f"[{{name: {op}, description: ..., call: {ns}.{op}}}]}}'"
        )
    return (
        "the capability exposes nothing, so there is no server to generate; add a 'rest' or "
        f"'mcp' adapter under 'exposes'{example}"
    )


def default_mcp_ports(r: Reader, cap: Capability) -> None:
    """dialect: an http MCP adapter without a port listens on 9090, or the next port no other
    adapter of the spec names."""
    others = [*cap.rest, *cap.mcp, *getattr(cap, "skills", ()), *getattr(cap, "control", ())]
    taken = {getattr(a, "port", None) for a in others}
    for m in cap.mcp:
        if m.transport != "http" or "port" in m.positions:
            continue
        port = DEFAULT_MCP_PORT
        while port in taken:
            port += 1
        taken.add(port)
        m.port = port
        r.warn(
            "naftiko-dialect-mcp-default-port",
            f"mcp adapter '{m.namespace}' has no port; it listens on {port}",
            m.pos,
        )


def expose(r: Reader, node: Node, cap: Capability) -> None:
    if r.expect_map(node, "an exposes adapter") is None:
        return
    kind = r.text(node, "type", "an exposes adapter", required=True)
    if kind == "rest":
        adapter = rest(r, node)
        if adapter:
            cap.rest.append(adapter)
    elif kind == "mcp":
        m = mcp(r, node)
        if m:
            cap.mcp.append(m)
    elif kind == "skill":
        skills = skill_adapter(r, node)
        if skills:
            cap.skills.append(skills)
    elif kind == "control":
        c = control(r, node)
        if c and cap.control:
            r.error(
                "naftiko-control-unique",
                f"a capability has one control adapter (the first is at line {cap.control[0].pos.line}); "
                "remove this one",
                node.pos,
            )
        elif c:
            cap.control.append(c)
    elif kind is not None:
        r.error(
            "naftiko-schema-enum",
            f"exposes type '{kind}' is unknown; use rest or mcp",
            node.pos_of("type"),
        )


def read_capability(path: Path, display: str, report: Report) -> Capability | None:
    root = load_file(path, display, report)
    if root is None:
        return None
    return capability(Reader(report), root, path, display)
