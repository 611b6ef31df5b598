"""RTCP sender and receiver reports: the statistics bytes in/out, and the router sending both legs' reports."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from altegon_rt.rtc.rtcp import ReceiverReport, SenderReport, parse_compound
from altegon_rt.rtc.rtp import RtpPacket
from altegon_rt.sfu.reports import ReceptionStats, sender_report
from tests.sfu.test_router import ADDR_A, VP8_SSRC, Room, media, produce_and_consume


def test_loss_and_the_extended_sequence_number_across_a_wrap() -> None:
    stats = ReceptionStats(90000)
    assert stats.report_block(1, 0.0) is None
    for i, seq in enumerate([65530, 65531, 65533, 65534, 65535, 0, 1, 3]):  # 65532 and 2 lost
        stats.packet(seq, 3000 * i, i / 30)
    block = stats.report_block(7, 1.0)
    assert block is not None
    assert (block.ssrc, block.highest_seq, block.cumulative_lost) == (7, 0x10003, 2)
    assert block.fraction_lost == (2 << 8) // 10
    assert (block.last_sr, block.delay_since_last_sr) == (0, 0)
    for i, seq in enumerate([4, 5, 6, 7]):
        stats.packet(seq, 3000 * (8 + i), (8 + i) / 30)
    again = stats.report_block(7, 2.0)
    assert again is not None and again.fraction_lost == 0 and again.cumulative_lost == 2  # a new interval


def test_a_duplicate_makes_cumulative_loss_negative_and_reordering_does_not_move_the_highest() -> None:
    stats = ReceptionStats(48000)
    for seq in (10, 12, 11, 12):
        stats.packet(seq, 0, 0.0)
    block = stats.report_block(1, 0.0)
    assert block is not None and block.highest_seq == 12 and block.cumulative_lost == -1


def test_jitter_is_zero_for_a_steady_clock_and_grows_with_arrival_noise() -> None:
    steady, noisy = ReceptionStats(90000), ReceptionStats(90000)
    for i in range(100):
        steady.packet(i, (0xFFFFF000 + 3000 * i) & 0xFFFFFFFF, i / 30)  # the timestamp wraps on the way
        noisy.packet(i, 3000 * i, i / 30 + (0.01 if i % 2 else 0.0))
    assert steady.jitter < 1e-6
    assert 500 < noisy.jitter < 1000  # |±10 ms| at 90 kHz = 900, converging from 0


def test_last_sr_and_delay_echo_the_senders_report() -> None:
    stats = ReceptionStats(90000)
    stats.packet(1, 0, 0.0)
    stats.sender_report(SenderReport(5, 0x0123456789ABCDEF, 1000, 1, 100), now=10.0)
    block = stats.report_block(5, 10.5)
    assert block is not None and block.last_sr == 0x456789AB and block.delay_since_last_sr == 32768


def test_the_consumer_sr_carries_the_senders_clock_forward_with_the_consumer_offset() -> None:
    source = ReceptionStats(90000)
    assert sender_report(ssrc=9, source=source, ts_offset=0, packets=0, octets=0, now=0.0) is None
    source.sender_report(SenderReport(5, 100 << 32, 0xFFFFFF00, 1, 100), now=50.0)
    report = sender_report(ssrc=9, source=source, ts_offset=1000, packets=7, octets=700, now=52.0)
    assert report == SenderReport(9, 102 << 32, (0xFFFFFF00 + 180000 + 1000) & 0xFFFFFFFF, 7, 700)


@given(st.lists(st.tuples(st.integers(0, 0xFFFF), st.integers(0, 0xFFFFFFFF), st.floats(0, 1e6)), max_size=200))
def test_any_packet_sequence_gives_an_encodable_block(packets: list[tuple[int, int, float]]) -> None:
    stats = ReceptionStats(48000)
    for seq, ts, now in packets:
        stats.packet(seq, ts, now)
    block = stats.report_block(1, 1e6)
    if packets:
        assert block is not None
        assert ReceiverReport.parse(bytes(ReceiverReport(2, (block,)))).reports == (block,)


def test_the_router_reports_to_both_legs_every_second() -> None:
    room = Room()
    _, consumer, peer_a, peer_b = produce_and_consume(room)
    consumer.resume()
    room.rtp(ADDR_A, [media(seq) for seq in (1, 2, 4, 5)])  # 3 lost on the way in
    room.rtcp(ADDR_A, bytes(SenderReport(VP8_SSRC, 7 << 32, 1000, 4, 400)))
    room.clock.now = 1.0
    room.router.tick(1.0)
    room.send(ADDR_A, [])
    to_a = [p for d in peer_a.received_rtcp for p in parse_compound(d) if isinstance(p, ReceiverReport)]
    to_b = [p for d in peer_b.received_rtcp for p in parse_compound(d) if isinstance(p, SenderReport)]
    assert len(to_a) == 1 and len(to_b) == 1
    block = to_a[0].reports[0]
    assert (block.ssrc, block.highest_seq, block.cumulative_lost, block.last_sr) == (VP8_SSRC, 5, 1, 7 << 16)
    forwarded = [RtpPacket.parse(p) for p in peer_b.received_rtp]
    offset = forwarded[0].timestamp - (1000 + 3000)  # media(1) has timestamp 1000 + 3000
    assert to_b[0].ssrc == consumer.ssrc and to_b[0].ntp_timestamp == 8 << 32
    assert to_b[0].rtp_timestamp == (1000 + 90000 + offset) & 0xFFFFFFFF
    assert (to_b[0].packet_count, to_b[0].octet_count) == (4, sum(len(p) - 12 for p in peer_b.received_rtp))
    room.router.tick(1.5)  # not due yet
    room.send(ADDR_A, [])
    rrs = [p for d in peer_a.received_rtcp for p in parse_compound(d) if isinstance(p, ReceiverReport)]
    assert len(rrs) == 1
