"""ASGI middleware: request bodies are size-limited, and early answers stay readable for the client.

Answering (a 413, or a 401 before the body was needed) while the client is still sending leaves the client
blocked on a full socket, since nobody reads any more; closing at once can reset the connection before the
client reads the answer. So whatever the app did not read of the body is read and thrown away, up to
``drain_cap`` bytes, and such an answer carries ``Connection: close``. Past the cap we stop reading: a client
sending that much gets no more of our bandwidth. Works for bodies with a Content-Length and chunked ones.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from typing import Any

import trio

from altegon_rt.api.jsonio import error_body

BODY_STREAM = "altegon.body_stream"
Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]


class BodyLimit:
    """``max_bytes`` for every request, except those matching an override ``(method, path regex, max)``.

    Overridden routes are *streamed*: the app sees an empty body, and reads the real one from
    ``scope[BODY_STREAM]``, an async iterator of chunks that pulls from the server only when asked. Quart reads
    every body as fast as the network delivers it, whatever the handler does with it; an upload written to disk
    more slowly would pile up in memory. Pulling here keeps the server's own flow control in force.
    """

    def __init__(
        self, app: App, max_bytes: int, drain_cap: int, overrides: tuple[tuple[str, str, int], ...] = ()
    ) -> None:
        self._app = app
        self._max = max_bytes
        self._cap = drain_cap
        self._overrides = tuple((method, re.compile(pattern), limit) for method, pattern, limit in overrides)

    def limit_for(self, scope: Scope) -> tuple[int, bool]:
        """The body limit for this request, and whether its body is streamed to the handler."""
        for method, pattern, limit in self._overrides:
            if scope.get("method") == method and pattern.fullmatch(scope.get("path", "")):
                return limit, True
        return self._max, False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        limit, streamed = self.limit_for(scope)
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await self._drain(receive, 0)
            await self._reject(send, limit, close=_is_http1(scope))
            return
        await _LimitedExchange(self, limit, scope, receive, send).run(streamed)

    async def _drain(self, receive: Receive, seen: int) -> None:
        while seen <= self._cap:
            message = await receive()
            if message["type"] != "http.request":
                return
            seen += len(message.get("body", b""))
            if not message.get("more_body", False):
                return

    async def _reject(self, send: Send, limit: int, *, close: bool) -> None:
        request_id = secrets.token_hex(8)
        body = error_body("payload_too_large", f"request body is larger than {limit} bytes")
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"x-request-id", request_id.encode()),
        ]
        if close:  # HTTP/1.x only: HTTP/2 and HTTP/3 forbid connection-specific headers
            headers.append((b"connection", b"close"))
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body, "more_body": False})


class _LimitedExchange:
    """One request: its body counted as it arrives, and drained if the app answered without all of it."""

    def __init__(self, limit: BodyLimit, max_bytes: int, scope: Scope, receive: Receive, send: Send) -> None:
        self._limit = limit
        self._max = max_bytes
        self._scope = scope
        self._receive = receive
        self._send = send
        self._seen = 0
        self._over = False
        self._started = False
        self._streamed = False
        self._http1 = _is_http1(scope)
        # A request without a body (no Content-Length or a zero one, not chunked) has nothing left to drain.
        self._body_done = not _may_have_body(scope)

    async def run(self, streamed: bool) -> None:
        self._streamed = streamed
        if streamed:
            scope = {**self._scope, BODY_STREAM: self._chunks()}
            await self._limit._app(scope, _ended_body(), self.send)
        else:
            await self._limit._app(self._scope, self.receive, self.send)
        if self._over and not self._started:
            await self._limit._reject(self._send, self._max, close=self._http1)
        if not self._body_done:
            await self._limit._drain(self._receive, self._seen)

    async def receive(self) -> Message:
        # Once the body is complete (or cut), this waits in the server for the disconnect: Quart calls
        # receive() until it sees one, so answering from here without waiting would spin the event loop.
        message = await self._receive()
        if message["type"] != "http.request" or self._body_done:
            self._body_done = True  # the client went away, or this is past the end of the body
            return message
        self._seen += len(message.get("body", b""))
        self._body_done = not message.get("more_body", False)
        if self._seen > self._max:
            self._over = True
            if not self._body_done:
                await self._limit._drain(self._receive, self._seen)
                self._body_done = True
            # The app sees an empty end of body; whatever it answers is replaced by the 413.
            return {"type": "http.request", "body": b"", "more_body": False}
        return message

    async def _chunks(self) -> AsyncIterator[bytes]:
        """The body, pulled from the server chunk by chunk as the handler asks for it."""
        while not self._body_done:
            message = await self.receive()
            if message["type"] != "http.request":
                return  # the client went away: the handler sees a body that ends early
            if message.get("body"):
                yield message["body"]

    async def send(self, message: Message) -> None:
        if self._over:
            if message["type"] == "http.response.start" and not self._started:
                self._started = True
                await self._limit._reject(self._send, self._max, close=self._http1)
            return
        if message["type"] == "http.response.start":
            self._started = True
            if not self._body_done and self._http1:
                if self._streamed:
                    # hypercorn closes an HTTP/1.1 connection the moment a "Connection: close" answer ends, so
                    # what the client is still sending must be read first: a client busy writing reads nothing,
                    # and would stall until its timeout instead of seeing the early answer (a 507 say).
                    # Quart reads other bodies itself, and they are small.
                    await self._limit._drain(self._receive, self._seen)
                    self._body_done = True
                message = {**message, "headers": [*message.get("headers", []), (b"connection", b"close")]}
        await self._send(message)


def _ended_body() -> Receive:
    """A receive for the app of a streamed request: an empty body at once, then nothing until cancelled."""
    delivered = False

    async def receive() -> Message:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await trio.sleep_forever()  # Quart waits here for a disconnect; it cancels this when the answer is sent
        raise AssertionError("unreachable")

    return receive


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _is_http1(scope: Scope) -> bool:
    return str(scope.get("http_version", "1.1")).startswith("1")


def _may_have_body(scope: Scope) -> bool:
    """False when the request certainly has no body; HTTP/2 and HTTP/3 may send DATA without a length."""
    if not _is_http1(scope):
        return True
    headers = scope.get("headers", [])
    if any(name == b"transfer-encoding" for name, _ in headers):
        return True
    if not any(name == b"content-length" for name, _ in headers):
        return False  # HTTP/1.x: neither chunked nor a Content-Length means no body
    length = _content_length(scope)
    return length is None or length > 0  # an unreadable length: assume there is a body
