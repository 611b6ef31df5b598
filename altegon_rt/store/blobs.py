"""Recording blobs' metadata (``blobs``) and per-user storage limits (``storage_limits``); bytes live on disk.

A blob is one file of one recording: userId, roomId, recordingId, fileName (sanitised), fileSize, sha256,
uploadedAt and diskName. A user's usage is the sum of their blobs' sizes, computed when asked, so it cannot
drift from what is stored. A user without a row in ``storage_limits`` has the configured default limit.
"""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.errors import DuplicateKeyError

from altegon_rt.store.base import Repository, now, shape, to_oid

MAX_LIST = 1000


class BlobNameTaken(Exception):
    """The recording already has a file of this name."""


class BlobRepository(Repository):
    COLLECTION = "blobs"
    INDEXES = [
        ([("userId", ASCENDING), ("roomId", ASCENDING), ("recordingId", ASCENDING), ("fileName", ASCENDING)],
         {"unique": True, "name": "blob_unique"}),
        ([("userId", ASCENDING), ("uploadedAt", DESCENDING)], {"name": "user_uploaded"}),
    ]  # fmt: skip

    async def add(self, record: dict[str, Any]) -> dict[str, Any]:
        doc = {**record, "uploadedAt": now()}

        def _insert() -> dict[str, Any]:
            try:
                result = self._coll().insert_one(doc)
            except DuplicateKeyError:
                raise BlobNameTaken(record["fileName"]) from None
            return {**doc, "_id": str(result.inserted_id)}

        return await self._store.call(_insert)

    async def get(self, user_id: str, room_id: str, recording_id: str, file_name: str) -> dict[str, Any] | None:
        query = {"userId": user_id, "roomId": room_id, "recordingId": recording_id, "fileName": file_name}
        return shape(await self._store.call(lambda: self._coll().find_one(query)))

    async def delete(self, blob_id: Any) -> bool:
        oid = to_oid(blob_id) if isinstance(blob_id, str) else blob_id
        return (await self._store.call(lambda: self._coll().delete_one({"_id": oid}))).deleted_count == 1

    async def list_for(self, user_id: str) -> list[dict[str, Any]]:
        def _find() -> list[dict[str, Any]]:
            cursor = self._coll().find({"userId": user_id}).sort([("uploadedAt", DESCENDING)]).limit(MAX_LIST)
            return [shape(doc) for doc in cursor]  # type: ignore[misc]

        return await self._store.call(_find)

    async def usage(self, user_id: str) -> tuple[int, int]:
        """(total bytes, number of files) of one user."""
        pipeline = [
            {"$match": {"userId": user_id}},
            {"$group": {"_id": None, "total": {"$sum": "$fileSize"}, "count": {"$sum": 1}}},
        ]
        rows = await self._store.call(lambda: list(self._coll().aggregate(pipeline)))
        return (int(rows[0]["total"]), int(rows[0]["count"])) if rows else (0, 0)

    async def usage_by_user(self) -> dict[str, tuple[int, int]]:
        """(total bytes, number of files) of every user with blobs."""
        pipeline = [{"$group": {"_id": "$userId", "total": {"$sum": "$fileSize"}, "count": {"$sum": 1}}}]
        rows = await self._store.call(lambda: list(self._coll().aggregate(pipeline)))
        return {row["_id"]: (int(row["total"]), int(row["count"])) for row in rows}


class StorageLimitRepository(Repository):
    COLLECTION = "storage_limits"

    async def get(self, user_id: str) -> int | None:
        doc = await self._store.call(lambda: self._coll().find_one({"_id": user_id}))
        return int(doc["storageLimit"]) if doc else None

    async def set(self, user_id: str, limit: int) -> None:
        change = {"$set": {"storageLimit": limit, "updatedAt": now()}}
        await self._store.call(lambda: self._coll().update_one({"_id": user_id}, change, upsert=True))

    async def all(self) -> dict[str, int]:
        return await self._store.call(lambda: {d["_id"]: int(d["storageLimit"]) for d in self._coll().find({})})
