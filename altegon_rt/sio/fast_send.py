"""A cheaper write path for hypercorn's trio connections: try the socket first, trio's machinery only if needed.

hypercorn writes every websocket frame with ``trio.SocketStream.send_all`` under a ``trio.Lock`` in a
shielded cancel scope. For the many small frames of a Socket.IO fan-out that machinery, not the system
call, was 60% of the server's CPU (py-spy; docs/performance.md). :class:`FastSendTCPServer` first offers
the bytes to the non-blocking socket directly; only what the kernel does not take at once (or anything on
TLS) goes the usual way, under the same lock, so bytes are never reordered.

hypercorn has no setting for its connection class, so :func:`install` replaces the name its trio worker
uses; hypercorn's version is pinned in pyproject.toml and tests/sio check the class is in use.
"""

from __future__ import annotations

import socket

import hypercorn.trio.run
import trio
from hypercorn.events import Event, RawData
from hypercorn.trio.tcp_server import TCPServer


class FastSendTCPServer(TCPServer):
    async def protocol_send(self, event: Event) -> None:
        if isinstance(event, RawData) and not self.send_lock.locked():
            stream = self.stream
            if isinstance(stream, trio.SocketStream):
                raw: socket.socket = stream.socket._sock  # type: ignore[attr-defined]
                try:
                    sent = raw.send(event.data)
                except BlockingIOError:
                    sent = 0
                except OSError:
                    sent = 0  # let the usual path see the error and close the connection
                if sent == len(event.data):
                    return
                event = RawData(event.data[sent:])
        await super().protocol_send(event)


def install() -> None:
    """Make hypercorn's trio worker use :class:`FastSendTCPServer` for new connections."""
    hypercorn.trio.run.TCPServer = FastSendTCPServer  # type: ignore[misc]


def installed() -> bool:
    return hypercorn.trio.run.TCPServer is FastSendTCPServer
