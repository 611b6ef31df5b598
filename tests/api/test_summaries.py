"""Meeting summaries over the real server: the embedded default, and an OpenAI-compatible fake on loopback."""

from __future__ import annotations

import json
import re
import socket
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import trio

from altegon_rt.ai.notes import FIELDS, Line, validate_notes
from altegon_rt.ai.openai import OpenAIProvider
from altegon_rt.config import AiSection
from altegon_rt.errors import BadGateway
from altegon_rt.testing.process import ServerProcess
from tests.api.fake_upstream import FakeUpstream
from tests.api.test_meetings import create_meeting
from tests.api.test_transcripts import send
from tests.conftest import HIGH_LIMITS, User, assert_error, database, make_user

LINES = [
    "Welcome everyone. Today we review the release plan for the mobile app.",
    "The release plan looks good but testing is behind. Maybe we need another week?",
    "We decided to move the release to next Friday.",
    "I will write the test report by next Monday.",
]
FAKE_NOTES = {
    "title": "Release planning", "summary": "The team moved the mobile release to Friday.",
    "highlights": ["Release moves to Friday."],
    "chapters": [{"timestamp": "0:00", "title": "Release", "bullets": ["Testing is behind."]}],
    "decisions": ["Release on Friday (Ada)."],
    "actions": [{"action": "Write the test report", "assignee": "Ada"}],
    "qna": [], "participants": [{"name": "Ada", "role": "Host"}], "topics": ["Release"],
    "keywords": ["release"], "ambiguities": [],
}  # fmt: skip


async def meeting_with_transcript(client: httpx.AsyncClient, user: User) -> str:
    meeting_id = await create_meeting(client, user)
    for line in LINES:
        assert (await send(client, user, meeting_id, line)).status_code == 201
    return meeting_id


async def generate(client: httpx.AsyncClient, user: User, meeting_id: str) -> httpx.Response:
    return await client.post(f"/transcription/generate-summary/{meeting_id}", headers=user.headers)


async def summary_generated(client: httpx.AsyncClient, user: User, meeting_id: str) -> bool:
    r = await client.get(f"/meetings/list/{user.id}", headers=user.headers)
    return next(m for m in r.json()["data"] if m["_id"] == meeting_id)["summaryGenerated"]


def stored_summaries(server: ServerProcess, meeting_id: str) -> list[dict[str, Any]]:
    with database(server) as db:
        return list(db.summaries.find({"meetingId": meeting_id}))


async def test_embedded_default_generates_documented_notes_deterministically(
    client: httpx.AsyncClient, alice: User, server: ServerProcess
) -> None:
    meeting_id = await meeting_with_transcript(client, alice)
    assert not await summary_generated(client, alice, meeting_id)
    r = await generate(client, alice, meeting_id)
    assert r.status_code == 200 and r.json() == {"msg": "Summary Generated Successfully."}
    assert await summary_generated(client, alice, meeting_id)
    first = (await client.get(f"/meeting/{meeting_id}/summary", headers=alice.headers)).json()
    notes = first["notes"]
    assert list(notes) == list(FIELDS) and validate_notes(notes) == notes
    assert isinstance(first["summary"], str) and first["summary"] == notes["summary"] and "release" in first["summary"]
    assert notes["chapters"][0]["timestamp"] == "00:00"
    assert all(re.fullmatch(r"\d{2,}:\d{2}", c["timestamp"]) for c in notes["chapters"])
    assert notes["participants"] == [{"name": "Ada", "role": "Host"}]
    assert "release" in notes["keywords"] and notes["decisions"] and notes["actions"]
    # Regenerating replaces the one stored summary with the same result.
    assert (await generate(client, alice, meeting_id)).status_code == 200
    again = (await client.get(f"/meeting/{meeting_id}/summary", headers=alice.headers)).json()
    assert again == first
    [doc] = stored_summaries(server, meeting_id)
    raw = json.dumps({k: v for k, v in doc.items() if k in ("summary", "notes")})
    assert doc["isEncrypted"] is True and "release" not in raw.lower() and notes["title"] not in raw


async def test_who_may_generate_and_read(client: httpx.AsyncClient, alice: User, bob: User) -> None:
    meeting_id = await meeting_with_transcript(client, alice)
    assert_error(await client.get(f"/meeting/{meeting_id}/summary", headers=alice.headers), 404, "summary_not_found")
    assert_error(await generate(client, bob, meeting_id), 403, "forbidden")
    assert (await generate(client, alice, meeting_id)).status_code == 200
    assert_error(await client.get(f"/meeting/{meeting_id}/summary", headers=bob.headers), 403, "forbidden")
    assert_error(await client.get(f"/meeting/{meeting_id}/summary"), 401)
    missing = "0123456789abcdef01234567"
    assert_error(await generate(client, alice, missing), 404)
    assert_error(await client.get(f"/meeting/{missing}/summary", headers=alice.headers), 404)
    assert_error(await generate(client, alice, "nope"), 400)
    empty = await create_meeting(client, alice)
    assert_error(await generate(client, alice, empty), 409, "transcript_empty")


@pytest.fixture(scope="module")
def fake_ai() -> Iterator[FakeUpstream]:
    fake = FakeUpstream(answer=FAKE_NOTES).start()
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def ai_server(tmp_path_factory: pytest.TempPathFactory, fake_ai: FakeUpstream) -> Iterator[ServerProcess]:
    env = {**HIGH_LIMITS, "ALTEGON_AI_OPENAI_BASE_URL": fake_ai.url, "ALTEGON_AI_OPENAI_API_KEY": "sk-test-key-123",
           "ALTEGON_AI_OPENAI_MODEL": "test-model", "ALTEGON_AI_TIMEOUT_S": "1",
           "ALTEGON_LIMITS_SUMMARIES_PER_ACCOUNT_PER_MIN": "2"}  # fmt: skip
    proc = ServerProcess(tmp_path_factory.mktemp("ai-server"), env=env)
    yield proc
    assert proc.terminate() == 0, proc.log_text()
    assert "Traceback" not in proc.log_text() and "sk-test-key-123" not in proc.log_text()


async def test_openai_compatible_service_success(ai_server: ServerProcess, fake_ai: FakeUpstream) -> None:
    fake_ai.mode, fake_ai.requests[:] = "ok", []
    async with httpx.AsyncClient(base_url=ai_server.url, timeout=30) as client:
        user = await make_user(client)
        meeting_id = await meeting_with_transcript(client, user)
        assert (await generate(client, user, meeting_id)).status_code == 200
        body = (await client.get(f"/meeting/{meeting_id}/summary", headers=user.headers)).json()
        assert await summary_generated(client, user, meeting_id)
    assert body["summary"] == FAKE_NOTES["summary"]
    assert body["notes"]["title"] == "Release planning" and body["notes"]["chapters"][0]["timestamp"] == "00:00"
    assert body["notes"]["actions"] == [{"action": "Write the test report", "assignee": "Ada",
                                        "due_date": "Not specified"}]  # fmt: skip
    [seen] = fake_ai.requests
    assert seen.path == "/v1/chat/completions" and seen.headers["authorization"] == "Bearer sk-test-key-123"
    sent = json.loads(seen.body)
    assert sent["model"] == "test-model" and sent["response_format"] == {"type": "json_object"}
    assert "[00:00] Ada: Welcome everyone." in sent["messages"][1]["content"]
    [doc] = stored_summaries(ai_server, meeting_id)
    assert "Release planning" not in json.dumps({k: doc[k] for k in ("summary", "notes")})


@pytest.mark.parametrize(
    ("mode", "status", "code"),
    [("slow", 504, "upstream_timeout"), ("500", 502, "upstream_error"), ("invalid", 502, "upstream_error"),
     ("shape", 502, "upstream_error")],
)  # fmt: skip
async def test_openai_failures_store_nothing(
    ai_server: ServerProcess, fake_ai: FakeUpstream, mode: str, status: int, code: str
) -> None:
    fake_ai.mode, fake_ai.slow_s = mode, 2.5
    async with httpx.AsyncClient(base_url=ai_server.url, timeout=30) as client:
        user = await make_user(client)
        meeting_id = await meeting_with_transcript(client, user)
        assert_error(await generate(client, user, meeting_id), status, code)
        assert_error(await client.get(f"/meeting/{meeting_id}/summary", headers=user.headers), 404)
        assert not await summary_generated(client, user, meeting_id)
    assert stored_summaries(ai_server, meeting_id) == []


async def test_azure_shape_chat_summary_and_unreachable_service(fake_ai: FakeUpstream) -> None:
    """The provider itself, in process, against the loopback fake: Azure URL shape and header."""
    fake_ai.mode, fake_ai.requests[:] = "ok", []
    config = AiSection(openai_base_url=fake_ai.url, openai_api_key="azure-key", azure_deployment="notes-dep",
                       azure_api_version="2024-06-01", timeout_s=5)  # fmt: skip
    provider = OpenAIProvider(config)
    notes = await provider.meeting_notes([Line("Ada", "Hello there.", 0)])
    assert notes["title"] == "Release planning"
    [seen] = fake_ai.requests
    assert seen.path == "/openai/deployments/notes-dep/chat/completions?api-version=2024-06-01"
    assert seen.headers["api-key"] == "azure-key" and "authorization" not in seen.headers
    assert "model" not in json.loads(seen.body)
    fake_ai.answer = {"summary": "Ada greeted everyone."}
    try:
        assert await provider.chat_summary([Line("Ada", "Hello there.", 0)]) == "Ada greeted everyone."
    finally:
        fake_ai.answer = FAKE_NOTES
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]  # bound, never listening: connections are refused
        gone = OpenAIProvider(AiSection(openai_base_url=f"http://127.0.0.1:{closed_port}", timeout_s=5))
        with pytest.raises(BadGateway, match="unreachable"):
            await gone.meeting_notes([Line("Ada", "Hello there.", 0)])


async def test_generation_is_audited(client: httpx.AsyncClient, alice: User, bob: User, server: ServerProcess) -> None:
    meeting_id = await meeting_with_transcript(client, alice)
    assert (await generate(client, alice, meeting_id)).status_code == 200
    assert (await generate(client, bob, meeting_id)).status_code == 403
    with database(server) as db:
        entries = list(db.audit.find({"action": "summary.generate", "target.id": meeting_id}))
    outcomes = sorted((e["actor"], e["outcome"]) for e in entries)
    assert outcomes == sorted([(alice.id, "success"), (bob.id, "failure:forbidden")])


async def test_generation_has_its_own_rate_limit(ai_server: ServerProcess, fake_ai: FakeUpstream) -> None:
    fake_ai.mode = "ok"
    async with httpx.AsyncClient(base_url=ai_server.url, timeout=30) as client:
        user = await make_user(client)
        meeting_id = await meeting_with_transcript(client, user)
        for _ in range(2):
            assert (await generate(client, user, meeting_id)).status_code == 200
        r = await generate(client, user, meeting_id)
        assert_error(r, 429, "rate_limited")
        assert int(r.headers["Retry-After"]) >= 1
        other = await make_user(client)  # per account: another user is not limited
        assert (await generate(client, other, await meeting_with_transcript(client, other))).status_code == 200


async def test_concurrent_generations_keep_one_summary(
    client: httpx.AsyncClient, alice: User, server: ServerProcess
) -> None:
    meeting_id = await meeting_with_transcript(client, alice)
    statuses: list[int] = []

    async def one() -> None:
        statuses.append((await generate(client, alice, meeting_id)).status_code)

    async with trio.open_nursery() as nursery:
        for _ in range(4):
            nursery.start_soon(one)
    assert statuses == [200] * 4
    assert len(stored_summaries(server, meeting_id)) == 1
