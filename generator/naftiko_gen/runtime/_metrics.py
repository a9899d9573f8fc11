"""Process-local metrics, counted where calls happen, as Prometheus text (control adapter).

Served requests (REST routes, MCP tools) and upstream calls: a count, an error count (an
answer ≥ 400 or no answer) and a latency histogram per operation.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler

from . import _runtime as rt

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
STARTED = time.time()
Key = tuple[tuple[str, str], ...]


class Family:
    """requests_total, errors_total and a duration histogram for one kind of call."""

    def __init__(self, name: str, help_text: str) -> None:
        self.name, self.help = name, help_text
        self.calls: dict[Key, list[float]] = {}  # labels -> [count, errors, sum, *buckets]

    def observe(self, labels: Key, seconds: float, failed: bool) -> None:
        row = self.calls.get(labels)
        if row is None:
            row = self.calls[labels] = [0.0] * (3 + len(BUCKETS))
        row[0] += 1
        row[1] += failed
        row[2] += seconds
        for i, bound in enumerate(BUCKETS):
            if seconds <= bound:
                row[3 + i] += 1

    def text(self) -> list[str]:
        n = self.name
        lines = [
            f"# HELP {n}_requests_total {self.help}",
            f"# TYPE {n}_requests_total counter",
            *(f"{n}_requests_total{_labels(k)} {r[0]:g}" for k, r in sorted(self.calls.items())),
            f"# HELP {n}_errors_total {self.help}: answered >= 400 or not at all",
            f"# TYPE {n}_errors_total counter",
            *(f"{n}_errors_total{_labels(k)} {r[1]:g}" for k, r in sorted(self.calls.items())),
            f"# HELP {n}_duration_seconds {self.help}: latency",
            f"# TYPE {n}_duration_seconds histogram",
        ]
        for key, row in sorted(self.calls.items()):
            for i, bound in enumerate(BUCKETS):
                lines.append(
                    f"{n}_duration_seconds_bucket{_labels(key, le=f'{bound:g}')} {row[3 + i]:g}"
                )
            lines.append(f"{n}_duration_seconds_bucket{_labels(key, le='+Inf')} {row[0]:g}")
            lines.append(f"{n}_duration_seconds_sum{_labels(key)} {row[2]:.6f}")
            lines.append(f"{n}_duration_seconds_count{_labels(key)} {row[0]:g}")
        return lines


class Lookups:
    """Calls of cacheable functions (_cache), answered from the cache (hit) or not (miss)."""

    def __init__(self) -> None:
        self.counts: dict[tuple[str, str], int] = {}

    def count(self, function: str, hit: bool) -> None:
        key = (function, "hit" if hit else "miss")
        self.counts[key] = self.counts.get(key, 0) + 1

    def text(self) -> list[str]:
        if not self.counts:  # a package without cacheable functions says nothing of a cache
            return []
        n = "naftiko_cache_lookups_total"
        return [
            f"# HELP {n} calls of cacheable functions, by function and result (hit or miss)",
            f"# TYPE {n} counter",
            *(f"{n}{_labels((('function', f), ('result', r)))} {c}"
              for (f, r), c in sorted(self.counts.items())),
        ]  # fmt: skip


SERVED = Family("naftiko_served", "requests served, per server, adapter and operation")
UPSTREAM = Family("naftiko_upstream", "upstream calls, per upstream and operation")
CACHE = Lookups()


def _labels(key: Key, **extra: str) -> str:
    pairs = [*key, *extra.items()]
    return "{" + ",".join(f'{k}="{_escape(v)}"' for k, v in pairs) + "}"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def exposition() -> str:
    """Everything counted in this process, in the Prometheus text format (0.0.4)."""
    lines = [
        "# HELP process_start_time_seconds Start time of the process since the epoch.",
        "# TYPE process_start_time_seconds gauge",
        f"process_start_time_seconds {STARTED:.3f}",
        *SERVED.text(),
        *UPSTREAM.text(),
        *CACHE.text(),
    ]
    return "\n".join(lines) + "\n"


# Set by _tracing.setup when the spec's observability asks for traces: wraps each upstream
# call in a CLIENT span, (method, send(headers), headers) → the answer.
CLIENT_SPAN: Callable[..., Awaitable[rt.Result]] | None = None


class Client(rt.Client):
    """The upstream client, counting each call by upstream namespace and operation."""

    async def send(self, *args: Any, **kwargs: Any) -> rt.Result:
        upstream: rt.Upstream = args[0] if args else kwargs["upstream"]
        operation = kwargs.get("operation") or str(args[1] if len(args) > 1 else "")
        labels = (("upstream", upstream.namespace), ("operation", operation))
        started, failed = time.perf_counter(), True
        try:
            if CLIENT_SPAN is None:
                answer = await super().send(*args, **kwargs)
            else:
                method = str(args[1] if len(args) > 1 else kwargs.get("method", ""))
                headers = dict(kwargs.pop("headers", None) or {})

                async def send(sent: dict[str, Any]) -> rt.Result:
                    return await rt.Client.send(self, *args, headers=sent, **kwargs)

                answer = await CLIENT_SPAN(method, send, headers)
            failed = answer.status >= 400
            return answer
        finally:
            UPSTREAM.observe(labels, time.perf_counter() - started, failed)


def rest(adapter: str) -> Any:
    """REST middleware: each answer counted by route (method and path template)."""

    @web.middleware
    async def count(request: web.Request, handler: Handler) -> web.StreamResponse:
        resource = request.match_info.route.resource
        if resource is None or resource.name == "unmatched":  # _rest.UNMATCHED's catch-all
            operation = "unmatched"
        else:
            operation = f"{request.method} {resource.canonical}"
        labels = (("server", "rest"), ("adapter", adapter), ("operation", operation))
        started, status = time.perf_counter(), 500
        try:
            response = await handler(request)
            status = response.status
            return response
        except web.HTTPException as exc:
            status = exc.status
            raise
        except rt.InputError:
            status = 400
            raise
        except rt.UpstreamError as exc:
            status = exc.status
            raise
        finally:
            SERVED.observe(labels, time.perf_counter() - started, status >= 400)

    return count


def tools(adapter: str, table: Sequence[tuple[Any, Any]]) -> tuple[tuple[Any, Any], ...]:
    """MCP tool functions, each wrapped to count its calls by tool name."""

    def wrap(name: str, function: Any) -> Any:
        labels = (("server", "mcp"), ("adapter", adapter), ("operation", name))

        async def counted(client: rt.Client, args: Any) -> rt.Result:
            started, failed = time.perf_counter(), True
            try:
                answer: rt.Result = await function(client, args)
                failed = answer.status >= 400
                return answer
            finally:
                SERVED.observe(labels, time.perf_counter() - started, failed)

        return counted

    return tuple((tool, wrap(tool.name, function)) for tool, function in table)
