"""RealtimeKit participants in their meetings' SFU rooms: joining, preset permissions, kicks and polls, with
python-socketio clients and real UDP media against the real server."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack

import pytest

from altegon_rt.testing.process import ServerProcess
from tests.realtime.test_meet import Peer
from tests.rtk.live import SFU, Member, Rtk, error_code, wait_until

NO_VIDEO = {"media": {"video": {"can_produce": "NOT_ALLOWED"}, "screenshare": {"can_produce": "CAN_REQUEST"}},
            "chat": {"public": {"can_send": False}}, "polls": {"can_vote": False}}  # fmt: skip
HOST = {"kick_participant": True, "polls": {"can_create": True}}


@pytest.fixture
def rtk(rtk_server: ServerProcess, admin_headers: dict[str, str]) -> Iterator[Rtk]:
    made = Rtk(rtk_server.url, admin_headers)
    made.preset("speaker")
    made.preset("listener", **NO_VIDEO)
    made.preset("host", **HOST)
    yield made
    made.close()


def test_a_participant_joins_its_meeting_and_produces_under_its_preset(rtk: Rtk) -> None:
    meeting = rtk.meeting()
    other = rtk.meeting()
    with ExitStack() as stack:
        ada = stack.enter_context(Member(rtk.url, rtk.participant(meeting["id"], "speaker", "Ada")))
        bob = stack.enter_context(Member(rtk.url, rtk.participant(meeting["id"], "listener", "Bob")))
        # Only its own meeting's room; the room is made by the first join, the name is the participant's.
        assert error_code(ada.join(other["id"])) == "forbidden"
        joined = ada.join(meeting["id"])
        assert joined["room"]["room_id"] == f"rtk-{meeting['id']}"
        assert joined["room"]["peers"] == [{"id": ada.sid, "name": "Ada", "role": "participant"}]
        bob.join(meeting["id"])
        assert ada.next("newPeer") == {"peerId": bob.sid, "name": "Bob", "role": "participant"}

        produced = ada.produce("video", {"type": "camera"})
        assert "id" in produced, produced
        assert bob.next("newProducer")["producerId"] == produced["id"]
        assert "id" in ada.produce("audio")

        # The listener's preset: no video, no screen share without asking, no chat.
        refused = bob.produce("video", {"type": "camera"})
        assert error_code(refused) == "forbidden" and "media.video.can_produce" in refused["error"]["message"]
        refused = bob.produce("video", {"type": "screen"})
        assert error_code(refused) == "forbidden" and "media.screenshare.can_produce" in refused["error"]["message"]
        assert "id" in bob.produce("audio")
        refused = bob.call("sendMessage", {"message": "hi"})
        assert error_code(refused) == "forbidden" and "chat.public.can_send" in refused["error"]["message"]
        assert ada.call("sendMessage", {"message": "hello"}) == {}
        assert bob.next("newMessage")["message"] == "hello"
        assert [(p["peerId"], p["kind"]) for p in bob.call("getProducers")] == [(ada.sid, "video"), (ada.sid, "audio")]

        # A non-participant socket cannot enter a RealtimeKit room.
        anon = Peer(rtk.url, None, path=SFU)
        stack.callback(anon.close)
        assert error_code(anon.call("join", {"room_id": f"rtk-{meeting['id']}"})) == "forbidden"


def test_a_preset_bounds_the_video_streams_a_participant_receives(rtk: Rtk) -> None:
    rtk.preset("one-tile", config={"max_video_streams": {"desktop": 1, "mobile": 1}})
    meeting = rtk.meeting()
    with ExitStack() as stack:
        ada, bob, cy = (stack.enter_context(Member(rtk.url, rtk.participant(meeting["id"], preset, name)))
                        for preset, name in (("speaker", "Ada"), ("speaker", "Bob"), ("one-tile", "Cy")))  # fmt: skip
        for member in (ada, bob, cy):
            member.join(meeting["id"])
        cameras = [ada.produce("video", {"type": "camera"})["id"], bob.produce("video", {"type": "camera"})["id"]]
        recv = cy.call("createWebRtcTransport")
        caps = cy.call("getRouterRtpCapabilities")
        first = cy.call(
            "consume", {"consumerTransportId": recv["id"], "producerId": cameras[0], "rtpCapabilities": caps}
        )
        assert first["kind"] == "video", first
        refused = cy.call("consume", {"consumerTransportId": recv["id"], "producerId": cameras[1],
                                      "rtpCapabilities": caps})  # fmt: skip
        assert error_code(refused) == "forbidden" and "max_video_streams" in refused["error"]["message"]


def test_a_meeting_made_inactive_after_connecting_refuses_the_join(rtk: Rtk) -> None:
    meeting = rtk.meeting()
    with Member(rtk.url, rtk.participant(meeting["id"], "speaker", "Cy")) as cy:
        rtk.ok("PATCH", f"/meetings/{meeting['id']}", {"status": "INACTIVE"})
        assert error_code(cy.join(meeting["id"])) == "meeting_inactive"
        rtk.ok("PATCH", f"/meetings/{meeting['id']}", {"status": "ACTIVE"})
        assert "room" in cy.join(meeting["id"])


def test_kick_and_kick_all_disconnect_the_sockets(rtk: Rtk) -> None:
    meeting = rtk.meeting()
    mid = meeting["id"]
    assert rtk.call("POST", f"/meetings/{mid}/active-session/kick-all").status_code == 404  # no session yet
    with ExitStack() as stack:
        ada, bob, cy, dan = (stack.enter_context(Member(rtk.url, rtk.participant(mid, preset, name)))
                             for preset, name in (("speaker", "Ada"), ("speaker", "Bob"), ("host", "Cy"),
                                                  ("speaker", "Dan")))  # fmt: skip
        for member in (ada, bob, cy, dan):
            assert "room" in member.join(mid)
        produced = bob.produce("video", {"type": "camera"})["id"]
        active = rtk.ok("GET", f"/meetings/{mid}/active-session")
        assert active["status"] == "LIVE" and active["live_participants"] == 4 and active["associated_id"] == mid

        kicked = rtk.ok("POST", f"/meetings/{mid}/active-session/kick",
                        {"participant_ids": [bob.participant["id"]]})  # fmt: skip
        assert kicked["action"] == "kick" and [p["id"] for p in kicked["participants"]] == [bob.participant["id"]]
        wait_until(lambda: not bob.client.connected, what="bob's socket to close")
        assert ada.next("producerClosed") == {"producerId": produced, "peerId": bob.sid}  # its transports closed
        assert ada.next("peerLeft") == {"peerId": bob.sid}
        assert rtk.ok("GET", f"/meetings/{mid}/active-session")["live_participants"] == 3

        # A participant whose preset may kick does it over the socket; one whose preset may not is refused.
        refused = ada.call("participant:kick", {"peerId": dan.sid})
        assert error_code(refused) == "forbidden" and "kick_participant" in refused["error"]["message"]
        assert cy.call("participant:kick", {"peerId": dan.sid}) == {}
        wait_until(lambda: not dan.client.connected, what="dan's socket to close")

        everyone = rtk.ok("POST", f"/meetings/{mid}/active-session/kick-all")
        assert everyone == {"action": "kick_all", "kicked_participants_count": 2}
        wait_until(lambda: not ada.client.connected and not cy.client.connected, what="everyone's sockets to close")


def test_polls_are_delivered_and_votes_counted(rtk: Rtk) -> None:
    meeting = rtk.meeting()
    mid = meeting["id"]
    with ExitStack() as stack:
        ada, bob, cy = (stack.enter_context(Member(rtk.url, rtk.participant(mid, preset, name)))
                        for preset, name in (("speaker", "Ada"), ("listener", "Bob"), ("host", "Cy")))  # fmt: skip
        for member in (ada, bob, cy):
            member.join(mid)
        body = {"question": "Lunch?", "options": ["Pizza", "Soup"], "hide_votes": False}
        created = rtk.ok("POST", f"/meetings/{mid}/active-session/poll", body, expect=201)
        poll = created["poll"]
        assert poll["question"] == "Lunch?" and [o["count"] for o in poll["options"]] == [0, 0]
        for member in (ada, bob, cy):
            delivered = member.next("poll:new")["poll"]
            assert delivered["id"] == poll["id"] and [o["text"] for o in delivered["options"]] == ["Pizza", "Soup"]

        voted = ada.call("poll:vote", {"pollId": poll["id"], "index": 1})["poll"]
        assert [o["count"] for o in voted["options"]] == [0, 1]
        assert voted["options"][1]["votes"] == [{"id": ada.participant["id"], "name": "Ada"}]
        assert error_code(ada.call("poll:vote", {"pollId": poll["id"], "index": 0})) == "already_voted"
        assert error_code(cy.call("poll:vote", {"pollId": poll["id"], "index": 7})) == "invalid_field"
        refused = bob.call("poll:vote", {"pollId": poll["id"], "index": 0})
        assert error_code(refused) == "forbidden" and "polls.can_vote" in refused["error"]["message"]
        assert cy.call("poll:vote", {"pollId": poll["id"], "index": 1})["poll"]["options"][1]["count"] == 2
        assert [o["count"] for o in bob.next("poll:updated")["poll"]["options"]] == [0, 1]

        # A participant may create a poll only with polls.can_create.
        assert error_code(ada.call("poll:create", {"question": "Q", "options": ["a"]})) == "forbidden"
        own = cy.call("poll:create", {"question": "Coffee?", "options": ["yes", "no"], "anonymous": True})["poll"]
        assert ada.next("poll:new")["poll"]["id"] == own["id"]
        ada.call("poll:vote", {"pollId": own["id"], "index": 0})
        counted = {p["id"]: p for p in rtk.ok("GET", f"/meetings/{mid}/active-session")["meta"]["polls"]}
        assert [o["count"] for o in counted[poll["id"]]["options"]] == [0, 2]
        assert counted[own["id"]]["options"][0]["count"] == 1 and counted[own["id"]]["options"][0]["votes"] == []
        bad = rtk.call("POST", f"/meetings/{mid}/active-session/poll", {"question": "x", "options": []})
        assert bad.status_code == 400 and "'options'" in bad.json()["error"]["message"]


def test_record_on_start_and_live_stream_on_start_begin_with_the_first_join(rtk: Rtk) -> None:
    meeting = rtk.meeting(record_on_start=True, live_stream_on_start=True,
                          recording_config={"file_name_prefix": "auto-"})  # fmt: skip
    plain = rtk.meeting()
    with ExitStack() as stack:
        ada = stack.enter_context(Member(rtk.url, rtk.participant(meeting["id"], "speaker", "Ada")))
        bob = stack.enter_context(Member(rtk.url, rtk.participant(plain["id"], "speaker", "Bob")))
        assert rtk.call("GET", f"/recordings/active-recording/{meeting['id']}").status_code == 404
        ada.join(meeting["id"])
        bob.join(plain["id"])
        recording = wait_until(
            lambda: (r := rtk.call("GET", f"/recordings/active-recording/{meeting['id']}")).status_code == 200 and r,
            what="the recording record_on_start starts",
        ).json()["data"]
        assert recording["start_reason"]["reason"] == "RECORD_ON_START"
        assert recording["output_file_name"].startswith("auto-")
        live = wait_until(
            lambda: (r := rtk.call("GET", f"/meetings/{meeting['id']}/active-livestream")).status_code == 200 and r,
            what="the livestream live_stream_on_start starts",
        ).json()["data"]
        assert live["meeting_id"] == meeting["id"]
        # The other meeting asked for neither.
        assert rtk.call("GET", f"/recordings/active-recording/{plain['id']}").status_code == 404
        assert rtk.call("GET", f"/meetings/{plain['id']}/active-livestream").status_code == 404
        rtk.ok("PUT", f"/recordings/{recording['id']}", {"action": "stop"})
        rtk.ok("POST", f"/meetings/{meeting['id']}/active-livestream/stop")
