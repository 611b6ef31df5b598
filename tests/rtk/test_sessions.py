"""RealtimeKit sessions on the real server: started by the first join, ended a keep-alive after the last leave
(the test server caps it at 1 s), with webhooks to a receiver started here, participants with the SFU's real
packet counters, chat, transcript and summary downloads, and paged lists."""

from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from altegon_rt.testing.process import ServerProcess
from tests.api.loopback_http import stop_http
from tests.rtk.live import Member, Rtk, wait_until
from tests.rtk.test_webhooks import Receiver

EVENTS = ["meeting.started", "meeting.ended", "meeting.participantJoined", "meeting.participantLeft",
          "meeting.chatSynced", "meeting.transcript", "meeting.summary"]  # fmt: skip


@pytest.fixture
def rtk(rtk_server: ServerProcess, admin_headers: dict[str, str]) -> Iterator[Rtk]:
    made = Rtk(rtk_server.url, admin_headers)
    made.preset("speaker")
    yield made
    made.close()


def events_of(receiver: Receiver) -> list[dict[str, Any]]:
    return [json.loads(r["body"]) for r in receiver.requests]


def names(receiver: Receiver) -> list[str]:
    return [e["event"] for e in events_of(receiver)]


def test_a_session_from_first_join_to_its_end(rtk: Rtk) -> None:
    receiver = Receiver(failures=0)
    try:
        rtk.ok("POST", "/webhooks", {"name": "r", "url": receiver.url + "/hook", "events": EVENTS}, expect=201)
        meeting = rtk.meeting(title="Planning", persist_chat=True, summarize_on_end=True)
        mid = meeting["id"]
        ada_p, bob_p = rtk.participant(mid, "speaker", "Ada"), rtk.participant(mid, "speaker", "Bob")
        with Member(rtk.url, ada_p) as ada, Member(rtk.url, bob_p) as bob:
            ada.join(mid)
            wait_until(lambda: "meeting.started" in names(receiver), what="meeting.started")
            bob.join(mid)
            video = ada.produce("video", {"type": "camera"})["id"]
            ada.produce("audio")
            ada.send_video(30)
            ada.send_audio(20)
            assert ada.call("sendMessage", {"message": "Shall we ship on Friday?"}) == {}
            assert bob.call("sendMessage", {"message": "Yes, Friday."}) == {}
            lines = ["We ship the release on Friday.", "Bob writes the test report by Thursday.",
                     "The release notes need a review from Ada."]  # fmt: skip
            for line in lines:
                assert ada.call("transcript:send", {"text": line}) == {}
            assert bob.next("transcript:new")["text"] == lines[0]
            ada_sid, bob_sid = ada.sid, bob.sid
            live = rtk.ok("GET", "/sessions", associated_id=mid)["sessions"]
            assert [s["status"] for s in live] == ["LIVE"] and live[0]["live_participants"] == 2
            session_id = live[0]["id"]
            detail = wait_until(lambda: _video_packets(rtk, session_id, ada_p["id"]) >= 25, what="packets counted")
            assert detail
        # Both left: a second later the session ends, and its chat, transcript and summary are announced.
        wait_until(lambda: "meeting.summary" in names(receiver), timeout_s=20, what="meeting.summary")
    finally:
        stop_http(receiver.server)
    # Deliveries run concurrently, so they may arrive in any order: the events' own times order them.
    sent = sorted(events_of(receiver), key=lambda e: e["created_at"])
    order = [e["event"] for e in sent]
    assert sorted(order) == sorted([*EVENTS, "meeting.participantJoined", "meeting.participantLeft"])
    at = {e["event"]: e["created_at"] for e in sent}  # the last of each
    assert at["meeting.started"] <= min(e["created_at"] for e in sent if e["event"] == "meeting.participantJoined")
    assert at["meeting.participantLeft"] <= at["meeting.ended"]
    assert at["meeting.ended"] <= min(at["meeting.chatSynced"], at["meeting.transcript"], at["meeting.summary"])
    ended = next(e for e in sent if e["event"] == "meeting.ended")
    assert ended["meeting"]["id"] == mid and ended["meeting"]["session_id"] == session_id
    assert ended["meeting"]["status"] == "ENDED" and ended["meeting"]["title"] == "Planning"

    session = rtk.ok("GET", f"/sessions/{session_id}")["session"]
    assert session["status"] == "ENDED" and session["live_participants"] == 0
    assert session["max_concurrent_participants"] == 2 and session["minutes_consumed"] > 0
    assert session["started_at"] < session["ended_at"] and session["associated_id"] == mid

    people = rtk.ok("GET", f"/sessions/{session_id}/participants", include_peer_events="true")["participants"]
    assert [(p["display_name"], p["peer_id"]) for p in people] == [("Ada", ada_sid), ("Bob", bob_sid)]
    assert all(p["left_at"] is not None and p["duration"] > 0 for p in people)
    assert [e["type"] for e in people[0]["peer_stats"]["events"]][:2] == ["joined", "produce"]
    ada_stats = rtk.ok("GET", f"/sessions/{session_id}/participants/{ada_p['id']}")["participant"]
    quality = ada_stats["quality_stats"][0]
    assert quality["total_video_packets"] >= 25 and quality["total_audio_packets"] >= 15
    assert quality["video_stats"][0]["producer_id"] == video
    report = rtk.ok("GET", f"/sessions/peer-report/{bob_sid}")["participant"]
    consumed = report["peer_report"]["quality"]["video_consumer"]
    assert report["user_id"] == bob_p["id"] and consumed == []  # bob consumed nothing
    assert rtk.ok("GET", f"/sessions/peer-report/{ada_sid}", filters="quality_stats")["participant"].keys() >= {
        "quality_stats"}  # fmt: skip
    assert rtk.call("GET", f"/sessions/peer-report/{ada_sid}", filters="nonsense").status_code == 400

    chat = _download(rtk, rtk.ok("GET", f"/sessions/{session_id}/chat")["chat_download_url"])
    rows = list(csv.DictReader(io.StringIO(chat)))
    assert [(r["display_name"], r["message"]) for r in rows] == [("Ada", "Shall we ship on Friday?"),
                                                                ("Bob", "Yes, Friday.")]  # fmt: skip
    transcript = _download(rtk, rtk.ok("GET", f"/sessions/{session_id}/transcript")["transcript_download_url"])
    assert [r["text"] for r in csv.DictReader(io.StringIO(transcript))] == lines
    summary_link = rtk.ok("GET", f"/sessions/{session_id}/summary")
    summary = json.loads(_download(rtk, summary_link["summaryDownloadUrl"]))
    assert "Friday" in summary["summary"] and summary["notes"]["summary"] == summary["summary"]
    regenerated = rtk.ok("POST", f"/sessions/{session_id}/summary")
    assert regenerated["sessionId"] == session_id and regenerated["summaryDownloadUrl"].startswith("/rtk/downloads/")
    forged = rtk.http.get(summary_link["summaryDownloadUrl"][:-3] + "AAA")
    assert forged.status_code == 403


def _video_packets(rtk: Rtk, session_id: str, participant_id: str) -> int:
    detail = rtk.ok("GET", f"/sessions/{session_id}/participants/{participant_id}")["participant"]
    return int(detail["quality_stats"][0]["total_video_packets"])


def _download(rtk: Rtk, url: str) -> str:
    r = rtk.http.get(url)
    assert r.status_code == 200, r.text
    assert r.headers["content-disposition"].startswith("attachment")
    return r.text


def test_sessions_are_listed_with_paging_and_filters(rtk: Rtk) -> None:
    meetings = [rtk.meeting(title=f"Room {i}") for i in range(3)]
    for meeting in meetings:
        with Member(rtk.url, rtk.participant(meeting["id"], "speaker", "Ann")) as ann:
            assert "room" in ann.join(meeting["id"])
    # No chat kept (persist_chat off), no transcript, no summary.
    first = rtk.ok("GET", "/sessions", associated_id=meetings[0]["id"])["sessions"][0]["id"]
    for path in ("chat", "transcript", "summary"):
        assert rtk.call("GET", f"/sessions/{first}/{path}").status_code == 404
    assert rtk.call("POST", f"/sessions/{first}/summary").status_code == 409
    wait_until(lambda: rtk.ok("GET", "/sessions", status="ENDED", per_page=10)["sessions"].__len__() == 3,
               timeout_s=15, what="three ended sessions")  # fmt: skip

    r = rtk.call("GET", "/sessions", per_page=2, page_no=1)
    page1 = r.json()
    assert page1["paging"] == {"start_offset": 1, "end_offset": 2, "total_count": 3}
    page2 = rtk.call("GET", "/sessions", per_page=2, page_no=2).json()
    assert page2["paging"] == {"start_offset": 3, "end_offset": 3, "total_count": 3}
    titles = [s["meeting_display_name"] for s in page1["data"]["sessions"] + page2["data"]["sessions"]]
    assert titles == ["Room 2", "Room 1", "Room 0"]  # newest first
    ascending = rtk.ok("GET", "/sessions", sort_by="started_at", sort_order="ASC")["sessions"]
    assert [s["meeting_display_name"] for s in ascending] == ["Room 0", "Room 1", "Room 2"]
    assert [s["meeting_display_name"] for s in rtk.ok("GET", "/sessions", search="room 1")["sessions"]] == ["Room 1"]
    assert rtk.ok("GET", "/sessions", status="LIVE")["sessions"] == []
    later = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600))
    assert rtk.ok("GET", "/sessions", start_time=later)["sessions"] == []
    assert rtk.call("GET", "/sessions", sort_by="nonsense").status_code == 400
    assert rtk.call("GET", f"/sessions/{'0' * 8}-0000-4000-8000-{'0' * 12}").status_code == 404
