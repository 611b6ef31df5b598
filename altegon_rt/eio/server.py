"""The trio layer of Engine.IO: serves one mount path over ASGI (long-polling and WebSocket).

:class:`EngineServer` owns its sessions and one nursery (for the heartbeat task and whatever its
:class:`SessionHandler` starts); the ASGI entry point :meth:`EngineServer.asgi` is called by hypercorn for
every request under the path. Protocol decisions are made by the pure :class:`EngineSession` and
:func:`verify_request`; this module only moves bytes and wakes tasks.

The handler (the Socket.IO layer) sees three synchronous calls: ``opened``, ``message`` and ``closed``. It
must not block in them; it queues work for its own tasks.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol
from urllib.parse import parse_qsl

import trio

from altegon_rt.eio.errors import HandshakeError, RemoteProtocolError
from altegon_rt.eio.handshake import RequestInfo, verify_request
from altegon_rt.eio.heartbeat import HeartbeatSchedule
from altegon_rt.eio.packets import decode_payload, decode_ws
from altegon_rt.eio.session import (
    Closed,
    EngineSession,
    Message,
    Pong,
    ProbeReply,
    SessionLimits,
    State,
    Transport,
    Upgraded,
)
from altegon_rt.eio.websocket import CLOSE_REASONS, FLUSH_GRACE_S, NORMAL, receive_frame, serve_websocket

log = logging.getLogger(__name__)

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

TEXT_PLAIN = b"text/plain; charset=UTF-8"
# What a session keeps of its request's headers (for CORS, and for handlers that log who connected):
# keeping all of them cost half a KiB per idle connection.
KEPT_HEADERS = frozenset({"origin", "user-agent", "x-forwarded-for", "x-real-ip", "referer", "accept-language",
                          "access-control-request-headers"})  # fmt: skip


class SessionHandler(Protocol):
    def opened(self, conn: EngineConnection) -> None: ...
    def message(self, conn: EngineConnection, data: str | bytes) -> None: ...
    def closed(self, conn: EngineConnection, reason: str) -> None: ...


class Wakeup:
    """Wakes the tasks waiting for a connection's output: a slimmer ``trio.lowlevel.ParkingLot``.

    There is almost always at most one waiter (the websocket writer, or the one poll allowed at a time),
    and idle connections are many, so it holds no object until someone waits.
    """

    __slots__ = ("_waiters",)

    def __init__(self) -> None:
        self._waiters: list[trio.lowlevel.Task] | None = None

    async def wait(self) -> None:
        task = trio.lowlevel.current_task()
        if self._waiters is None:
            self._waiters = []
        self._waiters.append(task)

        def abort(_: object) -> trio.lowlevel.Abort:
            if self._waiters is not None and task in self._waiters:
                self._waiters.remove(task)
            return trio.lowlevel.Abort.SUCCEEDED

        await trio.lowlevel.wait_task_rescheduled(abort)

    def set(self) -> None:
        waiters, self._waiters = self._waiters, None
        for task in waiters or ():
            trio.lowlevel.reschedule(task)


class EngineConnection:
    """A live session plus what the trio layer needs to wake its writer."""

    __slots__ = ("_wake", "cancel_scope", "client", "headers", "poll_busy", "post_busy", "query", "server",
                 "session", "state")  # fmt: skip

    def __init__(self, server: EngineServer, session: EngineSession, request: RequestInfo) -> None:
        self.server = server
        self.session = session
        self.query = request.query
        self.headers = request.headers
        self.client = request.client
        self._wake = Wakeup()
        self.poll_busy = False
        self.post_busy = False
        self.cancel_scope: trio.CancelScope | None = None  # the websocket's, once it is the transport
        self.state: Any = None  # owned by the handler (the Socket.IO layer keeps its sockets here)

    @property
    def sid(self) -> str:
        return self.session.sid

    def send(self, item: str | bytes) -> bool:
        """Queue one encoded packet (``"4..."`` text, or bytes for a binary message)."""
        ok = self.session.send(item)
        self._after_send(ok)
        return ok

    def send_many(self, items: list[str | bytes]) -> bool:
        ok = self.session.send_many(items)
        self._after_send(ok)
        return ok

    def _after_send(self, ok: bool) -> None:
        if not ok:
            self.server.end(self, "send buffer full: client too slow")
        else:
            self._wake.set()

    def close(self) -> None:
        """Close from the server side: the client receives a close packet."""
        self.session.server_close()
        self.server.end(self, "server closed the session")

    async def wait_for_output(self) -> None:
        if not self.session.pending and not self.session.closed:
            await self._wake.wait()

    def wake(self) -> None:
        self._wake.set()


class EngineServer:
    """Engine.IO v4 at one path; ``handler`` is told of sessions and their messages."""

    def __init__(self, name: str, limits: SessionLimits, handler: SessionHandler,
                 *, allow_origin: Callable[[str], bool] = lambda _o: True) -> None:  # fmt: skip
        self.name = name
        self.limits = limits
        self.handler = handler
        self._allow_origin = allow_origin
        self._sessions: dict[str, EngineConnection] = {}
        # Polling sessions closed with output still queued, kept until their next poll takes it (or a deadline),
        # so the client reads the final packets (a DISCONNECT, the close packet) instead of "Session ID unknown".
        self._closing: dict[str, tuple[float, EngineConnection]] = {}
        self._heartbeat = HeartbeatSchedule(limits.ping_interval_s, limits.ping_timeout_s)
        self._heartbeat_wake = trio.Event()

    def __len__(self) -> int:
        return len(self._sessions)

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """The heartbeat; returns when cancelled, closing every session on the way out."""
        task_status.started()
        try:
            await self._heartbeat_loop()
        finally:
            self.close_all()

    def close_all(self) -> None:
        for conn in list(self._sessions.values()):
            conn.close()

    # -- sessions ---------------------------------------------------------------------------------------------
    def _open(self, transport: Transport, request: RequestInfo) -> EngineConnection:
        sid = secrets.token_urlsafe(15)
        now = trio.current_time()
        conn = EngineConnection(self, EngineSession(sid, transport, self.limits, now), request)
        self._sessions[sid] = conn
        conn.send(conn.session.handshake(["websocket"] if transport is Transport.POLLING else []))
        self._heartbeat.ping_later(sid, now)
        if len(self._heartbeat) <= 2:
            self._heartbeat_wake.set()
        self.handler.opened(conn)
        return conn

    def end(self, conn: EngineConnection, reason: str) -> None:
        """Close ``conn``'s session (if still open), drop it, tell the handler once, and wake its tasks.

        A websocket gets :data:`FLUSH_GRACE_S` to write what is still queued; then its task is cancelled.
        """
        conn.session.close(reason)
        if self._sessions.get(conn.sid) is conn:
            del self._sessions[conn.sid]
            if conn.session.pending and conn.session.closed_from is not State.WEBSOCKET:
                self._keep_for_last_poll(conn)
            try:
                self.handler.closed(conn, conn.session.closed_reason)
            except Exception:
                log.exception("%s: closed handler failed for %s", self.name, conn.sid)
            if conn.cancel_scope is not None:
                conn.cancel_scope.deadline = min(conn.cancel_scope.deadline, trio.current_time() + FLUSH_GRACE_S)
        conn.wake()

    def _keep_for_last_poll(self, conn: EngineConnection) -> None:
        now = trio.current_time()
        for sid, (deadline, _) in list(self._closing.items()):
            if deadline <= now:
                del self._closing[sid]
        self._closing[conn.sid] = (now + self.limits.ping_interval_s, conn)

    def _lookup(self, sid: str) -> EngineConnection | None:
        conn = self._sessions.get(sid)
        if conn is None and sid in self._closing:
            conn = self._closing[sid][1]
        return conn

    def apply(self, conn: EngineConnection, event: object) -> None:
        """Act on what :meth:`EngineSession.receive` returned."""
        if isinstance(event, Message):
            self.handler.message(conn, event.data)
        elif isinstance(event, Pong):
            self._heartbeat.ping_later(conn.sid, trio.current_time())
        elif isinstance(event, Closed):
            self.end(conn, event.reason)

    async def _heartbeat_loop(self) -> None:
        while True:
            due = self._heartbeat.next_due()
            if due is None:
                self._heartbeat_wake = trio.Event()
                await self._heartbeat_wake.wait()
                continue
            await trio.sleep_until(due)
            now = trio.current_time()
            for sid in self._heartbeat.due_pings(now):
                conn = self._sessions.get(sid)
                if conn is not None and conn.session.ping(now):
                    conn.wake()
                    self._heartbeat.pong_deadline(sid, now)
            for sid in self._heartbeat.due_pong_checks(now):
                conn = self._sessions.get(sid)
                if conn is not None and conn.session.check_pong(now):
                    log.info("%s: session %s closed: ping timeout", self.name, sid)
                    self.end(conn, "ping timeout")

    # -- ASGI -------------------------------------------------------------------------------------------------
    async def asgi(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = _request_info(scope)
        if scope["type"] == "websocket":
            await self._websocket(request, receive, send)
            return
        if request.method == "OPTIONS":
            await _respond(send, 204, b"", request, self._allow_origin, preflight=True)
            return
        error = verify_request(request, websocket=False, session_transport=self._transport_of)
        if error is not None:
            await _respond_error(send, error, request, self._allow_origin)
            return
        if request.sid is None:
            conn = self._open(Transport.POLLING, request)
            await _respond(send, 200, conn.session.take_payload().encode(), request, self._allow_origin)
            return
        conn = self._lookup(request.sid)
        assert conn is not None, "verify_request found it"
        if request.method == "GET":
            await self._poll(conn, request, send)
            if conn.session.closed and not conn.session.pending:
                self._closing.pop(conn.sid, None)
        elif request.method == "POST":
            await self._post(conn, request, receive, send)
        else:
            await _respond_error(send, HandshakeError.BAD_REQUEST, request, self._allow_origin)

    def _transport_of(self, sid: str) -> Transport | None:
        conn = self._lookup(sid)
        return conn.session.transport if conn is not None else None

    async def _poll(self, conn: EngineConnection, request: RequestInfo, send: Send) -> None:
        if conn.poll_busy:  # two GETs at once: the reference server ends the session
            self.end(conn, "overlapping poll requests")
            await _respond_error(send, HandshakeError.BAD_REQUEST, request, self._allow_origin)
            return
        conn.poll_busy = True
        try:
            while not conn.session.pending and conn.session.state not in (State.CLOSED, State.UPGRADING):
                await conn.wait_for_output()
            # While upgrading, release the poll with a noop: what is queued goes over the websocket.
            upgrading = conn.session.state is State.UPGRADING
            body = b"6" if upgrading else conn.session.take_payload().encode() or b"1"
        finally:
            conn.poll_busy = False
        await _respond(send, 200, body, request, self._allow_origin)

    async def _post(self, conn: EngineConnection, request: RequestInfo, receive: Receive, send: Send) -> None:
        if conn.post_busy:
            self.end(conn, "overlapping post requests")
            await _respond_error(send, HandshakeError.BAD_REQUEST, request, self._allow_origin)
            return
        conn.post_busy = True
        try:
            body = await _read_body(receive, self.limits.max_payload)
        finally:
            conn.post_busy = False
        if body is None:
            self.end(conn, "payload too large")
            await _respond(send, 413, b"", request, self._allow_origin)
            return
        try:
            packets = decode_payload(body.decode("utf-8"))
        except (RemoteProtocolError, UnicodeDecodeError):
            self.end(conn, "invalid payload")
            await _respond_error(send, HandshakeError.BAD_REQUEST, request, self._allow_origin)
            return
        now = trio.current_time()
        for packet in packets:
            self.apply(conn, conn.session.receive(packet, now))
        await _respond(send, 200, b"ok", request, self._allow_origin, content_type=b"text/html")

    async def _websocket(self, request: RequestInfo, receive: Receive, send: Send) -> None:
        if (await receive())["type"] != "websocket.connect":
            return
        error = verify_request(request, websocket=True, session_transport=self._transport_of)
        if error is None and request.sid is not None and self._sessions.get(request.sid) is None:
            error = HandshakeError.UNKNOWN_SID  # closed, only waiting for its last poll
        if error is None and request.sid is not None and self._sessions[request.sid].session.state is not State.POLLING:
            error = HandshakeError.BAD_REQUEST  # already upgraded or upgrading
        if error is not None:
            await _ws_reject(send, error)
            return
        await send({"type": "websocket.accept"})
        if request.sid is None:
            conn = self._open(Transport.WEBSOCKET, request)
        else:
            conn = self._sessions[request.sid]
            if not await self._probe(conn, receive, send):
                return
        await serve_websocket(self, conn, receive, send)

    async def _probe(self, conn: EngineConnection, receive: Receive, send: Send) -> bool:
        """Run the upgrade handshake on a new websocket; ``True`` when it should serve the session now.

        A session that closed meanwhile (the application disconnected it) is served too when it still has
        output: the client has paused polling and waits for that output on this websocket.
        """
        with trio.move_on_after(self.limits.ping_timeout_s):
            while True:
                frame = await receive_frame(receive, self.limits.max_payload)
                if frame is None or isinstance(frame, int):
                    conn.session.upgrade_failed()
                    conn.wake()
                    if isinstance(frame, int):
                        await send({"type": "websocket.close", "code": frame, "reason": CLOSE_REASONS.get(frame, "")})
                    return False
                try:
                    event = conn.session.receive(decode_ws(frame), trio.current_time(), on_probe_socket=True)
                except RemoteProtocolError:
                    event = conn.session.close("invalid packet during upgrade")
                if isinstance(event, ProbeReply):
                    await send({"type": "websocket.send", "text": "3probe"})
                    conn.wake()  # a waiting poll answers noop now
                elif isinstance(event, Upgraded):
                    conn.wake()
                    return True
                elif isinstance(event, Closed):
                    self.end(conn, event.reason)
                elif conn.session.closed and conn.session.closed_from is State.UPGRADING:
                    # Closed by the application while the client had paused polling for the upgrade: the
                    # final packets can only reach it here, once it has sent its upgrade packet.
                    return conn.session.pending
                if conn.session.closed:
                    await send({"type": "websocket.close", "code": NORMAL})
                    return False
        conn.session.upgrade_failed()  # the client never finished the upgrade: stay on polling
        conn.wake()
        await send({"type": "websocket.close", "code": NORMAL})
        return False


def _request_info(scope: Scope) -> RequestInfo:
    query: Mapping[str, str] = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
    headers = {name: value.decode("latin-1") for raw, value in scope.get("headers", [])
               if (name := raw.decode("latin-1").lower()) in KEPT_HEADERS}  # fmt: skip
    client = scope.get("client") or ("", 0)
    method = scope.get("method", "GET")
    return RequestInfo(method=method, query=query, headers=headers, client=str(client[0]))


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    """The request body, or ``None`` once it is longer than ``limit`` (the rest is not read)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b""
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _cors_headers(request: RequestInfo, allow_origin: Callable[[str], bool]) -> list[tuple[bytes, bytes]]:
    origin = request.headers.get("origin")
    if not origin or not allow_origin(origin):
        return []
    return [(b"access-control-allow-origin", origin.encode("latin-1")),
            (b"access-control-allow-credentials", b"true"), (b"vary", b"Origin")]  # fmt: skip


async def _respond(send: Send, status: int, body: bytes, request: RequestInfo,
                   allow_origin: Callable[[str], bool], *, content_type: bytes = TEXT_PLAIN,
                   preflight: bool = False) -> None:  # fmt: skip
    headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode()),
               (b"cache-control", b"no-store"), *_cors_headers(request, allow_origin)]  # fmt: skip
    if preflight:
        wanted = request.headers.get("access-control-request-headers", "content-type")
        headers += [(b"access-control-allow-methods", b"GET, POST, OPTIONS"),
                    (b"access-control-allow-headers", wanted.encode("latin-1"))]  # fmt: skip
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _respond_error(send: Send, error: HandshakeError, request: RequestInfo,
                         allow_origin: Callable[[str], bool]) -> None:  # fmt: skip
    body = f'{{"code":{int(error)},"message":"{error.message}"}}'.encode()
    await _respond(send, error.status, body, request, allow_origin, content_type=b"application/json")


async def _ws_reject(send: Send, error: HandshakeError) -> None:
    body = f'{{"code":{int(error)},"message":"{error.message}"}}'.encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "websocket.http.response.start", "status": error.status, "headers": headers})
    await send({"type": "websocket.http.response.body", "body": body})
