"""DTLS-SRTP sessions wired back to back (both roles), fingerprint checks, retransmission, and the keys
driving pylibsrtp both ways; the record splitter fed garbage."""

from __future__ import annotations

import time

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pylibsrtp import Policy, Session

from altegon_rt.rtc.dtls import (
    Certificate,
    DtlsOutcome,
    DtlsRole,
    DtlsSession,
    DtlsState,
    SrtpKeys,
    fingerprint_of,
    generate_certificate,
    pack_datagrams,
    split_records,
)
from altegon_rt.rtc.errors import LocalProtocolError, RemoteProtocolError

ALICE, BOB = generate_certificate(), generate_certificate()


def pair(client_cert: Certificate = ALICE, server_cert: Certificate = BOB,
         server_expects: str | None = None) -> tuple[DtlsSession, DtlsSession]:  # fmt: skip
    client = DtlsSession(client_cert, DtlsRole.CLIENT, server_cert.fingerprint)
    server = DtlsSession(server_cert, DtlsRole.SERVER, server_expects or client_cert.fingerprint)
    return client, server


def run(client: DtlsSession, server: DtlsSession, drop_first: int = 0) -> dict[str, DtlsOutcome]:
    """Pump datagrams between the two until neither sends; the last outcome of each side that had keys/errors."""
    results: dict[str, DtlsOutcome] = {}
    queue = [("server", d) for d in client.start().datagrams]
    dropped = 0
    for _ in range(100):
        if not queue:
            break
        to, datagram = queue.pop(0)
        if dropped < drop_first:
            dropped += 1
            continue
        side, other, name = (server, "client", "server") if to == "server" else (client, "server", "client")
        outcome = side.receive(datagram)
        if outcome.keys or outcome.error:
            results[name] = outcome
        queue += [(other, d) for d in outcome.datagrams]
    return results


def test_handshake_exports_matching_keys() -> None:
    client, server = pair()
    results = run(client, server)
    assert client.state is DtlsState.CONNECTED and server.state is DtlsState.CONNECTED
    c_keys, s_keys = results["client"].keys, results["server"].keys
    assert c_keys is not None and s_keys is not None
    assert c_keys.profile == s_keys.profile == "SRTP_AEAD_AES_128_GCM"
    assert c_keys.local == s_keys.remote and c_keys.remote == s_keys.local
    assert len(c_keys.local) == 28 and c_keys.local != c_keys.remote


def _srtp(keys: SrtpKeys, outbound: bool) -> Session:
    profile = {"SRTP_AEAD_AES_128_GCM": Policy.SRTP_PROFILE_AEAD_AES_128_GCM,
               "SRTP_AES128_CM_SHA1_80": Policy.SRTP_PROFILE_AES128_CM_SHA1_80}[keys.profile]  # fmt: skip
    kind = Policy.SSRC_ANY_OUTBOUND if outbound else Policy.SSRC_ANY_INBOUND
    return Session(policy=Policy(key=keys.local if outbound else keys.remote, ssrc_type=kind, srtp_profile=profile))


def test_keys_protect_and_unprotect_rtp_both_ways() -> None:
    client, server = pair()
    results = run(client, server)
    c_keys, s_keys = results["client"].keys, results["server"].keys
    assert c_keys and s_keys
    rtp = bytes([0x80, 96, 0, 1, 0, 0, 0, 160, 0x12, 0x34, 0x56, 0x78]) + b"payload" * 10
    for sender, receiver in ((c_keys, s_keys), (s_keys, c_keys)):
        protected = _srtp(sender, outbound=True).protect(rtp)
        assert protected != rtp
        assert _srtp(receiver, outbound=False).unprotect(protected) == rtp


def test_a_wrong_fingerprint_fails_the_handshake() -> None:
    mallory = generate_certificate()
    client, server = pair(server_expects=mallory.fingerprint)
    results = run(client, server)
    assert server.state is DtlsState.FAILED
    assert results["server"].error == "the peer's certificate does not match its signalled fingerprint"


@pytest.mark.parametrize("algorithm", ["sha-1", "sha-224", "sha-256", "sha-384", "sha-512"])
def test_a_fingerprint_by_any_of_the_hashes_browsers_and_aiortc_signal_is_checked(algorithm: str) -> None:
    client = DtlsSession(ALICE, DtlsRole.CLIENT, BOB.fingerprint)
    expected = fingerprint_of(ALICE.certificate, algorithm)
    server = DtlsSession(BOB, DtlsRole.SERVER, expected.lower(), remote_algorithm=algorithm)
    run(client, server)
    assert server.state is DtlsState.CONNECTED
    mallory = fingerprint_of(generate_certificate().certificate, algorithm)
    client, server = (
        DtlsSession(ALICE, DtlsRole.CLIENT, BOB.fingerprint),
        DtlsSession(BOB, DtlsRole.SERVER, mallory, remote_algorithm=algorithm),
    )
    assert run(client, server)["server"].error == "the peer's certificate does not match its signalled fingerprint"
    with pytest.raises(LocalProtocolError, match=r"^unsupported fingerprint algorithm 'md5'$"):
        DtlsSession(BOB, DtlsRole.SERVER, expected, remote_algorithm="md5")


def test_lost_flights_are_retransmitted() -> None:
    client, server = pair()
    first = client.start().datagrams
    wait = client.timeout()
    assert first and wait is not None and 0 < wait <= 1.0
    assert client.handle_timeout().datagrams == []  # not due yet: nothing is sent again
    # The ClientHello is lost: once the timer (OpenSSL's own clock, 1 s at first) runs out, it is sent again.
    time.sleep(wait + 0.05)
    again = client.handle_timeout().datagrams
    assert again
    results: dict[str, DtlsOutcome] = {}
    queue = [("server", d) for d in again]
    for _ in range(100):
        if not queue:
            break
        to, datagram = queue.pop(0)
        side, other = (server, "client") if to == "server" else (client, "server")
        outcome = side.receive(datagram)
        if outcome.keys:
            results[to] = outcome
        queue += [(other, d) for d in outcome.datagrams]
    assert set(results) == {"client", "server"}


def test_garbage_after_the_handshake_is_harmless() -> None:
    client, server = pair()
    run(client, server)
    assert server.receive(b"\x17\xfe\xfd" + b"\x00" * 20).error is None or server.state is DtlsState.FAILED
    assert client.close().datagrams  # close_notify
    assert client.state is DtlsState.CLOSED


def test_records_are_never_split_across_datagrams() -> None:
    records = [bytes([22, 0xFE, 0xFD]) + bytes(8) + n.to_bytes(2, "big") + b"x" * n for n in (500, 600, 300, 1300)]
    stream = b"".join(records)
    assert split_records(stream) == records
    datagrams = pack_datagrams(records, 1200)
    assert [len(d) for d in datagrams] == [513 + 613, 313, 1313]
    with pytest.raises(RemoteProtocolError, match=r"^truncated DTLS record$"):
        split_records(stream[:-1])
    with pytest.raises(RemoteProtocolError, match=r"^truncated DTLS record header$"):
        split_records(stream + b"\x16")


@given(st.binary(max_size=300))
def test_split_records_raises_only_our_error(stream: bytes) -> None:
    try:
        records = split_records(stream)
    except RemoteProtocolError:
        return
    assert b"".join(records) == stream


@given(st.binary(min_size=1, max_size=300))
def test_garbage_datagrams_never_raise(datagram: bytes) -> None:
    session = DtlsSession(BOB, DtlsRole.SERVER, ALICE.fingerprint)
    session.receive(datagram)


def test_the_older_srtp_profile_when_the_peer_offers_only_that(monkeypatch: pytest.MonkeyPatch) -> None:
    from altegon_rt.rtc import dtls

    client = DtlsSession(ALICE, DtlsRole.CLIENT, BOB.fingerprint)
    monkeypatch.setattr(dtls, "SRTP_PROFILES", b"SRTP_AES128_CM_SHA1_80")
    server = DtlsSession(BOB, DtlsRole.SERVER, ALICE.fingerprint)
    results = run(client, server)
    keys = results["client"].keys
    assert keys is not None and keys.profile == "SRTP_AES128_CM_SHA1_80" and len(keys.local) == 30
    rtp = bytes([0x80, 111, 0, 7, 0, 0, 1, 0, 0, 0, 0, 9]) + b"opus" * 20
    assert _srtp(results["server"].keys, outbound=False).unprotect(_srtp(keys, outbound=True).protect(rtp)) == rtp  # type: ignore[arg-type]
