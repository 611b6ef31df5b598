"""The ART package socket on the real server: presence from the server, stamped relays, host-only types
refused for viewers, removal that sticks, and a whiteboard that outlives its drawer. python-socketio peers."""

from __future__ import annotations

import queue
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import socketio
import trio

from altegon_rt.testing.process import ServerProcess
from tests.conftest import make_user
from tests.realtime.test_meet import Peer, connected, create_meeting

PATH = "/erizocontroller/socket.io/"
WAIT = 10


class ArtPeer:
    def __init__(self, url: str, token: str | None) -> None:
        self.client = socketio.Client(reconnection=False)
        self.data: queue.Queue[dict[str, Any]] = queue.Queue()
        self.gone = False
        self.client.on("data", self.data.put)

        @self.client.event
        def disconnect(*_: Any) -> None:
            self.gone = True

        self.client.connect(url, socketio_path=PATH, auth={"token": token} if token else None,
                            transports=["websocket"], wait_timeout=5)  # fmt: skip

    def join(self, room: str, username: str) -> dict[str, Any]:
        return self.client.call("joinRoom", {"roomId": room, "username": username}, timeout=WAIT)

    def send(self, message: dict[str, Any]) -> dict[str, Any]:
        return self.client.call("sendData", message, timeout=WAIT)

    def next(self, kind: str) -> dict[str, Any]:
        while True:
            message = self.data.get(timeout=WAIT)
            if message.get("type") == kind:
                return message

    def nothing_of(self, kind: str, wait_s: float = 0.5) -> bool:
        try:
            while True:
                if self.data.get(timeout=wait_s).get("type") == kind:
                    return False
        except queue.Empty:
            return True

    def close(self) -> None:
        self.client.disconnect()


@contextmanager
def art_peers(url: str, *tokens: str | None) -> Iterator[list[ArtPeer]]:
    with connected(ArtPeer, url, *tokens) as made:
        yield made


def _session(url: str, meeting: str, host_token: str, viewer_token: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    with art_peers(url, host_token, viewer_token, None) as (host, viewer, anon):
        out["host_join"] = host.join(meeting, "Hana")
        out["viewer_join"] = viewer.join(meeting, "Vic")
        out["connected"] = host.next("room_connected")
        out["views"] = host.next("view_count")
        anon.join(meeting, "Anon")
        # A stamped relay: the sender cannot choose its id or name.
        viewer.send({"type": "chat-box", "msg": "hi all", "time": 1, "id": "spoofed", "username": "Hana"})
        out["chat"] = anon.next("chat-box")
        # Host-only types from a viewer: refused, and nobody receives them.
        out["viewer_mute_all"] = viewer.send({"type": "mute-all-participants"})
        out["anon_saw_mute_all"] = not anon.nothing_of("mute-all-participants")
        out["server_only"] = viewer.send({"type": "view_count", "count": 9999})
        # Mic request goes to hosts only; acceptance to the requester only.
        viewer.send({"type": "request-mic"})
        out["mic_request"] = host.next("request-mic")
        host.send({"type": "request-mic-accepted", "id": out["viewer_join"]["data"]["id"]})
        out["mic_accepted"] = viewer.next("request-mic-accepted")
        out["anon_saw_accept"] = not anon.nothing_of("request-mic-accepted")
        # Removal: the target is disconnected (here and on the Meet socket) and cannot come back while the room
        # lives, on either socket.
        meet = Peer(url, viewer_token)
        meet_gone: list[bool] = []
        meet.client.on("disconnect", lambda *_: meet_gone.append(True))
        meet.call("room.join.new", {"meetingID": meeting, "deviceID": "vic-meet"})
        out["remove"] = host.send({"type": "remove-participant", "userId": out["viewer_join"]["data"]["id"]})
        deadline = time.monotonic() + WAIT
        while not viewer.gone and time.monotonic() < deadline:
            time.sleep(0.02)
        out["viewer_gone"] = viewer.gone
        while not meet_gone and time.monotonic() < deadline:
            time.sleep(0.02)
        out["meet_gone"] = bool(meet_gone)
        meet.close()
        meet_again = Peer(url, viewer_token)
        try:
            out["meet_rejoin"] = meet_again.call("room.join.new", {"meetingID": meeting, "deviceID": "vic-2"})
        finally:
            meet_again.close()
        again = ArtPeer(url, viewer_token)
        try:
            out["rejoin"] = again.join(meeting, "Vic")
        finally:
            again.close()
        out["unknown_type"] = host.send({"type": "launch-rockets"})
    return out


async def test_presence_relays_and_host_rules(server: ServerProcess, client: httpx.AsyncClient) -> None:
    host, viewer = await make_user(client), await make_user(client)
    meeting = await create_meeting(client, host)
    out = await trio.to_thread.run_sync(_session, server.url, meeting, host.token, viewer.token)
    assert out["host_join"]["data"]["isHost"] is True
    assert out["viewer_join"]["data"]["isHost"] is False
    assert out["connected"]["username"] == "Vic" and out["connected"]["state"] == "online"
    assert out["views"]["count"] == 2
    chat = out["chat"]
    assert chat["msg"] == "hi all" and chat["username"] == "Vic" and chat["id"] == out["viewer_join"]["data"]["id"]
    assert out["viewer_mute_all"]["error"]["code"] == "host_only"
    assert out["anon_saw_mute_all"] is False
    assert out["server_only"]["error"]["code"] == "server_only"
    assert out["mic_request"]["id"] == out["viewer_join"]["data"]["id"]
    assert out["mic_accepted"]["targetId"] == out["viewer_join"]["data"]["id"]
    assert out["anon_saw_accept"] is False
    assert out["remove"]["success"] is True and out["viewer_gone"] is True
    assert out["rejoin"]["error"]["code"] == "removed"
    assert out["meet_gone"] is True and out["meet_rejoin"]["error"]["code"] == "removed"
    assert out["unknown_type"]["error"]["code"] == "unknown_type"


def _whiteboard(url: str, meeting: str, host_token: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    with art_peers(url, host_token, None) as (host, keeper):
        host.join(meeting, "Hana")
        keeper.join(meeting, "Keeper")  # keeps the room alive after the host leaves
        host.send({"type": "whiteBoardToggle", "msg": {"room_id": meeting, "flag": True}})
        for stroke in range(3):
            for kind in ("mousedown", "mousemove", "mouseup"):
                host.send({"type": "sendDrawingData", "msg": {"drawingType": kind, "payload": {"n": stroke}}})
        host.send({"type": "Un-do", "msg": {"room_id": meeting}})
        out["keeper_saw_drawing"] = keeper.next("sendDrawingData")["msg"]["drawingType"]
        host.close()
        late = ArtPeer(url, None)
        try:
            out["late_join"] = late.join(meeting, "Late")
            out["state"] = late.send({"type": "whiteBoardStateRequest", "msg": {"room_id": meeting}})
            out["viewer_stage"] = late.send({"type": "white-board-stage", "msg": {"stage": {"children": []}}})
            late.send({"type": "clear-whiteBoard", "msg": {"room_id": meeting}})
            out["after_clear"] = late.send({"type": "whiteBoardStateRequest", "msg": {}})
        finally:
            late.close()
    return out


async def test_whiteboard_outlives_its_drawer(server: ServerProcess, client: httpx.AsyncClient) -> None:
    host = await make_user(client)
    meeting = await create_meeting(client, host)
    out = await trio.to_thread.run_sync(_whiteboard, server.url, meeting, host.token)
    assert out["keeper_saw_drawing"] == "mousedown"
    assert out["late_join"]["data"]["whiteboard"] is True
    state = out["state"]["data"]["msg"]
    assert state["enabled"] is True
    assert [e["payload"]["n"] for e in state["drawing"]] == [0, 0, 0, 1, 1, 1]  # the undone third stroke is gone
    assert out["viewer_stage"]["error"]["code"] == "host_only"
    assert out["after_clear"]["data"]["msg"]["drawing"] == []


def _reconnect(url: str, meeting: str, host_token: str, viewer_token: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    with art_peers(url, host_token, viewer_token) as (host, viewer):
        host.join(meeting, "Hana")
        first = viewer.join(meeting, "Vic")["data"]["id"]
        viewer.send({"type": "chat-box", "msg": "before the drop", "time": 1})
        viewer.send({"type": "request-mic"})
        host.next("request-mic")
        viewer.close()
        again = ArtPeer(url, viewer_token)
        try:
            rejoined = again.join(meeting, "Vic")
            out["chat"] = [m["msg"] for m in rejoined["data"]["chat"]]
            out["viewer_sees_queue"] = "micRequests" in rejoined["data"]
            host_view = ArtPeer(url, host_token)
            try:
                queue_now = host_view.join(meeting, "Hana 2")["data"]["micRequests"]
            finally:
                host_view.close()
            out["queue"] = [(r["id"], r["username"]) for r in queue_now]
            out["ids"] = (first, rejoined["data"]["id"])
            host.send({"type": "request-mic-accepted", "id": rejoined["data"]["id"]})
            out["accepted"] = again.next("request-mic-accepted")["targetId"] == rejoined["data"]["id"]
            # A bad message without an ack: the sender gets an `error` event, nobody else anything.
            errors: queue.Queue[Any] = queue.Queue()
            again.client.on("error", errors.put)
            again.client.emit("sendData", {"type": "mute-all-participants"})
            out["error_event"] = errors.get(timeout=WAIT)
        finally:
            again.close()
    return out


async def test_chat_and_mic_queue_survive_a_reconnect(server: ServerProcess, client: httpx.AsyncClient) -> None:
    host, viewer = await make_user(client), await make_user(client)
    meeting = await create_meeting(client, host)
    out = await trio.to_thread.run_sync(_reconnect, server.url, meeting, host.token, viewer.token)
    assert out["chat"] == ["before the drop"]
    assert out["viewer_sees_queue"] is False  # only hosts get the mic queue
    assert out["queue"] == [(out["ids"][1], "Vic")]  # the same request, now pointing at the new connection
    assert out["accepted"] is True
    assert out["error_event"] == {"event": "sendData", "code": "host_only",
                                  "message": "only a host may send 'mute-all-participants'"}  # fmt: skip
