"""The SFU's UDP task: one trio socket shared by every WebRtcTransport (mediasoup's WebRtcServer), and its timers.

Routing a datagram: STUN goes to the transport whose local ufrag opens its USERNAME (RFC 8445 §7.2.2; this is
how a new peer address finds its transport, and a check from a known address that names another ufrag still
reaches the right one); everything else goes to the transport the source address passed an ICE check with.
Nothing else is trusted, and a datagram no transport claims is dropped and counted.

Receiving is batched: one wait for readability, then up to :data:`RECEIVE_BATCH` datagrams read and answered
with non-blocking calls and no trio checkpoint per packet; only a full send buffer makes the task wait.

Timers: one task wakes every ``tick_s`` and polls each transport (DTLS retransmission, the DTLS client's first
flight, consent expiry), so an idle transport costs no task. A transport that closed (consent expired, DTLS
failed, or closed by its owner) is unregistered and reported once through ``on_closed``.

Whatever the layer above queued while a datagram or tick was handled (``after_datagram``: the router's outbox
of forwarded media) is sent with that datagram's own output.

The loop never dies on what a peer sends: transports drop bad input themselves, and a protocol error that
still escapes is logged at debug level and counted.
"""

from __future__ import annotations

import collections
import logging
import socket
from collections.abc import Callable

import trio

from altegon_rt.rtc.errors import ProtocolError, RemoteProtocolError
from altegon_rt.rtc.stun import AttrType, StunMessage, is_stun
from altegon_rt.sfu.errors import InvalidStateError
from altegon_rt.sfu.transport import Address, Outgoing, TransportId, WebRtcTransport

log = logging.getLogger(__name__)

MAX_DATAGRAM = 65535
RECEIVE_BATCH = 64
SOCKET_BUFFER_BYTES = 4 * 1024 * 1024
DEFAULT_TICK_S = 0.05  # DTLS retransmits start at 1 s (RFC 6347 §4.2.4.1): 50 ms of lateness is noise

ClosedHandler = Callable[[WebRtcTransport, str], None]
OutboxHandler = Callable[[], Outgoing]
TickHandler = Callable[[float], None]


class UdpServer:
    """One UDP socket bound to ``(host, port)`` (port 0 picks one) routing datagrams to registered transports."""

    def __init__(
        self,
        host: str,
        port: int = 0,
        *,
        on_closed: ClosedHandler | None = None,
        after_datagram: OutboxHandler | None = None,
        on_tick: TickHandler | None = None,
        tick_s: float = DEFAULT_TICK_S,
    ) -> None:
        self._host, self._port = host, port
        self._on_closed = on_closed
        # What the layer above queued while handling a datagram or tick (the router forwarding RTP from inside
        # a transport's on_rtp, which must not await): sent with that datagram's or tick's own output.
        self._after_datagram = after_datagram
        self._on_tick = on_tick  # the layer above's timers (RTCP reports), run after the transports' own
        self._tick_s = tick_s
        self._by_ufrag: dict[str, WebRtcTransport] = {}
        self._by_address: dict[Address, WebRtcTransport] = {}
        self._addresses: dict[TransportId, frozenset[Address]] = {}
        self._send_lock = trio.Lock()  # the receive loop and the timer task both send; a trio socket allows one
        self.stats: collections.Counter[str] = collections.Counter()
        self.address: Address | None = None  # once bound
        self._sock: socket.socket | None = None

    # --- the registry -------------------------------------------------------------------------------------

    def register(self, transport: WebRtcTransport) -> None:
        ufrag = transport.ice_parameters.username_fragment
        if transport.closed:
            raise InvalidStateError("transport closed")
        if ufrag in self._by_ufrag:
            raise InvalidStateError(f"ufrag {ufrag} already registered")
        self._by_ufrag[ufrag] = transport
        self._addresses[transport.id] = frozenset()

    def unregister(self, transport: WebRtcTransport) -> bool:
        """Forget ``transport`` and its addresses; whether it was registered."""
        if self._by_ufrag.get(transport.ice_parameters.username_fragment) is not transport:
            return False
        del self._by_ufrag[transport.ice_parameters.username_fragment]
        for address in self._addresses.pop(transport.id, frozenset()):
            if self._by_address.get(address) is transport:
                del self._by_address[address]
        return True

    @property
    def transports(self) -> tuple[WebRtcTransport, ...]:
        return tuple(self._by_ufrag.values())

    # --- the trio layer -----------------------------------------------------------------------------------

    async def run(self, *, task_status: trio.TaskStatus[Address] = trio.TASK_STATUS_IGNORED) -> None:
        """Bind, report the bound address through ``task_status``, then receive and tick until cancelled."""
        family = socket.AF_INET6 if ":" in self._host else socket.AF_INET
        with socket.socket(family, socket.SOCK_DGRAM) as sock:
            sock.setblocking(False)
            for option in (socket.SO_RCVBUF, socket.SO_SNDBUF):
                # Bursts of a key frame to hundreds of consumers outrun the default ~200 KB buffers.
                sock.setsockopt(socket.SOL_SOCKET, option, SOCKET_BUFFER_BYTES)
            sock.bind((self._host, self._port))
            bound = sock.getsockname()
            self.address = (bound[0], bound[1])
            self._sock = sock
            try:
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(self._tick_loop, sock)
                    task_status.started(self.address)
                    await self._receive_loop(sock)
            finally:
                self._sock = None

    async def send(self, datagrams: Outgoing) -> None:
        """Send what a transport produced outside the receive path (``send_rtp``, ``close``)."""
        if self._sock is None:
            raise InvalidStateError("the UDP server is not running")
        await self._send(self._sock, datagrams)

    async def _receive_loop(self, sock: socket.socket) -> None:
        # The hot path: one wait for readability, then up to RECEIVE_BATCH datagrams read, handled and answered
        # with plain non-blocking calls, no trio checkpoint per packet. The batch bound gives the timer task and
        # the rest of the process their turn under a flood.
        while True:
            await trio.lowlevel.wait_readable(sock)
            for _ in range(RECEIVE_BATCH):
                try:
                    data, address = sock.recvfrom(MAX_DATAGRAM)
                except BlockingIOError:
                    break
                except (ConnectionResetError, ConnectionRefusedError):
                    # An ICMP error for an earlier send (reported on some platforms): nothing to do with this one.
                    self.stats["icmp_error"] += 1
                    continue
                out = self.handle_datagram(data, address, trio.current_time())
                sent = self._send_now(sock, out)
                if sent < len(out):
                    await self._send(sock, out[sent:])
            await trio.lowlevel.checkpoint_if_cancelled()

    async def _tick_loop(self, sock: socket.socket) -> None:
        while True:
            await trio.sleep(self._tick_s)
            out = self.tick(trio.current_time())
            sent = self._send_now(sock, out)
            if sent < len(out):
                await self._send(sock, out[sent:])

    def _send_now(self, sock: socket.socket, out: Outgoing) -> int:
        """Send without waiting until the socket's buffer is full; how many of ``out`` went."""
        if self._send_lock.locked():  # another task is waiting to finish its sends: keep the order behind it
            return 0
        for index, (data, address) in enumerate(out):
            try:
                sock.sendto(data, address)
            except BlockingIOError:
                return index
            except OSError as exc:
                # A peer that vanished (unreachable, no route) must not stop the others' media.
                log.debug("sendto %s failed: %s", address, exc)
                self.stats["send_error"] += 1
        return len(out)

    async def _send(self, sock: socket.socket, out: Outgoing) -> None:
        async with self._send_lock:
            for data, address in out:
                while True:
                    try:
                        sock.sendto(data, address)
                        break
                    except BlockingIOError:
                        self.stats["send_waited"] += 1
                        await trio.lowlevel.wait_writable(sock)
                    except OSError as exc:
                        log.debug("sendto %s failed: %s", address, exc)
                        self.stats["send_error"] += 1
                        break

    # --- routing and timers, synchronous so that tests can drive them without a socket --------------------

    def handle_datagram(self, data: bytes, address: Address, now: float) -> Outgoing:
        """Route one received datagram; what to send. Never raises for anything a peer sends."""
        address = (address[0], address[1])
        transport = self._route(data, address)
        if transport is None:
            self.stats["dropped_unrouted"] += 1
            return []
        try:
            out = transport.receive_datagram(data, address, now)
        except ProtocolError as exc:
            log.debug("transport %s: datagram from %s: %s", transport.id, address, exc)
            self.stats["protocol_error"] += 1
            return self._queued()
        if is_stun(data):
            self._sync_addresses(transport)
        if transport.closed:
            self._report_closed(transport)
        out += self._queued()
        return out

    def tick(self, now: float) -> Outgoing:
        """Poll every transport's timers; closed transports are unregistered and reported."""
        out: Outgoing = []
        for transport in self.transports:
            out += transport.poll(now)
            if transport.closed:
                self._report_closed(transport)
        if self._on_tick is not None:
            self._on_tick(now)
        out += self._queued()
        return out

    def _queued(self) -> Outgoing:
        return self._after_datagram() if self._after_datagram is not None else []

    def _route(self, data: bytes, address: Address) -> WebRtcTransport | None:
        if is_stun(data):
            ufrag = _local_ufrag(data)
            if ufrag is not None and ufrag in self._by_ufrag:
                return self._by_ufrag[ufrag]
        return self._by_address.get(address)

    def _sync_addresses(self, transport: WebRtcTransport) -> None:
        """Mirror the transport's ICE pairs in the address map (pairs come and go only on STUN)."""
        if transport.id not in self._addresses:
            return  # not registered (closed meanwhile)
        current = frozenset(transport.remote_addresses)
        previous = self._addresses[transport.id]
        for address in previous - current:
            if self._by_address.get(address) is transport:
                del self._by_address[address]
        for address in current - previous:
            # The latest check wins, as with ICE nomination: an address that moved to another transport follows.
            self._by_address[address] = transport
        self._addresses[transport.id] = current

    def _report_closed(self, transport: WebRtcTransport) -> None:
        if not self.unregister(transport):
            return
        self.stats["transports_closed"] += 1
        reason = transport.close_reason or "closed"
        log.debug("transport %s closed: %s", transport.id, reason)
        if self._on_closed is not None:
            self._on_closed(transport, reason)


def _local_ufrag(data: bytes) -> str | None:
    """The local ufrag in a STUN message's USERNAME ("local:remote"), or None if there is none to read."""
    try:
        message = StunMessage.parse(data)
    except RemoteProtocolError:
        return None
    username = message.get(AttrType.USERNAME)
    if not isinstance(username, str):
        return None
    return username.partition(":")[0]
