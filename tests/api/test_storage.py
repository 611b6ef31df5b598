"""Recording storage over the real server: upload, usage and warnings, limits, delete, signed URLs, authorization."""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from altegon_rt.files.signing import SAS_SECRET_FILE, UrlSigner
from altegon_rt.testing.process import ServerProcess
from tests.api.test_admin import _admin_server
from tests.api.test_recordings import create_room, start
from tests.conftest import HIGH_LIMITS, User, assert_error, database, make_user


@pytest.fixture(scope="module")
def admin_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, dict[str, str]]]:
    server, token = _admin_server(tmp_path_factory.mktemp("storage") / "data", env=HIGH_LIMITS)
    yield server, {"Authorization": f"Bearer {token}"}
    assert server.terminate() == 0, server.log_text()
    assert "Traceback" not in server.log_text(), server.log_text()


@pytest.fixture
async def ac(admin_server: tuple[ServerProcess, dict[str, str]]) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=admin_server[0].url, timeout=30) as c:
        yield c


async def recording(client: httpx.AsyncClient, user: User) -> tuple[str, str]:
    room = await create_room(client, user)
    return room, (await start(client, user, room))["recordingId"]


def base(user: User, room: str, rec: str) -> str:
    return f"/recordings/user/{user.id}/room/{room}/recording/{rec}"


async def put(client: httpx.AsyncClient, user: User, room: str, rec: str, name: str, data: bytes) -> httpx.Response:
    files = {"file": (name, data, "video/mp4")}
    return await client.post(base(user, room, rec) + "/upload-to-blob", files=files, headers=user.headers)


def blob_files(server: ServerProcess, user: User) -> list[Path]:
    root = server.data_dir / "blobs" / user.id
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


async def info(client: httpx.AsyncClient, user: User) -> dict[str, Any]:
    r = await client.get(f"/recordings/user/{user.id}/storage-info", headers=user.headers)
    assert r.status_code == 200, r.text
    return r.json()["data"]


async def test_usage_warnings_quota_delete_and_exceeded(
    ac: httpx.AsyncClient, admin_server: tuple[ServerProcess, dict[str, str]]
) -> None:
    server, admin = admin_server
    alice = await make_user(ac)
    room, rec = await recording(ac, alice)
    limit_url = f"/recordings/user/{alice.id}/storage-limit"
    assert_error(await ac.put(limit_url, json={"storageLimit": 1000}, headers=alice.headers), 403)
    for bad in (0, -5, "abc", 1.5, None):
        assert_error(await ac.put(limit_url, json={"storageLimit": bad}, headers=admin), 400)
    assert_error(await ac.put(f"/recordings/user/{'0' * 24}/storage-limit", json={"newLimit": 9}, headers=admin), 404)
    r = await ac.put(limit_url, json={"newLimit": 1000}, headers=admin)
    assert r.json() == {"success": True, "data": {"userId": alice.id, "storageLimit": 1000, "storageLimitGB": "0.00"}}

    r = await put(ac, alice, room, rec, "../meeting 1.mp4", b"a" * 700)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["success"] is True and body["data"]["fileName"] == "meeting 1.mp4" and body["data"]["fileSize"] == 700
    assert body["data"]["blobUrl"] == base(alice, room, rec) + "/file/meeting%201.mp4"
    assert body["data"]["storage"]["usagePercentage"] == 70 and body["data"]["storage"]["warnings"] == []
    r = await ac.get(body["data"]["blobUrl"], headers=alice.headers)
    assert r.status_code == 200 and r.content == b"a" * 700
    assert r.headers["content-type"] == "application/octet-stream" and r.headers["x-content-type-options"] == "nosniff"

    assert (await put(ac, alice, room, rec, "b.mp4", b"b" * 80)).status_code == 200
    data = await info(ac, alice)
    assert data["warnings"] == [{"type": "usage", "message": "You have used 75% of your storage limit."}]
    assert (await put(ac, alice, room, rec, "c.mp4", b"c" * 150)).status_code == 200
    data = await info(ac, alice)
    assert {k: data[k] for k in ("totalUsage", "availableStorage", "storageLimit", "isLimitExceeded",
                                 "exceedAmount", "usagePercentage", "recordingsCount")} == {
        "totalUsage": 930, "availableStorage": 70, "storageLimit": 1000, "isLimitExceeded": False,
        "exceedAmount": 0, "usagePercentage": 93, "recordingsCount": 3}  # fmt: skip
    assert data["totalUsageGB"] == "0.00" and data["storageLimitGB"] == "0.00"
    assert data["warnings"] == [{"type": "usage", "message": "You have used 90% of your storage limit."}]
    listed = {x["fileName"]: x for x in data["recordings"]}
    assert set(listed) == {"meeting 1.mp4", "b.mp4", "c.mp4"}
    assert listed["b.mp4"]["fileSize"] == 80 and listed["b.mp4"]["roomId"] == room
    assert listed["b.mp4"]["recordingId"] == rec and listed["b.mp4"]["uploadedAt"].endswith("Z")

    # Over the limit: refused by the running size (71 bytes) and by the declared length (a large body).
    before = blob_files(server, alice)
    assert len(before) == 3 and not any(p.name.endswith(".part") for p in before)
    assert_error(await put(ac, alice, room, rec, "d.mp4", b"d" * 71), 507, "storage_limit_exceeded")
    assert_error(await put(ac, alice, room, rec, "e.mp4", b"e" * 200_000), 507, "storage_limit_exceeded")
    # More than socket buffers hold: the answer still arrives (the body is read before it is sent).
    assert_error(await put(ac, alice, room, rec, "e.mp4", b"e" * (12 * 1024 * 1024)), 507, "storage_limit_exceeded")
    assert blob_files(server, alice) == before and (await info(ac, alice))["totalUsage"] == 930
    assert (await put(ac, alice, room, rec, "f.mp4", b"f" * 70)).status_code == 200  # exactly fits
    assert_error(await put(ac, alice, room, rec, "f.mp4", b"f"), 507)
    assert_error(await ac.get("/recordings/admin/exceeded-storage-users", headers=alice.headers), 403)

    r = await ac.delete(base(alice, room, rec) + "/meeting 1.mp4", headers=alice.headers)
    assert r.json() == {"success": True, "msg": "Recording deleted successfully.",
                        "data": {"totalUsage": 300, "availableStorage": 700, "recordingsCount": 3}}  # fmt: skip
    assert len(blob_files(server, alice)) == 3
    assert_error(await ac.delete(base(alice, room, rec) + "/meeting 1.mp4", headers=alice.headers), 404)

    assert (await ac.put(limit_url, json={"storageLimit": 100}, headers=admin)).status_code == 200
    r = await ac.get("/recordings/admin/exceeded-storage-users", headers=admin)
    assert {"userId": alice.id, "totalUsage": 300, "storageLimit": 100, "exceedAmount": 200,
            "recordingsCount": 3} in r.json()["data"]  # fmt: skip
    data = await info(ac, alice)
    assert data["isLimitExceeded"] is True and data["exceedAmount"] == 200 and data["availableStorage"] == 0
    assert data["warnings"][0]["type"] == "limit"
    with database(server) as db:
        actions = {e["action"] for e in db.audit.find({"actor": alice.id})}
    assert {"blob.upload", "blob.storage_info", "blob.delete", "blob.download"} <= actions


async def test_signed_url_download(client: httpx.AsyncClient, alice: User, server: ServerProcess) -> None:
    room, rec = await recording(client, alice)
    content = os.urandom(100_000)
    assert (await put(client, alice, room, rec, "talk.mp4", content)).status_code == 200
    r = await client.get(base(alice, room, rec) + "/file/talk.mp4/sas-url", headers=alice.headers)
    assert r.status_code == 200, r.text
    data = r.json()["data"]
    assert data["sasUrl"].startswith("/blob/") and data["expiresAt"].endswith("Z")
    r = await client.get(data["sasUrl"])  # no login: the URL is the capability
    assert r.status_code == 200 and r.content == content
    assert r.headers["content-type"] == "application/octet-stream"
    assert r.headers["content-disposition"].startswith("attachment;")
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["x-content-sha256"] == hashlib.sha256(content).hexdigest()

    token = data["sasUrl"].removeprefix("/blob/")
    payload, mac = token.split(".")
    tampered = [f"{payload}.{mac[:-2]}AA", f"{payload[:-2]}xx.{mac}", payload, "x", f"{payload}."]
    for bad in tampered:
        assert_error(await client.get(f"/blob/{bad}"), 403)
    secret = (server.data_dir / SAS_SECRET_FILE).read_text().strip()
    signer = UrlSigner(secret)
    path = f"{alice.id}/{room}/{rec}/talk.mp4"
    assert_error(await client.get(f"/blob/{signer.sign(path, int(time.time()) - 1)}"), 403)  # expired
    assert_error(await client.get(f"/blob/{signer.sign(path, int(time.time()) + 60, 'w')}"), 403)  # no read
    assert_error(await client.get(f"/blob/{UrlSigner('k' * 40).sign(path, int(time.time()) + 60)}"), 403)
    r = await client.get(f"/blob/{signer.sign(path, int(time.time()) + 60)}")
    assert r.status_code == 200 and r.content == content
    with database(server) as db:
        actions = {e["action"] for e in db.audit.find({"target.id": rec})}
    assert {"blob.sas_generate", "blob.download_signed"} <= actions


async def test_other_users_get_403_or_404(client: httpx.AsyncClient, alice: User, bob: User) -> None:
    room, rec = await recording(client, alice)
    assert (await put(client, alice, room, rec, "mine.mp4", b"x" * 10)).status_code == 200
    before = await info(client, alice)
    b = base(alice, room, rec)
    for method, url in [
        ("GET", f"/recordings/user/{alice.id}/storage-info"), ("POST", b + "/upload-to-blob"),
        ("DELETE", b + "/mine.mp4"), ("GET", b + "/file/mine.mp4"), ("GET", b + "/file/mine.mp4/sas-url"),
        ("PUT", f"/recordings/user/{alice.id}/storage-limit"),
    ]:  # fmt: skip
        files = {"file": ("x.mp4", b"y", "video/mp4")} if method == "POST" else None
        body = {"storageLimit": 10**12} if method == "PUT" else None
        r = await client.request(method, url, headers=bob.headers, files=files, json=body)
        assert_error(r, 403)
    # Bob's own routes name a recording that is not his, or a wrong room: 404.
    bob_room, bob_rec = await recording(client, bob)
    assert_error(await put(client, bob, room, rec, "x.mp4", b"y"), 404)  # under his own id: not his recording
    assert_error(await put(client, bob, bob_room, rec, "x.mp4", b"y"), 404)
    assert_error(await put(client, alice, bob_room, rec, "x.mp4", b"y"), 404)
    assert_error(await put(client, bob, room, bob_rec, "x.mp4", b"y"), 404)
    assert_error(await client.get(base(bob, bob_room, bob_rec) + "/file/mine.mp4", headers=bob.headers), 404)
    assert_error(await client.get(f"/recordings/user/{alice.id}/storage-info"), 401)
    assert await info(client, alice) == before
