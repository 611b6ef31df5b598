"""Room files over the real server: upload, details, download, delete; names, limits and authorization."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import httpx
import pytest

from altegon_rt.testing.process import ServerProcess
from tests.conftest import HIGH_LIMITS, User, assert_error, database, make_user


async def make_room(client: httpx.AsyncClient, user: User) -> str:
    r = await client.post("/room/create", json={"name": "files", "type": "meeting"}, headers=user.headers)
    return r.json()["data"]["id"]


async def upload(client: httpx.AsyncClient, user: User, room: str, name: str, content: bytes) -> httpx.Response:
    files = {"file": (name, content, "application/octet-stream")}
    return await client.post(f"/room/{room}/upload", files=files, data={"note": "a form field"}, headers=user.headers)


def room_dir(server: ServerProcess, room: str) -> Path:
    return server.data_dir / "files" / "documents" / room


async def test_upload_details_download(client: httpx.AsyncClient, alice: User, server: ServerProcess) -> None:
    room = await make_room(client, alice)
    content = os.urandom(300_000)
    r = await upload(client, alice, room, "Report Q3.pdf", content)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["success"] is True and body["msg"] == "File uploaded successfully!"
    data = body["data"]
    assert data["originalName"] == "Report Q3.pdf" and data["filename"] == f"{room}_Report Q3.pdf"
    assert data["size"] == len(content) and data["roomId"] == room
    assert data["path"] == f"documents/{room}/{room}_Report Q3.pdf"
    r = await client.get(f"/room/{room}/files/{data['filename']}", headers=alice.headers)
    assert r.status_code == 200 and r.json()["msg"] == "File retrieved successfully!"
    assert r.json()["data"]["uploadDate"].endswith("Z") and r.json()["data"]["size"] == len(content)
    r = await client.get(f"/room/{room}/files/{data['filename']}/download", headers=alice.headers)
    assert r.status_code == 200 and r.content == content
    assert r.headers["content-type"] == "application/octet-stream"
    assert r.headers["content-disposition"].startswith("attachment;")
    assert r.headers["x-content-sha256"] == hashlib.sha256(content).hexdigest()
    # On disk: one file under a random name in the room's folder, nothing else (no .part left).
    [stored] = list(room_dir(server, room).iterdir())
    assert stored.read_bytes() == content and "Report" not in stored.name


async def test_hostile_names_stay_inside_the_room(
    client: httpx.AsyncClient, alice: User, server: ServerProcess
) -> None:
    room = await make_room(client, alice)
    for hostile, shown in [
        ("../../../../etc/passwd", "passwd"),
        ("..\\..\\windows\\win.ini", "win.ini"),
        ("..", "file"),
        (".hidden", "hidden"),
        ("x" * 500 + ".txt", "x" * 196 + ".txt"),
    ]:
        r = await upload(client, alice, room, hostile, b"data")
        assert r.status_code == 200, (hostile, r.text)
        assert r.json()["data"]["originalName"] == shown
    raw = (b'--zz\r\nContent-Disposition: form-data; name="file"; filename="a\x01b\x1fc\x7f.txt"\r\n\r\n'
           b"data\r\n--zz--\r\n")  # fmt: skip
    headers = {**alice.headers, "content-type": "multipart/form-data; boundary=zz"}
    r = await client.post(f"/room/{room}/upload", content=raw, headers=headers)
    assert r.status_code == 200 and r.json()["data"]["originalName"] == "abc.txt", r.text
    files = list(room_dir(server, room).iterdir())
    assert len(files) == 6 and all(f.parent == room_dir(server, room) for f in files)
    assert not (server.data_dir / "etc").exists()


async def test_same_name_twice_gets_a_suffix(client: httpx.AsyncClient, alice: User) -> None:
    room = await make_room(client, alice)
    names = [(await upload(client, alice, room, "notes.txt", b"v")).json()["data"]["filename"] for _ in range(3)]
    assert names == [f"{room}_notes.txt", f"{room}_notes (2).txt", f"{room}_notes (3).txt"]


async def test_bad_uploads(client: httpx.AsyncClient, alice: User, server: ServerProcess) -> None:
    room = await make_room(client, alice)
    assert_error(await upload(client, alice, room, "empty.txt", b""), 400, "empty_file")
    r = await client.post(f"/room/{room}/upload", json={"file": "x"}, headers=alice.headers)
    assert_error(r, 415, "unsupported_media_type")
    r = await client.post(f"/room/{room}/upload", data={"only": "fields"}, files={}, headers=alice.headers)
    assert r.status_code in (400, 415)
    r = await client.post(f"/room/{room}/upload", files={"only": (None, "a field")}, headers=alice.headers)
    assert_error(r, 400, "missing_file")
    two = [("a", ("a.txt", b"1", "text/plain")), ("b", ("b.txt", b"2", "text/plain"))]
    assert_error(await client.post(f"/room/{room}/upload", files=two, headers=alice.headers), 400, "too_many_files")
    garbage = {"content-type": "multipart/form-data; boundary=xyz"}
    r = await client.post(f"/room/{room}/upload", content=b"not multipart at all", headers={**alice.headers, **garbage})
    assert_error(r, 400)
    assert not room_dir(server, room).exists() or list(room_dir(server, room).iterdir()) == []
    with database(server) as db:
        assert db.files.count_documents({"roomId": room}) == 0


async def test_only_the_owner_reaches_a_rooms_files(client: httpx.AsyncClient, alice: User, bob: User) -> None:
    room = await make_room(client, alice)
    name = (await upload(client, alice, room, "secret.txt", b"s")).json()["data"]["filename"]
    assert_error(await upload(client, bob, room, "x.txt", b"x"), 403)
    assert_error(await client.get(f"/room/{room}/files/{name}", headers=bob.headers), 403)
    assert_error(await client.get(f"/room/{room}/files/{name}/download", headers=bob.headers), 403)
    assert_error(await client.delete(f"/room/{room}/files", headers=bob.headers), 403)
    assert_error(await client.get(f"/room/{room}/files/{name}"), 401)
    assert (await client.get(f"/room/{room}/files/{name}/download", headers=alice.headers)).content == b"s"
    missing = "0123456789abcdef01234567"
    assert_error(await upload(client, alice, missing, "x.txt", b"x"), 404)
    assert_error(await client.get(f"/room/{room}/files/{room}_nope.txt", headers=alice.headers), 404)


async def test_delete_all(client: httpx.AsyncClient, alice: User, server: ServerProcess) -> None:
    room = await make_room(client, alice)
    name = (await upload(client, alice, room, "a.txt", b"a")).json()["data"]["filename"]
    await upload(client, alice, room, "b.txt", b"b")
    r = await client.delete(f"/room/{room}/files", headers=alice.headers)
    assert r.status_code == 200 and r.json() == {
        "success": True,
        "msg": f"All files for room {room} deleted successfully",
    }
    assert_error(await client.get(f"/room/{room}/files/{name}", headers=alice.headers), 404)
    assert not room_dir(server, room).exists()


@pytest.fixture(scope="module")
def small_limit_server(tmp_path_factory: pytest.TempPathFactory) -> ServerProcess:
    env = {**HIGH_LIMITS, "ALTEGON_FILES_MAX_UPLOAD_BYTES": "100000"}
    server = ServerProcess(tmp_path_factory.mktemp("small-uploads"), env=env)
    yield server  # type: ignore[misc]
    assert server.terminate() == 0


async def test_too_large_is_413_and_nothing_is_kept(small_limit_server: ServerProcess) -> None:
    server = small_limit_server
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as c:
        user = await make_user(c)
        room = await make_room(c, user)
        assert (await upload(c, user, room, "fits.bin", b"x" * 90_000)).status_code == 200
        assert_error(await upload(c, user, room, "big.bin", b"x" * 200_000), 413, "payload_too_large")
        boundary = "b0undary"
        body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"c.bin\"\r\n\r\n".encode()
                + b"y" * 300_000 + f"\r\n--{boundary}--\r\n".encode())  # fmt: skip

        async def chunked() -> object:
            for i in range(0, len(body), 32_768):
                yield body[i : i + 32_768]

        headers = {**user.headers, "content-type": f"multipart/form-data; boundary={boundary}"}
        r = await c.post(f"/room/{room}/upload", content=chunked(), headers=headers)
        assert_error(r, 413, "payload_too_large")
        assert (await c.get("/healthz")).status_code == 200
    assert [p.stat().st_size for p in room_dir(server, room).iterdir()] == [90_000]


async def test_members_read_and_add_files_but_only_the_owner_deletes(
    client: httpx.AsyncClient, alice: User, bob: User, server: ServerProcess
) -> None:
    room = await make_room(client, alice)
    name = (await upload(client, alice, room, "agenda.txt", b"agenda")).json()["data"]["filename"]
    assert_error(await client.get(f"/room/{room}/files/{name}", headers=bob.headers), 403)
    # What the realtime layer records when a signed-in user joins the room.
    with database(server) as db:
        from bson import ObjectId

        db.rooms.update_one({"_id": ObjectId(room)}, {"$addToSet": {"members": bob.id}})
    assert (await client.get(f"/room/{room}/files/{name}/download", headers=bob.headers)).content == b"agenda"
    assert (await upload(client, bob, room, "notes.txt", b"n")).status_code == 200
    assert_error(await client.delete(f"/room/{room}/files", headers=bob.headers), 403)
    assert (await client.delete(f"/room/{room}/files", headers=alice.headers)).status_code == 200
