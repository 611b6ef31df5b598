"""The recording server socket on the real server: tracks streamed as chunks by python-socketio, composed into one
MP4 by the worker process, stored in the owner's storage and downloaded through its signed URL; who may do what;
bad input; a corrupt track; tracks that survive a crash of the server; the storage quota."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import socketio
import trio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from altegon_rt.media.recording import EBML_MAGIC
from altegon_rt.testing.process import ServerProcess
from tests.api.test_recordings import START_MS, create_room, start
from tests.conftest import HIGH_LIMITS, User, make_user
from tests.media.recording_clips import chunks, clip, probe_mp4
from tests.realtime.test_meet import Peer

PATH = "/recording/socket.io/"
JOB_WAIT = 90  # seconds for one composing job on a busy two-core machine

# Made once: encoding them is most of the cost of these clips.
CLIPS: dict[str, bytes] = {}


def clips() -> dict[str, bytes]:
    if not CLIPS:
        CLIPS["vp8"] = clip("libvpx", 320, 240, 1.0, shade=200)  # 4:3, the largest: the MP4's size
        CLIPS["vp9"] = clip("libvpx-vp9", 256, 144, 0.8, shade=120)  # 16:9: black bars above and below
        CLIPS["h264"] = clip("libx264", 160, 120, 0.6, shade=60, audio=False)  # no audio: silence
    return CLIPS


@contextmanager
def recorder(url: str, token: str) -> Iterator[Peer]:
    peer = Peer(url, token, path=PATH)
    try:
        yield peer
    finally:
        peer.close()


def send_track(peer: Peer, ids: dict[str, str], video_id: str, data: bytes, pieces: int = 4) -> list[Any]:
    acks = [peer.call("create-file", {**ids, "videoId": video_id})]
    acks += [peer.call("stream", {"data": piece, "videoId": video_id}) for piece in chunks(data, pieces)]
    return acks


def wait_result(peer: Peer, recording_id: str, wait_s: float = JOB_WAIT) -> tuple[list[int], str, Any]:
    """Progress percents, then the final event's name and data, for one recording."""
    percents: list[int] = []
    while True:
        event, data = peer.events.get(timeout=wait_s)
        if event.startswith("recording:") and data.get("recordingId") == recording_id:
            if event == "recording:progress":
                percents.append(data["percent"])
            else:
                return percents, event, data


async def new_recording(client: httpx.AsyncClient, user: User) -> dict[str, str]:
    room_id = await create_room(client, user)
    recording = await start(client, user, room_id)
    return {"roomId": room_id, "recordingId": recording["recordingId"]}


def _record_three_tracks(url: str, token: str, ids: dict[str, str]) -> dict[str, Any]:
    media = clips()
    with recorder(url, token) as peer:
        acks = send_track(peer, ids, "cam-1", media["vp8"])
        acks += send_track(peer, ids, "screen 2/ü", media["vp9"])  # not a plain name: hashed on disk
        acks += send_track(peer, ids, "cam-3", media["h264"], pieces=2)
        stops = [peer.call("stop-writing", "cam-1"), peer.call("stop-writing", {"videoId": "screen 2/ü"}),
                 peer.call("stop-writing", "cam-3")]  # fmt: skip
        processing = peer.call("process-recording", ids)
        again = peer.call("process-recording", ids)
        percents, event, result = wait_result(peer, ids["recordingId"])
    return {"acks": acks, "stops": stops, "processing": processing, "again": again, "percents": percents,
            "event": event, "result": result}  # fmt: skip


@pytest.mark.slow
async def test_tracks_become_one_mp4_in_the_owners_storage(
    server: ServerProcess, client: httpx.AsyncClient, alice: User
) -> None:
    ids = await new_recording(client, alice)
    rid = ids["recordingId"]
    out = await trio.to_thread.run_sync(_record_three_tracks, server.url, alice.token, ids)
    assert all(a["success"] for a in out["acks"] + out["stops"]), out
    sizes = [a["data"]["size"] for a in out["acks"] if "videoId" in a["data"] and "recordingId" not in a["data"]]
    assert sizes == sorted(sizes[:4]) + sorted(sizes[4:8]) + sorted(sizes[8:])  # sizes grow chunk by chunk
    assert [s["data"]["size"] for s in out["stops"]] == [len(clips()[k]) for k in ("vp8", "vp9", "h264")]
    assert out["processing"] == {"success": True, "data": {"recordingId": rid, "status": "processing"}}
    assert out["again"]["error"]["code"] == "already_processing"
    assert out["event"] == "recording:done", out
    percents = out["percents"]
    assert percents[0] == 0 and percents == sorted(percents) and len(percents) > 3 and percents[-1] <= 99
    done = out["result"]
    assert done["fileName"] == f"{rid}.mp4" and done["width"] == 320 and done["height"] == 240

    listed = next(r for r in (await client.get("/recordings/list", headers=alice.headers)).json()
                  if r["recordingId"] == rid)  # fmt: skip
    assert listed["status"] == "ready" and listed["fileName"] == done["fileName"]
    assert listed["fileSize"] == done["size"]
    stop = {"recordingId": rid, "endTime": START_MS + 5000}
    r = await client.post("/recording/stop", json=stop, headers=alice.headers)
    assert r.status_code == 204, r.text  # a late stop keeps the status that says the MP4 is there
    listed = next(r for r in (await client.get("/recordings/list", headers=alice.headers)).json()
                  if r["recordingId"] == rid)  # fmt: skip
    assert listed["status"] == "ready" and listed["endTime"] is not None
    info = (await client.get(f"/recordings/user/{alice.id}/storage-info", headers=alice.headers)).json()["data"]
    assert info["totalUsage"] == done["size"] and [r["fileName"] for r in info["recordings"]] == [done["fileName"]]

    base = f"/recordings/user/{alice.id}/room/{ids['roomId']}/recording/{rid}"
    r = await client.get(f"{base}/file/{done['fileName']}/sas-url", headers=alice.headers)
    assert r.status_code == 200, r.text
    mp4 = (await client.get(r.json()["data"]["sasUrl"])).content  # no login: the URL is the capability
    assert len(mp4) == done["size"]
    probe = probe_mp4(mp4)
    assert probe.codecs == ["aac", "h264"] and (probe.width, probe.height) == (320, 240)
    assert probe.moov_before_mdat  # faststart
    assert abs(probe.duration_s - 2.4) < 0.2, probe.duration_s  # 1.0 + 0.8 + 0.6 s, one after the other
    shades = {(round(centre, -1), round(top, -1)) for _, centre, top in probe.frames}
    assert shades == {(200, 200), (120, 20), (60, 60)}  # 16:9 in 4:3 keeps its shape: black bars (luma 16)
    order = [round(centre, -1) for _, centre, _ in probe.frames]
    assert order == sorted(order, reverse=True)  # the tracks in the order they were created
    assert not (server.data_dir / "recordings" / rid).exists()  # the tracks are gone once the MP4 is stored

    r = await client.delete(f"{base}/{done['fileName']}", headers=alice.headers)
    assert r.status_code == 200 and r.json()["data"]["totalUsage"] == 0


def _intruder(url: str, owner: str, intruder: str, ids: dict[str, str]) -> dict[str, Any]:
    with recorder(url, owner) as mine, recorder(url, intruder) as theirs:
        opened = mine.call("create-file", {**ids, "videoId": "cam"})
        return {
            "opened": opened,
            "create": theirs.call("create-file", {**ids, "videoId": "cam"}),
            "create_other": theirs.call("create-file", {**ids, "videoId": "mine-now"}),
            "stream": theirs.call("stream", {"data": EBML_MAGIC + b"x", "videoId": "cam"}),
            "stop": theirs.call("stop-writing", "cam"),
            "process": theirs.call("process-recording", ids),
            "owner_still": mine.call("stream", {"data": clips()["vp8"], "videoId": "cam"}),
        }


async def test_another_user_cannot_touch_a_recording(server: ServerProcess, client: httpx.AsyncClient,
                                                     alice: User, bob: User) -> None:  # fmt: skip
    ids = await new_recording(client, alice)
    out = await trio.to_thread.run_sync(_intruder, server.url, alice.token, bob.token, ids)
    assert out["opened"]["success"] and out["owner_still"]["success"]
    for name in ("create", "create_other", "process"):
        assert out[name]["error"]["code"] == "not_found", out[name]
    for name in ("stream", "stop"):
        assert out[name]["error"]["code"] == "unknown_video", out[name]  # not a track of bob's connection
    with pytest.raises(socketio.exceptions.ConnectionError):  # no token: refused (CONNECT_ERROR)
        Peer(server.url, None, path=PATH)
    with pytest.raises(socketio.exceptions.ConnectionError):
        Peer(server.url, "not-a-token", path=PATH)


def _bad_input(url: str, token: str, ids: dict[str, str]) -> dict[str, Any]:
    with recorder(url, token) as peer:
        out = {
            "stream_first": peer.call("stream", {"data": b"\x1a\x45\xdf\xa3", "videoId": "cam"}),
            "no_recording": peer.call("create-file", {**ids, "recordingId": "nope", "videoId": "cam"}),
            "wrong_room": peer.call("create-file", {**ids, "roomId": "0123456789abcdef01234567", "videoId": "cam"}),
            "no_video_id": peer.call("create-file", ids),
            "not_object": peer.call("create-file", "cam"),
            "no_tracks": peer.call("process-recording", ids),
            "opened": peer.call("create-file", {**ids, "videoId": "cam"}),
            "garbage_first": peer.call("stream", {"data": b"garbage!" * 100, "videoId": "cam"}),
            "text_data": peer.call("stream", {"data": "not binary", "videoId": "cam"}),
            "empty_data": peer.call("stream", {"data": b"", "videoId": "cam"}),
            "unknown_video": peer.call("stream", {"data": EBML_MAGIC, "videoId": "other"}),
            "still_writing": peer.call("process-recording", ids),
            "stop_unknown": peer.call("stop-writing", "other"),
            "stop_number": peer.call("stop-writing", 12),
            "stop_bool": peer.call("stop-writing", True),
            "good": peer.call("stream", {"data": clips()["vp8"], "videoId": "cam"}),
        }
        # Without an ack the failure comes back as an `error` event naming the event.
        peer.client.emit("stream", {"data": b"x", "videoId": "nobody"})
        out["error_event"] = peer.next("error")
        out["stop"] = peer.call("stop-writing", "cam")
    return out


async def test_bad_input_is_a_clear_error_and_the_server_lives_on(
    server: ServerProcess, client: httpx.AsyncClient, alice: User
) -> None:
    ids = await new_recording(client, alice)
    out = await trio.to_thread.run_sync(_bad_input, server.url, alice.token, ids)
    expected = {"stream_first": "unknown_video", "no_recording": "not_found", "wrong_room": "room_mismatch",
                "no_video_id": "invalid_field", "not_object": "invalid_payload", "no_tracks": "no_tracks",
                "garbage_first": "invalid_media", "text_data": "invalid_field", "empty_data": "invalid_field",
                "unknown_video": "unknown_video", "still_writing": "still_writing", "stop_unknown": "unknown_video",
                "stop_number": "unknown_video", "stop_bool": "invalid_payload"}  # fmt: skip
    for name, code in expected.items():
        assert out[name]["success"] is False and out[name]["error"]["code"] == code, (name, out[name])
        assert out[name]["error"]["message"]
    assert out["opened"]["data"]["size"] == 0 and out["good"]["data"]["size"] == len(clips()["vp8"])
    assert out["error_event"] == {"event": "stream", "code": "unknown_video", "message": out["error_event"]["message"]}
    assert out["stop"]["data"]["size"] == len(clips()["vp8"])  # the refused chunks wrote nothing
    assert (await client.get("/healthz")).status_code == 200


def _corrupt(url: str, token: str, ids: dict[str, str]) -> dict[str, Any]:
    with recorder(url, token) as peer:
        send_track(peer, ids, "good", clips()["vp8"])
        peer.call("create-file", {**ids, "videoId": "bad"})
        peer.call("stream", {"data": EBML_MAGIC + secrets.token_bytes(3000), "videoId": "bad"})
        peer.call("stop-writing", "good")
        peer.call("stop-writing", "bad")
        processing = peer.call("process-recording", ids)
        return {"processing": processing, "result": wait_result(peer, ids["recordingId"])}


async def test_a_corrupt_track_is_a_recording_error(server: ServerProcess, client: httpx.AsyncClient,
                                                    alice: User) -> None:  # fmt: skip
    ids = await new_recording(client, alice)
    out = await trio.to_thread.run_sync(_corrupt, server.url, alice.token, ids)
    assert out["processing"]["success"] is True
    _, event, data = out["result"]
    assert event == "recording:error" and data["code"] == "corrupt_track" and "'bad'" in data["message"]
    listed = (await client.get("/recordings/list", headers=alice.headers)).json()
    mine = next(r for r in listed if r["recordingId"] == ids["recordingId"])
    assert mine["status"] == "failed" and mine["error"]["code"] == "corrupt_track"
    assert (server.data_dir / "recordings" / ids["recordingId"] / "good.webm").exists()  # kept for another try
    assert (await client.get("/healthz")).status_code == 200


def _write_then_vanish(url: str, token: str, ids: dict[str, str], data: bytes) -> list[Any]:
    peer = Peer(url, token, path=PATH)  # never closed: the server is killed under it
    return send_track(peer, ids, "cam", data, pieces=5)


def _resume(url: str, token: str, ids: dict[str, str], data: bytes) -> list[Any]:
    with recorder(url, token) as peer:
        acks = send_track(peer, ids, "cam", data, pieces=3)
        return [*acks, peer.call("stop-writing", "cam")]


def _process(url: str, token: str, ids: dict[str, str]) -> tuple[Any, tuple[list[int], str, Any]]:
    with recorder(url, token) as peer:
        return peer.call("process-recording", ids), wait_result(peer, ids["recordingId"])


def _upload_filler(server: ServerProcess, user: User, ids: dict[str, str], size: int) -> None:
    url = (f"{server.url}/recordings/user/{user.id}/room/{ids['roomId']}/recording/{ids['recordingId']}"
           "/upload-to-blob")  # fmt: skip
    r = httpx.post(url, files={"file": ("filler.bin", os.urandom(size))}, headers=user.headers, timeout=30)
    assert r.status_code == 200, r.text


@pytest.mark.slow
async def test_tracks_survive_a_crash_and_the_quota_is_kept(fresh_data_dir: Path) -> None:
    limit = 60_000
    env = {**HIGH_LIMITS, "ALTEGON_STORAGE_QUOTA_DEFAULT_LIMIT_BYTES": str(limit)}
    first = ServerProcess(fresh_data_dir, env=env)
    try:
        async with httpx.AsyncClient(base_url=first.url, timeout=30) as c:
            user = await make_user(c)
            ids, other = await new_recording(c, user), await new_recording(c, user)
        data = clips()["vp8"]
        acks = await trio.to_thread.run_sync(_write_then_vanish, first.url, user.token, ids, data)
        assert acks[-1]["data"]["size"] == len(data)
        await trio.to_thread.run_sync(_write_then_vanish, first.url, user.token, other, data)
    finally:
        first.kill()  # SIGKILL: no stop-writing, no clean close
    second = ServerProcess(fresh_data_dir, env=env)
    try:
        # The client comes back with a new MediaRecorder for the same videoId: its stream goes after the first.
        resumed = await trio.to_thread.run_sync(_resume, second.url, user.token, ids, clips()["vp9"])
        assert resumed[0]["data"]["size"] == len(data)  # create-file found what the crashed server had written
        assert resumed[-1]["data"]["size"] == len(clips()["vp9"])  # in a file of its own
        assert sorted(p.name for p in (fresh_data_dir / "recordings" / ids["recordingId"]).glob("*.webm")) == [
            "cam.2.webm", "cam.webm"]  # fmt: skip
        ack, (_, event, done) = await trio.to_thread.run_sync(_process, second.url, user.token, ids)
        assert ack["success"] and event == "recording:done", done
        async with httpx.AsyncClient(base_url=second.url, timeout=30) as c:
            base = f"/recordings/user/{user.id}/room/{ids['roomId']}/recording/{ids['recordingId']}"
            r = await c.get(f"{base}/file/{done['fileName']}/sas-url", headers=user.headers)
            probe = probe_mp4((await c.get(r.json()["data"]["sasUrl"])).content)
            assert abs(probe.duration_s - 1.8) < 0.15 and probe.codecs == ["aac", "h264"]
            # Nearly full: the second recording's MP4 does not fit, and nothing is stored.
            await trio.to_thread.run_sync(_upload_filler, second, user, other, limit - done["size"] - 500)
            ack, (_, event, error) = await trio.to_thread.run_sync(_process, second.url, user.token, other)
            assert ack["success"] and event == "recording:error" and error["code"] == "storage_full", error
            info = (await c.get(f"/recordings/user/{user.id}/storage-info", headers=user.headers)).json()["data"]
            assert sorted(f["fileName"] for f in info["recordings"]) == [done["fileName"], "filler.bin"]
            # Full to the byte: refused before any work.
            await trio.to_thread.run_sync(_upload_filler, second, user, ids, 500)
            ack, _ = await trio.to_thread.run_sync(_process_ack_only, second.url, user.token, other)
            assert ack["error"]["code"] == "storage_full"
    finally:
        assert second.terminate() == 0
    assert "Traceback" not in second.log_text(), second.log_text()


def _process_ack_only(url: str, token: str, ids: dict[str, str]) -> tuple[Any, None]:
    with recorder(url, token) as peer:
        return peer.call("process-recording", ids), None


payloads = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20) | st.binary(max_size=40),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
        st.sampled_from(["roomId", "recordingId", "videoId", "data", "x"]), inner, max_size=4),
    max_leaves=8,
)  # fmt: skip
KNOWN_CODES = {"invalid_payload", "invalid_field", "not_found", "unknown_video", "room_mismatch"}


def test_random_payloads_get_clear_errors(server: ServerProcess) -> None:
    user = trio.run(_user, server.url)
    with recorder(server.url, user.token) as peer:

        @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
        @given(st.sampled_from(["create-file", "stream", "stop-writing", "process-recording"]), payloads)
        def check(event: str, payload: Any) -> None:
            ack = peer.call(event, payload)
            assert ack["success"] is False and ack["error"]["code"] in KNOWN_CODES, (event, payload, ack)

        check()
        assert peer.client.connected and peer.call("stop-writing", "none")["error"]["code"] == "unknown_video"
    assert httpx.get(f"{server.url}/healthz").status_code == 200


async def _user(url: str) -> User:
    async with httpx.AsyncClient(base_url=url, timeout=30) as c:
        return await make_user(c)
