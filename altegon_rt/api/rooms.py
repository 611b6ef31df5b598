"""Rooms: ``POST /room/create``."""

from __future__ import annotations

from altegon_rt.api.routing import Call, Reply, endpoint
from altegon_rt.api.schema import Field, Schema

CREATE_ROOM = Schema(
    "CreateRoomRequest",
    (
        Field("name", "string", max_length=200, description="Room name", example="Weekly sync"),
        Field("type", "string", max_length=32, description='Room type, e.g. "meeting", "conference"',
              example="conference"),
        Field("maxParticipants", "integer", required=False, minimum=1, maximum=100_000,
              description="Maximum number of participants"),
        Field("isPrivate", "boolean", required=False, description="Whether the room is private"),
        Field("p2p", "boolean", required=False, description="Peer-to-peer media instead of the SFU"),
    ),
)  # fmt: skip


@endpoint(
    "POST", "/room/create", tag="rooms", body=CREATE_ROOM, audit="room.create",
    summary="Create a room for meetings or conferences; the caller owns it",
    responses={201: "Room created", 400: "Missing or invalid field", 401: "Not signed in"},
    example={"success": True, "data": {"id": "68aff60d0d7bbb02c917906d", "name": "Weekly sync",
             "type": "conference", "p2p": True}, "msg": "Room created Successfully!"},
)  # fmt: skip
async def create_room(call: Call) -> Reply:
    settings = {"isPrivate": False, "p2p": False, **call.body}
    room = await call.services.store.rooms.create(call.user.user_id, settings)
    call.target = {"type": "room", "id": room["_id"]}
    data = {"id": room["_id"], **{k: room[k] for k in ("name", "type", "p2p", "isPrivate")}}
    if "maxParticipants" in room:
        data["maxParticipants"] = room["maxParticipants"]
    return Reply(201, {"success": True, "data": data, "msg": "Room created Successfully!"})


ROUTES = (create_room,)
