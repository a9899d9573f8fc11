"""OpenTelemetry traces of the control adapter's `observability`, and its /traces endpoint.

Built only for a spec whose control adapter asks for observability. Each request the REST and
MCP servers serve is a SERVER span (`rest.request`, `mcp.request`; a W3C `traceparent` from the
caller is its parent) and each upstream call a CLIENT span (`http.client.<METHOD>`), whose
`traceparent` goes upstream. Export is the OpenTelemetry SDK's, configured by the standard
variables (OTEL_SDK_DISABLED, OTEL_TRACES_EXPORTER=otlp|console|none,
OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_HEADERS, OTEL_SERVICE_NAME, ...); the spec's
`exporters.otlp.endpoint` is the default endpoint (OTLP over HTTP). Finished traces are also kept,
summarised, in a ring buffer of `traces.local.buffer-size` that GET /traces lists (most recent
first, `?operation=` and `?status=` filters) and GET /traces/{traceId} details, as the engine's
TracesResource answers.
"""

from __future__ import annotations

import logging
import os
import threading
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler

from . import _control, _metrics

LOG = logging.getLogger("naftiko.tracing")


@dataclass(frozen=True)
class Span:
    span_id: str
    parent_id: str | None
    name: str
    kind: str
    duration_ms: int
    status: str


@dataclass(frozen=True)
class Trace:
    trace_id: str
    operation: str
    duration_ms: int
    status: str
    timestamp: str
    spans: tuple[Span, ...]


class Ring:
    """The last `capacity` finished traces (a trace is finished when its root span ends)."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.traces: deque[Trace] = deque(maxlen=capacity)
        self.pending: dict[int, list[Any]] = {}
        self.lock = threading.Lock()

    def on_end(self, span: Any) -> None:
        ctx, parent = span.context, span.parent
        with self.lock:
            spans = self.pending.setdefault(ctx.trace_id, [])
            spans.append(span)
            if parent is not None and parent.is_valid and not parent.is_remote:
                return
            del self.pending[ctx.trace_id]
            self.traces.appendleft(_summary(span, spans))

    def all(self) -> list[Trace]:
        with self.lock:
            return list(self.traces)


def _ms(span: Any) -> int:
    return max(0, ((span.end_time or 0) - (span.start_time or 0)) // 1_000_000)


def _status(span: Any) -> str:
    return "ERROR" if span.status.status_code.name == "ERROR" else "OK"


def _summary(root: Any, spans: list[Any]) -> Trace:
    started = datetime.fromtimestamp((root.start_time or 0) / 1e9, tz=UTC)
    return Trace(
        trace_id=f"{root.context.trace_id:032x}",
        operation=root.name,
        duration_ms=_ms(root),
        status=_status(root),
        timestamp=started.isoformat(timespec="microseconds").replace("+00:00", "Z"),
        spans=tuple(
            Span(
                f"{s.context.span_id:016x}",
                f"{s.parent.span_id:016x}" if s.parent is not None and s.parent.is_valid else None,
                s.name,
                s.kind.name,
                _ms(s),
                _status(s),
            )
            for s in spans
        ),
    )


class Tracing:
    """The tracer the servers use, and the control port's /traces handlers."""

    def __init__(self, ring: Ring) -> None:
        self.ring = ring
        self.tracer: Any = None  # None: the SDK is missing or disabled (/traces answers 503)

    # -- spans ------------------------------------------------------------------------------

    def middleware(self, kind: str) -> Any:
        from opentelemetry import trace
        from opentelemetry.propagate import extract

        tracer = self.tracer

        @web.middleware
        async def spans(request: web.Request, handler: Handler) -> web.StreamResponse:
            resource = request.match_info.route.resource
            operation = "unknown" if resource is None else f"{request.method} {resource.canonical}"
            attributes = {
                "naftiko.adapter.type": kind, "naftiko.operation.id": operation,
                "http.request.method": request.method, "url.path": request.path,
            }  # fmt: skip
            with tracer.start_as_current_span(
                f"{kind}.request", context=extract(dict(request.headers)),
                kind=trace.SpanKind.SERVER, attributes=attributes,
            ) as span:  # fmt: skip
                try:
                    response = await handler(request)
                except web.HTTPException as exc:
                    _answered(span, exc.status)
                    raise
                except BaseException:
                    _answered(span, 500)
                    raise
                _answered(span, response.status)
                return response

        return spans

    async def client_span(self, method: str, send: Any, headers: dict[str, Any]) -> Any:
        from opentelemetry import trace
        from opentelemetry.propagate import inject

        with self.tracer.start_as_current_span(
            f"http.client.{method}", kind=trace.SpanKind.CLIENT,
            attributes={"http.request.method": method},
        ) as span:  # fmt: skip
            inject(headers)  # traceparent (and tracestate) to the upstream
            answer = await send(headers)
            _answered(span, answer.status)
            return answer

    # -- the control port's endpoints -------------------------------------------------------

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/traces", self.list)
        app.router.add_get("/traces/{trace_id}", self.one)

    def _inactive(self) -> web.Response | None:
        if self.tracer is not None:
            return None
        body = {"error": "OpenTelemetry is not active. Traces require the OpenTelemetry SDK."}
        return web.json_response(body, status=503)

    async def list(self, request: web.Request) -> web.Response:
        if (inactive := self._inactive()) is not None:
            return inactive
        operation, status = request.query.get("operation"), request.query.get("status")
        listed = [
            {
                "traceId": t.trace_id, "operation": t.operation, "durationMs": t.duration_ms,
                "status": t.status, "spanCount": len(t.spans), "timestamp": t.timestamp,
            }  # fmt: skip
            for t in self.ring.all()
            if (operation is None or operation in t.operation)
            and (status is None or t.status.lower() == status.lower())
        ]
        return web.json_response(
            {"traces": listed, "bufferSize": self.ring.capacity, "bufferUsed": len(self.ring.all())}
        )

    async def one(self, request: web.Request) -> web.Response:
        if (inactive := self._inactive()) is not None:
            return inactive
        wanted = request.match_info["trace_id"]
        found = next((t for t in self.ring.all() if t.trace_id == wanted), None)
        if found is None:
            return web.json_response({"error": f"Trace not found: {wanted[:64]}"}, status=404)
        spans = []
        for s in found.spans:
            entry: dict[str, Any] = {"spanId": s.span_id}
            if s.parent_id is not None:
                entry["parentSpanId"] = s.parent_id
            entry |= {"name": s.name, "kind": s.kind, "durationMs": s.duration_ms}
            entry["status"] = s.status
            spans.append(entry)
        return web.json_response(
            {
                "traceId": found.trace_id, "operation": found.operation,
                "durationMs": found.duration_ms, "status": found.status,
                "timestamp": found.timestamp, "spans": spans,
            }  # fmt: skip
        )


def _answered(span: Any, status: int) -> None:
    from opentelemetry.trace import Status, StatusCode

    span.set_attribute("http.response.status_code", status)
    if status >= 500:
        span.set_status(Status(StatusCode.ERROR))


def setup(
    service: str,
    buffer_size: int,
    sampling: float,
    otlp_endpoint: str | None,
    environ: Mapping[str, str] | None = None,
) -> Tracing:
    """The tracer provider (sampling, ring buffer, exporters from OTEL_* variables) and the hooks
    that make the control server's REST and MCP servers and their upstream client trace."""
    env = os.environ if environ is None else environ
    tracing = Tracing(Ring(buffer_size))
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return tracing
    try:
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
        from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
    except ImportError:
        LOG.warning("observability: the OpenTelemetry SDK is not installed; no traces")
        return tracing

    class Capture(SpanProcessor):  # type: ignore[misc,unused-ignore]
        def on_end(self, span: Any) -> None:
            tracing.ring.on_end(span)

    resource = Resource.create({"service.name": env.get("OTEL_SERVICE_NAME") or service})
    provider = TracerProvider(resource=resource, sampler=ParentBased(TraceIdRatioBased(sampling)))
    provider.add_span_processor(Capture())
    _exporters(provider, otlp_endpoint, env)
    tracing.tracer = provider.get_tracer("naftiko")
    _control.SERVER_MIDDLEWARE = tracing.middleware
    _metrics.CLIENT_SPAN = tracing.client_span
    return tracing


def _exporters(provider: Any, otlp_endpoint: str | None, env: Mapping[str, str]) -> None:
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter

    chosen = env.get("OTEL_TRACES_EXPORTER")
    endpoint = env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or env.get(
        "OTEL_EXPORTER_OTLP_ENDPOINT"
    )
    if chosen is None:
        chosen = "otlp" if endpoint or otlp_endpoint else "none"
    for name in (n.strip().lower() for n in chosen.split(",")):
        if name == "console":
            provider.add_span_processor(BatchSpanProcessor(ConsoleSpanExporter()))
        elif name == "otlp":
            try:
                from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
                    OTLPSpanExporter,
                )
            except ImportError:
                LOG.warning("observability: opentelemetry-exporter-otlp-proto-http is missing")
                continue
            # The SDK reads the OTEL_EXPORTER_OTLP_* variables itself; the spec's endpoint is
            # the default (a base URL: the traces path is added as the variable's would be).
            default = None if endpoint or not otlp_endpoint else otlp_endpoint.rstrip("/")
            exporter = OTLPSpanExporter(endpoint=default and default + "/v1/traces")
            provider.add_span_processor(BatchSpanProcessor(exporter))
        elif name not in ("none", ""):
            LOG.warning("observability: OTEL_TRACES_EXPORTER %r is not supported", name)
