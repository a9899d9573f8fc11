"""exposes → control: the management plane (health, status, metrics) on its own port."""

from __future__ import annotations

from naftiko_gen.loader import Node
from naftiko_gen.model import ControlAdapter
from naftiko_gen.reader.auth import auth
from naftiko_gen.reader.common import Reader

ADAPTER_KEYS = ("type", "address", "port", "authentication", "management", "observability")
MANAGEMENT_KEYS = ("health", "info", "reload", "validate", "logs", "scripting")
SERVED_MANAGEMENT = ("health", "info")
OBSERVABILITY_KEYS = ("enabled", "metrics", "traces", "exporters")


def control(r: Reader, node: Node) -> ControlAdapter | None:
    w = "a control adapter"
    r.check_keys(node, (*ADAPTER_KEYS, "auth"), w)  # auth: the dialect key, noted in auth_node
    port = r.integer(node, "port", w)
    if port is None:
        if node.get("port") is None:
            r.error(
                "naftiko-schema-required", "a control adapter needs a 'port'; add one", node.pos
            )
        return None
    adapter = ControlAdapter(port, node.pos, address=r.text(node, "address", w))
    adapter.positions = {k: node.value_pos(k) for k in node.value}
    adapter.auth = auth(r, r.auth_node(node), consumes_side=False)
    management = r.expect_map(node.get("management"), "'management'")
    if management is not None:
        r.check_keys(management, MANAGEMENT_KEYS, "'management'")
        for key in management.value:
            if key in MANAGEMENT_KEYS and key not in SERVED_MANAGEMENT:
                _unserved(r, management, key, "management")
        health = r.boolean(management, "health", "'management'")
        info = r.boolean(management, "info", "'management'")
        adapter.health = True if health is None else health
        adapter.info = bool(info)
    observability = r.expect_map(node.get("observability"), "'observability'")
    if observability is not None:
        r.check_keys(observability, OBSERVABILITY_KEYS, "'observability'")
        for key in ("traces", "exporters"):
            if observability.get(key) is not None:
                _unserved(r, observability, key, "observability")
        enabled = r.boolean(observability, "enabled", "'observability'")
        metrics = r.expect_map(observability.get("metrics"), "'observability.metrics'")
        local_on: bool | None = None
        if metrics is not None:
            r.check_keys(metrics, ("local",), "'observability.metrics'")
            local = r.expect_map(metrics.get("local"), "'observability.metrics.local'")
            if local is not None:
                r.check_keys(local, ("enabled",), "'observability.metrics.local'")
                local_on = r.boolean(local, "enabled", "'observability.metrics.local'")
        adapter.metrics = enabled is not False and local_on is not False
    return adapter


def _unserved(r: Reader, node: Node, key: str, where: str) -> None:
    r.warn(
        "naftiko-control-unsupported",
        f"'{where}.{key}' is not served by naftiko-gen's control server (it serves "
        "/health/live, /health/ready, /status and /metrics); it is ignored",
        node.pos_of(key),
    )
