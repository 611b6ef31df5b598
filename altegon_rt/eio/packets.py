"""Engine.IO v4 packets and HTTP long-polling payloads: pure encode/decode, no I/O.

A packet is a type digit followed by its data (``4hello``). Over WebSocket a text packet is one text frame
and a binary message is one binary frame with no type prefix. Over long-polling several packets share one
body separated by the record separator ``\\x1e``, and a binary message is ``b`` + base64 of its bytes.
Reference: https://github.com/socketio/engine.io-protocol (v4).

Decoding is bounded: a payload holds at most :data:`MAX_PACKETS_PER_PAYLOAD` packets, and every failure is
a :class:`RemoteProtocolError`, never another exception.
"""

from __future__ import annotations

import binascii
import enum
from base64 import b64decode, b64encode
from dataclasses import dataclass

from altegon_rt.eio.errors import RemoteProtocolError

RECORD_SEPARATOR = "\x1e"
MAX_PACKETS_PER_PAYLOAD = 256


class PacketType(enum.IntEnum):
    OPEN = 0
    CLOSE = 1
    PING = 2
    PONG = 3
    MESSAGE = 4
    UPGRADE = 5
    NOOP = 6


_TYPE_BY_CHAR = {str(int(t)): t for t in PacketType}


@dataclass(frozen=True, slots=True)
class Packet:
    """One Engine.IO packet; ``data`` is text, bytes (binary messages only) or empty text."""

    type: PacketType
    data: str | bytes = ""

    @property
    def binary(self) -> bool:
        return isinstance(self.data, bytes)


PING = Packet(PacketType.PING)
PONG = Packet(PacketType.PONG)
NOOP = Packet(PacketType.NOOP)
CLOSE = Packet(PacketType.CLOSE)
UPGRADE = Packet(PacketType.UPGRADE)
PROBE = "probe"


def encode_ws(packet: Packet) -> str | bytes:
    """The WebSocket frame for ``packet``: text for text packets, raw bytes for a binary message."""
    if isinstance(packet.data, bytes):
        if packet.type is not PacketType.MESSAGE:
            raise ValueError("only message packets carry binary data")
        return packet.data
    return f"{int(packet.type)}{packet.data}"


def encode_polling(packet: Packet) -> str:
    """One packet as it appears inside a long-polling payload."""
    if isinstance(packet.data, bytes):
        if packet.type is not PacketType.MESSAGE:
            raise ValueError("only message packets carry binary data")
        return "b" + b64encode(packet.data).decode("ascii")
    return f"{int(packet.type)}{packet.data}"


def encode_payload(encoded: list[str]) -> str:
    """Join packets already encoded by :func:`encode_polling` into one long-polling body."""
    return RECORD_SEPARATOR.join(encoded)


def decode_ws(frame: str | bytes) -> Packet:
    """The packet carried by one WebSocket frame."""
    if isinstance(frame, bytes):
        return Packet(PacketType.MESSAGE, frame)
    return _decode_text(frame)


def decode_polling_packet(text: str) -> Packet:
    """One packet of a long-polling payload (``b``-prefixed base64 for binary)."""
    if text.startswith("b"):
        try:
            return Packet(PacketType.MESSAGE, b64decode(text[1:], validate=True))
        except (binascii.Error, ValueError):
            raise RemoteProtocolError("invalid base64 in binary packet") from None
    return _decode_text(text)


def decode_payload(body: str) -> list[Packet]:
    """Every packet of one long-polling body."""
    if not body:
        raise RemoteProtocolError("empty payload")
    parts = body.split(RECORD_SEPARATOR, MAX_PACKETS_PER_PAYLOAD)
    if len(parts) > MAX_PACKETS_PER_PAYLOAD:
        raise RemoteProtocolError(f"more than {MAX_PACKETS_PER_PAYLOAD} packets in one payload")
    return [decode_polling_packet(part) for part in parts]


def _decode_text(text: str) -> Packet:
    if not text:
        raise RemoteProtocolError("empty packet")
    packet_type = _TYPE_BY_CHAR.get(text[0])
    if packet_type is None:
        raise RemoteProtocolError("unknown packet type")
    return Packet(packet_type, text[1:])
