"""A validating fake of the Qovery API, limited to the 8 container operations.

The facts encoded here come from Qovery's public OpenAPI document (OpenAPI 3.0):

* server ``https://api.qovery.com``, no path prefix; paths are case-sensitive camelCase;
* every path parameter is a required ``string`` with ``format: uuid``;
* security is global: an ``Authorization`` header (``Bearer <jwt>`` or ``Token <key>``);
  this fake is stricter and demands exactly ``Bearer <token>``;
* no operation has query parameters; every request body is ``application/json`` and
  none is ``required``, so a POST without a body is valid, but a body that is present
  must satisfy its schema (``{}`` is not a valid ContainerRequest);
* a body (or a JSON Content-Type with a body) on a GET is rejected with 415, as a
  validating mock such as Stoplight Prism does;
* list endpoints wrap their items as ``{"results": [...]}``;
* ContainerAdvancedSettings is a flat object whose keys contain dots.

Every request the server receives, matched or not, is recorded in ``FakeQovery.requests``
before anything else happens, so tests can assert what reached the upstream.

Usage::

    async with run_fake_qovery(token="t0k") as fake:
        fake.base_url         # "http://127.0.0.1:<port>"
        fake.requests         # list[RecordedRequest]
        fake.force(404, operation="listContainer")
        fake.delay = 1.0      # seconds before every answer
        await fake.stop()     # upstream down from now on
"""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote

from aiohttp import web
from multidict import CIMultiDict

__all__ = [
    "DEFAULT_TOKEN",
    "NOT_FOUND_ID",
    "OPERATIONS",
    "FakeQovery",
    "ForcedResponse",
    "Operation",
    "RecordedRequest",
    "run_fake_qovery",
]

DEFAULT_TOKEN = "qovery-test-token-5f1c0d"

#: Any path parameter equal to this UUID makes the fake answer 404 (resource not found).
NOT_FOUND_ID = "00000000-0000-4000-8000-000000000404"

_UUID_RE = re.compile(
    r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
)

# Fixed timestamps keep answers deterministic.
_CREATED_AT = "2026-05-19T10:00:00Z"
_UPDATED_AT = "2026-05-19T10:05:00Z"


def is_uuid(value: Any) -> bool:
    return isinstance(value, str) and bool(_UUID_RE.match(value))


def _uuid_for(*parts: str) -> str:
    """A deterministic UUID derived from the given strings."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "qovery-fake:" + "/".join(parts)))


@dataclass(frozen=True)
class Operation:
    operation_id: str
    method: str
    template: str
    #: JSON body schema name, or None when the operation takes no body (GETs).
    body: str | None
    success: int

    @property
    def segments(self) -> list[str]:
        return self.template.split("/")[1:]

    @property
    def path_params(self) -> list[str]:
        return [s[1:-1] for s in self.segments if s.startswith("{")]


OPERATIONS: dict[str, Operation] = {
    op.operation_id: op
    for op in [
        Operation(
            "cloneContainer", "POST", "/container/{containerId}/clone", "CloneServiceRequest", 202
        ),
        Operation(
            "getDefaultContainerAdvancedSettings",
            "GET",
            "/defaultContainerAdvancedSettings",
            None,
            200,
        ),
        Operation("listContainer", "GET", "/environment/{environmentId}/container", None, 200),
        Operation(
            "createContainer",
            "POST",
            "/environment/{environmentId}/container",
            "ContainerRequest",
            201,
        ),
        Operation(
            "getEnvironmentContainerStatus",
            "GET",
            "/environment/{environmentId}/container/status",
            None,
            200,
        ),
        Operation(
            "autoDeployContainerEnvironments",
            "POST",
            "/organization/{organizationId}/container/deploy",
            "OrganizationContainerAutoDeployRequest",
            202,
        ),
        Operation(
            "previewContainerEnvironments",
            "POST",
            "/organization/{organizationId}/container/preview",
            "OrganizationContainerPreviewRequest",
            202,
        ),
        Operation(
            "getContainerRegistryContainerStatus",
            "GET",
            "/organization/{organizationId}/containerRegistry/{containerRegistryId}/container/status",
            None,
            200,
        ),
    ]
}


@dataclass
class RecordedRequest:
    method: str
    #: The request target exactly as received, query string included (``request.raw_path``).
    raw_path: str
    #: The raw path without its query string.
    raw_path_only: str
    #: Percent-decoded path (segment by segment; an encoded ``/`` shows as ``/``).
    path: str
    query: list[tuple[str, str]]
    headers: CIMultiDict[str]
    body: bytes
    #: Parsed JSON body, or None when there was no body or it was not JSON.
    json: Any = None
    #: operationId of the matched route, or None for an unknown path.
    operation: str | None = None
    #: Decoded path parameters (camelCase names, as in the Qovery document).
    path_params: dict[str, str] = field(default_factory=dict)
    #: What the fake answered.
    status: int | None = None
    response_body: bytes = b""
    response_json: Any = None

    @property
    def authorization(self) -> str | None:
        return self.headers.get("Authorization")

    @property
    def content_type(self) -> str | None:
        return self.headers.get("Content-Type")


@dataclass
class ForcedResponse:
    status: int
    body: Any = None
    content_type: str = "application/json"
    operation: str | None = None
    value: str | None = None
    #: How many times the rule applies; None for always.
    times: int | None = None
    #: Extra response headers (a redirect's Location, say).
    headers: dict[str, str] | None = None

    def matches(self, rec: RecordedRequest) -> bool:
        if self.times is not None and self.times <= 0:
            return False
        if self.operation is not None and rec.operation != self.operation:
            return False
        return not (self.value is not None and self.value not in rec.path_params.values())


# --------------------------------------------------------------------------- bodies


def _problem(status: int, message: str, **extra: Any) -> dict[str, Any]:
    # Qovery-ish error envelope; never echoes request headers.
    return {"status": status, "error": _REASONS.get(status, "Error"), "message": message, **extra}


_REASONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    415: "Unsupported Media Type",
    422: "Unprocessable Entity",
}


def _healthchecks() -> dict[str, Any]:
    return {
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
    }


def container_response(
    container_id: str,
    environment_id: str,
    *,
    name: str = "my-container",
    image_name: str = "nginx",
    tag: str = "1.27",
    registry_id: str | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A ContainerResponse (Base + ServiceStorage + ContainerSource + container fields)."""
    registry_id = registry_id or _uuid_for("registry", environment_id)
    out: dict[str, Any] = {
        "id": container_id,
        "created_at": _CREATED_AT,
        "updated_at": _UPDATED_AT,
        "storage": [],
        "image_name": image_name,
        "tag": tag,
        "registry_id": registry_id,
        "registry": {
            "id": registry_id,
            "name": "Docker Hub",
            "url": "https://docker.io",
            "kind": "DOCKER_HUB",
        },
        "environment": {"id": environment_id},
        "maximum_cpu": 16000,
        "maximum_memory": 16384,
        "maximum_gpu": 0,
        "name": name,
        "description": "",
        "arguments": [],
        "cpu": 500,
        "memory": 512,
        "gpu": 0,
        "cpu_architecture": None,
        "min_running_instances": 1,
        "max_running_instances": 1,
        "healthchecks": _healthchecks(),
        "auto_preview": False,
        "ports": [],
        "auto_deploy": False,
        "annotations_groups": [],
        "labels_groups": [],
        "icon_uri": "app://qovery-console/container",
        "service_type": "CONTAINER",
    }
    if extra:
        for key in (
            "description",
            "cpu",
            "memory",
            "gpu",
            "min_running_instances",
            "max_running_instances",
            "auto_preview",
            "auto_deploy",
            "arguments",
            "entrypoint",
            "cpu_architecture",
        ):
            if key in extra:
                out[key] = extra[key]
    return out


def status_object(object_id: str, *, state: str = "DEPLOYED") -> dict[str, Any]:
    """A Status (all 7 required fields plus a few optional ones)."""
    return {
        "id": object_id,
        "state": state,
        "service_deployment_status": "UP_TO_DATE",
        "last_deployment_date": _UPDATED_AT,
        "is_part_last_deployment": True,
        "status_details": {"action": "DEPLOY", "status": "SUCCESS", "sub_action": "NONE"},
        "deployment_request_id": None,
        "deployment_requests_count": 0,
        "execution_id": "exec-" + object_id[:8],
    }


DEFAULT_ADVANCED_SETTINGS: dict[str, Any] = {
    "deployment.custom_domain_check_enabled": True,
    "deployment.termination_grace_period_seconds": 60,
    "deployment.affinity.node.required": {},
    "deployment.antiaffinity.pod": "Preferred",
    "deployment.topology_spread_constraints.enabled": False,
    "deployment.update_strategy.type": "RollingUpdate",
    "deployment.update_strategy.rolling_update.max_unavailable_percent": 25,
    "deployment.update_strategy.rolling_update.max_surge_percent": 25,
    "network.ingress.proxy_body_size_mb": 100,
    "network.ingress.enable_cors": False,
    "network.ingress.cors_allow_origin": "*",
    "network.ingress.cors_allow_methods": "GET, PUT, POST, DELETE, PATCH, OPTIONS",
    "network.ingress.proxy_connect_timeout_seconds": 60,
    "network.ingress.proxy_send_timeout_seconds": 60,
    "network.ingress.proxy_read_timeout_seconds": 60,
    "network.ingress.whitelist_source_range": "0.0.0.0/0",
    "security.service_account_name": "",
    "security.read_only_root_filesystem": False,
    "hpa.cpu.average_utilization_percent": 60,
    "hpa.memory.average_utilization_percent": None,
}


class _BodyError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _require_str(body: dict[str, Any], key: str, errors: list[str], *, required: bool) -> None:
    if key not in body:
        if required:
            errors.append(f"body.{key} is required")
        return
    if not isinstance(body[key], str):
        errors.append(f"body.{key} must be a string")


def _validate_body(schema: str, body: Any) -> None:
    if not isinstance(body, dict):
        raise _BodyError(400, f"request body must be a JSON object ({schema})")
    errors: list[str] = []
    if schema == "CloneServiceRequest":
        _require_str(body, "name", errors, required=True)
        if "environment_id" not in body:
            errors.append("body.environment_id is required")
        elif not is_uuid(body["environment_id"]):
            errors.append("body.environment_id must be a uuid")
    elif schema == "ContainerRequest":
        for key in ("name", "registry_id", "image_name", "tag"):
            _require_str(body, key, errors, required=True)
        if "healthchecks" not in body:
            errors.append("body.healthchecks is required")
        elif not isinstance(body["healthchecks"], dict):
            errors.append("body.healthchecks must be an object")
        for key in (
            "cpu",
            "memory",
            "gpu",
            "min_running_instances",
            "max_running_instances",
            "ephemeral_storage_in_gib",
        ):
            if key in body and (not isinstance(body[key], int) or isinstance(body[key], bool)):
                errors.append(f"body.{key} must be an integer")
        for key in ("storage", "ports", "arguments"):
            if key in body and not isinstance(body[key], list):
                errors.append(f"body.{key} must be an array")
        for key in ("description", "entrypoint", "icon_uri"):
            _require_str(body, key, errors, required=False)
    elif schema in (
        "OrganizationContainerAutoDeployRequest",
        "OrganizationContainerPreviewRequest",
    ):
        _require_str(body, "image_name", errors, required=False)
        _require_str(body, "tag", errors, required=False)
    if errors:
        raise _BodyError(400, "; ".join(errors))


def _remove_dot_segments(segments: list[str]) -> list[str]:
    out: list[str] = []
    for i, seg in enumerate(segments):
        last = i == len(segments) - 1
        if seg == ".":
            if last:
                out.append("")
        elif seg == "..":
            if out:
                out.pop()
            if last:
                out.append("")
        else:
            out.append(seg)
    return out


# --------------------------------------------------------------------------- the server


class FakeQovery:
    def __init__(self, token: str = DEFAULT_TOKEN) -> None:
        self.token = token
        self.requests: list[RecordedRequest] = []
        self.rules: list[ForcedResponse] = []
        #: Seconds to wait before answering any request.
        self.delay: float = 0.0
        #: Per-operation delays, added to ``delay``.
        self.delays: dict[str, float] = {}
        #: Extra predicate-based hook: return a web.Response to short-circuit.
        self.hook: Callable[[RecordedRequest], web.Response | None] | None = None
        self.base_url: str = ""
        self.port: int = 0
        self._runner: web.AppRunner | None = None
        self.app = web.Application()
        self.app.router.add_route("*", "/{tail:.*}", self._handle)

    # ---------------------------------------------------------------- knobs

    def force(
        self,
        status: int,
        body: Any = None,
        *,
        operation: str | None = None,
        value: str | None = None,
        content_type: str = "application/json",
        times: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> ForcedResponse:
        """Answer ``status`` (with ``body``) to matching requests that passed validation.

        ``operation`` restricts to one operationId, ``value`` to requests carrying that path
        parameter value; ``body`` may be a dict (sent as JSON), a str or bytes.
        """
        if body is None:
            body = _problem(status, "forced by test")
        rule = ForcedResponse(status, body, content_type, operation, value, times, headers)
        self.rules.append(rule)
        return rule

    def clear(self) -> None:
        self.requests.clear()

    def by_operation(self, operation: str | None) -> list[RecordedRequest]:
        return [r for r in self.requests if r.operation == operation]

    @property
    def last(self) -> RecordedRequest:
        assert self.requests, "the fake Qovery upstream received no request"
        return self.requests[-1]

    # ---------------------------------------------------------------- lifecycle

    async def start(self) -> None:
        self._runner = web.AppRunner(
            self.app, access_log=None, handle_signals=False, shutdown_timeout=0.2
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None and server.sockets
        self.port = server.sockets[0].getsockname()[1]
        self.base_url = f"http://127.0.0.1:{self.port}"

    async def stop(self) -> None:
        """Close the listening socket: from now on the upstream is down (connection refused)."""
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    @property
    def running(self) -> bool:
        return self._runner is not None

    # ---------------------------------------------------------------- matching

    @staticmethod
    def _match(raw_path: str) -> tuple[list[Operation], dict[str, str]]:
        """Operations whose template matches the raw path (any method), and decoded params.

        Literal ``.``/``..`` segments are resolved first (RFC 3986 remove_dot_segments), as
        real servers and proxies do, so an unencoded ``..`` in a value really changes the
        route here too. Encoded ones (``%2E%2E``, ``%2F``) stay inside their segment.
        """
        if not raw_path.startswith("/"):
            return [], {}
        segments = _remove_dot_segments(raw_path.split("/")[1:])
        found: list[Operation] = []
        params: dict[str, str] = {}
        for op in OPERATIONS.values():
            tmpl = op.segments
            if len(tmpl) != len(segments):
                continue
            candidate: dict[str, str] = {}
            for t, s in zip(tmpl, segments, strict=True):
                if t.startswith("{"):
                    if s == "":
                        break
                    candidate[t[1:-1]] = unquote(s)
                elif s != t:  # case-sensitive, no decoding of literal segments
                    break
            else:
                found.append(op)
                params = candidate
        return found, params

    # ---------------------------------------------------------------- handler

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        raw = request.raw_path
        raw_only, _, qs = raw.partition("?")
        rec = RecordedRequest(
            method=request.method,
            raw_path=raw,
            raw_path_only=raw_only,
            path="/".join(unquote(s) for s in raw_only.split("/")),
            query=parse_qsl(qs, keep_blank_values=True),
            headers=CIMultiDict(request.headers),
            body=body,
        )
        if body:
            try:
                rec.json = json.loads(body)
            except ValueError:
                rec.json = None
        self.requests.append(rec)

        delay = self.delay
        ops, params = self._match(raw_only)
        op = next((o for o in ops if o.method == request.method), None)
        if op is not None:
            rec.operation = op.operation_id
            rec.path_params = params
            delay += self.delays.get(op.operation_id, 0.0)
        if delay > 0:
            await asyncio.sleep(delay)

        response = self._respond(rec, ops, op, request)
        rec.status = response.status
        rec.response_body = response.body if isinstance(response.body, bytes) else b""
        if rec.response_body and (response.content_type or "").endswith("json"):
            try:
                rec.response_json = json.loads(rec.response_body)
            except (ValueError, RecursionError):  # forced garbage or hostile nesting
                rec.response_json = None
        return response

    def _respond(
        self, rec: RecordedRequest, ops: list[Operation], op: Operation | None, request: web.Request
    ) -> web.Response:
        if not ops:
            return web.json_response(
                _problem(404, f"no route for {rec.method} {rec.raw_path_only}"), status=404
            )
        if op is None:
            allowed = ",".join(sorted({o.method for o in ops}))
            return web.json_response(
                _problem(405, f"{rec.method} not allowed here"),
                status=405,
                headers={"Allow": allowed},
            )

        # Security: exactly "Bearer <token>".
        if rec.authorization != f"Bearer {self.token}":
            return web.json_response(_problem(401, "missing or invalid credentials"), status=401)

        content_type = (rec.content_type or "").split(";")[0].strip().lower()
        has_body = bool(rec.body)
        if op.body is None:
            if has_body:
                return web.json_response(
                    _problem(415, f"{op.operation_id} takes no request body"), status=415
                )
        elif has_body and content_type != "application/json":
            return web.json_response(
                _problem(
                    415, f"request body must be application/json, got {content_type or 'none'}"
                ),
                status=415,
            )

        if rec.query:
            # None of the 8 operations declares query parameters; a strict mock rejects them.
            return web.json_response(_problem(400, "unexpected query parameters"), status=400)

        bad = [name for name in op.path_params if not is_uuid(rec.path_params.get(name))]
        if bad:
            return web.json_response(
                _problem(422, "path parameters must be uuids: " + ", ".join(bad)), status=422
            )

        body: Any = None
        if has_body:
            if rec.json is None and rec.body.strip() != b"null":
                return web.json_response(
                    _problem(400, "request body is not valid JSON"), status=400
                )
            body = rec.json
            try:
                _validate_body(op.body or "", body)
            except _BodyError as exc:
                return web.json_response(_problem(exc.status, exc.message), status=exc.status)

        if NOT_FOUND_ID in rec.path_params.values():
            return web.json_response(
                _problem(404, "resource not found", id=NOT_FOUND_ID), status=404
            )

        if self.hook is not None:
            hooked = self.hook(rec)
            if hooked is not None:
                return hooked

        for rule in self.rules:
            if rule.matches(rec):
                if rule.times is not None:
                    rule.times -= 1
                if isinstance(rule.body, (dict, list)):
                    return web.json_response(rule.body, status=rule.status)
                data = rule.body.encode() if isinstance(rule.body, str) else rule.body
                return web.Response(
                    body=data,
                    status=rule.status,
                    content_type=rule.content_type,
                    headers=rule.headers,
                )

        return web.json_response(self._success(op, rec.path_params, body), status=op.success)

    @staticmethod
    def _success(op: Operation, params: dict[str, str], body: Any) -> dict[str, Any]:
        oid = op.operation_id
        if oid == "cloneContainer":
            src = params["containerId"]
            if body is None:
                env, name = _uuid_for("env-of", src), "my-container-clone"
            else:
                env, name = body["environment_id"], body["name"]
            return container_response(_uuid_for("clone", src, env, name), env, name=name)
        if oid == "getDefaultContainerAdvancedSettings":
            return dict(DEFAULT_ADVANCED_SETTINGS)
        if oid == "listContainer":
            env = params["environmentId"]
            return {
                "results": [
                    container_response(_uuid_for("container", env, "1"), env, name="web"),
                    container_response(
                        _uuid_for("container", env, "2"), env, name="worker", tag="2.0"
                    ),
                ]
            }
        if oid == "createContainer":
            env = params["environmentId"]
            if body is None:
                return container_response(_uuid_for("created", env), env)
            return container_response(
                _uuid_for("created", env, body["name"]),
                env,
                name=body["name"],
                image_name=body["image_name"],
                tag=body["tag"],
                registry_id=body["registry_id"],
                extra=body,
            )
        if oid == "getEnvironmentContainerStatus":
            env = params["environmentId"]
            return {
                "results": [
                    status_object(_uuid_for("container", env, "1")),
                    status_object(_uuid_for("container", env, "2"), state="STOPPED"),
                ]
            }
        if oid in ("autoDeployContainerEnvironments", "previewContainerEnvironments"):
            org = params["organizationId"]
            out = status_object(_uuid_for(oid, org), state="DEPLOYMENT_QUEUED")
            out["status_details"] = {"action": "DEPLOY", "status": "QUEUED", "sub_action": "NONE"}
            out["deployment_request_id"] = _uuid_for("request", oid, org)
            out["deployment_requests_count"] = 1
            return out
        if oid == "getContainerRegistryContainerStatus":
            org, reg = params["organizationId"], params["containerRegistryId"]
            return {"results": [status_object(_uuid_for("registry-container", org, reg))]}
        raise AssertionError(oid)  # pragma: no cover


@asynccontextmanager
async def run_fake_qovery(token: str = DEFAULT_TOKEN) -> AsyncIterator[FakeQovery]:
    fake = FakeQovery(token)
    await fake.start()
    try:
        yield fake
    finally:
        await fake.stop()
