"""RealtimeKit meetings: defaults, validation naming the field, PATCH merge, PUT replace, list filters and paging."""

from __future__ import annotations

import httpx
import trio

from tests.conftest import assert_error
from tests.rtk.conftest import Account, make_account


async def test_create_get_patch_put(client: httpx.AsyncClient, account: Account) -> None:
    r = await client.post(account.app("/meetings"), json={"title": "Standup"}, headers=account.headers)
    assert r.status_code == 201, r.text
    meeting = r.json()["data"]
    assert r.json()["success"] is True
    assert meeting["title"] == "Standup" and meeting["status"] == "ACTIVE"
    assert meeting["session_keep_alive_time_in_secs"] == 60
    assert meeting["record_on_start"] is meeting["live_stream_on_start"] is meeting["persist_chat"] is False
    assert meeting["ai_config"]["summarization"] == {
        "summary_type": "general",
        "text_format": "markdown",
        "word_limit": 500,
    }
    assert meeting["ai_config"]["transcription"]["language"] == "en-US"
    assert len(meeting["id"]) == 36 and meeting["created_at"].endswith("Z")
    url = account.app(f"/meetings/{meeting['id']}")
    assert (await client.get(url, headers=account.headers)).json()["data"] == meeting

    # PATCH merges, objects key by key.
    patch = {"status": "INACTIVE", "ai_config": {"summarization": {"word_limit": 200}}}
    r = await client.patch(url, json=patch, headers=account.headers)
    assert r.status_code == 200, r.text
    patched = r.json()["data"]
    assert patched["status"] == "INACTIVE" and patched["title"] == "Standup"
    assert patched["ai_config"]["summarization"] == {
        "summary_type": "general",
        "text_format": "markdown",
        "word_limit": 200,
    }
    assert patched["updated_at"] >= meeting["updated_at"]

    # PUT replaces: what it leaves out falls back to the defaults (or goes).
    storage = {"type": "aws", "bucket": "b", "access_key": "AK", "secret": "SK", "region": "eu"}
    put = {"record_on_start": True, "recording_config": {"max_seconds": 120, "storage_config": storage}}
    r = await client.put(url, json=put, headers=account.headers)
    assert r.status_code == 200, r.text
    replaced = r.json()["data"]
    assert "title" not in replaced and replaced["status"] == "ACTIVE" and replaced["record_on_start"] is True
    assert replaced["ai_config"]["summarization"]["word_limit"] == 500
    # Storage secrets are write-only.
    assert replaced["recording_config"]["storage_config"] == {"type": "aws", "bucket": "b", "region": "eu"}
    assert "SK" not in (await client.get(url, headers=account.headers)).text


async def test_validation_names_the_field(client: httpx.AsyncClient, account: Account) -> None:
    cases = {
        "status": {"status": "PAUSED"},
        "session_keep_alive_time_in_secs": {"session_keep_alive_time_in_secs": 30},
        "ai_config.summarization.word_limit": {"ai_config": {"summarization": {"word_limit": 5000}}},
        "ai_config.transcription.language": {"ai_config": {"transcription": {"language": "xx"}}},
        "recording_config.video_config.codec": {"recording_config": {"video_config": {"codec": "AV1"}}},
        "recording_config.storage_config.type": {"recording_config": {"storage_config": {"bucket": "b"}}},
        "recording_config.live_streaming_config.rtmp_url": {
            "recording_config": {"live_streaming_config": {"rtmp_url": "not a url"}}
        },
        "record_on_start": {"record_on_start": "yes"},
        "title": {"title": 5},
    }
    for field, body in cases.items():
        r = await client.post(account.app("/meetings"), json=body, headers=account.headers)
        error = assert_error(r, 400)["error"]
        assert f"'{field}'" in str(error["message"]), (field, error)  # type: ignore[index]
    r = await client.post(account.app("/meetings"), json={}, headers=account.headers)
    assert r.status_code == 201 and "title" not in r.json()["data"]
    meeting_id = r.json()["data"]["id"]
    bad_patch = await client.patch(
        account.app(f"/meetings/{meeting_id}"), json={"status": "x"}, headers=account.headers
    )
    assert "'status'" in assert_error(bad_patch, 400)["error"]["message"]  # type: ignore[index]
    assert_error(await client.get(account.app("/meetings/not-a-uuid"), headers=account.headers), 400)
    missing = "00000000-0000-4000-8000-000000000000"
    assert_error(await client.get(account.app(f"/meetings/{missing}"), headers=account.headers), 404)
    assert_error(await client.patch(account.app(f"/meetings/{missing}"), json={}, headers=account.headers), 404)
    assert_error(await client.get(f"{account.base}/{missing}/meetings", headers=account.headers), 404, "app_not_found")


async def test_list_paging_search_and_time(client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    account = await make_account(client, admin_headers)
    ids = []
    for i in range(7):
        title = f"Weekly sync {i}" if i % 2 == 0 else f"Retro {i}"
        r = await client.post(account.app("/meetings"), json={"title": title}, headers=account.headers)
        ids.append(r.json()["data"]["id"])
        if i == 3:
            await trio.sleep(0.05)
            middle = r.json()["data"]["created_at"]
    url = account.app("/meetings")
    r = await client.get(url, params={"per_page": 3}, headers=account.headers)
    body = r.json()
    assert body["paging"] == {"start_offset": 1, "end_offset": 3, "total_count": 7}
    assert [m["id"] for m in body["data"]] == ids[::-1][:3]  # newest first
    r = await client.get(url, params={"per_page": 3, "page_no": 3}, headers=account.headers)
    assert r.json()["paging"] == {"start_offset": 7, "end_offset": 7, "total_count": 7}
    assert [m["id"] for m in r.json()["data"]] == [ids[0]]
    r = await client.get(url, params={"per_page": 3, "page_no": 4}, headers=account.headers)
    assert r.json()["data"] == [] and r.json()["paging"]["total_count"] == 7
    # search: case-insensitive substring of the title, taken literally
    r = await client.get(url, params={"search": "WEEKLY"}, headers=account.headers)
    assert sorted(m["title"] for m in r.json()["data"]) == [f"Weekly sync {i}" for i in (0, 2, 4, 6)]
    assert (await client.get(url, params={"search": ".*"}, headers=account.headers)).json()["paging"][
        "total_count"
    ] == 0
    # start_time / end_time on creation time
    r = await client.get(url, params={"start_time": middle}, headers=account.headers)
    assert ids[3] in [m["id"] for m in r.json()["data"]] and ids[0] not in [m["id"] for m in r.json()["data"]]
    r = await client.get(url, params={"end_time": middle}, headers=account.headers)
    assert ids[6] not in [m["id"] for m in r.json()["data"]] and ids[0] in [m["id"] for m in r.json()["data"]]
    for bad in ({"per_page": 0}, {"per_page": 101}, {"page_no": "x"}, {"start_time": "yesterday"}):
        assert_error(await client.get(url, params=bad, headers=account.headers), 400)


async def test_concurrent_creates_are_all_listed(client: httpx.AsyncClient, account: Account) -> None:
    async def create(i: int) -> int:
        r = await client.post(account.app("/meetings"), json={"title": f"m{i}"}, headers=account.headers)
        return r.status_code

    async with trio.open_nursery() as nursery:
        for i in range(10):
            nursery.start_soon(create, i)
    r = await client.get(account.app("/meetings"), params={"per_page": 100}, headers=account.headers)
    assert r.json()["paging"]["total_count"] == 10
