"""A server with an administrator for the RealtimeKit tests, and an account with an API token and an app."""

from __future__ import annotations

import secrets
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import httpx
import pytest

from altegon_rt.testing.process import ServerProcess
from tests.conftest import HIGH_LIMITS

ADMIN_EMAIL, ADMIN_PASSWORD = "rtk-admin@example.com", "rtk admin password 1"
# Quick retries so that the webhook tests see three attempts within a second; sessions end a second after
# their last participant left (instead of the meeting's 60 s or more). Recordings are composed small and quick:
# two of the aiortc peers' 320x240 tiles side by side.
RTK_ENV = {**HIGH_LIMITS, "ALTEGON_RTK_WEBHOOK_BACKOFF_S": "0.1", "ALTEGON_RTK_WEBHOOK_TIMEOUT_S": "3",
           "ALTEGON_RTK_SESSION_KEEP_ALIVE_CAP_S": "1", "ALTEGON_RECORDING_WIDTH": "640",
           "ALTEGON_RECORDING_HEIGHT": "240", "ALTEGON_RECORDING_PRESET": "ultrafast"}  # fmt: skip
PRESET_CONFIG = {
    "max_screenshare_count": 1,
    "max_video_streams": {"desktop": 9, "mobile": 4},
    "media": {"screenshare": {"frame_rate": 5, "quality": "hd"}, "video": {"frame_rate": 30, "quality": "vga"}},
    "view_type": "GROUP_CALL",
}


@dataclass
class Account:
    id: str
    token: str
    app_id: str
    base: str  # /accounts/{id}/realtime/kit

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def app(self, path: str = "") -> str:
        return f"{self.base}/{self.app_id}{path}"


@pytest.fixture(scope="session")
def rtk_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    data_dir = tmp_path_factory.mktemp("rtk-server")
    made = subprocess.run(
        [
            sys.executable,
            "-m",
            "altegon_rt",
            "create-admin",
            "--email",
            ADMIN_EMAIL,
            "--password-stdin",
            "--data-dir",
            str(data_dir),
        ],
        input=ADMIN_PASSWORD + "\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert made.returncode == 0, made.stderr
    proc = ServerProcess(data_dir, env=RTK_ENV)
    yield proc
    status = proc.terminate()
    assert status == 0, proc.log_text()
    assert "Traceback" not in proc.log_text(), proc.log_text()


@pytest.fixture(scope="session")
def admin_headers(rtk_server: ServerProcess) -> dict[str, str]:
    r = httpx.post(f"{rtk_server.url}/auth/login", json={"userName": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


@pytest.fixture
async def client(rtk_server: ServerProcess) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=rtk_server.url, timeout=30) as c:
        yield c


async def make_account(client: httpx.AsyncClient, admin_headers: dict[str, str]) -> Account:
    account_id = secrets.token_hex(16)
    r = await client.post("/admin/api-tokens", json={"name": "tests", "account_id": account_id}, headers=admin_headers)
    assert r.status_code == 201, r.text
    token = r.json()["data"]["token"]
    base = f"/accounts/{account_id}/realtime/kit"
    r = await client.post(f"{base}/apps", json={"name": "app"}, headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 201, r.text
    return Account(account_id, token, r.json()["data"]["app"]["id"], base)


@pytest.fixture
async def account(client: httpx.AsyncClient, admin_headers: dict[str, str]) -> Account:
    return await make_account(client, admin_headers)


async def make_preset(client: httpx.AsyncClient, account: Account, name: str = "participant", **extra: object) -> dict:
    body = {"name": name, "config": PRESET_CONFIG, "ui": {}, **extra}
    r = await client.post(account.app("/presets"), json=body, headers=account.headers)
    assert r.status_code == 201, r.text
    return r.json()["data"]  # type: ignore[no-any-return]
