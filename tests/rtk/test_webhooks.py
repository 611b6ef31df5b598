"""RealtimeKit webhooks: CRUD, and real signed deliveries with retries to a receiver started here (a participant
joining and leaving its meeting's room); participant tokens on the SFU socket (accepted, or refused for an
INACTIVE meeting or a deleted participant)."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler
from typing import Any

import httpx
import socketio
import trio

from altegon_rt.rtk.webhooks import verify_signature
from altegon_rt.testing.process import ServerProcess
from tests.api.loopback_http import start_http, stop_http
from tests.conftest import assert_error, database, make_user
from tests.rtk.conftest import Account, make_preset

SFU = "/sfu/socket.io/"


class Receiver:
    """A loopback HTTP server that records every POST and answers 500 to the first ``failures`` of them."""

    def __init__(self, failures: int) -> None:
        self.requests: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver.lock:
                    receiver.requests.append({"headers": dict(self.headers), "body": body, "at": time.time()})
                    status = 500 if len(receiver.requests) <= failures else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server, self.url = start_http(Handler)

    async def wait_for(self, count: int, timeout_s: float = 10) -> list[dict[str, Any]]:
        with trio.fail_after(timeout_s):
            while len(self.requests) < count:
                await trio.sleep(0.02)
        return list(self.requests)


def connect(url: str, token: str, path: str = SFU) -> tuple[socketio.Client | None, Any]:
    client = socketio.Client(reconnection=False)
    errors: list[Any] = []
    client.on("connect_error", lambda data: errors.append(data))
    try:
        client.connect(url, socketio_path=path, auth={"token": token}, transports=["websocket"], wait_timeout=5)
    except socketio.exceptions.ConnectionError:
        return None, errors[0] if errors else None
    return client, None


def join(sock: socketio.Client, meeting_id: str) -> dict[str, Any]:
    """Join the meeting's SFU room; the ack."""
    ack = sock.call("join", {"room_id": f"rtk-{meeting_id}"}, timeout=10)
    assert isinstance(ack, dict) and "room" in ack, ack
    return ack  # type: ignore[no-any-return]


async def test_webhook_crud(client: httpx.AsyncClient, account: Account) -> None:
    url = account.app("/webhooks")
    body = {"name": "hook", "url": "https://example.com/hook", "events": ["meeting.started", "meeting.ended"]}
    r = await client.post(url, json=body, headers=account.headers)
    assert r.status_code == 201, r.text
    hook = r.json()["data"]
    assert hook["enabled"] is True and hook["events"] == body["events"] and hook["secret"].startswith("whsec_")
    one = account.app(f"/webhooks/{hook['id']}")
    got = (await client.get(one, headers=account.headers)).json()["data"]
    assert "secret" not in got and got == {k: v for k, v in hook.items() if k != "secret"}
    assert [h["id"] for h in (await client.get(url, headers=account.headers)).json()["data"]] == [hook["id"]]
    r = await client.patch(one, json={"enabled": False}, headers=account.headers)
    assert r.json()["data"]["enabled"] is False and r.json()["data"]["name"] == "hook"
    r = await client.put(
        one, json={"name": "h2", "url": "http://example.org/x", "events": ["meeting.summary"]}, headers=account.headers
    )
    assert (
        r.status_code == 200
        and r.json()["data"]["enabled"] is True
        and r.json()["data"]["events"] == ["meeting.summary"]
    )
    for bad, field in (
        ({**body, "events": ["meeting.created"]}, "events[0]"),
        ({**body, "events": []}, "events"),
        ({**body, "url": "file:///etc/passwd"}, "url"),
        ({"name": "x", "events": ["meeting.ended"]}, "url"),
    ):
        error = assert_error(await client.post(url, json=bad, headers=account.headers), 400)
        assert f"'{field}'" in error["error"]["message"], error  # type: ignore[index]
    assert_error(await client.put(one, json={"name": "x"}, headers=account.headers), 400, "missing_field")
    assert (await client.delete(one, headers=account.headers)).json()["data"]["name"] == "h2"
    assert_error(await client.get(one, headers=account.headers), 404, "webhook_not_found")


async def test_signed_retried_deliveries_and_participant_tokens(
    client: httpx.AsyncClient, account: Account, rtk_server: ServerProcess
) -> None:
    receiver = Receiver(failures=2)
    try:
        events = ["meeting.participantJoined", "meeting.participantLeft"]
        r = await client.post(
            account.app("/webhooks"),
            json={"name": "r", "url": receiver.url + "/hook", "events": events},
            headers=account.headers,
        )
        hook = r.json()["data"]
        preset = await make_preset(client, account, "speaker")
        meeting = (await client.post(account.app("/meetings"), json={"title": "w"}, headers=account.headers)).json()[
            "data"
        ]
        participants = account.app(f"/meetings/{meeting['id']}/participants")
        r = await client.post(
            participants,
            json={"name": "Ada", "preset_name": "speaker", "custom_participant_id": "a"},
            headers=account.headers,
        )
        participant = r.json()["data"]

        sock, error = await trio.to_thread.run_sync(connect, rtk_server.url, participant["token"])
        assert sock is not None, error
        await trio.to_thread.run_sync(join, sock, meeting["id"])
        # Answered 500 twice, then 200: three attempts of one delivery, each signed.
        joined = await receiver.wait_for(3)
        first = joined[0]
        assert {r["headers"]["X-Altegon-Delivery-Id"] for r in joined} == {first["headers"]["X-Altegon-Delivery-Id"]}
        assert [r["headers"]["X-Altegon-Attempt"] for r in joined] == ["1", "2", "3"]
        assert joined[2]["at"] - joined[1]["at"] >= joined[1]["at"] - joined[0]["at"] > 0.05  # backing off
        for request in joined:
            assert verify_signature(
                hook["secret"], request["headers"]["X-Altegon-Signature"], request["body"], time.time()
            )
            assert not verify_signature(
                "whsec_other", request["headers"]["X-Altegon-Signature"], request["body"], time.time()
            )
            assert not verify_signature(
                hook["secret"], request["headers"]["X-Altegon-Signature"], request["body"] + b" ", time.time()
            )
        payload = json.loads(first["body"])
        assert payload["event"] == "meeting.participantJoined" and payload["app_id"] == account.app_id
        assert payload["meeting"]["id"] == meeting["id"] and payload["meeting"]["status"] == "LIVE"
        assert payload["participant"]["id"] == participant["id"] and payload["participant"]["preset_name"] == "speaker"
        assert (
            payload["participant"]["custom_participant_id"] == "a" and payload["participant"]["display_name"] == "Ada"
        )
        assert first["headers"]["X-Altegon-Event"] == "meeting.participantJoined"

        await trio.to_thread.run_sync(sock.disconnect)
        left = (await receiver.wait_for(4))[3]
        assert (
            json.loads(left["body"])["event"] == "meeting.participantLeft"
            and left["headers"]["X-Altegon-Attempt"] == "1"
        )

        # The delivery log: one entry per delivery with every attempt.
        with trio.fail_after(5):
            while True:
                with database(rtk_server) as db:
                    logged = list(db.rtk_webhook_deliveries.find({"webhook_id": hook["id"]}).sort("created_at", 1))
                if len(logged) == 2:
                    break
                await trio.sleep(0.05)
        assert [a["status_code"] for a in logged[0]["attempts"]] == [500, 500, 200] and logged[0]["delivered"] is True
        assert logged[1]["event"] == "meeting.participantLeft" and len(logged[1]["attempts"]) == 1

        # A disabled webhook gets nothing.
        await client.patch(account.app(f"/webhooks/{hook['id']}"), json={"enabled": False}, headers=account.headers)
        sock, error = await trio.to_thread.run_sync(connect, rtk_server.url, participant["token"])
        assert sock is not None, error
        await trio.to_thread.run_sync(join, sock, meeting["id"])
        await trio.to_thread.run_sync(sock.disconnect)
        await trio.sleep(0.5)
        assert len(receiver.requests) == 4
    finally:
        stop_http(receiver.server)
    assert preset["name"] == "speaker"


async def test_participant_tokens_on_the_sockets(
    client: httpx.AsyncClient, account: Account, rtk_server: ServerProcess
) -> None:
    await make_preset(client, account, "p")
    meeting = (await client.post(account.app("/meetings"), json={}, headers=account.headers)).json()["data"]
    participants = account.app(f"/meetings/{meeting['id']}/participants")
    r = await client.post(
        participants, json={"preset_name": "p", "custom_participant_id": "x"}, headers=account.headers
    )
    participant = r.json()["data"]
    token = participant["token"]
    # Only the SFU socket takes participant tokens.
    sock, error = await trio.to_thread.run_sync(connect, rtk_server.url, token, "/socket.io/")
    assert sock is None and error["data"]["code"] == "invalid_token"
    # Our user JWTs still work on the SFU socket.
    user = await make_user(client)
    sock, error = await trio.to_thread.run_sync(connect, rtk_server.url, user.token)
    assert sock is not None, error
    await trio.to_thread.run_sync(sock.disconnect)
    # An INACTIVE meeting refuses joins; ACTIVE again, it admits them.
    meeting_url = account.app(f"/meetings/{meeting['id']}")
    await client.patch(meeting_url, json={"status": "INACTIVE"}, headers=account.headers)
    sock, error = await trio.to_thread.run_sync(connect, rtk_server.url, token)
    assert sock is None and error["data"]["code"] == "meeting_inactive"
    await client.patch(meeting_url, json={"status": "ACTIVE"}, headers=account.headers)
    sock, error = await trio.to_thread.run_sync(connect, rtk_server.url, token)
    assert sock is not None, error
    await trio.to_thread.run_sync(sock.disconnect)
    # A forged token, and the token of a deleted participant, are refused.
    sock, error = await trio.to_thread.run_sync(connect, rtk_server.url, token[:-4] + "AAAA")
    assert sock is None and error["data"]["code"] == "invalid_token"
    await client.delete(f"{participants}/{participant['id']}", headers=account.headers)
    sock, error = await trio.to_thread.run_sync(connect, rtk_server.url, token)
    assert sock is None and error["data"]["code"] == "invalid_token"
