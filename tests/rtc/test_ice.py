"""ICE-lite responder: answers to valid and invalid checks, nomination, consent, role conflict, fuzzing."""

from __future__ import annotations

import zlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from altegon_rt.rtc.errors import LocalProtocolError
from altegon_rt.rtc.ice import (
    ICE_CHARS,
    MAX_PAIRS,
    IceLiteAgent,
    IceResult,
    random_credentials,
)
from altegon_rt.rtc.stun import (
    BINDING,
    AttrType,
    ErrorCode,
    StunClass,
    StunMessage,
    serialize,
    verify_fingerprint,
    verify_integrity,
)

LOCAL_UFRAG, LOCAL_PASSWORD = "localUfrag1234ab", "localPassword0123456789+/abcdefg"
REMOTE_UFRAG = "rmt1"
PEER = ("198.51.100.7", 50000)
PEER6 = ("2001:db8::7", 50001)
TID = bytes(range(12))


def make_agent(remote_ufrag: str | None = None) -> IceLiteAgent:
    return IceLiteAgent(LOCAL_UFRAG, LOCAL_PASSWORD, remote_ufrag)


def check(
    *,
    username: str | None = f"{LOCAL_UFRAG}:{REMOTE_UFRAG}",
    password: str | None = LOCAL_PASSWORD,
    fingerprint: bool = True,
    use_candidate: bool = False,
    role: AttrType | None = AttrType.ICE_CONTROLLING,
    priority: int | None = 0x6E0001FF,
    extra: tuple[tuple[int, object], ...] = (),
    method: int = BINDING,
    message_class: StunClass = StunClass.REQUEST,
    tid: bytes = TID,
) -> bytes:
    """A connectivity check as a browser sends it (RFC 8445 §7.2.2), with knobs to break it."""
    message = StunMessage(method, message_class, tid)
    if username is not None:
        message = message.with_attribute(AttrType.USERNAME, username)
    if priority is not None:
        message = message.with_attribute(AttrType.PRIORITY, priority)
    if role is not None:
        message = message.with_attribute(role, 0x1234567890ABCDEF)
    if use_candidate:
        message = message.with_attribute(AttrType.USE_CANDIDATE)
    for attr_type, value in extra:
        message = message.with_attribute(attr_type, value)
    key = password.encode() if password is not None else None
    return serialize(message, integrity_key=key, fingerprint=fingerprint)


def response_of(result: IceResult, method: int = BINDING) -> StunMessage:
    assert result.response is not None
    assert verify_fingerprint(result.response)
    response = StunMessage.parse(result.response)
    assert response.transaction_id == TID
    assert response.method == method
    return response


@pytest.mark.parametrize("address", [PEER, PEER6])
def test_valid_check_gets_a_signed_success_with_the_senders_address(address: tuple[str, int]) -> None:
    agent = make_agent()
    result = agent.receive(check(), address, now=1.0)
    response = response_of(result)
    assert response.message_class is StunClass.SUCCESS
    assert response.get(AttrType.XOR_MAPPED_ADDRESS) == address
    assert verify_integrity(result.response or b"", LOCAL_PASSWORD.encode())
    assert not verify_integrity(result.response or b"", b"another password")
    assert (result.error_code, result.dropped, result.selected, result.selected_changed) == (None, None, None, False)
    assert agent.pairs[address].last_consent == 1.0
    assert agent.pairs[address].priority == 0x6E0001FF


def test_socket_address_extras_are_ignored() -> None:
    agent = make_agent()
    result = agent.receive(check(use_candidate=True), ("2001:db8::7", 50001, 0, 0), now=0.0)  # type: ignore[arg-type]
    assert result.selected == PEER6
    assert response_of(result).get(AttrType.XOR_MAPPED_ADDRESS) == PEER6


def test_remote_ufrag_is_checked_once_known() -> None:
    assert response_of(make_agent(REMOTE_UFRAG).receive(check(), PEER, 0.0)).message_class is StunClass.SUCCESS
    assert make_agent("other").receive(check(), PEER, 0.0).error_code == 401
    assert make_agent(None).receive(check(username=f"{LOCAL_UFRAG}:anything"), PEER, 0.0).error_code is None


@pytest.mark.parametrize(
    "request_bytes",
    [
        check(username=f"wrongUfrag:{REMOTE_UFRAG}"),
        check(username=LOCAL_UFRAG),  # no colon
        check(username=f"{LOCAL_UFRAG}x:{REMOTE_UFRAG}"),
        check(password="wrong password"),
    ],
)
def test_bad_username_or_integrity_is_unauthorized(request_bytes: bytes) -> None:
    agent = make_agent()
    result = agent.receive(request_bytes, PEER, 0.0)
    response = response_of(result)
    assert response.message_class is StunClass.ERROR
    assert response.get(AttrType.ERROR_CODE) == ErrorCode(401, "Unauthorized")
    assert result.error_code == 401
    assert not response.has(AttrType.MESSAGE_INTEGRITY)  # the peer may not share our key
    assert agent.pairs == {}


def fingerprinted(header: bytes, body: bytes) -> bytes:
    """``header`` + ``body`` with a correct FINGERPRINT appended by hand, whatever the body holds."""
    covered = header[:2] + (len(body) + 8).to_bytes(2, "big") + header[4:20] + body
    crc = (zlib.crc32(covered) ^ 0x5354554E) & 0xFFFFFFFF
    return covered + b"\x80\x28\x00\x04" + crc.to_bytes(4, "big")


REQUEST_HEADER = bytes(StunMessage(BINDING, StunClass.REQUEST, TID))
# Sound framing and FINGERPRINT, but PRIORITY holds 3 bytes: only the value is malformed.
MALFORMED_PRIORITY = fingerprinted(REQUEST_HEADER, b"\x00\x24\x00\x03abc\x00")


@pytest.mark.parametrize(
    ("request_bytes", "signed", "method"),
    [
        (check(username=None), False, BINDING),
        (check(password=None), False, BINDING),
        (check(priority=None), True, BINDING),
        (check(method=0x003), False, 0x003),  # a TURN Allocate is not for us
        (MALFORMED_PRIORITY, False, BINDING),
    ],
)
def test_bad_requests_get_400(request_bytes: bytes, signed: bool, method: int) -> None:
    agent = make_agent()
    result = agent.receive(request_bytes, PEER, 0.0)
    response = response_of(result, method)
    assert response.message_class is StunClass.ERROR
    assert response.get(AttrType.ERROR_CODE) == ErrorCode(400, "Bad Request")
    assert result.error_code == 400
    assert response.has(AttrType.MESSAGE_INTEGRITY) is signed
    assert verify_integrity(result.response or b"", LOCAL_PASSWORD.encode()) is signed
    assert agent.pairs == {}


def test_unknown_comprehension_required_attributes_get_420() -> None:
    agent = make_agent()
    result = agent.receive(check(extra=((0x7001, b"x"), (0xC001, b"optional"), (0x0030, b""))), PEER, 0.0)
    response = response_of(result)
    assert response.get(AttrType.ERROR_CODE) == ErrorCode(420, "Unknown Attribute")
    assert response.get(AttrType.UNKNOWN_ATTRIBUTES) == (0x7001, 0x0030)
    assert verify_integrity(result.response or b"", LOCAL_PASSWORD.encode())
    # Unknown comprehension-optional attributes are ignored.
    assert agent.receive(check(extra=((0xC001, b"optional"),)), PEER, 0.0).error_code is None


def test_a_peer_that_is_also_controlled_is_a_role_conflict() -> None:
    agent = make_agent()
    result = agent.receive(check(role=AttrType.ICE_CONTROLLED, use_candidate=True), PEER, 0.0)
    response = response_of(result)
    assert response.get(AttrType.ERROR_CODE) == ErrorCode(487, "Role Conflict")
    assert result.error_code == 487
    assert verify_integrity(result.response or b"", LOCAL_PASSWORD.encode())
    assert (agent.selected, agent.pairs) == (None, {})
    # A check carrying neither role attribute is answered (some stacks leave it out).
    assert agent.receive(check(role=None), PEER, 0.0).error_code is None


@pytest.mark.parametrize(
    "datagram",
    [
        b"",
        b"\x80\x60" + bytes(30),  # RTP
        b"\x16\xfe\xfd" + bytes(30),  # DTLS
        b"\x00\x01\x00",  # truncated
        check(fingerprint=False),
        check()[:-1] + bytes([check()[-1] ^ 1]),  # FINGERPRINT does not match
        check()[:24] + b"\xff" + check()[25:],  # a tampered byte
        check(message_class=StunClass.INDICATION),
        check(message_class=StunClass.SUCCESS),
        fingerprinted(bytes(StunMessage(BINDING, StunClass.SUCCESS, TID)), b"\x00\x24\x00\x03abc\x00"),
    ],
)
def test_garbage_and_non_requests_are_dropped(datagram: bytes) -> None:
    agent = make_agent()
    result = agent.receive(datagram, PEER, 0.0)
    assert result.response is None
    assert result.error_code is None
    assert result.dropped
    assert agent.pairs == {}


def test_use_candidate_nominates_and_the_latest_nomination_wins() -> None:
    agent = make_agent()
    assert agent.receive(check(), PEER, 0.0).selected is None
    assert agent.selected is None

    first = agent.receive(check(use_candidate=True), PEER, 1.0)
    assert (first.selected, first.selected_changed) == (PEER, True)
    assert agent.pairs[PEER].nominated

    again = agent.receive(check(use_candidate=True), PEER, 2.0)
    assert (again.selected, again.selected_changed) == (PEER, False)

    plain = agent.receive(check(), PEER6, 3.0)
    assert (plain.selected, plain.selected_changed) == (PEER, False)
    assert not agent.pairs[PEER6].nominated

    moved = agent.receive(check(use_candidate=True), PEER6, 4.0)
    assert (moved.selected, moved.selected_changed) == (PEER6, True)
    assert agent.selected == PEER6
    assert agent.receive(b"garbage", PEER, 5.0).selected == PEER6


def test_consent_expires_without_checks_on_the_selected_pair() -> None:
    agent = make_agent()
    assert not agent.expired(now=1000.0)  # nothing selected: nothing to expire
    agent.receive(check(use_candidate=True), PEER, 0.0)
    assert not agent.expired(29.9)
    assert agent.expired(30.0)
    agent.receive(check(), PEER, 20.0)  # every valid check refreshes consent
    assert not agent.expired(49.9)
    assert agent.expired(50.0)
    assert agent.expired(30.0, timeout_s=5.0)
    agent.receive(check(), PEER6, 45.0)  # another address does not refresh the selected pair
    agent.receive(check(password="wrong"), PEER, 45.0)  # nor does an unauthenticated one
    assert agent.expired(50.0)
    assert agent.pairs[PEER].last_consent == 20.0


def test_pairs_are_capped_and_the_selected_one_is_kept() -> None:
    agent = make_agent()
    agent.receive(check(use_candidate=True), PEER, 0.0)
    for port in range(1, 3 * MAX_PAIRS):
        agent.receive(check(), ("203.0.113.1", port), float(port))
    assert len(agent.pairs) == MAX_PAIRS
    assert agent.selected == PEER
    assert PEER in agent.pairs
    assert ("203.0.113.1", 3 * MAX_PAIRS - 1) in agent.pairs
    assert ("203.0.113.1", 1) not in agent.pairs


def test_random_credentials() -> None:
    ufrag, password = random_credentials()
    assert len(ufrag) == 16
    assert len(password) == 32
    assert set(ufrag + password) <= set(ICE_CHARS)
    assert random_credentials() != random_credentials()
    agent = IceLiteAgent(ufrag, password)
    result = agent.receive(check(username=f"{ufrag}:x", password=password), PEER, 0.0)
    assert response_of(result).message_class is StunClass.SUCCESS


@pytest.mark.parametrize(
    ("ufrag", "password"),
    [("abc", LOCAL_PASSWORD), (LOCAL_UFRAG, "short"), ("bad:ufrag", LOCAL_PASSWORD), (LOCAL_UFRAG, "p" * 21 + " ")],
)
def test_bad_local_credentials_are_refused(ufrag: str, password: str) -> None:
    with pytest.raises(LocalProtocolError):
        IceLiteAgent(ufrag, password)


def _assert_sane(result: IceResult) -> None:
    assert (result.response is None) != (result.dropped is None)
    if result.response is not None:
        assert verify_fingerprint(result.response)


@given(st.binary(max_size=300))
def test_garbage_never_raises(data: bytes) -> None:
    _assert_sane(make_agent().receive(data, PEER, 0.0))


VALID = [check(), check(use_candidate=True), check(role=AttrType.ICE_CONTROLLED), check(username=None)]


@given(st.sampled_from(VALID), st.data())
def test_mutated_checks_never_raise(data: bytes, draw: st.DataObject) -> None:
    position = draw.draw(st.integers(0, len(data)))
    replacement = draw.draw(st.binary(max_size=4))
    mutated = data[:position] + replacement + data[position + len(replacement) :]
    _assert_sane(make_agent().receive(mutated, PEER, 0.0))


@given(st.lists(st.tuples(st.sampled_from(range(len(VALID))), st.binary(max_size=8)), max_size=8))
def test_mutations_with_a_valid_fingerprint_never_raise(edits: list[tuple[int, bytes]]) -> None:
    """Mutations that keep the FINGERPRINT valid reach the parser and the checks behind it."""
    agent = make_agent(REMOTE_UFRAG)
    for index, junk in edits:
        data = VALID[index][:-8]
        body = data[20:] + junk + bytes(-len(junk) % 4)
        _assert_sane(agent.receive(fingerprinted(data[:20], body), PEER, 0.0))
