"""Client certificates (mutual TLS): a CA, a server and a client certificate minted here; the
fake upstream serves HTTPS and requires a client certificate signed by that CA; the generated
client trusts the CA through `caCertificate` and presents its certificate, through REST and MCP."""

from __future__ import annotations

import datetime
import ipaddress
import ssl
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tests.features.upstream import (
    FIXTURES,
    FakeUpstream,
    build_package,
    mcp_json,
    rest_call,
    serve_both,
)

pytestmark = pytest.mark.anyio

SPEC = FIXTURES / "auth_kinds" / "feat_auth_mtls.yaml"


def _pem_key(key: ec.EllipticCurvePrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def _cert(
    subject: str, key: Any, issuer: x509.Name | None, signer: Any, ca: bool, usage: Any
) -> x509.Certificate:
    now = datetime.datetime.now(datetime.UTC)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer or name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if usage is not None:
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    if usage == ExtendedKeyUsageOID.SERVER_AUTH:
        san = x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))])
        builder = builder.add_extension(san, critical=False)
    return builder.sign(signer, hashes.SHA256())


class Pki:
    def __init__(self) -> None:
        self.ca_key = ec.generate_private_key(ec.SECP256R1())
        self.ca = _cert("naftiko test CA", self.ca_key, None, self.ca_key, True, None)
        self.server_key = ec.generate_private_key(ec.SECP256R1())
        self.server = _cert(
            "127.0.0.1",
            self.server_key,
            self.ca.subject,
            self.ca_key,
            False,
            ExtendedKeyUsageOID.SERVER_AUTH,
        )
        self.client_key = ec.generate_private_key(ec.SECP256R1())
        self.client = _cert(
            "naftiko client",
            self.client_key,
            self.ca.subject,
            self.ca_key,
            False,
            ExtendedKeyUsageOID.CLIENT_AUTH,
        )

    @staticmethod
    def pem(cert: x509.Certificate) -> str:
        return cert.public_bytes(serialization.Encoding.PEM).decode()

    def server_context(self, folder: Path) -> ssl.SSLContext:
        (folder / "server.pem").write_text(self.pem(self.server))
        (folder / "server.key").write_text(_pem_key(self.server_key))
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(folder / "server.pem", folder / "server.key")
        ctx.load_verify_locations(cadata=self.pem(self.ca))
        ctx.verify_mode = ssl.CERT_REQUIRED  # no client certificate, no handshake
        return ctx


@asynccontextmanager
async def serve_tls(fake: FakeUpstream, ctx: ssl.SSLContext) -> AsyncIterator[str]:
    runner = web.AppRunner(fake.app())
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ctx)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"https://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Any:
    return build_package(SPEC, tmp_path_factory.mktemp("mtls"))


async def test_client_certificate_through_rest_and_mcp(
    built: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mcp import Client

    pki = Pki()
    fake = FakeUpstream(name="mtls")
    fake.expect("GET", "/whoami", reply={"cn": "naftiko client"})
    async with AsyncExitStack() as stack:
        url = await stack.enter_async_context(serve_tls(fake, pki.server_context(tmp_path)))
        monkeypatch.setenv("MTLS_API_BASE_URL", url)
        monkeypatch.setenv("FEAT_MTLS_CLIENT_CERT", pki.pem(pki.client))
        monkeypatch.setenv("FEAT_MTLS_CLIENT_KEY", _pem_key(pki.client_key))
        monkeypatch.setenv("FEAT_MTLS_UPSTREAM_CA", pki.pem(pki.ca))
        rest_url, mcp_url = await stack.enter_async_context(serve_both(built))
        got = await rest_call(rest_url, "GET", "/mtls")
        assert (got.status, got.json) == (200, {"cn": "naftiko client"}), got.text
        client = await stack.enter_async_context(Client(mcp_url + "/mcp"))
        assert mcp_json(await client.call_tool("mtls", {})) == {"cn": "naftiko client"}
    assert len(fake.requests) == 2


async def test_without_the_client_certificate_the_handshake_fails(
    built: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pki = Pki()
    fake = FakeUpstream(name="mtls")
    other = Pki()  # a certificate the upstream's CA did not sign
    async with serve_tls(fake, pki.server_context(tmp_path)) as url:
        monkeypatch.setenv("MTLS_API_BASE_URL", url)
        monkeypatch.setenv("FEAT_MTLS_CLIENT_CERT", other.pem(other.client))
        monkeypatch.setenv("FEAT_MTLS_CLIENT_KEY", _pem_key(other.client_key))
        monkeypatch.setenv("FEAT_MTLS_UPSTREAM_CA", pki.pem(pki.ca))
        async with serve_both(built) as (rest_url, _):
            got = await rest_call(rest_url, "GET", "/mtls")
    assert got.status == 502, got.text
    assert fake.requests == []


def test_unreadable_certificate_stops_start_up(built: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FEAT_MTLS_CLIENT_CERT", "/nonexistent/client.pem")
    monkeypatch.setenv("FEAT_MTLS_CLIENT_KEY", "/nonexistent/client.key")
    monkeypatch.setenv("FEAT_MTLS_UPSTREAM_CA", Pki.pem(Pki().ca))
    # The SSL context is built with the configuration, before anything is served.
    with pytest.raises(built.rest.rt.ConfigError, match="client certificate"):
        built.rest.upstream.load_config()


@pytest.mark.parametrize("server", ["rest_server", "mcp_server"])
def test_a_certificate_that_does_not_load_is_one_line_at_start_up(built: Any, server: str) -> None:
    """Not a traceback from inside the event loop once the server has started."""
    import os
    import subprocess
    import sys

    from tests.e2e.harness import free_port

    env = {k: v for k, v in os.environ.items() if not k.startswith("FEAT_MTLS_")}
    env |= {
        "FEAT_MTLS_CLIENT_CERT": "not a certificate",
        "FEAT_MTLS_CLIENT_KEY": "not a key",
        "FEAT_MTLS_UPSTREAM_CA": Pki.pem(Pki().ca),
    }
    command = [sys.executable, "-m", f"{built.package}.{server}", "--port", str(free_port())]
    done = subprocess.run(
        command, cwd=built.out_dir, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode != 0
    assert "Traceback" not in done.stderr, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    assert "client certificate" in lines[0]
    assert "not a key" not in done.stderr  # the secret's value is never shown
