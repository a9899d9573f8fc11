"""The control adapter → a control server; oauth2 resource-server settings → ir.OAuth2."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

from naftiko_gen.diagnostics import Report
from naftiko_gen.model import Auth, ControlAdapter
from naftiko_gen.plan import ir
from naftiko_gen.plan.secrets import secret_names

if TYPE_CHECKING:
    from naftiko_gen.plan.adapters import AdapterPlanner


def control_server(adapter: ControlAdapter, planner: AdapterPlanner) -> ir.ControlServer:
    if adapter.auth is not None and adapter.auth.kind == "oauth2":
        planner.error(
            "naftiko-unsupported-auth",
            "the control port takes bearer, apikey or basic callers, not oauth2",
            adapter.auth.pos,
        )
        adapter.auth = None
    auth = planner.inbound_auth(adapter.auth)
    return ir.ControlServer(
        module=planner.modules.take("control_server"),
        host=planner.host(adapter.address, adapter.positions.get("address", adapter.pos)),
        port=adapter.port,
        auth=auth,
        secrets=secret_names(auth),
        health=adapter.health,
        info=adapter.info,
        metrics=adapter.metrics,
        traces=adapter.traces,
        trace_buffer=adapter.trace_buffer,
        sampling=adapter.sampling,
        otlp_endpoint=adapter.otlp_endpoint,
    )


def oauth2(a: Auth, spec: Path, package_dir: Path, report: Report) -> ir.OAuth2 | None:
    """The resource server's checks; a `jwks` file must hold a key set already at build time."""
    p = a.params
    jwks_file = None
    if p.get("jwks"):
        written: str = p["jwks"]
        raw = written.removeprefix("file://")
        path = Path(raw) if raw.startswith("/") else spec.parent / raw
        pos = a.positions.get("jwks", a.pos)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            problem = "cannot be read" if isinstance(exc, OSError) else "is not JSON"
            report.error("naftiko-oauth2-jwks", f"the JWKS file '{written}' {problem}", pos)
            return None
        if not isinstance(data, dict) or not isinstance(data.get("keys"), list):
            report.error(
                "naftiko-oauth2-jwks",
                f"the JWKS file '{written}' holds no key set (a JSON object with a 'keys' list)",
                pos,
            )
            return None
        jwks_file = Path(os.path.relpath(path.resolve(), package_dir.resolve())).as_posix()
    return ir.OAuth2(
        issuer=p["authorizationServerUri"],
        resource=p["resource"],
        audience=p.get("audience") or p["resource"],
        scopes=list(p.get("scopes") or []),
        jwks_uri=p.get("jwksUri"),
        jwks_file=jwks_file,
    )
