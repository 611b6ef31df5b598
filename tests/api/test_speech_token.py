"""GET /api/get-speech-token over the real server, against a fake Azure token endpoint on loopback."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from altegon_rt.testing.process import ServerProcess
from tests.api.fake_upstream import FakeUpstream
from tests.conftest import User, assert_error, make_user

KEY = "azure-speech-key-0123456789"
TOKEN = "eyJhbGciOiJFUzI1NiJ9.eyJyZWdpb24iOiJ0ZXN0In0.c2lnbmF0dXJl"


@pytest.fixture(scope="module")
def fake_azure() -> Iterator[FakeUpstream]:
    fake = FakeUpstream(answer=TOKEN).start()
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def speech_server(tmp_path_factory: pytest.TempPathFactory, fake_azure: FakeUpstream) -> Iterator[ServerProcess]:
    env = {
        "ALTEGON_SPEECH_AZURE_KEY": KEY,
        "ALTEGON_SPEECH_AZURE_REGION": "eastus2",
        "ALTEGON_SPEECH_TOKEN_URL": f"{fake_azure.url}/sts/v1.0/issueToken",
        "ALTEGON_SPEECH_TIMEOUT_S": "1",
    }
    proc = ServerProcess(tmp_path_factory.mktemp("speech-server"), env=env)
    yield proc
    assert proc.terminate() == 0, proc.log_text()
    assert "Traceback" not in proc.log_text() and KEY not in proc.log_text()


async def test_not_configured_is_503(client: httpx.AsyncClient, alice: User) -> None:
    r = await client.get("/api/get-speech-token", headers=alice.headers)
    assert_error(r, 503, "transcription_not_configured")
    assert_error(await client.get("/api/get-speech-token"), 401)


async def test_token_from_azure(speech_server: ServerProcess, fake_azure: FakeUpstream) -> None:
    fake_azure.mode, fake_azure.requests[:] = "ok", []
    async with httpx.AsyncClient(base_url=speech_server.url, timeout=30) as client:
        user = await make_user(client)
        r = await client.get("/api/get-speech-token", headers=user.headers)
        assert r.status_code == 200, r.text
        assert r.json() == {"token": TOKEN, "region": "eastus2"}
        assert_error(await client.get("/api/get-speech-token"), 401)
    [seen] = fake_azure.requests
    assert seen.path == "/sts/v1.0/issueToken" and seen.headers["ocp-apim-subscription-key"] == KEY
    assert KEY not in r.text


@pytest.mark.parametrize(
    ("mode", "status", "code"), [("500", 502, "upstream_error"), ("slow", 504, "upstream_timeout")]
)
async def test_azure_failures(
    speech_server: ServerProcess, fake_azure: FakeUpstream, mode: str, status: int, code: str
) -> None:
    fake_azure.mode, fake_azure.slow_s = mode, 2.5
    async with httpx.AsyncClient(base_url=speech_server.url, timeout=30) as client:
        user = await make_user(client)
        body = assert_error(await client.get("/api/get-speech-token", headers=user.headers), status, code)
    assert KEY not in str(body)
