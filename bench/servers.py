"""The processes bench/rest.py loads, and the accounts it loads them with.

* :func:`real_server`: ``altegon-rt serve`` (through :class:`altegon_rt.testing.process.ServerProcess`) on a
  temporary data dir, scrypt at the production cost and rate limits raised; embedded storage unless
  ``mongodb_uri`` is given;
* :func:`external_db`: a SecantusDB started on its own port and temporary dir, as an operator would run a
  separate database (``storage.mongodb_uri``); not a child of the server, so its pid is handed over;
* :func:`bare_server`: bench/bare_app.py, the ceiling of our HTTP stack;
* :func:`make_account`: register, sign in and create the meetings (httpx, setup only).

Imported by the scripts in bench/ as a sibling module (bench/ is not a package).
"""

from __future__ import annotations

import json
import os
import re
import select
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from wrkrun import BenchError

from altegon_rt.config import DEFAULT_ROUTE_LIMITS
from altegon_rt.testing.process import ServerProcess

HERE = Path(__file__).resolve().parent
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
    "ALTEGON_LIMITS_ROUTES": json.dumps({route: 0 for route, _ in DEFAULT_ROUTE_LIMITS}),  # 0: no route limits
}
EXTERNAL_DATABASE = "altegon_bench"
_SECANTUS = "import sys; from secantus.cli import main; sys.exit(main())"
_DB_LISTENING = re.compile(r"listening on 127\.0\.0\.1:(\d+)")


def _stop(proc: subprocess.Popen[str] | subprocess.Popen[bytes], timeout_s: float = 30.0) -> int:
    """SIGTERM, wait, SIGKILL if it will not go; the exit status."""
    proc.terminate()
    try:
        return proc.wait(timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait(5)


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
        _stop(proc, 15)


@contextmanager
def real_server(mongodb_uri: str = "", extra_env: dict[str, str] | None = None) -> Iterator[ServerProcess]:
    """``altegon-rt serve`` on a temporary data dir; embedded storage unless ``mongodb_uri``; checks its exit."""
    env = dict(SERVER_ENV) | (extra_env or {})
    if mongodb_uri:
        env |= {"ALTEGON_STORAGE_MONGODB_URI": mongodb_uri, "ALTEGON_STORAGE_DATABASE": EXTERNAL_DATABASE}
    with tempfile.TemporaryDirectory(prefix="altegon-bench-") as tmp:
        server = ServerProcess(Path(tmp) / "data", env=env)
        try:
            yield server
        finally:
            status = server.terminate()
            if status != 0 or "Traceback" in server.log_text():
                print(f"WARNING: server exited {status}; its log:\n{server.log_text()}", file=sys.stderr)


def _await_db_port(proc: subprocess.Popen[bytes], log_path: Path, timeout_s: float) -> str:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = _DB_LISTENING.search(log_path.read_text(errors="replace"))
        if found:
            return found.group(1)
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    log = log_path.read_text(errors="replace")[-2000:]
    raise BenchError(f"external database did not start (exit status {proc.poll()}); its log:\n{log}")


@contextmanager
def external_db(timeout_s: float = 30.0) -> Iterator[tuple[str, int]]:
    """A SecantusDB on its own port and temporary dir, like tests/store/test_mongodb_uri.py; yields URI and pid.

    Its log goes to a file (a pipe nobody reads would fill up and stall it).
    """
    with tempfile.TemporaryDirectory(prefix="altegon-bench-db-") as tmp:
        root = Path(tmp)
        config = root / "secantusd.toml"  # an explicit config: none is discovered in the cwd or $HOME
        config.write_text("# written by bench/servers.py: settings come from the command line\n")
        log_path = root / "secantus.log"
        argv = [sys.executable, "-c", _SECANTUS, "--config", str(config), "--host", "127.0.0.1", "--port", "0",
                "--storage-path", str(root / "data"), "--log-level", "INFO"]  # fmt: skip
        with log_path.open("wb") as log:
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log, cwd=root)
        try:
            port = _await_db_port(proc, log_path, timeout_s)
            yield f"mongodb://127.0.0.1:{port}/?directConnection=true", proc.pid
        finally:
            status = _stop(proc)
            if status != 0:
                tail = log_path.read_text(errors="replace")[-2000:]
                print(f"WARNING: external database exited {status}; its log ends:\n{tail}", file=sys.stderr)


@dataclass(frozen=True, slots=True)
class Account:
    user_id: str
    email: str
    token: str
    list_bytes: int
    list_closes: bool  # the list answer says "Connection: close": every request would pay a new connection
    storage: str  # what /readyz says the server stores in: "embedded" or "mongodb"


def _expect(response: httpx.Response, status: int, what: str) -> httpx.Response:
    if response.status_code != status:
        raise BenchError(f"setup: {what} answered {response.status_code}, expected {status}: {response.text}")
    return response


def make_account(base_url: str) -> Account:
    """Register a user, sign in, and give them ``MEETINGS`` meetings (httpx, setup only)."""
    email = f"bench-{os.getpid()}-{time.time_ns()}@example.com"
    profile = {"email": email, "fName": "Bench", "lName": "User", "phoneNumber": "123", "country": "NL",
               "password": PASSWORD}  # fmt: skip
    with httpx.Client(base_url=base_url, timeout=60) as client:
        storage = _expect(client.get("/readyz"), 200, "readyz").json()["storage"]
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
    return Account(user["_id"], email, token, len(listed.content), closes, storage)
