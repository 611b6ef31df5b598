"""A private network namespace holding only loopback, for tests whose packets must stay on this machine.

``loopback_namespace()`` starts a holder process in a new namespace (``unshare -n``), brings ``lo`` up in it,
and yields the command prefix that runs a program there (``nsenter --net=/proc/PID/ns/net --``); give the
same prefix to the server (``ServerProcess(wrapper=...)``) and to its clients. Nothing inside can reach or be
reached from outside, so a WebRTC test cannot leak packets to, or pick candidates on, a real interface. It
needs root and util-linux's ``unshare``/``nsenter`` plus iproute2's ``ip``; where any is missing, or the
kernel refuses (a container without CAP_SYS_ADMIN), it yields ``None`` and callers run on the host's loopback.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import subprocess
import time
from collections.abc import Iterator

log = logging.getLogger(__name__)
HOLD_S = 3600  # the holder's own limit, should its owner die without ending it
READY_TIMEOUT_S = 5.0


def _tools() -> dict[str, str] | None:
    """Absolute paths of unshare, nsenter and ip, when we are root and all three are installed."""
    paths = {tool: shutil.which(tool) for tool in ("unshare", "nsenter", "ip")}
    if os.geteuid() != 0 or not all(paths.values()):
        return None
    return {tool: path for tool, path in paths.items() if path}


def _wait_for_new_namespace(pid: int) -> bool:
    """Whether process ``pid`` got a network namespace other than ours (unshare -n, then exec)."""
    ours = os.readlink("/proc/self/ns/net")
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        try:
            if os.readlink(f"/proc/{pid}/ns/net") != ours:
                return True
        except OSError:
            return False  # it exited: unshare was refused
        time.sleep(0.01)
    return False


@contextlib.contextmanager
def loopback_namespace() -> Iterator[tuple[str, ...] | None]:
    """The command prefix that runs a program in a fresh namespace with only ``lo`` (up), or None."""
    tools = _tools()
    if tools is None:
        yield None
        return
    holder = subprocess.Popen(
        [tools["unshare"], "--net", "--", "sleep", str(HOLD_S)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        prefix = (tools["nsenter"], f"--net=/proc/{holder.pid}/ns/net", "--")
        ready = _wait_for_new_namespace(holder.pid)
        if ready:
            up = [*prefix, tools["ip"], "link", "set", "lo", "up"]
            ready = subprocess.run(up, capture_output=True, timeout=10, check=False).returncode == 0
        if not ready:
            log.info("no private network namespace here (unshare -n refused); using the host's loopback")
        yield prefix if ready else None
    finally:
        holder.kill()
        holder.wait(10)
