"""Issue 4's data paths, measured on the real server: transcript writes and reads, file upload and download.

Prints a markdown table:
- ``POST /send-transcript``: lines stored per second (each encrypted, written with j:true, audited) and
  latency, at 1 and 16 clients (wrk);
- ``GET /view-transcript/:id`` of a 5,000-line meeting: p50/p99 at 1 and 4 clients (wrk);
- a 200 MB file uploaded (multipart, streamed) and downloaded (httpx, streamed): MB/s, and the server's
  resident memory before and at its peak during the transfer, sampled every 20 ms.

Run from anywhere: ``.venv/bin/python bench/data.py`` (needs wrk: ``apt-get install wrk``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx
from servers import Account, make_account, real_server
from wrkrun import Target, require_wrk, run_cell, settle

HERE = Path(__file__).resolve().parent
LINES = 5_000
FILE_MB = 200
CHUNK = 1024 * 1024
LINE = "We agreed to ship the release on Friday after the last round of testing; Ada will send the notes."


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


class PeakRss:
    """Samples a process's resident memory in a thread while a block runs."""

    def __init__(self, pid: int) -> None:
        self.pid, self.peak, self.before = pid, 0.0, rss_mb(pid)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, rss_mb(self.pid))

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_mb(self.pid))


def new_meeting(client: httpx.Client, account: Account) -> str:
    body = {"title": "bench transcript", "hostId": account.user_id, "transcriptEnabled": True}
    r = client.post("/meetings/create", json=body)
    r.raise_for_status()
    return r.json()["meetingId"]


def seed_lines(base_url: str, token: str, meeting_id: str, count: int) -> None:
    headers = {"Authorization": f"Bearer {token}"}

    def send(i: int) -> None:
        body = {"meetingId": meeting_id, "userName": f"Speaker {i % 7}", "message": f"{i}: {LINE}"}
        httpx.post(f"{base_url}/send-transcript", json=body, headers=headers, timeout=60).raise_for_status()

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(send, range(count)))


def multipart_body(size: int) -> Iterator[bytes]:
    yield b'--bench\r\nContent-Disposition: form-data; name="file"; filename="big.bin"\r\n\r\n'
    block = os.urandom(CHUNK)
    for _ in range(size // CHUNK):
        yield block
    yield b"\r\n--bench--\r\n"


def transfer_rows(server_url: str, pid: int, token: str, room: str) -> list[str]:
    headers = {"Authorization": f"Bearer {token}"}
    size = FILE_MB * CHUNK
    with httpx.Client(base_url=server_url, timeout=600, headers=headers) as client:
        upload_headers = {"content-type": "multipart/form-data; boundary=bench"}
        with PeakRss(pid) as up:
            t0 = time.monotonic()
            r = client.post(f"/room/{room}/upload", content=multipart_body(size), headers=upload_headers)
            up_s = time.monotonic() - t0
        r.raise_for_status()
        name = r.json()["data"]["filename"]
        with PeakRss(pid) as down:
            t0 = time.monotonic()
            got = 0
            with client.stream("GET", f"/room/{room}/files/{name}/download") as response:
                for chunk in response.iter_bytes(CHUNK):
                    got += len(chunk)
            down_s = time.monotonic() - t0
    assert got == size, (got, size)
    return [
        f"| upload {FILE_MB} MB (multipart, streamed) | {size / CHUNK / up_s:.0f} MB/s | {up_s:.2f} s | "
        f"{up.before:.0f} → peak {up.peak:.0f} MB |",
        f"| download {FILE_MB} MB (streamed) | {size / CHUNK / down_s:.0f} MB/s | {down_s:.2f} s | "
        f"{down.before:.0f} → peak {down.peak:.0f} MB |",
    ]


def wrk_rows(
    server_pid: int, db_pids: Sequence[int], targets: list[tuple[Target, Sequence[int]]], secs: int
) -> list[str]:
    rows = []
    own = [server_pid, *db_pids]
    for target, levels in targets:
        for clients in levels:
            cell = run_cell(target, clients, 2, secs, own)
            w = cell.wrk
            rows.append(f"| {target.name} | {clients} | {w.rps:.1f} | {w.p50_ms:.2f} | {w.p99_ms:.2f} | "
                        f"{cell.app_ms_per_req:.2f} | {cell.db_ms_per_req:.2f} |")  # fmt: skip
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk cell")
    args = parser.parse_args(argv)
    require_wrk()
    env = {"ALTEGON_FILES_MAX_UPLOAD_BYTES": str(FILE_MB * CHUNK + CHUNK)}
    with real_server(extra_env=env) as server:
        pid = server.proc.pid
        db_pid = int((server.data_dir / "db" / "server.pid").read_text())
        account = make_account(server.url)
        auth = {"Authorization": f"Bearer {account.token}"}
        with httpx.Client(base_url=server.url, headers=auth, timeout=60) as client:
            writes, reads = new_meeting(client, account), new_meeting(client, account)
            room = client.post("/room/create", json={"name": "bench", "type": "meeting"}).json()["data"]["id"]
        print(f"seeding {LINES} transcript lines...", file=sys.stderr)
        seed_lines(server.url, account.token, reads, LINES)
        body = json.dumps({"meetingId": writes, "userName": "Bench", "message": LINE})
        send = Target("POST /send-transcript", f"{server.url}/send-transcript", pid, (db_pid,),
                      script=HERE / "post_json.lua", headers=(f"Authorization: Bearer {account.token}",),
                      env={"BENCH_BODY": body})  # fmt: skip
        view = Target(f"GET /view-transcript ({LINES} lines)", f"{server.url}/view-transcript/{reads}", pid,
                      (db_pid,), headers=(f"Authorization: Bearer {account.token}",))  # fmt: skip
        rows = wrk_rows(pid, (db_pid,), [(send, (1, 16)), (view, (1, 4))], args.duration)
        settle([pid, db_pid])
        transfer = transfer_rows(server.url, pid, account.token, room)
    print_report(rows, transfer, args.duration)
    return 0


def print_report(rows: list[str], transfer: list[str], secs: int) -> None:
    print("## Altegon RT data paths (bench/data.py)\n")
    when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    print(f"- date: {when}; nproc {os.cpu_count()}; wrk cells of {secs} s; embedded storage;")
    print("  server, database and load generator share the cores\n")
    print("| route | clients | req/s | p50 ms | p99 ms | CPU ms/req app | CPU ms/req db |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    print("\n".join(rows))
    print("\n| transfer | rate | time | server RSS |")
    print("|---|---:|---:|---:|")
    print("\n".join(transfer))


if __name__ == "__main__":
    sys.exit(main())
