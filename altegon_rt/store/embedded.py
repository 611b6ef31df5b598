"""The embedded default database: a SecantusDB server run as a supervised child process.

SecantusDB speaks the MongoDB wire protocol, so the very same pymongo code serves it and a real MongoDB
(see ``shared/design/storage.md``). We start its command-line server on a loopback port chosen by the
kernel, read the port from its log line, and keep it alive: if it dies it is restarted on the same port
with exponential backoff, and :attr:`EmbeddedServer.running` is false meanwhile (``/readyz`` answers 503).
Stopping Altegon RT sends it SIGTERM and waits.
"""

from __future__ import annotations

import logging
import os
import re
import signal
import subprocess
import sys
import time
from collections import deque
from pathlib import Path

import trio

from altegon_rt.errors import StorageUnavailable

log = logging.getLogger(__name__)

_LISTENING = re.compile(rb"listening on 127\.0\.0\.1:(\d+)")
_LAUNCH = "import sys; from secantus.cli import main; sys.exit(main())"
_ALARMING = ("ERROR", "WARNING", "CRITICAL", "Traceback", "Error:", "Exception")
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0
MAX_BACKOFF_S = 30.0


class EmbeddedServer:
    """Runs and supervises one SecantusDB process whose files live in ``db_dir``."""

    def __init__(self, db_dir: Path) -> None:
        self._db_dir = db_dir
        self._pid_file = db_dir / "server.pid"
        self.port: int | None = None
        self.running = False
        self.restarts = 0
        self._recent: deque[str] = deque(maxlen=30)  # the child's last log lines, shown when it fails

    @property
    def uri(self) -> str:
        if self.port is None:
            raise StorageUnavailable("embedded database has not started")
        return f"mongodb://127.0.0.1:{self.port}/?directConnection=true"

    def _argv(self, port: int) -> list[str]:
        config = self._db_dir / "secantusd.toml"
        if not config.exists():
            # An explicit (empty) config file stops the server from discovering one in the cwd or $HOME.
            config.write_text("# written by altegon-rt: settings come from its command line\n")
        return [
            sys.executable, "-c", _LAUNCH,
            "--config", str(config),
            "--host", "127.0.0.1",
            "--port", str(port),
            "--storage-path", str(self._db_dir / "data"),
            "--log-level", "INFO",
        ]  # fmt: skip

    def _reap_orphan(self) -> None:
        """Stop a server left behind by an Altegon RT that was killed with SIGKILL: it holds the files."""
        try:
            pid = int(self._pid_file.read_text().strip())
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except (OSError, ValueError):
            return
        if b"secantus" not in cmdline or str(self._db_dir).encode() not in cmdline:
            return
        log.warning("stopping embedded database left running by an earlier process (pid %d)", pid)
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT_S
        while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
            time.sleep(0.05)  # in a worker thread
        if Path(f"/proc/{pid}").exists():
            os.kill(pid, signal.SIGKILL)
            time.sleep(0.2)

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Start the server, report started once it listens, and restart it whenever it exits."""
        self._db_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        await trio.to_thread.run_sync(self._reap_orphan)
        backoff = 0.5
        first = True
        while True:
            started_at = trio.current_time()
            await self._run_once(task_status if first else None)
            first = False
            if trio.current_time() - started_at > 60:
                backoff = 0.5
            self.restarts += 1
            log.error("embedded database exited; restarting in %.1f s", backoff)
            await trio.sleep(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF_S)

    async def _run_once(self, task_status: trio.TaskStatus[None] | None) -> None:
        proc = await trio.lowlevel.open_process(
            self._argv(self.port or 0),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,  # a Ctrl-C in the terminal is ours to handle, not the child's
        )
        # Written whole or not at all (temp file + rename): a reader never sees an empty pid file.
        partial = self._pid_file.with_suffix(".pid.tmp")
        partial.write_text(str(proc.pid))
        os.replace(partial, self._pid_file)
        try:
            assert proc.stderr is not None
            port = await self._await_port(proc.stderr)
            if port is None:
                self._report_failure()
                if task_status is not None:
                    raise StorageUnavailable(
                        f"embedded database did not start (exit status {await proc.wait()}); "
                        f"its last lines are in the log above; files in {self._db_dir}"
                    )
                return
            self.port = port
            self.running = True
            log.info("embedded database listening on 127.0.0.1:%d (files in %s)", port, self._db_dir)
            if task_status is not None:
                task_status.started()
            await self._drain(proc.stderr)
            code = await proc.wait()
            self._report_failure()
            log.error("embedded database exited with status %s", code)
        finally:
            self.running = False
            with trio.CancelScope(shield=True):
                await _stop(proc)
            self._pid_file.unlink(missing_ok=True)

    async def _await_port(self, stream: trio.abc.ReceiveStream) -> int | None:
        buffer = b""
        with trio.move_on_after(START_TIMEOUT_S):
            while True:
                chunk = await stream.receive_some(4096)
                if not chunk:
                    return None
                buffer += chunk
                lines = buffer.split(b"\n")
                buffer = lines.pop()
                for line in lines:
                    self._log_child(line)
                    match = _LISTENING.search(line)
                    if match:
                        return int(match.group(1))
        log.error("embedded database gave no port within %.0f s", START_TIMEOUT_S)
        return None

    async def _drain(self, stream: trio.abc.ReceiveStream) -> None:
        """Keep reading the child's log so its pipe never fills (a full pipe would stall it)."""
        buffer = b""
        while chunk := await stream.receive_some(65536):
            buffer += chunk
            lines = buffer.split(b"\n")
            buffer = lines.pop()[-8192:]
            for line in lines:
                self._log_child(line)

    def _log_child(self, line: bytes) -> None:
        text = line.decode(errors="replace").rstrip()
        if not text:
            return
        self._recent.append(text)
        level = logging.WARNING if any(m in text for m in _ALARMING) else logging.DEBUG
        log.log(level, "secantus: %s", text)

    def _report_failure(self) -> None:
        for text in self._recent:
            log.error("secantus: %s", text)
        self._recent.clear()


async def _stop(proc: trio.Process) -> None:
    if proc.returncode is not None:
        return
    proc.terminate()
    with trio.move_on_after(STOP_TIMEOUT_S):
        await proc.wait()
        return
    log.warning("embedded database did not stop within %.0f s; killing it", STOP_TIMEOUT_S)
    proc.kill()
    await proc.wait()
