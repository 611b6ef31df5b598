"""RealtimeKit on the SFU socket: meetings as rooms, preset permissions, and the session's own socket events.

A socket connected with a participant token (:mod:`altegon_rt.rtk.participant_tokens`) sends ``join``
``{room_id: "rtk-<meeting_id>"}``: the room is made on the first join (no ``createRoom``), only the token's own
meeting's room may be joined, and the peer's name is the participant's. The participant, its meeting (an
INACTIVE one refuses the join, even for a socket that connected while it was ACTIVE) and its preset are read
again at each join, so an edit applies from the next join. Other sockets cannot join ``rtk-`` rooms.

The preset's permissions are enforced where the SFU has the feature (refusals are ``forbidden`` naming the
permission): ``media.audio|video|screenshare.can_produce`` must be ``ALLOWED`` to ``produce`` that kind (a video
producer whose ``appData`` says ``screen`` is a screen share); ``config.max_screenshare_count`` screen shares at
a time in the room (``screen_busy``); ``config.max_video_streams.desktop`` video consumers at a time;
``chat.public.can_send`` (and ``text``) to ``sendMessage``; ``kick_participant`` for ``participant:kick``;
``polls.can_create`` / ``can_vote`` / ``can_view`` for the polls. The session's own events (shapes in
docs/sfu-protocol.md): ``poll:create``, ``poll:vote`` → ``poll:new`` / ``poll:updated`` to the viewers;
``participant:kick`` → ``participant:kicked`` to the kicked, then a disconnect; ``transcript:send`` →
``transcript:new`` to the room.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import trio

from altegon_rt.errors import ApiError
from altegon_rt.realtime.payloads import payload_object, required_text
from altegon_rt.realtime.sfu_policy import Admission, SfuPolicy
from altegon_rt.realtime.sfu_rooms import RoomMode, SfuPeer, SfuRoom, is_screen
from altegon_rt.rtk.jsonschema import check
from altegon_rt.rtk.participant_tokens import SFU_ROOM_PREFIX, ParticipantPrincipal
from altegon_rt.rtk.polls import POLL_REQUEST, Poll, VoteRefused
from altegon_rt.rtk.session_files import MAX_TRANSCRIPT_LINE, SessionFiles
from altegon_rt.rtk.sessions import MAX_TRACKED_MEDIA, LivePeer, LiveSession, SessionTracker
from altegon_rt.sfu.consumer import Consumer
from altegon_rt.sfu.producer import Producer
from altegon_rt.sio.server import SocketError, SocketServer
from altegon_rt.sio.socket import Socket

MEDIA_NAMES = {"audio": "audio", "video": "video", "screenshare": "a screen share"}


@dataclass(frozen=True, slots=True)
class Seat:
    """A participant socket's standing, read at its join."""

    principal: ParticipantPrincipal
    meeting: dict[str, Any]
    config: dict[str, Any]


def permission(principal: ParticipantPrincipal, path: str, default: Any = False) -> Any:
    """A preset permission by its dotted path, e.g. ``chat.public.can_send``."""
    value: Any = principal.permissions
    for key in path.split("."):
        if not isinstance(value, dict) or key not in value:
            return default
        value = value[key]
    return value


def _forbid(principal: ParticipantPrincipal, what: str, path: str) -> SocketError:
    shown = permission(principal, path, None)
    return SocketError("forbidden", f"preset {principal.preset_name!r} does not allow {what} "
                                    f"(permissions.{path} is {shown})")  # fmt: skip


class RtkSfuPolicy(SfuPolicy):
    """See the module docstring."""

    def __init__(self, server: SocketServer, store: Any, tracker: SessionTracker, files: SessionFiles) -> None:
        self.server = server
        self._store = store
        self.tracker = tracker
        self._files = files
        self.seats: dict[str, Seat] = {}
        on = server.on
        on("poll:create")(self.poll_create)
        on("poll:vote")(self.poll_vote)
        on("participant:kick")(self.kick_event)
        on("transcript:send")(self.transcript)
        ns = server.namespace()
        previous = ns.disconnect_handler

        async def disconnected(sock: Socket, reason: str) -> None:
            if previous is not None:
                await previous(sock, reason)
            self.seats.pop(sock.sid, None)  # admitted but never joined

        ns.disconnect_handler = disconnected

    # -- joining ----------------------------------------------------------------------------------------------
    async def admit(self, sock: Socket, room_id: str) -> Admission:
        principal = sock.principal
        if not isinstance(principal, ParticipantPrincipal):
            if room_id.startswith(SFU_ROOM_PREFIX):
                raise SocketError("forbidden", "this room is a RealtimeKit meeting's: join it with a participant "
                                               "token of that meeting")  # fmt: skip
            return Admission()
        if room_id != principal.sfu_room_id:
            raise SocketError("forbidden", f"a participant token joins only its own meeting's room, "
                                           f"{principal.sfu_room_id}")  # fmt: skip
        seat = await self._seat(principal)
        self.seats[sock.sid] = seat
        return Admission(name=seat.principal.name or "Participant", open_as=RoomMode.MEETING)

    async def _seat(self, principal: ParticipantPrincipal) -> Seat:
        store = self._store
        meeting = await store.rtk_meetings.get(principal.app_id, principal.meeting_id)
        if meeting is None:
            raise SocketError("not_found", "this meeting no longer exists")
        if meeting.get("status") != "ACTIVE":
            raise SocketError("meeting_inactive", "the meeting is INACTIVE: nobody can join it")
        participant = await store.rtk_participants.get(
            principal.app_id, principal.participant_id, meeting_id=principal.meeting_id
        )
        if participant is None:
            raise SocketError("forbidden", "this participant no longer exists")
        preset = await store.rtk_presets.get(principal.app_id, participant["preset_id"])
        if preset is None:
            raise SocketError("forbidden", f"preset {participant['preset_name']!r} no longer exists")
        fresh = dataclasses.replace(principal, name=participant.get("name"), preset_id=preset["_id"],
                                    preset_name=preset["name"], permissions=preset.get("permissions", {}))  # fmt: skip
        return Seat(fresh, meeting, preset.get("config", {}))

    def joined(self, sock: Socket, room: SfuRoom, peer: SfuPeer) -> None:
        seat = self.seats.get(sock.sid)
        if seat is not None:
            self.tracker.join(seat.principal, seat.meeting, peer, sock.client_address)

    def left(self, room: SfuRoom, peer: SfuPeer) -> None:
        self.seats.pop(peer.id, None)
        self.tracker.leave(peer.id, trio.current_time())

    # -- permissions ------------------------------------------------------------------------------------------
    def check_produce(self, sock: Socket, room: SfuRoom, peer: SfuPeer, kind: str, app_data: dict[str, Any]) -> None:
        seat = self.seats.get(sock.sid)
        if seat is None:
            return
        media = "screenshare" if kind == "video" and is_screen(app_data) else kind
        if media not in MEDIA_NAMES:
            return  # the SFU refuses an unknown kind itself
        path = f"media.{media}.can_produce"
        if permission(seat.principal, path, "NOT_ALLOWED") != "ALLOWED":
            raise _forbid(seat.principal, f"producing {MEDIA_NAMES[media]}", path)
        if media == "screenshare":
            most = int(seat.config.get("max_screenshare_count", 1))
            sharers = room.screen_sharers() - {peer.id}
            if len(sharers) >= most:
                raise SocketError("screen_busy", f"{len(sharers)} other peer(s) share a screen; preset "
                                                 f"{seat.principal.preset_name!r} allows {most} at a time "
                                                 "(config.max_screenshare_count)")  # fmt: skip

    def check_consume(self, sock: Socket, room: SfuRoom, peer: SfuPeer, producer_id: str) -> None:
        seat = self.seats.get(sock.sid)
        producer = room.router.producers.get(producer_id)
        if seat is None or producer is None or producer.kind != "video":
            return
        most = int((seat.config.get("max_video_streams") or {}).get("desktop", 100))
        videos = sum(1 for c in peer.consumers.values() if not c.closed and c.kind == "video")
        if videos >= most:
            raise SocketError("forbidden", f"preset {seat.principal.preset_name!r} allows {most} video stream(s) "
                                           "at a time (config.max_video_streams.desktop)")  # fmt: skip

    def check_message(self, sock: Socket, room: SfuRoom, peer: SfuPeer) -> None:
        seat = self.seats.get(sock.sid)
        if seat is None:
            return
        for path in ("chat.public.can_send", "chat.public.text"):
            if not permission(seat.principal, path):
                raise _forbid(seat.principal, "sending chat messages", path)

    def produced(self, room: SfuRoom, peer: SfuPeer, producer: Producer) -> None:
        found = self.tracker.tracked(peer.id)
        if found is not None and len(found[1].producers) < MAX_TRACKED_MEDIA:
            found[1].producers.append(producer)
            found[1].event("produce", kind=producer.kind, producer_id=producer.id)

    def consumed(self, room: SfuRoom, peer: SfuPeer, consumer: Consumer) -> None:
        found = self.tracker.tracked(peer.id)
        if found is not None and len(found[1].consumers) < MAX_TRACKED_MEDIA:
            found[1].consumers.append(consumer)

    def message(self, room: SfuRoom, peer: SfuPeer, entry: dict[str, Any]) -> None:
        self.tracker.chat(peer.id, entry)

    # -- the session's events ---------------------------------------------------------------------------------
    def _in_session(self, sock: Socket) -> tuple[LiveSession, LivePeer]:
        found = self.tracker.tracked(sock.sid)
        if found is None:
            raise SocketError("not_joined", "join your meeting's room first")
        return found

    async def poll_create(self, sock: Socket, payload: Any = None) -> dict[str, Any]:
        session, live = self._in_session(sock)
        if not permission(live.principal, "polls.can_create"):
            raise _forbid(live.principal, "creating polls", "polls.can_create")
        try:
            body = check(POLL_REQUEST, payload_object(payload))
        except ApiError as exc:
            raise SocketError(exc.code, exc.message) from None
        poll = Poll.from_request(body, live.principal.participant_id)
        self.publish_poll(session, poll)
        return {"poll": poll.readable(live.principal.participant_id)}

    def publish_poll(self, session: LiveSession, poll: Poll) -> None:
        if not self.tracker.add_poll(session, poll):
            raise SocketError("too_many_polls", "this session has as many polls as it may hold")
        self.broadcast_poll(session, poll, "poll:new")

    def broadcast_poll(self, session: LiveSession, poll: Poll, event: str) -> None:
        """``event`` ``{poll}`` to every participant of the session whose preset lets it view polls."""
        for live in session.peers.values():
            if permission(live.principal, "polls.can_view"):
                self.server.emit(event, {"poll": poll.readable(live.principal.participant_id)}, to=live.sid)

    async def poll_vote(self, sock: Socket, payload: Any = None) -> dict[str, Any]:
        session, live = self._in_session(sock)
        body = payload_object(payload)
        poll = session.polls.get(required_text(body, "pollId", max_length=64))
        if poll is None:
            raise SocketError("not_found", "no such poll in this session")
        if not permission(live.principal, "polls.can_vote"):
            raise _forbid(live.principal, "voting in polls", "polls.can_vote")
        try:
            poll.vote(live.principal.participant_id, live.peer.name, body.get("index"))
        except VoteRefused as exc:
            raise SocketError(exc.code, str(exc)) from None
        self.broadcast_poll(session, poll, "poll:updated")
        return {"poll": poll.readable(live.principal.participant_id)}

    async def kick_event(self, sock: Socket, payload: Any = None) -> dict[str, Any]:
        session, live = self._in_session(sock)
        if not permission(live.principal, "kick_participant"):
            raise _forbid(live.principal, "kicking participants", "kick_participant")
        target = session.peers.get(required_text(payload_object(payload), "peerId", max_length=128))
        if target is None:
            raise SocketError("not_found", "no such peer in this session")
        self.kick([target], f"kicked by {live.peer.name}")
        return {}

    def kick(self, peers: list[LivePeer], reason: str) -> None:
        """Tell each peer, then close its connection (its transports close as it leaves the room)."""
        for live in peers:
            self.server.emit("participant:kicked", {"reason": reason}, to=live.sid)
            self.server.disconnect(live.sid, close_connection=True)

    async def transcript(self, sock: Socket, payload: Any = None) -> dict[str, Any]:
        session, live = self._in_session(sock)
        line = required_text(payload_object(payload), "text", max_length=MAX_TRANSCRIPT_LINE * 2)
        try:
            await self._files.add_line(session, live, line)
        except ApiError as exc:
            raise SocketError("invalid_field", exc.message) from None
        event = {"peerId": live.sid, "name": live.peer.name, "text": line}
        self.server.emit("transcript:new", event, to=f"sfu:{live.peer.room_id}")
        return {}
