"""The ART package socket (``/erizocontroller/socket.io/``): typed ``sendData`` messages with server rules.

How a client uses it (docs/decisions.md, "ART package socket"):

- ``joinRoom`` {roomId, username} (ack): join a room. ``roomId`` may be a meeting id (its ``hostId`` or an
  admin is host), a room id (its owner is host) or any other name (nobody is host). The server then emits
  ``room_connected`` and ``view_count`` from real presence.
- ``sendData`` {type, ...}: one of the Meet document's typed messages. The server checks it against
  :data:`RULES` (who may send it, who receives it), stamps ``id``, ``username`` and ``time``, and delivers it
  as the ``data`` event. Host-only types from a non-host are refused with an error ack and go nowhere.

Whiteboards live in :class:`~altegon_rt.realtime.whiteboard.Whiteboard` per room, so a late joiner's
``whiteBoardStateRequest`` is answered even after the drawer left. ``remove-participant`` disconnects the
target and keeps them out of the room until it empties.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from altegon_rt.auth.principal import Principal
from altegon_rt.realtime.payloads import payload_object, required_text, text
from altegon_rt.realtime.presence import Bans, Participant, Presence
from altegon_rt.realtime.whiteboard import StageTooLarge, StrokeTooLarge, Whiteboard
from altegon_rt.sio.server import SocketError, SocketServer
from altegon_rt.sio.socket import Socket
from altegon_rt.store import Store

log = logging.getLogger(__name__)

MAX_NAME = 200
EVENT = "data"


@dataclass(frozen=True, slots=True)
class Rule:
    host_only: bool = False
    to: str = "others"  # "others", "all", "hosts", "target" (the participant named by id/userId), "self"
    server_only: bool = False


RULES: dict[str, Rule] = {
    "view_count": Rule(server_only=True),
    "room_connected": Rule(server_only=True),
    "start-transcript": Rule(host_only=True, to="all"),
    "chat-box": Rule(to="all"),
    "request-mic": Rule(to="hosts"),
    "request-mic-accepted": Rule(host_only=True, to="target"),
    "request-mic-rejected": Rule(host_only=True, to="target"),
    "mic-accepted-ack": Rule(to="all"),
    "mute-mic-request": Rule(host_only=True, to="target"),
    "video-off": Rule(),
    "device-switch": Rule(),
    "product-selected": Rule(),
    "sell-live": Rule(host_only=True, to="all"),
    "recording": Rule(host_only=True, to="all"),
    "sharing-toggle": Rule(),
    "whiteBoardToggle": Rule(host_only=True, to="all"),
    "whiteBoardStateRequest": Rule(to="self"),
    "white-board-stage": Rule(host_only=True),
    "sendDrawingData": Rule(),
    "Un-do": Rule(),
    "clear-whiteBoard": Rule(to="all"),
    "mute-all-participants": Rule(host_only=True),
    "mute-participant": Rule(host_only=True, to="target"),
    "remove-participant": Rule(host_only=True, to="target"),
    "transcript": Rule(to="all"),
    "annotation": Rule(),
    "meetingId": Rule(host_only=True, to="all"),
}


CHAT_HISTORY = 200


@dataclass(slots=True)
class _Room:
    """What a room keeps while anyone is in it, so that a participant who reconnects finds it again."""

    board: Whiteboard = field(default_factory=Whiteboard)
    chat: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=CHAT_HISTORY))
    mic_requests: dict[str, dict[str, Any]] = field(default_factory=dict)  # by participant key, oldest first


class ArtSocket:
    def __init__(self, server: SocketServer, store: Store, bans: Bans, clock: Callable[[], float] = time.time) -> None:
        self.server = server
        self.store = store
        self.bans = bans
        self.clock = clock
        self.presence = Presence()
        self.rooms: dict[str, _Room] = {}
        server.on("joinRoom")(self.join)
        server.on("sendData")(self.send_data)
        server.on("disconnect")(self.disconnected)

    # -- presence ---------------------------------------------------------------------------------------------
    async def join(self, sock: Socket, payload: Any = None) -> dict[str, Any]:
        body = payload_object(payload)
        room_id = required_text(body, "roomId", max_length=128)
        principal: Principal | None = sock.principal
        username = text(body, "username", max_length=MAX_NAME, required=False) or "Guest"
        is_host = await self._is_host(room_id, principal)
        if self.bans.is_banned(room_id, ban_key(sock)):
            raise SocketError("removed", "a host removed you from this room")
        if sock.session.get("room") not in (None, room_id):
            raise SocketError("already_joined", "this connection is in another room")
        participant = Participant(sock.sid, sock.sid, principal.user_id if principal else None, is_host, username)
        joined = self.presence.join(room_id, participant)
        room = self.rooms.setdefault(room_id, _Room())
        waiting = room.mic_requests.get(ban_key(sock)) if principal is not None else None
        if waiting is not None:
            waiting["id"] = sock.sid  # a reconnect keeps its place in the mic queue
        sock.join(room_id)
        sock.session["room"] = room_id
        now = int(self.clock())
        self.server.emit(EVENT, {"type": "room_connected", "id": sock.sid, "username": username, "state": "online",
                                 "time": now}, to=room_id, skip_sid=sock.sid)  # fmt: skip
        self.server.emit(EVENT, {"type": "view_count", "count": joined.meeting.views}, to=room_id)
        others = [{"id": p.sid, "username": p.username, "isHost": p.is_host}
                  for p in joined.meeting.participants.values() if p.sid != sock.sid]  # fmt: skip
        data = {"id": sock.sid, "isHost": is_host, "participants": others, "whiteboard": room.board.enabled,
                "chat": list(room.chat)}  # fmt: skip
        if is_host:
            data["micRequests"] = list(room.mic_requests.values())
        return {"success": True, "data": data}

    async def _is_host(self, room_id: str, principal: Principal | None) -> bool:
        if principal is None:
            return False
        if principal.is_admin:
            return True
        if len(room_id) != 24:
            return False
        meeting = await self.store.meetings.get(room_id)
        if meeting is not None:
            return bool(meeting["hostId"] == principal.user_id)
        room = await self.store.rooms.get(room_id)
        return room is not None and room["ownerId"] == principal.user_id

    async def disconnected(self, sock: Socket, reason: str) -> None:
        left = self.presence.leave(sock.sid)
        if left is None:
            return
        room_id = left.meeting.key
        if left.last:
            self.rooms.pop(room_id, None)  # the room is over: its board and bans go with it
            self.bans.end(room_id)
            return
        self.server.emit(EVENT, {"type": "room_connected", "id": sock.sid, "username": left.participant.username,
                                 "state": "offline", "time": int(self.clock())}, to=room_id)  # fmt: skip

    # -- typed messages ---------------------------------------------------------------------------------------
    async def send_data(self, sock: Socket, payload: Any = None) -> dict[str, Any]:
        body = payload_object(payload)
        kind = required_text(body, "type", max_length=64)
        rule = RULES.get(kind)
        if rule is None:
            raise SocketError("unknown_type", f"unknown message type {kind!r}")
        me = self.presence.participant(sock.sid)
        room_id = sock.session.get("room")
        if me is None or room_id is None:
            raise SocketError("not_joined", "join a room first (joinRoom)")
        if rule.server_only:
            raise SocketError("server_only", f"{kind!r} is sent by the server, from real presence")
        if rule.host_only and not me.is_host:
            raise SocketError("host_only", f"only a host may send {kind!r}")
        message = {**body, "id": me.sid, "username": me.username, "time": int(self.clock())}
        if "id" in body and rule.to == "target":
            message["targetId"] = body["id"]
        room = self.rooms[room_id]
        reply = self._apply(kind, sock, me, room, body, message)
        if reply is not None:
            return reply
        delivered = self._deliver(rule, sock, room_id, message, body)
        if kind == "remove-participant":
            self._remove(room_id, body)
        return {"success": True, "data": {"delivered": delivered}}

    def _apply(self, kind: str, sock: Socket, me: Participant, room: _Room, body: dict[str, Any],
               message: dict[str, Any]) -> dict[str, Any] | None:  # fmt: skip
        """The server-side effect of a message; a reply here means it is answered, not relayed."""
        board = room.board
        msg = body.get("msg")
        if kind == "chat-box":
            room.chat.append(message)
        elif kind == "request-mic":
            key = ban_key(sock) if sock.principal is not None else f"sid:{sock.sid}"
            room.mic_requests[key] = {"id": me.sid, "username": me.username, "time": message["time"]}
        elif kind in ("request-mic-accepted", "request-mic-rejected"):
            wanted = body.get("id")
            for key, request in list(room.mic_requests.items()):
                if request["id"] == wanted:
                    del room.mic_requests[key]
        try:
            if kind == "whiteBoardToggle":
                board.toggle(bool(msg.get("flag")) if isinstance(msg, dict) else False, me.sid)
            elif kind == "sendDrawingData":
                board.draw(me.sid, msg)
            elif kind == "Un-do":
                board.undo()
            elif kind == "clear-whiteBoard":
                board.clear()
            elif kind == "white-board-stage":
                board.set_stage(msg.get("stage") if isinstance(msg, dict) else None)
            elif kind == "whiteBoardStateRequest":
                state = {"type": "white-board-stage", "msg": board.state(), "id": me.sid, "time": message["time"]}
                return {"success": True, "data": state}
        except (StageTooLarge, StrokeTooLarge) as exc:
            raise SocketError("too_large", str(exc)) from None
        return None

    def _deliver(self, rule: Rule, sock: Socket, room_id: str, message: dict[str, Any], body: dict[str, Any]) -> int:
        if rule.to == "all":
            return self.server.emit(EVENT, message, to=room_id)
        if rule.to == "others":
            return self.server.emit(EVENT, message, to=room_id, skip_sid=sock.sid)
        meeting = self.presence.get(room_id)
        members = meeting.participants.values() if meeting is not None else ()
        if rule.to == "hosts":
            targets = [p.sid for p in members if p.is_host and p.sid != sock.sid]
        else:  # target
            wanted = body.get("userId", body.get("id"))
            targets = [p.sid for p in members if wanted in (p.sid, p.user_id)]
            if not targets:
                raise SocketError("not_found", "no such participant in this room")
        return sum(self.server.emit(EVENT, message, to=sid) for sid in targets)

    def _remove(self, room_id: str, body: dict[str, Any]) -> None:
        wanted = body.get("userId", body.get("id"))
        meeting = self.presence.get(room_id)
        for participant in list(meeting.participants.values()) if meeting is not None else ():
            if wanted in (participant.sid, participant.user_id):
                target = self.server.socket(participant.sid)
                if target is not None:
                    self.bans.ban(room_id, ban_key(target))
                    target.disconnect(close_connection=True)


def ban_key(sock: Socket) -> str:
    """Signed-in users are kept out by account; anonymous ones by address (they have nothing else)."""
    principal: Principal | None = sock.principal
    return f"user:{principal.user_id}" if principal is not None else f"addr:{sock.client_address}"
