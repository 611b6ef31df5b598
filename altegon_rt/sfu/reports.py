"""RTCP sender and receiver reports for the SFU's two legs (RFC 3550 §6.4, appendix A.3 and A.8).

Towards a producing peer we are a receiver: :class:`ReceptionStats` keeps what its receiver report block needs
(extended highest sequence number, loss, interarrival jitter, the last SR to echo so the peer measures the round
trip). Towards a consuming peer we are the sender of the consumer's SSRC: :func:`sender_report` states the
consumer's counters and an NTP/RTP time pair taken *from the producer's own SR* carried forward to now, so that a
receiver that syncs audio and video by their SRs (lip sync) sees the sender's clock relation, not ours.

Pure: time (monotonic seconds) is passed in.
"""

from __future__ import annotations

from altegon_rt.rtc.rtcp import ReportBlock, SenderReport

_NTP_FRACTION = 1 << 32
_MAX_LOST = (1 << 23) - 1
_MIN_LOST = -(1 << 23)


class ReceptionStats:
    """Reception of one incoming RTP stream: what an RR block about it says."""

    __slots__ = ("_base_seq", "_cycles", "_expected_prior", "_last_arrival", "_last_ts", "_max_seq",
                 "_received_prior", "clock_rate", "jitter", "received", "sr_at", "sr_ntp", "sr_rtp")  # fmt: skip

    def __init__(self, clock_rate: int) -> None:
        self.clock_rate = clock_rate
        self.received = 0
        self.jitter = 0.0  # in timestamp units, RFC 3550 A.8's J
        self.sr_ntp: int | None = None  # the sender's last SR: its NTP time, RTP time, and when it arrived
        self.sr_rtp = 0
        self.sr_at = 0.0
        self._base_seq = self._max_seq = self._cycles = 0
        self._expected_prior = self._received_prior = 0
        self._last_ts = 0
        self._last_arrival = 0.0

    def packet(self, seq: int, timestamp: int, now: float) -> None:
        """One media packet arrived at ``now``: sequence bookkeeping (A.1, without probation) and jitter (A.8)."""
        if self.received == 0:
            self._base_seq = self._max_seq = seq
        else:
            ahead = (seq - self._max_seq) & 0xFFFF
            if 0 < ahead < 0x8000:
                if seq < self._max_seq:
                    self._cycles += 0x10000
                self._max_seq = seq
            # Transit difference = arrival spacing minus timestamp spacing; the timestamp spacing is read as
            # signed 32-bit so a wrap of the sender's clock is not a jump of 2^32.
            ts_step = (timestamp - self._last_ts) & 0xFFFFFFFF
            if ts_step >= 0x80000000:
                ts_step -= 0x100000000
            d = abs((now - self._last_arrival) * self.clock_rate - ts_step)
            self.jitter += (d - self.jitter) / 16
        self.received += 1
        self._last_ts, self._last_arrival = timestamp, now

    def sender_report(self, report: SenderReport, now: float) -> None:
        """The sender's SR arrived at ``now``."""
        self.sr_ntp, self.sr_rtp, self.sr_at = report.ntp_timestamp, report.rtp_timestamp, now

    @property
    def extended_max_seq(self) -> int:
        return self._cycles + self._max_seq

    def report_block(self, ssrc: int, now: float) -> ReportBlock | None:
        """The RR block for ``ssrc`` at ``now`` (None before the first packet); starts the next interval."""
        if self.received == 0:
            return None
        expected = self.extended_max_seq - self._base_seq + 1
        lost = max(_MIN_LOST, min(_MAX_LOST, expected - self.received))
        expected_interval = expected - self._expected_prior
        lost_interval = expected_interval - (self.received - self._received_prior)
        self._expected_prior, self._received_prior = expected, self.received
        fraction = (lost_interval << 8) // expected_interval if expected_interval > 0 and lost_interval > 0 else 0
        if self.sr_ntp is None:
            last_sr = delay = 0
        else:
            last_sr = (self.sr_ntp >> 16) & 0xFFFFFFFF
            delay = min(0xFFFFFFFF, int((now - self.sr_at) * 65536))
        return ReportBlock(ssrc, min(fraction, 255), lost, self.extended_max_seq & 0xFFFFFFFF,
                           min(int(self.jitter), 0xFFFFFFFF), last_sr, delay)  # fmt: skip


def sender_report(
    *, ssrc: int, source: ReceptionStats, ts_offset: int, packets: int, octets: int, now: float
) -> SenderReport | None:
    """An SR for a consumer on ``ssrc`` whose media comes from ``source`` (None until the source sent an SR).

    ``ts_offset`` is what the consumer adds to the producer's timestamps; ``packets``/``octets`` its counters.
    """
    if source.sr_ntp is None:
        return None
    elapsed = now - source.sr_at
    ntp = (source.sr_ntp + int(elapsed * _NTP_FRACTION)) & 0xFFFFFFFFFFFFFFFF
    rtp = (source.sr_rtp + int(elapsed * source.clock_rate) + ts_offset) & 0xFFFFFFFF
    return SenderReport(ssrc, ntp, rtp, packets & 0xFFFFFFFF, octets & 0xFFFFFFFF)
