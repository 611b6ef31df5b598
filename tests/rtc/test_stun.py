"""STUN messages: RFC 5769's vectors both ways, round trips, exact errors, integrity and fingerprint, fuzzing."""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from altegon_rt.rtc.errors import LocalProtocolError, RemoteProtocolError
from altegon_rt.rtc.stun import (
    BINDING,
    MAX_ATTRIBUTES,
    MAX_MESSAGE_SIZE,
    AttrType,
    ErrorCode,
    StunAttribute,
    StunClass,
    StunMessage,
    is_stun,
    serialize,
    verify_fingerprint,
    verify_integrity,
)

# RFC 5769 §2: one transaction id for the three short-term vectors.
TID = bytes.fromhex("b7e7a701bc34d686fa87dfae")
PASSWORD = b"VOkJxbRl1RmTxUk/WvJxBt"

# §2.1 sample request: SOFTWARE, PRIORITY, ICE-CONTROLLED, USERNAME (padded with spaces), MI, FINGERPRINT.
SAMPLE_REQUEST = bytes.fromhex(
    "000100582112a442b7e7a701bc34d686fa87dfae"
    "802200105354554e207465737420636c69656e74"
    "002400046e0001ff"
    "80290008932ff9b151263b36"
    "000600096576746a3a68367659202020"
    "000800149aeaa70cbfd8cb56781ef2b5b2d3f249c1b571a2"
    "80280004e57a3bcf"
)
# §2.2 sample IPv4 response: SOFTWARE "test vector" (padded with a space), XOR-MAPPED-ADDRESS, MI, FINGERPRINT.
SAMPLE_IPV4_RESPONSE = bytes.fromhex(
    "0101003c2112a442b7e7a701bc34d686fa87dfae"
    "8022000b7465737420766563746f7220"
    "002000080001a147e112a643"
    "000800142b91f599fd9e90c38c7489f92af9ba53f06be7d7"
    "80280004c07d4c96"
)
# §2.3 sample IPv6 response.
SAMPLE_IPV6_RESPONSE = bytes.fromhex(
    "010100482112a442b7e7a701bc34d686fa87dfae"
    "8022000b7465737420766563746f7220"
    "002000140002a1470113a9faa5d3f179bc25f4b5bed2b9d9"
    "00080014a382954e4be67bf11784c97c8292c275bfe3ed41"
    "80280004c8fb0b4c"
)
# §2.4 long-term credentials request: USERNAME in katakana, NONCE and REALM (types we keep raw), MI.
SAMPLE_LONG_TERM_REQUEST = bytes.fromhex(
    "000100602112a44278ad3433c6ad72c029da412e"
    "00060012e3839ee38388e383aae38383e382afe382b90000"
    "0015001c662f2f3439396b39353464364f4c33346f4c394653547679363473410"
    "014000b6578616d706c652e6f726700"
    "00080014f67024656dd64a3e02b8e0712e85c9a28ca89666"
)


def sample_request_fields() -> StunMessage:
    return StunMessage(
        BINDING,
        StunClass.REQUEST,
        TID,
        (
            StunAttribute(AttrType.SOFTWARE, "STUN test client"),
            StunAttribute(AttrType.PRIORITY, 0x6E0001FF),
            StunAttribute(AttrType.ICE_CONTROLLED, 0x932FF9B151263B36),
            StunAttribute(AttrType.USERNAME, "evtj:h6vY", padding=b"   "),
        ),
    )


def sample_response_fields(address: tuple[str, int]) -> StunMessage:
    return StunMessage(
        BINDING,
        StunClass.SUCCESS,
        TID,
        (
            StunAttribute(AttrType.SOFTWARE, "test vector", padding=b" "),
            StunAttribute(AttrType.XOR_MAPPED_ADDRESS, address),
        ),
    )


def test_rfc5769_sample_request_parses() -> None:
    message = StunMessage.parse(SAMPLE_REQUEST)
    assert (message.method, message.message_class, message.transaction_id) == (BINDING, StunClass.REQUEST, TID)
    assert message.get(AttrType.SOFTWARE) == "STUN test client"
    assert message.get(AttrType.PRIORITY) == 0x6E0001FF
    assert message.get(AttrType.ICE_CONTROLLED) == 0x932FF9B151263B36
    assert message.get(AttrType.USERNAME) == "evtj:h6vY"
    assert message.get(AttrType.FINGERPRINT) == 0xE57A3BCF
    assert message.unknown_required() == ()
    assert verify_integrity(SAMPLE_REQUEST, PASSWORD)
    assert verify_fingerprint(SAMPLE_REQUEST)


def test_rfc5769_sample_request_is_built_byte_for_byte() -> None:
    built = serialize(sample_request_fields(), integrity_key=PASSWORD, fingerprint=True)
    assert built == SAMPLE_REQUEST
    assert bytes(sample_request_fields().with_integrity(PASSWORD).with_fingerprint()) == SAMPLE_REQUEST


@pytest.mark.parametrize(
    ("data", "address"),
    [
        (SAMPLE_IPV4_RESPONSE, ("192.0.2.1", 32853)),
        (SAMPLE_IPV6_RESPONSE, ("2001:db8:1234:5678:11:2233:4455:6677", 32853)),
    ],
)
def test_rfc5769_sample_responses_both_ways(data: bytes, address: tuple[str, int]) -> None:
    message = StunMessage.parse(data)
    assert message.message_class is StunClass.SUCCESS
    assert message.get(AttrType.SOFTWARE) == "test vector"
    assert message.get(AttrType.XOR_MAPPED_ADDRESS) == address
    assert verify_integrity(data, PASSWORD)
    assert verify_fingerprint(data)
    assert serialize(sample_response_fields(address), integrity_key=PASSWORD, fingerprint=True) == data


def test_rfc5769_long_term_request_keeps_unknown_attributes_raw() -> None:
    message = StunMessage.parse(SAMPLE_LONG_TERM_REQUEST)
    assert message.get(AttrType.USERNAME) == "\u30de\u30c8\u30ea\u30c3\u30af\u30b9"
    assert message.get(0x0014) == b"example.org"  # REALM
    assert message.get(0x0015) == b"f//499k954d6OL34oL9FSTvy64sA"  # NONCE
    assert message.unknown_required() == (0x0015, 0x0014)
    # The long-term key is MD5(username ":" realm ":" SASLprep(password)); the MAC is computed the same way.
    key = hashlib.md5("\u30de\u30c8\u30ea\u30c3\u30af\u30b9:example.org:TheMatrIX".encode()).digest()  # noqa: S324
    assert verify_integrity(SAMPLE_LONG_TERM_REQUEST, key)
    assert not verify_fingerprint(SAMPLE_LONG_TERM_REQUEST)


VECTORS = [SAMPLE_REQUEST, SAMPLE_IPV4_RESPONSE, SAMPLE_IPV6_RESPONSE, SAMPLE_LONG_TERM_REQUEST]

SAMPLES = [
    StunMessage(BINDING, StunClass.REQUEST, bytes(12)),
    StunMessage(BINDING, StunClass.INDICATION, b"x" * 12),
    StunMessage(
        BINDING,
        StunClass.SUCCESS,
        TID,
        (
            StunAttribute(AttrType.MAPPED_ADDRESS, ("10.0.0.1", 1)),
            StunAttribute(AttrType.MAPPED_ADDRESS, ("::1", 65535)),
            StunAttribute(AttrType.XOR_MAPPED_ADDRESS, ("2001:db8::1", 5000)),
        ),
    ),
    StunMessage(
        BINDING,
        StunClass.ERROR,
        TID,
        (
            StunAttribute(AttrType.ERROR_CODE, ErrorCode(420, "Unknown Attribute")),
            StunAttribute(AttrType.UNKNOWN_ATTRIBUTES, (0x0015, 0x0014, 0x7FFF)),
        ),
    ),
    StunMessage(
        0xFFF,  # every method bit set: checks the interleaving with the class bits
        StunClass.REQUEST,
        TID,
        (
            StunAttribute(AttrType.USE_CANDIDATE),
            StunAttribute(AttrType.ICE_CONTROLLING, 2**64 - 1),
            StunAttribute(0x7777, b"abc"),
            StunAttribute(0xC001, b""),
            StunAttribute(AttrType.SOFTWARE, "é" * 100),
        ),
    ),
]


@pytest.mark.parametrize("data", VECTORS)
def test_vectors_round_trip(data: bytes) -> None:
    assert bytes(StunMessage.parse(data)) == data


@pytest.mark.parametrize("message", SAMPLES)
@pytest.mark.parametrize("message_class", list(StunClass))
def test_messages_round_trip(message: StunMessage, message_class: StunClass) -> None:
    message = StunMessage(message.method, message_class, message.transaction_id, message.attributes)
    data = serialize(message, integrity_key=b"key", fingerprint=True)
    assert bytes(StunMessage.parse(data)) == data
    assert StunMessage.parse(bytes(message)) == message
    assert verify_integrity(data, b"key")
    assert verify_fingerprint(data)


def _header(length: int, cookie: bytes = b"\x21\x12\xa4\x42", first: bytes = b"\x00\x01") -> bytes:
    return first + length.to_bytes(2, "big") + cookie + TID


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "truncated header: 0 of 20 bytes"),
        (SAMPLE_REQUEST[:19], "truncated header: 19 of 20 bytes"),
        (b"\x00" * (MAX_MESSAGE_SIZE + 1), f"message of {MAX_MESSAGE_SIZE + 1} bytes exceeds the 2048-byte limit"),
        (_header(0, first=b"\x80\x01"), "first two bits are not zero"),
        (_header(0, cookie=b"\x21\x12\xa4\x43"), "bad magic cookie 0x2112a443"),
        (_header(2) + b"\x00\x00", "message length 2 is not a multiple of 4"),
        (SAMPLE_REQUEST[:-4], "message length 88 but 84 bytes follow the header"),
        (SAMPLE_REQUEST + b"\x00" * 4, "message length 88 but 92 bytes follow the header"),
        (_header(8) + b"\x00\x06\x00\x05abcd", "attribute 0x0006 of 5 bytes overruns the message"),
        (_header(4 * (MAX_ATTRIBUTES + 1)) + b"\xc0\x00\x00\x00" * (MAX_ATTRIBUTES + 1), "more than 64 attributes"),
        (_header(8) + b"\x00\x24\x00\x03abc\x00", "PRIORITY: length 3, expected 4"),
        (_header(8) + b"\x80\x29\x00\x04abcd", "ICE-CONTROLLED: length 4, expected 8"),
        (_header(8) + b"\x00\x08\x00\x04abcd", "MESSAGE-INTEGRITY: length 4, expected 20"),
        (_header(4) + b"\x00\x25\x00\x00", None),  # USE-CANDIDATE, empty: fine
        (_header(8) + b"\x00\x25\x00\x01x\x00\x00\x00", "USE-CANDIDATE: length 1, expected 0"),
        (_header(8) + b"\x00\x06\x00\x02\xff\xfe\x00\x00", "USERNAME: not UTF-8"),
        (_header(520) + b"\x00\x06\x02\x04" + b"a" * 516, "USERNAME: longer than 512 bytes"),
        (_header(12) + b"\x00\x20\x00\x08\x00\x03\x00\x00abcd", "XOR-MAPPED-ADDRESS: unknown address family 3"),
        (_header(12) + b"\x00\x01\x00\x08\x00\x02\x00\x00abcd", "MAPPED-ADDRESS: length 8, expected 20"),
        (_header(4) + b"\x00\x20\x00\x00", "XOR-MAPPED-ADDRESS: length 0, too short"),
        (_header(8) + b"\x00\x09\x00\x04\x00\x00\x07\x00", "ERROR-CODE: code 700 out of range 300..699"),
        (_header(8) + b"\x00\x09\x00\x04\x00\x00\x04\x64", "ERROR-CODE: code 500 out of range 300..699"),
        (_header(8) + b"\x00\x0a\x00\x03abc\x00", "UNKNOWN-ATTRIBUTES: length 3 is odd"),
    ],
)
def test_exact_errors(data: bytes, message: str | None) -> None:
    if message is None:
        StunMessage.parse(data)
        return
    with pytest.raises(RemoteProtocolError, match=f"^{message}$"):
        StunMessage.parse(data)


def test_every_truncation_is_refused() -> None:
    for end in range(len(SAMPLE_REQUEST)):
        with pytest.raises(RemoteProtocolError):
            StunMessage.parse(SAMPLE_REQUEST[:end])


def test_message_of_the_maximum_size_parses() -> None:
    body_size = MAX_MESSAGE_SIZE - 20
    data = _header(body_size) + (0xC000).to_bytes(2, "big") + (body_size - 4).to_bytes(2, "big") + bytes(body_size - 4)
    assert StunMessage.parse(data).get(0xC000) == bytes(body_size - 4)


def test_padding_bytes_are_kept_only_when_not_zero() -> None:
    assert StunMessage.parse(SAMPLE_REQUEST).attributes[3].padding == b"   "
    zero_padded = bytes(StunMessage(BINDING, StunClass.REQUEST, TID, (StunAttribute(AttrType.USERNAME, "a"),)))
    assert zero_padded.endswith(b"a\x00\x00\x00")
    assert StunMessage.parse(zero_padded).attributes[0].padding == b""


def test_wrong_key_fails_integrity() -> None:
    assert not verify_integrity(SAMPLE_REQUEST, PASSWORD + b"x")
    assert not verify_integrity(SAMPLE_REQUEST, b"")


@pytest.mark.parametrize("data", [SAMPLE_REQUEST, SAMPLE_IPV4_RESPONSE, SAMPLE_IPV6_RESPONSE])
def test_any_tampered_byte_fails_integrity_or_fingerprint(data: bytes) -> None:
    integrity_end = len(data) - 8  # MESSAGE-INTEGRITY covers everything before FINGERPRINT
    for position in range(len(data)):
        tampered = bytearray(data)
        tampered[position] ^= 0x01
        assert not verify_fingerprint(bytes(tampered)), position
        if position < integrity_end:
            assert not verify_integrity(bytes(tampered), PASSWORD), position


def test_integrity_and_fingerprint_absent() -> None:
    plain = bytes(SAMPLES[0])
    assert not verify_integrity(plain, b"key")
    assert not verify_fingerprint(plain)
    assert not verify_integrity(b"garbage", b"key")
    assert not verify_fingerprint(b"garbage")


def test_fingerprint_must_be_last() -> None:
    data = bytes(StunMessage.parse(SAMPLE_IPV4_RESPONSE).with_attribute(0x8030, b"late"))
    assert not verify_fingerprint(data)


def test_attributes_after_integrity_are_ignored_but_kept() -> None:
    signed = SAMPLES[0].with_attribute(AttrType.USERNAME, "first").with_integrity(b"key")
    message = StunMessage.parse(bytes(signed.with_attribute(AttrType.PRIORITY, 7).with_attribute(0x0030, b"")))
    assert message.get(AttrType.PRIORITY) is None
    assert not message.has(AttrType.PRIORITY)
    assert message.unknown_required() == ()
    assert len(message.attributes) == 4
    signed = signed.with_fingerprint()
    assert StunMessage.parse(bytes(signed)).get(AttrType.FINGERPRINT) == signed.attributes[-1].value


def test_first_duplicate_wins() -> None:
    message = SAMPLES[0].with_attribute(AttrType.PRIORITY, 1).with_attribute(AttrType.PRIORITY, 2)
    assert StunMessage.parse(bytes(message)).get(AttrType.PRIORITY) == 1


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: StunMessage(BINDING, StunClass.REQUEST, b"short"), "transaction id must be 12 bytes"),
        (lambda: StunMessage(0x1000, StunClass.REQUEST, TID), "method must fit in 12 bits"),
        (lambda: bytes(SAMPLES[0].with_attribute(AttrType.USERNAME, "u" * 513)), "USERNAME: longer than 512 bytes"),
        (lambda: bytes(SAMPLES[0].with_attribute(AttrType.PRIORITY, -1)), "PRIORITY: .*"),
        (lambda: bytes(SAMPLES[0].with_attribute(AttrType.XOR_MAPPED_ADDRESS, ("host", 1))), "XOR-MAPPED-ADDRESS: .*"),
        (lambda: bytes(SAMPLES[0].with_attribute(AttrType.ERROR_CODE, ErrorCode(200))), "ERROR-CODE: code 200 .*"),
        (lambda: bytes(SAMPLES[0].with_attribute(0x7000, 5)), "attribute 0x7000: .* must be bytes"),
        (lambda: bytes(SAMPLES[0].with_attribute(0x7000, bytes(70000))), "attribute 0x7000: does not fit .*"),
        (lambda: bytes(SAMPLES[0].with_attribute(0x7000, bytes(3000))), "message of 3024 bytes exceeds 2048"),
        (
            lambda: bytes(StunMessage(BINDING, StunClass.REQUEST, TID, (StunAttribute(0x7000, b"a", b"\x00"),))),
            "attribute 0x7000: 1 padding bytes, needs 3",
        ),
        (lambda: SAMPLES[0].with_integrity(b"k").with_integrity(b"k"), "MESSAGE-INTEGRITY must come once.*"),
        (lambda: SAMPLES[0].with_fingerprint().with_integrity(b"k"), "MESSAGE-INTEGRITY must come once.*"),
        (lambda: SAMPLES[0].with_fingerprint().with_fingerprint(), "message already has a FINGERPRINT"),
    ],
)
def test_local_misuse_is_a_local_protocol_error(build: Callable[[], object], message: str) -> None:
    with pytest.raises(LocalProtocolError, match=f"^{message}$"):
        build()


@pytest.mark.parametrize(
    ("data", "expected"),
    [(b"", False), (b"\x00", True), (b"\x03\xff", True), (b"\x04", False), (b"\x14", False), (b"\x80", False)],
)
def test_is_stun_demultiplexes_by_first_byte(data: bytes, expected: bool) -> None:
    assert is_stun(data) is expected


def _assert_only_ours(data: bytes) -> None:
    try:
        message = StunMessage.parse(data)
    except RemoteProtocolError:
        return
    # What parses serialises, and reads back the same (padding and reserved bits may be normalised).
    assert StunMessage.parse(bytes(message)) == message


@given(st.binary(max_size=300))
def test_garbage_raises_only_protocol_errors(data: bytes) -> None:
    _assert_only_ours(data)
    verify_fingerprint(data)
    verify_integrity(data, b"key")


@given(st.binary(max_size=200).map(lambda body: _header(len(body) - len(body) % 4) + body[: len(body) - len(body) % 4]))
def test_garbage_attributes_raise_only_protocol_errors(data: bytes) -> None:
    _assert_only_ours(data)


@given(st.sampled_from(VECTORS + [bytes(m) for m in SAMPLES]), st.data())
def test_mutated_valid_messages_raise_only_protocol_errors(data: bytes, draw: st.DataObject) -> None:
    position = draw.draw(st.integers(0, len(data)))
    replacement = draw.draw(st.binary(max_size=4))
    mutated = data[:position] + replacement + data[position + len(replacement) :]
    with contextlib.suppress(RemoteProtocolError):
        _assert_only_ours(mutated)
    assert not verify_fingerprint(mutated) or mutated == data or not verify_fingerprint(data)
