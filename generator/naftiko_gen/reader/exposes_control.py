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
        enabled = r.boolean(observability, "enabled", "'observability'")
        _traces(r, observability, adapter, enabled is not False)
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


def _traces(r: Reader, observability: Node, adapter: ControlAdapter, enabled: bool) -> None:
    """`observability` (enabled unless `enabled: false`) asks for traces: OpenTelemetry spans
    and /traces, unless `traces.local.enabled: false` (then spans are still exported)."""
    w = "'observability.traces'"
    traces = r.expect_map(observability.get("traces"), w)
    local_on: bool | None = None
    if traces is not None:
        r.check_keys(traces, ("sampling", "propagation", "local"), w)
        node = traces.get("sampling")
        if node is not None and node.value is not None:
            value = node.value
            if (
                isinstance(value, bool)
                or not isinstance(value, (int, float))
                or not 0 <= value <= 1
            ):
                r.error("naftiko-schema-range", "'sampling' must be a number from 0 to 1", node.pos)
            else:
                adapter.sampling = float(value)
        propagation = r.text(traces, "propagation", w)
        if propagation is not None and propagation != "w3c":
            r.warn(
                "naftiko-control-unsupported",
                f"trace propagation '{propagation}' is not served: W3C traceparent is used",
                traces.pos_of("propagation"),
            )
        local = r.expect_map(traces.get("local"), f"{w[:-1]}.local'")
        if local is not None:
            r.check_keys(local, ("enabled", "buffer-size"), f"{w[:-1]}.local'")
            local_on = r.boolean(local, "enabled", f"{w[:-1]}.local'")
            size = r.integer(local, "buffer-size", f"{w[:-1]}.local'")
            if size is not None:
                if not 10 <= size <= 10000:
                    r.error(
                        "naftiko-schema-range",
                        "'buffer-size' must be between 10 and 10000",
                        local.pos_of("buffer-size"),
                    )
                else:
                    adapter.trace_buffer = size
    exporters = r.expect_map(observability.get("exporters"), "'observability.exporters'")
    if exporters is not None:
        r.check_keys(exporters, ("otlp",), "'observability.exporters'")
        otlp = r.expect_map(exporters.get("otlp"), "'observability.exporters.otlp'")
        if otlp is not None:
            r.check_keys(otlp, ("endpoint",), "'observability.exporters.otlp'")
            endpoint = r.text(otlp, "endpoint", "'observability.exporters.otlp'", required=True)
            if endpoint is not None and "{{" in endpoint:
                r.warn(
                    "naftiko-control-unsupported",
                    "a templated OTLP endpoint is not resolved; set OTEL_EXPORTER_OTLP_ENDPOINT",
                    otlp.pos_of("endpoint"),
                )
            elif endpoint is not None:
                adapter.otlp_endpoint = endpoint
    adapter.traces = enabled and local_on is not False


def _unserved(r: Reader, node: Node, key: str, where: str) -> None:
    r.warn(
        "naftiko-control-unsupported",
        f"'{where}.{key}' is not served by naftiko-gen's control server (it serves "
        "/health/live, /health/ready, /status and /metrics); it is ignored",
        node.pos_of(key),
    )
