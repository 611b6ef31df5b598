"""The RTMP listener (trio): a TCP port, one task per encoder connection, each a :class:`ServerConnection`.

A connection must finish its handshake, ``connect`` to the application (``live``) and ``publish`` within
:attr:`RtmpLimits.setup_timeout_s`, then send something at least every :attr:`RtmpLimits.idle_timeout_s`.
The stream key it publishes is checked by ``authorize`` (passed in: the RealtimeKit livestreams,
``rtk/ingest.py``), which answers a :class:`Publish` to write the Matroska bytes of :class:`FlvMuxer` to, or
raises :class:`PublishRefused` (the encoder gets that ``onStatus``, then the connection is closed). Garbage,
unsupported codecs and a publish that the application ends close the connection the same way; the server goes
on. At most :attr:`RtmpLimits.max_connections` connections at a time (more are closed at once).
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

import trio

from altegon_rt.rtmp.connection import (
    ConnectRequest,
    Event,
    Media,
    Metadata,
    PublishRequest,
    ServerConnection,
    State,
    Unpublished,
)
from altegon_rt.rtmp.errors import RtmpError, UnsupportedMedia
from altegon_rt.rtmp.mux import FlvMuxer

log = logging.getLogger(__name__)

RECEIVE_BYTES = 64 * 1024
CLOSE_TIMEOUT_S = 5.0


class PublishRefused(Exception):
    """A publish that cannot go on: ``code`` is the ``onStatus`` code the encoder is sent (``description`` too)."""

    def __init__(self, code: str, description: str) -> None:
        super().__init__(description)
        self.code = code
        self.description = description


class Publish(Protocol):
    """An accepted publish, as the application sees it."""

    async def write(self, data: bytes) -> None:
        """Matroska bytes to append; :class:`PublishRefused` when the stream cannot take more."""

    def ended(self) -> str | None:
        """Why the application ended the stream (the connection is then closed), or ``None`` while it runs."""

    async def close(self, error: str | None) -> None:
        """The publish is over: cleanly (``None``) or for ``error``."""


Authorize = Callable[[str, str], Awaitable[Publish]]


@dataclass(frozen=True, slots=True)
class RtmpLimits:
    setup_timeout_s: float = 10.0
    idle_timeout_s: float = 30.0
    max_connections: int = 64
    max_message_bytes: int = 8 * 1024 * 1024


class _Closed(Exception):
    """The connection is done (a refusal was sent, or the peer went away)."""


class RtmpServer:
    """See the module docstring. ``sock``: a bound TCP socket (the caller reports a port in use its own way);
    ``run`` in a nursery listens on it and answers its ``(host, port)``."""

    def __init__(self, sock: socket.socket, authorize: Authorize, *, app: str = "live",
                 limits: RtmpLimits = RtmpLimits()) -> None:  # fmt: skip
        self.sock, self.authorize, self.app, self.limits = sock, authorize, app, limits
        self.address: tuple[str, int] = sock.getsockname()[:2]
        self.connections = 0

    async def run(self, *, task_status: trio.TaskStatus[tuple[str, int]] = trio.TASK_STATUS_IGNORED) -> None:
        self.sock.listen(128)
        listener = trio.SocketListener(trio.socket.from_stdlib_socket(self.sock))
        async with listener, trio.open_nursery() as nursery:
            task_status.started(self.address)
            await trio.serve_listeners(self._handle, [listener], handler_nursery=nursery)

    async def _handle(self, stream: trio.SocketStream) -> None:
        if self.connections >= self.limits.max_connections:
            log.warning("rtmp: %d connections already; one more refused", self.connections)
            await stream.aclose()
            return
        self.connections += 1
        session = _Session(self, stream)
        try:
            await session.run()
        finally:
            self.connections -= 1
            with trio.CancelScope(shield=True), trio.move_on_after(CLOSE_TIMEOUT_S):
                await session.end()
                await stream.aclose()


class _Session:
    """One encoder's connection."""

    def __init__(self, server: RtmpServer, stream: trio.SocketStream) -> None:
        self.server, self.stream = server, stream
        self.conn = ServerConnection(max_message_bytes=server.limits.max_message_bytes)
        self.publish: Publish | None = None
        self.muxer: FlvMuxer | None = None
        self.error: str | None = None
        self.peer = _peer(stream)

    async def run(self) -> None:
        try:
            with trio.fail_after(self.server.limits.setup_timeout_s):
                while self.conn.state is not State.PUBLISHING:
                    await self._step()
            while True:
                with trio.fail_after(self.server.limits.idle_timeout_s):
                    await self._step()
        except _Closed:
            pass
        except trio.TooSlowError:
            self.error = self.error or "the encoder sent nothing in time"
            log.info("rtmp %s: timed out (%s)", self.peer, self.conn.state.name)
        except RtmpError as exc:  # garbage, or beyond our bounds
            self.error = f"protocol error: {exc}"
            log.info("rtmp %s: closed: %s", self.peer, exc)
        except (trio.BrokenResourceError, trio.ClosedResourceError, OSError) as exc:
            log.info("rtmp %s: connection lost: %s", self.peer, exc)
            self.error = self.error or "the connection was lost"

    async def _step(self) -> None:
        data = await self.stream.receive_some(RECEIVE_BYTES)
        if not data:  # the encoder went away: for many of them the normal way to stop
            raise _Closed
        self.conn.receive_data(data)
        while (event := self.conn.next_event()) is not None:
            await self._on_event(event)
        if self.publish is not None and (reason := self.publish.ended()) is not None:
            self._fail("NetStream.Failed", f"the livestream ended: {reason}")
        await self._flush()
        if self.conn.state is State.CLOSED:
            raise _Closed

    async def _flush(self) -> None:
        out = self.conn.data_to_send()
        if out:
            await self.stream.send_all(out)

    def _fail(self, code: str, description: str) -> None:
        self.error = description
        self.conn.fail(code, description)

    async def _on_event(self, event: Event) -> None:
        if self.conn.state is State.CLOSED:
            return
        if isinstance(event, ConnectRequest):
            app = event.app.split("?", 1)[0].strip("/")
            if app == self.server.app:
                self.conn.accept_connect()
            else:
                self.conn.reject_connect(f"no application {app[:64]!r} here: publish to rtmp://<host>:<port>/"
                                         f"{self.server.app}/<stream key>")  # fmt: skip
        elif isinstance(event, PublishRequest):
            await self._on_publish(event)
        elif isinstance(event, Metadata) and self.muxer is not None:
            self.muxer.metadata(event.values)
        elif isinstance(event, Media) and self.muxer is not None:
            await self._on_media(event)
        elif isinstance(event, Unpublished):
            await self.end()

    async def _on_publish(self, event: PublishRequest) -> None:
        key = event.name.split("?", 1)[0]
        if self.publish is not None:
            self.conn.reject_publish("NetStream.Publish.BadName", "this connection publishes already")
            return
        try:
            self.publish = await self.server.authorize(self.server.app, key)
        except PublishRefused as exc:
            log.info("rtmp %s: publish refused: %s", self.peer, exc.description)
            self.conn.reject_publish(exc.code, exc.description)
            return
        self.muxer = FlvMuxer()
        self.error = None
        self.conn.accept_publish()
        log.info("rtmp %s: publishing", self.peer)

    async def _on_media(self, event: Media) -> None:
        assert self.muxer is not None and self.publish is not None
        try:
            if event.kind == "video":
                data = self.muxer.video(event.timestamp, event.payload)
            else:
                data = self.muxer.audio(event.timestamp, event.payload)
            if data:
                await self.publish.write(data)
        except UnsupportedMedia as exc:
            log.info("rtmp %s: media refused: %s", self.peer, exc)
            self._fail("NetStream.Publish.Rejected", str(exc))
        except PublishRefused as exc:
            self._fail(exc.code, exc.description)

    async def end(self) -> None:
        """The publish (if any) is over: what the muxer holds is written and the application told."""
        publish, muxer = self.publish, self.muxer
        self.publish = self.muxer = None
        if publish is None:
            return
        try:
            if muxer is not None and self.error is None and (rest := muxer.finish()):
                await publish.write(rest)
        except (PublishRefused, RtmpError) as exc:
            self.error = self.error or str(exc)
        await publish.close(self.error)


def _peer(stream: trio.SocketStream) -> str:
    try:
        host, port = stream.socket.getpeername()[:2]
    except OSError:
        return "?"
    return f"{host}:{port}"
