"""Every published version of the format, read into the alpha2 model the generator has.

    naftiko: 1.0.0-alpha1   alpha2 minus a few keys; `items` of an array output was a list
    naftiko: 1.0.0-alpha2   the model
    naftiko: 1.0.0-alpha3   alpha2 plus aggregates/ref/semantics, control, oauth2 (already read)
    ikanos: 1.0.0-beta1..5  the engine's renamed format (see `ikanos`)

The document tree is rewritten in place, before the section readers see it, into the alpha2
shape; every rewrite is reported once per kind, as a note at its first position with its rule id
(`naftiko-version-*`), so `validate --notes` says what was read and what was adapted. A beta
feature with no equivalent (a `tunnel`) is an error where it stands; the part holding it is
skipped (see consumes.py), the rest is kept.
"""

from __future__ import annotations

import re
from pathlib import Path

from naftiko_gen.degrade import attempt
from naftiko_gen.diagnostics import Pos
from naftiko_gen.loader import Node, load_import
from naftiko_gen.reader.common import Reader

ALPHA = ("1.0.0-alpha1", "1.0.0-alpha2", "1.0.0-alpha3")
# The notes saying which version a document was read as: `validate` always prints them.
VERSION_READ = frozenset(
    ("naftiko-version-alpha1", "naftiko-version-alpha3", "naftiko-version-ikanos")
)
BETA = tuple(f"1.0.0-beta{i}" for i in range(1, 6))

# beta: collections keyed by name (alpha2: lists of objects with `name`).
KEYED = (
    "resources", "operations", "inputParameters", "tools", "prompts", "arguments", "skills",
    "steps", "outputParameters", "flows",
)  # fmt: skip
# Values that are data, never spec structure: their keys are not renamed.
OPAQUE = ("with", "body", "data", "metadata", "properties", "keys", "value", "template", "const")
# beta keys with no effect in the generated servers: read, then dropped with one note.
IGNORED = {
    "tags": "discovery tags",
    "outputMediaType": "a contract-level media type (the upstream Content-Type is passed on)",
    "responses": "a REST response contract (openapi.json lists the generated responses)",
    "responseBinary": "a REST binary response contract",
    "created": "a date",
    "modified": "a date",
    "stakeholders": "stakeholders",
    "version": "the capability's own version",
}
BINARY_SIZE = re.compile(r"^\s*(\d+)\s*(B|KiB|MiB|GiB|KB|MB|GB)?\s*$")
UNITS = {
    None: 1, "B": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30, "KB": 1000, "MB": 10**6,
    "GB": 10**9,
}  # fmt: skip


class Adapt:
    """One reading of a document: its version and the adaptations seen (reported once each)."""

    def __init__(self, r: Reader, version: str) -> None:
        self.r = r
        self.version = version
        self.seen: dict[str, tuple[Pos, int, str]] = {}

    def saw(self, rule: str, pos: Pos, message: str) -> None:
        first = self.seen.get(rule)
        self.seen[rule] = (first[0], first[1] + 1, first[2]) if first else (pos, 1, message)

    def report(self) -> None:
        for rule, (pos, count, message) in self.seen.items():
            more = f" ({count} places; the first is here)" if count > 1 else ""
            self.r.report.note(rule, message + more, pos)


def read_version(r: Reader, root: Node) -> str | None:
    """The version a document declares, its tree rewritten to the alpha2 shape (notes say how);
    None (with an error) when it declares none the generator reads."""
    ikanos = root.get("ikanos")
    naftiko = root.get("naftiko")
    if ikanos is None:
        r.version(root)  # alpha: its own checks and messages
        if naftiko is None or str(naftiko.value) not in ALPHA:
            return None
        version = str(naftiko.value)
        adapt = Adapt(r, version)
        if version == "1.0.0-alpha1":
            r.report.note(
                "naftiko-version-alpha1",
                "1.0.0-alpha1 is read as alpha2 (alpha2 only adds 'outputSchema', tool 'hints' "
                "and output 'value'; an alpha1 'items' list is read as its first shape)",
                naftiko.pos,
            )
            alpha1(adapt, root)
        elif version == "1.0.0-alpha3":
            r.report.note(
                "naftiko-version-alpha3",
                "1.0.0-alpha3 is read as alpha2 with its additions (aggregates, 'ref', "
                "'semantics', the control adapter, oauth2 resource servers, mcp "
                "authentication); a 'script' step has no equivalent and its tool is skipped",
                naftiko.pos,
            )
        adapt.report()
        return version
    version = str(ikanos.value)
    if version not in BETA:
        r.error(
            "naftiko-version",
            f"unsupported ikanos version '{version}'; naftiko-gen reads ikanos 1.0.0-beta1 to "
            "1.0.0-beta5 and naftiko 1.0.0-alpha1 to 1.0.0-alpha3",
            ikanos.pos,
        )
        return None
    # the section readers check `naftiko`: the document now says what it is read as
    del root.value["ikanos"]
    root.value = {"naftiko": Node("1.0.0-alpha2", ikanos.pos), **root.value}
    root.key_pos["naftiko"] = root.key_pos.get("ikanos", ikanos.pos)
    adapt = Adapt(r, version)
    beta(adapt, root)
    adapted = ", ".join(rule.removeprefix("naftiko-version-") for rule in adapt.seen) or "nothing"
    r.report.note(
        "naftiko-version-ikanos",
        f"ikanos {version} is read into the naftiko alpha2 model; adapted: {adapted} "
        "(--notes lists where)",
        ikanos.pos,
    )
    adapt.report()
    return version


# -- alpha1 ----------------------------------------------------------------------------------


def alpha1(adapt: Adapt, node: Node) -> None:
    """alpha1: `items` of an array output was a list of shapes (MappedItemArray); alpha2 has
    one shape. One meaning: the list's first shape (a second one is a warning)."""
    if node.is_list:
        for item in node.value:
            alpha1(adapt, item)
        return
    if not node.is_map:
        return
    items = node.get("items")
    if items is not None and items.is_list and items.value and all(i.is_map for i in items.value):
        adapt.saw(
            "naftiko-version-alpha1",
            items.pos,
            "alpha1 'items' is a list of shapes (MappedItemArray); it is read as its first shape "
            "(alpha2: 'items' is one shape)",
        )
        node.value["items"] = items.value[0]
        for extra in items.value[1:]:
            adapt.r.warn(
                "naftiko-version-alpha1-items",
                "alpha1 'items' lists more than one shape; alpha2 has one, so this one is "
                "ignored (merge it into the first)",
                extra.pos,
            )
    for key, child in node.value.items():
        if key not in OPAQUE or key == "properties":
            alpha1(adapt, child)


# -- beta (ikanos) ---------------------------------------------------------------------------


def beta(adapt: Adapt, node: Node, parent_key: str = "") -> None:
    """Rewrite one beta node (and what it holds) into the alpha2 shape."""
    if node.is_list:
        for item in node.value:
            beta(adapt, item, parent_key)
        return
    if not node.is_map:
        return
    for key in list(node.value):
        child = node.value[key]
        pos = node.pos_of(key)
        if (
            key in KEYED
            and child.is_map
            and all(v.is_map or v.value is None for v in child.value.values())
        ):
            keyed(adapt, node, key, child)
        elif key == "display":
            rename(node, "display", "label")
            adapt.saw(
                "naftiko-version-display",
                pos,
                "beta 'display' is read as 'label' (its alpha2 name)",
            )
        elif key == "from" and node.get("import") is not None:
            rename(node, "from", "location")
            adapt.saw(
                "naftiko-version-import-entry",
                pos,
                "beta ImportEntry '{import, from, as}' is read as alpha2 '{import, location, as}'",
            )
        elif key == "target" and node.get("value") is not None and node.get("targetName") is None:
            rename(node, "target", "targetName")
            adapt.saw(
                "naftiko-version-mapping-target",
                pos,
                "beta step mapping 'target' is read as 'targetName' (its alpha2 name)",
            )
        elif key in IGNORED and not (key == "version" and parent_key != "info"):
            del node.value[key]
            adapt.saw(
                "naftiko-version-ignored",
                pos,
                f"beta '{key}' ({IGNORED[key]}) has no effect in the generated servers; it is ignored",
            )
        elif key == "maxBinarySize":
            del node.value[key]
            binary_size(adapt, child)
        elif key in ("ttlMs", "cacheScope"):
            del node.value[key]
            adapt.saw(
                "naftiko-version-cache",
                pos,
                "beta MCP caching hints 'ttlMs'/'cacheScope' are ignored: the generated MCP "
                "server sends no caching hint; its server-side cache keeps the answers of "
                "functions with 'semantics: {cacheable: true}' (NAFTIKO_CACHE_TTL)",
            )
        elif key == "binary" and isinstance(child.value, bool) and parent_key == "resources":
            del node.value[key]
            # not a note: the content a client receives differs from the engine's
            adapt.r.warn(
                "naftiko-version-binary-resource",
                "beta MCP resource 'binary' has no equivalent: naftiko-gen generates text "
                "resources, not blobs; the key is ignored",
                pos,
            )
    items = node.get("items")
    if (
        items is not None
        and items.is_map
        and items.value
        # a shape has a scalar 'type'; keyed properties are all mappings (even one named 'type')
        and all(v.is_map for v in items.value.values())
    ):
        node.value["items"] = Node(
            {"type": Node("object", items.pos), "properties": items},
            items.pos,
            {"type": items.pos, "properties": items.pos},
        )
        adapt.saw(
            "naftiko-version-items",
            node.pos_of("items"),
            "beta 'items' keyed by property name is read as alpha2 'items: {type: object, "
            "properties: ...}'",
        )
    if parent_key == "aggregates" and node.get("flows") is not None:
        rename(node, "flows", "functions")
        adapt.saw(
            "naftiko-version-flows",
            node.pos_of("functions"),
            "beta aggregate 'flows' are read as alpha2 aggregate 'functions' (called by 'ref')",
        )
    for key, child in node.value.items():
        if key in OPAQUE:
            continue
        beta(adapt, child, key)
    if parent_key == "operations" and node.get("method") is None:
        node.value["method"] = Node("GET", node.pos)
        adapt.saw(
            "naftiko-version-method-default",
            node.pos,
            "a beta operation without 'method' is a GET (the beta default; alpha2 requires it)",
        )


def keyed(adapt: Adapt, parent: Node, key: str, child: Node) -> None:
    """{name: {...}} → [{name, ...}] (beta collections are keyed by name)."""
    items: list[Node] = []
    for name, entry in child.value.items():
        at = child.pos_of(name)
        if entry.value is None:
            entry = Node({}, at)
        fields = {"name": Node(name, at), **{k: v for k, v in entry.value.items() if k != "name"}}
        kp = {"name": at, **entry.key_pos}
        items.append(Node(fields, entry.pos if entry.value else at, kp))
    parent.value[key] = Node(items, child.pos)
    adapt.saw(
        "naftiko-version-keyed",
        child.pos,
        "beta collections keyed by name (resources, operations, tools, parameters, steps, "
        "flows, ...) are read as alpha2 lists, each entry named by its key",
    )


def rename(node: Node, old: str, new: str) -> None:
    """Rename a key in place, keeping order and positions."""
    node.value = {(new if k == old else k): v for k, v in node.value.items()}
    if old in node.key_pos:
        node.key_pos[new] = node.key_pos.pop(old)


def binary_size(adapt: Adapt, node: Node) -> None:
    m = BINARY_SIZE.match(str(node.value))
    if m is None or isinstance(node.value, bool):
        adapt.r.error(
            "naftiko-schema-type",
            f"maxBinarySize '{node.value}' is not a size; write it like '512KiB', '10MiB' or '1GiB'",
            node.pos,
        )
        return
    size = int(m[1]) * UNITS[m[2]]
    adapt.saw(
        "naftiko-version-binary-size",
        node.pos,
        f"beta 'maxBinarySize' ({size} bytes) is read and not enforced: the generated servers "
        "stream a binary response as it comes, without buffering it first",
    )


# -- beta ImportEntry in exposes, aggregates and binds ---------------------------------------------


def expand_imports(r: Reader, parent: Node, key: str, source: Path) -> None:
    """beta: an entry `{import: NS, from: FILE, as: ALIAS}` of `exposes`, `aggregates` or `binds`
    is the entry of namespace NS in FILE's own `key` list (renamed ALIAS). One that cannot be
    found is skipped with a located warning; the rest of the spec is kept."""
    entries = parent.get(key)
    if entries is None or not entries.is_list:
        return
    kept: list[Node] = []
    for entry in entries.value:
        name = entry.get("import") if entry.is_map else None
        if name is None or entry.get("type") is not None:
            kept.append(entry)
            continue
        alias = entry.get("as")
        label = str((alias or name).value)
        with attempt(r.report, f"imported {key} '{label}'"):
            found = _imported(r, entry, key, str(name.value), source)
        if found is None:
            continue
        if alias is not None:
            found.value["namespace"] = Node(alias.value, alias.pos)
        kept.append(found)
    entries.value = kept


def _imported(r: Reader, entry: Node, key: str, name: str, source: Path) -> Node | None:
    location = entry.get("location") or entry.get("from")
    if location is None or not isinstance(location.value, str):
        r.error(
            "naftiko-schema-required",
            f"the imported {key} entry '{name}' has no 'from' file; add it",
            entry.pos,
        )
        return None
    root, found_file = load_import(location.value, source, r.report, location.pos)
    if not found_file or root is None or not root.is_map:
        return None
    read_version(r, root)
    section = root.get(key)
    candidates: list[Node] = section.value if section is not None and section.is_list else []
    for candidate in candidates:
        ns = candidate.get("namespace") if candidate.is_map else None
        if ns is not None and ns.value == name:
            return candidate
    r.error(
        "naftiko-import-namespace",
        f"'{location.value}' has no {key} entry of namespace '{name}'",
        entry.pos_of("import"),
    )
    return None
