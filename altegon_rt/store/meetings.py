"""Meetings: title, host, transcript and summary flags, the room they run in, their recordings."""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING, DESCENDING

from altegon_rt.store.base import Repository, now, shape, to_oid

MAX_LIST = 1000


class MeetingRepository(Repository):
    COLLECTION = "meetings"
    INDEXES = [([("hostId", ASCENDING), ("createdAt", DESCENDING)], {"name": "host_created"})]

    async def create(self, title: str, host_id: str, transcript_enabled: bool) -> str:
        stamp = now()
        doc = {
            "title": title,
            "hostId": host_id,
            "transcriptEnabled": transcript_enabled,
            "summaryGenerated": False,
            "recordingIds": [],
            "createdAt": stamp,
            "updatedAt": stamp,
        }
        result = await self._store.call(lambda: self._coll().insert_one(doc))
        return str(result.inserted_id)

    async def get(self, meeting_id: str) -> dict[str, Any] | None:
        oid = to_oid(meeting_id)
        if oid is None:
            return None
        return shape(await self._store.call(lambda: self._coll().find_one({"_id": oid})))

    async def update(self, meeting_id: str, fields: dict[str, Any], recording_id: str | None) -> bool:
        """Set ``fields`` and add ``recording_id`` to the meeting's recordings; False if it is gone."""
        oid = to_oid(meeting_id)
        if oid is None:
            return False
        change: dict[str, Any] = {"$set": {**fields, "updatedAt": now()}}
        if recording_id is not None:
            change["$addToSet"] = {"recordingIds": recording_id}
        result = await self._store.call(lambda: self._coll().update_one({"_id": oid}, change))
        return result.matched_count == 1

    async def list_for_host(self, host_id: str, limit: int = MAX_LIST) -> list[dict[str, Any]]:
        """The host's meetings, newest first."""

        def _find() -> list[dict[str, Any]]:
            cursor = self._coll().find({"hostId": host_id}).sort("createdAt", DESCENDING).limit(limit)
            return [shape(doc) for doc in cursor]  # type: ignore[misc]

        return await self._store.call(_find)
