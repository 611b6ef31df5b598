"""RealtimeKit storage: API tokens, apps, meetings, participants and presets (UUID ids, snake_case fields).

Every RealtimeKit object but a token lives in an app of an account, and every read and write here is scoped
by ``app_id`` (apps by ``account_id``), so an id from another app is simply not found. Ids are UUID strings
stored as ``_id``; ``created_at``/``updated_at`` are UTC datetimes.
"""

from __future__ import annotations

import re
import uuid
from typing import Any, ClassVar

from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.errors import DuplicateKeyError

from altegon_rt.store.base import Repository, now

MAX_TOKENS_LISTED = 1000


class NameTaken(Exception):
    """A unique name (a preset's, a participant's custom id) is in use in its scope."""


def new_uuid() -> str:
    return str(uuid.uuid4())


class RtkTokenRepository(Repository):
    """API tokens: a public ``prefix`` finds the record, only a SHA-256 digest of the token is stored."""

    COLLECTION = "rtk_api_tokens"
    INDEXES = [([("prefix", ASCENDING)], {"unique": True, "name": "prefix_unique"})]

    async def create(self, *, account_id: str, name: str, prefix: str, digest: str, created_by: str) -> dict:
        doc = {
            "_id": new_uuid(),
            "account_id": account_id,
            "name": name,
            "prefix": prefix,
            "digest": digest,
            "created_by": created_by,
            "created_at": now(),
            "revoked_at": None,
        }
        await self._store.call(lambda: self._coll().insert_one(doc))
        return doc

    async def by_prefix(self, prefix: str) -> dict[str, Any] | None:
        return await self._store.call(lambda: self._coll().find_one({"prefix": prefix}))

    async def list(self, account_id: str | None) -> list[dict[str, Any]]:
        query = {} if account_id is None else {"account_id": account_id}

        def _find() -> list[dict[str, Any]]:
            cursor = self._coll().find(query, {"digest": 0}).sort("created_at", DESCENDING)
            return list(cursor.limit(MAX_TOKENS_LISTED))

        return await self._store.call(_find)

    async def revoke(self, token_id: str) -> bool:
        result = await self._store.call(
            lambda: self._coll().update_one({"_id": token_id, "revoked_at": None}, {"$set": {"revoked_at": now()}})
        )
        return result.matched_count == 1


class RtkAppRepository(Repository):
    COLLECTION = "rtk_apps"
    INDEXES = [([("account_id", ASCENDING), ("created_at", ASCENDING)], {"name": "account_created"})]

    async def create(self, account_id: str, name: str) -> dict[str, Any]:
        doc = {"_id": new_uuid(), "account_id": account_id, "name": name, "created_at": now()}
        await self._store.call(lambda: self._coll().insert_one(doc))
        return doc

    async def get(self, account_id: str, app_id: str) -> dict[str, Any] | None:
        return await self._store.call(lambda: self._coll().find_one({"_id": app_id, "account_id": account_id}))

    async def list(self, account_id: str) -> list[dict[str, Any]]:
        def _find() -> list[dict[str, Any]]:
            return list(self._coll().find({"account_id": account_id}).sort("created_at", ASCENDING).limit(1000))

        return await self._store.call(_find)


class ScopedRepository(Repository):
    """Objects of one app: create, get, page through, update, replace and delete, always within ``app_id``."""

    SORT: ClassVar[list[tuple[str, int]]] = [("created_at", DESCENDING), ("_id", DESCENDING)]

    async def create(self, app_id: str, fields: dict[str, Any], *, scope: dict[str, Any] | None = None) -> dict:
        stamp = now()
        doc = {"_id": new_uuid(), "app_id": app_id, **(scope or {}), **fields, "created_at": stamp, "updated_at": stamp}
        return await self._insert_unique(doc, NameTaken())

    async def get(self, app_id: str, object_id: str, **scope: Any) -> dict[str, Any] | None:
        return await self._store.call(lambda: self._coll().find_one({"_id": object_id, "app_id": app_id, **scope}))

    async def find_one(self, app_id: str, **match: Any) -> dict[str, Any] | None:
        return await self._store.call(lambda: self._coll().find_one({"app_id": app_id, **match}))

    async def page(self, app_id: str, match: dict[str, Any], skip: int, limit: int) -> tuple[list[dict], int]:
        """One page of the app's objects matching ``match``, newest first, and how many match in all."""
        query = {"app_id": app_id, **match}

        def _find() -> tuple[list[dict[str, Any]], int]:
            total = self._coll().count_documents(query)
            if skip >= total:
                return [], total
            return list(self._coll().find(query).sort(self.SORT).skip(skip).limit(limit)), total

        return await self._store.call(_find)

    async def set_fields(
        self, app_id: str, object_id: str, fields: dict[str, Any], *, unset: tuple[str, ...] = (), **scope: Any
    ) -> dict[str, Any] | None:
        """Set ``fields`` (and remove ``unset``); the object after the change, or None when there is none."""
        change: dict[str, Any] = {"$set": {**fields, "updated_at": now()}}
        if unset:
            change["$unset"] = dict.fromkeys(unset, "")

        def _update() -> dict[str, Any] | None:
            return self._coll().find_one_and_update(  # type: ignore[no-any-return]
                {"_id": object_id, "app_id": app_id, **scope}, change, return_document=ReturnDocument.AFTER
            )

        return await self._store.call(_update)

    async def delete(self, app_id: str, object_id: str, **scope: Any) -> dict[str, Any] | None:
        return await self._store.call(
            lambda: self._coll().find_one_and_delete({"_id": object_id, "app_id": app_id, **scope})
        )


def title_search(text: str) -> dict[str, Any]:
    """A case-insensitive substring match on ``title`` (the text is a literal, not a pattern)."""
    return {"title": {"$regex": re.escape(text), "$options": "i"}}


class RtkMeetingRepository(ScopedRepository):
    COLLECTION = "rtk_meetings"
    INDEXES = [([("app_id", ASCENDING), ("created_at", DESCENDING), ("_id", DESCENDING)], {"name": "app_created"})]


class RtkParticipantRepository(ScopedRepository):
    COLLECTION = "rtk_participants"
    INDEXES = [
        ([("meeting_id", ASCENDING), ("custom_participant_id", ASCENDING)], {"unique": True, "name": "custom_id"}),
        ([("meeting_id", ASCENDING), ("created_at", DESCENDING), ("_id", DESCENDING)], {"name": "meeting_created"}),
    ]


class RtkPresetRepository(ScopedRepository):
    COLLECTION = "rtk_presets"
    INDEXES = [([("app_id", ASCENDING), ("name", ASCENDING)], {"unique": True, "name": "app_name"})]

    async def replace_fields(self, app_id: str, preset_id: str, fields: dict[str, Any]) -> dict[str, Any] | None:
        """Set the preset's document fields; NameTaken when the new name is another preset's."""
        try:
            return await self.set_fields(app_id, preset_id, fields)
        except DuplicateKeyError:
            raise NameTaken() from None
