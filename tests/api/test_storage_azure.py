"""Recording storage on Azure Blob Storage: the real server against a fake Azure account on loopback.

The fake (``fake_azure.py``) checks every Shared Key and SAS signature with its own canonicalization, so these
tests fail if the server signs anything the way Azure would not accept.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import os
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from altegon_rt.files.azure_auth import blob_read_sas
from altegon_rt.testing.process import ServerProcess
from tests.api.fake_azure import ACCOUNT, CONTAINER, KEY, FakeAzure, check_sas
from tests.api.fake_azure import Refused as FakeRefused
from tests.api.test_admin import _admin_server
from tests.api.test_storage import base, blob_files, info, put, recording
from tests.conftest import HIGH_LIMITS, User, assert_error, database, make_user

MIB = 1024 * 1024
TIMEOUT_S = 2.0


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeAzure]:
    fake = FakeAzure(hang_s=TIMEOUT_S + 2).start()
    yield fake
    fake.stop()


def azure_env(fake: FakeAzure, key: str = KEY) -> dict[str, str]:
    return {
        **HIGH_LIMITS,
        "ALTEGON_STORAGE_QUOTA_AZURE_ACCOUNT": ACCOUNT,
        "ALTEGON_STORAGE_QUOTA_AZURE_KEY": key,
        "ALTEGON_STORAGE_QUOTA_AZURE_ENDPOINT": fake.endpoint,
        "ALTEGON_STORAGE_QUOTA_AZURE_TIMEOUT_S": str(TIMEOUT_S),
    }


def check_log(server: ServerProcess) -> None:
    assert server.terminate() == 0, server.log_text()
    log = server.log_text()
    assert "Traceback" not in log and KEY not in log, log


@pytest.fixture(scope="module")
def azure_server(
    tmp_path_factory: pytest.TempPathFactory, fake: FakeAzure
) -> Iterator[tuple[ServerProcess, dict[str, str]]]:
    server, token = _admin_server(tmp_path_factory.mktemp("azure") / "data", env=azure_env(fake))
    yield server, {"Authorization": f"Bearer {token}"}
    check_log(server)


@pytest.fixture
async def az(azure_server: tuple[ServerProcess, dict[str, str]], fake: FakeAzure) -> AsyncIterator[httpx.AsyncClient]:
    fake.failures.clear()
    async with httpx.AsyncClient(base_url=azure_server[0].url, timeout=30) as c:
        yield c
    fake.failures.clear()


def prefix(user: User, room: str, rec: str) -> str:
    return f"{user.id}/{room}/{rec}/"


def rows(server: ServerProcess, user: User) -> list[dict[str, Any]]:
    with database(server) as db:
        return list(db.blobs.find({"userId": user.id}))


async def test_upload_download_sas_and_delete(
    az: httpx.AsyncClient, azure_server: tuple[ServerProcess, dict[str, str]], fake: FakeAzure
) -> None:
    server = azure_server[0]
    alice = await make_user(az)
    room, rec = await recording(az, alice)
    content = os.urandom(9 * MIB + 123)  # three blocks: 4 MiB, 4 MiB and the rest
    r = await put(az, alice, room, rec, "talk 1.mp4", content)
    assert r.status_code == 200, r.text
    data = r.json()["data"]
    assert data["fileSize"] == len(content) and data["blobUrl"] == base(alice, room, rec) + "/file/talk%201.mp4"
    [(name, stored)] = fake.blobs_under(prefix(alice, room, rec)).items()
    assert stored == content and fake.content_types[name] == "application/octet-stream"
    blocks = [r for r in fake.ops("block") if r[1].endswith(name)]
    assert [status for *_, status in blocks] == [201, 201, 201]
    assert blob_files(server, alice) == []  # nothing under the data dir
    [row] = rows(server, alice)
    assert row["backend"] == "azure" and name.endswith(row["diskName"])
    assert row["sha256"] == hashlib.sha256(content).hexdigest()
    listed = await info(az, alice)
    assert listed["totalUsage"] == len(content) and [x["fileName"] for x in listed["recordings"]] == ["talk 1.mp4"]

    # Our authenticated route streams the blob from Azure.
    r = await az.get(data["blobUrl"], headers=alice.headers)
    assert r.status_code == 200 and r.content == content
    assert r.headers["x-content-sha256"] == row["sha256"]

    # The SAS URL is Azure's own, read-only, expiring per sas_ttl_s (default an hour), and needs no login.
    r = await az.get(base(alice, room, rec) + "/file/talk 1.mp4/sas-url", headers=alice.headers)
    assert r.status_code == 200, r.text
    sas_url, expires_at = r.json()["data"]["sasUrl"], r.json()["data"]["expiresAt"]
    assert sas_url.startswith(f"{fake.endpoint}/{CONTAINER}/{name}?")
    query = {k: v[0] for k, v in parse_qs(urlsplit(sas_url).query).items()}
    assert {k: query[k] for k in ("sv", "sr", "sp", "spr", "rsct")} == {
        "sv": "2021-08-06", "sr": "b", "sp": "r", "spr": "https,http", "rsct": "application/octet-stream"}  # fmt: skip
    expiry = dt.datetime.strptime(query["se"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC).timestamp()
    assert query["se"] == expires_at[:19] + "Z" and abs(expiry - time.time() - 3600) < 60
    async with httpx.AsyncClient(timeout=30) as anonymous:
        r = await anonymous.get(sas_url)
        assert r.status_code == 200 and r.content == content
        assert r.headers["content-disposition"] == "attachment; filename=\"talk 1.mp4\"; filename*=UTF-8''talk%201.mp4"
        for forged in (sas_url.replace("sp=r", "sp=rw"), sas_url.replace("sig=", "sig=A"), sas_url.split("?")[0]):
            assert (await anonymous.get(forged)).status_code == 403

        r = await az.delete(base(alice, room, rec) + "/talk 1.mp4", headers=alice.headers)
        assert r.status_code == 200 and r.json()["data"] == {"totalUsage": 0, "availableStorage": 5 * 1024**3,
                                                             "recordingsCount": 0}  # fmt: skip
        assert fake.blobs_under(prefix(alice, room, rec)) == {} and rows(server, alice) == []
        r = await anonymous.get(sas_url)
        assert r.status_code == 404 and r.headers["x-ms-error-code"] == "BlobNotFound"
    assert_error(await az.get(data["blobUrl"], headers=alice.headers), 404)
    with database(server) as db:
        actions = {e["action"] for e in db.audit.find({"actor": alice.id})}
    assert {"blob.upload", "blob.download", "blob.sas_generate", "blob.delete"} <= actions


async def test_quota_refusal_and_name_clash_leave_nothing_in_azure(
    az: httpx.AsyncClient, azure_server: tuple[ServerProcess, dict[str, str]], fake: FakeAzure
) -> None:
    server, admin = azure_server
    bob = await make_user(az)
    room, rec = await recording(az, bob)
    limit = 5 * MIB
    r = await az.put(f"/recordings/user/{bob.id}/storage-limit", json={"storageLimit": limit}, headers=admin)
    assert r.status_code == 200
    # The declared length fits within the framing slack, so the upload streams: one 4 MiB block goes to
    # Azure before the running size passes the limit; nothing is committed.
    staged_before = len(fake.ops("block"))
    assert_error(await put(az, bob, room, rec, "big.mp4", b"x" * (limit + 100)), 507, "storage_limit_exceeded")
    assert len(fake.ops("block")) == staged_before + 1
    assert fake.blobs_under(prefix(bob, room, rec)) == {} and rows(server, bob) == []
    assert_error(await put(az, bob, room, rec, "huge.mp4", b"x" * (2 * limit)), 507)  # by the declared length
    assert len(fake.ops("block")) == staged_before + 1

    assert (await put(az, bob, room, rec, "fits.mp4", b"y" * limit)).status_code == 200
    assert (await info(az, bob))["totalUsage"] == limit
    # A second file of the same name is refused before any byte reaches Azure.
    r = await az.put(f"/recordings/user/{bob.id}/storage-limit", json={"storageLimit": 4 * limit}, headers=admin)
    assert r.status_code == 200
    blocks = len(fake.ops("block"))
    assert_error(await put(az, bob, room, rec, "fits.mp4", b"z" * 1000), 409, "name_taken")
    assert_error(await put(az, bob, room, rec, "empty.mp4", b""), 400, "empty_file")
    assert len(fake.ops("block")) == blocks and len(fake.blobs_under(prefix(bob, room, rec))) == 1


@pytest.mark.parametrize(
    ("op", "mode", "status", "code"),
    [("block", "500", 502, "upstream_error"), ("blocklist", "500", 502, "upstream_error"),
     ("block", "hang", 504, "upstream_timeout"), ("blocklist", "slow", 504, "upstream_timeout")],
)  # fmt: skip
async def test_upload_failures_are_502_or_504_and_keep_nothing(
    az: httpx.AsyncClient,
    azure_server: tuple[ServerProcess, dict[str, str]],
    fake: FakeAzure,
    op: str,
    mode: str,
    status: int,
    code: str,
) -> None:
    server = azure_server[0]
    carol = await make_user(az)
    room, rec = await recording(az, carol)
    fake.failures[op] = mode
    body = assert_error(await put(az, carol, room, rec, "a.mp4", os.urandom(5 * MIB)), status, code)
    assert "Azure Blob Storage" in str(body["error"]["message"])
    fake.failures.clear()
    # Even after "slow" (the commit happened at Azure, the answer came too late) no blob is left: the server
    # deleted it before answering 504.
    assert fake.blobs_under(prefix(carol, room, rec)) == {} and rows(server, carol) == []
    assert (await info(az, carol))["recordingsCount"] == 0
    assert (await put(az, carol, room, rec, "a.mp4", b"ok")).status_code == 200  # Azure is back: it works


async def test_download_and_delete_failures(
    az: httpx.AsyncClient, azure_server: tuple[ServerProcess, dict[str, str]], fake: FakeAzure
) -> None:
    server = azure_server[0]
    dave = await make_user(az)
    room, rec = await recording(az, dave)
    assert (await put(az, dave, room, rec, "a.mp4", b"abc")).status_code == 200
    file_url = base(dave, room, rec) + "/file/a.mp4"
    fake.failures["get"] = "500"
    assert_error(await az.get(file_url, headers=dave.headers), 502, "upstream_error")
    fake.failures["get"] = "hang"
    assert_error(await az.get(file_url, headers=dave.headers), 504, "upstream_timeout")
    fake.failures.clear()
    assert (await az.get(file_url, headers=dave.headers)).content == b"abc"
    # Azure breaking off after the answer started: the download ends short, which the client can tell from the
    # Content-Length; the server goes on serving.
    fake.failures["get"] = "truncate"
    with pytest.raises(httpx.RemoteProtocolError):
        await az.get(file_url, headers=dave.headers)
    fake.failures.clear()
    assert (await az.get(file_url, headers=dave.headers)).content == b"abc"
    # A deletion Azure refuses keeps the row (and the file), so that a retry can finish it.
    fake.failures["delete"] = "500"
    assert_error(await az.delete(base(dave, room, rec) + "/a.mp4", headers=dave.headers), 502, "upstream_error")
    assert len(rows(server, dave)) == 1 and len(fake.blobs_under(prefix(dave, room, rec))) == 1
    fake.failures.clear()
    assert (await az.delete(base(dave, room, rec) + "/a.mp4", headers=dave.headers)).status_code == 200
    assert rows(server, dave) == [] and fake.blobs_under(prefix(dave, room, rec)) == {}


async def test_wrong_key_is_a_clear_502(tmp_path: Path, fake: FakeAzure) -> None:
    wrong = base64.b64encode(b"not the account key" * 3).decode()
    server = ServerProcess(tmp_path / "data", env=azure_env(fake, key=wrong))
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as c:
            erin = await make_user(c)
            room, rec = await recording(c, erin)
            body = assert_error(await put(c, erin, room, rec, "a.mp4", b"abc"), 502, "upstream_error")
            message = str(body["error"]["message"])
            assert "AuthenticationFailed" in message and "storage_quota.azure_key" in message
            assert wrong not in message and fake.blobs_under(prefix(erin, room, rec)) == {}
            assert rows(server, erin) == []
    finally:
        check_log(server)
    assert wrong not in server.log_text()


async def test_blobs_stay_where_they_were_written(tmp_path: Path, fake: FakeAzure) -> None:
    data_dir = tmp_path / "data"
    server = ServerProcess(data_dir, env=HIGH_LIMITS)  # embedded: the file goes under the data dir
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as c:
            frank = await make_user(c)
            room, rec = await recording(c, frank)
            assert (await put(c, frank, room, rec, "old.mp4", b"on disk")).status_code == 200
    finally:
        check_log(server)
    server = ServerProcess(data_dir, env=azure_env(fake))  # Azure on: new files go there, old ones stay readable
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as c:
            assert (await c.get(base(frank, room, rec) + "/file/old.mp4", headers=frank.headers)).content == b"on disk"
            r = await c.get(base(frank, room, rec) + "/file/old.mp4/sas-url", headers=frank.headers)
            assert r.json()["data"]["sasUrl"].startswith("/blob/")
            assert (await c.get(r.json()["data"]["sasUrl"])).content == b"on disk"
            assert (await put(c, frank, room, rec, "new.mp4", b"in azure")).status_code == 200
            assert list(fake.blobs_under(prefix(frank, room, rec)).values()) == [b"in azure"]
            assert {row["fileName"]: row.get("backend") for row in rows(server, frank)} == {
                "old.mp4": "disk", "new.mp4": "azure"}  # fmt: skip
    finally:
        check_log(server)
    server = ServerProcess(data_dir, env=HIGH_LIMITS)  # Azure off again: its files say so instead of failing
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as c:
            r = await c.get(base(frank, room, rec) + "/file/new.mp4", headers=frank.headers)
            assert_error(r, 503, "blob_backend_not_configured")
            assert (await c.get(base(frank, room, rec) + "/file/old.mp4", headers=frank.headers)).status_code == 200
    finally:
        check_log(server)


def test_the_fake_accepts_our_sas_and_refuses_altered_or_expired_ones() -> None:
    key = base64.b64decode(KEY)
    now = int(time.time())

    def sas(**changes: Any) -> dict[str, str]:
        args: dict[str, Any] = {"account": ACCOUNT, "key": key, "container": CONTAINER, "blob": "u/r/x/b",
                                "start": now - 60, "expiry": now + 60, "protocol": "https,http", **changes}  # fmt: skip
        return {k: v[0] for k, v in parse_qs(blob_read_sas(**args)).items()}

    check_sas(sas(), CONTAINER, "u/r/x/b", https=False, now=now)
    refused: list[tuple[dict[str, str], str, bool]] = [
        (sas(), "u/r/x/other", False),  # another blob
        (sas(expiry=now - 1), "u/r/x/b", False),  # expired
        (sas(start=now + 120), "u/r/x/b", False),  # not yet valid
        (sas(protocol="https"), "u/r/x/b", False),  # https only, asked over http
        (sas(key=b"another key"), "u/r/x/b", True),  # signed with another key
        ({**sas(), "sp": "rw"}, "u/r/x/b", True),  # permissions changed after signing
    ]
    for query, blob, https in refused:
        with pytest.raises(FakeRefused):
            check_sas(query, CONTAINER, blob, https=https, now=now)
