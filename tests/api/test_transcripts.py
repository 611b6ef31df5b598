"""Transcripts over the real server: encrypted at rest, client-encrypted lines kept, only the host reads."""

from __future__ import annotations

import base64
import hashlib
import os

import httpx
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from altegon_rt.testing.process import ServerProcess
from tests.api.test_meetings import create_meeting
from tests.conftest import User, assert_error, database


def cryptojs_passphrase_encrypt(text: str, secret: str) -> str:
    """What ``CryptoJS.AES.encrypt(text, secret).toString()`` produces, written with ``cryptography``."""
    salt = os.urandom(8)
    material, block = b"", b""
    while len(material) < 48:  # EVP_BytesToKey, MD5, one round: 32 bytes of key, 16 of IV
        block = hashlib.md5(block + secret.encode() + salt, usedforsecurity=False).digest()
        material += block
    padder = padding.PKCS7(128).padder()
    padded = padder.update(text.encode()) + padder.finalize()
    encryptor = Cipher(algorithms.AES(material[:32]), modes.CBC(material[32:48])).encryptor()
    return base64.b64encode(b"Salted__" + salt + encryptor.update(padded) + encryptor.finalize()).decode()


def server_secret(server: ServerProcess) -> str:
    return (server.data_dir / "encryption-secret").read_text().strip()


async def send(client: httpx.AsyncClient, user: User, meeting_id: str, message: str) -> httpx.Response:
    body = {"meetingId": meeting_id, "userName": "Ada", "message": message}
    return await client.post("/send-transcript", json=body, headers=user.headers)


async def test_lines_are_encrypted_at_rest_and_read_back(
    client: httpx.AsyncClient, alice: User, server: ServerProcess
) -> None:
    meeting_id = await create_meeting(client, alice)
    lines = ["Hello.", "Ünïcödé and emoji 🎙", "x" * 5000]
    for line in lines:
        r = await send(client, alice, meeting_id, line)
        assert r.status_code == 201, r.text
        assert r.json()["data"]["meetingId"] == meeting_id
    with database(server) as db:
        stored = list(db.transcripts.find({"meetingId": meeting_id}))
    assert len(stored) == 3 and all(doc["isEncrypted"] is True for doc in stored)
    for doc in stored:
        assert doc["message"] not in lines and "Hello" not in doc["message"]
        raw = base64.b64decode(doc["message"])
        assert (len(raw) - 80) % 16 == 0  # salt 64 + iv 16 + whole AES blocks
    r = await client.get(f"/view-transcript/{meeting_id}", headers=alice.headers)
    assert r.status_code == 200
    data = r.json()["data"]
    assert [d["message"] for d in data] == lines
    assert all(d["userName"] == "Ada" and d["meetingId"] == meeting_id and d["createdAt"].endswith("Z") for d in data)


async def test_client_encrypted_lines_are_stored_as_sent(
    client: httpx.AsyncClient, alice: User, server: ServerProcess
) -> None:
    meeting_id = await create_meeting(client, alice)
    secret = server_secret(server)
    sealed = cryptojs_passphrase_encrypt("encrypted in the browser", secret)
    assert (await send(client, alice, meeting_id, sealed)).status_code == 201
    with database(server) as db:
        doc = db.transcripts.find_one({"meetingId": meeting_id})
    assert doc["message"] == sealed and doc["clientEncrypted"] is True
    r = await client.get(f"/view-transcript/{meeting_id}", headers=alice.headers)
    assert [d["message"] for d in r.json()["data"]] == ["encrypted in the browser"]
    # A CryptoJS ciphertext under another secret is just text to us: encrypted again, returned verbatim.
    foreign = cryptojs_passphrase_encrypt("other secret", "not the server's secret at all, no")
    assert (await send(client, alice, meeting_id, foreign)).status_code == 201
    r = await client.get(f"/view-transcript/{meeting_id}", headers=alice.headers)
    assert [d["message"] for d in r.json()["data"]] == ["encrypted in the browser", foreign]


async def test_only_the_host_reads_and_others_write_only_when_enabled(
    client: httpx.AsyncClient, alice: User, bob: User
) -> None:
    closed = await create_meeting(client, alice)  # transcriptEnabled: false
    assert (await send(client, alice, closed, "host may")).status_code == 201
    assert_error(await send(client, bob, closed, "guest may not"), 403, "forbidden")
    body = {"title": "open", "hostId": alice.id, "transcriptEnabled": True}
    open_id = (await client.post("/meetings/create", json=body, headers=alice.headers)).json()["meetingId"]
    assert (await send(client, bob, open_id, "guest line")).status_code == 201
    assert_error(await client.get(f"/view-transcript/{open_id}", headers=bob.headers), 403)
    r = await client.get(f"/view-transcript/{open_id}", headers=alice.headers)
    assert [d["message"] for d in r.json()["data"]] == ["guest line"]


async def test_transcript_errors(client: httpx.AsyncClient, alice: User) -> None:
    missing = "0123456789abcdef01234567"
    assert_error(await send(client, alice, missing, "x"), 404)
    assert_error(await client.get(f"/view-transcript/{missing}", headers=alice.headers), 404)
    assert_error(await client.get("/view-transcript/nope", headers=alice.headers), 400)
    meeting_id = await create_meeting(client, alice)
    assert_error(await send(client, alice, meeting_id, ""), 400, "invalid_field")
    assert_error(await send(client, alice, meeting_id, "y" * 20_001), 400, "invalid_field")
    r = await client.post("/send-transcript", json={"meetingId": meeting_id, "message": "x"}, headers=alice.headers)
    assert "'userName'" in assert_error(r, 400, "missing_field")["error"]["message"]
