"""Admin accounts, API keys (x-api-key), the audit log, and rate limits with 429."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx

from altegon_rt.testing.process import ServerProcess
from tests.conftest import HIGH_LIMITS, assert_error, database, make_user


def _admin_server(data_dir: Path, env: dict[str, str] | None = None) -> tuple[ServerProcess, str]:
    made = subprocess.run(
        [sys.executable, "-m", "altegon_rt", "create-admin", "--email", "boss@example.com", "--password-stdin",
         "--data-dir", str(data_dir)],
        input="boss password 1\n", capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    server = ServerProcess(data_dir, env=env)
    r = httpx.post(f"{server.url}/auth/login", json={"userName": "boss@example.com", "password": "boss password 1"})
    assert r.status_code == 200
    return server, r.json()["token"]


async def test_api_keys_and_audit(fresh_data_dir: Path) -> None:
    server, admin_token = _admin_server(fresh_data_dir, env=HIGH_LIMITS)
    admin = {"Authorization": f"Bearer {admin_token}"}
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as c:
            user = await make_user(c)
            # Ordinary users cannot reach admin routes.
            assert_error(await c.post("/admin/api-keys", json={"name": "x"}, headers=user.headers), 403)
            assert_error(await c.get("/admin/audit", headers=user.headers), 403)

            r = await c.post("/admin/api-keys", json={"name": "backend", "userId": user.id}, headers=admin)
            assert r.status_code == 201, r.text
            key = r.json()["data"]
            assert key["key"].startswith("ak_") and key["userId"] == user.id
            # The key acts as its user: same rights, no more.
            as_key = {"x-api-key": key["key"]}
            body = {"title": "via key", "hostId": user.id, "transcriptEnabled": False}
            assert (await c.post("/meetings/create", json=body, headers=as_key)).status_code == 201
            assert (await c.get(f"/meetings/list/{user.id}", headers=as_key)).status_code == 200
            assert_error(await c.get("/admin/api-keys", headers=as_key), 403)
            # Only a digest is stored, and listing never shows the secret.
            listed = (await c.get("/admin/api-keys", headers=admin)).json()["data"]
            assert key["key"] not in str(listed) and any(k["_id"] == key["id"] for k in listed)
            with database(server) as db:
                stored = db.api_keys.find_one({"prefix": key["prefix"]})
                assert stored["digest"] != key["key"] and key["key"] not in str(stored)
            # Wrong, mangled and revoked keys are refused.
            assert_error(await c.get(f"/meetings/list/{user.id}", headers={"x-api-key": key["key"] + "x"}), 401)
            assert_error(await c.get(f"/meetings/list/{user.id}", headers={"x-api-key": "nonsense"}), 401)
            assert (await c.delete(f"/admin/api-keys/{key['id']}", headers=admin)).status_code == 204
            assert_error(await c.get(f"/meetings/list/{user.id}", headers=as_key), 401, "invalid_api_key")
            assert_error(await c.delete(f"/admin/api-keys/{key['id']}", headers=admin), 404)

            # Failed login, register, the meeting creation and the key operations are all in the audit log.
            await c.post("/auth/login", json={"userName": user.email, "password": "wrong password"})
            r = await c.get("/admin/audit", params={"limit": "200"}, headers=admin)
            entries = r.json()["data"]
            seen = {(e["action"], e["outcome"]) for e in entries}
            for expected in (("auth.register", "success"), ("auth.login", "success"),
                             ("auth.login", "failure:invalid_credentials"), ("meeting.create", "success"),
                             ("apikey.create", "success"), ("apikey.revoke", "success"),
                             ("apikey.create", "failure:forbidden"), ("admin.create", "success")):  # fmt: skip
                assert expected in seen, (expected, seen)
            create = next(e for e in entries if e["action"] == "meeting.create")
            assert create["actor"] == user.id and create["target"]["type"] == "meeting"
            assert create["ip"] == "127.0.0.1" and create["at"].endswith("Z") and create["requestId"]
            mine = (await c.get("/admin/audit", params={"actor": user.id}, headers=admin)).json()["data"]
            assert mine and all(e["actor"] == user.id for e in mine)
            assert_error(await c.get("/admin/audit", params={"limit": "0"}, headers=admin), 400)
    finally:
        assert server.terminate() == 0


async def test_admin_acts_on_other_users_meetings(client: httpx.AsyncClient, fresh_data_dir: Path) -> None:
    server, admin_token = _admin_server(fresh_data_dir, env=HIGH_LIMITS)
    admin = {"Authorization": f"Bearer {admin_token}"}
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as c:
            user = await make_user(c)
            body = {"title": "made by admin", "hostId": user.id, "transcriptEnabled": True}
            r = await c.post("/meetings/create", json=body, headers=admin)
            assert r.status_code == 201
            listed = (await c.get(f"/meetings/list/{user.id}", headers=admin)).json()["data"]
            assert [m["title"] for m in listed] == ["made by admin"]
            r = await c.post(f"/meetings/update/{listed[0]['_id']}", json={"title": "renamed"}, headers=admin)
            assert r.status_code == 204
            ghost = {**body, "hostId": "0123456789abcdef01234567"}
            assert_error(await c.post("/meetings/create", json=ghost, headers=admin), 400, "invalid_field")
    finally:
        assert server.terminate() == 0


async def test_login_and_register_rate_limits_answer_429(fresh_data_dir: Path) -> None:
    limits = {
        "ALTEGON_LIMITS_LOGIN_PER_IP_PER_MIN": "6",
        "ALTEGON_LIMITS_LOGIN_PER_ACCOUNT_PER_MIN": "3",
        "ALTEGON_LIMITS_REGISTER_PER_IP_PER_MIN": "2",
    }
    server = ServerProcess(fresh_data_dir, env=limits)
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as c:
            user = await make_user(c)  # one register, one login
            await make_user(c)  # the second register and a second login
            third = {"email": "third@example.com", "fName": "a", "lName": "b", "phoneNumber": "1", "country": "c"}
            r = await c.post("/auth/register", json={**third, "password": "password 1"})
            assert_error(r, 429, "rate_limited")
            assert 1 <= int(r.headers["retry-after"]) <= 60
            # Per account: the third attempt on one account within the minute passes, the fourth does not,
            # even with the right password (a brute-forcer cannot tell).
            for _ in range(2):
                await c.post("/auth/login", json={"userName": user.email, "password": "bad password"})
            r = await c.post("/auth/login", json={"userName": user.email, "password": user.password})
            assert_error(r, 429, "rate_limited")
            # Per IP: 5 logins so far; one more is allowed, the next is the 7th of a budget of 6.
            await c.post("/auth/login", json={"userName": "other1@example.com", "password": "x"})
            r = await c.post("/auth/login", json={"userName": "other2@example.com", "password": "x"})
            assert_error(r, 429, "rate_limited")
            assert "Retry-After" in r.headers or "retry-after" in r.headers
            assert (await c.get("/healthz")).status_code == 200
    finally:
        assert server.terminate() == 0
