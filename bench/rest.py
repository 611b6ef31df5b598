"""REST benchmark: requests/s and p50/p99 latency of login, the meetings list, and the bare stack ceiling.

Three targets, measured side by side in one run with ``wrk`` (a Python load generator would be the
bottleneck on a small machine):

* ``POST /auth/login`` on the real ``altegon-rt serve`` (scrypt at the production cost, n = 16384);
* ``GET /meetings/list/:userId`` on the real server, with a valid Bearer token, the user hosting 20 meetings;
* ``GET /bare`` on ``bench/bare_app.py``: one QuartTrio route, no auth and no database, served by the same
  hypercorn configuration in one trio process: the ceiling of our stack.

The real server is started through :class:`altegon_rt.testing.process.ServerProcess` on a temporary data
dir with the embedded storage and rate limits raised; setup (register, login, create meetings) uses httpx.
Each concurrency level runs the three targets one after the other, so slow drift of the machine hits all
of them alike. Any non-2xx answer or socket error fails the run.

Usage: ``.venv/bin/python bench/rest.py [--duration 10] [--concurrency 1,16,64] [--quick]``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import re
import resource
import select
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from altegon_rt.testing.process import ServerProcess

HERE = Path(__file__).resolve().parent
LOGIN_LUA = HERE / "login.lua"
BARE_APP = HERE / "bare_app.py"
MEETINGS = 20
PASSWORD = "bench password 1"
SCRYPT_N = 16384  # the production default (config.AuthSection.scrypt_n); ServerProcess would use 1024
HIGH = "10000000"
SERVER_ENV = {
    "ALTEGON_AUTH_SCRYPT_N": str(SCRYPT_N),
    "ALTEGON_LIMITS_LOGIN_PER_IP_PER_MIN": HIGH,
    "ALTEGON_LIMITS_LOGIN_PER_ACCOUNT_PER_MIN": HIGH,
    "ALTEGON_LIMITS_REGISTER_PER_IP_PER_MIN": HIGH,
    "ALTEGON_LIMITS_WRITES_PER_ACCOUNT_PER_MIN": HIGH,
}
AIM_RATIO = 0.60
AIM_P99_MS = 25.0
AIM_CONCURRENCY = 64
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
        sys.exit("bench/rest.py: wrk is not installed; install it with `apt-get install -y wrk` (Debian package wrk)")
    return path


@dataclass(frozen=True, slots=True)
class Target:
    """One thing to load: a URL, optional Lua script, headers and environment for wrk.

    ``app_pid`` is the HTTP process that answers it, ``db_pids`` the database processes behind it, for the
    CPU accounting.
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


# --- the servers ------------------------------------------------------------------------------------


@contextmanager
def bare_server(timeout_s: float = 30.0) -> Iterator[tuple[str, int]]:
    """Run bench/bare_app.py in its own process; yields its base URL and pid."""
    proc = subprocess.Popen([sys.executable, str(BARE_APP)], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)  # fmt: skip
    try:
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], timeout_s)
        line = proc.stdout.readline() if ready else ""  # the app prints its URL first, or exits (EOF)
        match = re.search(r"bare listening on (http://\S+)", line)
        if match is None:
            raise BenchError(f"bare app did not start (exit status {proc.poll()}), first line {line!r}")
        yield match.group(1), proc.pid
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


@contextmanager
def real_server() -> Iterator[ServerProcess]:
    """``altegon-rt serve`` on a temporary data dir with embedded storage; checks it stops cleanly."""
    with tempfile.TemporaryDirectory(prefix="altegon-bench-") as tmp:
        server = ServerProcess(Path(tmp) / "data", env=SERVER_ENV)
        try:
            yield server
        finally:
            status = server.terminate()
            if status != 0 or "Traceback" in server.log_text():
                print(f"WARNING: server exited {status}; its log:\n{server.log_text()}", file=sys.stderr)


@dataclass(frozen=True, slots=True)
class Account:
    user_id: str
    email: str
    token: str
    list_bytes: int
    list_closes: bool  # the list answer says "Connection: close": every request would pay a new connection


def _expect(response: httpx.Response, status: int, what: str) -> httpx.Response:
    if response.status_code != status:
        raise BenchError(f"setup: {what} answered {response.status_code}, expected {status}: {response.text}")
    return response


def make_account(base_url: str) -> Account:
    """Register a user, sign in, and give them ``MEETINGS`` meetings (httpx, setup only)."""
    email = f"bench-{os.getpid()}-{int(time.time())}@example.com"
    profile = {"email": email, "fName": "Bench", "lName": "User", "phoneNumber": "123", "country": "NL",
               "password": PASSWORD}  # fmt: skip
    with httpx.Client(base_url=base_url, timeout=60) as client:
        user = _expect(client.post("/auth/register", json=profile), 201, "register").json()["data"]["user"]
        login = _expect(client.post("/auth/login", json={"userName": email, "password": PASSWORD}), 200, "login")
        token = login.json()["token"]
        auth = {"Authorization": f"Bearer {token}"}
        for i in range(MEETINGS):
            body = {"title": f"Bench meeting {i}", "hostId": user["_id"], "transcriptEnabled": i % 2 == 0}
            _expect(client.post("/meetings/create", json=body, headers=auth), 201, "create meeting")
        listed = _expect(client.get(f"/meetings/list/{user['_id']}", headers=auth), 200, "list meetings")
        if len(listed.json()["data"]) != MEETINGS:
            raise BenchError(f"setup: list has {len(listed.json()['data'])} meetings, expected {MEETINGS}")
    closes = listed.headers.get("connection", "").lower() == "close"
    return Account(user["_id"], email, token, len(listed.content), closes)


def targets(server: ServerProcess, bare: tuple[str, int], account: Account) -> list[Target]:
    pid, db_pids = server.proc.pid, tuple(descendants(server.proc.pid))
    return [
        Target("bare", f"{bare[0]}/bare", bare[1]),
        Target(
            "list",
            f"{server.url}/meetings/list/{account.user_id}",
            pid,
            db_pids,
            headers=(f"Authorization: Bearer {account.token}",),
        ),
        Target(
            "login",
            f"{server.url}/auth/login",
            pid,
            db_pids,
            script=LOGIN_LUA,
            env={"BENCH_LOGIN_EMAIL": account.email, "BENCH_LOGIN_PASSWORD": PASSWORD},
        ),
    ]


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
    db_ms_per_req: float  # CPU of its database process per request
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


def _checked(target: Target, connections: int, result: WrkResult) -> WrkResult:
    if result.failed:
        probe = ""
        try:
            response = httpx.request(
                "POST" if target.script else "GET",
                target.url,
                headers=dict(h.split(": ", 1) for h in target.headers),
                json={"userName": target.env.get("BENCH_LOGIN_EMAIL"), "password": PASSWORD} if target.script else None,
                timeout=30,
            )
            probe = f"one probe now answers {response.status_code}: {response.text[:300]}"
        except httpx.HTTPError as exc:
            probe = f"one probe now fails: {exc!r}"
        raise BenchError(
            f"{target.name} at {connections} clients: {result.non_2xx} non-2xx responses, socket errors "
            f"{result.socket_errors or 'none'}, {result.requests} requests; {probe}\nwrk said:\n{result.raw}"
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
        f"  {target.name:>5} @ {connections:>3} clients: {result.rps:9.1f} req/s  p50 {result.p50_ms:8.2f} ms  "
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


# --- reporting --------------------------------------------------------------------------------------


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def code_state() -> str:
    """The commit measured, and whether altegon_rt/ differs from it (numbers of a dirty tree say so)."""
    root = HERE.parent
    git = ["git", "-C", str(root)]
    head = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False)
    dirty = subprocess.run([*git, "status", "--porcelain", "--", "altegon_rt"], capture_output=True, text=True,
                           check=False)  # fmt: skip
    if head.returncode != 0:
        return "not a git checkout"
    changed = len(dirty.stdout.splitlines())
    return head.stdout.strip() + (f" + {changed} uncommitted change(s) in altegon_rt/" if changed else " (clean)")


def machine_lines(threads: int, duration_s: int) -> list[str]:
    wrk_version = subprocess.run([require_wrk(), "-v"], capture_output=True, text=True, check=False).stdout
    return [
        f"- date: {dt.datetime.now(dt.UTC).strftime('%Y-%m-%d %H:%M:%S UTC')}",
        f"- machine: nproc {len(os.sched_getaffinity(0))}, CPU {cpu_model()}, {platform.system()} {platform.release()}",
        f"- code: {code_state()}; python {platform.python_version()}; "
        f"{wrk_version.split(' [')[0] if wrk_version else 'wrk'}",
        f"- wrk -t {threads} (at most one per client) -d {duration_s}s --latency --timeout {WRK_TIMEOUT}; "
        f"{WARMUP_S} s warm-up per target; server, database and wrk share the same cores",
    ]


LABELS = {"bare": "GET /bare (ceiling)", "list": "GET /meetings/list/:userId", "login": "POST /auth/login"}


def table(results: Results, levels: Sequence[int], names: Sequence[str]) -> list[str]:
    lines = [
        "| route | clients | req/s | p50 ms | p99 ms | requests | CPU ms/req app | CPU ms/req db | foreign load |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name in names:
        for c in levels:
            cell = results[name, c]
            r = cell.wrk
            db = f"{cell.db_ms_per_req:.2f}" if name != "bare" else "-"
            lines.append(
                f"| {LABELS[name]} | {c} | {r.rps:.1f} | {r.p50_ms:.2f} | {r.p99_ms:.2f} | {r.requests} "
                f"| {cell.app_ms_per_req:.2f} | {db} | {cell.foreign_cores:.2f} |"
            )
    return lines


def ratio_lines(results: Results, levels: Sequence[int]) -> list[str]:
    lines = []
    for c in levels:
        bare, listed = results["bare", c].wrk, results["list", c].wrk
        lines.append(
            f"- {c} clients: list/bare = {listed.rps / bare.rps:.2f} "
            f"({listed.rps:.0f} / {bare.rps:.0f} req/s); p99 list {listed.p99_ms:.2f} ms vs bare {bare.p99_ms:.2f} ms"
        )
    return lines


def aim_lines(results: Results, levels: Sequence[int]) -> list[str]:
    c = AIM_CONCURRENCY if AIM_CONCURRENCY in levels else max(levels)
    bare, listed = results["bare", c].wrk, results["list", c].wrk
    ratio = listed.rps / bare.rps
    ratio_ok, p99_ok = ratio >= AIM_RATIO, listed.p99_ms < AIM_P99_MS
    verdict = "MET" if ratio_ok and p99_ok else "NOT MET"
    # Little's law for a closed loop: mean latency = clients / throughput, whatever the code does.
    floor_ms = 1000.0 * c / bare.rps
    return [
        f"- list route >= {AIM_RATIO:.0%} of the bare ceiling at {c} clients: "
        f"{ratio:.0%} -> {'yes' if ratio_ok else 'no'}",
        f"- list route p99 < {AIM_P99_MS:.0f} ms at {c} clients: {listed.p99_ms:.2f} ms -> {'yes' if p99_ok else 'no'}",
        f"- aim {verdict}"
        + ("" if c == AIM_CONCURRENCY else f" (judged at {c} clients: {AIM_CONCURRENCY} was not run)"),
        f"- for scale: even the bare ceiling ({bare.rps:.0f} req/s) gives a mean latency of {c} / {bare.rps:.0f} "
        f"= {floor_ms:.1f} ms at {c} closed-loop clients (Little's law); p99 < {AIM_P99_MS:.0f} ms there needs "
        f"more than {1000.0 * c / AIM_P99_MS:.0f} req/s",
    ]


def notes(results: Results, account: Account) -> list[str]:
    lines = [
        f"- login is dominated by scrypt by design (n={SCRYPT_N}, r=8, p=1, the production cost; at most 2 "
        "hashes at a time); each attempt also writes one durable audit entry. Its req/s is the CPU budget for "
        "password checks, not a measure of the HTTP path.",
        f"- list: a valid Bearer JWT, {MEETINGS} meetings, {account.list_bytes} bytes of JSON per answer; "
        "embedded storage (SecantusDB, its own process on the same cores).",
        "- CPU ms/req: CPU time of the answering HTTP process (all threads) and of its database process, per "
        "request. foreign load: cores busy with processes other than the servers, wrk and this script.",
        "- wrk is closed-loop (each client waits for its answer), so under saturation latency is mostly queueing.",
    ]
    if account.list_closes:
        lines.append(
            "- WARNING: the server answered the list route with 'Connection: close': no keep-alive, so every "
            "request of the list rows also paid a new TCP connection (bare keeps its connections)."
        )
    busiest = max(results.values(), key=lambda cell: cell.foreign_cores)
    if busiest.foreign_cores > 0.2:
        lines.append(
            f"- WARNING: other processes used up to {busiest.foreign_cores:.2f} cores during the run; "
            "the numbers are lower than this machine can do."
        )
    return lines


def report(results: Results, levels: Sequence[int], account: Account, threads: int, duration_s: int) -> str:
    return "\n".join(
        [
            "## Altegon RT REST benchmark",
            "",
            *machine_lines(threads, duration_s),
            "",
            *table(results, levels, ("bare", "list", "login")),
            "",
            "### list route / bare ceiling",
            "",
            *ratio_lines(results, levels),
            "",
            f"### aim: list >= {AIM_RATIO:.0%} of bare and p99 < {AIM_P99_MS:.0f} ms at {AIM_CONCURRENCY} clients",
            "",
            *aim_lines(results, levels),
            "",
            "### notes",
            "",
            *notes(results, account),
        ]
    )


# --- main -------------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--duration", type=int, default=10, help="seconds per cell (default 10)")
    parser.add_argument("--concurrency", default="1,16,64", help="comma-separated client counts (default 1,16,64)")
    parser.add_argument("--quick", action="store_true", help="3 s cells")
    parser.add_argument("--threads", type=int, default=max(1, len(os.sched_getaffinity(0)) // 2),
                        help="wrk threads (default: half the cores; never more than the clients)")  # fmt: skip
    args = parser.parse_args(argv)
    try:
        args.levels = [int(part) for part in args.concurrency.split(",") if part.strip()]
    except ValueError:
        parser.error(f"--concurrency must be integers separated by commas, got {args.concurrency!r}")
    if not args.levels or min(args.levels) < 1 or args.duration < 1 or args.threads < 1:
        parser.error("--concurrency, --duration and --threads must be positive")
    if args.quick:
        args.duration = 3
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    require_wrk()
    cells = 3 * len(args.levels)
    print(f"starting servers; then {cells} cells of {args.duration} s each", file=sys.stderr, flush=True)
    try:
        with real_server() as server, bare_server() as bare:
            account = make_account(server.url)
            print(f"server pid {server.proc.pid} at {server.url}; bare pid {bare[1]} at {bare[0]}", file=sys.stderr,
                  flush=True)  # fmt: skip
            results = measure(targets(server, bare, account), args.levels, args.threads, args.duration)
    except BenchError as exc:
        print(f"bench/rest.py: FAILED: {exc}", file=sys.stderr)
        return 1
    print(report(results, args.levels, account, args.threads, args.duration))
    return 0


if __name__ == "__main__":
    sys.exit(main())
