"""RealtimeKit presets (full document, validated, named errors) and participants (tokens, edit, delete, refresh)."""

from __future__ import annotations

import time

import httpx
import jwt

from altegon_rt.testing.process import TEST_SECRET
from tests.conftest import assert_error
from tests.rtk.conftest import PRESET_CONFIG, Account, make_preset


async def test_preset_crud_and_validation(client: httpx.AsyncClient, account: Account) -> None:
    preset = await make_preset(
        client,
        account,
        "host",
        permissions={"kick_participant": True, "media": {"video": {"can_produce": "CAN_REQUEST"}}},
    )
    assert preset["permissions"]["kick_participant"] is True
    assert preset["permissions"]["media"] == {
        "audio": {"can_produce": "ALLOWED"},
        "screenshare": {"can_produce": "ALLOWED"},
        "video": {"can_produce": "CAN_REQUEST"},
    }
    assert preset["permissions"]["chat"]["public"] == {"can_send": True, "files": True, "text": True}
    assert preset["permissions"]["waiting_room_type"] == "SKIP" and preset["permissions"]["recorder_type"] == "NONE"
    assert preset["ui"]["design_tokens"]["theme"] == "dark" and preset["config"] == PRESET_CONFIG
    url = account.app(f"/presets/{preset['id']}")
    assert (await client.get(url, headers=account.headers)).json()["data"] == preset

    bad = {
        "config.view_type": {"config": {**PRESET_CONFIG, "view_type": "THEATRE"}},
        "config.media.video.frame_rate": {
            "config": {
                **PRESET_CONFIG,
                "media": {
                    "screenshare": {"frame_rate": 5, "quality": "hd"},
                    "video": {"frame_rate": 60, "quality": "hd"},
                },
            }
        },
        "config.max_video_streams": {"config": {k: v for k, v in PRESET_CONFIG.items() if k != "max_video_streams"}},
        "ui": {"ui": None},
        "permissions.media.audio.can_produce": {"permissions": {"media": {"audio": {"can_produce": "MAYBE"}}}},
        "permissions.polls.can_vote": {"permissions": {"polls": {"can_vote": "yes"}}},
        "permissions.plugins.config": {"permissions": {"plugins": {"config": {"access_control": "SOME"}}}},
        "ui.config_diff": {"ui": {"config_diff": {"$where": 1}}},
    }
    for field, change in bad.items():
        body = {"name": "p-" + field, "config": PRESET_CONFIG, "ui": {}, **change}
        error = assert_error(await client.post(account.app("/presets"), json=body, headers=account.headers), 400)
        assert f"'{field}'" in error["error"]["message"], (field, error)  # type: ignore[index]
    assert_error(
        await client.post(
            account.app("/presets"), json={"name": "host", "config": PRESET_CONFIG, "ui": {}}, headers=account.headers
        ),
        409,
        "preset_exists",
    )

    # PATCH merges and checks the whole; a bad value is refused naming the field.
    r = await client.patch(
        url, json={"permissions": {"polls": {"can_create": True}}, "name": "host2"}, headers=account.headers
    )
    assert r.status_code == 200, r.text
    assert r.json()["data"]["permissions"]["polls"] == {"can_create": True, "can_view": True, "can_vote": True}
    assert r.json()["data"]["permissions"]["kick_participant"] is True and r.json()["data"]["name"] == "host2"
    error = assert_error(
        await client.patch(url, json={"config": {"max_screenshare_count": -1}}, headers=account.headers), 400
    )
    assert "'config.max_screenshare_count'" in error["error"]["message"]  # type: ignore[index]

    second = await make_preset(client, account, "viewer")
    listed = (await client.get(account.app("/presets"), params={"per_page": 1}, headers=account.headers)).json()
    assert listed["paging"] == {"start_offset": 1, "end_offset": 1, "total_count": 2}
    assert (
        set(listed["data"][0]) == {"id", "created_at", "name", "updated_at"} and listed["data"][0]["id"] == second["id"]
    )
    deleted = await client.delete(account.app(f"/presets/{second['id']}"), headers=account.headers)
    assert deleted.status_code == 200 and deleted.json()["data"]["name"] == "viewer"
    assert_error(await client.get(account.app(f"/presets/{second['id']}"), headers=account.headers), 404)


async def test_participants(client: httpx.AsyncClient, account: Account) -> None:
    preset = await make_preset(client, account, "participant")
    host = await make_preset(client, account, "host")
    meeting = (await client.post(account.app("/meetings"), json={"title": "m"}, headers=account.headers)).json()["data"]
    url = account.app(f"/meetings/{meeting['id']}/participants")
    body = {
        "name": "Ada",
        "picture": "https://example.com/ada.png",
        "preset_name": "participant",
        "custom_participant_id": "ada-1",
    }
    r = await client.post(url, json=body, headers=account.headers)
    assert r.status_code == 201, r.text
    added = r.json()["data"]
    assert {k: added[k] for k in body} == body and added["token"]
    claims = jwt.decode(added["token"], TEST_SECRET, algorithms=["HS256"], audience="rtk-participant")
    assert claims["sub"] == added["id"] and claims["mtg"] == meeting["id"] and claims["app"] == account.app_id
    assert claims["acc"] == account.id and claims["pst"] == "participant" and claims["exp"] - time.time() > 80_000
    # A participant token is not a user token: the REST API refuses it.
    assert_error(await client.get("/recordings/list", headers={"Authorization": f"Bearer {added['token']}"}), 401)

    assert_error(await client.post(url, json=body, headers=account.headers), 409, "participant_exists")
    unknown = await client.post(
        url, json={**body, "custom_participant_id": "x", "preset_name": "nope"}, headers=account.headers
    )
    assert "'preset_name'" in assert_error(unknown, 400)["error"]["message"]  # type: ignore[index]
    missing = await client.post(url, json={"preset_name": "participant"}, headers=account.headers)
    assert "'custom_participant_id'" in assert_error(missing, 400, "missing_field")["error"]["message"]  # type: ignore[index]
    bad_picture = await client.post(
        url, json={**body, "custom_participant_id": "y", "picture": "ftp://x"}, headers=account.headers
    )
    assert "'picture'" in assert_error(bad_picture, 400)["error"]["message"]  # type: ignore[index]
    r = await client.post(url, json={"preset_name": "host", "custom_participant_id": "bob"}, headers=account.headers)
    bob = r.json()["data"]
    assert bob["name"] is None and bob["picture"] is None

    listed = (await client.get(url, headers=account.headers)).json()
    assert [p["id"] for p in listed["data"]] == [bob["id"], added["id"]] and "token" not in listed["data"][0]
    assert listed["paging"] == {"start_offset": 1, "end_offset": 2, "total_count": 2}
    one = account.app(f"/meetings/{meeting['id']}/participants/{added['id']}")
    got = (await client.get(one, headers=account.headers)).json()["data"]
    assert got == {k: v for k, v in added.items() if k != "token"}

    r = await client.patch(one, json={"name": "Ada L.", "preset_name": "host"}, headers=account.headers)
    assert r.status_code == 200, r.text
    edited = r.json()["data"]
    assert edited["name"] == "Ada L." and edited["preset_name"] == "host" and edited["token"] != added["token"]
    assert jwt.decode(edited["token"], options={"verify_signature": False})["pst"] == "host"
    r = await client.post(one + "/token", headers=account.headers)
    assert r.status_code == 200 and set(r.json()["data"]) == {"token"} and r.json()["data"]["token"] != edited["token"]

    r = await client.delete(one, headers=account.headers)
    assert r.status_code == 200
    assert r.json()["data"] == {
        "created_at": added["created_at"],
        "updated_at": edited["updated_at"],
        "custom_participant_id": "ada-1",
        "preset_id": host["id"],
    }
    assert_error(await client.get(one, headers=account.headers), 404, "participant_not_found")
    assert_error(await client.post(one + "/token", headers=account.headers), 404)
    assert preset["id"] != host["id"]
