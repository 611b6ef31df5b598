"""The Meet APIs socket on the real server: host decided by the server, viewerList, chat order, transcripts
over REST, sessions for the reports, and v1 room joins making members. Clients: python-socketio (threads)."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import httpx
import socketio
import trio

from altegon_rt.testing.process import ServerProcess
from tests.conftest import User, database, make_user

T = TypeVar("T")

WAIT = 10


class Peer:
    """One python-socketio client (on /socket.io/ unless ``path`` says otherwise) that records every event it
    receives, in order."""

    def __init__(self, url: str, token: str | None, path: str = "/socket.io/") -> None:
        self.client = socketio.Client(reconnection=False)
        self.events: queue.Queue[tuple[str, Any]] = queue.Queue()
        self.client.on("*", lambda event, *args: self.events.put((event, args[0] if len(args) == 1 else args)))
        self.client.connect(url, socketio_path=path, auth={"token": token} if token else None,
                            transports=["websocket"], wait_timeout=5)  # fmt: skip
        self.sid = self.client.get_sid()

    def call(self, event: str, payload: Any = None) -> Any:
        return self.client.call(event, payload, timeout=WAIT)

    def next(self, name: str) -> Any:
        while True:
            event, data = self.events.get(timeout=WAIT)
            if event == name:
                return data

    def none_of(self, name: str, wait_s: float = 0.5) -> bool:
        """True when no ``name`` event arrives within ``wait_s`` of quiet."""
        try:
            while True:
                if self.events.get(timeout=wait_s)[0] == name:
                    return False
        except queue.Empty:
            return True

    def close(self) -> None:
        self.client.disconnect()


@contextmanager
def connected(make: Callable[[str, str | None], T], url: str, *tokens: str | None) -> Iterator[list[T]]:
    """One client per token, made by ``make(url, token)``; all closed at the end, also after a failure."""
    made: list[T] = []
    try:
        for token in tokens:
            made.append(make(url, token))
        yield made
    finally:
        for client in made:
            client.close()  # type: ignore[attr-defined]


@contextmanager
def peers(url: str, *tokens: str | None) -> Iterator[list[Peer]]:
    with connected(Peer, url, *tokens) as made:
        yield made


async def create_meeting(client: httpx.AsyncClient, host: User, transcripts: bool = True) -> str:
    body = {"title": "Standup", "hostId": host.id, "transcriptEnabled": transcripts}
    r = await client.post("/meetings/create", json=body, headers=host.headers)
    assert r.status_code == 201, r.text
    return r.json()["meetingId"]


def _host_and_viewers(url: str, meeting: str, host: User, viewer: User) -> dict[str, Any]:
    with peers(url, host.token, viewer.token, None) as (h, v, anon):
        joined_h = h.call("room.join.new", {"meetingID": meeting, "deviceID": "host-dev", "isHost": True})
        joined_v = v.call("room.join.new", {"meetingID": meeting, "deviceID": "viewer-dev", "isHost": True})
        joined_a = anon.call("room.join.new", {"meetingID": meeting, "deviceID": "anon-dev", "isHost": True})
        lists = [h.next("viewerList") for _ in range(3)]
        taken = anon.call("room.join.new", {"meetingID": meeting, "deviceID": "viewer-dev"})
        return {"host": joined_h, "viewer": joined_v, "anon": joined_a, "lists": lists, "taken": taken,
                "anon_list": anon.next("viewerList")}  # fmt: skip


async def test_the_server_decides_who_is_host(server: ServerProcess, client: httpx.AsyncClient) -> None:
    host, viewer = await make_user(client), await make_user(client)
    meeting = await create_meeting(client, host)
    result = await trio.to_thread.run_sync(_host_and_viewers, server.url, meeting, host, viewer)
    assert result["host"]["data"]["isHost"] is True
    assert result["viewer"]["data"]["isHost"] is False  # claimed host, is not the meeting's host
    assert result["anon"]["data"]["isHost"] is False
    assert result["lists"] == [[], ["viewer-dev"], ["viewer-dev", "anon-dev"]]
    assert result["anon_list"] == ["viewer-dev", "anon-dev"]
    assert result["taken"]["error"]["code"] == "device_in_use"


def _chat_storm(url: str, meeting: str, tokens: list[str], per_sender: int) -> dict[str, Any]:
    with peers(url, *tokens) as group:
        for i, peer in enumerate(group):
            peer.call("room.join.new", {"meetingID": meeting, "deviceID": f"d{i}"})

        def send(peer: Peer, name: str) -> None:
            for n in range(per_sender):
                peer.client.emit("chat.send-message", {"message": f"{name}:{n}"})

        senders = [threading.Thread(target=send, args=(group[i], f"d{i}")) for i in (0, 1)]
        for t in senders:
            t.start()
        for t in senders:
            t.join()
        seen = {}
        for i, peer in enumerate(group):
            seen[i] = [peer.next("chat.new-message") for _ in range(2 * per_sender)]
        late = Peer(url, None)
        try:
            history = late.call("room.join.new", {"meetingID": meeting, "deviceID": "late"})["data"]["chat"]
        finally:
            late.close()
        seen["history"] = history
        return seen


async def test_chat_reaches_everyone_in_order_and_is_kept(server: ServerProcess, client: httpx.AsyncClient) -> None:
    users = [await make_user(client) for _ in range(3)]
    meeting = await create_meeting(client, users[0])
    per_sender = 40
    seen = await trio.to_thread.run_sync(_chat_storm, server.url, meeting, [u.token for u in users], per_sender)
    history = seen.pop("history")
    assert len(history) == 2 * per_sender  # a late joiner gets the meeting's recent chat in its join ack
    assert [m["message"] for m in history if m["sender"] == "d0"] == [f"d0:{n}" for n in range(per_sender)]
    for messages in seen.values():
        assert len(messages) == 2 * per_sender
        for sender in ("d0", "d1"):
            own = [m["message"] for m in messages if m["sender"] == sender]
            assert own == [f"{sender}:{n}" for n in range(per_sender)]  # each sender's order is kept
        assert all(m["meetingID"] == meeting and m["isHost"] is False for m in messages)
    with database(server) as db:
        assert db.chat_messages.count_documents({"meetingId": meeting}) == 2 * per_sender


def _transcripts(url: str, meeting: str, host: User) -> dict[str, Any]:
    with peers(url, host.token, None) as (h, anon):
        h.call("room.join.new", {"meetingID": meeting, "deviceID": "h", "isHost": True})
        anon.call("room.join.new", {"meetingID": meeting, "deviceID": "a"})
        line = {"message": "We ship on Friday.", "username": "Ada", "timestamp": 1692345678, "streamstart": 1692345600}
        sent = h.call("transcript.send", line)
        heard = anon.next("transcript.new")
        refused = anon.call("transcript.send", {"message": "sneaky"})
        not_joined = Peer(url, None)
        try:
            early = not_joined.call("chat.send-message", {"message": "hi"})
            bad = not_joined.call("room.join.new", {"meetingID": "nope"})
            missing = not_joined.call("room.join.new", {"meetingID": "0123456789abcdef01234567"})
        finally:
            not_joined.close()
        return {"sent": sent, "heard": heard, "refused": refused, "early": early, "bad": bad, "missing": missing}


async def test_transcripts_go_to_the_meeting_and_to_rest(server: ServerProcess, client: httpx.AsyncClient) -> None:
    host = await make_user(client)
    meeting = await create_meeting(client, host)
    result = await trio.to_thread.run_sync(_transcripts, server.url, meeting, host)
    assert result["sent"]["success"] is True
    assert result["heard"] == {"sender": "h", "meetingID": meeting, "username": "Ada", "message": "We ship on Friday.",
                               "isHost": True, "timestamp": 1692345678, "streamstart": 1692345600}  # fmt: skip
    assert result["refused"]["error"]["code"] == "unauthorized"
    assert result["early"]["error"]["code"] == "not_joined"
    assert result["bad"]["error"]["code"] == "invalid_field"
    assert result["missing"]["error"]["code"] == "not_found"
    r = await client.get(f"/view-transcript/{meeting}", headers=host.headers)
    assert [line["message"] for line in r.json()["data"]] == ["We ship on Friday."]
    with database(server) as db:
        stored = db.transcripts.find_one({"meetingId": meeting})
        assert stored is not None and "Friday" not in stored["message"]  # encrypted at rest


def _join_and_leave(url: str, meeting: str, tokens: list[str | None]) -> None:
    with peers(url, *tokens) as group:
        for i, peer in enumerate(group):
            peer.call("room.join.new", {"meetingID": meeting, "deviceID": f"p{i}"})


async def test_a_meeting_is_a_session_in_the_reports(server: ServerProcess, client: httpx.AsyncClient) -> None:
    host, other = await make_user(client), await make_user(client)
    meeting = await create_meeting(client, host)
    await trio.to_thread.run_sync(_join_and_leave, server.url, meeting, [host.token, other.token, None])
    with trio.fail_after(WAIT):
        while True:
            with database(server) as db:
                session = db.sessions.find_one({"hostId": host.id})
            if session is not None and session.get("endedAt") is not None:
                break
            await trio.sleep(0.05)
    assert session["sessionType"] == "conference" and session["participants"] == 3
    r = await client.get("/reporting/total-sessions-for-user", params={"userID": host.id}, headers=host.headers)
    assert r.status_code == 200, r.text
    assert "1" in r.text


def _v1_join(url: str, room: str, token: str) -> Any:
    with peers(url, token) as (peer,):
        return peer.call("room.join", {"roomId": room, "sessionType": "viewer", "ip": "10.0.0.1"})


async def test_v1_room_join_makes_a_member_who_reads_the_files(
    server: ServerProcess, client: httpx.AsyncClient
) -> None:
    owner, guest = await make_user(client), await make_user(client)
    room = (await client.post("/room/create", json={"name": "r", "type": "meeting"}, headers=owner.headers)).json()
    room_id = room["data"]["id"]
    files = {"file": ("agenda.txt", b"agenda", "text/plain")}
    name = (await client.post(f"/room/{room_id}/upload", files=files, headers=owner.headers)).json()["data"]["filename"]
    assert (await client.get(f"/room/{room_id}/files/{name}", headers=guest.headers)).status_code == 403
    joined = await trio.to_thread.run_sync(_v1_join, server.url, room_id, guest.token)
    assert joined["data"]["member"] is True and joined["data"]["isHost"] is False
    r = await client.get(f"/room/{room_id}/files/{name}/download", headers=guest.headers)
    assert r.status_code == 200 and r.content == b"agenda"


async def test_node_and_python_participants_share_a_meeting(
    server: ServerProcess, client: httpx.AsyncClient, node: str
) -> None:
    """socket.io-client under Node and python-socketio in one meeting: each sees the other's chat, in order."""
    import json
    import subprocess

    from tests.sio.conftest import ROOT

    host, guest = await make_user(client), await make_user(client)
    meeting = await create_meeting(client, host)
    script = ROOT / "tests" / "realtime" / "node" / "meet_participant.mjs"
    proc = subprocess.Popen([node, str(script), server.url, meeting, "node-dev", "20", "25", guest.token],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT)  # fmt: skip
    try:
        assert proc.stdout is not None and proc.stdin is not None
        ready = json.loads(await trio.to_thread.run_sync(proc.stdout.readline))
        assert ready == {"ready": True, "isHost": False}  # claimed host, is not the meeting's host

        def python_side() -> list[Any]:
            with peers(server.url, host.token) as (py,):
                py.call("room.join.new", {"meetingID": meeting, "deviceID": "py-dev", "isHost": True})
                proc.stdin.write("go\n")  # type: ignore[union-attr]
                proc.stdin.flush()  # type: ignore[union-attr]
                for i in range(5):
                    py.client.emit("chat.send-message", {"message": f"py-dev:{i}"})
                return [py.next("chat.new-message") for _ in range(25)]

        seen_by_python = await trio.to_thread.run_sync(python_side)
        outcome = json.loads(await trio.to_thread.run_sync(proc.stdout.readline))
    finally:
        proc.kill()
        proc.wait()
    assert outcome["ok"], outcome
    for seen in (seen_by_python, outcome["received"]):
        assert [m["message"] for m in seen if m["sender"] == "node-dev"] == [f"node-dev:{i}" for i in range(20)]
        assert [m["message"] for m in seen if m["sender"] == "py-dev"] == [f"py-dev:{i}" for i in range(5)]
    assert {m["isHost"] for m in seen_by_python if m["sender"] == "py-dev"} == {True}
