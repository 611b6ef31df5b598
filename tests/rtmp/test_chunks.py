"""The chunk stream: hand-made chunks of every header format, interleaving, extended timestamps, the three-way
feed, bounds, and a hypothesis fuzz."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from altegon_rt.rtmp.chunks import ChunkReader, ChunkWriter, Message, basic_header
from altegon_rt.rtmp.errors import LocalProtocolError, RemoteProtocolError


def read_all(reader: ChunkReader, data: bytes, *, byte_by_byte: bool = False) -> list[Message]:
    out = []
    pieces = [data[i : i + 1] for i in range(len(data))] if byte_by_byte else [data]
    for piece in pieces:
        reader.feed(piece)
        while (message := reader.next_message()) is not None:
            out.append(message)
    return out


def header0(csid: int, ts: int, length: int, type_id: int, stream_id: int) -> bytes:
    return (
        basic_header(0, csid)
        + ts.to_bytes(3, "big")
        + length.to_bytes(3, "big")
        + bytes([type_id])
        + struct.pack("<I", stream_id)
    )


def test_the_four_header_formats_and_their_timestamps() -> None:
    # Adobe's §5.3.2.1 example: audio of 32 bytes every 20 ms on one chunk stream.
    data = (
        header0(3, 1000, 32, 8, 1) + b"a" * 32
        + basic_header(2, 3) + (20).to_bytes(3, "big") + b"b" * 32
        + basic_header(3, 3) + b"c" * 32
        + basic_header(1, 3) + (10).to_bytes(3, "big") + (2).to_bytes(3, "big") + b"\x09" + b"dd"
        + basic_header(3, 3) + b"ee"
    )  # fmt: skip
    messages = read_all(ChunkReader(), data)
    assert [(m.timestamp, m.type_id, m.stream_id, m.payload[:1]) for m in messages] == [
        (1000, 8, 1, b"a"), (1020, 8, 1, b"b"), (1040, 8, 1, b"c"), (1050, 9, 1, b"d"), (1060, 9, 1, b"e")]  # fmt: skip


def test_a_format_3_message_after_a_format_0_one_adds_its_timestamp_again() -> None:
    # What FFmpeg writes: after a type 0 header the timestamp field itself is the "delta".
    data = header0(4, 23, 1, 8, 1) + b"x" + basic_header(3, 4) + b"y"
    assert [m.timestamp for m in read_all(ChunkReader(), data)] == [23, 46]


def test_interleaved_chunk_streams_and_a_new_chunk_size() -> None:
    reader = ChunkReader()
    reader.chunk_size = 4
    video, audio = b"V" * 10, b"A" * 6
    data = (
        header0(6, 0, 10, 9, 1) + video[:4] + header0(4, 0, 6, 8, 1) + audio[:4]
        + basic_header(3, 6) + video[4:8] + basic_header(3, 4) + audio[4:] + basic_header(3, 6) + video[8:]
    )  # fmt: skip
    assert [(m.csid, m.payload) for m in read_all(reader, data)] == [(4, audio), (6, video)]


def test_extended_timestamps_also_on_continuation_chunks() -> None:
    big = 0x01000000 + 5
    data = (
        basic_header(0, 5) + b"\xff\xff\xff" + (6).to_bytes(3, "big") + b"\x09" + struct.pack("<I", 1)
        + struct.pack(">I", big) + b"abcd" + basic_header(3, 5) + struct.pack(">I", big) + b"ef"
    )  # fmt: skip
    reader = ChunkReader()
    reader.chunk_size = 4
    assert read_all(reader, data) == [Message(9, 1, big, b"abcdef", 5)]
    writer = ChunkWriter()
    writer.chunk_size = 4
    assert writer.write(Message(9, 1, big, b"abcdef", 5)) == data


@pytest.mark.parametrize("csid", [2, 63, 64, 319, 320, 65599])
def test_one_two_and_three_byte_basic_headers(csid: int) -> None:
    message = Message(20, 0, 7, b"hello" * 50, csid)
    data = ChunkWriter().write(message)
    assert len(basic_header(0, csid)) == (1 if csid < 64 else 2 if csid < 320 else 3)
    assert read_all(ChunkReader(), data) == [message]


def test_written_messages_read_back_whole_byte_by_byte_and_with_trailing_bytes() -> None:
    writer = ChunkWriter()
    writer.chunk_size = 100
    messages = [Message(9, 1, t * 33, bytes([t]) * (t * 37), 6) for t in range(1, 12)]
    data = b"".join(writer.write(m) for m in messages)
    assert read_all(_sized(100), data) == messages
    assert read_all(_sized(100), data, byte_by_byte=True) == messages
    reader = _sized(100)
    assert read_all(reader, data + b"\x06\x00") == messages and reader.buffered == 2


def _sized(size: int) -> ChunkReader:
    reader = ChunkReader()
    reader.chunk_size = size
    return reader


def test_abort_drops_the_unfinished_message() -> None:
    reader = ChunkReader()
    reader.chunk_size = 4
    assert read_all(reader, header0(6, 0, 8, 9, 1) + b"1234") == []
    reader.abort(6)
    assert read_all(reader, header0(6, 5, 2, 9, 1) + b"ok") == [Message(9, 1, 5, b"ok", 6)]


def test_zero_length_messages() -> None:
    assert read_all(ChunkReader(), header0(3, 1, 0, 20, 0)) == [Message(20, 0, 1, b"", 3)]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (basic_header(1, 3) + bytes(7), "chunk stream 3 starts with a format 1 header, not 0"),
        (header0(3, 0, 9_000_000, 9, 1), "a message of 9000000 bytes (at most 8388608)"),
        (header0(3, 0, 200, 9, 1) + b"x" * 128 + header0(3, 0, 5, 9, 1),
         "chunk stream 3: a new message header before the last message ended"),
    ],
)  # fmt: skip
def test_bad_chunks_are_remote_errors(data: bytes, message: str) -> None:
    with pytest.raises(RemoteProtocolError) as caught:
        read_all(ChunkReader(), data)
    assert str(caught.value) == message


def test_bounds_on_chunk_streams_held_bytes_and_chunk_size() -> None:
    reader = ChunkReader(max_chunk_streams=2, max_held_bytes=100)
    with pytest.raises(RemoteProtocolError, match="more than 2 chunk streams in use"):
        read_all(reader, b"".join(header0(c, 0, 1, 9, 1) + b"x" for c in (3, 4, 5)))
    reader = ChunkReader(max_held_bytes=100)
    reader.chunk_size = 10
    with pytest.raises(RemoteProtocolError, match="more than 100 bytes held in unfinished messages"):
        read_all(reader, header0(3, 0, 60, 9, 1) + b"x" * 10 + header0(4, 0, 60, 9, 1) + b"y" * 10)
    with pytest.raises(RemoteProtocolError, match="chunk size 0 is not in 1-2147483647"):
        reader.chunk_size = 0
    with pytest.raises(RemoteProtocolError, match="chunk size 9000000 is over our limit of 8388608"):
        reader.chunk_size = 9_000_000
    with pytest.raises(LocalProtocolError):
        basic_header(0, 1)


@given(st.binary(max_size=600), st.integers(1, 300))
def test_garbage_is_a_remote_error_or_messages(data: bytes, chunk_size: int) -> None:
    reader = ChunkReader(max_message_bytes=4096, max_held_bytes=8192, max_chunk_streams=8)
    reader.chunk_size = chunk_size
    try:
        messages = read_all(reader, data)
    except RemoteProtocolError:
        return
    assert all(len(m.payload) <= 4096 for m in messages)
    assert reader.buffered <= len(data)
