"""Template variables that name secrets: `{{VAR}}`, `{{bindNamespace.VAR}}`, `{{env.VAR}}`."""

from __future__ import annotations

import dataclasses
import os
import re
from pathlib import Path
from typing import Any

from naftiko_gen.diagnostics import Pos, Report
from naftiko_gen.model import Bind
from naftiko_gen.plan.ir import EnvRef, SecretRef, SecretSource, find

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class Secrets:
    """Resolves secret variables through binds and records where each one comes from."""

    def __init__(self, binds: list[Bind], package_dir: Path, report: Report) -> None:
        self.binds = binds
        self.package_dir = package_dir
        self.report = report
        self.sources: dict[str, SecretSource] = {}
        self.by_var: dict[str, Bind] = {}
        for b in binds:
            for var in b.keys:
                self.by_var.setdefault(var, b)

    def lookup(self, name: str, pos: Pos, env_fallback: bool = False) -> SecretRef | EnvRef | None:
        """`env_fallback` (secret-only places such as auth): a `{{VAR}}` no bind declares is the
        environment variable VAR, checked at start-up like a bind (a note)."""
        bind: Bind | None = None
        var = name
        ns, dot, rest = name.partition(".")
        if dot:
            bind = next((b for b in self.binds if b.namespace == ns and rest in b.keys), None)
            var = rest
            if bind is None and ns == "env" and not any(b.namespace == "env" for b in self.binds):
                self.report.warning(
                    "naftiko-env-without-bind",
                    f"'{{{{{name}}}}}' reads environment variable {rest} directly; "
                    "declare it in 'binds' to document it",
                    pos,
                )
                return EnvRef(rest)
        else:
            bind = self.by_var.get(name)
            if bind is None and env_fallback and _ENV_NAME.match(name):
                return self.env_secret(name, name, pos)
        if bind is None:
            return None
        secret_name = f"{bind.namespace}.{var}"
        if secret_name not in self.sources:
            file_rel = None
            if bind.location_path is not None:
                file_rel = Path(
                    os.path.relpath(bind.location_path.resolve(), self.package_dir.resolve())
                ).as_posix()
            self.sources[secret_name] = SecretSource(bind.namespace, bind.keys[var], file_rel)
        return SecretRef(secret_name)

    def env_secret(self, written: str, var: str, pos: Pos) -> SecretRef:
        self.report.warning(
            "naftiko-dialect-secret-env",
            f"'{{{{{written}}}}}' is declared by no bind; it is read from the environment variable "
            f"{var}, required at start-up (canonical: binds: [{{namespace: env, keys: "
            f"{{{var}: {var}}}}}] and '{{{{{var}}}}}')",
            pos,
        )
        secret_name = f"env.{var}"
        self.sources.setdefault(secret_name, SecretSource("env", var, None))
        return SecretRef(secret_name)

    def allow_line_breaks(self, name: str) -> None:
        """A secret read as PEM text (a key, a certificate): never put in a header."""
        if name in self.sources:
            self.sources[name] = dataclasses.replace(self.sources[name], multiline=True)


def secret_names(*values: Any) -> list[str]:
    """Every secret a piece of the plan refers to."""
    return sorted({ref.name for ref in find(SecretRef, *values)})
