"""RTP header extension elements (RFC 8285) and the values an SFU reads and writes in them.

An RTP header extension block is a 16-bit profile and a run of 32-bit words. RFC 8285 defines two ways to
pack several elements ("id → bytes") in those words:

- one-byte header, profile ``0xBEDE``: each element is ``ID(4) | L(4)`` then ``L + 1`` data bytes; ID 0 is a
  padding byte and ID 15 stops parsing of the whole block;
- two-byte header, profile ``0x100X`` (the low four bits are "appbits" we keep but do not use): each element
  is ``ID(8)``, ``length(8)`` then ``length`` data bytes; a zero byte in place of an ID is padding.

Which ID carries which extension is negotiated in SDP (``a=extmap``), so this module only turns element
bytes into values (mid, rid, abs-send-time, transport-wide sequence number, audio level) and back; the
caller keeps the id map. Nothing here reads a clock: abs-send-time takes the time as an argument.
"""

from __future__ import annotations

from collections.abc import Mapping

from altegon_rt.rtc.errors import LocalProtocolError, RemoteProtocolError

ONE_BYTE_PROFILE = 0xBEDE
TWO_BYTE_PROFILE = 0x1000
_TWO_BYTE_MASK = 0xFFF0
_ONE_BYTE_STOP_ID = 15

# Standard extension URIs, for the caller's extmap lookups.
URI_MID = "urn:ietf:params:rtp-hdrext:sdes:mid"
URI_RID = "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id"
URI_REPAIRED_RID = "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id"
URI_ABS_SEND_TIME = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"
URI_TRANSPORT_WIDE_CC = "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"
URI_AUDIO_LEVEL = "urn:ietf:params:rtp-hdrext:ssrc-audio-level"


def is_two_byte_profile(profile: int) -> bool:
    return profile & _TWO_BYTE_MASK == TWO_BYTE_PROFILE


def parse_elements(profile: int, data: bytes) -> dict[int, bytes]:
    """The elements of one extension block as ``{id: value}``.

    An unknown profile yields no elements (RFC 3550 lets other profiles exist; they are not ours to read).
    A duplicated ID is refused: RFC 8285 gives each ID one meaning, so two values cannot both be right.
    """
    if profile == ONE_BYTE_PROFILE:
        return _parse_one_byte(data)
    if is_two_byte_profile(profile):
        return _parse_two_byte(data)
    return {}


def _parse_one_byte(data: bytes) -> dict[int, bytes]:
    elements: dict[int, bytes] = {}
    i = 0
    while i < len(data):
        ext_id, length = data[i] >> 4, (data[i] & 0x0F) + 1
        if ext_id == 0:  # padding byte between elements
            i += 1
            continue
        if ext_id == _ONE_BYTE_STOP_ID:
            break
        _add(elements, ext_id, data, i + 1, length)
        i += 1 + length
    return elements


def _parse_two_byte(data: bytes) -> dict[int, bytes]:
    elements: dict[int, bytes] = {}
    i = 0
    while i < len(data):
        ext_id = data[i]
        if ext_id == 0:
            i += 1
            continue
        if i + 1 >= len(data):
            raise RemoteProtocolError("header extension element truncated")
        length = data[i + 1]
        _add(elements, ext_id, data, i + 2, length)
        i += 2 + length
    return elements


def _add(elements: dict[int, bytes], ext_id: int, data: bytes, start: int, length: int) -> None:
    if start + length > len(data):
        raise RemoteProtocolError("header extension element truncated")
    if ext_id in elements:
        raise RemoteProtocolError(f"duplicate header extension id {ext_id}")
    elements[ext_id] = bytes(data[start : start + length])


def build_elements(elements: Mapping[int, bytes]) -> tuple[int, bytes]:
    """``(profile, data)`` for an extension block holding ``elements``, zero-padded to 32-bit words.

    The one-byte form is used whenever it can hold every element (IDs 1-14, 1-16 bytes), since every
    WebRTC endpoint understands it; otherwise the two-byte form (IDs 1-255, 0-255 bytes).
    """
    if not elements:
        return ONE_BYTE_PROFILE, b""
    for ext_id, value in elements.items():
        if not 1 <= ext_id <= 255:
            raise LocalProtocolError(f"header extension id {ext_id} out of range")
        if len(value) > 255:
            raise LocalProtocolError(f"header extension {ext_id} longer than 255 bytes")
    out = bytearray()
    if all(ext_id < _ONE_BYTE_STOP_ID and 1 <= len(v) <= 16 for ext_id, v in elements.items()):
        profile = ONE_BYTE_PROFILE
        for ext_id, value in elements.items():
            out += bytes([ext_id << 4 | (len(value) - 1)]) + value
    else:
        profile = TWO_BYTE_PROFILE
        for ext_id, value in elements.items():
            out += bytes([ext_id, len(value)]) + value
    out += bytes(-len(out) % 4)
    return profile, bytes(out)


# --- values -------------------------------------------------------------------------------------------------


def read_sdes_string(value: bytes) -> str:
    """mid, rid and repaired-rid: RFC 8843/8852 carry them as SDES-style UTF-8 text (1-255 bytes)."""
    if not value:
        raise RemoteProtocolError("empty SDES string extension")
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        raise RemoteProtocolError("SDES string extension is not UTF-8") from None


def write_sdes_string(text: str) -> bytes:
    data = text.encode("utf-8")
    if not 1 <= len(data) <= 255:
        raise LocalProtocolError("SDES string extension must be 1-255 bytes")
    return data


# mid and rid share the SDES text encoding; the names say what the caller means.
read_mid = read_rid = read_sdes_string
write_mid = write_rid = write_sdes_string


def read_abs_send_time(value: bytes) -> int:
    """The 24-bit 6.18 fixed-point seconds of abs-send-time (wraps every 64 s)."""
    if len(value) != 3:
        raise RemoteProtocolError("abs-send-time must be 3 bytes")
    return int.from_bytes(value, "big")


def write_abs_send_time(value: int) -> bytes:
    return (value & 0xFFFFFF).to_bytes(3, "big")


def abs_send_time_from_seconds(seconds: float) -> int:
    """abs-send-time for a time in seconds (the caller's clock; only the low 6 integer bits survive)."""
    return int(seconds * (1 << 18)) & 0xFFFFFF


def abs_send_time_to_seconds(value: int) -> float:
    return value / (1 << 18)


def read_transport_seq(value: bytes) -> int:
    """The transport-wide congestion control sequence number (16 bits, draft-holmer)."""
    if len(value) != 2:
        raise RemoteProtocolError("transport-wide sequence number must be 2 bytes")
    return int.from_bytes(value, "big")


def write_transport_seq(seq: int) -> bytes:
    return (seq & 0xFFFF).to_bytes(2, "big")


def read_audio_level(value: bytes) -> tuple[int, bool]:
    """``(level, voice)`` of ssrc-audio-level (RFC 6464): level is 0-127 in -dBov, voice the V flag."""
    if not value:
        raise RemoteProtocolError("audio level extension is empty")
    # One byte in RFC 6464; the two-byte form may pad it, so only the first byte counts.
    return value[0] & 0x7F, bool(value[0] & 0x80)


def write_audio_level(level: int, voice: bool) -> bytes:
    if not 0 <= level <= 127:
        raise LocalProtocolError("audio level must be 0-127")
    return bytes([(0x80 if voice else 0) | level])
