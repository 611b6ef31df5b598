"""Rooms: the virtual places meetings run in, with their owner and limits."""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING

from altegon_rt.store.base import Repository, now, shape, to_oid


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
