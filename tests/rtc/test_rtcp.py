"""RTCP compound packets, feedback and TWCC: bytes written out from the RFC layouts, round trips, exact errors, fuzz."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from altegon_rt.rtc.errors import LocalProtocolError, RemoteProtocolError
from altegon_rt.rtc.rtcp import (
    MAX_PACKETS_PER_COMPOUND,
    Bye,
    Fir,
    Nack,
    Pli,
    ReceiverReport,
    Remb,
    ReportBlock,
    RtcpPacket,
    Sdes,
    SdesChunk,
    SenderReport,
    TransportWideCc,
    UnknownRtcp,
    build_compound,
    parse_compound,
)
from altegon_rt.rtc.twcc import TwccStatus


def exact(message: str) -> str:
    return f"^{re.escape(message)}$"


h = bytes.fromhex

# SR, RC=1, 12 words: ssrc | NTP | RTP ts | packets | octets | one report block (fraction 0x40, lost -3)
SR = h(
    "81c8000c 11223344 e1a2b3c4d5e6f708 00bc614e 0000000a 00000bb8"
    " 55667788 40fffffd 00010010 00000020 a2b3c4d5 00010000"
)
RR = h("80c90001 00000001")  # RR, RC=0: just the reporter's SSRC
# SDES, SC=1: ssrc 1, CNAME (type 1, 16 bytes), null item + one byte of padding to the word
SDES = h("81ca0006 00000001 0110") + b"abcdefghijklmnop" + h("0000")
BYE = h("81cb0002 01020304 03") + b"bye"
NACK = h("81cd0003 00000001 00000002 0064 8005")  # PID 100, BLP bits 0, 2, 15 → 101, 103, 116
PLI = h("81ce0002 00000001 00000002")
FIR = h("84ce0004 00000001 00000000 11223344 07000000")
# REMB: 1 SSRC, exponent 2, mantissa 250000 (0x3D090) → 1 Mb/s
REMB = h("8fce0005 00000001 00000000") + b"REMB" + h("010bd090 11223344")
# TWCC, P=1: base 10, 15 packets, reference time 0x000102, fb count 5; chunks: run of 3 small deltas
# (0x2003), a 2-bit vector [2,0,1,1,0,0,0] (0xE140), a 1-bit vector [1,0,1,1,1,...] (0xAE00, 5 of its 14 used);
# deltas 4 8 255 | -4 (2 bytes) 1 2 | 10 20 30 40; then 3 bytes of padding.
TWCC = h("afcd0009 00000001 00000002 000a000f 00010205 2003e140ae00 0408ff fffc0102 0a141e28 000003")
APP = h("80cc0003 00000001") + b"name" + h("01020304")
TMMBR = h("83cd0004 00000001 00000000 00000002 04010101")
AFB_OTHER = h("8fce0003 00000001 00000000") + b"GOOG"
SAMPLES = [SR, RR, SDES, BYE, NACK, PLI, FIR, REMB, TWCC, APP, TMMBR, AFB_OTHER]


@pytest.mark.parametrize("data", SAMPLES)
def test_round_trips(data: bytes) -> None:
    [packet] = parse_compound(data)
    assert bytes(packet) == data
    assert type(packet).parse(data) == packet


def test_sender_report_fields() -> None:
    sr = SenderReport.parse(SR)
    assert (sr.ssrc, sr.ntp_timestamp, sr.rtp_timestamp, sr.packet_count, sr.octet_count) == (
        0x11223344, 0xE1A2B3C4D5E6F708, 12345678, 10, 3000)  # fmt: skip
    assert sr.ntp_middle == 0xB3C4D5E6
    assert sr.reports == (ReportBlock(0x55667788, 0x40, -3, 0x10010, 32, 0xA2B3C4D5, 0x10000),)
    assert bytes(SenderReport(0x11223344, 0xE1A2B3C4D5E6F708, 12345678, 10, 3000, sr.reports)) == SR


def test_a_browser_compound_parses_into_typed_packets() -> None:
    packets = parse_compound(RR + SDES + REMB + TWCC)
    assert [type(p) for p in packets] == [ReceiverReport, Sdes, Remb, TransportWideCc]
    sdes = packets[1]
    assert isinstance(sdes, Sdes)
    assert sdes.chunks[0].cname == "abcdefghijklmnop"
    assert build_compound(packets) == RR + SDES + REMB + TWCC


def test_sdes_and_bye_fields() -> None:
    assert Sdes.parse(SDES) == Sdes((SdesChunk(1, ((1, b"abcdefghijklmnop"),)),))
    assert SdesChunk(1, ((2, b"x"),)).cname is None
    # A chunk whose items end on a word boundary still needs a null item: a whole word of zeros.
    assert bytes(Sdes((SdesChunk(7, ((1, b"ab"),)),))) == h("81ca0003 00000007 01026162 00000000")
    assert Bye.parse(BYE) == Bye((0x01020304,), b"bye")
    assert bytes(Bye((1, 2))) == h("82cb0002 00000001 00000002")


def test_writers_the_sfu_uses_produce_known_bytes() -> None:
    assert bytes(Pli(1, 2)) == PLI
    assert bytes(ReceiverReport(1)) == RR
    assert bytes(Nack.for_lost(1, 2, [100, 101, 103, 116])) == NACK
    assert bytes(Fir(1, entries=((0x11223344, 7),))) == FIR
    assert bytes(Remb(1, 1_000_000, (0x11223344,))) == REMB


def test_nack_expands_pid_and_blp() -> None:
    nack = Nack.parse(NACK)
    assert nack.items == ((100, 0x8005),)
    assert nack.lost == [100, 101, 103, 116]


@pytest.mark.parametrize(
    ("lost", "items"),
    [
        ([65534, 65535, 0, 1], ((65534, 0b111),)),  # the bitmask wraps with the sequence numbers
        ([1, 17], ((1, 1 << 15),)),  # 16 past the PID is the last bit
        ([1, 18, 19], ((1, 0), (18, 1))),
        ([5, 5, 6], ((5, 1),)),  # duplicates cost nothing
        ([], ()),
    ],
)
def test_nack_building(lost: list[int], items: tuple[tuple[int, int], ...]) -> None:
    nack = Nack.for_lost(1, 2, lost)
    assert nack.items == items
    assert Nack.parse(bytes(nack)).lost == sorted(set(lost), key=lost.index)


def test_remb_bitrate_is_mantissa_shifted_by_exponent() -> None:
    assert Remb.parse(REMB).bitrate == 250000 << 2
    non_canonical = h("8fce0004 00000001 00000000") + b"REMB" + h("000c0002")  # exponent 3, mantissa 2
    assert Remb.parse(non_canonical) == Remb(1, 16)
    assert Remb.parse(bytes(Remb(1, 2_000_001))).bitrate == 2_000_000  # only 18 significant bits survive
    assert Remb.parse(bytes(Remb(1, (1 << 18) - 1))).bitrate == (1 << 18) - 1
    assert Remb.parse(bytes(Remb(1, ((1 << 18) - 1) << 63))).bitrate == ((1 << 18) - 1) << 63
    with pytest.raises(LocalProtocolError, match=exact("REMB bitrate too large")):
        bytes(Remb(1, 1 << 81))


def test_twcc_decodes_run_length_and_both_status_vectors() -> None:
    twcc = TransportWideCc.parse(TWCC)
    assert (twcc.base_seq, twcc.status_count, twcc.reference_time, twcc.fb_count) == (10, 15, 0x102, 5)
    received = {10: 1000, 11: 2000, 12: 63750, 13: -1000, 15: 250, 16: 500, 20: 2500, 22: 5000, 23: 7500,
                24: 10000}  # fmt: skip
    assert twcc.statuses() == [TwccStatus(s, s in received, received.get(s)) for s in range(10, 25)]


def test_twcc_building_round_trips_the_statuses() -> None:
    deltas: list[int | None] = [None] * 20 + [1, 1, 1, 300, None, 2, -7]
    twcc = TransportWideCc.build(1, 2, base_seq=65530, reference_time=-2, fb_count=9, deltas=deltas)
    assert twcc.chunks[0] == 20  # a run of 20 lost packets is one run-length chunk
    parsed = TransportWideCc.parse(bytes(twcc))
    assert parsed == twcc
    assert parsed.reference_time == -2
    assert [s.seq for s in parsed.statuses()][5:7] == [65535, 0]
    assert [s.delta_us for s in parsed.statuses()] == [None if d is None else d * 250 for d in deltas]
    with pytest.raises(LocalProtocolError, match=exact("TWCC delta 40000 out of range")):
        TransportWideCc.build(1, 2, 0, 0, 0, [40000])


def test_unknown_packets_are_kept_whole() -> None:
    assert parse_compound(APP) == [UnknownRtcp(204, 0, h("00000001") + b"name" + h("01020304"))]
    assert parse_compound(TMMBR)[0] == UnknownRtcp(205, 3, TMMBR[4:])
    assert parse_compound(AFB_OTHER)[0] == UnknownRtcp(206, 15, AFB_OTHER[4:])


def test_padding_on_the_last_packet_is_stripped() -> None:
    padded = h("a0c90002 00000001 00000004")  # RR with P=1 and 4 bytes of padding
    assert parse_compound(SR + padded) == [SenderReport.parse(SR), ReceiverReport(1)]


def test_every_prefix_of_a_compound_is_refused() -> None:
    data = SR + SDES + TWCC
    for end in range(1, len(data)):
        if end in (len(SR), len(SR + SDES)):
            continue  # a whole packet boundary: a shorter, valid compound
        with pytest.raises(RemoteProtocolError):
            parse_compound(data[:end])


def test_packet_count_is_capped() -> None:
    assert len(parse_compound(RR * MAX_PACKETS_PER_COMPOUND)) == MAX_PACKETS_PER_COMPOUND
    with pytest.raises(RemoteProtocolError, match=exact("more than 64 packets in one compound RTCP packet")):
        parse_compound(RR * (MAX_PACKETS_PER_COMPOUND + 1))


FB = h("00000001 00000002")  # sender and media SSRC of a feedback packet


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty RTCP packet"),
        (h("80c900"), "RTCP header truncated"),
        (RR + h("80c900"), "RTCP header truncated"),
        (h("40c90000"), "RTCP version must be 2, got 1"),
        (h("80c90001"), "RTCP length exceeds the data"),
        (h("a0c90000"), "RTCP padding size 0 out of range"),
        (h("a0c90001 00000000"), "RTCP padding size 0 out of range"),
        (h("a0c90001 00000005"), "RTCP padding size 5 out of range"),
        (h("80c80001 00000001"), "sender report truncated"),
        (h("80c90000"), "receiver report truncated"),
        (h("81c90001 00000001"), "report blocks truncated"),
        (h("81ca0000"), "SDES chunk truncated"),
        (h("81ca0001 00000001"), "SDES chunk truncated"),
        (h("81ca0002 00000001 01056162"), "SDES item truncated"),
        (h("82cb0001 00000001"), "BYE truncated"),
        (h("81cb0002 00000001 05616263"), "BYE reason truncated"),
        (h("81cd0001 00000001"), "RTCP feedback shorter than 8 bytes"),
        (h("a1cd0004") + FB + h("00640001 00000002"), "NACK items are not whole words"),
        (h("81ce0003") + FB + h("00000000"), "PLI carries no feedback control information"),
        (h("84ce0003") + FB + h("11223344"), "FIR entries are not whole 8-byte items"),
        (h("8fce0003") + FB + b"REMB", "REMB truncated"),
        (h("8fce0004") + FB + b"REMB" + h("02000001"), "REMB SSRC list truncated"),
        (h("8fcd0003") + FB + h("000a0001"), "TWCC feedback truncated"),
        (h("8fcd0004") + FB + h("000a0001 00000000"), "TWCC packet chunks truncated"),
        (h("afcd0005") + FB + h("000a0001 00000000 2001 0002"), "TWCC receive deltas truncated"),
        (h("afcd0005") + FB + h("000a0001 00000000 6001 0002"), "TWCC reserved packet status symbol"),
    ],
)
def test_exact_errors(data: bytes, message: str) -> None:
    with pytest.raises(RemoteProtocolError, match=exact(message)):
        parse_compound(data)


def test_typed_parse_wants_exactly_one_packet_of_its_type() -> None:
    with pytest.raises(RemoteProtocolError, match=exact("not a Pli packet")):
        Pli.parse(NACK)
    with pytest.raises(RemoteProtocolError, match=exact("not a Remb packet")):
        Remb.parse(AFB_OTHER)
    with pytest.raises(RemoteProtocolError, match=exact("bytes after the RTCP packet")):
        Pli.parse(PLI + RR)


@pytest.mark.parametrize(
    ("packet", "message"),
    [
        (Pli(1 << 32, 0), "SSRCs and counters must be 32 bits"),
        (
            ReceiverReport(1, (ReportBlock(1, 256, 0, 0, 0, 0, 0),)),
            "fraction lost must be 8 bits and cumulative lost 24 bits signed",
        ),
        (
            ReceiverReport(1, (ReportBlock(1, 0, 1 << 23, 0, 0, 0, 0),)),
            "fraction lost must be 8 bits and cumulative lost 24 bits signed",
        ),
        (ReceiverReport(1, (ReportBlock(1, 0, 0, 0, 0, 0, 0),) * 32), "at most 31 report blocks"),
        (SenderReport(1, 1 << 64, 0, 0, 0), "NTP timestamp must be 64 bits"),
        (Nack(1, 2, ((1 << 16, 0),)), "NACK PID and BLP must be 16 bits"),
        (Fir(1, entries=((1, 256),)), "FIR entries need a 32-bit ssrc and an 8-bit sequence number"),
        (Bye((1,), bytes(256)), "BYE reason longer than 255 bytes"),
        (Sdes((SdesChunk(1, ((0, b"x"),)),)), "SDES item type must be 1-255 and its value at most 255 bytes"),
        (TransportWideCc(1, 2, 0, 1, 0, 0, (0x2001,), ()), "TWCC needs one delta per received packet"),
        (TransportWideCc(1, 2, 0, 1, 0, 0, (0x2001,), (300,)), "TWCC delta 300 does not fit its status symbol"),
        (TransportWideCc(1, 2, 0, 0, 1 << 23, 0), "TWCC reference time must be 24 bits signed"),
        (UnknownRtcp(204, 32, b""), "RTCP count must be 0-31"),
    ],
)
def test_writing_impossible_packets_is_our_error(packet: RtcpPacket, message: str) -> None:
    with pytest.raises(LocalProtocolError, match=exact(message)):
        bytes(packet)


def _parse_everything(data: bytes) -> None:
    try:
        packets = parse_compound(data)
    except RemoteProtocolError:
        return
    assert 1 <= len(packets) <= MAX_PACKETS_PER_COMPOUND
    for packet in packets:
        assert parse_compound(bytes(packet)) == [packet]
        if isinstance(packet, TransportWideCc):
            assert len(packet.statuses()) == packet.status_count
        if isinstance(packet, Nack):
            assert len(packet.lost) <= 17 * len(packet.items)


@given(st.binary(max_size=300))
def test_garbage_raises_only_protocol_errors(data: bytes) -> None:
    _parse_everything(data)


@given(st.binary(max_size=200))
def test_garbage_behind_a_valid_header_raises_only_protocol_errors(body: bytes) -> None:
    body += bytes(-len(body) % 4)
    for first, packet_type in [(0x81, 200), (0x81, 201), (0x83, 202), (0x82, 203), (0x81, 205), (0x8F, 205),
                               (0x81, 206), (0x84, 206), (0x8F, 206), (0xAF, 205)]:  # fmt: skip
        _parse_everything(bytes([first, packet_type]) + (len(body) // 4).to_bytes(2, "big") + body)


@given(st.lists(st.sampled_from(SAMPLES), min_size=1, max_size=6), st.data())
def test_mutated_valid_compounds_raise_only_protocol_errors(parts: list[bytes], data: st.DataObject) -> None:
    compound = b"".join(parts)
    assert build_compound(parse_compound(compound)) == compound
    position = data.draw(st.integers(0, len(compound)))
    _parse_everything(compound[:position] + data.draw(st.binary(max_size=3)) + compound[position + 1 :])


@given(st.lists(st.one_of(st.none(), st.integers(-0x8000, 0x7FFF)), max_size=300), st.integers(0, 0xFFFF))
def test_any_twcc_feedback_round_trips(deltas: list[int | None], base_seq: int) -> None:
    twcc = TransportWideCc.build(1, 2, base_seq, -5, 3, deltas)
    parsed = TransportWideCc.parse(bytes(twcc))
    assert parsed == twcc
    assert [s.delta_us for s in parsed.statuses()] == [None if d is None else d * 250 for d in deltas]
    assert [s.seq for s in parsed.statuses()] == [(base_seq + i) & 0xFFFF for i in range(len(deltas))]


@given(st.integers(0, 0xFFFF), st.sets(st.integers(0, 300), max_size=60))
def test_nack_packs_any_ascending_losses_back_to_themselves(start: int, offsets: set[int]) -> None:
    lost = [(start + o) & 0xFFFF for o in sorted(offsets)]
    nack = Nack.parse(bytes(Nack.for_lost(1, 2, lost)))
    assert nack.lost == lost
