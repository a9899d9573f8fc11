"""`naftiko-gen deploy-files`: Dockerfile and Kubernetes manifests, validated against the official
Kubernetes JSON schemas (kubernetes-validate ships them: offline, strict)."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import tomllib
import urllib.error
import urllib.request
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from naftiko_gen.cli import cli
from naftiko_gen.deploy import RUNTIME_REQUIREMENTS, dns_label
from tests.support import FIXTURES, ROOT, TUTORIAL, free_ports

kubernetes_validate = pytest.importorskip("kubernetes_validate")

SEED = ROOT / "specs" / "qovery-containers.yaml"
K8S_VERSION = "1.30"


def _deploy(tmp_path: Path, *args: str) -> tuple[Path, str]:
    out = tmp_path / "deploy"
    result = CliRunner().invoke(cli, ["deploy-files", *args, "-o", str(out)])
    assert result.exit_code == 0, result.output
    return out, result.output


def _validate(path: Path) -> dict[str, Any]:
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
    return doc  # type: ignore[no-any-return]


def test_seed_manifests_validate(tmp_path: Path) -> None:
    out, output = _deploy(tmp_path, str(SEED), "--replicas", "3", "--image", "registry.example/q:1")
    folder = out / "qovery-containers"
    assert sorted(p.name for p in folder.iterdir()) == [
        "Dockerfile",
        "deployment.yaml",
        "hpa.yaml",
        "service.yaml",
    ]
    deployment = _validate(folder / "deployment.yaml")
    service = _validate(folder / "service.yaml")
    hpa = _validate(folder / "hpa.yaml")
    # One worker per pod, and the manifest says why (the pod is the unit of scale).
    assert (folder / "deployment.yaml").read_text("utf-8").startswith("# One worker per pod")

    spec = deployment["spec"]
    assert spec["replicas"] == 3
    pod = spec["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    containers = {c["name"]: c for c in pod["containers"]}
    assert list(containers) == ["rest", "mcp"]
    # The servers' shutdown grace, and Kubernetes waiting a little longer before SIGKILL.
    graces = {e["value"] for c in containers.values() for e in c["env"]
              if e["name"] == "NAFTIKO_SHUTDOWN_GRACE"}  # fmt: skip
    assert graces == {"8"} and pod["terminationGracePeriodSeconds"] == 10
    for kind, port in (("rest", 8080), ("mcp", 9090)):
        c = containers[kind]
        assert c["image"] == "registry.example/q:1"
        # The seed's adapters authenticate no callers: the containers say so explicitly.
        assert c["command"] == [
            "python", "-m", f"qovery_containers.{kind}_server", "--host", "0.0.0.0", "--port", str(port),
            "--allow-unauthenticated",
        ]  # fmt: skip
        assert c["ports"] == [{"name": kind, "containerPort": port, "protocol": "TCP"}]
        for probe in ("livenessProbe", "readinessProbe"):
            assert c[probe]["httpGet"] == {"path": "/health", "port": kind}
        assert set(c["resources"]) == {"requests", "limits"}
        assert c["env"] == [
            {
                "name": "QOVERY_API_KEY",
                "valueFrom": {
                    "secretKeyRef": {"name": "qovery-containers-secrets", "key": "QOVERY_API_KEY"}
                },
            },
            {"name": "NAFTIKO_SHUTDOWN_GRACE", "value": "8"},
            {"name": "NAFTIKO_WORKERS", "value": "1"},
        ]
        assert c["securityContext"]["allowPrivilegeEscalation"] is False
    assert [(p["name"], p["port"]) for p in service["spec"]["ports"]] == [
        ("rest", 8080),
        ("mcp", 9090),
    ]
    assert service["spec"]["selector"] == spec["selector"]["matchLabels"]
    assert "sessionAffinity" not in service["spec"]  # stateless MCP: any replica answers
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["scaleTargetRef"]["name"] == deployment["metadata"]["name"]
    assert hpa["spec"]["minReplicas"] == 3 and hpa["spec"]["maxReplicas"] > 3
    assert "kubectl create secret generic qovery-containers-secrets" in output

    dockerfile = (folder / "Dockerfile").read_text(encoding="utf-8")
    assert "FROM python:3.11-slim\n" in dockerfile
    assert 'COPY ["generated/qovery_containers/", "/app/qovery_containers/"]' in dockerfile
    assert re.search(r"^USER 10001", dockerfile, re.MULTILINE)
    cmd = json.loads(re.search(r"^CMD (.*)$", dockerfile, re.MULTILINE).group(1))  # type: ignore[union-attr]
    assert cmd[-5:] == ["--host", "0.0.0.0", "--port", "8080", "--allow-unauthenticated"]
    install = json.loads(re.search(r"^RUN (\[\"pip\".*)$", dockerfile, re.MULTILINE).group(1))  # type: ignore[union-attr]
    assert install[2:] == list(RUNTIME_REQUIREMENTS)


def test_runtime_requirements_match_pyproject() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert list(RUNTIME_REQUIREMENTS) == pyproject["project"]["optional-dependencies"]["runtime"]


def test_deterministic_and_idempotent(tmp_path: Path) -> None:
    out, _ = _deploy(tmp_path, str(SEED))
    first = {p: p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}
    _, again = _deploy(tmp_path, str(SEED))
    assert "0 change(s)" in again
    assert {p: p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()} == first


def test_file_binds_mount_a_secret(tmp_path: Path) -> None:
    """Tutorial step 3 reads its secrets from a file:// bind: mounted from a Secret."""
    step3 = next(TUTORIAL.glob("step-3-*.yml"))
    out, output = _deploy(tmp_path, str(step3))
    (folder,) = [p for p in out.iterdir() if p.is_dir()]
    deployment = _validate(folder / "deployment.yaml")
    _validate(folder / "service.yaml")
    _validate(folder / "hpa.yaml")
    pod = deployment["spec"]["template"]["spec"]
    assert pod["volumes"] and all("secret" in v for v in pod["volumes"])
    for c in pod["containers"]:
        names = {e["name"] for e in c.get("env", [])}
        assert any(n.startswith("NAFTIKO_BIND_") and n.endswith("_FILE") for n in names)
        assert c["volumeMounts"][0]["readOnly"] is True
    assert "--from-file=bind.yaml=" in output


@pytest.mark.parametrize(
    "spec",
    [
        SEED,
        *sorted((FIXTURES / "golden").glob("*.yaml")),
        *sorted(TUTORIAL.glob("step-[1-6]-*.yml")),
    ],
    ids=lambda p: p.stem,
)
def test_every_buildable_spec_gives_valid_manifests(spec: Path, tmp_path: Path) -> None:
    out, _ = _deploy(tmp_path, str(spec))
    manifests = sorted(out.rglob("*.yaml"))
    assert manifests
    for path in manifests:
        _validate(path)


def test_dns_label() -> None:
    assert dns_label("qovery_containers") == "qovery-containers"
    assert dns_label("9lives") == "n-9lives"
    long = dns_label("x" * 100)
    assert len(long) <= 63 and re.fullmatch(r"[a-z]([-a-z0-9]*[a-z0-9])?", long)


def test_invalid_spec_writes_nothing(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("naftiko: 1.0.0-alpha2\ncapability: [\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["deploy-files", str(bad), "-o", str(tmp_path / "deploy")])
    assert result.exit_code == 2
    assert not (tmp_path / "deploy").exists()


def test_the_validator_is_strict(tmp_path: Path) -> None:
    """The check above means something: a misspelt field or a wrong type is rejected."""
    out, _ = _deploy(tmp_path, str(SEED))
    doc = yaml.safe_load((out / "qovery-containers" / "deployment.yaml").read_text("utf-8"))
    doc["spec"]["replica"] = doc["spec"].pop("replicas")
    with pytest.raises(Exception, match="replica"):
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
    doc["spec"]["replicas"] = "three"
    del doc["spec"]["replica"]
    with pytest.raises(Exception, match="three"):
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)


# -- control and skill adapters --------------------------------------------------------------------

CONTROL = FIXTURES / "features" / "control" / "feat_control.yaml"
CONTROL_SKILLS = FIXTURES / "deploy" / "deploy_control_skills.yaml"
STEP8 = next(TUTORIAL.glob("step-8-*.yml"))


def _manifests(tmp_path: Path, spec: Path) -> tuple[dict[str, Any], dict[str, Any], str]:
    """The Deployment and Service of one spec, both validated (the HPA too), and the output."""
    out, output = _deploy(tmp_path, str(spec))
    (folder,) = [p for p in out.iterdir() if p.is_dir()]
    deployment = _validate(folder / "deployment.yaml")
    service = _validate(folder / "service.yaml")
    _validate(folder / "hpa.yaml")
    return deployment, service, output


def _containers(deployment: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in deployment["spec"]["template"]["spec"]["containers"]}


def _secret_env(container: dict[str, Any]) -> dict[str, str]:
    return {
        e["name"]: e["valueFrom"]["secretKeyRef"]["key"]
        for e in container.get("env", [])
        if "valueFrom" in e
    }


def test_control_adapter_is_one_container(tmp_path: Path) -> None:
    """The control server runs REST and MCP in its process: one container, probes on its port.
    The fixture's servers listen on 127.0.0.1 (no address), which the control server cannot
    change: they are reachable only inside the pod, so they are not published, and it is said."""
    deployment, service, output = _manifests(tmp_path, CONTROL)
    containers = _containers(deployment)
    assert list(containers) == ["control"]
    c = containers["control"]
    assert c["command"] == [
        "python", "-m", "feat_control.control_server", "--host", "0.0.0.0", "--port", "9092",
        "--allow-unauthenticated",
    ]  # fmt: skip
    assert c["ports"] == [{"name": "control", "containerPort": 9092, "protocol": "TCP"}]
    assert c["livenessProbe"]["httpGet"] == {"path": "/health/live", "port": "control"}
    assert c["readinessProbe"]["httpGet"] == {"path": "/health/ready", "port": "control"}
    assert _secret_env(c) == {
        k: k for k in ("FEAT_CTL_REST_USER", "FEAT_CTL_REST_PASS", "FEAT_CTL_KEY", "FEAT_CTL_TOKEN")
    }
    assert [(p["name"], p["port"], p["targetPort"]) for p in service["spec"]["ports"]] == [
        ("control", 9092, "control")
    ]
    for namespace, port in (("rest-basic", 8081), ("rest-key", 8082), ("tools", 9091)):
        assert f"'{namespace}' is served by the control server on 127.0.0.1:{port}" in output
    dockerfile = (tmp_path / "deploy" / "feat-control" / "Dockerfile").read_text("utf-8")
    assert "\nEXPOSE 9092\n" in dockerfile
    assert '"feat_control.control_server"' in dockerfile.splitlines()[-1]


def test_control_and_skill_containers(tmp_path: Path) -> None:
    deployment, service, output = _manifests(tmp_path, CONTROL_SKILLS)
    containers = _containers(deployment)
    assert list(containers) == ["control", "skill"]
    control, skill = containers["control"], containers["skill"]
    # Caller authentication on the control port: no --allow-unauthenticated, its token from
    # the Secret; the 0.0.0.0 servers it runs are published on its container, the other not.
    assert control["command"] == [
        "python", "-m", "deploy_control_skills.control_server", "--host", "0.0.0.0",
        "--port", "18492",
    ]  # fmt: skip
    assert [(p["name"], p["containerPort"]) for p in control["ports"]] == [
        ("control", 18492),
        ("rest", 18481),
        ("mcp", 18491),
    ]
    assert "'internal-rest' is served by the control server on 127.0.0.1:18482" in output
    assert control["livenessProbe"]["httpGet"] == {"path": "/health/live", "port": "control"}
    assert control["readinessProbe"]["httpGet"] == {"path": "/health/ready", "port": "control"}
    # The skill server: its own container, port and /health (the route _skills serves).
    assert skill["command"] == [
        "python", "-m", "deploy_control_skills.skill_server", "--host", "0.0.0.0",
        "--port", "18471",
    ]  # fmt: skip
    assert skill["ports"] == [{"name": "skill", "containerPort": 18471, "protocol": "TCP"}]
    for probe in ("livenessProbe", "readinessProbe"):
        assert skill[probe]["httpGet"] == {"path": "/health", "port": "skill"}
    # Bind variables, and the skill key no bind declares (the server reads it all the same).
    expected = ["DEPLOY_REST_USER", "DEPLOY_REST_PASS", "DEPLOY_MCP_TOKEN", "DEPLOY_OPS_TOKEN"]
    for c in (control, skill):
        assert list(_secret_env(c)) == [*expected, "DEPLOY_SKILL_KEY"]
    assert "--from-literal=DEPLOY_OPS_TOKEN=..." in output
    assert "--from-literal=DEPLOY_SKILL_KEY=..." in output
    assert [(p["name"], p["port"]) for p in service["spec"]["ports"]] == [
        ("control", 18492),
        ("rest", 18481),
        ("mcp", 18491),
        ("skill", 18471),
    ]


def test_control_without_health_probes_a_served_server(tmp_path: Path) -> None:
    """`management.health: false`: no /health/* route; the probes use a served server's /health,
    or a TCP connect to the control port when none is published."""
    text = CONTROL_SKILLS.read_text("utf-8").replace("health: true", "health: false")
    spec = tmp_path / "no_health.yaml"
    spec.write_text(text, encoding="utf-8")
    deployment, _, _ = _manifests(tmp_path, spec)
    control = _containers(deployment)["control"]
    for probe in ("livenessProbe", "readinessProbe"):
        assert control[probe]["httpGet"] == {"path": "/health", "port": "rest"}
    bare = tmp_path / "bare" / "no_health_bare.yaml"
    bare.parent.mkdir()
    bare.write_text(
        CONTROL.read_text("utf-8").replace("health: true", "health: false"), encoding="utf-8"
    )
    deployment, _, _ = _manifests(tmp_path / "bare", bare)
    control = _containers(deployment)["control"]
    for probe in ("livenessProbe", "readinessProbe"):
        assert "httpGet" not in control[probe]
        assert control[probe]["tcpSocket"] == {"port": "control"}


def test_skill_adapter_container(tmp_path: Path) -> None:
    deployment, service, _ = _manifests(tmp_path, STEP8)
    containers = _containers(deployment)
    assert list(containers) == ["mcp", "skill"]
    skill = containers["skill"]
    assert skill["command"] == [
        "python", "-m", "step_8_shipyard_skill_groups.skill_server", "--host", "0.0.0.0",
        "--port", "3002", "--allow-unauthenticated",
    ]  # fmt: skip
    assert skill["ports"] == [{"name": "skill", "containerPort": 3002, "protocol": "TCP"}]
    for probe in ("livenessProbe", "readinessProbe"):
        assert skill[probe]["httpGet"] == {"path": "/health", "port": "skill"}
    assert [(p["name"], p["port"]) for p in service["spec"]["ports"]] == [
        ("mcp", 3001),
        ("skill", 3002),
    ]


# -- the containers' commands start, and their probes answer ---------------------------------------


def _pod_ip() -> str:
    """An address of this machine other than loopback: as the kubelet and the Service reach a
    pod, so a server listening on 127.0.0.1 only does not pass (127.0.0.1 without a network)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("10.255.255.255", 1))  # UDP: nothing is sent, a route is chosen
            ip: str = s.getsockname()[0]
        except OSError:
            return "127.0.0.1"
    return ip


def _with_free_ports(spec: Path, folder: Path, text: str | None = None) -> Path:
    """The spec (and the `shared/` folder its binds read, if any) copied into `folder`, each
    `port:` a free one: the servers the control server runs take no port flag."""
    text = spec.read_text("utf-8") if text is None else text
    ports = sorted(set(re.findall(r"^\s*port:\s*(\d+)\s*$", text, re.MULTILINE)))
    free = dict(zip(ports, map(str, free_ports(len(ports), host="")), strict=True))
    text = re.sub(
        r"^(\s*port:\s*)(\d+)(\s*)$", lambda m: m[1] + free[m[2]] + m[3], text, flags=re.MULTILINE
    )
    folder.mkdir(parents=True)
    if (spec.parent / "shared").is_dir():
        shutil.copytree(spec.parent / "shared", folder / "shared")
    copy = folder / spec.name
    copy.write_text(text, encoding="utf-8")
    return copy


def _get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=2) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def _container_env(container: dict[str, Any], spec: dict[str, Any], mounts: Path) -> dict[str, str]:
    """The environment the manifest declares: Secret keys with test values; file binds as the
    mounted Secret would hold them (each bind's keys in a bind.yaml under a folder of ours)."""
    env = {"PATH": os.environ["PATH"]}
    moved = {m["mountPath"]: mounts / m["name"] for m in container.get("volumeMounts", [])}
    for bind in spec.get("binds", []):
        for mount, local in moved.items():
            if mount.endswith("/" + bind["namespace"]):
                local.mkdir(parents=True, exist_ok=True)
                values = {key: f"test-{key}" for key in bind["keys"].values()}
                (local / "bind.yaml").write_text(yaml.safe_dump(values), encoding="utf-8")
    for e in container.get("env", []):
        if "valueFrom" in e:
            env[e["name"]] = "test-" + e["valueFrom"]["secretKeyRef"]["key"]
        elif mount := next((m for m in moved if e["value"].startswith(m + "/")), None):
            env[e["name"]] = str(moved[mount]) + e["value"][len(mount) :]
        else:  # a plain setting (NAFTIKO_SHUTDOWN_GRACE, NAFTIKO_WORKERS)
            env[e["name"]] = e["value"]
    return env


def _control_auth_holds(
    container: dict[str, Any], spec: dict[str, Any], ports: dict[str, int], ip: str
) -> None:
    """A control adapter with a bearer token of its own: /status refuses a caller without it
    and answers the one with it (the token comes from the Secret, as the manifest says)."""
    control = [e for e in spec["capability"]["exposes"] if e.get("type") == "control"]
    auth = control[0].get("authentication") if control and container["name"] == "control" else None
    if not auth or auth.get("type") != "bearer":
        return
    variable = re.fullmatch(r"\{\{(\w+)\}\}", auth["token"])
    assert variable, auth
    secret = next(e for e in container["env"] if e["name"] == variable[1])
    token = "test-" + secret["valueFrom"]["secretKeyRef"]["key"]
    url = f"http://{ip}:{ports['control']}/status"
    assert _get(url) == 401
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=2) as answer:
        assert answer.status == 200


def _start_and_probe(tmp_path: Path, spec: Path) -> None:
    generated = tmp_path / "generated"
    built = CliRunner().invoke(cli, ["build", str(spec), "-o", str(generated)])
    assert built.exit_code == 0, built.output
    deployment, service, _ = _manifests(tmp_path, spec)
    source = yaml.safe_load(spec.read_text("utf-8"))
    ip = _pod_ip()
    with ExitStack() as stack:
        started: list[tuple[dict[str, Any], subprocess.Popen[bytes]]] = []
        for c in deployment["spec"]["template"]["spec"]["containers"]:
            command = c["command"]
            assert command[:2] == ["python", "-m"]
            proc = subprocess.Popen(
                [sys.executable, *command[1:]],  # the image's python: this one, with the runtime
                cwd=generated,  # WORKDIR /app, the package beside it
                env=_container_env(c, source, tmp_path / "mounts" / c["name"]),
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
            )
            stack.callback(proc.wait, 10)
            stack.callback(proc.terminate)
            started.append((c, proc))
        declared = {p["name"]: p["containerPort"] for c, _ in started for p in c["ports"]}
        assert [p["targetPort"] for p in service["spec"]["ports"]] == list(declared)
        for c, proc in started:
            ports = {p["name"]: p["containerPort"] for p in c["ports"]}
            checks = [c["readinessProbe"], c["livenessProbe"]]
            deadline = time.monotonic() + 20
            while True:
                if proc.poll() is not None:
                    output = proc.stdout.read().decode() if proc.stdout else ""
                    pytest.fail(f"{c['name']}: {c['command']} exited {proc.returncode}:\n{output}")
                statuses = []
                for probe in checks:
                    port = ports[(probe.get("httpGet") or probe["tcpSocket"])["port"]]
                    if "httpGet" in probe:
                        try:
                            statuses.append(_get(f"http://{ip}:{port}{probe['httpGet']['path']}"))
                        except OSError:
                            statuses.append(0)
                    else:
                        try:
                            socket.create_connection((ip, port), timeout=2).close()
                            statuses.append(200)
                        except OSError:
                            statuses.append(0)
                if statuses == [200, 200] or time.monotonic() > deadline:
                    break
                time.sleep(0.1)
            assert statuses == [200, 200], (c["name"], checks)
            _control_auth_holds(c, source, ports, ip)
            # Every port the Service targets listens on the pod's address (not loopback only).
            for name, port in ports.items():
                try:
                    socket.create_connection((ip, port), timeout=2).close()
                except OSError as exc:
                    pytest.fail(f"{c['name']}: port {name} ({ip}:{port}) does not answer: {exc}")


@pytest.mark.slow
@pytest.mark.parametrize(
    "spec, edit",
    [
        (CONTROL, None),
        (STEP8, None),
        # The control token shared with the MCP server, and one of its own.
        (CONTROL_SKILLS, ("{{DEPLOY_OPS_TOKEN}}", "{{DEPLOY_MCP_TOKEN}}")),
        (CONTROL_SKILLS, None),
    ],
    ids=["control", "skill-step8", "control-shared-token", "control-own-token"],
)
def test_container_commands_start_and_probes_answer(
    spec: Path, edit: tuple[str, str] | None, tmp_path: Path
) -> None:
    """Each container's command, run as the manifest says (0.0.0.0, its env filled with test
    values), answers 200 on each of its probes, asked on the machine's non-loopback address."""
    text = spec.read_text("utf-8")
    if edit:
        assert edit[0] in text
        text = text.replace(*edit)
    _start_and_probe(tmp_path, _with_free_ports(spec, tmp_path / "spec", text))
