"""RealtimeKit throughput: create-meeting + add-participant, listing 10,000 meetings, webhook delivery.

1. ``altegon-rt serve`` (embedded storage, temporary data dir, rate limits raised) with an administrator, an
   API token and an app. ``--ops`` times one *operation* = ``POST /meetings`` then ``POST .../participants``
   (which signs a participant token), by ``--clients`` concurrent httpx clients: operations per second and the
   latency of the pair (p50, p99).
2. The app is filled to ``--meetings`` meetings through the same API, then ``GET /meetings`` is timed over
   random pages (``per_page`` 20 and 100, and with ``search``): p50 and p99.
3. Webhook delivery: the server's own :class:`~altegon_rt.rtk.webhooks.WebhookDispatcher` on the real store
   (the embedded database), in this process, sending ``--events`` events to ``--hooks`` webhooks of a local
   receiver (a separate Python process answering 200): deliveries per second from the first emit to the last
   delivery received, each signed and logged.

Usage: ``.venv/bin/python bench/rtk.py [--ops 400] [--clients 8] [--meetings 10000] [--events 2000]``.
Prints one markdown table per part.
"""

from __future__ import annotations

import argparse
import random
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import trio

from altegon_rt.config import RtkSection, StorageSection
from altegon_rt.rtk.webhooks import WebhookDispatcher
from altegon_rt.store import Store
from altegon_rt.testing.process import ServerProcess

ADMIN, PASSWORD = "bench-admin@example.com", "bench admin password"
HIGH = "10000000"
ENV = {"ALTEGON_LIMITS_WRITES_PER_ACCOUNT_PER_MIN": HIGH, "ALTEGON_LIMITS_LOGIN_PER_IP_PER_MIN": HIGH}
MEDIA = {"screenshare": {"frame_rate": 5, "quality": "hd"}, "video": {"frame_rate": 30, "quality": "vga"}}
PRESET = {"name": "participant", "ui": {}, "config": {"max_screenshare_count": 1, "media": MEDIA,
          "max_video_streams": {"desktop": 9, "mobile": 4}, "view_type": "GROUP_CALL"}}  # fmt: skip
RECEIVER = r"""
import sys, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
count = 0
lock = threading.Lock()
class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_POST(self):
        global count
        self.rfile.read(int(self.headers["Content-Length"]))
        with lock:
            count += 1
        self.send_response(200); self.send_header("Content-Length", "0"); self.end_headers()
    def do_GET(self):
        body = str(count).encode()
        self.send_response(200); self.send_header("Content-Length", str(len(body))); self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a): pass
server = ThreadingHTTPServer(("127.0.0.1", 0), H)
server.daemon_threads = True
print(server.server_address[1], flush=True)
server.serve_forever()
"""


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))] * 1000


class Api:
    def __init__(self, url: str, admin_jwt: str) -> None:
        with httpx.Client(base_url=url, timeout=60) as c:
            r = c.post("/admin/api-tokens", json={"name": "bench", "account_id": "bench"},
                       headers={"Authorization": f"Bearer {admin_jwt}"})  # fmt: skip
            self.headers = {"Authorization": f"Bearer {r.json()['data']['token']}"}
            base = "/accounts/bench/realtime/kit"
            app = c.post(f"{base}/apps", json={"name": "bench"}, headers=self.headers).json()["data"]["app"]["id"]
            self.base = f"{base}/{app}"
            assert c.post(f"{self.base}/presets", json=PRESET, headers=self.headers).status_code == 201
        self.url = url


async def _clients(url: str, count: int, work: object, jobs: list[int]) -> list[float]:
    """Run ``work(client, job)`` for every job on ``count`` concurrent clients; each job's seconds."""
    timings: list[float] = []
    queue = list(jobs)

    async def worker() -> None:
        async with httpx.AsyncClient(base_url=url, timeout=60) as client:
            while queue:
                job = queue.pop()
                start = time.perf_counter()
                await work(client, job)  # type: ignore[operator]
                timings.append(time.perf_counter() - start)

    async with trio.open_nursery() as nursery:
        for _ in range(count):
            nursery.start_soon(worker)
    return timings


async def create_pairs(api: Api, ops: int, clients: int) -> tuple[float, list[float]]:
    async def op(client: httpx.AsyncClient, i: int) -> None:
        r = await client.post(f"{api.base}/meetings", json={"title": f"Meeting {i}"}, headers=api.headers)
        assert r.status_code == 201, r.text
        body = {"name": f"P{i}", "preset_name": "participant", "custom_participant_id": f"p{i}"}
        r = await client.post(f"{api.base}/meetings/{r.json()['data']['id']}/participants", json=body,
                              headers=api.headers)  # fmt: skip
        assert r.status_code == 201 and r.json()["data"]["token"], r.text

    start = time.perf_counter()
    timings = await _clients(api.url, clients, op, list(range(ops)))
    return time.perf_counter() - start, timings


async def fill(api: Api, total: int, clients: int) -> None:
    async with httpx.AsyncClient(base_url=api.url, timeout=60) as c:
        have = (await c.get(f"{api.base}/meetings", params={"per_page": 1}, headers=api.headers)).json()
    missing = total - have["paging"]["total_count"]

    async def one(client: httpx.AsyncClient, i: int) -> None:
        r = await client.post(f"{api.base}/meetings", json={"title": f"Filler {i}"}, headers=api.headers)
        assert r.status_code == 201, r.text

    await _clients(api.url, clients, one, list(range(max(0, missing))))


async def list_pages(api: Api, total: int, per_page: int, requests: int, clients: int, search: str = "") -> list[float]:
    pages = max(1, total // per_page)

    async def get(client: httpx.AsyncClient, _: int) -> None:
        params: dict[str, object] = {"per_page": per_page, "page_no": random.randint(1, pages)}
        if search:
            params["search"] = search
        r = await client.get(f"{api.base}/meetings", params=params, headers=api.headers)
        assert r.status_code == 200 and r.json()["paging"]["total_count"] > 0, r.text

    return await _clients(api.url, clients, get, list(range(requests)))


async def webhooks(events: int, hooks: int, concurrency: int) -> tuple[float, int, int]:
    receiver = subprocess.Popen([sys.executable, "-c", RECEIVER], stdout=subprocess.PIPE, text=True)
    try:
        port = int(receiver.stdout.readline())  # type: ignore[union-attr]
        url = f"http://127.0.0.1:{port}"
        with tempfile.TemporaryDirectory(prefix="altegon-bench-rtk-") as tmp:
            async with trio.open_nursery() as nursery:
                store: Store = await nursery.start(Store(StorageSection(), Path(tmp)).run)
                app_id = "00000000-0000-4000-8000-000000000000"
                for i in range(hooks):
                    fields = {"name": f"h{i}", "url": f"{url}/hook", "events": ["meeting.started"], "enabled": True,
                              "secret": "whsec_" + secrets.token_urlsafe(24)}  # fmt: skip
                    await store.rtk_webhooks.create(app_id, fields)
                config = RtkSection(webhook_queue_size=events, webhook_concurrency=concurrency, webhook_max_attempts=1)
                dispatcher = WebhookDispatcher(config, store)
                await nursery.start(dispatcher.run)
                start = time.perf_counter()
                for i in range(events):
                    assert dispatcher.emit(app_id, "meeting.started", {"meeting": {"id": str(i)}})
                expected = events * hooks
                with trio.fail_after(600):
                    while dispatcher.delivered + dispatcher.failed < expected:
                        await trio.sleep(0.01)
                elapsed = time.perf_counter() - start
                async with httpx.AsyncClient() as c:
                    received = int((await c.get(url)).text)
                nursery.cancel_scope.cancel()
        return elapsed, received, dispatcher.failed
    finally:
        receiver.terminate()
        receiver.wait(10)


def admin_server(tmp: Path) -> ServerProcess:
    made = subprocess.run([sys.executable, "-m", "altegon_rt", "create-admin", "--email", ADMIN, "--password-stdin",
                           "--data-dir", str(tmp)], input=PASSWORD + "\n", capture_output=True, text=True,
                          timeout=120)  # fmt: skip
    if made.returncode != 0:
        sys.exit(f"create-admin failed: {made.stderr}")
    return ServerProcess(tmp, env=ENV)


def row(name: str, timings: list[float], wall: float | None = None) -> str:
    rate = f"{len(timings) / wall:.0f}" if wall else "-"
    return (f"| {name} | {len(timings)} | {rate} | {pct(timings, 50):.1f} | {pct(timings, 99):.1f} "
            f"| {statistics.mean(timings) * 1000:.1f} |")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ops", type=int, default=400)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--meetings", type=int, default=10_000)
    parser.add_argument("--list-requests", type=int, default=400)
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--hooks", type=int, default=1)
    parser.add_argument("--webhook-concurrency", type=int, default=8)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="altegon-bench-rtk-") as tmp:
        server = admin_server(Path(tmp))
        try:
            login = httpx.post(f"{server.url}/auth/login", json={"userName": ADMIN, "password": PASSWORD}, timeout=60)
            api = Api(server.url, login.json()["token"])
            print("| what | requests | per s | p50 ms | p99 ms | mean ms |")
            print("| --- | ---: | ---: | ---: | ---: | ---: |")
            wall, timings = trio.run(create_pairs, api, args.ops, args.clients)
            print(row(f"create meeting + add participant ({args.clients} clients)", timings, wall), flush=True)
            filled = time.perf_counter()
            trio.run(fill, api, args.meetings, 16)
            print(f"<!-- filled to {args.meetings} meetings in {time.perf_counter() - filled:.0f} s -->", flush=True)
            for per_page, search in ((20, ""), (100, ""), (20, "Filler 12")):
                timings = trio.run(list_pages, api, args.meetings, per_page, args.list_requests, args.clients, search)
                label = f"list meetings of {args.meetings}, per_page {per_page}" + (
                    f", search {search!r}" * bool(search)
                )
                print(row(label, timings), flush=True)
        finally:
            status = server.terminate()
            if status != 0 or "Traceback" in server.log_text():
                print(f"WARNING: server exited {status}; its log:\n{server.log_text()}", file=sys.stderr)
    elapsed, received, failed = trio.run(webhooks, args.events, args.hooks, args.webhook_concurrency)
    print()
    print("| webhook deliveries | received | failed | seconds | deliveries per s |")
    print("| --- | ---: | ---: | ---: | ---: |")
    print(f"| {args.events} events x {args.hooks} webhook(s), concurrency {args.webhook_concurrency} | {received} "
          f"| {failed} | {elapsed:.2f} | {received / elapsed:.0f} |")  # fmt: skip


if __name__ == "__main__":
    main()
