"""Socket.IO side by side: our server, python-socketio (AsyncServer on uvicorn) and Node's socket.io.

The same load generator (bench/sio_load.mjs, raw websockets under Node) drives the same application on each
server in turn (join, broadcast to a room, echo with ack); this script reads the server's CPU time and RSS
from /proc and prints one markdown table:

* fan-out: ``--fanout-clients`` websocket clients in one room, one emitter keeping ``--window`` broadcasts
  in flight; deliveries/s, delivery latency p50/p99, server CPU seconds per 100k deliveries;
* idle: ``--idle-clients`` open connections; server RSS growth per connection;
* echo: ``--echo-clients`` clients calling ``echo`` with an ack in a loop; round trip p50/p99.

Usage: ``.venv/bin/python bench/sio.py [--servers ours,python,node] [--seconds 10]``. Needs ``npm ci`` (ws,
socket.io) and, for the python-socketio server, ``pip install 'uvicorn[standard]'``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wrkrun import process_cpu_s  # bench/ modules import their siblings (bench/ is not a package)

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
NODE = shutil.which("node") or "node"
PAGE = os.sysconf("SC_PAGE_SIZE")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_command(name: str, port: int) -> list[str]:
    if name == "ours":
        return [sys.executable, "-m", "altegon_rt.testing.sio_app", "--port", str(port)]
    if name == "python":
        return [sys.executable, str(HERE / "sio_python_server.py"), str(port)]
    if name == "node":
        return [NODE, str(HERE / "sio_node_server.mjs"), str(port)]
    raise ValueError(name)


def raise_fd_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 65536 if hard == resource.RLIM_INFINITY else min(65536, hard)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, want), hard))


@dataclass
class Usage:
    cpu_s: float
    rss_bytes: int


def usage(pid: int) -> Usage:
    rss = int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE
    return Usage(process_cpu_s(pid), rss)


@contextmanager
def running(name: str) -> Iterator[tuple[int, str]]:
    port = free_port()
    proc = subprocess.Popen(server_command(name, port), cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, preexec_fn=raise_fd_limit)  # fmt: skip
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if "listening" not in line:
            raise RuntimeError(f"{name} did not start: {line}{proc.stdout.read()}")
        yield proc.pid, f"ws://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def load(base: str, mode: str, options: dict[str, Any], on_phase: Any = None) -> dict[str, dict[str, Any]]:
    """Run the load generator; ``on_phase(phase)`` is called as each JSON line arrives."""
    proc = subprocess.Popen([NODE, str(HERE / "sio_load.mjs"), base, mode, json.dumps(options)], cwd=ROOT,
                            stdout=subprocess.PIPE, text=True, preexec_fn=raise_fd_limit)  # fmt: skip
    phases: dict[str, dict[str, Any]] = {}
    assert proc.stdout is not None
    for line in proc.stdout:
        record = json.loads(line)
        phases[record["phase"]] = record
        if on_phase is not None:
            on_phase(record)
    proc.wait(600)
    if "error" in phases:
        raise RuntimeError(phases["error"]["error"])
    return phases


def measure(name: str, args: argparse.Namespace) -> dict[str, Any]:
    row: dict[str, Any] = {"server": name}
    marks: dict[str, Usage] = {}
    # Idle memory on a fresh process: after the fan-out, freed memory would be reused and hide the growth.
    with running(name) as (pid, base):
        time.sleep(1)
        before = usage(pid)

        def mark_idle(record: dict[str, Any]) -> None:
            marks[record["phase"]] = usage(pid)

        phases = load(base, "idle", {"clients": args.idle_clients, "holdSeconds": 3}, mark_idle)
        row["idle_kib_per_conn"] = (marks["idle-connected"].rss_bytes - before.rss_bytes) / args.idle_clients / 1024
        row["idle_open"] = phases["idle-done"]["stillOpen"]
    with running(name) as (pid, base):

        def mark(record: dict[str, Any]) -> None:
            marks[record["phase"]] = usage(pid)

        phases = load(base, "fanout", {"clients": args.fanout_clients, "seconds": args.seconds,
                                       "window": args.window}, mark)  # fmt: skip
        fan = phases["fanout"]
        cpu = marks["fanout"].cpu_s - marks["connected"].cpu_s
        row.update(fanout_per_s=fan["perSecond"], fanout_p50=fan["p50"], fanout_p99=fan["p99"],
                   cpu_per_100k=cpu / max(fan["delivered"], 1) * 100_000, lost=fan["lost"],
                   dropped=fan["disconnected"])  # fmt: skip
        time.sleep(1)
        phases = load(base, "echo", {"clients": args.echo_clients, "seconds": args.seconds})
        echo = phases["echo"]
        row.update(echo_per_s=echo["perSecond"], echo_p50=echo["p50"], echo_p99=echo["p99"])
    return row


def table(rows: list[dict[str, Any]], args: argparse.Namespace) -> str:
    head = (
        f"| server | fan-out deliveries/s ({args.fanout_clients} clients) | delivery p50 / p99 ms "
        f"| CPU s per 100k deliveries | idle RSS KiB/conn ({args.idle_clients}) "
        f"| echo acks/s ({args.echo_clients} clients) | echo p50 / p99 ms |"
    )
    lines = [head, "|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(
            f"| {r['server']} | {r['fanout_per_s']:,.0f} | {r['fanout_p50']:.1f} / {r['fanout_p99']:.1f} "
            f"| {r['cpu_per_100k']:.2f} | {r['idle_kib_per_conn']:.1f} | {r['echo_per_s']:,.0f} "
            f"| {r['echo_p50']:.1f} / {r['echo_p99']:.1f} |"
        )
    notes = [f"{r['server']}: {r['lost']} deliveries lost, {r['dropped']} clients dropped, "
             f"{r['idle_open']} idle connections still open at the end" for r in rows]  # fmt: skip
    return "\n".join([*lines, "", *notes])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--servers", default="ours,python,node")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--fanout-clients", type=int, default=1000)
    parser.add_argument("--window", type=int, default=4)
    parser.add_argument("--idle-clients", type=int, default=5000)
    parser.add_argument("--echo-clients", type=int, default=200)
    args = parser.parse_args()
    raise_fd_limit()
    rows = []
    for name in args.servers.split(","):
        print(f"# {name} ...", file=sys.stderr, flush=True)
        rows.append(measure(name, args))
        print(f"# {rows[-1]}", file=sys.stderr, flush=True)
    print(table(rows, args))


if __name__ == "__main__":
    main()
