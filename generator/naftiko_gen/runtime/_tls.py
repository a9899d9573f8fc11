"""Client certificates (mutual TLS): one SSL context per upstream, built at start-up.

Each value is PEM text (from a bind), `file://PATH` (written in the spec: relative to the
generated package, where naftiko-gen put it) or the path of a PEM file. The context trusts the system's
certificate authorities (SSL_CERT_FILE / SSL_CERT_DIR override them, as OpenSSL reads them) and,
when given, the upstream's own CA certificate.
"""

from __future__ import annotations

import os
import ssl
import tempfile
from pathlib import Path

from . import _runtime as rt

PEM = "-----BEGIN"


def _pem_file(folder: str, name: str, value: str) -> str:
    """A path to the PEM: the value itself when it is a path, else a private temporary file."""
    if PEM not in value:
        return value
    path = Path(folder) / name
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(value)
    return str(path)


def _located(value: str, origin: str) -> str:
    if value.startswith("file://"):
        return str(Path(origin).resolve().parent / value[len("file://") :])
    return value


def context(
    certificate: str,
    private_key: str = "",
    *,
    ca_certificate: str = "",
    password: str = "",
    origin: str = "",
) -> ssl.SSLContext:
    """An SSL context presenting the client certificate; ConfigError naming what is wrong.

    `origin`: the module whose folder `file://` paths are relative to.
    """
    certificate, private_key, ca_certificate = (
        _located(v, origin) for v in (certificate, private_key, ca_certificate)
    )
    ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    what = "the CA certificate"
    try:
        if ca_certificate:
            if PEM in ca_certificate:
                ctx.load_verify_locations(cadata=ca_certificate)
            else:
                ctx.load_verify_locations(cafile=ca_certificate)
        what = "the client certificate or its private key"
        with tempfile.TemporaryDirectory(prefix="naftiko-tls-") as folder:
            ctx.load_cert_chain(
                _pem_file(folder, "cert.pem", certificate),
                _pem_file(folder, "key.pem", private_key) if private_key else None,
                password=password or None,
            )
    except (OSError, ssl.SSLError, ValueError) as exc:
        raise rt.ConfigError(f"cannot load {what} ({type(exc).__name__})") from None
    return ctx
