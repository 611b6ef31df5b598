"""The Meet APIs socket (``/socket.io/``): joining meetings and rooms, presence, chat, live transcripts.

Events (Live Streaming document, "Altegon Meet APIs socket"):

- ``room.join.new`` {meetingID, deviceID, isHost}: join a meeting. The server decides who is host: the
  meeting's ``hostId`` or an admin, signed in; anyone else claiming ``isHost`` joins as a viewer. Everyone in
  the meeting then receives ``viewerList`` (the viewers' device ids).
- ``room.join`` {roomId, sessionType, ip}: the v1 join of a room; a signed-in user becomes a member of an
  existing room (who may then read its files).
- ``chat.send-message`` {message} → ``chat.new-message`` {sender, meetingID, message, isHost} to the meeting,
  kept in ``chat_messages``.
- ``transcript.send`` {message, username, timestamp, streamstart} → ``transcript.new`` to the meeting, stored
  encrypted with the REST transcripts, so ``GET /view-transcript/:meetingId`` shows it.

Each meeting's first join records a session for the reports (``conference``; ``live`` for v1 rooms), every
join counts its participant, and the last leave ends it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import trio

from altegon_rt.auth.principal import Principal
from altegon_rt.crypto.transcript_cipher import TranscriptCipher, seal_line
from altegon_rt.realtime.art import ban_key
from altegon_rt.realtime.payloads import boolean, number, object_id, payload_object, required_text, text
from altegon_rt.realtime.presence import Bans, Meeting, Participant, Presence
from altegon_rt.realtime.sessions import start_session
from altegon_rt.sio.server import SocketError, SocketServer
from altegon_rt.sio.socket import Socket
from altegon_rt.store import Store

log = logging.getLogger(__name__)

MAX_CHAT = 5_000
MAX_TRANSCRIPT = 20_000
MAX_ID = 128
CHAT_HISTORY = 100  # messages a (re)joining participant gets in its join ack


def _chat_event(stored: dict[str, Any]) -> dict[str, Any]:
    return {"sender": stored["sender"], "meetingID": stored["meetingId"], "message": stored["message"],
            "isHost": stored["isHost"]}  # fmt: skip


@dataclass(frozen=True, slots=True)
class MeetDeps:
    """What the Meet socket needs from the rest of the process (passed in, not the whole server)."""

    store: Store
    cipher: TranscriptCipher
    crypto_limiter: trio.CapacityLimiter
    locate: Callable[[str], Awaitable[Any]]
    bans: Bans  # shared with the ART socket, where hosts remove participants


class MeetSocket:
    def __init__(self, server: SocketServer, deps: MeetDeps) -> None:
        self.server = server
        self.deps = deps
        self.presence = Presence()
        on = server.on
        on("room.join.new")(self.join_meeting)
        on("room.join")(self.join_room)
        on("chat.send-message")(self.chat)
        on("transcript.send")(self.transcript)
        on("disconnect")(self.disconnected)
        deps.bans.on_ban(self._removed)

    # -- joining ----------------------------------------------------------------------------------------------
    async def join_meeting(self, sock: Socket, payload: Any = None) -> dict[str, Any]:
        body = payload_object(payload)
        meeting_id = object_id(body, "meetingID")
        device_id = text(body, "deviceID", max_length=MAX_ID, required=False) or sock.sid
        wants_host = boolean(body, "isHost")
        meeting = await self.deps.store.meetings.get(meeting_id)
        if meeting is None:
            raise SocketError("not_found", "meeting not found")
        principal: Principal | None = sock.principal
        may_host = principal is not None and (principal.is_admin or principal.user_id == meeting["hostId"])
        is_host = wants_host and may_host
        if self.deps.bans.is_banned(meeting_id, ban_key(sock)):
            raise SocketError("removed", "a host removed you from this meeting")
        key = f"meeting:{meeting_id}"
        self._check_device(key, sock.sid, device_id)
        participant = Participant(sock.sid, device_id, principal.user_id if principal else None, is_host)
        joined = self._join(sock, key, participant)
        sock.session.update(meeting_id=meeting_id, device_id=device_id, is_host=is_host, key=key)
        viewers = joined.meeting.viewer_devices()
        self.server.emit("viewerList", viewers, to=key)
        await self._count(sock, joined.meeting, joined.first, participant, meeting["hostId"], "conference")
        history = [_chat_event(m) for m in await self.deps.store.chat.recent(meeting_id, CHAT_HISTORY)]
        return {"success": True, "data": {"meetingID": meeting_id, "deviceID": device_id, "isHost": is_host,
                                          "viewers": viewers, "chat": history}}  # fmt: skip

    async def join_room(self, sock: Socket, payload: Any = None) -> dict[str, Any]:
        body = payload_object(payload)
        room_id = required_text(body, "roomId", max_length=MAX_ID)
        role = text(body, "sessionType", max_length=32, required=False) or "viewer"
        principal: Principal | None = sock.principal
        room = await self.deps.store.rooms.get(room_id) if len(room_id) == 24 else None
        member = False
        if room is not None and principal is not None:
            member = await self.deps.store.rooms.add_member(room_id, principal.user_id)
        key = f"room:{room_id}"
        is_host = principal is not None and room is not None and principal.user_id == room["ownerId"]
        participant = Participant(sock.sid, sock.sid, principal.user_id if principal else None, is_host)
        joined = self._join(sock, key, participant)
        sock.session.update(room_id=room_id, key=key, is_host=is_host, device_id=sock.sid)
        host_id = room["ownerId"] if room is not None else (principal.user_id if principal else None)
        if host_id is not None:
            await self._count(sock, joined.meeting, joined.first, participant, host_id, "live")
        data = {"roomId": room_id, "sessionType": role, "isHost": is_host, "member": member,
                "participants": len(joined.meeting.participants)}  # fmt: skip
        return {"success": True, "data": data}

    def _check_device(self, key: str, sid: str, device_id: str) -> None:
        meeting = self.presence.get(key)
        if meeting is not None and any(
            p.device_id == device_id and p.sid != sid for p in meeting.participants.values()
        ):
            raise SocketError("device_in_use", "another participant of this meeting uses that deviceID")

    def _join(self, sock: Socket, key: str, participant: Participant) -> Any:
        current = sock.session.get("key")
        if current is not None and current != key:
            raise SocketError("already_joined", f"this connection is in {current}; open another to join elsewhere")
        joined = self.presence.join(key, participant)
        sock.join(key)
        return joined

    async def _count(self, sock: Socket, meeting: Meeting, first: bool, participant: Participant, host_id: str,
                     session_type: str) -> None:  # fmt: skip
        """Record the reporting session (first join) and count this participant in it."""
        who = participant.user_id or participant.device_id
        sessions = self.deps.store.sessions
        if first:
            origin = sock.conn.headers.get("origin", "")
            domain = urlsplit(origin).hostname if origin else None
            session_id = await start_session(sessions, self.deps.locate, host_id=host_id, session_type=session_type,
                                             domain=domain, client_ip=sock.client_address)  # fmt: skip
            meeting.session_id = session_id
            for pending in {who, *meeting.pending_participants}:
                await sessions.participant_joined(session_id, pending)
            meeting.pending_participants.clear()
            if not meeting.participants:  # everyone left while the session was being recorded
                await sessions.end(session_id)
        elif meeting.session_id is None:
            meeting.pending_participants.add(who)  # counted by the first join once its session exists
        else:
            await sessions.participant_joined(meeting.session_id, who)

    async def disconnected(self, sock: Socket, reason: str) -> None:
        left = self.presence.leave(sock.sid)
        if left is None:
            return
        key = left.meeting.key
        if not left.last:
            self.server.emit("viewerList", left.meeting.viewer_devices(), to=key)
        elif left.meeting.session_id is not None:
            await self.deps.store.sessions.end(left.meeting.session_id)

    def _removed(self, meeting_id: str, key: str) -> None:
        """A host removed someone (on the ART socket): they leave this socket's meeting too."""
        meeting = self.presence.get(f"meeting:{meeting_id}")
        for participant in list(meeting.participants.values()) if meeting is not None else ():
            sock = self.server.socket(participant.sid)
            if sock is not None and ban_key(sock) == key:
                sock.disconnect(close_connection=True)

    # -- messages ---------------------------------------------------------------------------------------------
    def _in_meeting(self, sock: Socket) -> tuple[str, Participant]:
        meeting_id = sock.session.get("meeting_id")
        participant = self.presence.participant(sock.sid)
        if meeting_id is None or participant is None:
            raise SocketError("not_joined", "join a meeting first (room.join.new)")
        return meeting_id, participant

    async def chat(self, sock: Socket, payload: Any = None) -> dict[str, Any]:
        meeting_id, me = self._in_meeting(sock)
        message = required_text(payload_object(payload), "message", max_length=MAX_CHAT)
        stored = await self.deps.store.chat.add(meeting_id=meeting_id, sender=me.device_id, user_id=me.user_id,
                                                message=message, is_host=me.is_host)  # fmt: skip
        event = {"sender": me.device_id, "meetingID": meeting_id, "message": message, "isHost": me.is_host}
        self.server.emit("chat.new-message", event, to=f"meeting:{meeting_id}")
        return {"success": True, "data": {"_id": stored["_id"]}}

    async def transcript(self, sock: Socket, payload: Any = None) -> dict[str, Any]:
        meeting_id, me = self._in_meeting(sock)
        body = payload_object(payload)
        message = required_text(body, "message", max_length=MAX_TRANSCRIPT * 2)
        username = text(body, "username", max_length=200, required=False) or me.device_id
        timestamp, stream_start = number(body, "timestamp"), number(body, "streamstart")
        if me.user_id is None:
            raise SocketError("unauthorized", "sign in to add transcript lines")
        meeting = await self.deps.store.meetings.get(meeting_id)
        if meeting is None:
            raise SocketError("not_found", "meeting not found")
        if not meeting.get("transcriptEnabled") and not me.is_host:
            raise SocketError("forbidden", "transcription is turned off for this meeting")
        try:
            sealed, by_client = await trio.to_thread.run_sync(
                seal_line, self.deps.cipher, meeting_id, message, MAX_TRANSCRIPT, limiter=self.deps.crypto_limiter
            )
        except ValueError:
            raise SocketError("invalid_field", f"field 'message' is longer than {MAX_TRANSCRIPT} characters") from None
        line = await self.deps.store.transcripts.add(meeting_id=meeting_id, user_id=me.user_id, user_name=username,
                                                     ciphertext=sealed, by_client=by_client)  # fmt: skip
        event = {"sender": me.device_id, "meetingID": meeting_id, "username": username, "message": message,
                 "isHost": me.is_host, "timestamp": timestamp, "streamstart": stream_start}  # fmt: skip
        self.server.emit("transcript.new", event, to=f"meeting:{meeting_id}")
        return {"success": True, "data": {"_id": line["_id"]}}
