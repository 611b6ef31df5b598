"""Metadata of room files: original and shown names, size, digest, uploader; the bytes live on disk."""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING

from altegon_rt.store.base import Repository, now, shape

MAX_FILES = 1000


class NameTaken(Exception):
    """The room already has a file shown under this name."""


class FileRepository(Repository):
    COLLECTION = "files"
    INDEXES = [([("roomId", ASCENDING), ("filename", ASCENDING)], {"unique": True, "name": "room_filename"})]

    async def add(self, record: dict[str, Any]) -> dict[str, Any]:
        doc = {**record, "uploadDate": now()}
        return await self._insert_unique(doc, NameTaken(record["filename"]))

    async def get(self, room_id: str, filename: str) -> dict[str, Any] | None:
        return shape(await self._store.call(lambda: self._coll().find_one({"roomId": room_id, "filename": filename})))

    async def names_like(self, room_id: str, prefix: str) -> set[str]:
        def _find() -> set[str]:
            cursor = self._coll().find({"roomId": room_id}, {"filename": 1}).limit(MAX_FILES * 10)
            return {d["filename"] for d in cursor if d["filename"].startswith(prefix)}

        return await self._store.call(_find)

    async def count(self, room_id: str) -> int:
        return await self._store.call(lambda: self._coll().count_documents({"roomId": room_id}))

    async def delete_room(self, room_id: str) -> int:
        return (await self._store.call(lambda: self._coll().delete_many({"roomId": room_id}))).deleted_count
