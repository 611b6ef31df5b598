"""A minimal RTMP publisher built from our chunk writer and AMF0 codec, for driving the server side with exact
bytes (the real client of the end-to-end tests is FFmpeg's, through PyAV)."""

from __future__ import annotations

import socket
import struct
from typing import Any

from altegon_rt.rtmp import amf0
from altegon_rt.rtmp.chunks import ChunkReader, ChunkWriter, Message
from altegon_rt.rtmp.connection import HANDSHAKE_SIZE, ServerConnection

C1 = (bytes(8) + bytes(range(256)) * 6)[:1536]


def c0c1() -> bytes:
    return b"\x03" + C1[:HANDSHAKE_SIZE]


class Publisher:
    """Commands and media as an encoder sends them; answers read back as messages."""

    def __init__(self) -> None:
        self.writer = ChunkWriter()
        self.reader = ChunkReader()

    def command(self, *values: Any, stream_id: int = 0, csid: int = 3) -> bytes:
        return self.writer.write(Message(20, stream_id, 0, amf0.encode(*values), csid))

    def media(self, kind: str, timestamp: int, body: bytes, stream_id: int = 1) -> bytes:
        return self.writer.write(
            Message(8 if kind == "audio" else 9, stream_id, timestamp, body, 4 if kind == "audio" else 6)
        )

    def connect(self, app: str = "live") -> bytes:
        return self.command("connect", 1.0, {"app": app, "type": "nonprivate", "tcUrl": f"rtmp://h/{app}"})

    def publish_sequence(self, key: str) -> bytes:
        return (
            self.command("releaseStream", 2.0, None, key)
            + self.command("FCPublish", 3.0, None, key)
            + self.command("createStream", 4.0, None)
            + self.command("publish", 5.0, None, key, "live", stream_id=1)
        )

    def answers(self, data: bytes) -> list[Message]:
        """Messages in the server's bytes (after the handshake), applying its Set Chunk Size."""
        self.reader.feed(data)
        out = []
        while (message := self.reader.next_message()) is not None:
            if message.type_id == 1:
                self.reader.chunk_size = struct.unpack(">I", message.payload)[0]
            out.append(message)
        return out


def commands(messages: list[Message]) -> list[list[Any]]:
    return [amf0.decode(m.payload) for m in messages if m.type_id == 20]


def connected_pair(key: str = "key") -> tuple[ServerConnection, Publisher, list[Message]]:
    """A server connection taken through handshake, connect and publish (the publish not yet decided)."""
    server, client = ServerConnection(random_bytes=bytes(HANDSHAKE_SIZE - 8)), Publisher()
    server.receive_data(c0c1())
    handshake = server.data_to_send()
    assert len(handshake) == 1 + 2 * HANDSHAKE_SIZE
    server.receive_data(handshake[1 : 1 + HANDSHAKE_SIZE] + client.connect())
    assert server.next_event() is not None  # ConnectRequest
    server.accept_connect()
    server.receive_data(client.publish_sequence(key))
    assert server.next_event() is not None  # PublishRequest
    return server, client, client.answers(server.data_to_send())


def recv_until_closed(sock: socket.socket, timeout_s: float = 10.0) -> bytes:
    """Everything the server sends until it closes the connection (``socket.timeout`` if it does not)."""
    sock.settimeout(timeout_s)
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data
