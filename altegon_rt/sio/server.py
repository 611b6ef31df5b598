"""A Socket.IO v5 server on one Engine.IO mount path: namespaces, handlers, rooms, acks, auth on CONNECT.

Inbound packets are decoded as they arrive and queued per connection; one dispatcher task per busy
connection runs their handlers in order (so a client's chat lines and whiteboard strokes keep their order),
and exits when the queue is empty, so an idle connection costs no task. All such tasks live in the
server's nursery. Outbound, an emit is encoded once and queued on every target connection.

Handlers are ``async def handler(socket, *args)``; what they return is the ack (a tuple for several
arguments). Raising :class:`SocketError` acks ``{success: false, error: {code, message}}``, or, when the
client asked for no ack, emits ``error`` ``{event, code, message}`` to it.
"""

from __future__ import annotations

import logging
import secrets
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import trio

from altegon_rt.eio.errors import RemoteProtocolError
from altegon_rt.eio.server import EngineConnection, EngineServer, Wakeup
from altegon_rt.eio.session import SessionLimits
from altegon_rt.sio.packets import Decoder, Packet, PacketType, encode, encode_event
from altegon_rt.sio.rooms import Rooms
from altegon_rt.sio.socket import Socket, SocketClosed, send_items

log = logging.getLogger(__name__)

Handler = Callable[..., Awaitable[Any]]
LINGER_S = 2.0  # how long a connection's dispatcher waits for more packets before its task ends


class SocketError(Exception):
    """Raised by a handler: the client's ack gets ``{success:false, error:{code, message}}``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def as_ack(self) -> dict[str, Any]:
        return {"success": False, "error": {"code": self.code, "message": self.message}}


class ConnectRefused(Exception):
    """Raised by authentication or a connect handler: the client gets CONNECT_ERROR with this message."""

    def __init__(self, message: str, data: Mapping[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.data = dict(data) if data else None


@dataclass(frozen=True, slots=True)
class ConnectRequest:
    namespace: str
    auth: Mapping[str, Any]
    query: Mapping[str, str]
    headers: Mapping[str, str]
    client: str


@dataclass(frozen=True, slots=True)
class SioLimits:
    events_per_second: float = 100.0
    event_burst: float = 200.0
    max_queued_events: int = 256
    connect_timeout_s: float = 45.0


Authenticate = Callable[[ConnectRequest], Awaitable[Any]]


class Namespace:
    """Handlers and rooms of one namespace."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.handlers: dict[str, Handler] = {}
        self.connect_handler: Handler | None = None
        self.disconnect_handler: Handler | None = None
        self.rooms = Rooms()
        self.sockets: dict[str, Socket] = {}


@dataclass(slots=True)
class _Closed:
    """Queued when the connection ends (``socket`` None: all its sockets) or one socket was disconnected."""

    reason: str
    socket: Socket | None = None


_EMPTY: deque[Any] = deque(maxlen=0)  # shared by idle connections: a deque costs 600 bytes


class _Link:
    """The Socket.IO side of one Engine.IO connection."""

    __slots__ = ("conn", "decoder", "dispatching", "inbox", "more", "sockets", "tokens", "updated")

    def __init__(self, conn: EngineConnection, burst: float, now: float) -> None:
        self.conn = conn
        self.decoder = Decoder()
        self.sockets: dict[str, Socket] = {}
        self.inbox: deque[Packet | _Closed] = _EMPTY  # replaced by a deque of its own on first use
        self.dispatching = False
        self.more: Wakeup | None = None  # set while the dispatcher lingers for more packets
        self.tokens = burst
        self.updated = now


class SocketServer:
    """Socket.IO at one path (``name`` is for logs); ``authenticate`` decides who may CONNECT."""

    def __init__(self, name: str, session_limits: SessionLimits, limits: SioLimits | None = None,
                 *, authenticate: Authenticate | None = None,
                 allow_origin: Callable[[str], bool] = lambda _o: True) -> None:  # fmt: skip
        self.name = name
        self.limits = limits or SioLimits()
        self.engine = EngineServer(name, session_limits, self, allow_origin=allow_origin)
        self._authenticate = authenticate
        self._namespaces: dict[str, Namespace] = {"/": Namespace("/")}
        self._nursery: trio.Nursery | None = None
        self._connect_deadlines: deque[tuple[float, EngineConnection]] = deque()
        self._deadline_wake = trio.Event()

    # -- registration -----------------------------------------------------------------------------------------
    def namespace(self, name: str = "/") -> Namespace:
        return self._namespaces.setdefault(name, Namespace(name))

    def on(self, event: str, namespace: str = "/") -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            ns = self.namespace(namespace)
            if event == "connect":
                ns.connect_handler = handler
            elif event == "disconnect":
                ns.disconnect_handler = handler
            else:
                ns.handlers[event] = handler
            return handler

        return register

    # -- sending ----------------------------------------------------------------------------------------------
    def emit(self, event: str, *args: Any, to: str | None = None, skip_sid: str | None = None,
             namespace: str = "/") -> int:  # fmt: skip
        """Send to one socket id, a room, or (``to=None``) the whole namespace; returns how many were queued."""
        ns = self._namespaces.get(namespace)
        if ns is None:
            return 0
        if to is None:
            targets: Any = ns.sockets.keys()
        elif to in ns.sockets:
            targets = (to,)
        else:
            targets = ns.rooms.members(to)
        items = encode_event(namespace, event, args)
        sent = 0
        for sid in list(targets):
            socket = ns.sockets.get(sid)
            if socket is not None and sid != skip_sid and send_items(socket.conn, items):
                sent += 1
        return sent

    def socket(self, sid: str, namespace: str = "/") -> Socket | None:
        ns = self._namespaces.get(namespace)
        return ns.sockets.get(sid) if ns else None

    def room_members(self, room: str, namespace: str = "/") -> frozenset[str]:
        ns = self._namespaces.get(namespace)
        return ns.rooms.members(room) if ns else frozenset()

    def rooms(self, namespace: str = "/") -> list[str]:
        """Every room of the namespace with at least one member."""
        ns = self._namespaces.get(namespace)
        return ns.rooms.names() if ns else []

    def enter_room(self, sid: str, room: str, namespace: str = "/") -> bool:
        socket = self.socket(sid, namespace)
        if socket is not None:
            socket.join(room)
        return socket is not None

    def leave_room(self, sid: str, room: str, namespace: str = "/") -> None:
        socket = self.socket(sid, namespace)
        if socket is not None:
            socket.leave(room)

    async def call(self, sid: str, event: str, *args: Any, namespace: str = "/", wait_s: float = 10.0) -> list[Any]:
        """Emit to one socket and wait for its ack (:class:`AckTimeout`, :class:`SocketClosed` otherwise)."""
        socket = self.socket(sid, namespace)
        if socket is None:
            raise SocketClosed(sid)
        return await socket.call(event, *args, wait_s=wait_s)

    def disconnect(self, sid: str, namespace: str = "/", *, close_connection: bool = False) -> bool:
        socket = self.socket(sid, namespace)
        if socket is not None:
            socket.disconnect(close_connection=close_connection)
        return socket is not None

    # -- lifetime ---------------------------------------------------------------------------------------------
    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            await nursery.start(self.engine.run)
            nursery.start_soon(self._connect_timeouts)
            task_status.started()

    def close_all(self) -> None:
        """Close every connection (the clients get a close packet): the first step of a graceful stop."""
        self.engine.close_all()

    async def _connect_timeouts(self) -> None:
        """Close Engine.IO connections that never connect to a namespace (the reference's connectTimeout)."""
        while True:
            if not self._connect_deadlines:
                self._deadline_wake = trio.Event()
                await self._deadline_wake.wait()
                continue
            deadline, conn = self._connect_deadlines[0]
            await trio.sleep_until(deadline)
            self._connect_deadlines.popleft()
            link: _Link | None = conn.state
            if link is not None and not link.sockets and not conn.session.closed:
                log.info("%s: closing %s: no namespace connected in time", self.name, conn.sid)
                conn.close()

    # -- Engine.IO callbacks (synchronous: decode and queue only) ---------------------------------------------
    def opened(self, conn: EngineConnection) -> None:
        now = trio.current_time()
        conn.state = _Link(conn, self.limits.event_burst, now)
        self._connect_deadlines.append((now + self.limits.connect_timeout_s, conn))
        self._deadline_wake.set()

    def message(self, conn: EngineConnection, data: str | bytes) -> None:
        link: _Link = conn.state
        try:
            packet = link.decoder.feed(data)
        except (RemoteProtocolError, RecursionError) as exc:
            log.info("%s: closing %s: %s", self.name, conn.sid, exc)
            conn.close()
            return
        if packet is None:
            return
        if packet.type is PacketType.ACK:
            socket = link.sockets.get(packet.namespace)
            if socket is not None and packet.id is not None:
                socket.resolve(packet.id, packet.data)
            return
        if packet.type is PacketType.CONNECT_ERROR:
            return  # only servers send it
        if packet.type is PacketType.EVENT and not self._take_token(link):
            if packet.id is not None:
                refusal = SocketError("rate_limited", "too many events: slow down")
                send_items(conn, encode(Packet(PacketType.ACK, packet.namespace, [refusal.as_ack()], packet.id)))
            return
        self._enqueue(link, packet)

    def closed(self, conn: EngineConnection, reason: str) -> None:
        link: _Link | None = conn.state
        if link is not None and link.sockets:
            self._enqueue(link, _Closed(reason), force=True)

    def _take_token(self, link: _Link) -> bool:
        now = trio.current_time()
        limits = self.limits
        link.tokens = min(limits.event_burst, link.tokens + (now - link.updated) * limits.events_per_second)
        link.updated = now
        if link.tokens < 1.0:
            return False
        link.tokens -= 1.0
        return True

    def _enqueue(self, link: _Link, item: Packet | _Closed, *, force: bool = False) -> None:
        if len(link.inbox) >= self.limits.max_queued_events and not force:
            log.info("%s: closing %s: too many queued events", self.name, link.conn.sid)
            link.conn.close()
            return
        if link.inbox is _EMPTY:
            link.inbox = deque()
        link.inbox.append(item)
        if link.more is not None:
            link.more.set()
        elif not link.dispatching and self._nursery is not None:
            link.dispatching = True
            try:
                self._nursery.start_soon(self._dispatch, link)
            except RuntimeError:  # the nursery is closing: the server is stopping
                link.dispatching = False

    # -- dispatch ---------------------------------------------------------------------------------------------
    async def _dispatch(self, link: _Link) -> None:
        """Run the connection's queued packets in order; linger a moment for more before the task ends.

        Lingering matters for request/ack traffic: waking a parked task is several times cheaper than
        starting one for every event, and an idle connection still ends up with no task.
        """
        try:
            while True:
                while link.inbox:
                    await self._handle(link, link.inbox.popleft())
                if link.conn.session.closed:
                    return
                link.more = Wakeup()
                with trio.move_on_after(LINGER_S):
                    await link.more.wait()
                link.more = None
                if not link.inbox:
                    return
        finally:
            link.dispatching = False
            link.more = None
            if not link.inbox:
                link.inbox = _EMPTY

    async def _handle(self, link: _Link, item: Packet | _Closed) -> None:
        if isinstance(item, _Closed) and item.socket is not None:
            await self._run_disconnect_handler(item.socket, item.reason)
        elif isinstance(item, _Closed):
            for socket in list(link.sockets.values()):
                await self._leave(socket, item.reason)
        elif item.type is PacketType.CONNECT:
            await self._connect(link, item)
        elif item.type is PacketType.DISCONNECT:
            socket = link.sockets.get(item.namespace)
            if socket is not None:
                await self._leave(socket, "client namespace disconnect")
        else:
            socket = link.sockets.get(item.namespace)
            if socket is not None and socket.connected:
                await self._event(socket, item)

    async def _connect(self, link: _Link, packet: Packet) -> None:
        ns = self._namespaces.get(packet.namespace)
        if ns is None:
            self._refuse(link, packet.namespace, ConnectRefused("Invalid namespace"))
            return
        if packet.namespace in link.sockets:
            return
        conn = link.conn
        request = ConnectRequest(packet.namespace, packet.data or {}, conn.query, conn.headers, conn.client)
        try:
            principal = await self._authenticate(request) if self._authenticate else None
            socket = Socket(secrets.token_urlsafe(15), ns.name, conn, ns.rooms, principal, self._detached)
            if ns.connect_handler is not None:
                await ns.connect_handler(socket, dict(request.auth))
        except ConnectRefused as exc:
            self._refuse(link, packet.namespace, exc)
            return
        except Exception:
            log.exception("%s: connect handler failed", self.name)
            self._refuse(link, packet.namespace, ConnectRefused("internal error; see the server log"))
            return
        if conn.session.closed:
            return
        link.sockets[ns.name] = socket
        ns.sockets[socket.sid] = socket
        send_items(conn, encode(Packet(PacketType.CONNECT, ns.name, {"sid": socket.sid})))

    def _refuse(self, link: _Link, namespace: str, exc: ConnectRefused) -> None:
        body: dict[str, Any] = {"message": exc.message}
        if exc.data is not None:
            body["data"] = exc.data
        send_items(link.conn, encode(Packet(PacketType.CONNECT_ERROR, namespace, body)))

    async def _event(self, socket: Socket, packet: Packet) -> None:
        name, *args = packet.data
        ns = self._namespaces[socket.namespace]
        handler = ns.handlers.get(str(name))
        failure: SocketError | None = None
        result: Any = None
        if handler is None:
            failure = SocketError("unknown_event", f"no handler for event {name!r} on {self.name}")
        else:
            try:
                result = await handler(socket, *args)
            except SocketError as exc:
                failure = exc
            except Exception:
                log.exception("%s: handler for %r failed", self.name, name)
                failure = SocketError("internal_error", "the server failed to handle this event")
        if packet.id is not None:
            if failure is not None:
                result = failure.as_ack()
            socket.ack(packet.id, list(result) if isinstance(result, tuple) else ([] if result is None else [result]))
        elif failure is not None:
            # No ack to answer: tell the sender with an `error` event naming what it sent.
            socket.emit("error", {"event": str(name), "code": failure.code, "message": failure.message})

    def _detached(self, socket: Socket, reason: str) -> None:
        """A server-side ``socket.disconnect()``: drop it now, run the disconnect handler in the dispatcher."""
        link: _Link = socket.conn.state
        if link.sockets.get(socket.namespace) is socket:
            del link.sockets[socket.namespace]
            self._drop(socket)
            self._enqueue(link, _Closed(reason, socket), force=True)

    async def _leave(self, socket: Socket, reason: str) -> None:
        link: _Link = socket.conn.state
        if link.sockets.get(socket.namespace) is socket:
            del link.sockets[socket.namespace]
            self._drop(socket)
            await self._run_disconnect_handler(socket, reason)

    async def _run_disconnect_handler(self, socket: Socket, reason: str) -> None:
        handler = self._namespaces[socket.namespace].disconnect_handler
        if handler is not None:
            try:
                await handler(socket, reason)
            except Exception:
                log.exception("%s: disconnect handler failed", self.name)

    def _drop(self, socket: Socket) -> None:
        ns = self._namespaces[socket.namespace]
        if ns.sockets.get(socket.sid) is socket:
            del ns.sockets[socket.sid]
        socket.detach()
