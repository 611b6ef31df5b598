"""Recording controls: start, stop and list, the documented sample bodies, dates, and who may do what."""

from __future__ import annotations

import datetime as dt
import secrets
from pathlib import Path
from typing import Any

import httpx
import pytest

from altegon_rt.api.schema import parse_date
from altegon_rt.errors import BadRequest
from altegon_rt.testing.process import ServerProcess
from tests.api.test_admin import _admin_server
from tests.conftest import HIGH_LIMITS, User, assert_error, database, make_user

NO_SUCH_ID = "0123456789abcdef01234567"
START_MS = 1756364334634  # the documented sample: 2025-08-28T06:58:54.634Z
STREAM_ID = 755961800257348400  # the documented sample sends it as a JSON number, beyond 2**53


def new_recording_id() -> str:
    return f"1756364334628_{secrets.token_hex(6)}"


async def create_room(client: httpx.AsyncClient, user: User) -> str:
    r = await client.post("/room/create", json={"name": "Rec room", "type": "meeting"}, headers=user.headers)
    assert r.status_code == 201, r.text
    return r.json()["data"]["id"]


def start_body(room_id: str, recording_id: str, **changes: Any) -> dict[str, Any]:
    body = {"roomId": room_id, "userName": "Haseeb Asif", "streamId": STREAM_ID, "recordingId": recording_id,
            "startTime": START_MS, "videoType": "video", "status": "pending", **changes}  # fmt: skip
    return {k: v for k, v in body.items() if v is not None}


async def start(client: httpx.AsyncClient, user: User, room_id: str, **changes: Any) -> dict[str, Any]:
    r = await client.post("/recording/start", json=start_body(room_id, new_recording_id(), **changes),
                          headers=user.headers)  # fmt: skip
    assert r.status_code == 201, r.text
    return r.json()["data"]


async def list_recordings(client: httpx.AsyncClient, user: User | dict[str, str]) -> list[dict[str, Any]]:
    headers = user.headers if isinstance(user, User) else user
    r = await client.get("/recordings/list", headers=headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert isinstance(body, list)
    return body


def find(recordings: list[dict[str, Any]], recording_id: str) -> dict[str, Any] | None:
    return next((rec for rec in recordings if rec["recordingId"] == recording_id), None)


async def test_documented_samples_start_list_and_stop(
    server: ServerProcess, client: httpx.AsyncClient, alice: User
) -> None:
    room_id = await create_room(client, alice)
    recording_id = new_recording_id()
    raw = (
        f'{{ "roomId": "{room_id}", "userName": "Haseeb Asif", "streamId": {STREAM_ID}, '
        f'"recordingId": "{recording_id}", "startTime": {START_MS}, "videoType": "video", "status": "pending" }}'
    )
    r = await client.post("/recording/start", content=raw.encode(), headers=alice.headers)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["success"] is True and body["msg"] == "Recording started successfully!"
    data = body["data"]
    assert data["recordingId"] == recording_id and data["roomId"] == room_id and len(data["_id"]) == 24
    assert data["streamId"] == str(STREAM_ID) and data["startTime"] == "2025-08-28T06:58:54.634Z"
    assert data["hostName"] == data["userName"] == "Haseeb Asif" and data["ownerId"] == alice.id
    assert data["status"] == "pending" and data["endTime"] is None and data["videoType"] == "video"

    listed = find(await list_recordings(client, alice), recording_id)
    assert listed == data
    assert {"_id", "roomId", "recordingId", "hostName", "status", "createdAt", "updatedAt"} <= set(listed)

    # The documented stop sample: a key with a leading space and the stream id as a number; a trailing comma.
    raw = f'{{ "recordingId": "{recording_id}", "streamId": {STREAM_ID}, " endTime": 1756364400000, }}'
    r = await client.post("/recording/stop", content=raw.encode(), headers=alice.headers)
    assert r.status_code == 204 and r.content == b"", r.text
    listed = find(await list_recordings(client, alice), recording_id)
    assert listed is not None
    assert listed["status"] == "stopped" and listed["endTime"] == "2025-08-28T07:00:00.000Z"
    assert listed["createdAt"] <= listed["updatedAt"]

    r = await client.post("/recording/stop", json={"recordingId": recording_id, "endTime": 1756364500000},
                          headers=alice.headers)  # fmt: skip
    assert_error(r, 409, "already_stopped")

    with database(server) as db:
        stored = db.recordings.find_one({"recordingId": recording_id})
    assert stored is not None
    for name in ("startTime", "endTime", "createdAt", "updatedAt"):
        assert isinstance(stored[name], dt.datetime), name
    assert stored["startTime"] == dt.datetime(2025, 8, 28, 6, 58, 54, 634000)  # stored as UTC
    assert stored["endTime"] == dt.datetime(2025, 8, 28, 7, 0, 0)
    for name in ("roomId", "ownerId", "streamId", "recordingId", "userName", "videoType", "status"):
        assert isinstance(stored[name], str), name
    assert stored["ownerId"] == alice.id and stored["streamId"] == str(STREAM_ID)


async def test_iso_dates_are_accepted(client: httpx.AsyncClient, alice: User) -> None:
    room_id = await create_room(client, alice)
    data = await start(client, alice, room_id, startTime="2025-10-13T12:15:30.5+02:00", streamId="abc-1")
    assert data["startTime"] == "2025-10-13T10:15:30.500Z" and data["streamId"] == "abc-1"
    r = await client.post("/recording/stop", json={"recordingId": data["recordingId"],
                          "endTime": "2025-10-13T10:20:00Z", "streamId": "abc-1"}, headers=alice.headers)  # fmt: skip
    assert r.status_code == 204, r.text
    listed = find(await list_recordings(client, alice), data["recordingId"])
    assert listed is not None and listed["endTime"] == "2025-10-13T10:20:00.000Z"


@pytest.mark.parametrize("field", ["roomId", "userName", "streamId", "recordingId", "startTime", "videoType",
                                   "status"])  # fmt: skip
async def test_start_requires_every_documented_field(client: httpx.AsyncClient, alice: User, field: str) -> None:
    body = start_body(NO_SUCH_ID, new_recording_id())
    del body[field]
    r = await client.post("/recording/start", json=body, headers=alice.headers)
    assert f"'{field}'" in assert_error(r, 400, "missing_field")["error"]["message"]


@pytest.mark.parametrize("value", ["yesterday", "2025-13-01T00:00:00Z", True, -1, 10**20, {"ms": 1}, [START_MS],
                                   "1969-12-31T23:59:59Z", ""])  # fmt: skip
async def test_start_refuses_bad_dates(client: httpx.AsyncClient, alice: User, value: object) -> None:
    room_id = await create_room(client, alice)
    r = await client.post("/recording/start", json=start_body(room_id, new_recording_id(), startTime=value),
                          headers=alice.headers)  # fmt: skip
    assert "'startTime'" in assert_error(r, 400, "invalid_field")["error"]["message"]


async def test_start_errors(client: httpx.AsyncClient, alice: User, bob: User) -> None:
    room_id = await create_room(client, alice)
    assert_error(await client.post("/recording/start", json=start_body(room_id, new_recording_id())), 401)
    r = await client.post("/recording/start", json=start_body("not-a-room", new_recording_id()), headers=alice.headers)
    assert "'roomId'" in assert_error(r, 400, "invalid_field")["error"]["message"]
    r = await client.post("/recording/start", json=start_body(NO_SUCH_ID, new_recording_id()), headers=alice.headers)
    assert "'roomId'" in assert_error(r, 400, "invalid_field")["error"]["message"]
    r = await client.post("/recording/start", json=start_body(room_id, "x" * 129), headers=alice.headers)
    assert "'recordingId'" in assert_error(r, 400, "invalid_field")["error"]["message"]
    r = await client.post("/recording/start", json=start_body(room_id, new_recording_id(), streamId=1.5),
                          headers=alice.headers)  # fmt: skip
    assert "'streamId'" in assert_error(r, 400, "invalid_field")["error"]["message"]

    data = await start(client, alice, room_id)
    again = start_body(room_id, data["recordingId"])
    assert_error(await client.post("/recording/start", json=again, headers=alice.headers), 409, "recording_exists")
    # recordingIds are unique across users too.
    bobs_room = await create_room(client, bob)
    again = start_body(bobs_room, data["recordingId"])
    assert_error(await client.post("/recording/start", json=again, headers=bob.headers), 409, "recording_exists")
    assert find(await list_recordings(client, bob), data["recordingId"]) is None


async def test_stop_errors(client: httpx.AsyncClient, alice: User) -> None:
    room_id = await create_room(client, alice)
    data = await start(client, alice, room_id)
    recording_id = data["recordingId"]
    stop = {"recordingId": recording_id, "endTime": START_MS + 1000}
    assert_error(await client.post("/recording/stop", json=stop), 401)
    r = await client.post("/recording/stop", json={**stop, "recordingId": "no-such-recording"}, headers=alice.headers)
    assert_error(r, 404, "not_found")
    r = await client.post("/recording/stop", json={**stop, "streamId": 1}, headers=alice.headers)
    assert "'streamId'" in assert_error(r, 400, "invalid_field")["error"]["message"]
    r = await client.post("/recording/stop", json={**stop, "endTime": START_MS - 1}, headers=alice.headers)
    assert "'endTime'" in assert_error(r, 400, "invalid_field")["error"]["message"]
    r = await client.post("/recording/stop", json={**stop, "endTime": "soon"}, headers=alice.headers)
    assert "'endTime'" in assert_error(r, 400, "invalid_field")["error"]["message"]
    r = await client.post("/recording/stop", json={"recordingId": recording_id}, headers=alice.headers)
    assert "'endTime'" in assert_error(r, 400, "missing_field")["error"]["message"]
    r = await client.post("/recording/stop", json={"endTime": START_MS}, headers=alice.headers)
    assert "'recordingId'" in assert_error(r, 400, "missing_field")["error"]["message"]
    listed = find(await list_recordings(client, alice), recording_id)
    assert listed is not None and listed["endTime"] is None and listed["status"] == "pending"
    # An end time equal to the start time is allowed.
    r = await client.post("/recording/stop", json={**stop, "endTime": START_MS}, headers=alice.headers)
    assert r.status_code == 204, r.text


async def test_users_touch_only_their_own(client: httpx.AsyncClient, alice: User, bob: User) -> None:
    room_id = await create_room(client, alice)
    data = await start(client, alice, room_id)
    r = await client.post("/recording/start", json=start_body(room_id, new_recording_id()), headers=bob.headers)
    assert_error(r, 403, "forbidden")
    stop = {"recordingId": data["recordingId"], "endTime": START_MS + 1000}
    assert_error(await client.post("/recording/stop", json=stop, headers=bob.headers), 404, "not_found")
    assert find(await list_recordings(client, bob), data["recordingId"]) is None
    listed = find(await list_recordings(client, alice), data["recordingId"])
    assert listed is not None and listed["endTime"] is None and listed["status"] == "pending"
    assert_error(await client.get("/recordings/list"), 401)


async def test_list_is_newest_first_and_only_own(client: httpx.AsyncClient) -> None:
    carol = await make_user(client)
    room_id = await create_room(client, carol)
    assert await list_recordings(client, carol) == []
    ids = [(await start(client, carol, room_id))["recordingId"] for _ in range(3)]
    assert [rec["recordingId"] for rec in await list_recordings(client, carol)] == list(reversed(ids))


async def test_admin_sees_and_stops_everyones(fresh_data_dir: Path) -> None:
    server, admin_token = _admin_server(fresh_data_dir, env=HIGH_LIMITS)
    admin = {"Authorization": f"Bearer {admin_token}"}
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as c:
            users = [await make_user(c), await make_user(c)]
            rooms = [await create_room(c, user) for user in users]
            made = [await start(c, user, room) for user, room in zip(users, rooms, strict=True)]
            # An admin may record in anyone's room; the recording is the admin's.
            r = await c.post("/recording/start", json=start_body(rooms[0], new_recording_id()), headers=admin)
            assert r.status_code == 201, r.text
            assert find(await list_recordings(c, users[0]), r.json()["data"]["recordingId"]) is None
            everything = await list_recordings(c, admin)
            assert {rec["recordingId"] for rec in everything} == {*(m["recordingId"] for m in made),
                                                                  r.json()["data"]["recordingId"]}  # fmt: skip
            stop = {"recordingId": made[0]["recordingId"], "endTime": START_MS + 5}
            assert (await c.post("/recording/stop", json=stop, headers=admin)).status_code == 204
            assert find(await list_recordings(c, users[0]), made[0]["recordingId"])["status"] == "stopped"  # type: ignore[index]
            await c.post("/recording/stop", json=stop, headers=users[1].headers)
            entries = (await c.get("/admin/audit", params={"limit": "200"}, headers=admin)).json()["data"]
            seen = {(e["action"], e["outcome"], e["target"].get("id")) for e in entries}
            assert ("recording.start", "success", made[1]["recordingId"]) in seen
            assert ("recording.stop", "success", made[0]["recordingId"]) in seen
            assert ("recording.stop", "failure:not_found", made[0]["recordingId"]) in seen
    finally:
        assert server.terminate() == 0


def test_parse_date_units() -> None:
    utc = dt.UTC
    assert parse_date("t", 0) == dt.datetime(1970, 1, 1, tzinfo=utc)
    assert parse_date("t", START_MS + 0.9) == dt.datetime(2025, 8, 28, 6, 58, 54, 634000, tzinfo=utc)
    assert parse_date("t", "2025-10-13") == dt.datetime(2025, 10, 13, tzinfo=utc)
    assert parse_date("t", " 2025-10-13T10:15:30 ") == dt.datetime(2025, 10, 13, 10, 15, 30, tzinfo=utc)
    assert parse_date("t", "2025-10-13T10:15:30.123999-01:00") == dt.datetime(2025, 10, 13, 11, 15, 30, 123000,
                                                                                tzinfo=utc)  # fmt: skip
    for bad in (None, False, "", "x" * 65, "2025-10-13\x00", "0001-01-01T00:00:00+01:00", float(2**60)):
        with pytest.raises(BadRequest, match="'t'"):
            parse_date("t", bad)
