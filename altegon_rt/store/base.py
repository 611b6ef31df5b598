"""What every repository shares: id conversion, document shaping, and the handle on the Store."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any, ClassVar

from bson import ObjectId
from bson.errors import InvalidId
from pymongo.errors import DuplicateKeyError

if TYPE_CHECKING:
    from altegon_rt.store.gateway import Store

Index = tuple[list[tuple[str, int]], dict[str, Any]]


def now() -> dt.datetime:
    # Mongo stores milliseconds; truncating here makes what we return equal what we read back later.
    t = dt.datetime.now(dt.UTC)
    return t.replace(microsecond=t.microsecond // 1000 * 1000)


def to_oid(value: str) -> ObjectId | None:
    """The ObjectId for a 24-hex string, or None when it is not one (so: no such object)."""
    try:
        return ObjectId(value)
    except (InvalidId, TypeError):
        return None


def new_id() -> str:
    return str(ObjectId())


def shape(doc: dict[str, Any] | None) -> dict[str, Any] | None:
    """A stored document with its ObjectId turned into the 24-hex string the API speaks."""
    if doc is None:
        return None
    out = dict(doc)
    if isinstance(out.get("_id"), ObjectId):
        out["_id"] = str(out["_id"])
    return out


class Repository:
    """One collection. Subclasses list their indexes; :class:`Store` creates them at start."""

    COLLECTION: ClassVar[str]
    INDEXES: ClassVar[list[Index]] = []
    DURABLE: ClassVar[bool] = True

    def __init__(self, store: Store) -> None:
        self._store = store

    def _coll(self, durable: bool | None = None) -> Any:
        return self._store.collection(self.COLLECTION, durable=self.DURABLE if durable is None else durable)

    async def _insert_unique(self, doc: dict[str, Any], taken: Exception) -> dict[str, Any]:
        """Insert ``doc``; raise ``taken`` if a unique index refuses it. The stored doc with its string id."""

        def _insert() -> dict[str, Any]:
            try:
                result = self._coll().insert_one(doc)
            except DuplicateKeyError:
                raise taken from None
            return {**doc, "_id": str(result.inserted_id)}

        return await self._store.call(_insert)
