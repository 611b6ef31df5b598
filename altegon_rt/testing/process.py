"""Run ``altegon-rt serve`` as a real child process on an ephemeral loopback port.

Tests talk to it over real sockets. The URL is read from the server's own log line, so there is no port
race. Everything is bounded: start, stop and log reads have deadlines.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

_URL = re.compile(r"altegon-rt listening on (https?://\S+)")
_RTMP = re.compile(r"altegon-rt RTMP ingest on tcp (\S+):(\d+)")
TEST_SECRET = "test-secret-" + "x" * 40


class ServerProcess:
    """One running server; its combined log is kept in :attr:`log_lines`."""

    def __init__(
        self,
        data_dir: Path,
        env: Mapping[str, str] | None = None,
        args: tuple[str, ...] = (),
        *,
        start_timeout_s: float = 60.0,
        wrapper: Sequence[str] = (),
    ) -> None:
        """``wrapper`` goes before the command, e.g. ``("nsenter", "--net=/proc/PID/ns/net", "--")`` to run the
        server in another network namespace (it must exec the server, so signals reach it)."""
        self.data_dir = data_dir
        self.log_lines: list[str] = []
        self._lines_changed = threading.Condition()
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("ALTEGON_")}
        full_env.update({"ALTEGON_AUTH_JWT_SECRET": TEST_SECRET, "ALTEGON_AUTH_SCRYPT_N": "1024"})
        full_env.update(env or {})
        argv = [*wrapper, sys.executable, "-m", "altegon_rt", "serve", "--host", "127.0.0.1", "--http-port", "0",
                "--data-dir", str(data_dir), "--udp-port", "0", "--rtmp-port", "0", *args]  # fmt: skip
        self.proc = subprocess.Popen(
            argv, env=full_env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        self._reader = threading.Thread(target=self._read_log, daemon=True)
        self._reader.start()
        match = self.wait_for_log(_URL, start_timeout_s)
        if match is None:
            self.kill()
            raise RuntimeError("server did not start:\n" + self.log_text())
        self.url = match.group(1)
        rtmp = self.wait_for_log(_RTMP, 0)  # logged before the URL
        self.rtmp_port = int(rtmp.group(2)) if rtmp else None

    def _read_log(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with self._lines_changed:
                self.log_lines.append(line.rstrip("\n"))
                self._lines_changed.notify_all()
        with self._lines_changed:
            self._lines_changed.notify_all()

    def wait_for_log(self, pattern: re.Pattern[str] | str, timeout_s: float, start: int = 0) -> re.Match[str] | None:
        """The first log line from index ``start`` matching ``pattern``, waiting up to ``timeout_s``."""
        regex = re.compile(pattern) if isinstance(pattern, str) else pattern
        deadline = time.monotonic() + timeout_s
        index = start
        with self._lines_changed:
            while True:
                while index < len(self.log_lines):
                    found = regex.search(self.log_lines[index])
                    index += 1
                    if found:
                        return found
                remaining = deadline - time.monotonic()
                if remaining <= 0 or (self.proc.poll() is not None and not self._reader.is_alive()):
                    return None
                self._lines_changed.wait(min(remaining, 0.2))

    def log_text(self) -> str:
        return "\n".join(self.log_lines)

    def terminate(self, timeout_s: float = 30.0) -> int:
        """SIGTERM and wait; the exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.kill()
            raise

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self._reader.join(5)
