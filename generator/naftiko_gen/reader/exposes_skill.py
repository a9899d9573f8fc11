"""exposes → skill: the Agent Skills catalogue (skills whose tools come `from` a sibling rest or
mcp adapter, or from an `instruction` file in the skill's `location` folder)."""

from __future__ import annotations

from typing import Any

from naftiko_gen.loader import Node
from naftiko_gen.model import Skill, SkillAdapter, SkillTool
from naftiko_gen.reader.auth import auth
from naftiko_gen.reader.common import Reader

# Agent Skills front matter keys a skill may carry besides name and description.
FRONT_MATTER = (
    "license", "compatibility", "allowed-tools", "argument-hint", "user-invocable",
    "disable-model-invocation",
)  # fmt: skip


def skill_adapter(r: Reader, node: Node) -> SkillAdapter | None:
    w = "a skill adapter"
    r.check(node, "skill-adapter")
    ns = r.text(node, "namespace", w, required=True)
    if ns is None:
        return None
    a = SkillAdapter(ns, node.pos, address=r.text(node, "address", w))
    a.positions = {k: node.value_pos(k) for k in node.value}
    a.port = r.integer(node, "port", w)
    if a.port is None and node.get("port") is None:
        r.error("naftiko-schema-required", "a skill adapter needs a 'port'; add one", node.pos)
        return None
    a.description = r.text(node, "description", w)
    a.auth = auth(r, r.auth_node(node), consumes_side=False)
    skills = r.expect_list(node, "skills", w)
    if not skills:
        r.error(
            "naftiko-schema-required", f"skill adapter '{ns}' has no skills; add some", node.pos
        )
    for s in skills:
        found = skill(r, s)
        if found is not None:
            a.skills.append(found)
    return a


def skill(r: Reader, node: Node) -> Skill | None:
    w = "a skill"
    if r.expect_map(node, w) is None:
        return None
    r.check(node, "skill")
    name = r.text(node, "name", w, required=True)
    if name is None:
        return None
    s = Skill(name, node.pos, description=r.text(node, "description", w, required=True))
    s.positions = {k: node.value_pos(k) for k in node.value}
    s.location = r.text(node, "location", w)
    for key in FRONT_MATTER:
        value: Any
        if key in ("user-invocable", "disable-model-invocation"):
            value = r.boolean(node, key, w)
        else:
            value = r.text(node, key, w)
        if value is not None:
            s.front_matter[key] = value
    meta = r.expect_map(node.get("metadata"), "'metadata' of a skill")
    if meta is not None:
        s.front_matter["metadata"] = {
            k: str(v.value) for k, v in meta.value.items() if v.is_scalar and v.value is not None
        }
    for t in r.expect_list(node, "tools", w):
        tool = skill_tool(r, t)
        if tool is not None:
            s.tools.append(tool)
    return s


def skill_tool(r: Reader, node: Node) -> SkillTool | None:
    w = "a skill tool"
    if r.expect_map(node, w) is None:
        return None
    r.check(node, "skill-tool")
    name = r.text(node, "name", w, required=True)
    if name is None:
        return None
    t = SkillTool(name, node.pos, description=r.text(node, "description", w))
    t.positions = {k: node.value_pos(k) for k in node.value}
    t.instruction = r.text(node, "instruction", w)
    source = r.expect_map(node.get("from"), "'from' of a skill tool")
    if source is not None:
        r.check(source, "skill-from")
        t.source = r.text(source, "sourceNamespace", "'from' of a skill tool", required=True)
        t.action = r.text(source, "action", "'from' of a skill tool", required=True)
        if t.source is None or t.action is None:
            return None
    if (source is None) == (t.instruction is None):
        r.error(
            "naftiko-skill-tool",
            f"skill tool '{name}' needs exactly one of 'from' (a sibling adapter's operation "
            "or tool) or 'instruction' (a file in the skill's location)",
            node.pos,
        )
        return None
    return t
