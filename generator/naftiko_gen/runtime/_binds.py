"""Secrets from bind files: a flat JSON or YAML map next to the spec (file:// binds)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path

from . import _runtime as rt
from ._secrets import SecretSource, checked


def file_env(bind: str) -> str:
    """The variable that overrides where a bind's file is: NAFTIKO_BIND_<BIND>_FILE."""
    return "NAFTIKO_BIND_" + re.sub(r"[^A-Za-z0-9]+", "_", bind).upper().strip("_") + "_FILE"


def file_secrets(
    sources: Mapping[str, SecretSource], package_dir: Path, environ: Mapping[str, str]
) -> dict[str, str]:
    values: dict[str, str] = {}
    files: dict[str, dict[str, str]] = {}
    for name, source in sources.items():
        if source.file is None:
            continue
        override = environ.get(file_env(source.bind))
        path = Path(override) if override else (package_dir / source.file).resolve()
        if str(path) not in files:
            try:
                files[str(path)] = _read_flat_map(path)
            except (OSError, ValueError, TypeError) as exc:
                raise rt.ConfigError(
                    f"cannot read bind file {path} for bind '{source.bind}' "
                    f"({type(exc).__name__}); set {file_env(source.bind)} to its path"
                ) from None
        value = files[str(path)].get(source.key)
        if not value:
            raise rt.ConfigError(
                f"bind file {path} has no value for '{source.key}' (bind '{source.bind}')"
            )
        values[name] = value if source.multiline else checked(name, value)
    return values


def _read_flat_map(path: Path) -> dict[str, str]:
    text = path.read_text(encoding="utf-8")
    if text.lstrip().startswith("{"):
        data = json.loads(text)
        if not isinstance(data, dict):
            raise TypeError("not a JSON object")
        return {str(k): rt.text(v) for k, v in data.items()}
    try:
        import yaml  # type: ignore[import-untyped,unused-ignore]
    except ImportError:
        return _read_flat_yaml(text)
    try:
        loaded = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise ValueError("invalid YAML") from exc
    if not isinstance(loaded, dict):
        raise TypeError("not a mapping")
    return {str(k): rt.text(v) for k, v in loaded.items()}


def _read_flat_yaml(text: str) -> dict[str, str]:
    """`key: value` lines, for bind files when PyYAML is not installed."""
    out: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or line == "---":
            continue
        key, sep, value = line.partition(":")
        if not sep:
            raise ValueError(f"cannot read line {raw!r}")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        out[key.strip().strip("'\"")] = value
    return out
