"""SFU forwarding benchmark: our server and Janus's VideoRoom, side by side, with real DTLS-SRTP on loopback.

For each scenario (R rooms, each 1 publisher → S subscribers) and each server, the same generator
(bench/sfu_load.py: our own lean WebRTC endpoints over pylibsrtp, in worker processes pinned to the load core)
publishes ~1 Mbit/s VP8-sized streams (1100-byte payloads, 110 packets/s each, the send time inside) and
subscribes to them; after a warm-up it counts, over the measured window:

* forwarded SRTP packets/s (media packets the subscribers received) and the share of what was expected;
* p50/p99 latency from the publisher's send to the subscriber's receive (every Nth packet is decrypted; the
  rest are counted by their RTP header), next to a "direct" row: one of our endpoints sending straight to
  another with no server in between, the generator's own floor, to subtract;
* server CPU seconds per 100k forwarded packets, CPU% of one core, and RSS, from /proc (utime+stime of every
  thread of the server process and its children).

Servers: ``ours`` is ``python -m altegon_rt serve`` (signalled over /sfu/socket.io/ with python-socketio);
``janus`` is Janus 1.x from Debian (``apt-get install -y janus``), started with a config written to a temp
dir (VideoRoom plugin and HTTP transport only), signalled over its HTTP API (bench/sfu_janus.py). Janus
gathers no ICE candidates on ``lo``, so the whole run happens inside ``unshare -n`` (needs root, iproute2),
with a dummy bridge interface holding 127.0.0.2. Each server is pinned to core ``--server-cpu``, the generators
and this script to ``--load-cpu``.

Usage: ``.venv/bin/python bench/sfu.py [--quick] [--servers ours,janus] [--warm 10 --measure 10]``.
Debian packages: janus (for the Janus column), iproute2 and util-linux (unshare) for the namespace.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Protocol

from sfu_load import PAYLOAD_SIZE
from sfu_pool import Pool, Scenario
from wrkrun import descendants, process_cpu_s  # bench/ modules import their siblings (bench/ is not a package)

HERE = Path(__file__).resolve().parent
NETNS_ENV = "ALTEGON_SFU_BENCH_NETNS"
DUMMY_IF, DUMMY_IP = "janusbench0", "127.0.0.2"
PAGE = os.sysconf("SC_PAGE_SIZE")
FULL = [Scenario(1, 10), Scenario(1, 50), Scenario(1, 100), Scenario(2, 100), Scenario(5, 100)]
QUICK = [Scenario(1, 10), Scenario(2, 50)]
SAMPLES_PER_S = 2000  # decrypted packets per second, for the latency percentiles
GENERATOR_SATURATED = 0.85  # of the load core: above this the generator, not the server, may be the limit


class Side(Protocol):
    name: str

    @property
    def pids(self) -> list[int]: ...
    def setup(self, scenario: Scenario, pool: Pool) -> None: ...
    def teardown(self) -> None: ...
    def stop(self) -> None: ...


def server_cpu_s(pids: list[int]) -> float:
    return sum(process_cpu_s(p) for pid in pids for p in [pid, *descendants(pid)])


def server_sys_s(pids: list[int]) -> float:
    """Kernel CPU seconds (stime) of ``pids`` and their children: for UDP over loopback, mostly sendto."""
    total = 0
    for p in (p for pid in pids for p in [pid, *descendants(pid)]):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        total += int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def server_rss_mib(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        for p in [pid, *descendants(pid)]:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
    return total / 1024


def udp_drops() -> int:
    """RcvbufErrors from /proc/net/snmp: datagrams the kernel dropped because a socket's buffer was full."""
    lines = [line.split() for line in Path("/proc/net/snmp").read_text().splitlines() if line.startswith("Udp:")]
    return int(dict(zip(lines[0], lines[1], strict=True))["RcvbufErrors"])


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def measure(
    side_pids: list[int], pool: Pool, args: argparse.Namespace, streams: int, fanout: int, profile: Path | None = None
) -> dict[str, Any]:
    """One bounded run over connected peers (``streams`` subscriptions, each packet sent to ``fanout`` of them);
    with ``profile``, py-spy samples the server over the measured window into that file (collapsed stacks)."""
    sample_every = max(1, int(streams * args.pps / SAMPLES_PER_S))
    spec = pool.run(args.pps, args.warm, args.measure, sample_every)
    time.sleep(max(0.0, spec["t_measure"] - time.monotonic()))
    cpu0, drops0, gen0, sys0 = server_cpu_s(side_pids), udp_drops(), server_cpu_s(pool.pids), server_sys_s(side_pids)
    spy = start_py_spy(side_pids[0], args.measure, profile) if profile and side_pids else None
    time.sleep(max(0.0, spec["t_end"] - time.monotonic()))
    cpu1, drops1, gen1, sys1 = server_cpu_s(side_pids), udp_drops(), server_cpu_s(pool.pids), server_sys_s(side_pids)
    if spy is not None:
        spy.wait(30)
    rss = server_rss_mib(side_pids) if side_pids else 0.0
    results = pool.results(args.warm + args.measure + 60)
    window = args.measure
    sent = results[0]["sent"]
    received = sum(r["received"] for r in results[1:])
    latencies = [x for r in results[1:] for x in r["latencies_us"]]
    forwarded_per_s = received / window
    cpu = cpu1 - cpu0
    return {
        "offered_pps": sent * fanout / window,
        "forwarded_pps": forwarded_per_s,
        "delivered": received / (sent * fanout) if sent else 0.0,
        "p50_ms": percentile(latencies, 0.50) / 1000,
        "p99_ms": percentile(latencies, 0.99) / 1000,
        "samples": len(latencies),
        "cpu_s_per_100k": cpu / received * 1e5 if received else float("nan"),
        "cpu_pct": cpu / window * 100,
        "sys_share": (sys1 - sys0) / cpu if cpu else 0.0,
        "srtp": ",".join(pool.profiles),
        "rss_mib": rss,
        "generator_pct": (gen1 - gen0) / window * 100,
        "udp_drops": drops1 - drops0,
        "decrypt_errors": sum(r["decrypt_errors"] + r["bad"] for r in results),
        "late_sends": results[0]["late_sends"],
    }


def start_py_spy(pid: int, seconds: float, out: Path) -> subprocess.Popen[bytes]:
    """py-spy (``pip install py-spy``; a measuring tool, not a dependency) recording ``pid`` for ``seconds``."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    argv = [spy, "record", "-p", str(pid), "-d", str(max(1, int(seconds))), "-r", "200", "-f", "raw", "-o", str(out)]
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def run_side(side: Side, scenarios: list[Scenario], args: argparse.Namespace, pool: Pool) -> list[dict[str, Any]]:
    rows = []
    for scenario in scenarios:
        started = time.monotonic()
        try:
            side.setup(scenario, pool)
            profile = (
                args.profile / f"{side.name}-{scenario.rooms}x{scenario.subscribers}.txt" if args.profile else None
            )
            if side.name != "ours":
                profile = None  # py-spy reads Python stacks only
            figures = measure(side.pids, pool, args, scenario.streams, scenario.subscribers, profile)
        except Exception as exc:  # one failed cell must not lose the others
            figures = {"error": f"{type(exc).__name__}: {str(exc)[:400]}"}
        finally:
            try:
                pool.close_peers()
            finally:
                side.teardown()
        row = {"server": side.name, "scenario": scenario.label, "streams": scenario.streams, **figures}
        print(f"  {side.name} {scenario.label}: {summary(row)} ({time.monotonic() - started:.0f} s)", flush=True)
        rows.append(row)
    return rows


def direct_baseline(pool: Pool, args: argparse.Namespace) -> dict[str, Any]:
    """One of our endpoints sending straight to another (full ICE both ways, DTLS, SRTP): the generator's floor."""
    pub = pool.create_publishers(1, "127.0.0.1")[0]
    sub = pool.create_subscribers(1, "127.0.0.1")[0]

    def remote_of(local: dict[str, Any], dtls_role: str, controlling: bool) -> dict[str, Any]:
        keys = ("ufrag", "password", "fingerprint")
        return {**{k: local[k] for k in keys}, "ip": local["host"], "port": local["port"], "dtls_role": dtls_role,
                "controlling": controlling}  # fmt: skip

    try:
        pool.start([(pub, remote_of(sub, "client", True), 0x4242, 96)])
        pool.start([(sub, remote_of(pub, "server", False), None, 0)])
        pool.connect()
        figures = measure([], pool, args, 1, 1)
    finally:
        pool.close_peers()
    return {"server": "direct (no SFU)", "scenario": "1x(1→1)", "streams": 1, **figures}


def summary(row: dict[str, Any]) -> str:
    if "error" in row:
        return "ERROR " + row["error"]
    return (f"{row['forwarded_pps']:.0f} pkt/s ({row['delivered']:.1%} delivered), p50/p99 {row['p50_ms']:.2f}/"
            f"{row['p99_ms']:.2f} ms, {row['cpu_s_per_100k']:.2f} CPU s/100k, server {row['cpu_pct']:.0f}% "
            f"{row['rss_mib']:.0f} MiB, generator {row['generator_pct']:.0f}%; kernel {row['sys_share']:.0%} of server "
            f"CPU, {row['udp_drops']} UDP drops, {row['decrypt_errors']} bad samples, {row['late_sends']} late sends, "
            f"{row['srtp']}")  # fmt: skip


def table(rows: list[dict[str, Any]]) -> str:
    head = ("| server | rooms x (1 → subscribers) | offered pkt/s | forwarded pkt/s | delivered | p50 ms | p99 ms "
            "| CPU s / 100k pkts | server CPU % (kernel share) | RSS MiB | generator CPU % |")  # fmt: skip
    lines = [head, "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['server']} | {r['scenario']} | error: {r['error'][:120]} |||||||||")
            continue
        flag = " (saturated)" if r["generator_pct"] > GENERATOR_SATURATED * 100 else ""
        lines.append(
            f"| {r['server']} | {r['scenario']} | {r['offered_pps']:,.0f} | {r['forwarded_pps']:,.0f} "
            f"| {r['delivered']:.1%} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} | {r['cpu_s_per_100k']:.2f} "
            f"| {r['cpu_pct']:.0f} ({r['sys_share']:.0%}) | {r['rss_mib']:.0f} | {r['generator_pct']:.0f}{flag} |"
        )
    return "\n".join(lines)


def ensure_netns() -> None:
    """Re-run this script inside ``unshare -n`` (lo plus a dummy bridge with 127.0.0.2) unless already there."""
    if os.environ.get(NETNS_ENV):
        for command in (["ip", "link", "set", "lo", "up"], ["ip", "link", "add", DUMMY_IF, "type", "bridge"],
                        ["ip", "addr", "add", f"{DUMMY_IP}/32", "dev", DUMMY_IF],
                        ["ip", "link", "set", DUMMY_IF, "up"]):  # fmt: skip
            subprocess.run([shutil.which(command[0]) or command[0], *command[1:]], check=True)
        return
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        sys.exit("bench/sfu.py needs unshare (util-linux) and ip (iproute2) for Janus: apt-get install -y iproute2")
    env = {**os.environ, NETNS_ENV: "1"}
    unshare = shutil.which("unshare") or "unshare"
    sys.exit(subprocess.run([unshare, "-n", "--", sys.executable, *sys.argv], env=env).returncode)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--servers", default="ours,janus", help="comma-separated: ours, janus")
    parser.add_argument("--quick", action="store_true", help="smoke run: 2 small scenarios, 3 s warm + 3 s measured")
    parser.add_argument("--warm", type=float, default=None, help="seconds of warm-up per scenario (default 10)")
    parser.add_argument("--measure", type=float, default=None, help="measured seconds per scenario (default 10)")
    parser.add_argument("--scenarios", default=None, help="e.g. 1x10,2x100 (rooms x subscribers per room)")
    parser.add_argument("--pps", type=float, default=110.0, help="packets/s per publisher (110 ≈ 1 Mbit/s)")
    parser.add_argument("--receivers", type=int, default=1, help="receiver worker processes")
    parser.add_argument("--server-cpu", type=int, default=0)
    parser.add_argument("--load-cpu", type=int, default=1)
    parser.add_argument("--janus-event-loops", type=int, default=0, help="Janus event_loops (0: thread per handle)")
    parser.add_argument("--json", type=Path, default=None, help="also write the rows here")
    parser.add_argument("--profile", type=Path, default=None, help="py-spy our server into this dir (collapsed)")
    args = parser.parse_args()
    default_s = 3.0 if args.quick else 10.0
    args.warm = default_s if args.warm is None else args.warm
    args.measure = default_s if args.measure is None else args.measure
    if args.scenarios:
        args.scenario_list = [Scenario(*map(int, s.split("x"))) for s in args.scenarios.split(",")]
    else:
        args.scenario_list = QUICK if args.quick else FULL
    if os.cpu_count() is not None and os.cpu_count() < 2:  # type: ignore[operator]
        args.server_cpu = args.load_cpu = None
    return args


def make_side(name: str, args: argparse.Namespace) -> Side:
    if name == "ours":
        from sfu_ours import OursSide

        return OursSide(args.server_cpu, args.load_cpu)
    if name == "janus":
        from sfu_janus import JanusSide

        return JanusSide(args.server_cpu, args.load_cpu, DUMMY_IP, args.janus_event_loops)
    raise SystemExit(f"unknown server {name!r}: use ours, janus")


def main() -> None:
    args = parse_args()
    servers = [s.strip() for s in args.servers.split(",") if s.strip()]
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
    if "janus" in servers:
        if shutil.which("janus") is None:
            sys.exit("bench/sfu.py: Janus is not installed (apt-get install -y janus), or run with --servers ours")
        ensure_netns()
    if args.load_cpu is not None:
        os.sched_setaffinity(0, {args.load_cpu})
    pool = Pool(args.receivers, args.load_cpu)
    rows: list[dict[str, Any]] = []
    try:
        rows.append(direct_baseline(pool, args))
        print(f"  direct: {summary(rows[-1])}", flush=True)
        for name in servers:
            side = make_side(name, args)
            try:
                rows += run_side(side, args.scenario_list, args, pool)
            finally:
                side.stop()
    finally:
        pool.stop()
    print()
    print(
        f"warm-up {args.warm:g} s, measured {args.measure:g} s, {args.pps:g} packets/s per publisher "
        f"(payload {PAYLOAD_SIZE} B); server on CPU {args.server_cpu}, load on CPU {args.load_cpu}"
    )
    print(table(rows))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
