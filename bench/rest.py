"""REST benchmark: requests/s and p50/p99 latency of login, the meetings list, and the bare stack ceiling.

Four targets, measured side by side in one run with ``wrk`` (a Python load generator would be the
bottleneck on a small machine):

* ``GET /bare`` on ``bench/bare_app.py``: one QuartTrio route, no auth and no database, served by the same
  hypercorn configuration in one trio process: the ceiling of our stack;
* ``GET /meetings/list/:userId`` on the real server with embedded storage (the default install), a valid
  Bearer token, the user hosting 20 meetings. The same host's list is read again and again, so after the
  first read it comes from the in-memory host-list cache: the best case;
* the same route on a second real server whose ``storage.mongodb_uri`` points at a SecantusDB started
  separately: the cache is off there (another process may write), so every request is a real database
  read: the floor;
* ``POST /auth/login`` on the embedded server (scrypt at the production cost, n = 16384).

The real servers are started through :class:`altegon_rt.testing.process.ServerProcess` on temporary data
dirs with rate limits raised; setup (register, login, create meetings) uses httpx. Each concurrency level
runs the targets one after the other, so slow drift of the machine hits all of them alike. Any non-2xx
answer or socket error fails the run. wrk and CPU accounting live in bench/wrkrun.py, the processes in
bench/servers.py.

Usage: ``.venv/bin/python bench/rest.py [--duration 10] [--concurrency 1,16,64] [--quick]``.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import os
import platform
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:  # bench/ is not a package: its modules import each other as siblings
    sys.path.insert(0, str(HERE))

from servers import (  # noqa: E402
    MEETINGS,
    PASSWORD,
    SCRYPT_N,
    Account,
    bare_server,
    external_db,
    make_account,
    real_server,
)
from wrkrun import WARMUP_S, WRK_TIMEOUT, BenchError, Results, Target, descendants, measure, require_wrk  # noqa: E402
from wrkrun import wrk_version as _wrk_version  # noqa: E402

from altegon_rt.api.services import Services  # noqa: E402
from altegon_rt.testing.process import ServerProcess  # noqa: E402

LOGIN_LUA = HERE / "login.lua"
AIM_RATIO = 0.60
AIM_P99_MS = 25.0
AIM_CONCURRENCY = 64
NAMES = ("bare", "list", "list_db", "login")
LABELS = {
    "bare": "GET /bare (ceiling)",
    "list": "GET /meetings/list/:userId (cached: embedded)",
    "list_db": "GET /meetings/list/:userId (uncached: external DB)",
    "login": "POST /auth/login",
}


def scrypt_concurrency() -> int:
    """How many scrypt hashes the server runs at a time: read from Services' own default, not restated here."""
    field = next(f for f in dataclasses.fields(Services) if f.name == "hash_limiter")
    assert field.default_factory is not dataclasses.MISSING
    return int(field.default_factory().total_tokens)


def list_target(name: str, server: ServerProcess, account: Account, db_pids: tuple[int, ...]) -> Target:
    url = f"{server.url}/meetings/list/{account.user_id}"
    return Target(name, url, server.proc.pid, db_pids, headers=(f"Authorization: Bearer {account.token}",))


def targets(
    server: ServerProcess, account: Account, db_server: ServerProcess, db_account: Account, db_pid: int,
    bare: tuple[str, int],
) -> list[Target]:  # fmt: skip
    """The four targets; ``db_server`` talks to the external database ``db_pid`` (not its child)."""
    embedded_db = tuple(descendants(server.proc.pid))
    external = (db_pid, *descendants(db_pid), *descendants(db_server.proc.pid))
    login_env = {"BENCH_LOGIN_EMAIL": account.email, "BENCH_LOGIN_PASSWORD": PASSWORD}
    return [
        Target("bare", f"{bare[0]}/bare", bare[1]),
        list_target("list", server, account, embedded_db),
        list_target("list_db", db_server, db_account, external),
        Target("login", f"{server.url}/auth/login", server.proc.pid, embedded_db, script=LOGIN_LUA, env=login_env),
    ]


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
    git = ["git", "-C", str(HERE.parent)]
    head = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False)
    dirty = subprocess.run([*git, "status", "--porcelain", "--", "altegon_rt"], capture_output=True, text=True,
                           check=False)  # fmt: skip
    if head.returncode != 0:
        return "not a git checkout"
    changed = len(dirty.stdout.splitlines())
    return head.stdout.strip() + (f" + {changed} uncommitted change(s) in altegon_rt/" if changed else " (clean)")


def machine_lines(threads: int, duration_s: int) -> list[str]:
    return [
        f"- date: {dt.datetime.now(dt.UTC).strftime('%Y-%m-%d %H:%M:%S UTC')}",
        f"- machine: nproc {len(os.sched_getaffinity(0))}, CPU {cpu_model()}, {platform.system()} {platform.release()}",
        f"- code: {code_state()}; python {platform.python_version()}; {_wrk_version()}",
        f"- wrk -t {threads} (at most one per client) -d {duration_s}s --latency --timeout {WRK_TIMEOUT}; "
        f"{WARMUP_S} s warm-up per target; servers, databases and wrk share the same cores",
    ]


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
        bare, cached, uncached = (results[name, c].wrk for name in ("bare", "list", "list_db"))
        lines.append(
            f"- {c} clients: cached list/bare = {cached.rps / bare.rps:.2f} ({cached.rps:.0f} / {bare.rps:.0f} "
            f"req/s), uncached list/bare = {uncached.rps / bare.rps:.2f} ({uncached.rps:.0f} req/s); p99 cached "
            f"{cached.p99_ms:.2f} ms, uncached {uncached.p99_ms:.2f} ms, bare {bare.p99_ms:.2f} ms"
        )
    return lines


def aim_lines(results: Results, levels: Sequence[int]) -> list[str]:
    c = AIM_CONCURRENCY if AIM_CONCURRENCY in levels else max(levels)
    bare, listed, uncached = (results[name, c].wrk for name in ("bare", "list", "list_db"))
    ratio = listed.rps / bare.rps
    ratio_ok, p99_ok = ratio >= AIM_RATIO, listed.p99_ms < AIM_P99_MS
    verdict = "MET" if ratio_ok and p99_ok else "NOT MET"
    # Little's law for a closed loop: mean latency = clients / throughput, whatever the code does.
    floor_ms = 1000.0 * c / bare.rps
    return [
        "- judged on the cached list (embedded storage, what a default install runs); the uncached list is "
        "shown beside it and not judged",
        f"- list route >= {AIM_RATIO:.0%} of the bare ceiling at {c} clients: "
        f"{ratio:.0%} -> {'yes' if ratio_ok else 'no'} (uncached: {uncached.rps / bare.rps:.0%})",
        f"- list route p99 < {AIM_P99_MS:.0f} ms at {c} clients: {listed.p99_ms:.2f} ms -> "
        f"{'yes' if p99_ok else 'no'} (uncached: {uncached.p99_ms:.2f} ms)",
        f"- aim {verdict}"
        + ("" if c == AIM_CONCURRENCY else f" (judged at {c} clients: {AIM_CONCURRENCY} was not run)"),
        f"- for scale: even the bare ceiling ({bare.rps:.0f} req/s) gives a mean latency of {c} / {bare.rps:.0f} "
        f"= {floor_ms:.1f} ms at {c} closed-loop clients (Little's law); p99 < {AIM_P99_MS:.0f} ms there needs "
        f"more than {1000.0 * c / AIM_P99_MS:.0f} req/s",
    ]


def notes(results: Results, account: Account, db_account: Account) -> list[str]:
    lines = [
        f"- login is dominated by scrypt by design (n={SCRYPT_N}, r=8, p=1, the production cost; at most "
        f"{scrypt_concurrency()} hash(es) at a time: cores - 1, see altegon_rt/api/services.py); each attempt "
        "also writes one durable audit entry. Its req/s is the CPU budget for password checks, not a measure "
        "of the HTTP path.",
        f"- list: a valid Bearer JWT, {MEETINGS} meetings, {account.list_bytes} bytes of JSON per answer "
        f"({db_account.list_bytes} on the external DB).",
        f"- cached list ({account.storage} storage, SecantusDB as the server's child process): the best case. "
        "wrk reads the same host's list again and again, so all but the first read are answered from the "
        "in-memory host-list cache and the database is not touched (see its CPU column). Real traffic spreads "
        "over many hosts and writes drop lists from the cache, so expect less.",
        f"- uncached list ({db_account.storage} storage: storage.mongodb_uri set to a SecantusDB started "
        "separately, same cores): the floor. The cache is off because another process may write, so every "
        "request is an indexed query over the MongoDB wire protocol, decoded by pymongo in a worker thread.",
        "- CPU ms/req: CPU time of the answering HTTP process (all threads) and of its database process, per "
        "request. foreign load: cores busy with processes other than the servers, databases, wrk and this script.",
        "- wrk is closed-loop (each client waits for its answer), so under saturation latency is mostly queueing.",
    ]
    if account.list_closes or db_account.list_closes:
        lines.append(
            "- WARNING: a server answered the list route with 'Connection: close': no keep-alive, so every "
            "request of that list row also paid a new TCP connection (bare keeps its connections)."
        )
    busiest = max(results.values(), key=lambda cell: cell.foreign_cores)
    if busiest.foreign_cores > 0.2:
        lines.append(
            f"- WARNING: other processes used up to {busiest.foreign_cores:.2f} cores during the run; "
            "the numbers are lower than this machine can do."
        )
    return lines


def report(results: Results, levels: Sequence[int], accounts: tuple[Account, Account], threads: int,
           duration_s: int) -> str:  # fmt: skip
    return "\n".join(
        [
            "## Altegon RT REST benchmark",
            "",
            *machine_lines(threads, duration_s),
            "",
            *table(results, levels, NAMES),
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
            *notes(results, *accounts),
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


def run(args: argparse.Namespace) -> tuple[Results, tuple[Account, Account]]:
    """Start the servers and the external database, make the accounts, measure; everything stops after."""
    with (
        real_server() as server,
        external_db() as (db_uri, db_pid),
        real_server(db_uri) as db_server,
        bare_server() as bare,
    ):
        accounts = make_account(server.url), make_account(db_server.url)
        if (accounts[0].storage, accounts[1].storage) != ("embedded", "mongodb"):
            raise BenchError(f"setup: storage is {accounts[0].storage}/{accounts[1].storage}, not embedded/mongodb")
        print(
            f"server pid {server.proc.pid} at {server.url} (embedded); server pid {db_server.proc.pid} at "
            f"{db_server.url} on external DB pid {db_pid}; bare pid {bare[1]} at {bare[0]}",
            file=sys.stderr,
            flush=True,
        )
        all_targets = targets(server, accounts[0], db_server, accounts[1], db_pid, bare)
        return measure(all_targets, args.levels, args.threads, args.duration), accounts


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    require_wrk()
    scrypt_concurrency()  # fails now, not after the run, if Services changed shape
    cells = len(NAMES) * len(args.levels)
    print(f"starting servers; then {cells} cells of {args.duration} s each", file=sys.stderr, flush=True)
    try:
        results, accounts = run(args)
    except BenchError as exc:
        print(f"bench/rest.py: FAILED: {exc}", file=sys.stderr)
        return 1
    print(report(results, args.levels, accounts, args.threads, args.duration))
    return 0


if __name__ == "__main__":
    sys.exit(main())
