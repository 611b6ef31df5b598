"""RTP packets (RFC 3550 §5.1), RTP/RTCP demultiplexing (RFC 5761) and RTX (RFC 4588): pure codecs.

Two shapes for two needs. :class:`RtpPacket` is the whole packet as a frozen value, for the control paths
(probing, RTX, tests). The SFU's forwarding hot path instead reads and rewrites the fixed 12-byte header in
place with :func:`read_seq`, :func:`rewrite_header` and friends, so a forwarded packet costs no objects.

The header extension block is kept as raw bytes (profile + data) so that ``bytes(RtpPacket.parse(d)) == d``
holds for any valid packet; :meth:`RtpPacket.extensions` parses it on demand (see :mod:`rtp_ext`).
Every parse failure is a :class:`RemoteProtocolError`; writing impossible values is a
:class:`LocalProtocolError`.
"""

from __future__ import annotations

import dataclasses
import struct
from collections.abc import Mapping
from dataclasses import dataclass

from altegon_rt.rtc.errors import LocalProtocolError, RemoteProtocolError
from altegon_rt.rtc.rtp_ext import ONE_BYTE_PROFILE, build_elements, is_two_byte_profile, parse_elements

HEADER_SIZE = 12
RTP_VERSION = 2
MAX_CSRCS = 15  # the CC field is 4 bits

_FIXED = struct.Struct("!BBHII")
_SEQ_TS_SSRC = struct.Struct("!HII")
_U16 = struct.Struct("!H")
_U32 = struct.Struct("!I")
_EXT_HEADER = struct.Struct("!HH")


@dataclass(frozen=True, slots=True)
class RtpPacket:
    """One RTP packet.

    Attributes:
        extension_profile: the 16-bit profile of the header extension, or ``None`` when the X bit is clear.
        extension_data: the extension words after the profile/length (a multiple of 4 bytes).
        padding_size: bytes of padding at the end, the count octet included; written back as zeros + count.
    """

    payload_type: int
    sequence_number: int
    timestamp: int
    ssrc: int
    payload: bytes = b""
    marker: bool = False
    csrcs: tuple[int, ...] = ()
    extension_profile: int | None = None
    extension_data: bytes = b""
    padding_size: int = 0

    @classmethod
    def parse(cls, data: bytes) -> RtpPacket:
        if len(data) < HEADER_SIZE:
            raise RemoteProtocolError("RTP packet shorter than 12 bytes")
        first, second, seq, timestamp, ssrc = _FIXED.unpack_from(data)
        if first >> 6 != RTP_VERSION:
            raise RemoteProtocolError(f"RTP version must be 2, got {first >> 6}")
        offset = HEADER_SIZE + 4 * (first & 0x0F)
        if offset > len(data):
            raise RemoteProtocolError("RTP packet truncated in CSRC list")
        csrcs = struct.unpack_from(f"!{first & 0x0F}I", data, HEADER_SIZE)
        profile, ext_data = None, b""
        if first & 0x10:
            if offset + 4 > len(data):
                raise RemoteProtocolError("RTP packet truncated in header extension")
            profile, words = struct.unpack_from("!HH", data, offset)
            end = offset + 4 + 4 * words
            if end > len(data):
                raise RemoteProtocolError("RTP packet truncated in header extension")
            ext_data, offset = bytes(data[offset + 4 : end]), end
        end = len(data)
        padding = 0
        if first & 0x20:
            padding = data[-1]
            if padding == 0 or offset + padding > end:
                raise RemoteProtocolError(f"RTP padding size {padding} out of range")
            end -= padding
        return cls(
            payload_type=second & 0x7F,
            sequence_number=seq,
            timestamp=timestamp,
            ssrc=ssrc,
            payload=bytes(data[offset:end]),
            marker=bool(second & 0x80),
            csrcs=csrcs,
            extension_profile=profile,
            extension_data=ext_data,
            padding_size=padding,
        )

    def __bytes__(self) -> bytes:
        self._check()
        first = RTP_VERSION << 6 | len(self.csrcs)
        if self.padding_size:
            first |= 0x20
        if self.extension_profile is not None:
            first |= 0x10
        out = bytearray(_FIXED.pack(first, self.marker << 7 | self.payload_type, self.sequence_number,
                                    self.timestamp, self.ssrc))  # fmt: skip
        for csrc in self.csrcs:
            out += _U32.pack(csrc)
        if self.extension_profile is not None:
            out += struct.pack("!HH", self.extension_profile, len(self.extension_data) // 4)
            out += self.extension_data
        out += self.payload
        if self.padding_size:
            out += bytes(self.padding_size - 1) + bytes([self.padding_size])
        return bytes(out)

    def _check(self) -> None:
        if not 0 <= self.payload_type <= 127:
            raise LocalProtocolError("payload type must be 0-127")
        if not 0 <= self.sequence_number <= 0xFFFF:
            raise LocalProtocolError("sequence number must be 16 bits")
        if not (0 <= self.timestamp <= 0xFFFFFFFF and 0 <= self.ssrc <= 0xFFFFFFFF):
            raise LocalProtocolError("timestamp and ssrc must be 32 bits")
        if len(self.csrcs) > MAX_CSRCS or not all(0 <= c <= 0xFFFFFFFF for c in self.csrcs):
            raise LocalProtocolError(f"at most {MAX_CSRCS} CSRCs of 32 bits")
        if self.extension_profile is None:
            if self.extension_data:
                raise LocalProtocolError("header extension data without a profile")
        elif not 0 <= self.extension_profile <= 0xFFFF:
            raise LocalProtocolError("header extension profile must be 16 bits")
        if len(self.extension_data) % 4 or len(self.extension_data) > 4 * 0xFFFF:
            raise LocalProtocolError("header extension data must be whole 32-bit words")
        if not 0 <= self.padding_size <= 255:
            raise LocalProtocolError("padding size must be 0-255")

    def extensions(self) -> dict[int, bytes]:
        """The header extension elements as ``{id: value}`` (RFC 8285); empty without an extension."""
        if self.extension_profile is None:
            return {}
        return parse_elements(self.extension_profile, self.extension_data)

    def with_extensions(self, elements: Mapping[int, bytes]) -> RtpPacket:
        """A copy carrying exactly ``elements`` (none: the X bit is cleared)."""
        if not elements:
            return dataclasses.replace(self, extension_profile=None, extension_data=b"")
        profile, data = build_elements(elements)
        return dataclasses.replace(self, extension_profile=profile, extension_data=data)


# --- hot path: the fixed header, read and rewritten in place -------------------------------------------------


def is_rtcp(data: bytes) -> bool:
    """Whether a datagram on a muxed RTP/RTCP port is RTCP (RFC 5761 §4).

    RTCP packet types 192-223 show up as RTP marker + payload type 64-95, which RFC 5761 forbids RTP to use,
    so the second byte alone tells them apart.
    """
    return len(data) >= 2 and data[0] >> 6 == RTP_VERSION and 64 <= data[1] & 0x7F <= 95


def _check_header(buf: bytes | bytearray | memoryview) -> None:
    if len(buf) < HEADER_SIZE:
        raise RemoteProtocolError("RTP packet shorter than 12 bytes")


def payload_type(buf: bytes | bytearray | memoryview) -> int:
    _check_header(buf)
    return buf[1] & 0x7F


def read_seq(buf: bytes | bytearray | memoryview) -> int:
    _check_header(buf)
    return int(_U16.unpack_from(buf, 2)[0])


def read_timestamp(buf: bytes | bytearray | memoryview) -> int:
    _check_header(buf)
    return int(_U32.unpack_from(buf, 4)[0])


def read_ssrc(buf: bytes | bytearray | memoryview) -> int:
    _check_header(buf)
    return int(_U32.unpack_from(buf, 8)[0])


def rewrite_header(buf: bytearray, ssrc: int, seq: int, timestamp: int, *, payload_type: int | None = None) -> None:
    """Rewrite a forwarded packet's SSRC, sequence number and timestamp (and optionally its payload type).

    The SFU maps every producer stream onto a consumer stream with offsets, so ``seq`` and ``timestamp`` are
    taken modulo 2^16 and 2^32: wrapping is how those counters work. The marker bit, CSRCs, extensions and
    payload are left untouched.
    """
    _check_header(buf)
    if not 0 <= ssrc <= 0xFFFFFFFF:
        raise LocalProtocolError("ssrc must be 32 bits")
    _SEQ_TS_SSRC.pack_into(buf, 2, seq & 0xFFFF, timestamp & 0xFFFFFFFF, ssrc)
    if payload_type is not None:
        if not 0 <= payload_type <= 127:
            raise LocalProtocolError("payload type must be 0-127")
        buf[1] = (buf[1] & 0x80) | payload_type


def remap_extension_ids(buf: bytearray, table: bytes) -> None:
    """Renumber the header extension elements of an RTP packet in place (RFC 8285), for the SFU's ingress.

    ``table[old_id]`` is the new ID; 0 removes the element by overwriting it with padding bytes, which keeps
    the packet's length (so no copy) and is valid in both the one-byte and the two-byte form. A block that
    does not parse is padded out from the first bad element on: what follows could carry IDs we never mapped.
    Unknown extension profiles are left alone. ``table`` has 256 entries; one-byte IDs must map to 0-14.
    """
    if len(buf) < HEADER_SIZE or not buf[0] & 0x10:
        return
    offset = HEADER_SIZE + 4 * (buf[0] & 0x0F)
    if offset + 4 > len(buf):
        return
    profile, words = _EXT_HEADER.unpack_from(buf, offset)
    start = offset + 4
    end = min(start + 4 * words, len(buf))
    if profile == ONE_BYTE_PROFILE:
        _remap_one_byte(buf, start, end, table)
    elif is_two_byte_profile(profile):
        _remap_two_byte(buf, start, end, table)


def _pad(buf: bytearray, start: int, end: int) -> None:
    for i in range(start, end):
        buf[i] = 0


def _remap_one_byte(buf: bytearray, i: int, end: int, table: bytes) -> None:
    while i < end:
        first = buf[i]
        if first == 0:
            i += 1
            continue
        size = 1 + (first & 0x0F) + 1
        if first >> 4 == 15 or i + size > end:
            _pad(buf, i, end)  # a stop ID or a truncated element: nothing after it is forwarded
            return
        new_id = table[first >> 4]
        if new_id:
            buf[i] = new_id << 4 | (first & 0x0F)
        else:
            _pad(buf, i, i + size)
        i += size


def _remap_two_byte(buf: bytearray, i: int, end: int, table: bytes) -> None:
    while i < end:
        if buf[i] == 0:
            i += 1
            continue
        if i + 2 > end or i + 2 + buf[i + 1] > end:
            _pad(buf, i, end)
            return
        size = 2 + buf[i + 1]
        new_id = table[buf[i]]
        if new_id:
            buf[i] = new_id
        else:
            _pad(buf, i, i + size)
        i += size


# --- RTX (RFC 4588 §4): the original sequence number travels in the first two payload bytes ---------------


def rtx_unwrap(rtx: RtpPacket, *, payload_type: int, ssrc: int) -> RtpPacket:
    """The original packet carried by an RTX packet.

    ``payload_type`` and ``ssrc`` are the original stream's (from the RTX ``apt`` and the ssrc-group); they
    are not in the packet. Padding belongs to the RTX packet and is dropped.
    """
    if len(rtx.payload) < 2:
        raise RemoteProtocolError("RTX payload shorter than the original sequence number")
    return dataclasses.replace(
        rtx,
        payload_type=payload_type,
        ssrc=ssrc,
        sequence_number=int(_U16.unpack_from(rtx.payload)[0]),
        payload=rtx.payload[2:],
        padding_size=0,
    )


def rtx_wrap(original: RtpPacket, *, ssrc: int, sequence_number: int, payload_type: int) -> RtpPacket:
    """An RTX retransmission of ``original`` on the RTX stream ``ssrc`` with its own ``sequence_number``."""
    return dataclasses.replace(
        original,
        payload_type=payload_type,
        ssrc=ssrc,
        sequence_number=sequence_number,
        payload=_U16.pack(original.sequence_number) + original.payload,
        padding_size=0,
    )
