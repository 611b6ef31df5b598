"""Where recording blobs' bytes live: one interface, two back ends (the data dir, or Azure Blob Storage).

A blob is found by its :class:`BlobPlace` (user, room, recording) and a key the back end chose when writing
it (random hex, never derived from client text). The ``blobs`` collection records which back end holds each
blob, so turning Azure on or off in the config never makes a stored blob point at the wrong place: new
uploads go to the configured back end, and blobs written before stay readable where they are.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Protocol

from altegon_rt.errors import ServiceUnavailable
from altegon_rt.files.disk import Written

_HEX24 = re.compile(r"^[0-9a-f]{24}$")
_PLAIN = re.compile(r"^[A-Za-z0-9_-]{1,128}$")
DISK, AZURE = "disk", "azure"


class BlobMissing(Exception):
    """The back end has no bytes under this place and key."""


@dataclass(frozen=True, slots=True)
class BlobPlace:
    """The recording a blob belongs to; its :attr:`parts` are the folder names under which it is kept."""

    user_id: str
    room_id: str
    recording_id: str

    @classmethod
    def of(cls, doc: dict[str, Any]) -> BlobPlace:
        return cls(doc["userId"], doc["roomId"], doc["recordingId"])

    @property
    def parts(self) -> tuple[str, str, str]:
        """User and room ids (validated 24-hex) and the recording id, or its SHA-256 when it is not plain text.

        So no client-chosen character ever reaches a path or a blob name.
        """
        assert _HEX24.match(self.user_id) and _HEX24.match(self.room_id), "user and room ids are validated"
        rec = self.recording_id
        return self.user_id, self.room_id, rec if _PLAIN.match(rec) else hashlib.sha256(rec.encode()).hexdigest()


class BlobStore(Protocol):
    """What the storage routes need from a back end."""

    name: str  # recorded with each blob: "disk" or "azure"

    async def write(self, place: BlobPlace, chunks: AsyncIterator[bytes], max_bytes: int) -> Written:
        """Store ``chunks`` as a new blob; ``TooLarge`` past ``max_bytes``. On any error nothing is kept."""
        ...

    async def open(self, place: BlobPlace, key: str) -> AsyncIterator[bytes]:
        """The blob's bytes as chunks; :class:`BlobMissing` (before any byte) when it is not there."""
        ...

    async def remove(self, place: BlobPlace, key: str) -> None:
        """Delete the blob; one that is already gone is fine."""
        ...

    def signed_read_url(self, place: BlobPlace, key: str, *, file_name: str, expires: int, now: int) -> str:
        """A URL that downloads the blob without a login until ``expires`` (epoch s), as ``file_name``."""
        ...


class BlobStores:
    """The back end new uploads go to, and every configured back end by name (for blobs already stored)."""

    def __init__(self, current: BlobStore, *others: BlobStore) -> None:
        self.current = current
        self._by_name = {store.name: store for store in (current, *others)}

    def holding(self, doc: dict[str, Any]) -> BlobStore:
        """The back end that holds this blob (rows written before back ends were recorded are on disk)."""
        name = doc.get("backend", DISK)
        store = self._by_name.get(name)
        if store is None:
            raise ServiceUnavailable(
                f"this file is kept in {'Azure Blob Storage' if name == AZURE else name!r}, "
                "which is not configured on this server",
                code="blob_backend_not_configured",
            )
        return store
