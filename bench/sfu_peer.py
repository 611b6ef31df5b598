"""The load generator's WebRTC endpoint: a copy of altegon_rt.testing.webrtc_peer's logic, grown into a full ICE
agent so that it can also talk to Janus (which, unlike our ICE-lite server, sends its own checks).

One :class:`BenchPeer` is one PeerConnection with a single bundled, rtcp-muxed m-line: it sends connectivity checks
(controlling with USE-CANDIDATE, or controlled), answers the remote agent's checks (RFC 8445 §7.3), runs DTLS in
either role over our rtc cores, and keys pylibsrtp. It owns no socket: the worker (bench/sfu_load.py) moves bytes.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from pylibsrtp import Policy, Session

from altegon_rt.rtc.dtls import DtlsRole, DtlsSession, DtlsState, generate_certificate
from altegon_rt.rtc.errors import ProtocolError
from altegon_rt.rtc.ice import random_credentials
from altegon_rt.rtc.stun import BINDING, AttrType, StunClass, StunMessage, serialize, verify_integrity

Address = tuple[str, int]
PRFLX_PRIORITY = (110 << 24) | (65535 << 8) | 255
HOST_PRIORITY = (126 << 24) | (65535 << 8) | 255

_PROFILES = {
    "SRTP_AEAD_AES_128_GCM": Policy.SRTP_PROFILE_AEAD_AES_128_GCM,
    "SRTP_AES128_CM_SHA1_80": Policy.SRTP_PROFILE_AES128_CM_SHA1_80,
}


@dataclass(frozen=True, slots=True)
class Remote:
    """What signalling told us about the other side."""

    ufrag: str
    password: str
    fingerprint: str  # sha-256, "AB:CD:..."
    address: Address  # the candidate we send to
    dtls_role: DtlsRole  # OUR role
    controlling: bool  # OUR ICE role


class BenchPeer:
    """ICE + DTLS + SRTP for one transport; construct, read :attr:`ufrag` etc. for signalling, then :meth:`start`."""

    def __init__(self) -> None:
        credentials = random_credentials()
        self.ufrag, self.password = credentials.ufrag, credentials.password
        self.certificate = generate_certificate()
        self.tiebreaker = secrets.randbits(64)
        self.remote: Remote | None = None
        self.dtls: DtlsSession | None = None
        self.ice_ok = False  # a check of ours got a signed success response
        self.checked = False  # the remote agent sent us a valid check
        self.srtp_in: Session | None = None
        self.srtp_out: Session | None = None
        self.dtls_started = False
        self.errors = 0
        self.profile: str | None = None  # the SRTP profile DTLS negotiated

    @property
    def fingerprint(self) -> str:
        return self.certificate.fingerprint

    def start(self, remote: Remote) -> None:
        self.remote = remote
        self.dtls = DtlsSession(self.certificate, remote.dtls_role, remote.fingerprint)

    @property
    def connected(self) -> bool:
        return self.dtls is not None and self.dtls.state is DtlsState.CONNECTED and self.srtp_out is not None

    @property
    def failed(self) -> bool:
        return self.dtls is not None and self.dtls.state in (DtlsState.FAILED, DtlsState.CLOSED)

    # --- ICE -------------------------------------------------------------------------------------------

    def binding_request(self) -> bytes:
        """One connectivity check (also our consent refresh) to the remote candidate."""
        assert self.remote is not None
        request = StunMessage(BINDING, StunClass.REQUEST, secrets.token_bytes(12))
        request = request.with_attribute(AttrType.USERNAME, f"{self.remote.ufrag}:{self.ufrag}")
        request = request.with_attribute(AttrType.PRIORITY, PRFLX_PRIORITY)
        if self.remote.controlling:
            request = request.with_attribute(AttrType.ICE_CONTROLLING, self.tiebreaker)
            request = request.with_attribute(AttrType.USE_CANDIDATE)
        else:
            request = request.with_attribute(AttrType.ICE_CONTROLLED, self.tiebreaker)
        return serialize(request, integrity_key=self.remote.password.encode(), fingerprint=True)

    def _stun(self, data: bytes, source: Address) -> list[bytes]:
        assert self.remote is not None
        try:
            message = StunMessage.parse(data)
        except ProtocolError:
            self.errors += 1
            return []
        if message.message_class is StunClass.SUCCESS:
            if verify_integrity(data, self.remote.password.encode()):
                self.ice_ok = True
            return []
        if message.message_class is not StunClass.REQUEST or message.method != BINDING:
            return []
        username = message.get(AttrType.USERNAME)
        if not isinstance(username, str) or username.partition(":")[0] != self.ufrag:
            self.errors += 1
            return []
        if not verify_integrity(data, self.password.encode()):
            self.errors += 1
            return []
        self.checked = True
        response = StunMessage(BINDING, StunClass.SUCCESS, message.transaction_id)
        response = response.with_attribute(AttrType.XOR_MAPPED_ADDRESS, source)
        return [serialize(response, integrity_key=self.password.encode(), fingerprint=True)]

    @property
    def ice_ready(self) -> bool:
        """Whether DTLS may start: our check succeeded (controlling) or the controlling agent checked us."""
        return self.ice_ok or (self.remote is not None and not self.remote.controlling and self.checked)

    # --- DTLS, SRTP --------------------------------------------------------------------------------------

    def start_dtls(self) -> list[bytes]:
        """The client's first flight, once (nothing as the DTLS server)."""
        assert self.dtls is not None
        if self.dtls_started or self.dtls.role is DtlsRole.SERVER:
            return []
        self.dtls_started = True
        return self.dtls.start().datagrams

    def dtls_timeout(self) -> list[bytes]:
        """Retransmit a lost flight when OpenSSL's timer says so."""
        if self.dtls is None or self.dtls.state is not DtlsState.CONNECTING:
            return []
        due = self.dtls.timeout()
        if due is None or due > 0:
            return []
        return self.dtls.handle_timeout().datagrams

    def receive(self, data: bytes, source: Address) -> list[bytes]:
        """A non-media datagram (STUN, DTLS, or RTCP to drop); what to send back."""
        if not data or self.dtls is None:
            return []
        if data[0] <= 3:
            return self._stun(data, source)
        if 20 <= data[0] <= 63:
            try:
                outcome = self.dtls.receive(data)
            except ProtocolError:
                self.errors += 1
                return []
            if outcome.keys is not None:
                self.profile = outcome.keys.profile
                profile = _PROFILES[outcome.keys.profile]
                inbound = Policy(key=outcome.keys.remote, ssrc_type=Policy.SSRC_ANY_INBOUND, srtp_profile=profile)
                outbound = Policy(key=outcome.keys.local, ssrc_type=Policy.SSRC_ANY_OUTBOUND, srtp_profile=profile)
                self.srtp_in, self.srtp_out = Session(policy=inbound), Session(policy=outbound)
            return outcome.datagrams
        return []
