"""Shared fixtures: one real server process for the session, fresh ones where a test needs its own."""

from __future__ import annotations

import base64
import contextlib
import json
import secrets
import shutil
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pymongo
import pytest

from altegon_rt.config import DEFAULT_ROUTE_LIMITS
from altegon_rt.testing.process import ServerProcess

# The shared server's rate limits are high so that tests do not trip over each other; the rate-limit
# tests start servers of their own with low limits.
HIGH_LIMITS = {
    "ALTEGON_LIMITS_LOGIN_PER_IP_PER_MIN": "100000",
    "ALTEGON_LIMITS_LOGIN_PER_ACCOUNT_PER_MIN": "100000",
    "ALTEGON_LIMITS_REGISTER_PER_IP_PER_MIN": "100000",
    "ALTEGON_LIMITS_WRITES_PER_ACCOUNT_PER_MIN": "100000",
    "ALTEGON_LIMITS_ROUTES": json.dumps({route: 100000 for route, _ in DEFAULT_ROUTE_LIMITS}),
}


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    proc = ServerProcess(tmp_path_factory.mktemp("shared-server"), env=HIGH_LIMITS)
    yield proc
    status = proc.terminate()
    assert status == 0, proc.log_text()
    assert "Traceback" not in proc.log_text(), proc.log_text()


@pytest.fixture
def fresh_data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
async def client(server: ServerProcess) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as c:
        yield c


@dataclass
class User:
    id: str
    email: str
    password: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def token_claims(token: str) -> dict[str, object]:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


async def make_user(client: httpx.AsyncClient, password: str = "correct horse 1") -> User:
    email = f"user-{secrets.token_hex(6)}@example.com"
    body = {
        "email": email,
        "fName": "Test",
        "lName": "User",
        "phoneNumber": "123",
        "country": "NL",
        "password": password,
    }
    r = await client.post("/auth/register", json=body)
    assert r.status_code == 201, r.text
    user_id = r.json()["data"]["user"]["_id"]
    r = await client.post("/auth/login", json={"userName": email, "password": password})
    assert r.status_code == 200, r.text
    return User(user_id, email, password, r.json()["token"])


@pytest.fixture
async def alice(client: httpx.AsyncClient) -> User:
    return await make_user(client)


@pytest.fixture
async def bob(client: httpx.AsyncClient) -> User:
    return await make_user(client)


@contextlib.contextmanager
def database(server: ServerProcess) -> Iterator[Any]:
    """A pymongo handle on the server's embedded database (its port is in the server's log)."""
    match = server.wait_for_log(r"embedded database listening on 127\.0\.0\.1:(\d+)", 5)
    assert match is not None
    client: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(
        f"mongodb://127.0.0.1:{match.group(1)}/?directConnection=true", serverSelectionTimeoutMS=5000
    )
    try:
        yield client.altegon
    finally:
        client.close()


def assert_error(response: httpx.Response, status: int, code: str | None = None) -> dict[str, object]:
    """The response is the platform's error shape with this status (and code)."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["success"] is False
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    if code is not None:
        assert body["error"]["code"] == code, body
    return body


@pytest.fixture(scope="session")
def node() -> str:
    path = shutil.which("node")
    assert path is not None, "node is required (installed by .ci/install)"
    assert (Path(__file__).resolve().parents[1] / "node_modules" / "socket.io-client").is_dir(), (
        "run npm ci (done by .ci/install)"
    )
    return path
