"""STUN messages (RFC 5389, RFC 8489): pure parse and serialise, MESSAGE-INTEGRITY and FINGERPRINT.

A message is a 20-byte header (type, length, magic cookie, 96-bit transaction id) and a list of
type-length-value attributes, each padded to 4 bytes. Attributes are parsed through one table
(:data:`ATTRIBUTES`, as aioice does); types we do not know are kept as raw bytes so that nothing is lost,
and the comprehension-required ones among them are reported by :meth:`StunMessage.unknown_required` for the
caller's 420 answer.

MESSAGE-INTEGRITY is HMAC-SHA1 over the message up to that attribute, with the header's length field set as if
the message ended right after it (RFC 5389 §15.4). FINGERPRINT is CRC-32 of the message up to it, XOR
0x5354554e (§15.5). Both are added by :meth:`StunMessage.with_integrity` / :meth:`StunMessage.with_fingerprint`
and checked on the received bytes by :func:`verify_integrity` / :func:`verify_fingerprint`, because a
re-serialisation of a parsed message is not guaranteed to be the bytes the MAC was computed over.

Parsing is bounded: at most :data:`MAX_MESSAGE_SIZE` bytes and :data:`MAX_ATTRIBUTES` attributes, and every
failure is a :class:`RemoteProtocolError`, never another exception.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import ipaddress
import struct
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from altegon_rt.rtc.errors import LocalProtocolError, RemoteProtocolError

MAGIC_COOKIE = 0x2112A442
HEADER_SIZE = 20
# Far above any STUN message a browser sends (about 100 to 200 bytes) and above an Ethernet MTU, so a real message
# is never refused, while garbage is refused before any work.
MAX_MESSAGE_SIZE = 2048
MAX_ATTRIBUTES = 64
FINGERPRINT_XOR = 0x5354554E
BINDING = 0x001

_COOKIE_BYTES = struct.pack(">I", MAGIC_COOKIE)
_INTEGRITY_SIZE = 4 + 20  # attribute header + HMAC-SHA1
_FINGERPRINT_SIZE = 4 + 4  # attribute header + CRC-32

Address = tuple[str, int]


class StunClass(enum.IntEnum):
    REQUEST = 0b00
    INDICATION = 0b01
    SUCCESS = 0b10
    ERROR = 0b11


class AttrType(enum.IntEnum):
    MAPPED_ADDRESS = 0x0001
    USERNAME = 0x0006
    MESSAGE_INTEGRITY = 0x0008
    ERROR_CODE = 0x0009
    UNKNOWN_ATTRIBUTES = 0x000A
    XOR_MAPPED_ADDRESS = 0x0020
    PRIORITY = 0x0024
    USE_CANDIDATE = 0x0025
    SOFTWARE = 0x8022
    FINGERPRINT = 0x8028
    ICE_CONTROLLED = 0x8029
    ICE_CONTROLLING = 0x802A


@dataclass(frozen=True, slots=True)
class ErrorCode:
    """The value of ERROR-CODE: a code in 300..699 and a reason phrase."""

    code: int
    reason: str = ""


@dataclass(frozen=True, slots=True)
class StunAttribute:
    """One attribute. ``value`` is the decoded value (see :data:`ATTRIBUTES`) or raw bytes for unknown types.

    ``padding`` is empty for zero padding; otherwise the padding bytes as received, kept because they are
    covered by MESSAGE-INTEGRITY (RFC 5769's vectors pad with spaces).
    """

    type: int
    value: Any = None
    padding: bytes = b""


@dataclass(frozen=True, slots=True)
class StunMessage:
    """One STUN message; ``bytes(msg)`` serialises it, :meth:`parse` reads one."""

    method: int
    message_class: StunClass
    transaction_id: bytes
    attributes: tuple[StunAttribute, ...] = field(default=())

    def __post_init__(self) -> None:
        if len(self.transaction_id) != 12:
            raise LocalProtocolError("transaction id must be 12 bytes")
        if not 0 <= self.method <= 0xFFF:
            raise LocalProtocolError("method must fit in 12 bits")

    @classmethod
    def parse(cls, data: bytes) -> StunMessage:
        """The message in one datagram; the datagram must hold exactly one message."""
        message_type, transaction_id = _check_header(data)
        attributes = []
        for attr_type, offset, length in _walk(data):
            value = data[offset + 4 : offset + 4 + length]
            padding = data[offset + 4 + length : offset + 4 + length + (-length % 4)]
            spec = ATTRIBUTES.get(attr_type)
            decoded: Any = value
            if spec is not None:
                try:
                    decoded = spec.parse(value, transaction_id)
                except _InvalidValue as exc:
                    raise RemoteProtocolError(f"{spec.name}: {exc}") from None
            attributes.append(StunAttribute(attr_type, decoded, padding if any(padding) else b""))
        method, message_class = _split_type(message_type)
        return cls(method, message_class, transaction_id, tuple(attributes))

    def __bytes__(self) -> bytes:
        body = b"".join(_write_attribute(attr, self.transaction_id) for attr in self.attributes)
        if HEADER_SIZE + len(body) > MAX_MESSAGE_SIZE:
            raise LocalProtocolError(f"message of {HEADER_SIZE + len(body)} bytes exceeds {MAX_MESSAGE_SIZE}")
        return self._header(len(body)) + body

    def _header(self, length: int) -> bytes:
        message_type = _join_type(self.method, self.message_class)
        return struct.pack(">HH", message_type, length) + _COOKIE_BYTES + self.transaction_id

    def effective_attributes(self) -> tuple[StunAttribute, ...]:
        """The attributes a receiver acts on: up to the first MESSAGE-INTEGRITY, and a final FINGERPRINT.

        Anything else after MESSAGE-INTEGRITY is not covered by it and must be ignored (RFC 5389 §15.4).
        """
        for index, attr in enumerate(self.attributes):
            if attr.type == AttrType.MESSAGE_INTEGRITY:
                kept = self.attributes[: index + 1]
                last = self.attributes[-1]
                if last.type == AttrType.FINGERPRINT and len(self.attributes) > index + 1:
                    kept += (last,)
                return kept
        return self.attributes

    def get(self, attr_type: int, default: Any = None) -> Any:
        """The value of the first effective attribute of this type (later duplicates are ignored)."""
        for attr in self.effective_attributes():
            if attr.type == attr_type:
                return attr.value
        return default

    def has(self, attr_type: int) -> bool:
        return any(attr.type == attr_type for attr in self.effective_attributes())

    def unknown_required(self) -> tuple[int, ...]:
        """Effective attribute types we do not understand that the sender says we must (type < 0x8000)."""
        types = [a.type for a in self.effective_attributes() if a.type < 0x8000 and a.type not in ATTRIBUTES]
        return tuple(dict.fromkeys(types))

    def with_attribute(self, attr_type: int, value: Any = None) -> StunMessage:
        return replace(self, attributes=(*self.attributes, StunAttribute(attr_type, value)))

    def with_integrity(self, key: bytes) -> StunMessage:
        """This message with MESSAGE-INTEGRITY appended (for short-term credentials the key is the password)."""
        if self.has(AttrType.MESSAGE_INTEGRITY) or self.has(AttrType.FINGERPRINT):
            raise LocalProtocolError("MESSAGE-INTEGRITY must come once, before FINGERPRINT")
        body = bytes(self)[HEADER_SIZE:]
        covered = self._header(len(body) + _INTEGRITY_SIZE) + body
        return self.with_attribute(AttrType.MESSAGE_INTEGRITY, _hmac(key, covered))

    def with_fingerprint(self) -> StunMessage:
        """This message with FINGERPRINT appended; it must be the last attribute."""
        if self.has(AttrType.FINGERPRINT):
            raise LocalProtocolError("message already has a FINGERPRINT")
        body = bytes(self)[HEADER_SIZE:]
        covered = self._header(len(body) + _FINGERPRINT_SIZE) + body
        return self.with_attribute(AttrType.FINGERPRINT, _crc(covered))


def serialize(message: StunMessage, *, integrity_key: bytes | None = None, fingerprint: bool = False) -> bytes:
    """``bytes(message)`` with MESSAGE-INTEGRITY (if a key is given) and FINGERPRINT appended."""
    if integrity_key is not None:
        message = message.with_integrity(integrity_key)
    if fingerprint:
        message = message.with_fingerprint()
    return bytes(message)


def is_stun(data: bytes) -> bool:
    """Whether a datagram on a multiplexed port is STUN: its first byte is 0..3 (RFC 7983 §7)."""
    return len(data) > 0 and data[0] <= 3


def verify_integrity(data: bytes, key: bytes) -> bool:
    """Whether the first MESSAGE-INTEGRITY of the received ``data`` is right for ``key``.

    False when the message is malformed or has no MESSAGE-INTEGRITY.
    """
    try:
        _check_header(data)
        for attr_type, offset, length in _walk(data):
            if attr_type == AttrType.MESSAGE_INTEGRITY:
                if length != 20:
                    return False
                covered = data[:2] + struct.pack(">H", offset + _INTEGRITY_SIZE - HEADER_SIZE) + data[4:offset]
                return hmac.compare_digest(_hmac(key, covered), data[offset + 4 : offset + 24])
    except RemoteProtocolError:
        return False
    return False


def verify_fingerprint(data: bytes) -> bool:
    """Whether the received ``data`` ends with a FINGERPRINT that matches it.

    False when the message is malformed, has no FINGERPRINT, or has one that is not the last attribute.
    """
    try:
        _check_header(data)
        attributes = list(_walk(data))
    except RemoteProtocolError:
        return False
    if not attributes:
        return False
    attr_type, offset, length = attributes[-1]
    if attr_type != AttrType.FINGERPRINT or length != 4:
        return False
    # FINGERPRINT is last, so the header's length field already counts it, as §15.5 wants.
    (received,) = struct.unpack_from(">I", data, offset + 4)
    return bool(received == _crc(data[:offset]))  # a checksum, not a secret: no constant-time compare


def _hmac(key: bytes, covered: bytes) -> bytes:
    return hmac.new(key, covered, hashlib.sha1).digest()


def _crc(covered: bytes) -> int:
    return (zlib.crc32(covered) ^ FINGERPRINT_XOR) & 0xFFFFFFFF


# --- header ------------------------------------------------------------------------------------------------


def _check_header(data: bytes) -> tuple[int, bytes]:
    """The message type and transaction id, once the header and the length field are known to be sound."""
    if len(data) > MAX_MESSAGE_SIZE:
        raise RemoteProtocolError(f"message of {len(data)} bytes exceeds the {MAX_MESSAGE_SIZE}-byte limit")
    if len(data) < HEADER_SIZE:
        raise RemoteProtocolError(f"truncated header: {len(data)} of {HEADER_SIZE} bytes")
    message_type, length, cookie = struct.unpack_from(">HHI", data)
    if message_type & 0xC000:
        raise RemoteProtocolError("first two bits are not zero")
    if cookie != MAGIC_COOKIE:
        raise RemoteProtocolError(f"bad magic cookie 0x{cookie:08x}")
    if length % 4:
        raise RemoteProtocolError(f"message length {length} is not a multiple of 4")
    if length != len(data) - HEADER_SIZE:
        raise RemoteProtocolError(f"message length {length} but {len(data) - HEADER_SIZE} bytes follow the header")
    return message_type, bytes(data[8:HEADER_SIZE])


def _walk(data: bytes) -> Iterator[tuple[int, int, int]]:
    """(type, offset of the attribute header, value length) of each attribute; the header is already checked."""
    offset = HEADER_SIZE
    count = 0
    while offset < len(data):
        count += 1
        if count > MAX_ATTRIBUTES:
            raise RemoteProtocolError(f"more than {MAX_ATTRIBUTES} attributes")
        # The length field is a multiple of 4 and so is every padded attribute: 4 header bytes are there.
        attr_type, length = struct.unpack_from(">HH", data, offset)
        end = offset + 4 + length + (-length % 4)
        if end > len(data):
            raise RemoteProtocolError(f"attribute 0x{attr_type:04x} of {length} bytes overruns the message")
        yield attr_type, offset, length
        offset = end


def _split_type(message_type: int) -> tuple[int, StunClass]:
    # The class bits C1 C0 sit at bits 8 and 4, between the method bits M11..M0 (RFC 5389 §6).
    method = (message_type & 0x000F) | ((message_type & 0x00E0) >> 1) | ((message_type & 0x3E00) >> 2)
    message_class = ((message_type >> 7) & 0b10) | ((message_type >> 4) & 0b01)
    return method, StunClass(message_class)


def _join_type(method: int, message_class: StunClass) -> int:
    bits = (method & 0x000F) | ((method & 0x0070) << 1) | ((method & 0x0F80) << 2)
    return bits | ((message_class & 0b10) << 7) | ((message_class & 0b01) << 4)


# --- the attribute table -----------------------------------------------------------------------------------


class _InvalidValue(Exception):
    """An attribute value that does not decode (or encode); the caller names the attribute."""


@dataclass(frozen=True, slots=True)
class _AttrSpec:
    name: str
    parse: Callable[[bytes, bytes], Any]  # (value bytes, transaction id) -> value
    write: Callable[[Any, bytes], bytes]  # (value, transaction id) -> value bytes


def _fixed(size: int) -> Callable[[bytes], None]:
    def check(value: bytes) -> None:
        if len(value) != size:
            raise _InvalidValue(f"length {len(value)}, expected {size}")

    return check


def _uint(size: int) -> _AttrSpec:
    check, fmt = _fixed(size), {4: ">I", 8: ">Q"}[size]

    def parse(value: bytes, _tid: bytes) -> int:
        check(value)
        return int(struct.unpack(fmt, value)[0])

    def write(value: int, _tid: bytes) -> bytes:
        return struct.pack(fmt, value)

    return _AttrSpec("", parse, write)


def _text(max_bytes: int) -> _AttrSpec:
    def parse(value: bytes, _tid: bytes) -> str:
        if len(value) > max_bytes:
            raise _InvalidValue(f"longer than {max_bytes} bytes")
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            raise _InvalidValue("not UTF-8") from None

    def write(value: str, _tid: bytes) -> bytes:
        encoded = value.encode("utf-8")
        if len(encoded) > max_bytes:
            raise _InvalidValue(f"longer than {max_bytes} bytes")
        return encoded

    return _AttrSpec("", parse, write)


def _address(xor: bool) -> _AttrSpec:
    def mask(tid: bytes, size: int) -> bytes:
        # XOR-MAPPED-ADDRESS hides the address from NATs that rewrite it: XOR with cookie (+ transaction id).
        return (_COOKIE_BYTES + tid)[:size] if xor else bytes(size)

    def parse(value: bytes, tid: bytes) -> Address:
        if len(value) < 4:
            raise _InvalidValue(f"length {len(value)}, too short")
        family, port = value[1], struct.unpack_from(">H", value, 2)[0]
        size = {1: 4, 2: 16}.get(family)
        if size is None:
            raise _InvalidValue(f"unknown address family {family}")
        if len(value) != 4 + size:
            raise _InvalidValue(f"length {len(value)}, expected {4 + size}")
        packed = bytes(a ^ b for a, b in zip(value[4:], mask(tid, size), strict=True))
        return str(ipaddress.ip_address(packed)), port ^ (MAGIC_COOKIE >> 16 if xor else 0)

    def write(value: Address, tid: bytes) -> bytes:
        packed = ipaddress.ip_address(value[0]).packed
        family = 1 if len(packed) == 4 else 2
        port = value[1] ^ (MAGIC_COOKIE >> 16 if xor else 0)
        masked = bytes(a ^ b for a, b in zip(packed, mask(tid, len(packed)), strict=True))
        return struct.pack(">BBH", 0, family, port) + masked

    return _AttrSpec("", parse, write)


def _parse_error_code(value: bytes, _tid: bytes) -> ErrorCode:
    if len(value) < 4:
        raise _InvalidValue(f"length {len(value)}, too short")
    hundreds, number = value[2] & 0x07, value[3]  # the other bits are reserved and ignored
    if not 3 <= hundreds <= 6 or number > 99:
        raise _InvalidValue(f"code {hundreds * 100 + number} out of range 300..699")
    reason = _text(763).parse(value[4:], _tid)
    return ErrorCode(hundreds * 100 + number, reason)


def _write_error_code(value: ErrorCode, _tid: bytes) -> bytes:
    if not 300 <= value.code <= 699:
        raise _InvalidValue(f"code {value.code} out of range 300..699")
    return struct.pack(">HBB", 0, value.code // 100, value.code % 100) + _text(763).write(value.reason, _tid)


def _parse_unknown_attributes(value: bytes, _tid: bytes) -> tuple[int, ...]:
    if len(value) % 2:
        raise _InvalidValue(f"length {len(value)} is odd")
    return struct.unpack(f">{len(value) // 2}H", value)


def _write_unknown_attributes(value: tuple[int, ...], _tid: bytes) -> bytes:
    return struct.pack(f">{len(value)}H", *value)


def _parse_bytes(size: int) -> Callable[[bytes, bytes], bytes]:
    check = _fixed(size)

    def parse(value: bytes, _tid: bytes) -> bytes:
        check(value)
        return bytes(value)

    return parse


def _write_bytes(value: bytes, _tid: bytes) -> bytes:
    return bytes(value)


def _parse_flag(value: bytes, _tid: bytes) -> None:
    _fixed(0)(value)


def _write_flag(_value: None, _tid: bytes) -> bytes:
    return b""


def _named(name: str, spec: _AttrSpec) -> _AttrSpec:
    return replace(spec, name=name)


#: type -> (name, parser, writer). Values: addresses are ``(host, port)``, USERNAME/SOFTWARE ``str``,
#: PRIORITY/FINGERPRINT/ICE tie-breakers ``int``, MESSAGE-INTEGRITY ``bytes``, USE-CANDIDATE ``None``.
ATTRIBUTES: dict[int, _AttrSpec] = {
    AttrType.MAPPED_ADDRESS: _named("MAPPED-ADDRESS", _address(xor=False)),
    AttrType.USERNAME: _named("USERNAME", _text(512)),  # RFC 5389 §15.3: less than 513 bytes
    AttrType.MESSAGE_INTEGRITY: _AttrSpec("MESSAGE-INTEGRITY", _parse_bytes(20), _write_bytes),
    AttrType.ERROR_CODE: _AttrSpec("ERROR-CODE", _parse_error_code, _write_error_code),
    AttrType.UNKNOWN_ATTRIBUTES: _AttrSpec("UNKNOWN-ATTRIBUTES", _parse_unknown_attributes, _write_unknown_attributes),
    AttrType.XOR_MAPPED_ADDRESS: _named("XOR-MAPPED-ADDRESS", _address(xor=True)),
    AttrType.PRIORITY: _named("PRIORITY", _uint(4)),
    AttrType.USE_CANDIDATE: _AttrSpec("USE-CANDIDATE", _parse_flag, _write_flag),
    AttrType.SOFTWARE: _named("SOFTWARE", _text(763)),  # RFC 5389 §15.10: less than 128 characters
    AttrType.FINGERPRINT: _named("FINGERPRINT", _uint(4)),
    AttrType.ICE_CONTROLLED: _named("ICE-CONTROLLED", _uint(8)),
    AttrType.ICE_CONTROLLING: _named("ICE-CONTROLLING", _uint(8)),
}


def _write_attribute(attr: StunAttribute, transaction_id: bytes) -> bytes:
    spec = ATTRIBUTES.get(attr.type)
    name = spec.name if spec else f"attribute 0x{attr.type:04x}"
    try:
        if spec is not None:
            value = spec.write(attr.value, transaction_id)
        elif isinstance(attr.value, bytes | bytearray):
            value = bytes(attr.value)
        else:
            raise _InvalidValue("an unknown attribute's value must be bytes")
    except (_InvalidValue, ValueError, TypeError, struct.error) as exc:
        raise LocalProtocolError(f"{name}: {exc}") from None
    if len(value) > 0xFFFF or not 0 <= attr.type <= 0xFFFF:
        raise LocalProtocolError(f"{name}: does not fit in a STUN attribute")
    pad = -len(value) % 4
    if attr.padding and len(attr.padding) != pad:
        raise LocalProtocolError(f"{name}: {len(attr.padding)} padding bytes, needs {pad}")
    return struct.pack(">HH", attr.type, len(value)) + value + (attr.padding or bytes(pad))
