"""The websocket transport of one session: a reader (this task) and a writer task, over ASGI messages.

The writer sleeps until the session has output, then writes every queued item as one frame. hypercorn's
``send`` waits while the TCP buffer is full, so a slow client makes the session's buffer grow until
:class:`EngineSession` closes it: memory stays bounded by ``max_buffered_bytes``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import trio

from altegon_rt.eio.errors import RemoteProtocolError
from altegon_rt.eio.packets import decode_ws

if TYPE_CHECKING:
    from altegon_rt.eio.server import EngineConnection, EngineServer, Receive, Send

FLUSH_GRACE_S = 2.0
TOO_BIG = 1009
GOING_AWAY = 1001
NORMAL = 1000
PROTOCOL_ERROR = 1002
CLOSE_REASONS = {TOO_BIG: "message larger than maxPayload", PROTOCOL_ERROR: "invalid Engine.IO packet"}


async def receive_frame(receive: Receive, max_payload: int) -> str | bytes | int | None:
    """The next frame's data; ``None`` when the client went away, an int close code for a bad frame."""
    message: dict[str, Any] = await receive()
    if message["type"] != "websocket.receive":
        return None
    data = message.get("text")
    if data is None:
        data = message.get("bytes") or b""
    if len(data) > max_payload:
        return TOO_BIG
    return data


async def serve_websocket(server: EngineServer, conn: EngineConnection, receive: Receive, send: Send) -> None:
    """Read frames until the client or the session ends; the writer drains the session meanwhile.

    The connection's cancel scope is this nursery's: once the session closes, the server gives it
    :data:`FLUSH_GRACE_S` to write what is queued (a close packet), so a client that stopped reading cannot
    hold the task forever.
    """
    peer_gone = False
    close_code = NORMAL

    async def read(cancel: trio.CancelScope) -> None:
        nonlocal peer_gone, close_code
        result = await _reader(server, conn, receive)
        if result is None:
            peer_gone = True
            server.end(conn, "transport close")
            cancel.cancel()
        else:
            close_code = result
            server.end(conn, "invalid frame" if result == PROTOCOL_ERROR else "payload too large")

    async with trio.open_nursery() as nursery:
        conn.cancel_scope = nursery.cancel_scope
        nursery.start_soon(read, nursery.cancel_scope)
        await _writer(conn, send)
        nursery.cancel_scope.cancel()
    if not peer_gone:
        with trio.move_on_after(FLUSH_GRACE_S):
            await send({"type": "websocket.close", "code": close_code, "reason": CLOSE_REASONS.get(close_code, "")})


async def _reader(server: EngineServer, conn: EngineConnection, receive: Receive) -> int | None:
    """``None`` when the client went away, else the close code for the bad frame it sent."""
    max_payload = server.limits.max_payload
    session = conn.session
    while True:
        frame = await receive_frame(receive, max_payload)
        if frame is None:
            return None
        if isinstance(frame, int):
            return frame
        try:
            packet = decode_ws(frame)
        except RemoteProtocolError:
            return PROTOCOL_ERROR
        server.apply(conn, session.receive(packet, trio.current_time()))


async def _writer(conn: EngineConnection, send: Send) -> None:
    """Write queued items until the session is closed and flushed."""
    session = conn.session
    while True:
        await conn.wait_for_output()
        for item in session.take():
            if isinstance(item, str):
                await send({"type": "websocket.send", "text": item})
            else:
                await send({"type": "websocket.send", "bytes": item})
        if session.closed and not session.pending:
            return
