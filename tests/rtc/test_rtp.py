"""RTP packets, header extensions, the in-place hot path and RTX: known bytes, round trips, exact errors, fuzz."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from altegon_rt.rtc import rtp_ext
from altegon_rt.rtc.errors import LocalProtocolError, RemoteProtocolError
from altegon_rt.rtc.rtp import (
    RtpPacket,
    is_rtcp,
    payload_type,
    read_seq,
    read_ssrc,
    read_timestamp,
    remap_extension_ids,
    rewrite_header,
    rtx_unwrap,
    rtx_wrap,
)


def exact(message: str) -> str:
    return f"^{re.escape(message)}$"


# V=2 P=0 X=1 CC=1 | M=1 PT=111 | seq 0x1234 | ts 0xDEADBEEF | ssrc 0x11223344 | csrc 0xCAFEBABE
# | profile 0xBEDE, 2 words: [id 1, L=0: "0"] [id 2, L=0: V=1 level 5] [id 3, L=1: 0x002A] [pad 0]
# | payload 01 02 03
OPUS = bytes.fromhex("91 ef 1234 deadbeef 11223344 cafebabe bede 0002 10 30 20 85 31 00 2a 00 010203")
# V=2 P=1 X=0 CC=0 | M=0 PT=96 | seq 0xFFFF | ts 0 | ssrc 1 | payload aa bb | padding 00 00 00 04
PADDED = bytes.fromhex("a0 60 ffff 00000000 00000001 aabb 00000004")
# Two-byte extensions (profile 0x1000): [id 1, len 0] [pad] [id 200, len 3: 'r','i','d'] [pad pad], one word each
TWO_BYTE = bytes.fromhex("90 08 0001 00000064 00000002 1000 0002 01 00 00 c8 03 726964") + b"\x99"
BARE = bytes.fromhex("80 00 0000 00000000 00000000")


def test_known_bytes_parse_to_their_fields() -> None:
    p = RtpPacket.parse(OPUS)
    assert (p.payload_type, p.marker, p.sequence_number) == (111, True, 0x1234)
    assert (p.timestamp, p.ssrc) == (0xDEADBEEF, 0x11223344)
    assert p.csrcs == (0xCAFEBABE,)
    assert p.extension_profile == 0xBEDE
    assert p.payload == b"\x01\x02\x03"
    assert p.padding_size == 0
    ext = p.extensions()
    assert ext == {1: b"0", 2: b"\x85", 3: b"\x00\x2a"}
    assert rtp_ext.read_mid(ext[1]) == "0"
    assert rtp_ext.read_audio_level(ext[2]) == (5, True)
    assert rtp_ext.read_transport_seq(ext[3]) == 42


@pytest.mark.parametrize("data", [OPUS, PADDED, TWO_BYTE, BARE], ids=["opus", "padded", "two-byte", "bare"])
def test_round_trips(data: bytes) -> None:
    assert bytes(RtpPacket.parse(data)) == data


def test_padding_is_stripped_from_the_payload() -> None:
    p = RtpPacket.parse(PADDED)
    assert (p.payload, p.padding_size, p.sequence_number) == (b"\xaa\xbb", 4, 0xFFFF)


def test_two_byte_extensions_allow_empty_values_and_large_ids() -> None:
    p = RtpPacket.parse(TWO_BYTE)
    assert p.extensions() == {1: b"", 200: b"rid"}
    assert p.payload == b"\x99"


def test_every_prefix_either_raises_or_is_a_shorter_payload() -> None:
    header_end = len(OPUS) - 3
    for end in range(len(OPUS)):
        if end < header_end:
            with pytest.raises(RemoteProtocolError):
                RtpPacket.parse(OPUS[:end])
        else:
            assert RtpPacket.parse(OPUS[:end]).payload == OPUS[header_end:end]
    # Trailing bytes are payload: RTP has no length field of its own.
    assert RtpPacket.parse(OPUS + b"\x04").payload == b"\x01\x02\x03\x04"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "RTP packet shorter than 12 bytes"),
        (BARE[:11], "RTP packet shorter than 12 bytes"),
        (b"\x40" + BARE[1:], "RTP version must be 2, got 1"),
        (b"\x82" + BARE[1:] + b"\x00\x00\x00\x01", "RTP packet truncated in CSRC list"),
        (b"\x90" + BARE[1:] + b"\xbe\xde", "RTP packet truncated in header extension"),
        (b"\x90" + BARE[1:] + b"\xbe\xde\x00\x01", "RTP packet truncated in header extension"),
        (b"\xa0" + BARE[1:] + b"\x01\x00", "RTP padding size 0 out of range"),
        (b"\xa0" + BARE[1:] + b"\x01\x03", "RTP padding size 3 out of range"),
    ],
)
def test_exact_errors(data: bytes, message: str) -> None:
    with pytest.raises(RemoteProtocolError, match=exact(message)):
        RtpPacket.parse(data)


@pytest.mark.parametrize(
    ("profile", "data", "expected"),
    [
        (0xBEDE, bytes.fromhex("00 00 11 aabb 00"), {1: b"\xaa\xbb"}),  # ID 0 bytes are padding
        (0xBEDE, bytes.fromhex("10 01 f0 20 02 00 00 00"), {1: b"\x01"}),  # ID 15 stops parsing
        (0x1003, bytes.fromhex("05 01 07 00"), {5: b"\x07"}),  # appbits in the low nibble
        (0x0001, bytes.fromhex("01 02 03 04"), {}),  # not an RFC 8285 profile
    ],
)
def test_extension_element_forms(profile: int, data: bytes, expected: dict[int, bytes]) -> None:
    assert rtp_ext.parse_elements(profile, data) == expected


@pytest.mark.parametrize(
    ("profile", "data", "message"),
    [
        (0xBEDE, bytes.fromhex("13 0102 00"), "header extension element truncated"),
        (0xBEDE, bytes.fromhex("10 01 10 02"), "duplicate header extension id 1"),
        (0x1000, bytes.fromhex("00 00 00 07"), "header extension element truncated"),
        (0x1000, bytes.fromhex("07 05 00 00"), "header extension element truncated"),
    ],
)
def test_extension_element_errors(profile: int, data: bytes, message: str) -> None:
    with pytest.raises(RemoteProtocolError, match=exact(message)):
        rtp_ext.parse_elements(profile, data)


def test_building_extensions_picks_the_smallest_form_that_fits() -> None:
    assert rtp_ext.build_elements({1: b"0", 3: b"\x00\x2a"}) == (0xBEDE, bytes.fromhex("10 30 31 00 2a 00 00 00"))
    assert rtp_ext.build_elements({15: b"x"}) == (0x1000, bytes.fromhex("0f 01 78 00"))
    assert rtp_ext.build_elements({1: b""}) == (0x1000, bytes.fromhex("01 00 00 00"))
    assert rtp_ext.build_elements({1: bytes(17)})[0] == 0x1000
    for bad in ({0: b"x"}, {256: b"x"}, {1: bytes(256)}):
        with pytest.raises(LocalProtocolError):
            rtp_ext.build_elements(bad)


def test_with_extensions_replaces_the_block() -> None:
    p = RtpPacket.parse(BARE).with_extensions({4: rtp_ext.write_rid("h"), 9: rtp_ext.write_abs_send_time(0x123456)})
    again = RtpPacket.parse(bytes(p))
    assert again.extensions() == {4: b"h", 9: b"\x12\x34\x56"}
    assert rtp_ext.read_abs_send_time(again.extensions()[9]) == 0x123456
    cleared = again.with_extensions({})
    assert bytes(cleared) == BARE


def test_extension_values() -> None:
    assert rtp_ext.abs_send_time_from_seconds(1.5) == 3 << 17
    assert rtp_ext.abs_send_time_from_seconds(64.25) == 1 << 16  # 6 integer bits: wraps every 64 s
    assert rtp_ext.abs_send_time_to_seconds(3 << 17) == 1.5
    assert rtp_ext.write_transport_seq(0x1_0001) == b"\x00\x01"
    assert rtp_ext.write_audio_level(127, False) == b"\x7f"
    assert rtp_ext.write_mid("audio") == b"audio"
    with pytest.raises(LocalProtocolError, match=exact("audio level must be 0-127")):
        rtp_ext.write_audio_level(128, True)
    with pytest.raises(LocalProtocolError, match=exact("SDES string extension must be 1-255 bytes")):
        rtp_ext.write_mid("")


@pytest.mark.parametrize(
    ("call", "value", "message"),
    [
        (rtp_ext.read_mid, b"", "empty SDES string extension"),
        (rtp_ext.read_rid, b"\xff", "SDES string extension is not UTF-8"),
        (rtp_ext.read_abs_send_time, b"\x00\x01", "abs-send-time must be 3 bytes"),
        (rtp_ext.read_transport_seq, b"\x00", "transport-wide sequence number must be 2 bytes"),
        (rtp_ext.read_audio_level, b"", "audio level extension is empty"),
    ],
)
def test_extension_value_errors(call: Callable[[bytes], object], value: bytes, message: str) -> None:
    with pytest.raises(RemoteProtocolError, match=exact(message)):
        call(value)


@pytest.mark.parametrize(
    ("first_two", "expected"),
    [
        (b"\x80\xc8", True),  # SR (200)
        (b"\x81\xc9", True),  # RR (201)
        (b"\x8f\xcd", True),  # RTPFB (205)
        (b"\x80\xdf", True),  # 223: the top of the range
        (b"\x80\x6f", False),  # RTP PT 111
        (b"\x80\xe0", False),  # RTP PT 96 with the marker bit
        (b"\x80\xbf", False),  # RTP PT 63 with the marker bit
        (b"\x00\xc8", False),  # not version 2
        (b"\x80", False),
    ],
)
def test_is_rtcp_demultiplexes_by_the_second_byte(first_two: bytes, expected: bool) -> None:
    assert is_rtcp(first_two) is expected


def test_fast_path_reads_match_the_parser() -> None:
    p = RtpPacket.parse(OPUS)
    assert (payload_type(OPUS), read_seq(OPUS), read_timestamp(OPUS), read_ssrc(OPUS)) == (
        p.payload_type, p.sequence_number, p.timestamp, p.ssrc)  # fmt: skip
    for read in (payload_type, read_seq, read_timestamp, read_ssrc):
        with pytest.raises(RemoteProtocolError, match=exact("RTP packet shorter than 12 bytes")):
            read(OPUS[:11])


def test_rewrite_header_changes_only_the_header_fields() -> None:
    buf = bytearray(OPUS)
    rewrite_header(buf, 0xAABBCCDD, 0x1_0002, -1)
    after = RtpPacket.parse(bytes(buf))
    before = RtpPacket.parse(OPUS)
    assert (after.ssrc, after.sequence_number, after.timestamp) == (0xAABBCCDD, 2, 0xFFFFFFFF)
    assert buf[12:] == OPUS[12:]  # CSRCs, extensions and payload are the same bytes
    assert buf[:2] == OPUS[:2]
    assert (after.marker, after.payload_type, after.payload) == (before.marker, before.payload_type, before.payload)
    rewrite_header(buf, 1, 2, 3, payload_type=100)
    assert (buf[1], read_ssrc(buf)) == (0x80 | 100, 1)  # the marker bit survives a payload type rewrite


def test_rewrite_header_errors() -> None:
    with pytest.raises(RemoteProtocolError, match=exact("RTP packet shorter than 12 bytes")):
        rewrite_header(bytearray(5), 1, 2, 3)
    with pytest.raises(LocalProtocolError, match=exact("ssrc must be 32 bits")):
        rewrite_header(bytearray(OPUS), 1 << 32, 2, 3)
    with pytest.raises(LocalProtocolError, match=exact("payload type must be 0-127")):
        rewrite_header(bytearray(OPUS), 1, 2, 3, payload_type=128)


def test_rtx_wrap_and_unwrap_round_trip() -> None:
    original = RtpPacket.parse(OPUS)
    rtx = rtx_wrap(original, ssrc=0x55667788, sequence_number=7, payload_type=112)
    wire = bytes(rtx)
    parsed = RtpPacket.parse(wire)
    assert parsed.payload[:2] == b"\x12\x34"  # the OSN
    assert (parsed.ssrc, parsed.sequence_number, parsed.payload_type) == (0x55667788, 7, 112)
    assert parsed.extensions() == original.extensions()
    assert rtx_unwrap(parsed, payload_type=111, ssrc=0x11223344) == original


def test_rtx_unwrap_drops_rtx_padding_and_refuses_short_payloads() -> None:
    rtx = RtpPacket(payload_type=97, sequence_number=1, timestamp=2, ssrc=3, payload=b"\x00\x09zz", padding_size=8)
    assert rtx_unwrap(RtpPacket.parse(bytes(rtx)), payload_type=96, ssrc=4) == RtpPacket(96, 9, 2, 4, b"zz")
    with pytest.raises(RemoteProtocolError, match=exact("RTX payload shorter than the original sequence number")):
        rtx_unwrap(RtpPacket(97, 1, 2, 3, b"\x00"), payload_type=96, ssrc=4)


@pytest.mark.parametrize(
    ("packet", "message"),
    [
        (RtpPacket(128, 0, 0, 0), "payload type must be 0-127"),
        (RtpPacket(0, 1 << 16, 0, 0), "sequence number must be 16 bits"),
        (RtpPacket(0, 0, 1 << 32, 0), "timestamp and ssrc must be 32 bits"),
        (RtpPacket(0, 0, 0, 0, csrcs=(0,) * 16), "at most 15 CSRCs of 32 bits"),
        (RtpPacket(0, 0, 0, 0, extension_data=b"1234"), "header extension data without a profile"),
        (
            RtpPacket(0, 0, 0, 0, extension_profile=0xBEDE, extension_data=b"1"),
            "header extension data must be whole 32-bit words",
        ),
        (RtpPacket(0, 0, 0, 0, padding_size=256), "padding size must be 0-255"),
    ],
)
def test_writing_impossible_packets_is_our_error(packet: RtpPacket, message: str) -> None:
    with pytest.raises(LocalProtocolError, match=exact(message)):
        bytes(packet)


packets = st.builds(
    RtpPacket,
    payload_type=st.integers(0, 127),
    sequence_number=st.integers(0, 0xFFFF),
    timestamp=st.integers(0, 0xFFFFFFFF),
    ssrc=st.integers(0, 0xFFFFFFFF),
    payload=st.binary(max_size=64),
    marker=st.booleans(),
    csrcs=st.lists(st.integers(0, 0xFFFFFFFF), max_size=15).map(tuple),
    padding_size=st.integers(0, 255),
)
elements = st.dictionaries(st.integers(1, 255), st.binary(max_size=20), max_size=6)


@given(packets, elements)
def test_any_valid_packet_round_trips(packet: RtpPacket, ext: dict[int, bytes]) -> None:
    packet = packet.with_extensions(ext)
    data = bytes(packet)
    parsed = RtpPacket.parse(data)
    assert parsed == packet
    assert parsed.extensions() == ext
    assert bytes(parsed) == data
    assert (read_seq(data), read_ssrc(data), read_timestamp(data)) == (
        packet.sequence_number, packet.ssrc, packet.timestamp)  # fmt: skip


def _parse_everything(data: bytes) -> None:
    try:
        packet = RtpPacket.parse(data)
    except RemoteProtocolError:
        return
    assert RtpPacket.parse(bytes(packet)) == packet
    with contextlib.suppress(RemoteProtocolError):
        for value in packet.extensions().values():
            for read in (rtp_ext.read_mid, rtp_ext.read_abs_send_time, rtp_ext.read_transport_seq,
                         rtp_ext.read_audio_level):  # fmt: skip
                with contextlib.suppress(RemoteProtocolError):
                    read(value)
    with contextlib.suppress(RemoteProtocolError):
        rtx_unwrap(packet, payload_type=1, ssrc=2)


@given(st.binary(max_size=200))
def test_garbage_raises_only_protocol_errors(data: bytes) -> None:
    _parse_everything(data)
    is_rtcp(data)


@given(st.sampled_from([OPUS, PADDED, TWO_BYTE, BARE]), st.data())
def test_mutated_valid_packets_raise_only_protocol_errors(data: bytes, draw: st.DataObject) -> None:
    position = draw.draw(st.integers(0, len(data)))
    mutated = data[:position] + draw.draw(st.binary(max_size=3)) + data[position + 1 :]
    _parse_everything(mutated)


# --- remap_extension_ids: the SFU's in-place renumbering ----------------------------------------------------


def _remap_table(mapping: dict[int, int]) -> bytes:
    table = bytearray(256)
    for old, new in mapping.items():
        table[old] = new
    return bytes(table)


@pytest.mark.parametrize("two_byte", [False, True])
def test_remap_extension_ids_renumbers_and_pads_out_in_place(two_byte: bool) -> None:
    elements = {4: b"0", 2: b"\x01\x02\x03", 3: b"\x00\x07", 13: b"\x01"}
    if two_byte:
        elements[200] = b""  # a zero-length element forces the two-byte form
    packet = RtpPacket(96, 1, 2, 3, payload=b"payload").with_extensions(elements)
    buf = bytearray(bytes(packet))
    remap_extension_ids(buf, _remap_table({2: 4, 13: 11}))
    out = RtpPacket.parse(bytes(buf))
    assert len(buf) == len(bytes(packet)) and out.payload == b"payload"
    assert out.extensions() == {4: b"\x01\x02\x03", 11: b"\x01"}


def test_remap_extension_ids_pads_out_a_truncated_block_and_ignores_packets_without_one() -> None:
    packet = RtpPacket(96, 1, 2, 3, payload=b"xy").with_extensions({1: b"\x05"})
    plain = bytearray(bytes(RtpPacket(96, 1, 2, 3, payload=b"xy")))
    before = bytes(plain)
    remap_extension_ids(plain, _remap_table({1: 2}))
    assert bytes(plain) == before
    buf = bytearray(bytes(packet))
    buf[16] = 0x1F  # id 1, length 16: runs past the block
    remap_extension_ids(buf, _remap_table({1: 2}))
    assert RtpPacket.parse(bytes(buf)).extensions() == {}


@given(st.binary(min_size=12, max_size=80), st.binary(min_size=256, max_size=256))
def test_remap_extension_ids_never_raises_nor_changes_length(data: bytes, table: bytes) -> None:
    buf = bytearray(data)
    buf[0] = 0x90 | buf[0] & 0x0F
    remap_extension_ids(buf, bytes(b % 15 for b in table))
    assert len(buf) == len(data)
