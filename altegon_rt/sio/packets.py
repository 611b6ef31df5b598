"""Socket.IO v5 packets: pure encode/decode, binary attachments with placeholders, no I/O.

Text form: ``<type>[<attachments>-][<namespace>,][<ack id>][<JSON>]``, the namespace omitted when it is
``/``. A packet whose data holds bytes is sent as BINARY_EVENT/BINARY_ACK: each bytes value becomes
``{"_placeholder":true,"num":n}`` and travels as its own binary Engine.IO message after the text.
Reference: https://github.com/socketio/socket.io-protocol (v5) and socket.io-parser's validation rules.

:class:`Decoder` is the receiving side: it takes Engine.IO messages one by one and returns each packet once
its attachments have arrived. Every failure is a :class:`RemoteProtocolError`; sizes and counts are capped.
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass
from typing import Any

from altegon_rt.eio.errors import RemoteProtocolError

MAX_ATTACHMENTS = 32
MAX_NAMESPACE = 256
MAX_ACK_ID = 2**53 - 1
RESERVED_EVENTS = frozenset({"connect", "connect_error", "disconnect", "disconnecting", "newListener",
                             "removeListener"})  # fmt: skip


class PacketType(enum.IntEnum):
    CONNECT = 0
    DISCONNECT = 1
    EVENT = 2
    ACK = 3
    CONNECT_ERROR = 4
    BINARY_EVENT = 5
    BINARY_ACK = 6


_BINARY_OF = {PacketType.EVENT: PacketType.BINARY_EVENT, PacketType.ACK: PacketType.BINARY_ACK}
_PLAIN_OF = {v: k for k, v in _BINARY_OF.items()}
_TYPE_BY_CHAR = {str(int(t)): t for t in PacketType}
_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


@dataclass(frozen=True, slots=True)
class Packet:
    """A decoded packet; binary packets come out with their bytes back in place, as EVENT or ACK."""

    type: PacketType
    namespace: str = "/"
    data: Any = None
    id: int | None = None


def encode(packet: Packet) -> list[str | bytes]:
    """The Engine.IO messages for ``packet``: its text, then one bytes item per attachment."""
    attachments: list[bytes] = []
    data = packet.data
    if packet.type in _BINARY_OF and _has_binary(data):
        data = _deconstruct(data, attachments)
    return [_text(packet, data, len(attachments)), *attachments] if attachments else [_text(packet, data, 0)]


def encode_event(namespace: str, event: str, args: tuple[Any, ...] | list[Any], ack_id: int | None = None
                 ) -> list[str | bytes]:  # fmt: skip
    return encode(Packet(PacketType.EVENT, namespace, [event, *args], ack_id))


def _text(packet: Packet, data: Any, attachments: int) -> str:
    kind = _BINARY_OF[packet.type] if attachments else packet.type
    parts = [str(int(kind))]
    if attachments:
        parts.append(f"{attachments}-")
    if packet.namespace != "/":
        parts.append(packet.namespace + ",")
    if packet.id is not None:
        parts.append(str(packet.id))
    if data is not None:
        parts.append(_dumps(data))
    return "".join(parts)


def _has_binary(value: Any) -> bool:
    if isinstance(value, bytes | bytearray | memoryview):
        return True
    if isinstance(value, list | tuple):
        return any(_has_binary(v) for v in value)
    if isinstance(value, dict):
        return any(_has_binary(v) for v in value.values())
    return False


def _deconstruct(value: Any, attachments: list[bytes]) -> Any:
    if isinstance(value, bytes | bytearray | memoryview):
        attachments.append(bytes(value))
        return {"_placeholder": True, "num": len(attachments) - 1}
    if isinstance(value, list | tuple):
        return [_deconstruct(v, attachments) for v in value]
    if isinstance(value, dict):
        return {k: _deconstruct(v, attachments) for k, v in value.items()}
    return value


class Decoder:
    """Turns a client's Engine.IO messages into packets, holding a binary packet until its bytes arrive."""

    __slots__ = ("_attachments", "_pending", "_wanted")

    def __init__(self) -> None:
        self._pending: Packet | None = None
        self._wanted = 0
        self._attachments: list[bytes] = []

    def feed(self, message: str | bytes) -> Packet | None:
        """The packet completed by ``message``, or ``None`` while attachments are still expected."""
        if isinstance(message, bytes):
            return self._feed_attachment(message)
        if self._pending is not None:
            raise RemoteProtocolError("text packet while binary attachments were expected")
        packet, attachments = decode_text(message)
        if attachments == 0:
            return packet
        self._pending, self._wanted, self._attachments = packet, attachments, []
        return None

    def _feed_attachment(self, data: bytes) -> Packet | None:
        if self._pending is None:
            raise RemoteProtocolError("binary message without a binary packet")
        self._attachments.append(data)
        if len(self._attachments) < self._wanted:
            return None
        pending, attachments = self._pending, self._attachments
        self._pending, self._wanted, self._attachments = None, 0, []
        data = _reconstruct(pending.data, attachments)
        return Packet(_PLAIN_OF[pending.type], pending.namespace, data, pending.id)


def decode_text(text: str) -> tuple[Packet, int]:
    """One text packet and the number of binary attachments that follow it."""
    if not text or text[0] not in _TYPE_BY_CHAR:
        raise RemoteProtocolError("unknown packet type")
    kind = _TYPE_BY_CHAR[text[0]]
    pos, attachments = 1, 0
    if kind in (PacketType.BINARY_EVENT, PacketType.BINARY_ACK):
        dash = text.find("-", 1, 8)
        if dash < 0 or not text[1:dash].isdigit():
            raise RemoteProtocolError("invalid attachment count")
        attachments = int(text[1:dash])
        if not 0 < attachments <= MAX_ATTACHMENTS:
            raise RemoteProtocolError(f"attachment count must be 1 to {MAX_ATTACHMENTS}")
        pos = dash + 1
    namespace = "/"
    if text.startswith("/", pos):
        comma = text.find(",", pos, pos + MAX_NAMESPACE + 1)
        end = comma if comma >= 0 else len(text)
        if end - pos > MAX_NAMESPACE:
            raise RemoteProtocolError("namespace too long")
        namespace, pos = text[pos:end], end + 1
    ack_id = None
    digits_end = pos
    while digits_end < len(text) and text[digits_end] in "0123456789" and digits_end - pos < 17:
        digits_end += 1
    if digits_end > pos:
        ack_id = int(text[pos:digits_end])
        if ack_id > MAX_ACK_ID:
            raise RemoteProtocolError("ack id too large")
        pos = digits_end
    data = _loads(text[pos:]) if pos < len(text) else None
    _check_payload(kind, data, ack_id)
    return Packet(kind, namespace, data, ack_id), attachments


def _loads(text: str) -> Any:
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        raise RemoteProtocolError("invalid JSON in packet") from None


def _check_payload(kind: PacketType, data: Any, ack_id: int | None) -> None:
    """socket.io-parser's ``isPayloadValid``, so we refuse what the reference server refuses."""
    if kind is PacketType.CONNECT:
        ok = data is None or isinstance(data, dict)
    elif kind is PacketType.DISCONNECT:
        ok = data is None
    elif kind is PacketType.CONNECT_ERROR:
        ok = isinstance(data, str | dict)
    elif kind in (PacketType.EVENT, PacketType.BINARY_EVENT):
        ok = isinstance(data, list) and bool(data) and _event_name_ok(data[0])
    else:  # ACK, BINARY_ACK
        ok = isinstance(data, list) and ack_id is not None
    if not ok:
        raise RemoteProtocolError(f"invalid payload for {kind.name}")


def _event_name_ok(name: Any) -> bool:
    if isinstance(name, str):
        return name not in RESERVED_EVENTS
    return isinstance(name, int | float) and not isinstance(name, bool)


def _reconstruct(value: Any, attachments: list[bytes]) -> Any:
    if isinstance(value, dict):
        if value.get("_placeholder") is True and "num" in value:
            num = value["num"]
            if not isinstance(num, int) or isinstance(num, bool) or not 0 <= num < len(attachments):
                raise RemoteProtocolError("placeholder refers to a missing attachment")
            return attachments[num]
        return {k: _reconstruct(v, attachments) for k, v in value.items()}
    if isinstance(value, list):
        return [_reconstruct(v, attachments) for v in value]
    return value
