"""Recordings: who recorded which stream in which room, when it started and stopped, and its status.

Owns the ``recordings`` collection. A recording is running while its ``endTime`` is null; stopping sets it
once, atomically, so two stops of one recording cannot both succeed. The recording server socket composes
a recording's tracks into one MP4 and marks its status (``processing``, ``ready`` with ``fileName`` and
``fileSize``, or ``failed`` with ``error``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pymongo import ASCENDING, DESCENDING, ReturnDocument

from altegon_rt.store.base import Repository, now, shape

MAX_LIST = 1000
STOPPED = "stopped"
COMPOSING = ("processing", "ready", "failed")  # statuses the recording server sets


class RecordingIdTaken(Exception):
    """A recording with this recordingId exists already."""


class RecordingRepository(Repository):
    COLLECTION = "recordings"
    INDEXES = [
        ([("recordingId", ASCENDING)], {"unique": True, "name": "recording_id_unique"}),
        # _id breaks ties between recordings made in the same millisecond, so the list order is stable.
        ([("ownerId", ASCENDING), ("createdAt", DESCENDING), ("_id", DESCENDING)], {"name": "owner_created"}),
    ]

    async def create(self, owner_id: str, fields: dict[str, Any]) -> dict[str, Any]:
        """Insert a running recording; raise :class:`RecordingIdTaken` if its recordingId is in use.

        ``fields`` holds roomId, userName, streamId, recordingId, startTime, videoType and status.
        """
        stamp = now()
        doc = {**fields, "ownerId": owner_id, "endTime": None, "createdAt": stamp, "updatedAt": stamp}
        return await self._insert_unique(doc, RecordingIdTaken(fields["recordingId"]))

    async def by_recording_id(self, recording_id: str) -> dict[str, Any] | None:
        return shape(await self._store.call(lambda: self._coll().find_one({"recordingId": recording_id})))

    async def stop(self, recording_id: str, end_time: dt.datetime) -> dict[str, Any] | None:
        """Set the end time of a running recording; the stopped recording, or None if it was not running.

        Its status becomes ``stopped``, unless the recording server has composed it (or is composing it) already:
        a late stop must not hide that its MP4 is ready.
        """
        stamp = now()

        def _stop() -> dict[str, Any] | None:
            coll, after = self._coll(), ReturnDocument.AFTER
            running = {"recordingId": recording_id, "endTime": None}
            stopped = coll.find_one_and_update(
                {**running, "status": {"$nin": list(COMPOSING)}},
                {"$set": {"endTime": end_time, "status": STOPPED, "updatedAt": stamp}},
                return_document=after,
            )
            if stopped is None:
                change = {"$set": {"endTime": end_time, "updatedAt": stamp}}
                stopped = coll.find_one_and_update(running, change, return_document=after)
            return stopped

        return shape(await self._store.call(_stop))

    async def set_status(self, recording_id: str, status: str, **fields: Any) -> None:
        """Set the status (and fields such as ``fileName``) of a recording, e.g. while the recording server composes
        it: ``processing``, then ``ready`` or ``failed``."""
        change = {"$set": {**fields, "status": status, "updatedAt": now()}}
        await self._store.call(lambda: self._coll().update_one({"recordingId": recording_id}, change))

    async def list_for(self, owner_id: str | None) -> list[dict[str, Any]]:
        """An owner's recordings (everyone's for None), newest first, at most :data:`MAX_LIST`."""
        query = {} if owner_id is None else {"ownerId": owner_id}

        def _find() -> list[dict[str, Any]]:
            cursor = self._coll().find(query).sort([("createdAt", DESCENDING), ("_id", DESCENDING)]).limit(MAX_LIST)
            return [shape(doc) for doc in cursor]  # type: ignore[misc]

        return await self._store.call(_find)
