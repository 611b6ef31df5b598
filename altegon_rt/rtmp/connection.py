"""One server-side RTMP connection, sans-IO (Adobe RTMP specification 1.0, §5.2, §5.4, §6.2, §7.2).

Feed it the bytes the encoder sends (:meth:`ServerConnection.receive_data`), take its events
(:meth:`~ServerConnection.next_event`) and send what it answers (:meth:`~ServerConnection.data_to_send`).
While a ``connect`` or ``publish`` waits for the application's decision, what follows it is kept unread (an
encoder may send its next commands and media without waiting); the decision reads on.

- Handshake (§5.2.2-5.2.4), the plain one that OBS and ffmpeg accept: C0+C1 in, S0+S1+S2 out (S1's version
  field zero: no digest), C2 in (not checked: encoders fill it differently).
- Protocol control (§5.4): Set Chunk Size and Abort in; Window Acknowledgement Size, Set Peer Bandwidth and
  Set Chunk Size out after ``connect``; Acknowledgements out every window of bytes the encoder asked for.
  User control (§6.2): Stream Begin out on publish, Ping Response to a Ping Request.
- Commands (§7.2, AMF0; AMF3 messages whose body is AMF0 after the format byte are read too): ``connect`` →
  :class:`ConnectRequest`; ``releaseStream``, ``FCPublish``, ``createStream`` answered ``_result``;
  ``publish`` → :class:`PublishRequest`; ``FCUnpublish``, ``deleteStream``, ``closeStream`` →
  :class:`Unpublished`. The application decides with :meth:`~ServerConnection.accept_connect`,
  :meth:`~ServerConnection.reject_connect`, :meth:`~ServerConnection.accept_publish`,
  :meth:`~ServerConnection.reject_publish`; answers are ``_result``/``_error`` and ``onStatus``.
- Media (§7.1.4-7.1.5) of the stream being published → :class:`Media`; ``@setDataFrame``/``onMetaData`` →
  :class:`Metadata`; aggregate messages (type 22) are split into their FLV tags.

Anything malformed or beyond the bounds raises :class:`~altegon_rt.rtmp.errors.RemoteProtocolError`; the
connection is then of no further use.
"""

from __future__ import annotations

import collections
import enum
import os
import struct
from dataclasses import dataclass
from typing import Any

from altegon_rt.rtmp import amf0
from altegon_rt.rtmp.chunks import ChunkReader, ChunkWriter, Message
from altegon_rt.rtmp.errors import LocalProtocolError, RemoteProtocolError

HANDSHAKE_SIZE = 1536
RTMP_VERSION = 3
OUR_CHUNK_SIZE = 4096
WINDOW_ACK_SIZE = 2_500_000
MAX_STREAMS = 8  # createStream per connection
MAX_EVENTS = 1024  # events not yet taken: the caller must take them as it feeds bytes
CSID_CONTROL, CSID_COMMAND, CSID_STATUS = 2, 3, 5
SET_CHUNK_SIZE, ABORT, ACK, USER_CONTROL, WINDOW_ACK, PEER_BANDWIDTH = 1, 2, 3, 4, 5, 6
AUDIO, VIDEO, DATA_AMF3, COMMAND_AMF3, DATA_AMF0, COMMAND_AMF0, AGGREGATE = 8, 9, 15, 17, 18, 20, 22
STREAM_BEGIN, PING_REQUEST, PING_RESPONSE = 0, 6, 7


class State(enum.Enum):
    HANDSHAKE = enum.auto()  # waiting for C0 and C1
    HANDSHAKE_ACK = enum.auto()  # S0-S2 sent, waiting for C2
    CONNECT = enum.auto()  # waiting for the connect command
    CONNECTING = enum.auto()  # ConnectRequest given out, waiting for accept/reject
    READY = enum.auto()  # connected: streams may be created and published
    PUBLISH_PENDING = enum.auto()  # PublishRequest given out, waiting for accept/reject
    PUBLISHING = enum.auto()
    CLOSED = enum.auto()  # refused: nothing more is read


# The commands each state takes (others are answered _error, or refused outright before connect); in the states
# that wait for the application, nothing is read.
_STREAM_SETUP = frozenset({"releaseStream", "FCPublish", "createStream", "_checkbw", "getStreamLength"})
_STREAM_END = frozenset({"FCUnpublish", "deleteStream", "closeStream"})
COMMANDS: dict[State, frozenset[str]] = {
    State.CONNECT: frozenset({"connect"}),
    State.READY: _STREAM_SETUP | _STREAM_END | {"publish"},
    State.PUBLISHING: _STREAM_SETUP | _STREAM_END,
}


_WAITING = frozenset({State.CONNECTING, State.PUBLISH_PENDING, State.CLOSED})


@dataclass(frozen=True, slots=True)
class ConnectRequest:
    app: str
    tc_url: str


@dataclass(frozen=True, slots=True)
class PublishRequest:
    stream_id: int
    name: str  # the stream key (what follows the app in the URL)
    kind: str  # "live", "record" or "append"


@dataclass(frozen=True, slots=True)
class Metadata:
    values: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Media:
    kind: str  # "audio" or "video"
    timestamp: int  # ms (the DTS for video)
    payload: bytes  # an FLV tag body (flv.py)


@dataclass(frozen=True, slots=True)
class Unpublished:
    stream_id: int


Event = ConnectRequest | PublishRequest | Metadata | Media | Unpublished


def status(level: str, code: str, description: str) -> dict[str, Any]:
    return {"level": level, "code": code, "description": description}


class ServerConnection:
    """See the module docstring."""

    def __init__(self, *, random_bytes: bytes | None = None, max_message_bytes: int | None = None) -> None:
        self.state = State.HANDSHAKE
        self._random = random_bytes if random_bytes is not None else os.urandom(HANDSHAKE_SIZE - 8)
        self._buffer = bytearray()  # handshake bytes
        limits = {"max_message_bytes": max_message_bytes} if max_message_bytes else {}
        self._reader = ChunkReader(**limits)  # type: ignore[arg-type]
        self._writer = ChunkWriter()
        self._out: list[bytes] = []
        self._events: collections.deque[Event] = collections.deque()
        self._streams: set[int] = set()
        self._next_stream = 1
        self.publishing: int | None = None  # the message stream being published
        self.publish_name = ""
        self.received = 0
        self._acked = 0
        self._peer_window = 0
        self.ignored = 0  # messages we do not use (counted, not raised)

    # -- the caller's side --------------------------------------------------------------------------------------
    def receive_data(self, data: bytes) -> None:
        if self.state is State.CLOSED:
            return
        self.received += len(data)
        if self.state in (State.HANDSHAKE, State.HANDSHAKE_ACK):
            self._buffer += data
            data = self._handshake()
            if not data:
                return
        self._reader.feed(data)
        self._process()
        if self._peer_window and self.received - self._acked >= self._peer_window:
            self._acked = self.received
            self._control(ACK, struct.pack(">I", self.received & 0xFFFFFFFF))

    def _process(self) -> None:
        """Read messages until the bytes run out, or a request waits for the application's decision (what an
        encoder sends after it stays in the reader until then)."""
        while self.state not in _WAITING and (message := self._reader.next_message()) is not None:
            self._dispatch(message)
            if len(self._events) > MAX_EVENTS:
                raise RemoteProtocolError("too many messages at once")

    def next_event(self) -> Event | None:
        return self._events.popleft() if self._events else None

    def data_to_send(self) -> bytes:
        out = b"".join(self._out)
        self._out.clear()
        return out

    def accept_connect(self) -> None:
        self._expect(State.CONNECTING)
        self._control(WINDOW_ACK, struct.pack(">I", WINDOW_ACK_SIZE))
        self._control(PEER_BANDWIDTH, struct.pack(">IB", WINDOW_ACK_SIZE, 2))
        self._control(SET_CHUNK_SIZE, struct.pack(">I", OUR_CHUNK_SIZE))
        self._writer.chunk_size = OUR_CHUNK_SIZE
        properties = {"fmsVer": "FMS/3,0,1,123", "capabilities": 31.0}
        info = {**status("status", "NetConnection.Connect.Success", "Connection succeeded."), "objectEncoding": 0.0}
        self._command(0, "_result", 1.0, properties, info)
        self.state = State.READY
        self._process()

    def reject_connect(self, description: str) -> None:
        self._expect(State.CONNECTING)
        self._command(0, "_error", 1.0, None, status("error", "NetConnection.Connect.Rejected", description))
        self.state = State.CLOSED

    def accept_publish(self) -> None:
        self._expect(State.PUBLISH_PENDING)
        assert self.publishing is not None
        self._control(USER_CONTROL, struct.pack(">HI", STREAM_BEGIN, self.publishing))
        self._on_status(self.publishing, "status", "NetStream.Publish.Start", f"{self.publish_name} is now published.")
        self.state = State.PUBLISHING
        self._process()

    def reject_publish(self, code: str, description: str) -> None:
        """Refuse the publish (``NetStream.Publish.BadName`` for an unknown key); the caller should close."""
        self._expect(State.PUBLISH_PENDING)
        assert self.publishing is not None
        self._on_status(self.publishing, "error", code, description)
        self.publishing = None
        self.state = State.CLOSED

    def fail(self, code: str, description: str) -> None:
        """End the publishing with an error status (media refused, the stream ended); the caller should close."""
        if self.publishing is not None:
            self._on_status(self.publishing, "error", code, description)
        self.publishing = None
        self.state = State.CLOSED

    # -- handshake ----------------------------------------------------------------------------------------------
    def _handshake(self) -> bytes:
        """Handshake bytes consumed; what follows C2 is answered (the chunk stream's first bytes)."""
        if self.state is State.HANDSHAKE:
            if self._buffer[:1] and self._buffer[0] != RTMP_VERSION:
                raise RemoteProtocolError(f"RTMP version {self._buffer[0]} is not 3 (RTMPE and others: not taken)")
            if len(self._buffer) < 1 + HANDSHAKE_SIZE:
                return b""
            c1 = bytes(self._buffer[1 : 1 + HANDSHAKE_SIZE])
            del self._buffer[: 1 + HANDSHAKE_SIZE]
            s1 = bytes(8) + self._random  # time 0, then zero: the plain handshake
            s2 = c1[:4] + bytes(4) + c1[8:]  # C1 echoed, its time and our (zero) read time
            self._out.append(bytes([RTMP_VERSION]) + s1 + s2)
            self.state = State.HANDSHAKE_ACK
        if len(self._buffer) < HANDSHAKE_SIZE:
            return b""
        rest = bytes(self._buffer[HANDSHAKE_SIZE:])
        self._buffer = bytearray()
        self.state = State.CONNECT
        return rest

    # -- messages -----------------------------------------------------------------------------------------------
    def _dispatch(self, message: Message) -> None:
        kind, body = message.type_id, message.payload
        if kind == SET_CHUNK_SIZE:
            self._reader.chunk_size = _u32(body, "Set Chunk Size") & 0x7FFFFFFF
        elif kind == ABORT:
            self._reader.abort(_u32(body, "Abort Message"))
        elif kind == WINDOW_ACK:
            self._peer_window = _u32(body, "Window Acknowledgement Size")
        elif kind == USER_CONTROL:
            if len(body) >= 6 and struct.unpack_from(">H", body)[0] == PING_REQUEST:
                self._control(USER_CONTROL, struct.pack(">H", PING_RESPONSE) + body[2:6])
        elif kind in (COMMAND_AMF0, COMMAND_AMF3):
            self._on_command(message.stream_id, amf0.decode(_amf0_body(kind, body, COMMAND_AMF3)))
        elif kind in (DATA_AMF0, DATA_AMF3):
            self._on_data(message.stream_id, _amf0_body(kind, body, DATA_AMF3))
        elif kind in (AUDIO, VIDEO):
            self._on_media(message.stream_id, "audio" if kind == AUDIO else "video", message.timestamp, body)
        elif kind == AGGREGATE:
            self._on_aggregate(message)
        else:  # Acknowledgement, Set Peer Bandwidth, shared objects, unknown types
            self.ignored += 1

    def _on_media(self, stream_id: int, kind: str, timestamp: int, body: bytes) -> None:
        if self.state is State.PUBLISHING and stream_id == self.publishing:
            self._events.append(Media(kind, timestamp, body))
        else:
            self.ignored += 1

    def _on_data(self, stream_id: int, body: bytes) -> None:
        if self.state is not State.PUBLISHING or stream_id != self.publishing:
            self.ignored += 1
            return
        values = amf0.decode(body)
        if values[:1] == ["@setDataFrame"]:
            values = values[1:]
        if len(values) >= 2 and values[0] == "onMetaData" and isinstance(values[1], dict):
            self._events.append(Metadata(dict(values[1])))
        else:
            self.ignored += 1

    def _on_aggregate(self, message: Message) -> None:
        """Type 22: FLV tags back to back (tag header, body, previous tag size), timestamps from the first's."""
        body, pos, first = message.payload, 0, None
        while pos + 11 <= len(body):
            kind, size = body[pos], int.from_bytes(body[pos + 1 : pos + 4], "big")
            stamp = int.from_bytes(body[pos + 4 : pos + 7], "big") | body[pos + 7] << 24
            if pos + 11 + size + 4 > len(body):
                raise RemoteProtocolError("an aggregate message's tag runs past its end")
            first = stamp if first is None else first
            tag = body[pos + 11 : pos + 11 + size]
            timestamp = (message.timestamp + stamp - first) & 0xFFFFFFFF
            if kind in (AUDIO, VIDEO):
                self._on_media(message.stream_id, "audio" if kind == AUDIO else "video", timestamp, tag)
            elif kind == DATA_AMF0:
                self._on_data(message.stream_id, tag)
            pos += 11 + size + 4
        if pos != len(body):
            raise RemoteProtocolError("an aggregate message ends inside a tag header")

    def _on_command(self, stream_id: int, values: list[Any]) -> None:
        if len(values) < 2 or not isinstance(values[0], str) or not isinstance(values[1], float):
            raise RemoteProtocolError("a command without a name and a transaction id")
        name, txid, args = values[0], values[1], values[2:]
        if name not in COMMANDS.get(self.state, frozenset()):
            if self.state is State.CONNECT:
                raise RemoteProtocolError(f"the first command must be connect, not {name[:64]!r}")
            if txid:
                description = f"{name[:64]} is not taken here: this server only takes publishing"
                self._command(
                    stream_id, "_error", txid, None, status("error", "NetConnection.Call.Failed", description)
                )
            self.ignored += 1
            return
        getattr(self, "_cmd_" + name)(stream_id, txid, args)

    def _cmd_connect(self, stream_id: int, txid: float, args: list[Any]) -> None:
        command = args[0] if args and isinstance(args[0], dict) else {}
        app, tc_url = command.get("app"), command.get("tcUrl")
        self._events.append(
            ConnectRequest(app if isinstance(app, str) else "", tc_url if isinstance(tc_url, str) else "")
        )
        self.state = State.CONNECTING

    def _answer(self, stream_id: int, txid: float, *values: Any) -> None:
        if txid:
            self._command(stream_id, "_result", txid, None, *values)

    def _cmd_releaseStream(self, stream_id: int, txid: float, args: list[Any]) -> None:
        self._answer(stream_id, txid, amf0.UNDEFINED)

    _cmd_FCPublish = _cmd_releaseStream
    _cmd__checkbw = _cmd_releaseStream
    _cmd_getStreamLength = _cmd_releaseStream

    def _cmd_createStream(self, stream_id: int, txid: float, args: list[Any]) -> None:
        if len(self._streams) >= MAX_STREAMS:
            raise RemoteProtocolError(f"more than {MAX_STREAMS} streams created on one connection")
        new = self._next_stream
        self._next_stream += 1
        self._streams.add(new)
        self._answer(stream_id, txid, float(new))

    def _cmd_publish(self, stream_id: int, txid: float, args: list[Any]) -> None:
        name = args[1] if len(args) > 1 and isinstance(args[1], str) else ""
        kind = args[2] if len(args) > 2 and isinstance(args[2], str) else "live"
        if stream_id not in self._streams:
            self._on_status(stream_id, "error", "NetStream.Publish.BadName", "publish on a stream never created")
            return
        self.publishing, self.publish_name = stream_id, name
        self.state = State.PUBLISH_PENDING
        self._events.append(PublishRequest(stream_id, name, kind))

    def _cmd_FCUnpublish(self, stream_id: int, txid: float, args: list[Any]) -> None:
        self._answer(stream_id, txid, amf0.UNDEFINED)
        if self.publishing is not None:
            self._unpublish()

    def _cmd_deleteStream(self, stream_id: int, txid: float, args: list[Any]) -> None:
        target = args[1] if len(args) > 1 and isinstance(args[1], float) else float(stream_id)
        self._streams.discard(int(target))
        if self.publishing is not None and int(target) == self.publishing:
            self._unpublish()

    def _cmd_closeStream(self, stream_id: int, txid: float, args: list[Any]) -> None:
        if self.publishing is not None and stream_id == self.publishing:
            self._unpublish()

    def _unpublish(self) -> None:
        assert self.publishing is not None
        self._events.append(Unpublished(self.publishing))
        self._on_status(
            self.publishing, "status", "NetStream.Unpublish.Success", f"{self.publish_name} is now unpublished."
        )
        self.publishing = None
        self.state = State.READY

    # -- output -------------------------------------------------------------------------------------------------
    def _expect(self, state: State) -> None:
        if self.state is not state:
            raise LocalProtocolError(f"cannot do this in state {self.state.name} (only in {state.name})")

    def _control(self, type_id: int, payload: bytes) -> None:
        self._out.append(self._writer.write(Message(type_id, 0, 0, payload, CSID_CONTROL)))

    def _command(self, stream_id: int, *values: Any) -> None:
        self._out.append(self._writer.write(Message(COMMAND_AMF0, stream_id, 0, amf0.encode(*values), CSID_COMMAND)))

    def _on_status(self, stream_id: int, level: str, code: str, description: str) -> None:
        body = amf0.encode("onStatus", 0.0, None, status(level, code, description))
        self._out.append(self._writer.write(Message(COMMAND_AMF0, stream_id, 0, body, CSID_STATUS)))


def _u32(body: bytes, what: str) -> int:
    if len(body) < 4:
        raise RemoteProtocolError(f"a {what} message of {len(body)} bytes (4 expected)")
    return int(struct.unpack_from(">I", body)[0])


def _amf0_body(kind: int, body: bytes, amf3_kind: int) -> bytes:
    """AMF3 command and data messages start with a format byte; their AMF0 bodies are what encoders send."""
    if kind == amf3_kind:
        if not body or body[0] != 0:
            raise RemoteProtocolError("an AMF3-encoded command or data message (only AMF0 bodies are taken)")
        return body[1:]
    return body
