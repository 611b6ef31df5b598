"""SFU rooms: who is in which room, with which role, and the Router that carries their media.

A room is a *meeting* (everyone may publish) or a *webinar* (the host and the co-hosts the host approved
publish; viewers only watch). The host is the connection that called ``createRoom``, any other connection of
the same signed-in user, or an admin. :class:`SfuRooms` is also the UDP task's view of every Router at once.
"""

from __future__ import annotations

import collections
import enum
import hmac
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from altegon_rt.sfu.consumer import Consumer
from altegon_rt.sfu.producer import Producer
from altegon_rt.sfu.router import Router, Transport
from altegon_rt.sfu.transport import Outgoing, WebRtcTransport
from altegon_rt.sio.server import SocketError

MEDIA_CODECS: list[dict[str, Any]] = [
    {"kind": "audio", "mimeType": "audio/opus", "clockRate": 48000, "channels": 2},
    {"kind": "video", "mimeType": "video/VP8", "clockRate": 90000},
    {"kind": "video", "mimeType": "video/VP9", "clockRate": 90000, "parameters": {"profile-id": 2}},
    {"kind": "video", "mimeType": "video/H264", "clockRate": 90000,
     "parameters": {"packetization-mode": 1, "profile-level-id": "42e01f", "level-asymmetry-allowed": 1}},
]  # fmt: skip
CHAT_HISTORY = 100  # messages kept per room, all sent in the join ack
MAX_ROOMS = 10_000


class RoomMode(enum.StrEnum):
    MEETING = "meeting"
    WEBINAR = "webinar"


class Role(enum.StrEnum):
    HOST = "host"
    COHOST = "cohost"
    PARTICIPANT = "participant"  # a meeting's non-host: publishes like everybody
    VIEWER = "viewer"  # a webinar's audience: watches, may ask to become a co-host

    @property
    def may_produce(self) -> bool:
        return self is not Role.VIEWER


@dataclass(slots=True)
class SfuPeer:
    id: str  # the socket id
    name: str
    room_id: str
    role: Role
    transports: dict[str, Transport] = field(default_factory=dict)
    producers: dict[str, Producer] = field(default_factory=dict)
    consumers: dict[str, Consumer] = field(default_factory=dict)

    def info(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "role": self.role.value}


@dataclass(slots=True)
class RoomPlan:
    """What ``createRoom`` decided: kept until the first join makes the room."""

    mode: RoomMode
    host_sid: str
    host_user: str | None
    host_key: str  # given to the creator only: joining with it makes a connection the host (page reloads)


@dataclass(slots=True)
class SfuRoom:
    id: str
    router: Router
    plan: RoomPlan
    peers: dict[str, SfuPeer] = field(default_factory=dict)
    chat: collections.deque[dict[str, Any]] = field(default_factory=lambda: collections.deque(maxlen=CHAT_HISTORY))
    cohost_requests: set[str] = field(default_factory=set)  # peer ids waiting for the host's answer

    def role_for(self, sid: str, principal: Any, host_key: str | None) -> Role:
        """The role a connection joins with."""
        user_id = getattr(principal, "user_id", None)
        is_host = (
            sid == self.plan.host_sid
            or (user_id is not None and user_id == self.plan.host_user)
            or bool(getattr(principal, "is_admin", False))
            or (host_key is not None and hmac.compare_digest(host_key.encode(), self.plan.host_key.encode()))
        )
        if is_host:
            return Role.HOST
        return Role.VIEWER if self.plan.mode is RoomMode.WEBINAR else Role.PARTICIPANT

    def hosts(self) -> list[SfuPeer]:
        return [p for p in self.peers.values() if p.role is Role.HOST]

    def screen_sharers(self) -> set[str]:
        """Peers with a live screen-share video producer."""
        return {
            p.id
            for p in self.peers.values()
            for pr in p.producers.values()
            if not pr.closed and pr.kind == "video" and is_screen(pr.app_data)
        }


def is_screen(app_data: dict[str, Any]) -> bool:
    """A producer whose ``appData`` says it carries a screen (``type`` or ``source`` ``screen``)."""
    return app_data.get("type") == "screen" or app_data.get("source") == "screen"


class SfuRooms:
    """Rooms by id, each with its Router; the UDP task's view of all of them at once."""

    def __init__(self, media_codecs: list[dict[str, Any]] | None = None) -> None:
        self.media_codecs = media_codecs or MEDIA_CODECS
        self.created: dict[str, RoomPlan] = {}  # ids handed out by createRoom; a Router exists once someone joins
        self.rooms: dict[str, SfuRoom] = {}
        self.on_transport_closed: Callable[[Transport], None] | None = None
        self._pending: Outgoing = []  # what closed routers still had to send (DTLS close_notify)

    def create(self, mode: RoomMode, host_sid: str, host_user: str | None) -> tuple[str, RoomPlan]:
        """A new room's id and plan."""
        if len(self.created) + len(self.rooms) >= MAX_ROOMS:
            raise SocketError("too_many_rooms", f"this server holds {MAX_ROOMS} rooms already")
        plan = RoomPlan(mode, host_sid, host_user, secrets.token_urlsafe(18))
        room_id = str(uuid.uuid4())
        self.created[room_id] = plan
        return room_id, plan

    def open(self, room_id: str, open_as: RoomMode | None = None) -> SfuRoom:
        """The room ``room_id``, its Router made on its first join (``open_as``: made without createRoom)."""
        room = self.rooms.get(room_id)
        if room is None:
            plan = self.created.pop(room_id, None)
            if plan is None and open_as is not None:
                if len(self.rooms) >= MAX_ROOMS:
                    raise SocketError("too_many_rooms", f"this server holds {MAX_ROOMS} rooms already")
                plan = RoomPlan(open_as, "", None, secrets.token_urlsafe(18))  # nobody is its host by default
            if plan is None:
                raise SocketError("not_found", f"room {room_id} does not exist (createRoom first)")
            room = self.rooms[room_id] = SfuRoom(room_id, Router(self.media_codecs), plan)
        return room

    def close(self, room: SfuRoom) -> None:
        room.router.close()
        self._pending += room.router.take_outgoing()
        self.rooms.pop(room.id, None)

    def take_outgoing(self) -> Outgoing:
        """For ``UdpServer(after_datagram=...)``: every router's outbox."""
        out, self._pending = self._pending, []
        for room in self.rooms.values():
            out += room.router.take_outgoing()
        return out

    def tick(self, now: float) -> None:
        """For ``UdpServer(on_tick=...)``: every router's timers (RTCP reports)."""
        for room in self.rooms.values():
            room.router.tick(now)

    def handle_transport_closed(self, webrtc: WebRtcTransport, reason: str) -> None:
        """For ``UdpServer(on_closed=...)``: consent expired or DTLS failed under one of our routers."""
        for room in self.rooms.values():
            transport = room.router.transports.get(webrtc.id)
            if transport is not None:
                if self.on_transport_closed is not None:
                    self.on_transport_closed(transport)
                transport.close(reason)
                return
