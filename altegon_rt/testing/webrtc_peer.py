"""A browser stand-in built from our own rtc cores, sans-IO: the controlling ICE agent, a DTLS peer, SRTP.

It does what a full ICE agent does against an ICE-lite server (RFC 8445 §7.2.2): sends Binding requests with
USERNAME "server:peer", PRIORITY, ICE-CONTROLLING, USE-CANDIDATE, MESSAGE-INTEGRITY keyed with the server's
password and FINGERPRINT; then DTLS (client by default, as browsers usually are) and SRTP with pylibsrtp.
Tests move its datagrams by hand or over a trio socket.
"""

from __future__ import annotations

import secrets
from typing import Any

from pylibsrtp import Policy, Session

from altegon_rt.rtc.dtls import DtlsRole, DtlsSession, DtlsState, generate_certificate
from altegon_rt.rtc.ice import random_credentials
from altegon_rt.rtc.rtp import is_rtcp
from altegon_rt.rtc.stun import BINDING, AttrType, StunClass, StunMessage, serialize, verify_integrity

_PROFILES = {
    "SRTP_AEAD_AES_128_GCM": Policy.SRTP_PROFILE_AEAD_AES_128_GCM,
    "SRTP_AES128_CM_SHA1_80": Policy.SRTP_PROFILE_AES128_CM_SHA1_80,
}


class WebRtcPeer:
    """The remote side of one WebRtcTransport.

    Args:
        ice_parameters: the server's ``iceParameters`` dict (usernameFragment, password).
        dtls_parameters: the server's ``dtlsParameters`` dict (its sha-256 fingerprint).
        role: our DTLS role; signalled to the server by :attr:`dtls_parameters`.
    """

    def __init__(
        self, ice_parameters: dict[str, Any], dtls_parameters: dict[str, Any], role: DtlsRole = DtlsRole.CLIENT
    ):
        self.server_ufrag = ice_parameters["usernameFragment"]
        self.server_password = ice_parameters["password"].encode()
        self.ufrag = random_credentials().ufrag
        self.certificate = generate_certificate()
        fingerprint = next(f["value"] for f in dtls_parameters["fingerprints"] if f["algorithm"] == "sha-256")
        self.dtls = DtlsSession(self.certificate, role, fingerprint)
        self.tiebreaker = secrets.randbits(64)
        self.stun_successes = 0
        self.received_rtp: list[bytes] = []
        self.received_rtcp: list[bytes] = []
        self.srtp_in: Session | None = None
        self.srtp_out: Session | None = None

    @property
    def dtls_parameters(self) -> dict[str, Any]:
        return {
            "role": self.dtls.role.value,
            "fingerprints": [{"algorithm": "sha-256", "value": self.certificate.fingerprint}],
        }

    def binding_request(self, *, use_candidate: bool = True, password: bytes | None = None) -> bytes:
        """A connectivity check; ``password`` overrides the server's, to forge a badly signed one."""
        request = StunMessage(BINDING, StunClass.REQUEST, secrets.token_bytes(12))
        request = request.with_attribute(AttrType.USERNAME, f"{self.server_ufrag}:{self.ufrag}")
        request = request.with_attribute(AttrType.PRIORITY, (110 << 24) | (65535 << 8) | 255)  # prflx
        request = request.with_attribute(AttrType.ICE_CONTROLLING, self.tiebreaker)
        if use_candidate:
            request = request.with_attribute(AttrType.USE_CANDIDATE)
        return serialize(request, integrity_key=password or self.server_password, fingerprint=True)

    def start_dtls(self) -> list[bytes]:
        """The client's first flight (nothing when we are the DTLS server)."""
        if self.dtls.role is DtlsRole.SERVER:
            return []
        return self.dtls.start().datagrams

    @property
    def connected(self) -> bool:
        return self.dtls.state is DtlsState.CONNECTED and self.srtp_out is not None

    def receive(self, data: bytes) -> list[bytes]:
        """One datagram from the server; what to send back."""
        if data and data[0] <= 3:
            message = StunMessage.parse(data)
            if message.message_class is StunClass.SUCCESS and verify_integrity(data, self.server_password):
                self.stun_successes += 1
            return []
        if data and 20 <= data[0] <= 63:
            outcome = self.dtls.receive(data)
            if outcome.keys is not None:
                profile = _PROFILES[outcome.keys.profile]
                inbound = Policy(key=outcome.keys.remote, ssrc_type=Policy.SSRC_ANY_INBOUND, srtp_profile=profile)
                outbound = Policy(key=outcome.keys.local, ssrc_type=Policy.SSRC_ANY_OUTBOUND, srtp_profile=profile)
                self.srtp_in, self.srtp_out = Session(policy=inbound), Session(policy=outbound)
            return outcome.datagrams
        if self.srtp_in is not None:
            if is_rtcp(data):
                self.received_rtcp.append(self.srtp_in.unprotect_rtcp(data))
            else:
                self.received_rtp.append(self.srtp_in.unprotect(data))
        return []

    def protect_rtp(self, packet: bytes) -> bytes:
        if self.srtp_out is None:
            raise RuntimeError("DTLS not done")
        return self.srtp_out.protect(packet)

    def protect_rtcp(self, packet: bytes) -> bytes:
        if self.srtp_out is None:
            raise RuntimeError("DTLS not done")
        return self.srtp_out.protect_rtcp(packet)
