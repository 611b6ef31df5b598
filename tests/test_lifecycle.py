"""The process as an operator sees it: start, restart, stop on SIGTERM, config errors, the data-dir lock."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from altegon_rt.testing.process import ServerProcess
from tests.conftest import assert_error, token_claims

ALTEGON = [sys.executable, "-m", "altegon_rt"]


def run_cli(*args: str, stdin: str = "", env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("ALTEGON_")}
    return subprocess.run(
        [*ALTEGON, *args], input=stdin, capture_output=True, text=True, timeout=60, env={**clean, **(env or {})}
    )


def register(url: str, email: str) -> str:
    body = {"email": email, "fName": "R", "lName": "S", "phoneNumber": "1", "country": "NL", "password": "password 1"}
    r = httpx.post(f"{url}/auth/register", json=body, timeout=10)
    assert r.status_code == 201, r.text
    return r.json()["data"]["user"]["_id"]


def login(url: str, email: str, password: str = "password 1") -> httpx.Response:
    return httpx.post(f"{url}/auth/login", json={"userName": email, "password": password}, timeout=10)


def test_restart_keeps_accounts_meetings_and_tokens(fresh_data_dir: Path) -> None:
    generated = {"ALTEGON_AUTH_JWT_SECRET": ""}  # no secret configured: one is made and kept in the data dir
    first = ServerProcess(fresh_data_dir, env=generated)
    try:
        user_id = register(first.url, "keep@example.com")
        token = login(first.url, "keep@example.com").json()["token"]
        headers = {"Authorization": f"Bearer {token}"}
        body = {"title": "survives", "hostId": user_id, "transcriptEnabled": True}
        assert httpx.post(f"{first.url}/meetings/create", json=body, headers=headers).status_code == 201
    finally:
        assert first.terminate() == 0
    second = ServerProcess(fresh_data_dir, env=generated)
    try:
        # The generated JWT secret is kept in the data dir, so a token from before the restart still works.
        r = httpx.get(f"{second.url}/meetings/list/{user_id}", headers=headers)
        assert r.status_code == 200 and [m["title"] for m in r.json()["data"]] == ["survives"]
        assert login(second.url, "keep@example.com").status_code == 200
    finally:
        assert second.terminate() == 0
    secret = fresh_data_dir / "jwt-secret"
    assert secret.stat().st_mode & 0o777 == 0o600
    assert len(secret.read_text().strip()) >= 32


def test_sigterm_lets_an_in_flight_request_finish_then_exits_0(fresh_data_dir: Path) -> None:
    server = ServerProcess(fresh_data_dir, env={"ALTEGON_SERVER_SHUTDOWN_GRACE_S": "20"})
    host, port = server.url.removeprefix("http://").rsplit(":", 1)
    body = (
        b'{"email": "drain@example.com", "fName": "D", "lName": "R", "phoneNumber": "1", "country": "NL",'
        b' "password": "password 1"}'
    )
    with socket.create_connection((host, int(port)), timeout=20) as sock:
        head = (
            "POST /auth/register HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        )
        sock.sendall(head.encode() + body[:20])  # the request is now in flight: headers and part of the body
        time.sleep(0.3)
        server.proc.send_signal(signal.SIGTERM)
        assert server.wait_for_log("stopping: draining", 10) is not None
        # New connections are refused while the old one is still being served.
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"{server.url}/healthz", timeout=2)
        time.sleep(0.5)
        sock.sendall(body[20:])
        reply = b""
        while b"\r\n\r\n" not in reply or not reply.rstrip().endswith(b"}"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            reply += chunk
    assert reply.startswith(b"HTTP/1.1 201"), reply
    assert server.proc.wait(30) == 0
    assert "Traceback" not in server.log_text()
    # And the account made by the drained request is really stored.
    again = ServerProcess(fresh_data_dir)
    try:
        assert login(again.url, "drain@example.com").status_code == 200
    finally:
        assert again.terminate() == 0


def test_bad_config_exits_nonzero_with_one_clear_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[server]\nhttp_prot = 8080\n")
    result = run_cli("serve", "--config", str(bad), "--data-dir", str(tmp_path / "d"))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [f"altegon-rt: config error: {bad}: unknown key server.http_prot"]
    result = run_cli("check-config", env={"ALTEGON_SERVER_HTTP_PORT": "seventy"})
    assert result.returncode == 2
    assert "server.http_port must be int" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    result = run_cli("check-config", env={"ALTEGON_STORAGE_NOPE": "1"})
    assert result.returncode == 2 and "ALTEGON_STORAGE_NOPE" in result.stderr
    result = run_cli("check-config", "--http-port", "70000")
    assert result.returncode == 2 and "server.http_port" in result.stderr
    assert run_cli("check-config").stdout.strip() == "config OK"


def test_config_precedence_flags_over_env_over_file(tmp_path: Path) -> None:
    conf = tmp_path / "c.toml"
    conf.write_text('[server]\nhttp_port = 1111\nhost = "127.0.0.2"\nlog_level = "debug"\n')
    result = run_cli("check-config", "--print", "--config", str(conf), "--http-port", "3333",
                     env={"ALTEGON_SERVER_HTTP_PORT": "2222", "ALTEGON_SERVER_HOST": "127.0.0.3"})  # fmt: skip
    assert result.returncode == 0, result.stderr
    server = json.loads(result.stdout)["server"]
    assert (server["http_port"], server["host"], server["log_level"]) == (3333, "127.0.0.3", "debug")


def test_create_admin_while_stopped_and_lock_while_running(fresh_data_dir: Path) -> None:
    result = run_cli("create-admin", "--email", "Root@Example.com", "--password-stdin", "--data-dir",
                     str(fresh_data_dir), stdin="admin password 1\n")  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "created admin account: root@example.com" in result.stdout
    server = ServerProcess(fresh_data_dir)
    try:
        r = login(server.url, "root@example.com", "admin password 1")
        assert r.status_code == 200
        assert token_claims(r.json()["token"])["role"] == "admin"
        # While the server runs, the embedded database's files are locked: a clear refusal, no damage.
        result = run_cli("create-admin", "--email", "x@example.com", "--password-stdin", "--data-dir",
                         str(fresh_data_dir), stdin="admin password 2\n")  # fmt: skip
        assert result.returncode == 1
        assert "is in use by pid" in result.stderr and "Traceback" not in result.stderr
        # A second server on the same data dir is refused the same way.
        second = run_cli("serve", "--http-port", "0", "--data-dir", str(fresh_data_dir))
        assert second.returncode == 1 and "is in use by pid" in second.stderr
        assert httpx.get(f"{server.url}/readyz").status_code == 200
    finally:
        assert server.terminate() == 0
    short = run_cli("create-admin", "--email", "y@example.com", "--password-stdin", "--data-dir",
                    str(fresh_data_dir), stdin="short\n")  # fmt: skip
    assert short.returncode == 2 and "password must be" in short.stderr


def test_embedded_database_crash_is_not_ready_then_recovers(fresh_data_dir: Path) -> None:
    server = ServerProcess(fresh_data_dir)
    try:
        register(server.url, "crash@example.com")
        pid = int((fresh_data_dir / "db" / "server.pid").read_text())
        os.kill(pid, signal.SIGKILL)
        saw_503 = False
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            r = httpx.get(f"{server.url}/readyz", timeout=10)
            if r.status_code == 503:
                saw_503 = True
                assert_error(r, 503, "not_ready")
            elif saw_503 and r.status_code == 200:
                break
            time.sleep(0.05)
        assert saw_503, "readyz never reported the dead database"
        assert httpx.get(f"{server.url}/readyz", timeout=10).status_code == 200
        assert httpx.get(f"{server.url}/healthz").status_code == 200
        assert login(server.url, "crash@example.com").status_code == 200  # the data survived the crash
        assert server.wait_for_log("restarting in", 1) is not None
    finally:
        assert server.terminate() == 0


def test_python_dash_m_and_console_script_are_the_same() -> None:
    script = Path(sys.executable).parent / "altegon-rt"
    for argv in ([str(script), "--version"], [*ALTEGON, "--version"]):
        out = subprocess.run(argv, capture_output=True, text=True, timeout=30)
        assert out.returncode == 0 and out.stdout.startswith("altegon-rt ")


def test_port_in_use_is_one_clear_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_cli("serve", "--http-port", str(port), "--data-dir", str(tmp_path / "d"))
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        f"altegon-rt: cannot listen on 127.0.0.1:{port} (TCP): Address already in use"
    )
    assert "Traceback" not in result.stderr


def test_sigterm_during_startup_leaves_no_database_behind(fresh_data_dir: Path) -> None:
    proc = subprocess.Popen([*ALTEGON, "serve", "--http-port", "0", "--data-dir", str(fresh_data_dir)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)  # fmt: skip
    pid_file = fresh_data_dir / "db" / "server.pid"
    deadline = time.monotonic() + 30
    while not pid_file.exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    db_pid = int(pid_file.read_text())
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(30) == 0, proc.stderr.read() if proc.stderr else ""
    deadline = time.monotonic() + 10
    while Path(f"/proc/{db_pid}").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not Path(f"/proc/{db_pid}").exists()


def test_database_orphaned_by_sigkill_is_stopped_at_next_start(fresh_data_dir: Path) -> None:
    first = ServerProcess(fresh_data_dir)
    register(first.url, "orphan@example.com")
    orphan = int((fresh_data_dir / "db" / "server.pid").read_text())
    first.kill()  # SIGKILL: no chance to stop the database, which runs in its own session
    assert Path(f"/proc/{orphan}").exists()
    second = ServerProcess(fresh_data_dir)
    try:
        assert not Path(f"/proc/{orphan}").exists() or "Z" in Path(f"/proc/{orphan}/stat").read_text().split()[2]
        assert second.wait_for_log("left running by an earlier process", 1) is not None
        assert login(second.url, "orphan@example.com").status_code == 200
    finally:
        assert second.terminate() == 0
