"""Rooms and meetings: create, update, list, and that nobody touches another user's meetings."""

from __future__ import annotations

import datetime as dt

import httpx

from tests.conftest import User, assert_error

NO_SUCH_ID = "0123456789abcdef01234567"


async def create_meeting(client: httpx.AsyncClient, user: User, title: str = "My Meeting") -> str:
    body = {"title": title, "hostId": user.id, "transcriptEnabled": False}
    r = await client.post("/meetings/create", json=body, headers=user.headers)
    assert r.status_code == 201, r.text
    assert set(r.json()) == {"meetingId"}
    return r.json()["meetingId"]


async def list_meetings(client: httpx.AsyncClient, user: User) -> list[dict[str, object]]:
    r = await client.get(f"/meetings/list/{user.id}", headers=user.headers)
    assert r.status_code == 200, r.text
    return r.json()["data"]


async def test_room_create_answers_documented_shape(client: httpx.AsyncClient, alice: User) -> None:
    r = await client.post("/room/create", json={"name": "Haseeb Asif", "p2p": True, "type": "conference"},
                          headers=alice.headers)  # fmt: skip
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["success"] is True and body["msg"] == "Room created Successfully!"
    assert body["data"]["name"] == "Haseeb Asif" and body["data"]["type"] == "conference"
    assert body["data"]["p2p"] is True and len(body["data"]["id"]) == 24


async def test_room_create_validates(client: httpx.AsyncClient, alice: User) -> None:
    assert_error(await client.post("/room/create", json={"name": "x", "type": "meeting"}), 401)
    r = await client.post("/room/create", json={"type": "meeting"}, headers=alice.headers)
    assert "'name'" in assert_error(r, 400, "missing_field")["error"]["message"]
    r = await client.post("/room/create", json={"name": "n", "type": "meeting", "maxParticipants": "ten"},
                          headers=alice.headers)  # fmt: skip
    assert "'maxParticipants'" in assert_error(r, 400, "invalid_field")["error"]["message"]
    r = await client.post("/room/create", json={"name": "n", "type": "meeting", "maxParticipants": 0},
                          headers=alice.headers)  # fmt: skip
    assert_error(r, 400, "invalid_field")


async def test_meeting_lifecycle(client: httpx.AsyncClient, alice: User) -> None:
    meeting_id = await create_meeting(client, alice)
    [meeting] = [m for m in await list_meetings(client, alice) if m["_id"] == meeting_id]
    assert meeting["title"] == "My Meeting" and meeting["hostId"] == alice.id
    assert meeting["transcriptEnabled"] is False and meeting["summaryGenerated"] is False
    assert meeting["recordingIds"] == []
    created = dt.datetime.fromisoformat(str(meeting["createdAt"]).replace("Z", "+00:00"))
    assert abs((dt.datetime.now(dt.UTC) - created).total_seconds()) < 60

    room = await client.post("/room/create", json={"name": "r", "type": "meeting"}, headers=alice.headers)
    room_id = room.json()["data"]["id"]
    update = {"title": "Test Meeting", "transcriptEnabled": True, "summaryGenerated": True, "roomId": room_id,
              "recordingId": "1737978989992_59591", "userId": alice.id}  # fmt: skip
    r = await client.post(f"/meetings/update/{meeting_id}", json=update, headers=alice.headers)
    assert r.status_code == 204 and r.content == b""
    # The same recording twice is kept once; a second one is added.
    for rec in ("1737978989992_59591", "1737978989993_1"):
        r = await client.post(f"/meetings/update/{meeting_id}", json={"recordingId": rec}, headers=alice.headers)
        assert r.status_code == 204
    [meeting] = [m for m in await list_meetings(client, alice) if m["_id"] == meeting_id]
    assert meeting["title"] == "Test Meeting" and meeting["roomId"] == room_id
    assert meeting["transcriptEnabled"] is True and meeting["summaryGenerated"] is True
    assert meeting["recordingIds"] == ["1737978989992_59591", "1737978989993_1"]


async def test_list_is_newest_first_and_only_own(client: httpx.AsyncClient, alice: User, bob: User) -> None:
    ids = [await create_meeting(client, alice, f"m{i}") for i in range(3)]
    await create_meeting(client, bob, "bob's")
    listed = [m["_id"] for m in await list_meetings(client, alice)]
    assert listed == list(reversed(ids))


async def test_documented_update_sample_is_accepted(client: httpx.AsyncClient, alice: User) -> None:
    meeting_id = await create_meeting(client, alice)
    raw = b'{"title": "Test Meeting", "transcriptEnabled": false, "summaryGenerated": false, "recordingId": "1_2",}'
    r = await client.post(f"/meetings/update/{meeting_id}", content=raw, headers=alice.headers)
    assert r.status_code == 204, r.text


async def test_other_users_meetings_are_forbidden(client: httpx.AsyncClient, alice: User, bob: User) -> None:
    meeting_id = await create_meeting(client, alice)
    assert_error(await client.get(f"/meetings/list/{alice.id}", headers=bob.headers), 403, "forbidden")
    r = await client.post(f"/meetings/update/{meeting_id}", json={"title": "mine now"}, headers=bob.headers)
    assert_error(r, 403, "forbidden")
    r = await client.post("/meetings/create", json={"title": "t", "hostId": alice.id, "transcriptEnabled": False},
                          headers=bob.headers)  # fmt: skip
    assert_error(r, 403, "forbidden")
    # Claiming to be alice in the body does not help bob either.
    r = await client.post(
        f"/meetings/update/{meeting_id}", json={"title": "x", "userId": alice.id}, headers=bob.headers
    )
    assert_error(r, 403)
    assert [m["title"] for m in await list_meetings(client, alice) if m["_id"] == meeting_id] == ["My Meeting"]


async def test_cannot_attach_another_users_room(client: httpx.AsyncClient, alice: User, bob: User) -> None:
    meeting_id = await create_meeting(client, alice)
    room = await client.post("/room/create", json={"name": "b", "type": "meeting"}, headers=bob.headers)
    r = await client.post(f"/meetings/update/{meeting_id}", json={"roomId": room.json()["data"]["id"]},
                          headers=alice.headers)  # fmt: skip
    assert_error(r, 403)
    r = await client.post(f"/meetings/update/{meeting_id}", json={"roomId": NO_SUCH_ID}, headers=alice.headers)
    assert_error(r, 400, "invalid_field")


async def test_update_errors(client: httpx.AsyncClient, alice: User) -> None:
    r = await client.post(f"/meetings/update/{NO_SUCH_ID}", json={"title": "x"}, headers=alice.headers)
    assert_error(r, 404, "not_found")
    r = await client.post("/meetings/update/not-an-id", json={"title": "x"}, headers=alice.headers)
    assert "'meetingId'" in assert_error(r, 400, "invalid_field")["error"]["message"]
    meeting_id = await create_meeting(client, alice)
    r = await client.post(f"/meetings/update/{meeting_id}", json={}, headers=alice.headers)
    assert_error(r, 400, "missing_field")
    r = await client.post(f"/meetings/update/{meeting_id}", json={"transcriptEnabled": "yes"}, headers=alice.headers)
    assert "'transcriptEnabled'" in assert_error(r, 400, "invalid_field")["error"]["message"]


async def test_create_validates(client: httpx.AsyncClient, alice: User) -> None:
    r = await client.post("/meetings/create", json={"title": "t", "hostId": alice.id}, headers=alice.headers)
    assert "'transcriptEnabled'" in assert_error(r, 400, "missing_field")["error"]["message"]
    r = await client.post("/meetings/create", json={"title": "t", "hostId": "abc", "transcriptEnabled": True},
                          headers=alice.headers)  # fmt: skip
    assert "'hostId'" in assert_error(r, 400, "invalid_field")["error"]["message"]
    r = await client.get("/meetings/list/xyz", headers=alice.headers)
    assert_error(r, 400, "invalid_field")
