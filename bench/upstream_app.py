"""A fast local stand-in for Qovery's list-containers call, for the benchmarks only.

Run: python bench/upstream_app.py --port P   (BENCH_UPSTREAM_TOKEN=t: demand ``Bearer t``;
BENCH_UPSTREAM_DELAY_MS=d: answer after d ms, as a slow real API does)

Answers ``GET /environment/{environmentId}/container`` with a realistic ~1.5 KB
``{"results": [...]}`` body, built once; anything else is 404. It does as little as possible
per request so that the servers under test, not the upstream, dominate the measurements.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os

from aiohttp import web

CONTAINER = {
    "id": "736c3c28-cb8a-5ee1-9d2f-c4a62a126f95",
    "created_at": "2026-05-19T10:00:00Z",
    "updated_at": "2026-05-19T10:05:00Z",
    "storage": [],
    "image_name": "nginx",
    "tag": "1.27",
    "registry_id": "f4d84442-b1fb-5229-8f79-766ae37c5da0",
    "registry": {
        "id": "f4d84442-b1fb-5229-8f79-766ae37c5da0",
        "name": "Docker Hub",
        "url": "https://docker.io",
        "kind": "DOCKER_HUB",
    },
    "environment": {"id": "3f1b6a52-0c1e-4a57-9a64-2b0f4d5f6a11"},
    "maximum_cpu": 16000,
    "maximum_memory": 16384,
    "maximum_gpu": 0,
    "name": "web",
    "description": "",
    "arguments": [],
    "cpu": 500,
    "memory": 512,
    "gpu": 0,
    "min_running_instances": 1,
    "max_running_instances": 1,
    "healthchecks": {
        "readiness_probe": {
            "type": {"tcp": {"port": 8080, "host": None}},
            "initial_delay_seconds": 30,
            "period_seconds": 10,
            "timeout_seconds": 5,
            "success_threshold": 1,
            "failure_threshold": 3,
        },
        "liveness_probe": {
            "type": {"tcp": {"port": 8080, "host": None}},
            "initial_delay_seconds": 30,
            "period_seconds": 10,
            "timeout_seconds": 5,
            "success_threshold": 1,
            "failure_threshold": 3,
        },
    },
    "auto_preview": False,
    "ports": [
        {
            "id": "0b8c2f43-6d2e-4a51-9d77-2f8e3c5a1b90",
            "internal_port": 8080,
            "external_port": 443,
            "publicly_accessible": True,
            "protocol": "HTTP",
            "name": "p8080",
        }
    ],
    "auto_deploy": False,
    "annotations_groups": [],
    "labels_groups": [],
    "icon_uri": "app://qovery-console/container",
    "service_type": "CONTAINER",
}
BODY = json.dumps({"results": [CONTAINER]}).encode()


def create_app(token: str, delay: float = 0.0) -> web.Application:
    expected = f"Bearer {token}" if token else None

    async def list_containers(request: web.Request) -> web.Response:
        if expected is not None and request.headers.get("Authorization") != expected:
            return web.json_response({"status": 401, "error": "Unauthorized"}, status=401)
        if delay:
            await asyncio.sleep(delay)
        return web.Response(body=BODY, content_type="application/json")

    app = web.Application()
    app.router.add_get("/environment/{environmentId}/container", list_containers)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8099)
    args = parser.parse_args()
    web.run_app(
        create_app(
            os.environ.get("BENCH_UPSTREAM_TOKEN", ""),
            float(os.environ.get("BENCH_UPSTREAM_DELAY_MS", "0")) / 1000,
        ),
        host=args.host,
        port=args.port,
        access_log=None,
        print=None,
    )


if __name__ == "__main__":
    main()
