"""Recording blobs on disk: ``<data dir>/blobs/<userId>/<roomId>/<recordingId>/<random id>`` (the embedded store).

The folder parts come from :class:`BlobPlace` (validated ids; a recording id that is not plain text becomes its
SHA-256). File names are random hex, as for room files; the shown name lives in the ``blobs`` collection only.
Signed read URLs point at our own ``GET /blob/{token}`` (``files/signing.py``).
"""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import quote

import trio

from altegon_rt.files.blobstore import DISK, BlobMissing, BlobPlace
from altegon_rt.files.disk import Written, read_chunks, write_new
from altegon_rt.files.signing import UrlSigner

_DISK_NAME = re.compile(r"^[0-9a-f]{32}$")


class BlobDisk:
    """The embedded back end: files under the data dir, links signed with our own key."""

    name = DISK

    def __init__(self, data_dir: Path, signer: UrlSigner) -> None:
        self._root = data_dir / "blobs"
        self._signer = signer

    def folder(self, place: BlobPlace) -> Path:
        return self._root.joinpath(*place.parts)

    def _path(self, place: BlobPlace, key: str) -> Path:
        assert _DISK_NAME.match(key), "disk names are ours"
        return self.folder(place) / key

    async def write(self, place: BlobPlace, chunks: AsyncIterator[bytes], max_bytes: int) -> Written:
        return await write_new(self.folder(place), chunks, max_bytes)

    async def open(self, place: BlobPlace, key: str) -> AsyncIterator[bytes]:
        path = self._path(place, key)
        if not await trio.Path(path).is_file():
            raise BlobMissing(key)
        return read_chunks(path)

    async def remove(self, place: BlobPlace, key: str) -> None:
        path = self._path(place, key)
        await trio.to_thread.run_sync(lambda: os.unlink(path) if path.exists() else None)

    def signed_read_url(self, place: BlobPlace, key: str, *, file_name: str, expires: int, now: int) -> str:
        # The token names the file as the API does (user/room/recording/name), so GET /blob/{token} finds its row.
        parts = (place.user_id, place.room_id, place.recording_id, file_name)
        return "/blob/" + self._signer.sign("/".join(quote(p, safe="") for p in parts), expires)
