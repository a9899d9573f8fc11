"""binds: where secrets come from (environment variables or a file:// map)."""

from __future__ import annotations

from pathlib import Path

from naftiko_gen.loader import Node
from naftiko_gen.model import Bind
from naftiko_gen.reader.common import Reader


def bind(r: Reader, node: Node, base: Path) -> Bind | None:
    if r.expect_map(node, "a bind") is None:
        return None
    r.check(node, "bind")
    ns = r.text(node, "namespace", "a bind", required=True)
    keys_node = r.expect_map(node.get("keys"), "'keys' of a bind")
    if keys_node is None and node.get("keys") is None:
        r.error("naftiko-schema-required", "a bind is missing 'keys'; add them", node.pos)
    keys: dict[str, str] = {}
    if keys_node is not None:
        for var, provider in keys_node.value.items():
            if not provider.is_scalar or provider.value is None or isinstance(provider.value, bool):
                r.error(
                    "naftiko-schema-type",
                    f"bind key '{var}' must map to a string",
                    provider.pos,
                )
                continue
            keys[var] = str(provider.value)
    location = r.text(node, "location", "a bind")
    location_path = None
    if location is not None:
        if location.startswith("file://"):
            raw = location[len("file://") :]
            if raw.startswith("/./") or raw.startswith("/../"):
                raw = raw[1:]
            location_path = (base / raw) if not raw.startswith("/") else Path(raw)
        else:
            r.error(
                "naftiko-unsupported-bind-location",
                f"bind location '{location}' is not supported; use environment variables "
                "(no location) or a file:// JSON/YAML map",
                node.pos_of("location"),
            )
            return None
    if ns is None:
        return None
    return Bind(ns, keys, node.pos, location, location_path)
