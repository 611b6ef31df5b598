"""User accounts: e-mail (unique, lower-cased), profile fields, password hash and role."""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING

from altegon_rt.store.base import Repository, now, shape, to_oid

ROLES = ("user", "admin")


class EmailTaken(Exception):
    """An account with this e-mail exists already."""


class UserRepository(Repository):
    COLLECTION = "users"
    INDEXES = [([("email", ASCENDING)], {"unique": True, "name": "email_unique"})]

    async def create(self, profile: dict[str, Any], password_hash: str, role: str = "user") -> dict[str, Any]:
        """Insert an account; raise :class:`EmailTaken` if the e-mail is registered."""
        assert role in ROLES
        stamp = now()
        doc = {**profile, "passwordHash": password_hash, "role": role, "createdAt": stamp, "updatedAt": stamp}
        return await self._insert_unique(doc, EmailTaken(profile["email"]))

    async def by_email(self, email: str) -> dict[str, Any] | None:
        return shape(await self._store.call(lambda: self._coll().find_one({"email": email})))

    async def by_id(self, user_id: str) -> dict[str, Any] | None:
        oid = to_oid(user_id)
        if oid is None:
            return None
        return shape(await self._store.call(lambda: self._coll().find_one({"_id": oid})))

    async def exists(self, user_id: str) -> bool:
        oid = to_oid(user_id)
        if oid is None:
            return False
        found = await self._store.call(lambda: self._coll().find_one({"_id": oid}, {"_id": 1}))
        return found is not None

    async def set_admin(self, email: str, password_hash: str) -> bool:
        """Make an existing account an admin with a new password; False when there is no such account."""

        def _update() -> bool:
            result = self._coll().update_one(
                {"email": email},
                {"$set": {"role": "admin", "passwordHash": password_hash, "updatedAt": now()}},
            )
            return result.matched_count == 1

        return await self._store.call(_update)
