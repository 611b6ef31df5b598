"""API keys for the ``x-api-key`` header: stored as a SHA-256 digest, looked up by a public prefix."""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING, DESCENDING

from altegon_rt.store.base import Repository, now, shape, to_oid


class ApiKeyRepository(Repository):
    COLLECTION = "api_keys"
    INDEXES = [([("prefix", ASCENDING)], {"unique": True, "name": "prefix_unique"})]

    async def create(self, *, prefix: str, digest: str, user_id: str, name: str, created_by: str) -> str:
        doc = {
            "prefix": prefix,
            "digest": digest,
            "userId": user_id,
            "name": name,
            "createdBy": created_by,
            "createdAt": now(),
            "revokedAt": None,
        }
        result = await self._store.call(lambda: self._coll().insert_one(doc))
        return str(result.inserted_id)

    async def by_prefix(self, prefix: str) -> dict[str, Any] | None:
        return shape(await self._store.call(lambda: self._coll().find_one({"prefix": prefix})))

    async def list_all(self) -> list[dict[str, Any]]:
        def _find() -> list[dict[str, Any]]:
            cursor = self._coll().find({}, {"digest": 0}).sort("createdAt", DESCENDING).limit(1000)
            return [shape(d) for d in cursor]  # type: ignore[misc]

        return await self._store.call(_find)

    async def revoke(self, key_id: str) -> bool:
        oid = to_oid(key_id)
        if oid is None:
            return False
        result = await self._store.call(
            lambda: self._coll().update_one({"_id": oid, "revokedAt": None}, {"$set": {"revokedAt": now()}})
        )
        return result.matched_count == 1
