"""The live WebM or MP4 byte stream as FFmpeg reads it: a blocking, non-seekable reader over a growing file.

The server appends each chunk to ``<stream dir>/source.webm`` (or ``source.mp4``) and then tells the worker
how long the file is (``grow``); :class:`GrowingFile` hands FFmpeg bytes up to that length, blocks when it has
read all of them, and returns ``b''`` only at the real end (``finish``), since FFmpeg takes an early ``b''``
for the end of the file. A restarted worker reads the same file from byte 0: the WebM header, or the MP4's ``ftyp`` +
``moov``, is needed to open it. Having no ``seek``, the reader makes FFmpeg's demuxers read straight on: the
mp4 one then takes each ``moof`` + ``mdat`` fragment as it comes, in file order.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path


class GrowingFile:
    """A file-like ``read(n)`` for PyAV over a file that another process appends to."""

    def __init__(
        self, path: Path, *, idle_timeout_s: float = 3600.0, on_wait: Callable[[], None] | None = None
    ) -> None:
        self._file = path.open("rb")
        self._changed = threading.Condition()
        self._available = 0
        self._position = 0
        self._finished = False
        self._idle_timeout_s = idle_timeout_s
        self.on_wait = on_wait  # called (in the reading thread) when every byte so far has been read

    def grow(self, length: int) -> None:
        """The file holds at least ``length`` bytes now."""
        with self._changed:
            self._available = max(self._available, length)
            self._changed.notify_all()

    def finish(self) -> None:
        """No more bytes will come: reads past the last ``grow`` return ``b''``."""
        with self._changed:
            self._finished = True
            self._changed.notify_all()

    @property
    def position(self) -> int:
        return self._position

    def read(self, size: int = -1) -> bytes:
        if self.on_wait is not None and self._available <= self._position and not self._finished:
            self.on_wait()
        with self._changed:
            waited = self._changed.wait_for(lambda: self._available > self._position or self._finished,
                                            timeout=self._idle_timeout_s)  # fmt: skip
            if not waited:
                return b""
            want = self._available - self._position
            if size is not None and size >= 0:
                want = min(want, size)
        data = self._file.read(want)
        self._position += len(data)
        return data

    def close(self) -> None:
        self._file.close()
