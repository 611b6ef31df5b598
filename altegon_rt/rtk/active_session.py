"""A meeting's active session over REST: get it, kick participants or everyone, create a poll.

These act on the live session of :mod:`altegon_rt.rtk.sessions` (404 ``no_active_session`` when the meeting has
none). A kick really disconnects: each kicked socket gets ``participant:kicked`` and its connection is closed,
which makes it leave the SFU room (its transports, producers and consumers close; the others get
``producerClosed`` and ``peerLeft``). A kicked participant may join again with its token. A poll is delivered
to the participants whose preset may view polls as ``poll:new`` on the SFU socket; votes arrive as
``poll:vote`` and are counted in the poll, which the active session answers in ``meta.polls``.
"""

from __future__ import annotations

from typing import Any

from altegon_rt.api.routing import Call, Reply
from altegon_rt.errors import BadRequest, Conflict, NotFound
from altegon_rt.rtk.http import APP_ID, ok, rtk_route
from altegon_rt.rtk.jsonschema import DATE_TIME, Body, envelope, obj, string
from altegon_rt.rtk.meetings import MEETING_ID, _meeting
from altegon_rt.rtk.polls import POLL, POLL_REQUEST, Poll
from altegon_rt.rtk.session_schema import SESSION
from altegon_rt.rtk.sessions import LivePeer, LiveSession
from altegon_rt.sio.server import SocketError
from altegon_rt.store.base import now

TAG = "realtimekit active session"
NOT_FOUND = {404: "No such app or meeting, or the meeting has no active session"}
KICKED = obj(
    {"id": string("ID of the session participant", max_length=64), "created_at": DATE_TIME, "updated_at": DATE_TIME,
     "email": string(max_length=256), "name": {**string(max_length=256), "type": ["string", "null"]},
     "picture": {**string(max_length=2048), "type": ["string", "null"]}},
    ("id", "created_at", "updated_at"),
)  # fmt: skip
UUID_LIST = {"type": "array", "items": {"type": "string", "maxLength": 256}, "maxItems": 100}
KICK = Body("RtkKickRequest", obj({"participant_ids": UUID_LIST, "custom_participant_ids": UUID_LIST}))
CREATE_POLL = Body("RtkCreatePollRequest", POLL_REQUEST)


async def _active(call: Call) -> LiveSession:
    await _meeting(call)
    tracker, _, _ = call.services.rtk.live
    session = tracker.by_meeting.get(call.path["meeting_id"])
    if session is None:
        raise NotFound("this meeting has no active session", code="no_active_session")
    return session


def _kicked(lives: list[LivePeer]) -> list[dict[str, Any]]:
    seen: dict[str, dict[str, Any]] = {}
    for live in lives:
        p = live.principal
        seen.setdefault(p.participant_id, {"id": p.participant_id, "created_at": live.joined_at,
                                           "updated_at": live.joined_at, "name": p.name, "picture": None})  # fmt: skip
    return list(seen.values())


@rtk_route(
    "GET",
    "/{app_id}/meetings/{meeting_id}/active-session",
    tag=TAG,
    params=(APP_ID, MEETING_ID),
    summary="Fetch details of an active session (its polls in meta.polls)",
    ok=(200, envelope(SESSION)),
    responses={200: "The active session", 400: "Invalid id", **NOT_FOUND},
)
async def rtk_get_active_session(call: Call) -> Reply:
    return ok((await _active(call)).readable(now()))


@rtk_route(
    "POST",
    "/{app_id}/meetings/{meeting_id}/active-session/kick",
    tag=TAG,
    params=(APP_ID, MEETING_ID),
    body=KICK,
    audit="rtk.session.kick",
    summary="Kick participants (by participant_ids or custom_participant_ids): their sockets are disconnected",
    ok=(200, envelope(obj({"action": string(max_length=32), "participants": {"type": "array", "items": KICKED}}))),
    responses={200: "Who was kicked", 400: "Neither list given", **NOT_FOUND},
)
async def rtk_kick(call: Call) -> Reply:
    ids = set(call.body.get("participant_ids") or ())
    custom = set(call.body.get("custom_participant_ids") or ())
    if not ids and not custom:
        raise BadRequest("give participant_ids or custom_participant_ids", code="missing_field")
    session = await _active(call)
    _, _, policy = call.services.rtk.live
    lives = [lp for lp in session.peers.values()
             if lp.principal.participant_id in ids or lp.principal.custom_participant_id in custom]  # fmt: skip
    call.target = {"type": "rtkSession", "id": session.id, "kicked": len(lives)}
    policy.kick(lives, "kicked by the meeting's administrator")
    return ok({"action": "kick", "participants": _kicked(lives)})


@rtk_route(
    "POST",
    "/{app_id}/meetings/{meeting_id}/active-session/kick-all",
    tag=TAG,
    params=(APP_ID, MEETING_ID),
    audit="rtk.session.kick_all",
    summary="Kick every participant of the active session",
    ok=(200, envelope(obj({"action": string(max_length=32), "kicked_participants_count": {"type": "integer"}}))),
    responses={200: "How many were kicked", 400: "Invalid id", **NOT_FOUND},
)
async def rtk_kick_all(call: Call) -> Reply:
    session = await _active(call)
    _, _, policy = call.services.rtk.live
    lives = list(session.peers.values())
    call.target = {"type": "rtkSession", "id": session.id, "kicked": len(lives)}
    policy.kick(lives, "everyone was kicked by the meeting's administrator")
    return ok({"action": "kick_all", "kicked_participants_count": len(_kicked(lives))})


@rtk_route(
    "POST",
    "/{app_id}/meetings/{meeting_id}/active-session/poll",
    tag=TAG,
    params=(APP_ID, MEETING_ID),
    body=CREATE_POLL,
    audit="rtk.session.poll",
    summary="Create a poll: delivered to the session's participants (poll:new on the SFU socket)",
    ok=(201, envelope(obj({"action": string(max_length=32), "poll": POLL}, ("poll",)))),
    responses={201: "The poll", 400: "Invalid field", **NOT_FOUND, 409: "The session holds too many polls"},
)
async def rtk_create_poll(call: Call) -> Reply:
    session = await _active(call)
    _, _, policy = call.services.rtk.live
    poll = Poll.from_request(call.body, "api")
    try:
        policy.publish_poll(session, poll)
    except SocketError as exc:
        raise Conflict(exc.message, code=exc.code) from None
    call.target = {"type": "rtkPoll", "id": poll.id, "sessionId": session.id}
    return ok({"action": "create", "poll": poll.readable()}, 201)


ROUTES = (rtk_get_active_session, rtk_kick, rtk_kick_all, rtk_create_poll)
