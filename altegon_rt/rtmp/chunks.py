"""The RTMP chunk stream (Adobe RTMP specification 1.0, §5.3): messages cut into chunks and put back together.

A chunk is a basic header (format 0-3 and chunk stream id 2-65599 in one, two or three bytes), a message
header of 11, 7, 3 or 0 bytes (format 0: absolute timestamp, length, type, message stream id; 1: timestamp
delta, length, type; 2: delta; 3: nothing, the chunk stream's last values), an extended timestamp when the
24-bit field is ``0xFFFFFF`` (also on format 3 chunks after such a header, as FFmpeg and librtmp write them),
then up to the chunk size of the message's payload. Chunks of different chunk streams interleave.

A format 3 chunk that starts a new message adds the last delta again; after a format 0 header the "delta" is
its timestamp field (what FFmpeg writes and reads). :class:`ChunkReader` is fed bytes and answers one whole
:class:`Message` at a time, so that a Set Chunk Size message takes effect before the next chunk is read.
Bounds: message length (:data:`MAX_MESSAGE_BYTES`), chunk size, chunk streams in use, and bytes held in
unfinished messages; past them, and for headers that make no sense, :class:`RemoteProtocolError`.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from altegon_rt.rtmp.errors import LocalProtocolError, RemoteProtocolError

DEFAULT_CHUNK_SIZE = 128
MAX_CHUNK_SIZE = 0x7FFFFFFF  # §5.4.1: 31 bits; what we accept to *read* is bounded by max_chunk_size
MAX_MESSAGE_BYTES = 8 * 1024 * 1024  # a 4K key frame is 1-2 MB
MAX_CHUNK_STREAMS = 64
MAX_HELD_BYTES = 16 * 1024 * 1024  # in unfinished messages, over every chunk stream
EXTENDED = 0xFFFFFF
_HEADER_SIZES = (11, 7, 3, 0)


@dataclass(frozen=True, slots=True)
class Message:
    """One RTMP message: ``type_id`` (§5.4, §7.1), its message stream, timestamp (ms, 32 bits) and payload."""

    type_id: int
    stream_id: int
    timestamp: int
    payload: bytes
    csid: int = 3


@dataclass(slots=True)
class _ChunkStream:
    timestamp: int = 0
    delta: int = 0  # the last timestamp field (a delta; the absolute time after a format 0 header)
    length: int = 0
    type_id: int = 0
    stream_id: int = 0
    extended: bool = False  # the last header had an extended timestamp
    partial: bytearray | None = None


def basic_header(fmt: int, csid: int) -> bytes:
    if not 2 <= csid <= 65599:
        raise LocalProtocolError(f"chunk stream id {csid} is not in 2-65599")
    if csid < 64:
        return bytes([fmt << 6 | csid])
    if csid < 320:
        return bytes([fmt << 6, csid - 64])
    return bytes([fmt << 6 | 1]) + (csid - 64).to_bytes(2, "little")


class ChunkReader:
    """Bytes in (:meth:`feed`), whole messages out (:meth:`next_message`)."""

    def __init__(self, *, max_message_bytes: int = MAX_MESSAGE_BYTES, max_chunk_streams: int = MAX_CHUNK_STREAMS,
                 max_chunk_size: int = MAX_MESSAGE_BYTES, max_held_bytes: int = MAX_HELD_BYTES) -> None:  # fmt: skip
        self.max_message_bytes, self.max_chunk_streams = max_message_bytes, max_chunk_streams
        self.max_chunk_size, self.max_held_bytes = max_chunk_size, max_held_bytes
        self._chunk_size = DEFAULT_CHUNK_SIZE
        self._buffer = bytearray()
        self._streams: dict[int, _ChunkStream] = {}
        self._held = 0

    @property
    def chunk_size(self) -> int:
        return self._chunk_size

    @chunk_size.setter
    def chunk_size(self, size: int) -> None:
        if not 1 <= size <= MAX_CHUNK_SIZE:
            raise RemoteProtocolError(f"chunk size {size} is not in 1-{MAX_CHUNK_SIZE}")
        if size > self.max_chunk_size:
            raise RemoteProtocolError(f"chunk size {size} is over our limit of {self.max_chunk_size}")
        self._chunk_size = size

    @property
    def buffered(self) -> int:
        """Bytes fed but not yet read as chunks (at most a header and one chunk's payload, plus what came after)."""
        return len(self._buffer)

    def feed(self, data: bytes) -> None:
        self._buffer += data

    def abort(self, csid: int) -> None:
        """Abort Message (§5.4.2): drop the chunk stream's unfinished message."""
        stream = self._streams.get(csid)
        if stream is not None and stream.partial is not None:
            self._held -= stream.length
            stream.partial = None

    def next_message(self) -> Message | None:
        """The next whole message, or ``None`` until more bytes are fed."""
        while True:
            parsed = self._read_chunk()
            if parsed is None:
                return None
            if parsed is not True:
                return parsed

    def _read_chunk(self) -> Message | bool | None:
        """One chunk: ``None`` (need more bytes), ``True`` (a chunk of an unfinished message) or the message."""
        buf = self._buffer
        if not buf:
            return None
        fmt, csid, pos = buf[0] >> 6, buf[0] & 0x3F, 1
        if csid < 2:  # 0: a second byte, csid 64-319; 1: two more bytes (little-endian), csid 64-65599
            pos = 2 + csid
            if len(buf) < pos:
                return None
            csid = 64 + buf[1] + (buf[2] << 8 if pos == 3 else 0)
        stream = self._streams.get(csid)
        if stream is None:
            if fmt != 0:
                raise RemoteProtocolError(f"chunk stream {csid} starts with a format {fmt} header, not 0")
            if len(self._streams) >= self.max_chunk_streams:
                raise RemoteProtocolError(f"more than {self.max_chunk_streams} chunk streams in use")
        header = _HEADER_SIZES[fmt]
        if len(buf) < pos + header:
            return None
        field = int.from_bytes(buf[pos : pos + 3], "big") if fmt < 3 else None
        extended = field == EXTENDED if field is not None else bool(stream and stream.extended)
        end = pos + header + (4 if extended else 0)
        if len(buf) < end:
            return None
        if stream is None:
            stream = self._streams[csid] = _ChunkStream()
        new_message = stream.partial is None
        if fmt < 3 and not new_message:
            raise RemoteProtocolError(f"chunk stream {csid}: a new message header before the last message ended")
        length, type_id, stream_id = stream.length, stream.type_id, stream.stream_id
        if fmt <= 1:
            length, type_id = int.from_bytes(buf[pos + 3 : pos + 6], "big"), buf[pos + 6]
        if fmt == 0:
            stream_id = struct.unpack_from("<I", buf, pos + 7)[0]
        if length > self.max_message_bytes:
            raise RemoteProtocolError(f"a message of {length} bytes (at most {self.max_message_bytes})")
        if new_message and self._held + length > self.max_held_bytes:
            raise RemoteProtocolError(f"more than {self.max_held_bytes} bytes held in unfinished messages")
        take = min(self._chunk_size, length - (len(stream.partial) if stream.partial is not None else 0))
        if len(buf) < end + take:
            return None
        if new_message:  # the header's values are the chunk stream's from now on
            value = struct.unpack_from(">I", buf, end - 4)[0] if extended else field
            delta = stream.delta if value is None else value
            stream.timestamp = value if fmt == 0 else (stream.timestamp + delta) & 0xFFFFFFFF
            stream.delta, stream.extended = delta, extended
            stream.length, stream.type_id, stream.stream_id = length, type_id, stream_id
            stream.partial = bytearray()
            self._held += length
        assert stream.partial is not None
        stream.partial += buf[end : end + take]
        del buf[: end + take]
        if len(stream.partial) < stream.length:
            return True
        payload, stream.partial = bytes(stream.partial), None
        self._held -= stream.length
        return Message(stream.type_id, stream.stream_id, stream.timestamp, payload, csid)


class ChunkWriter:
    """Messages → chunks: a format 0 header, then format 3 chunks, at our chunk size."""

    def __init__(self) -> None:
        self.chunk_size = DEFAULT_CHUNK_SIZE

    def write(self, message: Message) -> bytes:
        ts = message.timestamp & 0xFFFFFFFF
        extended = ts >= EXTENDED
        length = len(message.payload)
        if length > 0xFFFFFF:
            raise LocalProtocolError(f"a message of {length} bytes does not fit RTMP's 24-bit length")
        head = basic_header(0, message.csid) + min(ts, EXTENDED).to_bytes(3, "big") + length.to_bytes(3, "big")
        head += bytes([message.type_id]) + struct.pack("<I", message.stream_id)
        ext = struct.pack(">I", ts) if extended else b""
        parts = [head + ext + message.payload[: self.chunk_size]]
        more = basic_header(3, message.csid) + ext
        for offset in range(self.chunk_size, length, self.chunk_size):
            parts.append(more + message.payload[offset : offset + self.chunk_size])
        return b"".join(parts)
