"""RTCP packets: reports, SDES, BYE (RFC 3550 §6), feedback (RFC 4585, RFC 5104), REMB and transport-wide
congestion control feedback (draft-alvestrand-rmcat-remb, draft-holmer-rmcat-transport-wide-cc-extensions).

Every datagram of RTCP is a compound packet: RTCP packets back to back, each with a 4-byte header
``V=2 | P | count/FMT (5 bits) | PT (8) | length (16, in 32-bit words minus one)``. :func:`parse_compound`
splits one and decodes each packet through a table keyed by (PT, FMT); anything not in the table is kept as
:class:`UnknownRtcp` so an SFU can still count or forward it. Each packet type also has its own
``X.parse(one_packet)`` and ``bytes(x)``.

Padding (the P bit, RFC 3550 §6.4.1) is stripped on parse and not kept: only TWCC feedback, whose body is
not word-aligned, is written padded, the way libwebrtc writes it. Every parse failure is a
:class:`RemoteProtocolError`; writing impossible values is a :class:`LocalProtocolError`.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import ClassVar, Self

from altegon_rt.rtc.errors import LocalProtocolError, RemoteProtocolError
from altegon_rt.rtc.twcc import TwccStatus, build_twcc_fci, encode_statuses, parse_twcc_fci, twcc_statuses

RTCP_VERSION = 2
MAX_PACKETS_PER_COMPOUND = 64
MAX_COUNT = 31  # the 5-bit count/FMT field

PT_SR, PT_RR, PT_SDES, PT_BYE, PT_RTPFB, PT_PSFB = 200, 201, 202, 203, 205, 206
FMT_NACK, FMT_TWCC = 1, 15
FMT_PLI, FMT_FIR, FMT_AFB = 1, 4, 15
SDES_CNAME = 1

_HEADER = struct.Struct("!BBH")
_U32 = struct.Struct("!I")
_TWO_U32 = struct.Struct("!II")
_REPORT_BLOCK = struct.Struct("!IIIIII")
_SENDER_INFO = struct.Struct("!IQIII")
_REMB_ID = b"REMB"


def _packet(packet_type: int, count: int, body: bytes) -> bytes:
    """Header + body; a body that is not word-aligned is padded with the P bit (zeros, then the count)."""
    if not 0 <= count <= MAX_COUNT:
        raise LocalProtocolError(f"RTCP count must be 0-{MAX_COUNT}")
    first = RTCP_VERSION << 6 | count
    if pad := -len(body) % 4:
        body += bytes(pad - 1) + bytes([pad])
        first |= 0x20
    if len(body) > 4 * 0xFFFF:
        raise LocalProtocolError("RTCP packet too long")
    return _HEADER.pack(first, packet_type, len(body) // 4) + body


def _split(data: bytes, offset: int) -> tuple[int, int, bytes, int]:
    """``(count, packet type, body without padding, end offset)`` of the packet starting at ``offset``."""
    if len(data) - offset < 4:
        raise RemoteProtocolError("RTCP header truncated")
    first, packet_type, words = _HEADER.unpack_from(data, offset)
    if first >> 6 != RTCP_VERSION:
        raise RemoteProtocolError(f"RTCP version must be 2, got {first >> 6}")
    end = offset + 4 + 4 * words
    if end > len(data):
        raise RemoteProtocolError("RTCP length exceeds the data")
    body = bytes(data[offset + 4 : end])
    if first & 0x20:
        pad = body[-1] if body else 0
        if pad == 0 or pad > len(body):
            raise RemoteProtocolError(f"RTCP padding size {pad} out of range")
        body = body[:-pad]
    return first & 0x1F, packet_type, body, end


def _check_u32(*values: int) -> None:
    if not all(0 <= v <= 0xFFFFFFFF for v in values):
        raise LocalProtocolError("SSRCs and counters must be 32 bits")


class _Rtcp:
    """Shared ``parse`` for the typed packets: exactly one packet of this class's type."""

    __slots__ = ()
    PACKET_TYPE: ClassVar[int]
    FMT: ClassVar[int | None] = None

    @classmethod
    def parse(cls, data: bytes) -> Self:
        count, packet_type, body, end = _split(data, 0)
        if end != len(data):
            raise RemoteProtocolError("bytes after the RTCP packet")
        if packet_type != cls.PACKET_TYPE or (cls.FMT is not None and count != cls.FMT):
            raise RemoteProtocolError(f"not a {cls.__name__} packet")
        packet = cls._decode(count, body)
        if not isinstance(packet, cls):  # an AFB that is not REMB
            raise RemoteProtocolError(f"not a {cls.__name__} packet")
        return packet

    @classmethod
    def _decode(cls, count: int, body: bytes) -> RtcpPacket:
        raise NotImplementedError


# --- reports (RFC 3550 §6.4) ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReportBlock:
    """Reception statistics for one source; ``cumulative_lost`` is signed (duplicates can make it negative)."""

    ssrc: int
    fraction_lost: int
    cumulative_lost: int
    highest_seq: int
    jitter: int
    last_sr: int
    delay_since_last_sr: int

    SIZE: ClassVar[int] = 24

    @classmethod
    def parse(cls, data: bytes, offset: int = 0) -> ReportBlock:
        if len(data) - offset < cls.SIZE:
            raise RemoteProtocolError("report block truncated")
        ssrc, lost_word, highest, jitter, lsr, dlsr = _REPORT_BLOCK.unpack_from(data, offset)
        lost = lost_word & 0xFFFFFF
        if lost & 0x800000:
            lost -= 1 << 24
        return cls(ssrc, lost_word >> 24, lost, highest, jitter, lsr, dlsr)

    def __bytes__(self) -> bytes:
        if not (0 <= self.fraction_lost <= 255 and -(1 << 23) <= self.cumulative_lost < 1 << 23):
            raise LocalProtocolError("fraction lost must be 8 bits and cumulative lost 24 bits signed")
        _check_u32(self.ssrc, self.highest_seq, self.jitter, self.last_sr, self.delay_since_last_sr)
        lost_word = self.fraction_lost << 24 | (self.cumulative_lost & 0xFFFFFF)
        return _REPORT_BLOCK.pack(self.ssrc, lost_word, self.highest_seq, self.jitter, self.last_sr,
                                  self.delay_since_last_sr)  # fmt: skip


def _report_blocks(count: int, body: bytes, offset: int) -> tuple[tuple[ReportBlock, ...], bytes]:
    """``count`` report blocks from ``offset``, then the profile-specific extension that follows them."""
    end = offset + count * ReportBlock.SIZE
    if end > len(body):
        raise RemoteProtocolError("report blocks truncated")
    blocks = tuple(ReportBlock.parse(body, offset + i * ReportBlock.SIZE) for i in range(count))
    return blocks, body[end:]


def _check_reports(reports: tuple[ReportBlock, ...], extension: bytes) -> None:
    # An extension that is not word-aligned (seen only after odd padding) is written back padded.
    if len(reports) > MAX_COUNT:
        raise LocalProtocolError(f"at most {MAX_COUNT} report blocks")


@dataclass(frozen=True, slots=True)
class SenderReport(_Rtcp):
    """SR: the sender's NTP/RTP clock pair and counters, plus report blocks for what it receives."""

    ssrc: int
    ntp_timestamp: int
    rtp_timestamp: int
    packet_count: int
    octet_count: int
    reports: tuple[ReportBlock, ...] = ()
    extension: bytes = b""

    PACKET_TYPE: ClassVar[int] = PT_SR

    @property
    def ntp_middle(self) -> int:
        """The middle 32 bits of the NTP timestamp: what a receiver echoes as LSR."""
        return (self.ntp_timestamp >> 16) & 0xFFFFFFFF

    @classmethod
    def _decode(cls, count: int, body: bytes) -> RtcpPacket:
        if len(body) < _SENDER_INFO.size:
            raise RemoteProtocolError("sender report truncated")
        ssrc, ntp, rtp_ts, packets, octets = _SENDER_INFO.unpack_from(body)
        reports, extension = _report_blocks(count, body, _SENDER_INFO.size)
        return cls(ssrc, ntp, rtp_ts, packets, octets, reports, extension)

    def __bytes__(self) -> bytes:
        _check_reports(self.reports, self.extension)
        _check_u32(self.ssrc, self.rtp_timestamp, self.packet_count, self.octet_count)
        if not 0 <= self.ntp_timestamp < 1 << 64:
            raise LocalProtocolError("NTP timestamp must be 64 bits")
        info = _SENDER_INFO.pack(self.ssrc, self.ntp_timestamp, self.rtp_timestamp, self.packet_count,
                                 self.octet_count)  # fmt: skip
        blocks = b"".join(bytes(r) for r in self.reports)
        return _packet(PT_SR, len(self.reports), info + blocks + self.extension)


@dataclass(frozen=True, slots=True)
class ReceiverReport(_Rtcp):
    """RR: report blocks from a participant that does not send (or, in a compound, more blocks)."""

    ssrc: int
    reports: tuple[ReportBlock, ...] = ()
    extension: bytes = b""

    PACKET_TYPE: ClassVar[int] = PT_RR

    @classmethod
    def _decode(cls, count: int, body: bytes) -> RtcpPacket:
        if len(body) < 4:
            raise RemoteProtocolError("receiver report truncated")
        reports, extension = _report_blocks(count, body, 4)
        return cls(_U32.unpack_from(body)[0], reports, extension)

    def __bytes__(self) -> bytes:
        _check_reports(self.reports, self.extension)
        _check_u32(self.ssrc)
        blocks = b"".join(bytes(r) for r in self.reports)
        return _packet(PT_RR, len(self.reports), _U32.pack(self.ssrc) + blocks + self.extension)


# --- SDES and BYE (RFC 3550 §6.5, §6.6) ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SdesChunk:
    """One source's SDES items as ``(type, value)`` pairs, in wire order."""

    ssrc: int
    items: tuple[tuple[int, bytes], ...] = ()

    @property
    def cname(self) -> str | None:
        for item_type, value in self.items:
            if item_type == SDES_CNAME:
                return value.decode("utf-8", "replace")
        return None

    def __bytes__(self) -> bytes:
        _check_u32(self.ssrc)
        out = bytearray(_U32.pack(self.ssrc))
        for item_type, value in self.items:
            if not (1 <= item_type <= 255 and len(value) <= 255):
                raise LocalProtocolError("SDES item type must be 1-255 and its value at most 255 bytes")
            out += bytes([item_type, len(value)]) + value
        # A null item ends the list, then zeros to the next word (so 1 to 4 zero bytes in all).
        out += bytes(4 - len(out) % 4)
        return bytes(out)


def _sdes_chunk(body: bytes, offset: int) -> tuple[SdesChunk, int]:
    if len(body) - offset < 4:
        raise RemoteProtocolError("SDES chunk truncated")
    ssrc = _U32.unpack_from(body, offset)[0]
    i, items = offset + 4, []
    while True:
        if i >= len(body):
            raise RemoteProtocolError("SDES chunk truncated")
        if body[i] == 0:
            break
        if i + 2 > len(body) or i + 2 + body[i + 1] > len(body):
            raise RemoteProtocolError("SDES item truncated")
        items.append((body[i], body[i + 2 : i + 2 + body[i + 1]]))
        i += 2 + body[i + 1]
    return SdesChunk(ssrc, tuple(items)), (i + 4) & ~3  # past the null item and the padding to a word


@dataclass(frozen=True, slots=True)
class Sdes(_Rtcp):
    """Source descriptions; WebRTC sends one chunk per source with just a CNAME."""

    chunks: tuple[SdesChunk, ...] = ()

    PACKET_TYPE: ClassVar[int] = PT_SDES

    @classmethod
    def _decode(cls, count: int, body: bytes) -> RtcpPacket:
        chunks, offset = [], 0
        for _ in range(count):
            chunk, offset = _sdes_chunk(body, offset)
            chunks.append(chunk)
        return cls(tuple(chunks))

    def __bytes__(self) -> bytes:
        return _packet(PT_SDES, len(self.chunks), b"".join(bytes(c) for c in self.chunks))


@dataclass(frozen=True, slots=True)
class Bye(_Rtcp):
    """BYE: these sources are leaving, with an optional reason."""

    ssrcs: tuple[int, ...] = ()
    reason: bytes = b""

    PACKET_TYPE: ClassVar[int] = PT_BYE

    @classmethod
    def _decode(cls, count: int, body: bytes) -> RtcpPacket:
        end = 4 * count
        if end > len(body):
            raise RemoteProtocolError("BYE truncated")
        ssrcs = struct.unpack_from(f"!{count}I", body)
        reason = b""
        if end < len(body):
            length = body[end]
            if end + 1 + length > len(body):
                raise RemoteProtocolError("BYE reason truncated")
            reason = body[end + 1 : end + 1 + length]
        return cls(ssrcs, reason)

    def __bytes__(self) -> bytes:
        _check_u32(*self.ssrcs)
        if len(self.reason) > 255:
            raise LocalProtocolError("BYE reason longer than 255 bytes")
        body = b"".join(_U32.pack(s) for s in self.ssrcs)
        if self.reason:
            reason = bytes([len(self.reason)]) + self.reason
            body += reason + bytes(-len(reason) % 4)
        return _packet(PT_BYE, len(self.ssrcs), body)


# --- feedback (RFC 4585 §6): sender SSRC, media SSRC, then the feedback control information ----------------


def _feedback(body: bytes) -> tuple[int, int, bytes]:
    if len(body) < 8:
        raise RemoteProtocolError("RTCP feedback shorter than 8 bytes")
    sender, media = _TWO_U32.unpack_from(body)
    return sender, media, body[8:]


def _feedback_packet(packet_type: int, fmt: int, sender_ssrc: int, media_ssrc: int, fci: bytes) -> bytes:
    _check_u32(sender_ssrc, media_ssrc)
    return _packet(packet_type, fmt, _TWO_U32.pack(sender_ssrc, media_ssrc) + fci)


@dataclass(frozen=True, slots=True)
class Nack(_Rtcp):
    """Generic NACK (RFC 4585 §6.2.1): ``items`` are the wire's (PID, BLP) pairs, :attr:`lost` their seqs.

    BLP bit ``i`` (least significant first) means PID + i + 1 was lost too. Build from a list of sequence
    numbers with :meth:`for_lost`.
    """

    sender_ssrc: int
    media_ssrc: int
    items: tuple[tuple[int, int], ...] = ()

    PACKET_TYPE: ClassVar[int] = PT_RTPFB
    FMT: ClassVar[int | None] = FMT_NACK

    @property
    def lost(self) -> list[int]:
        lost = []
        for pid, blp in self.items:
            lost.append(pid)
            lost.extend((pid + bit + 1) & 0xFFFF for bit in range(16) if blp >> bit & 1)
        return lost

    @classmethod
    def for_lost(cls, sender_ssrc: int, media_ssrc: int, lost: Iterable[int]) -> Nack:
        """Pack sequence numbers, oldest first, into as few (PID, BLP) pairs as that order allows."""
        items: list[list[int]] = []
        for seq in lost:
            if not 0 <= seq <= 0xFFFF:
                raise LocalProtocolError("sequence numbers must be 16 bits")
            distance = (seq - items[-1][0]) & 0xFFFF if items else 0
            if items and 1 <= distance <= 16:
                items[-1][1] |= 1 << (distance - 1)
            elif not items or distance != 0:
                items.append([seq, 0])
        return cls(sender_ssrc, media_ssrc, tuple((pid, blp) for pid, blp in items))

    @classmethod
    def _decode(cls, count: int, body: bytes) -> RtcpPacket:
        sender, media, fci = _feedback(body)
        if len(fci) % 4:
            raise RemoteProtocolError("NACK items are not whole words")
        items = tuple(struct.iter_unpack("!HH", fci))
        return cls(sender, media, items)

    def __bytes__(self) -> bytes:
        if not all(0 <= pid <= 0xFFFF and 0 <= blp <= 0xFFFF for pid, blp in self.items):
            raise LocalProtocolError("NACK PID and BLP must be 16 bits")
        fci = b"".join(struct.pack("!HH", pid, blp) for pid, blp in self.items)
        return _feedback_packet(PT_RTPFB, FMT_NACK, self.sender_ssrc, self.media_ssrc, fci)


@dataclass(frozen=True, slots=True)
class TransportWideCc(_Rtcp):
    """Transport-wide congestion control feedback (RTPFB FMT 15); :meth:`statuses` decodes it.

    ``chunks`` are the raw 16-bit packet status chunks and ``deltas`` the receive deltas in 250 µs ticks,
    kept as on the wire so the packet writes back byte for byte. Build one with :meth:`build`.
    """

    sender_ssrc: int
    media_ssrc: int
    base_seq: int
    status_count: int
    reference_time: int  # signed, in 64 ms units
    fb_count: int
    chunks: tuple[int, ...] = ()
    deltas: tuple[int, ...] = ()

    PACKET_TYPE: ClassVar[int] = PT_RTPFB
    FMT: ClassVar[int | None] = FMT_TWCC

    def statuses(self) -> list[TwccStatus]:
        """One ``(seq, received, delta_us)`` per reported packet; ``delta_us`` is ``None`` when lost."""
        return twcc_statuses(self.base_seq, self.status_count, self.chunks, self.deltas)

    @classmethod
    def build(cls, sender_ssrc: int, media_ssrc: int, base_seq: int, reference_time: int, fb_count: int,
              deltas: Iterable[int | None]) -> TransportWideCc:  # fmt: skip
        """Feedback for packets ``base_seq, base_seq + 1, ...``: each a delta in 250 µs ticks, or ``None`` if lost."""
        statuses = list(deltas)
        chunks, wire_deltas = encode_statuses(statuses)
        return cls(sender_ssrc, media_ssrc, base_seq, len(statuses), reference_time, fb_count, chunks, wire_deltas)

    @classmethod
    def _decode(cls, count: int, body: bytes) -> RtcpPacket:
        sender, media, fci = _feedback(body)
        return cls(sender, media, *parse_twcc_fci(fci))

    def __bytes__(self) -> bytes:
        fci = build_twcc_fci(self.base_seq, self.status_count, self.reference_time, self.fb_count, self.chunks,
                             self.deltas)  # fmt: skip
        return _feedback_packet(PT_RTPFB, FMT_TWCC, self.sender_ssrc, self.media_ssrc, fci)


@dataclass(frozen=True, slots=True)
class Pli(_Rtcp):
    """Picture Loss Indication (RFC 4585 §6.3.1): please send a key frame of ``media_ssrc``."""

    sender_ssrc: int
    media_ssrc: int

    PACKET_TYPE: ClassVar[int] = PT_PSFB
    FMT: ClassVar[int | None] = FMT_PLI

    @classmethod
    def _decode(cls, count: int, body: bytes) -> RtcpPacket:
        sender, media, fci = _feedback(body)
        if fci:
            raise RemoteProtocolError("PLI carries no feedback control information")
        return cls(sender, media)

    def __bytes__(self) -> bytes:
        return _feedback_packet(PT_PSFB, FMT_PLI, self.sender_ssrc, self.media_ssrc, b"")


@dataclass(frozen=True, slots=True)
class Fir(_Rtcp):
    """Full Intra Request (RFC 5104 §4.3.1): ``entries`` are (ssrc, command sequence number) pairs."""

    sender_ssrc: int
    media_ssrc: int = 0  # RFC 5104: unused, zero
    entries: tuple[tuple[int, int], ...] = ()

    PACKET_TYPE: ClassVar[int] = PT_PSFB
    FMT: ClassVar[int | None] = FMT_FIR

    @classmethod
    def _decode(cls, count: int, body: bytes) -> RtcpPacket:
        sender, media, fci = _feedback(body)
        if len(fci) % 8:
            raise RemoteProtocolError("FIR entries are not whole 8-byte items")
        entries = tuple((ssrc, seq) for ssrc, seq, _reserved in struct.iter_unpack("!IB3s", fci))
        return cls(sender, media, entries)

    def __bytes__(self) -> bytes:
        if not all(0 <= ssrc <= 0xFFFFFFFF and 0 <= seq <= 255 for ssrc, seq in self.entries):
            raise LocalProtocolError("FIR entries need a 32-bit ssrc and an 8-bit sequence number")
        fci = b"".join(struct.pack("!IB3x", ssrc, seq) for ssrc, seq in self.entries)
        return _feedback_packet(PT_PSFB, FMT_FIR, self.sender_ssrc, self.media_ssrc, fci)


@dataclass(frozen=True, slots=True)
class Remb(_Rtcp):
    """Receiver Estimated Max Bitrate: an application-layer feedback (PSFB FMT 15) tagged ``REMB``.

    The bitrate travels as an 18-bit mantissa and a 6-bit exponent, so a written bitrate keeps only its 18
    most significant bits (REMB is an estimate; libwebrtc rounds the same way).
    """

    sender_ssrc: int
    bitrate: int
    ssrcs: tuple[int, ...] = ()
    media_ssrc: int = 0  # draft-alvestrand-rmcat-remb: always zero

    PACKET_TYPE: ClassVar[int] = PT_PSFB
    FMT: ClassVar[int | None] = FMT_AFB

    @classmethod
    def _decode(cls, count: int, body: bytes) -> RtcpPacket:
        sender, media, fci = _feedback(body)
        if fci[:4] != _REMB_ID:  # another application-layer feedback: not ours to read
            return UnknownRtcp(PT_PSFB, count, body)
        if len(fci) < 8:
            raise RemoteProtocolError("REMB truncated")
        num_ssrc, word = fci[4], _U32.unpack_from(fci, 4)[0]
        if len(fci) < 8 + 4 * num_ssrc:
            raise RemoteProtocolError("REMB SSRC list truncated")
        bitrate = (word & 0x3FFFF) << (word >> 18 & 0x3F)
        return cls(sender, bitrate, struct.unpack_from(f"!{num_ssrc}I", fci, 8), media)

    def __bytes__(self) -> bytes:
        if self.bitrate < 0 or len(self.ssrcs) > 255:
            raise LocalProtocolError("REMB needs a non-negative bitrate and at most 255 SSRCs")
        _check_u32(*self.ssrcs)
        mantissa, exponent = self.bitrate, 0
        while mantissa >= 1 << 18:
            mantissa >>= 1
            exponent += 1
        if exponent > 63:
            raise LocalProtocolError("REMB bitrate too large")
        word = len(self.ssrcs) << 24 | exponent << 18 | mantissa
        fci = _REMB_ID + _U32.pack(word) + b"".join(_U32.pack(s) for s in self.ssrcs)
        return _feedback_packet(PT_PSFB, FMT_AFB, self.sender_ssrc, self.media_ssrc, fci)


@dataclass(frozen=True, slots=True)
class UnknownRtcp:
    """A packet this module does not decode (XR, APP, other feedback), kept whole: header fields and body."""

    packet_type: int
    count: int
    body: bytes

    @classmethod
    def parse(cls, data: bytes) -> UnknownRtcp:
        count, packet_type, body, end = _split(data, 0)
        if end != len(data):
            raise RemoteProtocolError("bytes after the RTCP packet")
        return cls(packet_type, count, body)

    def __bytes__(self) -> bytes:
        if not 0 <= self.packet_type <= 255:
            raise LocalProtocolError("RTCP packet type must be 8 bits")
        return _packet(self.packet_type, self.count, self.body)


RtcpPacket = SenderReport | ReceiverReport | Sdes | Bye | Nack | TransportWideCc | Pli | Fir | Remb | UnknownRtcp

# (packet type, FMT) for feedback, (packet type, None) where the 5-bit field is a count.
_DECODERS: dict[tuple[int, int | None], Callable[[int, bytes], RtcpPacket]] = {
    (PT_SR, None): SenderReport._decode,
    (PT_RR, None): ReceiverReport._decode,
    (PT_SDES, None): Sdes._decode,
    (PT_BYE, None): Bye._decode,
    (PT_RTPFB, FMT_NACK): Nack._decode,
    (PT_RTPFB, FMT_TWCC): TransportWideCc._decode,
    (PT_PSFB, FMT_PLI): Pli._decode,
    (PT_PSFB, FMT_FIR): Fir._decode,
    (PT_PSFB, FMT_AFB): Remb._decode,
}


def parse_compound(data: bytes) -> list[RtcpPacket]:
    """Every packet of one compound RTCP packet, at most :data:`MAX_PACKETS_PER_COMPOUND`."""
    if not data:
        raise RemoteProtocolError("empty RTCP packet")
    packets: list[RtcpPacket] = []
    offset = 0
    while offset < len(data):
        if len(packets) == MAX_PACKETS_PER_COMPOUND:
            raise RemoteProtocolError(f"more than {MAX_PACKETS_PER_COMPOUND} packets in one compound RTCP packet")
        count, packet_type, body, offset = _split(data, offset)
        decode = _DECODERS.get((packet_type, count)) or _DECODERS.get((packet_type, None))
        packets.append(decode(count, body) if decode else UnknownRtcp(packet_type, count, body))
    return packets


def build_compound(packets: Iterable[RtcpPacket]) -> bytes:
    """One compound packet of ``packets`` in order (RFC 3550 wants an SR or RR first; the caller orders)."""
    return b"".join(bytes(p) for p in packets)
