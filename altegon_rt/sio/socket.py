"""One client's connection to one namespace (a Socket.IO "socket"): emit, call with ack, rooms, session.

A :class:`Socket` writes straight into its Engine.IO connection's bounded buffer; it never waits on the
network. Acks the server asks for (:meth:`Socket.call`) are matched by id when the client's ACK arrives.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import trio

from altegon_rt.sio.packets import Packet, PacketType, encode, encode_event

if TYPE_CHECKING:
    from altegon_rt.eio.server import EngineConnection
    from altegon_rt.sio.rooms import Rooms


class AckTimeout(Exception):
    """The client did not answer a :meth:`Socket.call` in time."""


class SocketClosed(Exception):
    """The socket disconnected before answering."""


class _AckWaiter:
    __slots__ = ("done", "result")

    def __init__(self) -> None:
        self.done = trio.Event()
        self.result: list[Any] | None = None


def send_items(conn: EngineConnection, items: list[str | bytes]) -> bool:
    """Queue a Socket.IO packet (text plus attachments) as Engine.IO message packets."""
    text = "4" + items[0]  # type: ignore[operator]  # the first item is always the text
    if len(items) == 1:
        return conn.send(text)
    return conn.send_many([text, *items[1:]])


class Socket:
    """What handlers receive as their first argument."""

    __slots__ = ("_acks", "_next_ack", "_on_leave", "_rooms", "conn", "connected", "namespace", "principal",
                 "session", "sid")  # fmt: skip

    def __init__(self, sid: str, namespace: str, conn: EngineConnection, rooms: Rooms, principal: Any,
                 on_leave: Callable[[Socket, str], None]) -> None:  # fmt: skip
        self.sid = sid
        self.namespace = namespace
        self.conn = conn
        self.principal = principal
        self.session: dict[str, Any] = {}
        self.connected = True
        self._rooms = rooms
        self._acks: dict[int, _AckWaiter] = {}
        self._next_ack = 0
        self._on_leave = on_leave

    @property
    def client_address(self) -> str:
        return self.conn.client

    @property
    def query(self) -> dict[str, str]:
        return dict(self.conn.query)

    def emit(self, event: str, *args: Any) -> bool:
        """Send an event to this client; ``False`` when it is gone or too far behind."""
        if not self.connected:
            return False
        return send_items(self.conn, encode_event(self.namespace, event, args))

    async def call(self, event: str, *args: Any, wait_s: float = 10.0) -> list[Any]:
        """Send an event and wait for the client's ack; its arguments come back as a list."""
        if not self.connected:
            raise SocketClosed(self.sid)
        ack_id = self._next_ack
        self._next_ack += 1
        waiter = _AckWaiter()
        self._acks[ack_id] = waiter
        try:
            send_items(self.conn, encode_event(self.namespace, event, args, ack_id))
            with trio.move_on_after(wait_s):
                await waiter.done.wait()
            if waiter.result is None:
                if not waiter.done.is_set():
                    raise AckTimeout(f"no ack for {event!r} within {wait_s} s")
                raise SocketClosed(self.sid)
            return waiter.result
        finally:
            self._acks.pop(ack_id, None)

    def ack(self, ack_id: int, args: list[Any]) -> None:
        """Answer the client's request ``ack_id`` (used by the server for handler results)."""
        if self.connected:
            send_items(self.conn, encode(Packet(PacketType.ACK, self.namespace, args, ack_id)))

    def resolve(self, ack_id: int, args: list[Any]) -> None:
        waiter = self._acks.get(ack_id)
        if waiter is not None and not waiter.done.is_set():
            waiter.result = args
            waiter.done.set()

    def join(self, room: str) -> None:
        if self.connected:
            self._rooms.join(room, self.sid)

    def leave(self, room: str) -> None:
        self._rooms.leave(room, self.sid)

    @property
    def rooms(self) -> frozenset[str]:
        return self._rooms.rooms_of(self.sid)

    def disconnect(self, *, close_connection: bool = False) -> None:
        """Leave the namespace (the client gets DISCONNECT); optionally close the whole connection."""
        if self.connected:
            send_items(self.conn, encode(Packet(PacketType.DISCONNECT, self.namespace)))
            self._on_leave(self, "server namespace disconnect")
        if close_connection:
            self.conn.close()

    def detach(self) -> None:
        """Mark gone and wake everyone waiting on an ack (called once by the server)."""
        self.connected = False
        self._rooms.leave_all(self.sid)
        for waiter in self._acks.values():
            waiter.done.set()
