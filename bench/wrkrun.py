"""Running ``wrk`` and accounting for CPU: the measuring half of bench/rest.py.

A :class:`Target` is one URL to load and the processes that answer it; :func:`measure` warms every target
up and then runs each concurrency level across all targets in turn. Each :class:`Cell` holds wrk's numbers
and where the CPU went meanwhile: the answering HTTP process, its database process(es), and load from
processes that are not ours (a busy machine makes the numbers worthless, and the report says so).

Imported by the scripts in bench/ as a sibling module (bench/ is not a package).
"""

from __future__ import annotations

import os
import re
import resource
import shutil
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

WARMUP_S = 1
WRK_TIMEOUT = "30s"  # login at 64 clients queues for seconds behind scrypt; wrk's 2 s default would cut it
_UNITS_MS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3, "h": 3600e3}
_DURATION = re.compile(r"^([\d.]+)(us|ms|s|m|h)$")


class BenchError(Exception):
    """The benchmark cannot give honest numbers; the message says why."""


# --- wrk --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WrkResult:
    requests: int
    rps: float
    p50_ms: float
    p99_ms: float
    non_2xx: int
    socket_errors: dict[str, int]
    raw: str = field(repr=False)

    @property
    def failed(self) -> bool:
        return self.non_2xx > 0 or any(self.socket_errors.values()) or self.requests == 0


def to_ms(text: str) -> float:
    """A wrk duration such as ``812.00us``, ``1.53ms``, ``2.01s`` or ``1.00m`` in milliseconds."""
    match = _DURATION.match(text.strip())
    if match is None:
        raise BenchError(f"cannot read wrk duration {text!r}")
    return float(match.group(1)) * _UNITS_MS[match.group(2)]


def _search(pattern: str, text: str, what: str) -> re.Match[str]:
    match = re.search(pattern, text, re.MULTILINE)
    if match is None:
        raise BenchError(f"wrk output has no {what} line:\n{text}")
    return match


def parse_wrk(output: str) -> WrkResult:
    """Requests/sec, the 50% and 99% latency lines, non-2xx and socket error counts of ``wrk --latency``."""
    requests = int(_search(r"^\s*(\d+) requests in ", output, "'requests in'").group(1))
    rps = float(_search(r"^Requests/sec:\s+([\d.]+)", output, "Requests/sec").group(1))
    p50 = to_ms(_search(r"^\s+50%\s+(\S+)", output, "50% latency").group(1))
    p99 = to_ms(_search(r"^\s+99%\s+(\S+)", output, "99% latency").group(1))
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    errors: dict[str, int] = {}
    found = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    if found:
        errors = dict(zip(("connect", "read", "write", "timeout"), map(int, found.groups()), strict=True))
    return WrkResult(requests, rps, p50, p99, int(non_2xx.group(1)) if non_2xx else 0, errors, output)


def require_wrk() -> str:
    path = shutil.which("wrk")
    if path is None:
        sys.exit("bench: wrk is not installed; install it with `apt-get install -y wrk` (Debian package wrk)")
    return path


def wrk_version() -> str:
    out = subprocess.run([require_wrk(), "-v"], capture_output=True, text=True, check=False).stdout
    return out.split(" [")[0].strip() if out else "wrk"


@dataclass(frozen=True, slots=True)
class Target:
    """One thing to load: a URL, optional Lua script, headers and environment for wrk.

    ``app_pid`` is the HTTP process that answers it, ``db_pids`` the database processes behind it, for the
    CPU accounting. They need not be related: an external database is passed by its own pid.
    """

    name: str
    url: str
    app_pid: int
    db_pids: tuple[int, ...] = ()
    script: Path | None = None
    headers: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)


def run_wrk(target: Target, connections: int, threads: int, duration_s: int) -> WrkResult:
    argv = [require_wrk(), "-t", str(min(threads, connections)), "-c", str(connections), "-d", f"{duration_s}s",
            "--latency", "--timeout", WRK_TIMEOUT]  # fmt: skip
    if target.script is not None:
        argv += ["-s", str(target.script)]
    for header in target.headers:
        argv += ["-H", header]
    argv.append(target.url)
    env = {**os.environ, **target.env}
    try:
        done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=duration_s + 60, check=False)
    except subprocess.TimeoutExpired:
        raise BenchError(f"wrk on {target.name} did not finish within {duration_s + 60} s") from None
    if done.returncode != 0:
        raise BenchError(f"wrk on {target.name} exited {done.returncode}:\n{done.stdout}\n{done.stderr}")
    return parse_wrk(done.stdout)


# --- CPU accounting ---------------------------------------------------------------------------------

_TICK_S = 1.0 / os.sysconf("SC_CLK_TCK")


def _stat_fields(pid: int | str) -> list[str]:
    """The fields of /proc/PID/stat after the command name (index 1 is the ppid, 11 and 12 utime and stime)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return []


def process_cpu_s(pid: int) -> float:
    """User + system CPU seconds of one process, all its threads included; 0 once it is gone."""
    fields = _stat_fields(pid)
    return (int(fields[11]) + int(fields[12])) * _TICK_S if fields else 0.0


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (the embedded database of the server, for instance)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        fields = _stat_fields(entry.name) if entry.name.isdigit() else []
        if fields:
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        kids = children.get(todo.pop(), [])
        found += kids
        todo += kids
    return found


def _machine_busy_s() -> float:
    """CPU seconds the whole machine spent busy (user, nice, system, irq, softirq; not steal) since boot."""
    ticks = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (ticks[0] + ticks[1] + ticks[2] + ticks[5] + ticks[6]) * _TICK_S


@dataclass(frozen=True, slots=True)
class CpuClock:
    """Cumulative CPU seconds at one moment: the target's app and database, everything of ours, the machine."""

    wall: float
    app: float
    db: float
    ours: float
    machine: float

    @classmethod
    def read(cls, target: Target, own_pids: Sequence[int]) -> CpuClock:
        me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        ours = me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime  # kids: the wrk runs waited for
        ours += sum(process_cpu_s(pid) for pid in own_pids)
        return cls(
            time.monotonic(),
            process_cpu_s(target.app_pid),
            sum(process_cpu_s(pid) for pid in target.db_pids),
            ours,
            _machine_busy_s(),
        )


# --- measuring --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Cell:
    """One (target, clients) measurement: wrk's numbers and where the CPU went meanwhile."""

    wrk: WrkResult
    app_ms_per_req: float  # CPU of the answering HTTP process per request
    db_ms_per_req: float  # CPU of its database process(es) per request
    foreign_cores: float  # cores used by processes not ours (nor wrk's) on average during the cell

    @classmethod
    def of(cls, result: WrkResult, before: CpuClock, after: CpuClock) -> Cell:
        per_req = 1000.0 / max(1, result.requests)
        foreign = (after.machine - before.machine) - (after.ours - before.ours)
        return cls(
            result,
            (after.app - before.app) * per_req,
            (after.db - before.db) * per_req,
            max(0.0, foreign) / max(1e-9, after.wall - before.wall),
        )


Results = dict[tuple[str, int], Cell]


def _probe(target: Target) -> str:
    """One request by hand after a failed cell, to show what the server answers now."""
    login = None
    if target.script is not None:
        login = {"userName": target.env.get("BENCH_LOGIN_EMAIL"), "password": target.env.get("BENCH_LOGIN_PASSWORD")}
    try:
        response = httpx.request(
            "POST" if login else "GET",
            target.url,
            headers=dict(h.split(": ", 1) for h in target.headers),
            json=login,
            timeout=30,
        )
    except httpx.HTTPError as exc:
        return f"one probe now fails: {exc!r}"
    return f"one probe now answers {response.status_code}: {response.text[:300]}"


def _checked(target: Target, connections: int, result: WrkResult) -> WrkResult:
    if result.failed:
        raise BenchError(
            f"{target.name} at {connections} clients: {result.non_2xx} non-2xx responses, socket errors "
            f"{result.socket_errors or 'none'}, {result.requests} requests; {_probe(target)}\n"
            f"wrk said:\n{result.raw}"
        )
    return result


def settle(pids: Sequence[int], idle_cores: float = 0.1, window_s: float = 0.3, timeout_s: float = 15.0) -> None:
    """Wait until ``pids`` are idle, so that work queued by one cell (scrypt hashes) does not run into the next."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        before = sum(process_cpu_s(pid) for pid in pids)
        time.sleep(window_s)
        if sum(process_cpu_s(pid) for pid in pids) - before <= idle_cores * window_s:
            return


def run_cell(target: Target, connections: int, threads: int, duration_s: int, own_pids: Sequence[int]) -> Cell:
    settle(own_pids)
    before = CpuClock.read(target, own_pids)
    result = _checked(target, connections, run_wrk(target, connections, threads, duration_s))
    cell = Cell.of(result, before, CpuClock.read(target, own_pids))
    print(
        f"  {target.name:>7} @ {connections:>3} clients: {result.rps:9.1f} req/s  p50 {result.p50_ms:8.2f} ms  "
        f"p99 {result.p99_ms:8.2f} ms  CPU/req app {cell.app_ms_per_req:.2f} ms db {cell.db_ms_per_req:.2f} ms  "
        f"foreign load {cell.foreign_cores:.2f} cores",
        file=sys.stderr,
        flush=True,
    )
    return cell


def measure(all_targets: Sequence[Target], levels: Sequence[int], threads: int, duration_s: int) -> Results:
    """Warm every target up, then run each concurrency level across all targets in turn."""
    own_pids = sorted({t.app_pid for t in all_targets} | {p for t in all_targets for p in t.db_pids})
    for target in all_targets:
        _checked(target, 16, run_wrk(target, 16, threads, WARMUP_S))
    results: Results = {}
    for connections in levels:
        for target in all_targets:
            results[target.name, connections] = run_cell(target, connections, threads, duration_s, own_pids)
    return results
