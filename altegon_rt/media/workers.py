"""The server's side of a stream's worker process (``media/worker.py``): start it, feed it, read its events.

The event loop only writes short command lines to the worker's standard input and reads JSON lines from its
standard output; it never waits on a codec. Each worker is a child process of its own (``python -m
altegon_rt.media.worker``), so a crash in the codec libraries takes down one stream's worker, which the
stream then replaces (``live.py``).
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import trio

import altegon_rt

log = logging.getLogger(__name__)

MAX_EVENT_LINE = 64 * 1024
PACKAGE_ROOT = Path(altegon_rt.__file__).resolve().parents[1]


class WorkerProcess:
    """One running worker; :meth:`events` yields its events until its output ends."""

    def __init__(self, process: trio.Process) -> None:
        self.process = process
        self._ended = False

    @classmethod
    async def start(cls, settings: dict[str, Any]) -> WorkerProcess:
        # The worker imports the same altegon_rt as this process, wherever the working directory is.
        path = [str(PACKAGE_ROOT), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
        process = await trio.lowlevel.open_process(
            [sys.executable, "-m", "altegon_rt.media.worker", json.dumps(settings)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=None,
            env={**os.environ, "PYTHONPATH": os.pathsep.join(path)},
        )  # fmt: skip
        return cls(process)

    async def _command(self, line: str) -> bool:
        stdin = self.process.stdin
        if stdin is None or self._ended:
            return False
        try:
            await stdin.send_all(line.encode() + b"\n")
            return True
        except (trio.BrokenResourceError, trio.ClosedResourceError, OSError):
            return False

    async def grow(self, length: int) -> bool:
        """Tell the worker the source file holds ``length`` bytes now."""
        return await self._command(f"grow {length}")

    async def end(self) -> None:
        """No more bytes: the worker finishes the last segment and exits."""
        await self._command("end")
        self._ended = True
        if self.process.stdin is not None:
            await self.process.stdin.aclose()

    def kill(self) -> None:
        if self.process.returncode is None:
            self.process.kill()

    async def read_events(self, handle: Callable[[dict[str, Any]], Awaitable[None]]) -> None:
        """Call ``handle`` with each event, in order, until the worker's output ends; a line that is not a JSON
        object is logged and skipped."""
        stdout = self.process.stdout
        assert stdout is not None
        buffer = b""
        while True:
            data = await stdout.receive_some(65536)
            if not data:
                return
            buffer += data
            *lines, buffer = buffer.split(b"\n")
            if len(buffer) > MAX_EVENT_LINE:
                log.warning("hls worker %d: output line too long, dropped", self.process.pid)
                buffer = b""
            for line in lines:
                try:
                    event = json.loads(line)
                except ValueError:
                    event = None
                if isinstance(event, dict):
                    await handle(event)
                elif line.strip():
                    log.warning("hls worker %d: unexpected output %r", self.process.pid, line[:200])

    async def wait(self) -> int:
        return await self.process.wait()
