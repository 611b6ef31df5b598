"""One client's Engine.IO session as a pure state machine: transport, upgrade, heartbeat, outbound buffer.

The trio layer feeds it packets (:meth:`EngineSession.receive`) and the time, and asks it what to write
(:meth:`EngineSession.take`). Outgoing items are ``str`` (a text packet, already encoded, identical over
both transports) or ``bytes`` (a binary message); the polling encoder turns bytes into ``b`` + base64.

States and transitions (engine.io's ``socket.ts``)::

    POLLING --ping "probe" on a websocket--> UPGRADING --upgrade--> WEBSOCKET
    WEBSOCKET (opened directly) --------------------------------------^
    any --close packet / timeout / overflow / protocol error--> CLOSED

Back-pressure: the outbound buffer has a byte budget; :meth:`EngineSession.send` returns ``False`` and
closes the session when a slow client would push it over, instead of letting memory grow.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Iterable
from dataclasses import dataclass

from altegon_rt.eio.packets import PROBE, Packet, PacketType, encode_polling

Outgoing = str | bytes
CLOSE_PACKET = "1"


class Transport(enum.Enum):
    POLLING = "polling"
    WEBSOCKET = "websocket"


class State(enum.Enum):
    POLLING = enum.auto()
    UPGRADING = enum.auto()
    WEBSOCKET = enum.auto()
    CLOSED = enum.auto()


@dataclass(frozen=True, slots=True)
class SessionLimits:
    ping_interval_s: float = 25.0
    ping_timeout_s: float = 20.0
    max_payload: int = 1_000_000
    max_buffered_bytes: int = 4_000_000


@dataclass(frozen=True, slots=True)
class Message:
    """Application data the client sent (one Engine.IO message packet)."""

    data: str | bytes


@dataclass(frozen=True, slots=True)
class ProbeReply:
    """Answer ``3probe`` on the probing websocket (not the current transport)."""


@dataclass(frozen=True, slots=True)
class Upgraded:
    """The websocket is now the transport; a pending poll must be released with a noop."""


@dataclass(frozen=True, slots=True)
class Pong:
    """The client answered our ping: the next ping is due one interval from now."""


@dataclass(frozen=True, slots=True)
class Closed:
    reason: str


Event = Message | ProbeReply | Upgraded | Pong | Closed


class EngineSession:
    """The protocol state of one session; no I/O, no clock (``now`` is passed in)."""

    __slots__ = ("_buffered", "_outbox", "closed_from", "closed_reason", "last_seen", "limits", "pong_due", "sid",
                 "state")  # fmt: skip

    def __init__(self, sid: str, transport: Transport, limits: SessionLimits, now: float) -> None:
        self.sid = sid
        self.limits = limits
        self.state = State.WEBSOCKET if transport is Transport.WEBSOCKET else State.POLLING
        self._outbox: list[Outgoing] = []  # a list, not a deque: 56 bytes idle, and taken whole
        self._buffered = 0
        self.closed_reason = ""
        self.closed_from = self.state  # the state the session was in when it closed
        self.last_seen = now
        self.pong_due: float | None = None

    @property
    def transport(self) -> Transport:
        return Transport.WEBSOCKET if self.state is State.WEBSOCKET else Transport.POLLING

    @property
    def closed(self) -> bool:
        return self.state is State.CLOSED

    def handshake(self, upgrades: Iterable[str]) -> str:
        """The open packet (``0{...}``) announcing this session's parameters."""
        body = json.dumps(
            {
                "sid": self.sid,
                "upgrades": list(upgrades),
                "pingInterval": int(self.limits.ping_interval_s * 1000),
                "pingTimeout": int(self.limits.ping_timeout_s * 1000),
                "maxPayload": self.limits.max_payload,
            },
            separators=(",", ":"),
        )
        return f"{int(PacketType.OPEN)}{body}"

    # -- outbound ---------------------------------------------------------------------------------------------
    def send(self, item: Outgoing) -> bool:
        """Queue one encoded packet; ``False`` (and the session closes) when the client is too far behind."""
        if self.state is State.CLOSED:
            return False
        size = len(item)
        if self._buffered + size > self.limits.max_buffered_bytes and self._outbox:
            self.close("send buffer full: client too slow")
            return False
        self._outbox.append(item)
        self._buffered += size
        return True

    def send_many(self, items: list[Outgoing]) -> bool:
        """Queue items that must stay together (a Socket.IO packet and its attachments)."""
        if self.state is State.CLOSED:
            return False
        size = sum(len(i) for i in items)
        if self._buffered + size > self.limits.max_buffered_bytes and self._outbox:
            self.close("send buffer full: client too slow")
            return False
        self._outbox.extend(items)
        self._buffered += size
        return True

    @property
    def pending(self) -> bool:
        return bool(self._outbox)

    def take(self) -> list[Outgoing]:
        """Everything queued, oldest first (a websocket writes each item as one frame)."""
        items, self._outbox = self._outbox, []
        self._buffered = 0
        return items

    def take_payload(self) -> str:
        """Everything queued as one long-polling body (empty string when nothing is queued).

        A close packet after other packets is held back for the next poll, as the reference server does:
        socket.io-client handles decoded packets on the next tick but a close at once, so in one body the
        close would overtake a DISCONNECT sent just before it.
        """
        items = self.take()
        if len(items) > 1 and items[-1] == CLOSE_PACKET:
            items.pop()
            self.send_final(CLOSE_PACKET)
        return "\x1e".join(i if isinstance(i, str) else encode_polling(Packet(PacketType.MESSAGE, i))
                           for i in items)  # fmt: skip

    def send_final(self, item: str) -> None:
        """Queue ``item`` even though the session is closed (its last words)."""
        self._outbox.append(item)
        self._buffered += len(item)

    # -- inbound ----------------------------------------------------------------------------------------------
    def receive(self, packet: Packet, now: float, *, on_probe_socket: bool = False) -> Event | None:
        """Apply one packet from the client; returns what the trio layer must act on, if anything."""
        self.last_seen = now
        if self.state is State.CLOSED:
            return None
        kind = packet.type
        if on_probe_socket:
            return self._receive_on_probe(packet)
        if kind is PacketType.MESSAGE:
            return Message(packet.data)
        if kind is PacketType.PONG:
            if self.pong_due is None:
                return None  # unsolicited: must not schedule a second ping
            self.pong_due = None
            return Pong()
        if kind is PacketType.CLOSE:
            return self.close("client closed the session")
        if kind is PacketType.NOOP:
            return None
        return self.close(f"unexpected {kind.name.lower()} packet from the client")

    def _receive_on_probe(self, packet: Packet) -> Event | None:
        if packet.type is PacketType.PING and packet.data == PROBE and self.state is State.POLLING:
            self.state = State.UPGRADING
            return ProbeReply()
        if packet.type is PacketType.UPGRADE and self.state is State.UPGRADING:
            self.state = State.WEBSOCKET
            return Upgraded()
        if packet.type is PacketType.NOOP:
            return None
        return self.close("invalid upgrade sequence")

    def upgrade_failed(self) -> None:
        """The probing websocket went away before the upgrade: stay on polling."""
        if self.state is State.UPGRADING:
            self.state = State.POLLING

    # -- heartbeat and end ------------------------------------------------------------------------------------
    def ping(self, now: float) -> bool:
        """Queue a ping and start the pong deadline; ``False`` when the session is closed."""
        if self.state is State.CLOSED:
            return False
        self.pong_due = now + self.limits.ping_timeout_s
        return self.send("2")

    def check_pong(self, now: float) -> bool:
        """Close the session when its pong is overdue; ``True`` when it was closed now."""
        if self.pong_due is not None and now >= self.pong_due and self.state is not State.CLOSED:
            self.close("ping timeout")
            return True
        return False

    def close(self, reason: str) -> Closed:
        if self.state is not State.CLOSED:
            self.closed_from = self.state
            self.state = State.CLOSED
            self.closed_reason = reason
        return Closed(self.closed_reason)

    def server_close(self) -> None:
        """Queue the close packet so the client learns of the end, then close."""
        if self.state is not State.CLOSED:
            self.send_final(CLOSE_PACKET)
            self.close("server closed the session")
