"""One meeting under load on the real server: Meet-socket chat to many participants, ART whiteboard to viewers.

Starts ``altegon-rt serve`` (embedded storage, temporary data dir), makes a host account and a meeting over
REST, then drives bench/room_load.mjs (raw websockets under Node) and reads the server's CPU time from
/proc. Prints one markdown table:

* chat: ``--participants`` participants (websocket) in the meeting, one of them sending ``--chat-rate``
  messages per second; delivery latency p50/p99 and server CPU per second of load;
* whiteboard: the meeting's host drawing ``--draw-rate`` events per second to ``--viewers`` viewers.

Usage: ``.venv/bin/python bench/room.py [--seconds 10]``. Needs ``npm ci`` (ws).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import httpx
from wrkrun import descendants, process_cpu_s  # bench/ modules import their siblings (bench/ is not a package)

from altegon_rt.testing.process import ServerProcess

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
NODE = shutil.which("node") or "node"
# The participants are anonymous viewers from one address: registration and login limits do not apply to
# them, but the bench's own setup must not trip the defaults either.
SERVER_ENV = {"ALTEGON_LIMITS_REGISTER_PER_IP_PER_MIN": "1000", "ALTEGON_LIMITS_LOGIN_PER_IP_PER_MIN": "1000"}


def cpu_seconds(pid: int) -> float:
    """The server's CPU seconds with its embedded database's (each chat message is stored)."""
    return process_cpu_s(pid) + sum(process_cpu_s(child) for child in descendants(pid))


def setup(url: str) -> tuple[str, str]:
    """A host account and one meeting: (meeting id, host token)."""
    email = f"room-bench-{os.getpid()}@example.com"
    profile = {"email": email, "fName": "Room", "lName": "Bench", "phoneNumber": "1", "country": "NL",
               "password": "room bench 1"}  # fmt: skip
    with httpx.Client(base_url=url, timeout=30) as client:
        user = client.post("/auth/register", json=profile).json()["data"]["user"]
        token = client.post("/auth/login", json={"userName": email, "password": "room bench 1"}).json()["token"]
        body = {"title": "Bench meeting", "hostId": user["_id"], "transcriptEnabled": False}
        meeting = client.post("/meetings/create", json=body, headers={"Authorization": f"Bearer {token}"})
        return meeting.json()["meetingId"], token


def load(base: str, mode: str, options: dict[str, Any], server_pid: int) -> dict[str, Any]:
    proc = subprocess.Popen([NODE, str(HERE / "room_load.mjs"), base, mode, json.dumps(options)], cwd=ROOT,
                            stdout=subprocess.PIPE, text=True)  # fmt: skip
    assert proc.stdout is not None
    phases: dict[str, dict[str, Any]] = {}
    cpu_at: dict[str, float] = {}
    for line in proc.stdout:
        record = json.loads(line)
        phases[record["phase"]] = record
        cpu_at[record["phase"]] = cpu_seconds(server_pid)
    proc.wait(600)
    if "error" in phases:
        raise RuntimeError(phases["error"]["error"])
    result = phases[mode]
    result["cpu_per_s"] = (cpu_at[mode] - cpu_at["joined"]) / options["seconds"]
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--participants", type=int, default=500)
    parser.add_argument("--chat-rate", type=float, default=20)
    parser.add_argument("--viewers", type=int, default=200)
    parser.add_argument("--draw-rate", type=float, default=60)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="altegon-room-bench-") as tmp:
        server = ServerProcess(Path(tmp) / "data", env=SERVER_ENV)
        try:
            meeting, token = setup(server.url)
            base = server.url.replace("http://", "ws://")
            pid = server.proc.pid
            chat = load(base, "chat", {"meetingID": meeting, "participants": args.participants,
                                       "rate": args.chat_rate, "seconds": args.seconds}, pid)  # fmt: skip
            board = load(base, "whiteboard", {"meetingID": meeting, "hostToken": token, "viewers": args.viewers,
                                              "rate": args.draw_rate, "seconds": args.seconds}, pid)  # fmt: skip
        finally:
            status = server.terminate()
        if status != 0 or "Traceback" in server.log_text():
            print(server.log_text(), file=sys.stderr)
    print("| load | deliveries/s | delivered / expected | p50 ms | p99 ms | max ms | server + database CPU (cores) |")
    print("|---|---|---|---|---|---|---|")
    rows = [(f"chat {args.chat_rate:g}/s to {args.participants} participants", chat),
            (f"whiteboard {args.draw_rate:g}/s to {args.viewers} viewers", board)]  # fmt: skip
    for name, r in rows:
        print(
            f"| {name} | {r['perSecond']:,.0f} | {r['delivered']:,} / {r['expected']:,} | {r['p50']:.1f} "
            f"| {r['p99']:.1f} | {r['max']:.1f} | {r['cpu_per_s']:.2f} |"
        )


if __name__ == "__main__":
    main()
