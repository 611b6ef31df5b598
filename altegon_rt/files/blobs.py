"""Recording blobs on disk: ``<data dir>/blobs/<userId>/<roomId>/<recordingId>/<random id>`` (the embedded store).

The folder parts are ids the API validated (24-hex user and room ids); a recording id that is not plain
``[A-Za-z0-9_-]`` becomes its SHA-256, so no client-chosen text reaches a path. File names are random hex, as
for room files; the shown name lives in the ``blobs`` collection only.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import AsyncIterator
from pathlib import Path

import trio

from altegon_rt.files.disk import Written, read_chunks, write_new

_HEX24 = re.compile(r"^[0-9a-f]{24}$")
_PLAIN = re.compile(r"^[A-Za-z0-9_-]{1,128}$")
_DISK_NAME = re.compile(r"^[0-9a-f]{32}$")


class BlobDisk:
    def __init__(self, data_dir: Path) -> None:
        self._root = data_dir / "blobs"

    def folder(self, user_id: str, room_id: str, recording_id: str) -> Path:
        assert _HEX24.match(user_id) and _HEX24.match(room_id), "user and room ids are validated 24-hex strings"
        part = recording_id if _PLAIN.match(recording_id) else hashlib.sha256(recording_id.encode()).hexdigest()
        return self._root / user_id / room_id / part

    def _path(self, folder: Path, disk_name: str) -> Path:
        assert _DISK_NAME.match(disk_name), "disk names are ours"
        return folder / disk_name

    async def write(self, folder: Path, chunks: AsyncIterator[bytes], max_bytes: int) -> Written:
        return await write_new(folder, chunks, max_bytes)

    async def read(self, folder: Path, disk_name: str) -> AsyncIterator[bytes]:
        async for chunk in read_chunks(self._path(folder, disk_name)):
            yield chunk

    async def exists(self, folder: Path, disk_name: str) -> bool:
        return await trio.Path(self._path(folder, disk_name)).is_file()

    async def remove(self, folder: Path, disk_name: str) -> None:
        path = self._path(folder, disk_name)
        await trio.to_thread.run_sync(lambda: os.unlink(path) if path.exists() else None)
