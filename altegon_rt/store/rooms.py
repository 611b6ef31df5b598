"""Rooms: the virtual places meetings run in, with their owner, limits and members.

A room's members are the signed-in users who have joined it through the realtime layer (``members``, at
most :data:`MAX_MEMBERS` ids); with the owner they may read and add the room's files.
"""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING

from altegon_rt.store.base import Repository, now, shape, to_oid

MAX_MEMBERS = 10_000


def is_member(room: dict[str, Any], user_id: str) -> bool:
    return user_id == room.get("ownerId") or user_id in room.get("members", ())


class RoomRepository(Repository):
    COLLECTION = "rooms"
    INDEXES = [([("ownerId", ASCENDING)], {"name": "owner"})]

    async def create(self, owner_id: str, settings: dict[str, Any]) -> dict[str, Any]:
        doc = {**settings, "ownerId": owner_id, "createdAt": now()}
        result = await self._store.call(lambda: self._coll().insert_one(doc))
        return {**doc, "_id": str(result.inserted_id)}

    async def get(self, room_id: str) -> dict[str, Any] | None:
        oid = to_oid(room_id)
        if oid is None:
            return None
        return shape(await self._store.call(lambda: self._coll().find_one({"_id": oid})))

    async def add_member(self, room_id: str, user_id: str) -> bool:
        """Record that ``user_id`` joined the room; ``False`` when the room is missing or full of members."""
        oid = to_oid(room_id)
        if oid is None:
            return False
        query = {"_id": oid, f"members.{MAX_MEMBERS - 1}": {"$exists": False}}
        change = {"$addToSet": {"members": user_id}}
        result = await self._store.call(lambda: self._coll().update_one(query, change))
        return result.matched_count == 1
