"""AMF0 values (Adobe's Action Message Format 0 specification, 2007, §2), as RTMP's commands carry them.

Python values stand for AMF0 types one to one, so that ``encode(decode(data)) == data``:

========================  ==========================================
AMF0 type (marker)        Python value
========================  ==========================================
number (0x00)             ``float`` (an ``int`` is encoded as number)
boolean (0x01)            ``bool``
string (0x02)             ``str`` (encoded as long string past 65535 bytes)
object (0x03)             ``dict[str, value]``
null (0x05)               ``None``
undefined (0x06)          :data:`UNDEFINED`
ECMA array (0x08)         :class:`EcmaArray` (a ``dict``)
strict array (0x0A)       ``list``
date (0x0B)               :class:`Date`
long string (0x0C)        :class:`LongString` (a ``str``)
========================  ==========================================

Decoding is bounded: nesting depth, items per container and the input itself; anything else (references,
typed objects, AMF3) is a :class:`~altegon_rt.rtmp.errors.RemoteProtocolError`.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any

from altegon_rt.rtmp.errors import LocalProtocolError, RemoteProtocolError

MAX_DEPTH = 16
MAX_ITEMS = 4096  # properties or elements in one container
NUMBER, BOOLEAN, STRING, OBJECT, NULL, UNDEFINED_MARKER = 0x00, 0x01, 0x02, 0x03, 0x05, 0x06
ECMA_ARRAY, OBJECT_END, STRICT_ARRAY, DATE, LONG_STRING = 0x08, 0x09, 0x0A, 0x0B, 0x0C
_END = b"\x00\x00\x09"
_DOUBLE, _U16, _U32 = struct.Struct(">d"), struct.Struct(">H"), struct.Struct(">I")


class _Undefined:
    _instance: _Undefined | None = None

    def __new__(cls) -> _Undefined:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNDEFINED"


UNDEFINED = _Undefined()


class EcmaArray(dict[str, Any]):
    """An associative array (``onMetaData``'s usual type); a plain ``dict`` is an AMF0 object."""


class LongString(str):
    """A string sent with a 32-bit length."""

    __slots__ = ()


@dataclass(frozen=True, slots=True)
class Date:
    """Milliseconds since the Unix epoch; the time zone field is reserved (should be 0)."""

    ms: float
    timezone: int = 0


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = memoryview(data)
        self.pos = 0

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise RemoteProtocolError("AMF0 value runs past the end of the message")
        out = bytes(self.data[self.pos : self.pos + n])
        self.pos += n
        return out

    def u16(self) -> int:
        return int(_U16.unpack(self.take(2))[0])

    def u32(self) -> int:
        return int(_U32.unpack(self.take(4))[0])

    def text(self, length: int) -> str:
        try:
            return self.take(length).decode("utf-8")
        except UnicodeDecodeError:
            raise RemoteProtocolError("AMF0 string is not UTF-8") from None

    def value(self, depth: int) -> Any:
        if depth > MAX_DEPTH:
            raise RemoteProtocolError(f"AMF0 values nested deeper than {MAX_DEPTH}")
        marker = self.take(1)[0]
        reader = _READERS.get(marker)
        if reader is None:
            raise RemoteProtocolError(f"AMF0 type marker 0x{marker:02x} is not supported")
        return reader(self, depth)

    def properties(self, depth: int, into: dict[str, Any]) -> dict[str, Any]:
        for _ in range(MAX_ITEMS + 1):
            key = self.text(self.u16())
            if not key and self.data[self.pos : self.pos + 1] == b"\x09":
                self.pos += 1
                return into
            into[key] = self.value(depth + 1)
        raise RemoteProtocolError(f"AMF0 object with more than {MAX_ITEMS} properties")

    def ecma_array(self, depth: int) -> EcmaArray:
        self.u32()  # the count is a hint only: encoders get it wrong, the end marker decides
        return self.properties(depth, EcmaArray())  # type: ignore[return-value]

    def strict_array(self, depth: int) -> list[Any]:
        count = self.u32()
        if count > MAX_ITEMS:
            raise RemoteProtocolError(f"AMF0 strict array of {count} elements (at most {MAX_ITEMS})")
        return [self.value(depth + 1) for _ in range(count)]


_READERS: dict[int, Any] = {
    NUMBER: lambda r, d: _DOUBLE.unpack(r.take(8))[0],
    BOOLEAN: lambda r, d: r.take(1) != b"\x00",
    STRING: lambda r, d: r.text(r.u16()),
    OBJECT: lambda r, d: r.properties(d, {}),
    NULL: lambda r, d: None,
    UNDEFINED_MARKER: lambda r, d: UNDEFINED,
    ECMA_ARRAY: _Reader.ecma_array,
    STRICT_ARRAY: _Reader.strict_array,
    DATE: lambda r, d: Date(_DOUBLE.unpack(r.take(8))[0], struct.unpack(">h", r.take(2))[0]),
    LONG_STRING: lambda r, d: LongString(r.text(r.u32())),
}


def decode(data: bytes) -> list[Any]:
    """Every value of a message body (a command: name, transaction id, command object, arguments)."""
    reader = _Reader(data)
    values = []
    while reader.pos < len(data):
        if len(values) >= MAX_ITEMS:
            raise RemoteProtocolError(f"more than {MAX_ITEMS} AMF0 values in one message")
        values.append(reader.value(0))
    return values


def _string(value: str) -> bytes:
    raw = value.encode("utf-8")
    if isinstance(value, LongString) or len(raw) > 0xFFFF:
        return bytes([LONG_STRING]) + _U32.pack(len(raw)) + raw
    return bytes([STRING]) + _U16.pack(len(raw)) + raw


def _properties(items: dict[str, Any], depth: int) -> bytes:
    out = []
    for key, item in items.items():
        raw = key.encode("utf-8")
        if len(raw) > 0xFFFF:
            raise LocalProtocolError("AMF0 property name longer than 65535 bytes")
        out.append(_U16.pack(len(raw)) + raw + _encode(item, depth + 1))
    return b"".join(out) + _END


def _encode(value: Any, depth: int) -> bytes:
    if depth > MAX_DEPTH:
        raise LocalProtocolError(f"AMF0 values nested deeper than {MAX_DEPTH}")
    if value is None:
        return bytes([NULL])
    if value is UNDEFINED:
        return bytes([UNDEFINED_MARKER])
    if isinstance(value, bool):
        return bytes([BOOLEAN, int(value)])
    if isinstance(value, int | float):
        return bytes([NUMBER]) + _DOUBLE.pack(float(value))
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, EcmaArray):
        return bytes([ECMA_ARRAY]) + _U32.pack(len(value)) + _properties(value, depth)
    if isinstance(value, dict):
        return bytes([OBJECT]) + _properties(value, depth)
    if isinstance(value, list | tuple):
        return bytes([STRICT_ARRAY]) + _U32.pack(len(value)) + b"".join(_encode(v, depth + 1) for v in value)
    if isinstance(value, Date):
        return bytes([DATE]) + _DOUBLE.pack(value.ms) + struct.pack(">h", value.timezone)
    raise LocalProtocolError(f"no AMF0 type for {type(value).__name__}")


def encode(*values: Any) -> bytes:
    """The values one after the other, as a command or data message's body."""
    return b"".join(_encode(v, 0) for v in values)
