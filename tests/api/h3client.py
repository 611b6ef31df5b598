"""A minimal HTTP/3 client for tests, built on aioquic's asyncio API.

aioquic is asyncio-based while the test suite runs under trio, so :func:`fetch_all` is a plain synchronous
function that runs its own event loop; call it from a thread (``trio.to_thread.run_sync``). Every step is
bounded by one overall timeout, so a server that never answers fails the test instead of hanging it.
The client socket is bound to the loopback address of the server's family, never to a wildcard address.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket
import ssl
from collections.abc import Sequence
from dataclasses import dataclass, field

from aioquic.asyncio.protocol import QuicConnectionProtocol
from aioquic.h3.connection import H3_ALPN, H3Connection
from aioquic.h3.events import DataReceived, H3Event, HeadersReceived
from aioquic.quic.configuration import QuicConfiguration
from aioquic.quic.connection import QuicConnection
from aioquic.quic.events import ConnectionTerminated, QuicEvent


@dataclass(frozen=True)
class H3Request:
    method: str
    path: str
    headers: Sequence[tuple[str, str]] = ()
    body: bytes = b""


@dataclass
class H3Response:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k == name.lower()), None)


@dataclass
class _Pending:
    done: asyncio.Future[None]
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    body: bytearray = field(default_factory=bytearray)


class _H3Protocol(QuicConnectionProtocol):
    def __init__(self, quic: QuicConnection) -> None:
        super().__init__(quic)
        self._http = H3Connection(self._quic)
        self._pending: dict[int, _Pending] = {}

    async def request(self, authority: str, req: H3Request) -> H3Response:
        stream_id = self._quic.get_next_available_stream_id()
        pending = _Pending(asyncio.get_running_loop().create_future())
        self._pending[stream_id] = pending
        headers = [
            (b":method", req.method.encode()),
            (b":scheme", b"https"),
            (b":authority", authority.encode()),
            (b":path", req.path.encode()),
            *((k.lower().encode(), v.encode()) for k, v in req.headers),
        ]
        if req.body:
            headers.append((b"content-length", str(len(req.body)).encode()))
        self._http.send_headers(stream_id, headers, end_stream=not req.body)
        if req.body:
            self._http.send_data(stream_id, req.body, end_stream=True)
        self.transmit()
        await pending.done
        status = int(dict(pending.headers)[b":status"])
        response_headers = [(k.decode(), v.decode()) for k, v in pending.headers if not k.startswith(b":")]
        return H3Response(status, response_headers, bytes(pending.body))

    def quic_event_received(self, event: QuicEvent) -> None:
        if isinstance(event, ConnectionTerminated):
            error = ConnectionError(f"QUIC connection terminated: {event.error_code} {event.reason_phrase}")
            for pending in self._pending.values():
                if not pending.done.done():
                    pending.done.set_exception(error)
        for h3_event in self._http.handle_event(event):
            self._h3_event_received(h3_event)

    def _h3_event_received(self, event: H3Event) -> None:
        if not isinstance(event, HeadersReceived | DataReceived):
            return
        pending = self._pending.get(event.stream_id)
        if pending is None or pending.done.done():
            return
        if isinstance(event, HeadersReceived):
            pending.headers.extend(event.headers)
        else:
            pending.body.extend(event.data)
        if event.stream_ended:
            pending.done.set_result(None)


def client_configuration(cafile: str, server_name: str) -> QuicConfiguration:
    """A client configuration that verifies the server against ``cafile`` (and only that)."""
    return QuicConfiguration(
        is_client=True,
        alpn_protocols=H3_ALPN,
        cafile=cafile,
        verify_mode=ssl.CERT_REQUIRED,
        server_name=server_name,
        idle_timeout=10.0,
    )


async def _fetch_all(
    host: str, port: int, configuration: QuicConfiguration, requests: Sequence[H3Request]
) -> list[H3Response]:
    loop = asyncio.get_running_loop()
    family = socket.AF_INET6 if ipaddress.ip_address(host).version == 6 else socket.AF_INET
    local_host = "::1" if family == socket.AF_INET6 else "127.0.0.1"
    transport, protocol = await loop.create_datagram_endpoint(
        lambda: _H3Protocol(QuicConnection(configuration=configuration)), local_addr=(local_host, 0), family=family
    )
    try:
        protocol.connect((host, port))
        await protocol.wait_connected()
        authority = f"[{host}]:{port}" if family == socket.AF_INET6 else f"{host}:{port}"
        return [await protocol.request(authority, req) for req in requests]
    finally:
        # Close the connection properly (the server keeps a QUIC connection until it is closed or times
        # out), but never wait long for that: this also runs when the caller's timeout has cancelled us.
        protocol.close()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(protocol.wait_closed(), 1.0)
        transport.close()


def fetch_all(
    host: str,
    port: int,
    cafile: str,
    requests: Sequence[H3Request],
    *,
    server_name: str | None = None,
    timeout_s: float = 10.0,
) -> list[H3Response]:
    """Send ``requests`` one after another over one HTTP/3 connection; the responses, in order."""
    configuration = client_configuration(cafile, server_name or host)

    async def bounded() -> list[H3Response]:
        return await asyncio.wait_for(_fetch_all(host, port, configuration, requests), timeout_s)

    return asyncio.run(bounded())
