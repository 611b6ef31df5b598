"""Room files on disk: ``<data dir>/files/documents/<roomId>/<random id>``, written and read in chunks.

Disk names are random hex chosen here, never derived from what the client sent, so no name can reach
outside the room's folder. Writes go to a ``.part`` file first and are renamed into place when complete.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import trio

CHUNK = 256 * 1024
_ROOM = set("0123456789abcdef")


@dataclass(frozen=True, slots=True)
class Written:
    disk_name: str
    size: int
    sha256: str


class TooLarge(Exception):
    """More bytes arrived than the upload limit allows."""


async def write_new(folder: Path, chunks: AsyncIterator[bytes], max_bytes: int) -> Written:
    """Stream ``chunks`` into a new randomly named file of ``folder`` (``.part`` first, renamed when complete).

    :class:`TooLarge` as soon as more than ``max_bytes`` arrived; on any error nothing is left behind.
    """
    await trio.to_thread.run_sync(lambda: folder.mkdir(mode=0o700, parents=True, exist_ok=True))
    disk_name = secrets.token_hex(16)
    part = trio.Path(folder / f"{disk_name}.part")
    digest, size = hashlib.sha256(), 0
    try:
        async with await trio.open_file(part, "wb") as out:
            async for chunk in chunks:
                size += len(chunk)
                if size > max_bytes:
                    raise TooLarge
                digest.update(chunk)
                await out.write(chunk)
        await part.rename(folder / disk_name)
    except BaseException:
        with trio.CancelScope(shield=True):
            await part.unlink(missing_ok=True)
        raise
    return Written(disk_name, size, digest.hexdigest())


async def read_chunks(path: Path) -> AsyncIterator[bytes]:
    async with await trio.open_file(path, "rb") as src:
        while chunk := await src.read(CHUNK):
            yield chunk


class FileDisk:
    def __init__(self, data_dir: Path) -> None:
        self._root = data_dir / "files" / "documents"

    def _room_dir(self, room_id: str) -> Path:
        assert len(room_id) == 24 and set(room_id) <= _ROOM, "room ids are validated 24-hex strings"
        return self._root / room_id

    async def write(self, room_id: str, chunks: AsyncIterator[bytes], max_bytes: int) -> Written:
        """Stream ``chunks`` into a new file of the room; removed again if anything goes wrong."""
        return await write_new(self._room_dir(room_id), chunks, max_bytes)

    async def read(self, room_id: str, disk_name: str) -> AsyncIterator[bytes]:
        async for chunk in read_chunks(self._room_dir(room_id) / disk_name):
            yield chunk

    async def exists(self, room_id: str, disk_name: str) -> bool:
        return await trio.Path(self._room_dir(room_id) / disk_name).is_file()

    async def remove_room(self, room_id: str) -> None:
        folder = self._room_dir(room_id)
        await trio.to_thread.run_sync(lambda: shutil.rmtree(folder, ignore_errors=True))

    async def remove(self, room_id: str, disk_name: str) -> None:
        await trio.to_thread.run_sync(lambda: os.unlink(self._room_dir(room_id) / disk_name))
