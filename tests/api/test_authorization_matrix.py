"""Every signed-in route that names an object, called by another user with the owner's ids: never a success,
never the owner's data, and the owner's objects unchanged afterwards. Routes are taken from the app's own
declarations, so a route added later is covered without editing this test."""

from __future__ import annotations

import re

import httpx

from altegon_rt.api.app import ROUTES
from tests.conftest import User

SECRET_LINE = "the owner's confidential transcript line"
SECRET_FILE = b"the owner's confidential file bytes"


async def owner_objects(client: httpx.AsyncClient, alice: User) -> dict[str, str]:
    h = alice.headers
    room = (await client.post("/room/create", json={"name": "r", "type": "meeting"}, headers=h)).json()["data"]["id"]
    body = {"title": "owner's meeting", "hostId": alice.id, "transcriptEnabled": True}
    meeting = (await client.post("/meetings/create", json=body, headers=h)).json()["meetingId"]
    await client.post(
        "/send-transcript", json={"meetingId": meeting, "userName": "A", "message": SECRET_LINE}, headers=h
    )
    rec = {"roomId": room, "userName": "A", "streamId": "1", "recordingId": f"rec-{meeting}",
           "startTime": 1756364334634, "videoType": "video", "status": "pending"}  # fmt: skip
    assert (await client.post("/recording/start", json=rec, headers=h)).status_code == 201
    up = await client.post(f"/room/{room}/upload", files={"file": ("secret.txt", SECRET_FILE)}, headers=h)
    filename = up.json()["data"]["filename"]
    return {"userId": alice.id, "meetingId": meeting, "roomId": room, "recordingId": f"rec-{meeting}",
            "filename": filename, "fileName": "secret.txt", "keyId": "0123456789abcdef01234567",
            "hostId": alice.id, "userID": alice.id}  # fmt: skip


def body_for(ids: dict[str, str]) -> dict[str, object]:
    """A body naming the owner's objects in every field a route might read them from."""
    return {**ids, "title": "taken over", "transcriptEnabled": False, "summaryGenerated": True, "userName": "B",
            "message": "injected", "endTime": 1756364334999, "streamId": "1", "storageLimit": 1, "name": "x",
            "type": "meeting"}  # fmt: skip


async def snapshot(client: httpx.AsyncClient, alice: User, ids: dict[str, str]) -> list[object]:
    h = alice.headers
    meetings = (await client.get(f"/meetings/list/{alice.id}", headers=h)).json()
    transcript = (await client.get(f"/view-transcript/{ids['meetingId']}", headers=h)).json()
    recordings = (await client.get("/recordings/list", headers=h)).json()
    download = await client.get(f"/room/{ids['roomId']}/files/{ids['filename']}/download", headers=h)
    return [meetings, transcript, recordings, download.status_code, download.content]


async def test_another_user_never_reaches_the_owners_objects(client: httpx.AsyncClient, alice: User, bob: User) -> None:
    ids = await owner_objects(client, alice)
    before = await snapshot(client, alice, ids)
    assert before[1]["data"][0]["message"] == SECRET_LINE and before[4] == SECRET_FILE
    tried = 0
    for route in ROUTES:
        names_object = bool(re.search(r"\{\w+\}", route.path)) or route.body is not None
        if route.auth != "user" or not names_object or route.path in ("/room/create", "/auth/login"):
            continue
        path = re.sub(r"\{(\w+)\}", lambda m: ids[m.group(1)], route.path)
        kwargs: dict[str, object] = {"headers": bob.headers, "params": {"userID": alice.id}}
        if route.method != "GET":
            kwargs["json"] = body_for(ids)
        r = await client.request(route.method, path, **kwargs)  # type: ignore[arg-type]
        tried += 1
        assert not 200 <= r.status_code < 300 or route.path == "/send-transcript", (route.method, route.path, r.text)
        assert SECRET_LINE not in r.text and SECRET_FILE.decode() not in r.text, (route.method, route.path)
    assert tried >= 10
    after = await snapshot(client, alice, ids)
    # bob may add a line to a meeting with transcription on (documented); nothing else of alice's changes.
    after_lines = [d["message"] for d in after[1]["data"]]  # type: ignore[index]
    assert after_lines[0] == SECRET_LINE and set(after_lines[1:]) <= {"injected"}
    assert [after[0], after[2], after[3], after[4]] == [before[0], before[2], before[3], before[4]]
