"""Meeting summaries, one per meeting, stored encrypted: the repository sees only ciphertext."""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING
from pymongo.errors import DuplicateKeyError

from altegon_rt.store.base import Repository, now, shape


class SummaryRepository(Repository):
    COLLECTION = "summaries"
    INDEXES = [([("meetingId", ASCENDING)], {"name": "meeting", "unique": True})]

    async def put(self, *, meeting_id: str, summary: str, notes: str, provider: str, user_id: str) -> None:
        """Store (or replace) the meeting's summary; ``summary`` and ``notes`` are ciphertexts."""
        stamp = now()
        doc = {
            "meetingId": meeting_id,
            "summary": summary,
            "notes": notes,
            "isEncrypted": True,
            "provider": provider,
            "generatedBy": user_id,
            "updatedAt": stamp,
        }
        change = {"$set": doc, "$setOnInsert": {"createdAt": stamp}}

        def _upsert() -> None:
            try:
                self._coll().update_one({"meetingId": meeting_id}, change, upsert=True)
            except DuplicateKeyError:
                # Two generations raced and both tried to insert: the other one's document exists now.
                self._coll().update_one({"meetingId": meeting_id}, change)

        await self._store.call(_upsert)

    async def get(self, meeting_id: str) -> dict[str, Any] | None:
        return shape(await self._store.call(lambda: self._coll().find_one({"meetingId": meeting_id})))
