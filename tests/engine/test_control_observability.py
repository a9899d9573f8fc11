"""The control adapter and its `observability`, driven by the engine's alpha2 fixtures.

* control-capability.yaml, a capability exposing only a control adapter, generates a package
  that starts (`python -m <package>.control_server`) and answers /health/live, /status and
  /traces (ControlIntegrationTest: health and info on; traces.local.buffer-size 50);
* control-observability-disabled.yaml: `observability.enabled: false` serves neither /metrics nor
  /traces (ControlIntegrationTest.routerShouldNotAttachMetricsOrTracesWhenObservabilityDisabled);
* observability-capability.yaml: sampling and the OTLP endpoint are read (no warning left);
* spans (ObservabilityRestIntegrationTest / ObservabilityMcpIntegrationTest): mcp-capability.yaml
  with control-capability.yaml's control adapter added: an MCP request is a SERVER span
  `mcp.request` (parent: the caller's W3C traceparent) with a CLIENT child `http.client.POST`
  whose traceparent reaches the upstream; /traces lists the trace, /traces/{id} its spans; with
  OTEL_TRACES_EXPORTER=otlp and OTEL_EXPORTER_OTLP_TRACES_ENDPOINT the spans reach a collector.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml
from aiohttp import web

from tests.engine.stack import ENGINE, diagnostics
from tests.features.upstream import FakeUpstream, build_package, run_fake
from tests.support import import_module, serve_aiohttp

pytestmark = pytest.mark.anyio
MCP_HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
INBOUND_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
INBOUND_PARENT = "00f067aa0ba902b7"


async def get(url: str, **kw: Any) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as session:
        async with session.request(kw.pop("method", "GET"), url, **kw) as response:
            body = await response.read()
            try:
                return response.status, json.loads(body)
            except ValueError:
                return response.status, body.decode()


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_control_only_package_starts(tmp_path: Path) -> None:
    built = build_package(ENGINE / "control" / "control-capability.yaml", tmp_path, False, False)
    requirements = (tmp_path / built.package / "requirements.txt").read_text()
    assert "opentelemetry-sdk" in requirements  # observability asks for traces
    port = free_port()
    env = {**os.environ, "OTEL_TRACES_EXPORTER": "none"}
    process = subprocess.Popen(
        [sys.executable, "-m", f"{built.package}.control_server", "--port", str(port)],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 20
        while True:
            try:
                status, live = await get(url + "/health/live")
                break
            except aiohttp.ClientError:
                assert process.poll() is None, process.communicate()[1].decode()
                assert time.monotonic() < deadline, "the control server did not start"
                await asyncio.sleep(0.1)
        assert (status, live) == (200, {"status": "ok"})
        status, info = await get(url + "/status")
        assert status == 200 and info["capability"] == "Control Port Test Capability"
        status, traces = await get(url + "/traces")
        assert status == 200
        assert traces == {"traces": [], "bufferSize": 50, "bufferUsed": 0}
    finally:
        process.terminate()
        process.wait(10)


async def test_observability_disabled_serves_neither(tmp_path: Path) -> None:
    spec = ENGINE / "control" / "control-observability-disabled.yaml"
    built = build_package(spec, tmp_path, False, False)
    assert "opentelemetry" not in (tmp_path / built.package / "requirements.txt").read_text()
    module = import_module(tmp_path, built.package, "control_server")
    control, app = module.create(None, [])
    async with serve_aiohttp(app) as url:
        assert (await get(url + "/health/live"))[0] == 200
        assert (await get(url + "/metrics"))[0] == 404
        assert (await get(url + "/traces"))[0] == 404
        assert (await get(url + f"/traces/{INBOUND_TRACE}"))[0] == 404


def test_observability_settings_are_read(tmp_path: Path) -> None:
    found = diagnostics(ENGINE / "observability" / "observability-capability.yaml", tmp_path)
    # propagation b3 is the one setting not served (W3C traceparent is used): said where it is
    warnings = [d for d in found if " warning " in d]
    assert len(warnings) == 1, found
    assert "observability-capability.yaml:21:11: warning naftiko-control-unsupported" in warnings[0]
    assert "'b3'" in warnings[0]
    assert not [d for d in found if " error " in d], found


def traced_spec(out: Path) -> Path:
    """mcp-capability.yaml with control-capability.yaml's control adapter (and its
    observability) added: the engine's fixtures, combined."""
    spec = yaml.safe_load((ENGINE / "mcp" / "mcp-capability.yaml").read_text())
    control = yaml.safe_load((ENGINE / "control" / "control-capability.yaml").read_text())
    spec["capability"]["exposes"] += control["capability"]["exposes"]
    path = out / "mcp-traced.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def tool_call() -> dict[str, Any]:
    params = {"name": "query-database", "arguments": {}}
    return {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": params}


async def test_spans_and_traces_endpoint(tmp_path: Path) -> None:
    built = build_package(traced_spec(tmp_path), tmp_path / "out", False, False)
    module = import_module(tmp_path / "out", built.package, "control_server")
    fake = FakeUpstream(name="mock-api")
    fake.expect("POST", "/v1/databases/test-db-id-123/query", reply={"results": []})
    exported: list[bytes] = []

    async def collect(request: web.Request) -> web.Response:
        exported.append(await request.read())
        return web.Response(status=200)

    collector = web.Application()
    collector.router.add_post("/v1/traces", collect)
    with pytest.MonkeyPatch.context() as mp:
        async with run_fake(fake), serve_aiohttp(collector) as collector_url:
            mp.setenv("MOCK_API_BASE_URL", fake.base_url + "/v1")
            mp.setenv("OTEL_TRACES_EXPORTER", "otlp")
            mp.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", collector_url + "/v1/traces")
            mp.setenv("OTEL_BSP_SCHEDULE_DELAY", "50")
            control, app = module.create(None, [0])
            ports = await control.start(app, "127.0.0.1", 0)
            try:
                ctl, mcp = (f"http://127.0.0.1:{p}" for p in ports)
                parent = f"00-{INBOUND_TRACE}-{INBOUND_PARENT}-01"
                status, answer = await get(
                    mcp + "/mcp", method="POST", json=tool_call(),
                    headers={**MCP_HEADERS, "traceparent": parent},
                )  # fmt: skip
                assert status == 200 and "error" not in answer, answer
                status, listed = await get(ctl + "/traces")
                one = await get(ctl + f"/traces/{INBOUND_TRACE}")
                missing = await get(ctl + "/traces/" + "0" * 32)
                filtered = await get(ctl + "/traces?operation=rest.request")
                for _ in range(100):
                    if exported:
                        break
                    await asyncio.sleep(0.05)
            finally:
                await control.stop()
    assert status == 200 and listed["bufferSize"] == 50 and listed["bufferUsed"] == 1
    (trace,) = listed["traces"]
    assert trace["traceId"] == INBOUND_TRACE
    assert (trace["operation"], trace["status"], trace["spanCount"]) == ("mcp.request", "OK", 2)
    assert trace["timestamp"].endswith("Z") and isinstance(trace["durationMs"], int)
    assert one[0] == 200
    spans = {s["name"]: s for s in one[1]["spans"]}
    server, client = spans["mcp.request"], spans["http.client.POST"]
    assert (server["kind"], server["parentSpanId"]) == ("SERVER", INBOUND_PARENT)
    assert (client["kind"], client["parentSpanId"]) == ("CLIENT", server["spanId"])
    seen = fake.only()
    assert seen.headers["traceparent"].split("-")[1:3] == [INBOUND_TRACE, client["spanId"]]
    assert missing == (404, {"error": "Trace not found: " + "0" * 32})
    assert filtered == (200, {"traces": [], "bufferSize": 50, "bufferUsed": 1})
    # OTLP/protobuf: the trace id travels as its 16 raw bytes
    assert exported and any(bytes.fromhex(INBOUND_TRACE) in body for body in exported)
