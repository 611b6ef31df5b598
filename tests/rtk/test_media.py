"""RealtimeKit recordings and livestreams on the real server: an aiortc participant (its participant token) publishes
VP8 + Opus in its meeting; a recording started and stopped over httpx gives an MP4 that PyAV plays, and a
livestream gives an HLS playlist whose segments PyAV decodes."""

from __future__ import annotations

import io

import av
import httpx
import pytest
import trio

from altegon_rt.testing.process import ServerProcess
from tests.interop.test_aiortc import aiortc_producer
from tests.media import hls_rules
from tests.rtk.conftest import Account, make_preset

pytestmark = pytest.mark.slow


async def poll(client: httpx.AsyncClient, url: str, headers: dict[str, str], until: object, timeout_s: float) -> dict:
    """GET ``url`` until ``until(data)`` holds; the last data."""
    data: dict = {}
    with trio.move_on_after(timeout_s):
        while True:
            r = await client.get(url, headers=headers)
            data = r.json().get("data") or {}
            if r.status_code == 200 and until(data):  # type: ignore[operator]
                return data
            await trio.sleep(0.25)
    raise AssertionError(f"{url}: gave up waiting; last answer {data}")


async def participant_token(client: httpx.AsyncClient, account: Account, meeting_id: str) -> str:
    await make_preset(client, account, "speaker")
    url = account.app(f"/meetings/{meeting_id}/participants")
    r = await client.post(url, json={"name": "Ada", "preset_name": "speaker", "custom_participant_id": "ada"},
                          headers=account.headers)  # fmt: skip
    assert r.status_code == 201, r.text
    return r.json()["data"]["token"]  # type: ignore[no-any-return]


def probe(data: bytes) -> dict[str, int]:
    """Frames decoded per kind; packets that do not decode are counted as ``errors``."""
    counts = {"video": 0, "audio": 0, "errors": 0}
    with av.open(io.BytesIO(data)) as container:
        for packet in container.demux(*container.streams):
            try:
                for frame in packet.decode():
                    counts["video" if isinstance(frame, av.VideoFrame) else "audio"] += 1
            except av.error.InvalidDataError:
                counts["errors"] += 1
    return counts


async def test_a_meeting_is_recorded_to_mp4_and_livestreamed_to_hls(
    rtk_server: ServerProcess, client: httpx.AsyncClient, account: Account
) -> None:
    r = await client.post(account.app("/meetings"), json={"title": "webinar"}, headers=account.headers)
    meeting_id = r.json()["data"]["id"]
    token = await participant_token(client, account, meeting_id)
    r = await client.post(account.app("/recordings"), json={"meeting_id": meeting_id}, headers=account.headers)
    assert r.status_code == 201, r.text
    recording = r.json()["data"]
    assert recording["status"] == "INVOKED" and recording["download_url"] is None
    again = await client.post(account.app("/recordings"), json={"meeting_id": meeting_id}, headers=account.headers)
    assert again.status_code == 409 and again.json()["error"]["code"] == "recording_active"
    r = await client.post(account.app(f"/meetings/{meeting_id}/livestreams"), json={"name": "live"},
                          headers=account.headers)  # fmt: skip
    assert r.status_code == 201 and r.json()["data"]["status"] == "INVOKED", r.text
    livestream_id = r.json()["data"]["id"]

    with aiortc_producer(rtk_server.url, f"rtk-{meeting_id}", "--token", token, "--audio"):
        rec_url = account.app(f"/recordings/{recording['id']}")
        await poll(client, rec_url, account.headers, lambda d: d["status"] == "RECORDING", 20)
        active = account.app(f"/meetings/{meeting_id}/active-livestream")
        live = await poll(client, active, account.headers, lambda d: d.get("status") == "LIVE", 20)
        playlist_url = live["playback_url"]
        text = ""
        with trio.move_on_after(40):
            while "#EXTINF" not in text:
                await trio.sleep(0.5)
                text = (await client.get(playlist_url)).text
        playlist = hls_rules.check(text)
        assert playlist.segments, text
        base = playlist_url.rsplit("/", 1)[0]
        init = (await client.get(f"{base}/{playlist.segments[0].map_uri or 'init0.mp4'}")).content
        segment = (await client.get(f"{base}/{playlist.segments[0].uri}")).content
        with av.open(io.BytesIO(init + segment)) as container:
            video = [p for p in container.demux(container.streams.video[0]) if p.size]
            assert container.streams.video[0].codec_context.width == 320
        assert len(video) > 10 and video[0].is_keyframe
        decoded = probe(init + segment)
        assert decoded["audio"] > 10 and decoded["video"] > 10 and decoded["errors"] == 0, decoded
        r = await client.post(account.app(f"/meetings/{meeting_id}/active-livestream/stop"), headers=account.headers)
        assert r.status_code == 200, r.text
        await trio.sleep(2)  # a few seconds of recording
        r = await client.put(rec_url, json={"action": "stop"}, headers=account.headers)
        assert r.status_code == 200 and r.json()["data"]["status"] in ("UPLOADING", "UPLOADED"), r.text

    done = await poll(client, rec_url, account.headers, lambda d: d["status"] in ("UPLOADED", "ERRORED"), 90)
    assert done["status"] == "UPLOADED" and done["stop_reason"]["reason"] == "API_CALL", done
    mp4 = (await client.get(done["download_url"])).content
    assert len(mp4) == done["file_size"] and mp4[4:8] == b"ftyp"
    counts = probe(mp4)
    assert counts["video"] >= 30 and counts["audio"] >= 50 and counts["errors"] == 0, counts
    assert done["recording_duration"] >= 2
    r = await client.get(account.app(f"/recordings/active-recording/{meeting_id}"), headers=account.headers)
    assert r.status_code == 404
    listed = await client.get(account.app("/recordings"), params={"meeting_id": meeting_id}, headers=account.headers)
    assert [d["id"] for d in listed.json()["data"]] == [recording["id"]]

    stream = (await client.get(account.app(f"/livestreams/{livestream_id}"), headers=account.headers)).json()["data"]
    assert stream["livestream"]["status"] == "IDLE" and len(stream["session"]) == 1
    session = stream["session"][0]
    assert session["ingest_seconds"] >= 1 and session["stopped_time"]
    overall = await client.get(account.app("/analytics/livestreams/overall"), headers=account.headers)
    assert overall.json()["data"]["count"] == 1
    daywise = await client.get(account.app("/analytics/daywise"), headers=account.headers)
    assert daywise.json()["data"]["recording_stats"]["recording_count"] == 1
