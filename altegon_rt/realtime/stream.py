"""The HLS server socket (``/stream/socket.io/``): a broadcaster's MediaRecorder chunks in, HLS out.

Events (Live Streaming document, "HLS Server socket"):

- ``startStream`` {title, mimeType} → ``{streamId}`` (a UUID). ``mimeType`` is what MediaRecorder was made
  with: WebM (or Matroska) with VP8, VP9, AV1 or H.264 video and/or Opus audio, or fragmented MP4 with H.264,
  VP9 or AV1 video and/or AAC or Opus audio (``media/source.py``).
- ``videoBlob`` {streamId, data} (binary): the next chunk, in order. Acked with ``{success: true}`` when
  the client asks for an ack.
- ``endStream`` {streamId} → ``endStream`` {streamId} to every client of the socket.
- ``getStreams`` → ``[{streamId, title, active}]``: live streams and ended ones still kept.

Only the stream's owner (the connection that started it, or the same signed-in user on another
connection) may send chunks to it or end it. Problems found while processing a stream reach its sender as
an ``error`` event {event, streamId, code, message}, like the socket's other errors. Viewers play
``/hls/{streamId}/index.m3u8`` (``api/hls.py``); the media work is ``altegon_rt.media.live``'s.
"""

from __future__ import annotations

from typing import Any

from altegon_rt.auth.principal import Principal
from altegon_rt.media.live import LiveStream, LiveStreams, StreamError
from altegon_rt.media.source import parse_mime_type
from altegon_rt.realtime.payloads import payload_object, required_text, text
from altegon_rt.sio.server import SocketError, SocketServer
from altegon_rt.sio.socket import Socket

MAX_TITLE = 200
MAX_MIME = 200


def check_mime_type(value: str) -> str:
    """MediaRecorder's mimeType, if it is one we can ingest; else :class:`SocketError` saying what we take."""
    try:
        parse_mime_type(value)
    except ValueError as exc:
        raise SocketError("unsupported_mime_type", str(exc)) from None
    return value.strip()


def _user_id(sock: Socket) -> str | None:
    principal: Principal | None = sock.principal
    return principal.user_id if principal is not None else None


class StreamSocket:
    """The handlers of the HLS server socket; see the module docstring."""

    def __init__(self, server: SocketServer, streams: LiveStreams) -> None:
        self.server = server
        self.streams = streams
        streams.on_error = self._stream_error
        streams.on_ended = self._stream_ended
        on = server.on
        on("startStream")(self.start_stream)
        on("videoBlob")(self.video_blob)
        on("endStream")(self.end_stream)
        on("getStreams")(self.get_streams)

    def _own(self, sock: Socket, payload: Any) -> LiveStream:
        body = payload_object(payload)
        stream_id = required_text(body, "streamId", max_length=64)
        stream = self.streams.get(stream_id)
        if stream is None:
            raise SocketError("not_found", f"stream {stream_id} does not exist")
        if not stream.owned_by(sock.sid, _user_id(sock)):
            raise SocketError("forbidden", "only the stream's broadcaster may send to it or end it")
        return stream

    async def start_stream(self, sock: Socket, payload: Any = None) -> dict[str, Any]:
        body = payload_object(payload)
        title = text(body, "title", max_length=MAX_TITLE, required=False) or "Untitled stream"
        mime_type = check_mime_type(required_text(body, "mimeType", max_length=MAX_MIME))
        try:
            stream = await self.streams.start(title, mime_type, sock.sid, _user_id(sock))
        except StreamError as exc:
            raise SocketError(exc.code, exc.message) from None
        return {"streamId": stream.id}

    async def video_blob(self, sock: Socket, payload: Any = None) -> dict[str, Any]:
        stream = self._own(sock, payload)
        data = payload.get("data")
        if isinstance(data, bytearray | memoryview):
            data = bytes(data)
        if not isinstance(data, bytes) or not data:
            raise SocketError("invalid_field", "field 'data' must be a non-empty binary chunk")
        stream.owner_sid = sock.sid  # errors go to the connection that sends now
        try:
            await self.streams.append(stream, data)
        except StreamError as exc:
            raise SocketError(exc.code, exc.message) from None
        return {"success": True}

    async def end_stream(self, sock: Socket, payload: Any = None) -> dict[str, Any]:
        stream = self._own(sock, payload)
        if not stream.active:
            raise SocketError("stream_ended", f"stream {stream.id} has ended already")
        await self.streams.end(stream, "ended by its broadcaster")
        return {"streamId": stream.id}

    async def get_streams(self, sock: Socket, payload: Any = None) -> list[dict[str, Any]]:
        return self.streams.list()

    def _stream_error(self, stream: LiveStream, code: str, message: str) -> None:
        event = {"event": "videoBlob", "streamId": stream.id, "code": code, "message": message}
        self.server.emit("error", event, to=stream.owner_sid)

    def _stream_ended(self, stream: LiveStream) -> None:
        self.server.emit("endStream", {"streamId": stream.id})
