"""`naftiko-gen deploy-files`: a Dockerfile and Kubernetes manifests for each capability.

Everything is built as data and serialised (YAML by the dumper, Dockerfile instructions with their
arguments JSON-encoded), from the spec as `build` plans it (so module names, ports, hosts and the
secrets the servers read are those of the generated package) and every variable the binds declare.
Per capability, `deploy/<name>/` receives:

- `Dockerfile`: python:3.11-slim, the generated servers' runtime dependencies, the generated package,
  a non-root user; `CMD` runs the first container's server on 0.0.0.0 (the Deployment picks the
  server per container);
- `deployment.yaml`: one container per server process, each listening on 0.0.0.0 on its spec port:
  - without a control adapter, the (first) REST server and the (first) MCP server over HTTP, probes
    on their `/health`;
  - with a control adapter, one `control` container running the control server, which serves the
    spec's REST and MCP servers in its own process (so /metrics counts their calls, and no second
    container serves them again): its port and theirs, probes on `/health/live` and
    `/health/ready` of the control port (when `management.health` is off: a published served
    server's `/health`, else a TCP check of the control port). The control server has no flag
    for the served servers' interface: they listen on their adapter's `address`, and one that is
    not the wildcard address is reachable only inside the pod, so it is left out of the ports
    and the Service, with a note;
  - one container per skill adapter (its catalogue server), probes on its `/health`;
  resource requests and limits, a restricted security context, every bind variable and every
  secret an adapter's `authentication` reads from the environment without a bind from a Secret
  (`secretKeyRef`; `file://` binds as a mounted Secret file);
- `service.yaml`: a ClusterIP Service with one port per published server port;
- `hpa.yaml`: an autoscaling/v2 HorizontalPodAutoscaler on CPU.

The MCP server is stateless (streamable HTTP, JSON responses), so any replica can answer any request:
the Service spreads them without session affinity. A spec that does not build gives its diagnostics
and no files; one with no server over HTTP (MCP over stdio only) gives none either.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from naftiko_gen.codegen import analyse, display_path, find_specs
from naftiko_gen.diagnostics import Report
from naftiko_gen.naming import env_name
from naftiko_gen.plan import ir
from naftiko_gen.reader.capability import read_capability

# What the generated servers need at run time (the `runtime` extra of pyproject.toml).
RUNTIME_REQUIREMENTS = (
    "aiohttp>=3.9",
    "mcp>=2.3,<3",
    "uvicorn>=0.30",
    "uvloop>=0.19; sys_platform != 'win32'",
    "httptools>=0.6; sys_platform != 'win32'",
    "jsonschema>=4.20",
    "pyjwt[crypto]>=2.10",
    "swagger-ui-py>=25.7",
)
BASE_IMAGE = "python:3.11-slim"
UID = 10001
# The servers let calls in flight finish for SHUTDOWN_GRACE seconds after SIGTERM (the runtime's
# default, set explicitly below); Kubernetes waits a little longer before its SIGKILL.
SHUTDOWN_GRACE = 8
TERMINATION_GRACE = SHUTDOWN_GRACE + 2
SECRETS_DIR = "/etc/naftiko/binds"
# One server process per container: the pod is the unit of scale here, not the worker.
WORKERS = 1
WORKERS_NOTE = """\
# One worker per pod (NAFTIKO_WORKERS=1), on purpose: each container's CPU limit (500m) is less
# than the one core a worker can use, so more workers would only share it; the HPA adds pods on
# CPU and the Service spreads calls over them; Kubernetes restarts a crashed pod, where a worker
# dying takes its siblings down anyway; and the control server's /metrics, /traces and
# /health/ready are per process, exact only with one. For more throughput per pod, raise the CPU
# limit and NAFTIKO_WORKERS together (0: one worker per core).
"""
RESOURCES = {
    "requests": {"cpu": "100m", "memory": "128Mi"},
    "limits": {"cpu": "500m", "memory": "256Mi"},
}
# Addresses that listen on every interface: the pod IP the Service and the kubelet use included.
WILDCARD = frozenset({"0.0.0.0", "::", "[::]"})  # noqa: S104 - recognised, not bound


@dataclass
class SecretEnv:
    name: str  # environment variable the server reads
    key: str  # key in the Kubernetes Secret


@dataclass
class FileBind:
    namespace: str
    env: str  # NAFTIKO_BIND_<NS>_FILE
    secret: str  # Kubernetes Secret holding the map under `bind.yaml`


@dataclass
class Probes:
    """Where the kubelet checks a container: HTTP paths on a named port (None: a TCP connect)."""

    port: str
    live: str | None = "/health"
    ready: str | None = "/health"


@dataclass
class Server:
    """One container: a server module of the generated package and the ports it publishes."""

    name: str  # the container's name and its own port's name (≤ 15 characters)
    module: str
    port: int
    open: bool  # no caller authentication: the servers refuse 0.0.0.0 without a flag
    probes: Probes
    # Further ports the same process serves (the control server runs the REST and MCP servers).
    served: list[tuple[str, int]] = field(default_factory=list)

    @property
    def ports(self) -> list[tuple[str, int]]:
        return [(self.name, self.port), *self.served]


@dataclass
class Target:
    package: str
    name: str  # DNS-1123 label
    spec: str  # display path
    servers: list[Server] = field(default_factory=list)
    secrets: list[SecretEnv] = field(default_factory=list)
    file_binds: list[FileBind] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what the manifests cannot do, said once
    members: list[str] = field(default_factory=list)  # a family: the packages it imports

    @property
    def secret_name(self) -> str:
        return dns_label(f"{self.name}-secrets")

    @property
    def ports(self) -> list[tuple[str, int]]:
        return [p for s in self.servers for p in s.ports]


def dns_label(text: str) -> str:
    """A Kubernetes name: lower-case letters, digits and '-', starting with a letter, ≤ 63."""
    s = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "capability"
    if not s[0].isalpha():
        s = "n-" + s
    if len(s) > 63:
        s = (
            s[:54].rstrip("-")
            + "-"
            + hashlib.sha1(s.encode(), usedforsecurity=False).hexdigest()[:8]
        )
    return s


def _numbered(kind: str, index: int) -> str:
    """Container and port names: rest, rest-2, ... (a port name has at most 15 characters)."""
    return kind if index == 0 else f"{kind}-{index + 1}"


def _servers(plan: ir.Plan, notes: list[str]) -> list[Server]:
    servers: list[Server] = []
    mcp_http = [m for m in plan.mcp if m.transport != "stdio"]
    if plan.control is not None:
        control = plan.control
        served: list[tuple[str, int]] = []
        groups: list[tuple[str, Sequence[ir.RestServer | ir.McpServer]]] = [
            ("rest", plan.rest),
            ("mcp", mcp_http),
        ]
        for kind, group in groups:
            for i, s in enumerate(group):
                port = s.port or 0
                if s.host in WILDCARD:
                    served.append((_numbered(kind, i), port))
                else:
                    notes.append(
                        f"{kind} adapter '{s.namespace}' is served by the control server on "
                        f"{s.host}:{port} (its address; the control server has no flag to change "
                        "it): reachable only inside the pod, so it is not in the Service; "
                        "set `address: 0.0.0.0` on the adapter to publish it"
                    )
        if control.health:
            probes = Probes("control", "/health/live", "/health/ready")
        elif served:  # the REST and MCP servers answer /health themselves
            probes = Probes(served[0][0])
        else:
            probes = Probes("control", None, None)
        servers.append(
            Server("control", control.module, control.port, control.auth is None, probes, served)
        )
    else:
        # As before the other server kinds: the first REST server, the first MCP server over HTTP.
        if plan.rest:
            rest = plan.rest[0]
            servers.append(
                Server("rest", rest.module, rest.port, rest.auth is None, Probes("rest"))
            )
        if mcp_http:
            mcp = mcp_http[0]
            servers.append(
                Server("mcp", mcp.module, mcp.port or 9090, mcp.auth is None, Probes("mcp"))
            )
    for i, skill in enumerate(plan.skills):
        name = _numbered("skill", i)
        servers.append(Server(name, skill.module, skill.port, skill.auth is None, Probes(name)))
    return servers


def target_for(spec: Path, report: Report, generated_dir: str = "generated") -> Target | None:
    display = display_path(spec)
    # The binds as written (every variable, used or not, as deploy-files always listed them)...
    cap = read_capability(spec, display, Report())
    # ... and the plan `build` makes: the package's modules, ports, hosts and secrets.
    plan = analyse(spec, Path(generated_dir), report)
    if cap is None or plan is None:
        return None
    target = Target(plan.package, dns_label(plan.package), display)
    target.servers = _servers(plan, target.notes)
    for bind in cap.binds:
        if bind.location is None:
            for provider_key in bind.keys.values():
                if provider_key not in {s.name for s in target.secrets}:
                    target.secrets.append(SecretEnv(provider_key, provider_key))
        elif bind.location.startswith("file:"):
            target.file_binds.append(
                FileBind(
                    bind.namespace,
                    f"NAFTIKO_BIND_{env_name(bind.namespace)}_FILE",
                    dns_label(f"{target.name}-{bind.namespace}-bind"),
                )
            )
    # Secrets no bind declares (an adapter's `authentication` naming `{{VAR}}`): the servers read
    # the environment variable VAR at start-up, so it comes from the Secret as well.
    for _, source in sorted(plan.secret_sources.items()):
        if source.file is None and source.key not in {s.name for s in target.secrets}:
            target.secrets.append(SecretEnv(source.key, source.key))
    return target


# -- the files ----------------------------------------------------------------------------------------


def dockerfile(t: Target, generated_dir: str) -> str:
    def exec_form(args: list[str]) -> str:
        return json.dumps(args)

    lines = [
        f"# Generated by naftiko-gen deploy-files from {t.spec}.",
        f"# Build from the repository root: docker build -f deploy/{t.name}/Dockerfile -t {t.name} .",
        f"FROM {BASE_IMAGE}",
        "ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1",
        "RUN " + exec_form(["pip", "install", *RUNTIME_REQUIREMENTS]),
        "RUN "
        + exec_form(
            [
                "useradd",
                "--uid",
                str(UID),
                "--no-create-home",
                "--shell",
                "/usr/sbin/nologin",
                "naftiko",
            ]
        ),
        "WORKDIR /app",
        # A family imports its members: the whole output folder, one layer (not one per member).
        "COPY "
        + exec_form(
            [f"{generated_dir}/", "/app/"]
            if t.members
            else [f"{generated_dir}/{t.package}/", f"/app/{t.package}/"]
        ),
        # Bytecode compiled into the image: each replica starts without compiling the package.
        "RUN "
        + exec_form(
            ["python", "-m", "compileall", "-q", "/app" if t.members else f"/app/{t.package}"]
        ),
        f"USER {UID}:{UID}",
    ]
    if t.ports:
        lines.append("EXPOSE " + " ".join(str(port) for _, port in t.ports))
    lines.append("CMD " + exec_form(_command(t, t.servers[0])))
    return "\n".join(lines) + "\n"


def _command(t: Target, s: Server) -> list[str]:
    return [
        "python",
        "-m",
        f"{t.package}.{s.module}",
        "--host",
        "0.0.0.0",  # noqa: S104 - inside a container: the pod network is the boundary
        "--port",
        str(s.port),
        # No caller authentication in the spec: the Service is cluster-internal, and whoever
        # exposes it (an Ingress, a gateway) authenticates callers. Said explicitly here.
        *(["--allow-unauthenticated"] if s.open else []),
    ]


def _labels(t: Target) -> dict[str, str]:
    return {"app.kubernetes.io/name": t.name, "app.kubernetes.io/managed-by": "naftiko-gen"}


def _probe(path: str | None, port_name: str, initial: int, period: int) -> dict[str, Any]:
    check = (
        {"httpGet": {"path": path, "port": port_name}}
        if path
        else {"tcpSocket": {"port": port_name}}
    )
    return {
        **check,
        "initialDelaySeconds": initial,
        "periodSeconds": period,
        "timeoutSeconds": 2,
        "failureThreshold": 3,
    }


def _container(t: Target, s: Server, image: str) -> dict[str, Any]:
    env: list[dict[str, Any]] = [
        {
            "name": e.name,
            "valueFrom": {"secretKeyRef": {"name": t.secret_name, "key": e.key}},
        }
        for e in t.secrets
    ]
    env += [
        {"name": f.env, "value": f"{SECRETS_DIR}/{f.namespace}/bind.yaml"} for f in t.file_binds
    ]
    env.append({"name": "NAFTIKO_SHUTDOWN_GRACE", "value": str(SHUTDOWN_GRACE)})
    env.append({"name": "NAFTIKO_WORKERS", "value": str(WORKERS)})  # WORKERS_NOTE says why
    container: dict[str, Any] = {
        "name": s.name,
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "command": _command(t, s),
        "ports": [
            {"name": name, "containerPort": port, "protocol": "TCP"} for name, port in s.ports
        ],
    }
    if env:
        container["env"] = env
    container.update(
        {
            "readinessProbe": _probe(s.probes.ready, s.probes.port, 2, 5),
            "livenessProbe": _probe(s.probes.live, s.probes.port, 10, 10),
            "resources": RESOURCES,
            "securityContext": {
                "allowPrivilegeEscalation": False,
                "readOnlyRootFilesystem": True,
                "runAsNonRoot": True,
                "runAsUser": UID,
                "capabilities": {"drop": ["ALL"]},
            },
        }
    )
    if t.file_binds:
        container["volumeMounts"] = [
            {"name": f.secret, "mountPath": f"{SECRETS_DIR}/{f.namespace}", "readOnly": True}
            for f in t.file_binds
        ]
    return container


def deployment(t: Target, image: str, replicas: int) -> dict[str, Any]:
    pod: dict[str, Any] = {
        "automountServiceAccountToken": False,
        "terminationGracePeriodSeconds": TERMINATION_GRACE,
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": UID,
            "runAsGroup": UID,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "containers": [_container(t, s, image) for s in t.servers],
    }
    if t.file_binds:
        pod["volumes"] = [
            {"name": f.secret, "secret": {"secretName": f.secret}} for f in t.file_binds
        ]
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": t.name, "labels": _labels(t)},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app.kubernetes.io/name": t.name}},
            "template": {"metadata": {"labels": _labels(t)}, "spec": pod},
        },
    }


def service(t: Target) -> dict[str, Any]:
    ports = [
        {"name": name, "port": port, "targetPort": name, "protocol": "TCP"}
        for name, port in t.ports
    ]
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": t.name, "labels": _labels(t)},
        "spec": {
            "type": "ClusterIP",
            "selector": {"app.kubernetes.io/name": t.name},
            "ports": ports,
        },
    }


def hpa(t: Target, replicas: int) -> dict[str, Any]:
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": t.name, "labels": _labels(t)},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": t.name},
            "minReplicas": replicas,
            "maxReplicas": max(replicas * 5, replicas + 1),
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "cpu",
                        "target": {"type": "Utilization", "averageUtilization": 70},
                    },
                }
            ],
        },
    }


class _Dumper(yaml.SafeDumper):
    """No anchors or aliases: every node is written out where it is used."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _dump(doc: dict[str, Any]) -> str:
    return yaml.dump(doc, Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=120)


def render(
    t: Target, image: str | None, replicas: int, generated_dir: str = "generated"
) -> dict[str, str]:
    """File name (relative to the output folder) → text, for one capability."""
    img = image or f"{t.name}:latest"
    return {
        f"{t.name}/Dockerfile": dockerfile(t, generated_dir),
        f"{t.name}/deployment.yaml": WORKERS_NOTE + _dump(deployment(t, img, replicas)),
        f"{t.name}/service.yaml": _dump(service(t)),
        f"{t.name}/hpa.yaml": _dump(hpa(t, replicas)),
    }


def family_target(name: str, members: list[Target]) -> Target:
    """The family package `build --compose NAME` wrote: one REST and one MCP container serving
    every member, on the first member's ports; every member's secrets and file binds."""
    family = Target(name, dns_label(name), ", ".join(t.spec for t in members))
    family.members = [t.package for t in members]
    for kind, module in (("rest", "rest_server"), ("mcp", "mcp_server")):
        found = [s for t in members for s in t.servers if s.name == kind]
        if found:
            # The family's MCP endpoint never asks callers for credentials (naftiko-family-auth).
            opened = kind == "mcp" or any(s.open for s in found)
            family.servers.append(Server(kind, module, found[0].port, opened, Probes(kind)))
    for t in members:
        for secret in t.secrets:
            if secret.name not in {s.name for s in family.secrets}:
                family.secrets.append(secret)
        for bind in t.file_binds:
            if bind.env not in {b.env for b in family.file_binds}:
                family.file_binds.append(bind)
    return family


def deploy_files(
    paths: list[Path],
    image: str | None,
    replicas: int,
    generated_dir: str = "generated",
    compose: str | None = None,
) -> tuple[dict[str, str], list[Target], Report]:
    """Files per capability; with `compose`, the family package NAME's instead (one Deployment
    for all of them)."""
    report = Report()
    files: dict[str, str] = {}
    targets: list[Target] = []
    for spec in find_specs(paths, report):
        t = target_for(spec, report, generated_dir)
        if t is None or not t.servers:  # no server over HTTP (an MCP server over stdio only)
            continue
        targets.append(t)
    if compose is not None and targets:
        targets = [family_target(compose, targets)]
    for t in targets:
        files.update(render(t, image, replicas, generated_dir))
    return files, targets, report


def run_deploy_files(
    paths: list[Path],
    out_dir: Path,
    image: str | None,
    replicas: int,
    generated_dir: Path,
    compose: str | None = None,
) -> int:
    import click

    files, targets, report = deploy_files(paths, image, replicas, generated_dir.as_posix(), compose)
    for d in report.errors:
        click.echo(d.format(), err=True)
    if report.has_errors():
        click.echo("naftiko-gen: nothing was written", err=True)
        return 2
    if not targets:
        click.echo("naftiko-gen: no capability with an HTTP server found", err=True)
        return 2
    changed = 0
    try:
        for rel, text in sorted(files.items()):
            path = out_dir / rel
            if path.is_file() and path.read_text(encoding="utf-8") == text:
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            changed += 1
    except OSError as exc:
        click.echo(
            f"naftiko-gen: cannot write {out_dir.as_posix()}/: {exc.strerror or exc}", err=True
        )
        return 2
    click.echo(
        f"wrote deployment files for {len(targets)} capability(ies) into {out_dir.as_posix()}/: "
        f"{changed} change(s)"
    )
    for t in targets:
        if t.secrets:
            literals = " ".join(f"--from-literal={s.key}=..." for s in t.secrets)
            click.echo(f"  {t.name}: kubectl create secret generic {t.secret_name} {literals}")
        for f in t.file_binds:
            click.echo(
                f"  {t.name}: kubectl create secret generic {f.secret} --from-file=bind.yaml=..."
            )
        for note in t.notes:
            click.echo(f"  {t.name}: note: {note}")
    return 0
