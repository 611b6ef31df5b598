"""TLS end to end: HTTPS over HTTP/1.1 and HTTP/2 on the TCP port, HTTP/3 over QUIC on the UDP port of the
same number, advertised by ``alt-svc``. One real server process with a self-signed certificate made here.
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import secrets
import ssl
import time
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
import trio
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from altegon_rt.testing.process import ServerProcess
from tests.api.h3client import H3Request, H3Response, fetch_all

HOST = "127.0.0.1"
STOP_BUDGET_S = 8.0  # under the default 10 s grace period; an idle stop takes about 2.5 s


def write_self_signed(directory: Path) -> tuple[Path, Path]:
    """A self-signed ECDSA P-256 certificate for 127.0.0.1 and localhost, valid from a minute ago for a day."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "altegon-rt test")])
    now = datetime.datetime.now(datetime.UTC)
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(HOST)), x509.DNSName("localhost")]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(ski, critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


@dataclass
class TlsServer:
    proc: ServerProcess
    cert: Path

    @property
    def url(self) -> str:
        return self.proc.url

    @property
    def port(self) -> int:
        port = urlsplit(self.url).port
        assert port is not None
        return port

    def ssl_context(self) -> ssl.SSLContext:
        """Trusts exactly the test certificate (hostname checking stays on)."""
        return ssl.create_default_context(cafile=str(self.cert))


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsServer]:
    tmp_path = tmp_path_factory.mktemp("tls-server")
    cert, key = write_self_signed(tmp_path)
    proc = ServerProcess(
        tmp_path / "data",
        env={"ALTEGON_TLS_CERT": str(cert), "ALTEGON_TLS_KEY": str(key)},
        start_timeout_s=30,
    )
    try:
        yield TlsServer(proc, cert)
    finally:
        started = time.monotonic()
        status = proc.terminate(timeout_s=30)
        stop_s = time.monotonic() - started
        assert status == 0, proc.log_text()
        assert "Traceback" not in proc.log_text(), proc.log_text()
        # Nothing is in flight and the HTTP/3 client has closed its connection, so the stop must not wait
        # out the drain period (server.shutdown_grace_s, 10 s by default) for the QUIC listener.
        assert stop_s < STOP_BUDGET_S, f"stop took {stop_s:.1f} s with nothing in flight:\n{proc.log_text()}"


def test_listens_on_https_loopback(tls_server: TlsServer) -> None:
    parts = urlsplit(tls_server.url)
    assert parts.scheme == "https"
    assert parts.hostname == HOST
    assert parts.port and parts.port > 0
    # The server says where HTTP/3 is: the UDP port with the TCP port's number.
    assert tls_server.proc.wait_for_log(rf"HTTP/3 on https://{HOST}:{tls_server.port}\b", 5) is not None


def assert_alt_svc_h3(response: httpx.Response, port: int) -> None:
    alt_svc = ", ".join(response.headers.get_list("alt-svc"))
    assert f'h3=":{port}"' in alt_svc, response.headers


async def test_https_http1(tls_server: TlsServer) -> None:
    async with httpx.AsyncClient(base_url=tls_server.url, verify=tls_server.ssl_context(), timeout=10) as client:
        r = await client.get("/healthz")
    assert r.status_code == 200, r.text
    assert r.http_version == "HTTP/1.1"
    assert r.headers["content-type"].startswith("application/json")
    assert r.json() == {"status": "ok"}
    assert_alt_svc_h3(r, tls_server.port)


async def test_https_http2_advertises_h3(tls_server: TlsServer) -> None:
    ctx = tls_server.ssl_context()
    async with httpx.AsyncClient(base_url=tls_server.url, verify=ctx, http2=True, timeout=10) as client:
        r = await client.get("/healthz")
    assert r.status_code == 200, r.text
    assert r.http_version == "HTTP/2"
    assert r.json() == {"status": "ok"}
    assert_alt_svc_h3(r, tls_server.port)


async def test_https_rejects_untrusting_client(tls_server: TlsServer) -> None:
    """The certificate really is what is checked: a client that trusts only the system CAs refuses it."""
    async with httpx.AsyncClient(base_url=tls_server.url, verify=ssl.create_default_context(), timeout=10) as client:
        with pytest.raises(httpx.ConnectError):
            await client.get("/healthz")


def _json(response: H3Response) -> object:
    content_type = response.header("content-type") or ""
    assert content_type.startswith("application/json"), response
    return json.loads(response.body)


async def test_http3_healthz_and_register(tls_server: TlsServer) -> None:
    email = f"h3-{secrets.token_hex(6)}@example.com"
    register = {"email": email, "fName": "Quic", "lName": "User", "phoneNumber": "123", "country": "NL",
                "password": "correct horse 1"}  # fmt: skip
    body = json.dumps(register).encode()
    requests = [
        H3Request("GET", "/healthz"),
        H3Request("POST", "/auth/register", headers=[("content-type", "application/json")], body=body),
    ]
    fetch = partial(fetch_all, HOST, tls_server.port, str(tls_server.cert), requests, timeout_s=10)
    with trio.fail_after(15):
        health, registered = await trio.to_thread.run_sync(fetch, abandon_on_cancel=True)

    assert health.status == 200, health
    assert _json(health) == {"status": "ok"}

    assert registered.status == 201, registered
    reply = _json(registered)
    assert isinstance(reply, dict)
    assert reply["success"] is True
    user = reply["data"]["user"]
    assert user["email"] == email
    assert (user["fName"], user["lName"]) == ("Quic", "User")
    assert isinstance(user["_id"], str) and user["_id"]
    assert "password" not in user and "passwordHash" not in user

    # The account made over HTTP/3 is the same store HTTPS sees: signing in over HTTP/2 works.
    async with httpx.AsyncClient(
        base_url=tls_server.url, verify=tls_server.ssl_context(), http2=True, timeout=10
    ) as client:
        r = await client.post("/auth/login", json={"userName": email, "password": "correct horse 1"})
    assert r.status_code == 200, r.text
    assert r.http_version == "HTTP/2"
    assert isinstance(r.json()["token"], str)


def test_http3_rejects_wrong_certificate(tls_server: TlsServer, tmp_path: Path) -> None:
    """The QUIC client verifies the server: trusting a different self-signed certificate fails the handshake."""
    other_cert, _ = write_self_signed(tmp_path)
    # aioquic aborts the handshake and its connect waiter raises ConnectionError (a timeout would be TimeoutError).
    with pytest.raises(ConnectionError):
        fetch_all(HOST, tls_server.port, str(other_cert), [H3Request("GET", "/healthz")], timeout_s=5)
