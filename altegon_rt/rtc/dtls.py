"""DTLS 1.2 for DTLS-SRTP (RFC 5763/5764) as a sans-IO session over pyOpenSSL memory BIOs.

:class:`DtlsSession` takes datagrams in (:meth:`DtlsSession.receive`) and gives datagrams out; it never
touches a socket or a clock (:meth:`DtlsSession.timeout` says when :meth:`DtlsSession.handle_timeout` is
due, relative seconds as OpenSSL reports them). Either role: mediasoup-client's browsers usually take the
DTLS client role, aiortc asks to be the server. When the handshake completes, the peer's certificate is
checked against the fingerprint signalled in SDP/ICE parameters, and the SRTP keys are exported (RFC 5764
§4.2) for pylibsrtp.

OpenSSL writes records into a memory BIO as one stream; :func:`split_records` cuts it back into records and
:func:`pack_datagrams` packs whole records into datagrams of at most ``mtu`` bytes, so a record is never
split across datagrams.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import enum
import hmac
import secrets
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from OpenSSL import SSL

from altegon_rt.rtc.errors import LocalProtocolError, RemoteProtocolError

RECORD_HEADER = 13  # content type, version (2), epoch (2), sequence number (6), length (2)
MAX_RECORD = 2**14 + 2048  # RFC 6347: plaintext limit plus expansion
DEFAULT_MTU = 1200  # what browsers use for DTLS over ICE; leaves room for IPv6 + UDP + TURN headers
SRTP_PROFILES = b"SRTP_AEAD_AES_128_GCM:SRTP_AES128_CM_SHA1_80"
# The hash functions of a signalled fingerprint we can check (RFC 8122 §5, as mediasoup accepts): clients built on
# sdp-transform (mediasoup-client, pymediasoup) signal only the *last* a=fingerprint line, which for aiortc is
# sha-512.
FINGERPRINT_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "sha-1": hashes.SHA1,
    "sha-224": hashes.SHA224,
    "sha-256": hashes.SHA256,
    "sha-384": hashes.SHA384,
    "sha-512": hashes.SHA512,
}
_KEY_SIZES = {"SRTP_AES128_CM_SHA1_80": (16, 14), "SRTP_AEAD_AES_128_GCM": (16, 12)}


class DtlsRole(enum.Enum):
    CLIENT = "client"
    SERVER = "server"


class DtlsState(enum.Enum):
    NEW = enum.auto()
    CONNECTING = enum.auto()
    CONNECTED = enum.auto()
    FAILED = enum.auto()
    CLOSED = enum.auto()


@dataclass(frozen=True, slots=True)
class Certificate:
    """Our DTLS identity: an ECDSA P-256 self-signed certificate, and its SHA-256 fingerprint for signalling."""

    certificate: x509.Certificate
    key: ec.EllipticCurvePrivateKey

    @property
    def fingerprint(self) -> str:
        return fingerprint_of(self.certificate)


def generate_certificate(now: dt.datetime | None = None, days: int = 30) -> Certificate:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, secrets.token_hex(8))])
    start = (now or dt.datetime.now(dt.UTC)) - dt.timedelta(days=1)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=days))
        .sign(key, hashes.SHA256())
    )
    return Certificate(cert, key)


def fingerprint_of(cert: x509.Certificate, algorithm: str = "sha-256") -> str:
    """``AB:CD:...`` of the certificate's digest, as in SDP ``a=fingerprint:<algorithm>`` (a FINGERPRINT_HASHES key)."""
    return ":".join(f"{b:02X}" for b in cert.fingerprint(FINGERPRINT_HASHES[algorithm]()))


@dataclass(frozen=True, slots=True)
class SrtpKeys:
    """Keying material for pylibsrtp: ``local`` protects what we send, ``remote`` unprotects what we receive."""

    profile: str
    local: bytes  # master key + master salt
    remote: bytes


@dataclass(frozen=True, slots=True)
class DtlsOutcome:
    datagrams: list[bytes]
    keys: SrtpKeys | None = None  # set once, when the handshake completes
    error: str | None = None  # set once, when the session fails


def split_records(stream: bytes) -> list[bytes]:
    """Whole DTLS records of ``stream``; a truncated or oversized record is a :class:`RemoteProtocolError`."""
    records = []
    pos = 0
    while pos < len(stream):
        if len(stream) - pos < RECORD_HEADER:
            raise RemoteProtocolError("truncated DTLS record header")
        length = int.from_bytes(stream[pos + 11 : pos + 13], "big")
        if length > MAX_RECORD:
            raise RemoteProtocolError("DTLS record too long")
        end = pos + RECORD_HEADER + length
        if end > len(stream):
            raise RemoteProtocolError("truncated DTLS record")
        records.append(stream[pos:end])
        pos = end
    return records


def pack_datagrams(records: list[bytes], mtu: int) -> list[bytes]:
    """Records packed in order into datagrams of at most ``mtu`` bytes (one record alone may exceed it)."""
    datagrams: list[bytes] = []
    current = b""
    for record in records:
        if current and len(current) + len(record) > mtu:
            datagrams.append(current)
            current = b""
        current += record
    if current:
        datagrams.append(current)
    return datagrams


class DtlsSession:
    """One transport's DTLS association.

    ``remote_fingerprint`` is the peer's signalled fingerprint, a digest by ``remote_algorithm`` (a
    :data:`FINGERPRINT_HASHES` key; an unknown one is a :class:`LocalProtocolError`: check it when signalled).
    """

    def __init__(
        self,
        certificate: Certificate,
        role: DtlsRole,
        remote_fingerprint: str,
        mtu: int = DEFAULT_MTU,
        *,
        remote_algorithm: str = "sha-256",
    ):
        if remote_algorithm not in FINGERPRINT_HASHES:
            raise LocalProtocolError(f"unsupported fingerprint algorithm {remote_algorithm!r}")
        self.role = role
        self.state = DtlsState.NEW
        self._remote_fingerprint = remote_fingerprint.upper()
        self._remote_algorithm = remote_algorithm
        self._mtu = mtu
        ctx = SSL.Context(SSL.DTLS_METHOD)
        ctx.set_verify(SSL.VERIFY_PEER | SSL.VERIFY_FAIL_IF_NO_PEER_CERT, lambda *_: True)  # checked by fingerprint
        ctx.use_certificate(certificate.certificate)
        ctx.use_privatekey(certificate.key)
        ctx.set_tlsext_use_srtp(SRTP_PROFILES)
        ctx.set_options(SSL.OP_NO_QUERY_MTU)
        self._conn = SSL.Connection(ctx, None)
        self._conn.set_ciphertext_mtu(mtu - 28)  # IPv4 + UDP headers
        if role is DtlsRole.CLIENT:
            self._conn.set_connect_state()
        else:
            self._conn.set_accept_state()

    def start(self) -> DtlsOutcome:
        """Begin the handshake: the client's first flight (a server sends nothing until it hears one)."""
        if self.state is not DtlsState.NEW:
            raise LocalProtocolError("DTLS session already started")
        self.state = DtlsState.CONNECTING
        return self._handshake()

    def receive(self, datagram: bytes) -> DtlsOutcome:
        """Feed one datagram from the peer."""
        if self.state in (DtlsState.FAILED, DtlsState.CLOSED):
            return DtlsOutcome([])
        if self.state is DtlsState.NEW:
            self.state = DtlsState.CONNECTING
        self._conn.bio_write(datagram)
        if self.state is DtlsState.CONNECTED:
            return self._read_application()
        return self._handshake()

    def timeout(self) -> float | None:
        """Seconds until :meth:`handle_timeout` is due (retransmission), or ``None``."""
        if self.state is not DtlsState.CONNECTING:
            return None
        return self._conn.DTLSv1_get_timeout()

    def handle_timeout(self) -> DtlsOutcome:
        if self.state is not DtlsState.CONNECTING:
            return DtlsOutcome([])
        self._conn.DTLSv1_handle_timeout()
        return DtlsOutcome(self._outgoing())

    def close(self) -> DtlsOutcome:
        """Send close_notify (once) and stop."""
        if self.state is not DtlsState.CONNECTED:
            self.state = DtlsState.CLOSED
            return DtlsOutcome([])
        self.state = DtlsState.CLOSED
        with contextlib.suppress(SSL.Error):
            self._conn.shutdown()
        return DtlsOutcome(self._outgoing())

    def _handshake(self) -> DtlsOutcome:
        try:
            self._conn.do_handshake()
        except SSL.WantReadError:
            return DtlsOutcome(self._outgoing())
        except SSL.Error as exc:
            self.state = DtlsState.FAILED
            return DtlsOutcome(self._outgoing(), error=f"DTLS handshake failed: {exc}")
        out = self._outgoing()
        error = self._check_peer()
        if error is not None:
            self.state = DtlsState.FAILED
            return DtlsOutcome(out, error=error)
        self.state = DtlsState.CONNECTED
        return DtlsOutcome(out, keys=self._export_keys())

    def _check_peer(self) -> str | None:
        cert = self._conn.get_peer_certificate(as_cryptography=True)
        if cert is None:
            return "the peer sent no certificate"
        if not hmac.compare_digest(fingerprint_of(cert, self._remote_algorithm), self._remote_fingerprint):
            return "the peer's certificate does not match its signalled fingerprint"
        return None

    def _export_keys(self) -> SrtpKeys:
        profile = self._conn.get_selected_srtp_profile().decode()
        if profile not in _KEY_SIZES:
            raise RemoteProtocolError(f"no common SRTP profile (got {profile!r})")
        key_len, salt_len = _KEY_SIZES[profile]
        material = self._conn.export_keying_material(b"EXTRACTOR-dtls_srtp", 2 * (key_len + salt_len))
        client_key, server_key = material[:key_len], material[key_len : 2 * key_len]
        client_salt = material[2 * key_len : 2 * key_len + salt_len]
        server_salt = material[2 * key_len + salt_len :]
        client, server = client_key + client_salt, server_key + server_salt
        if self.role is DtlsRole.CLIENT:
            return SrtpKeys(profile, local=client, remote=server)
        return SrtpKeys(profile, local=server, remote=client)

    def _read_application(self) -> DtlsOutcome:
        """After the handshake: only alerts and retransmitted flights arrive; answer what OpenSSL answers."""
        try:
            self._conn.recv(MAX_RECORD)
        except SSL.WantReadError:
            pass
        except SSL.ZeroReturnError:
            self.state = DtlsState.CLOSED
        except SSL.Error as exc:
            self.state = DtlsState.FAILED
            return DtlsOutcome(self._outgoing(), error=f"DTLS failed: {exc}")
        return DtlsOutcome(self._outgoing())

    def _outgoing(self) -> list[bytes]:
        stream = b""
        while True:
            try:
                stream += self._conn.bio_read(65536)
            except SSL.WantReadError:
                break
        if not stream:
            return []
        return pack_datagrams(split_records(stream), self._mtu)
