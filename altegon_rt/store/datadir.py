"""The data directory: created with private permissions and locked by the one process that uses it.

The embedded database keeps its files under ``<data dir>/db``; two processes opening them at once would
corrupt them, so whoever starts the embedded server first holds an exclusive ``flock`` on
``<data dir>/altegon-rt.lock``.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from altegon_rt.errors import DataDirLocked

LOCK_NAME = "altegon-rt.lock"


def ensure_data_dir(path: Path) -> Path:
    """Create the data dir (mode 0700) if it is missing and return it."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


@contextlib.contextmanager
def hold_data_dir(path: Path) -> Iterator[Path]:
    """Hold the data dir's lock for the block; raise :class:`DataDirLocked` if someone else has it."""
    ensure_data_dir(path)
    fd = os.open(path / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "another process"
            raise DataDirLocked(
                f"data dir {path} is in use by pid {holder} (is the server running? stop it first, "
                "or point storage.mongodb_uri at a MongoDB server)"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield path
    finally:
        os.close(fd)  # closing the descriptor releases the flock
