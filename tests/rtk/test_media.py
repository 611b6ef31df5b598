"""RealtimeKit recordings and livestreams on the real server: an aiortc participant (its participant token) publishes
VP8 + Opus in its meeting; a recording started and stopped over httpx gives an MP4 that PyAV plays, and a
livestream gives an HLS playlist whose segments PyAV decodes. Two participants, one joining late and leaving
early, are recorded side by side while both publish."""

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


async def participant_token(client: httpx.AsyncClient, account: Account, meeting_id: str, name: str = "Ada",
                            new_preset: bool = True) -> str:  # fmt: skip
    if new_preset:
        await make_preset(client, account, "speaker")
    url = account.app(f"/meetings/{meeting_id}/participants")
    body = {"name": name, "preset_name": "speaker", "custom_participant_id": name.lower()}
    r = await client.post(url, json=body, headers=account.headers)
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
            while text.count("#EXTINF") < 2:
                await trio.sleep(0.5)
                text = (await client.get(playlist_url)).text
        playlist = hls_rules.check(text)
        assert len(playlist.segments) >= 2, text
        base = playlist_url.rsplit("/", 1)[0]
        init = (await client.get(f"{base}/{playlist.segments[1].map_uri or 'init0.mp4'}")).content
        # The second segment: the first may start before the participant's audio reaches the tap (its parts do
        # not wait for audio that has not begun), which is a start-up property, not the stream's.
        segment = (await client.get(f"{base}/{playlist.segments[1].uri}")).content
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


RED, BLUE = (90, 240), (240, 110)  # U, V tints of the two peers' patterns
BLACK = (128, 128)


def tiles(mp4: bytes) -> list[tuple[float, str]]:
    """What each frame of a 640x240 grid shows, by the tint at three points: ``"A"`` (the first peer, alone,
    centred), ``"AB"`` (both, side by side), ``"B"``, ``"-"`` (black: nobody's video yet or any more), or ``"?"``."""

    def tint(frame: av.VideoFrame, x: int) -> tuple[int, int]:
        u, v = (bytes(p)[60 * p.line_size + x // 2] for p in frame.planes[1:])
        return u, v

    def near(a: tuple[int, int], b: tuple[int, int]) -> bool:
        return abs(a[0] - b[0]) <= 16 and abs(a[1] - b[1]) <= 16

    shown = []
    with av.open(io.BytesIO(mp4)) as container:
        assert (container.streams.video[0].width, container.streams.video[0].height) == (640, 240)
        for frame in container.decode(video=0):
            left, middle, right = tint(frame, 40), tint(frame, 320), tint(frame, 600)
            if near(left, BLACK) and near(right, BLACK):
                label = "A" if near(middle, RED) else "B" if near(middle, BLUE) else "-" if near(middle, BLACK) else "?"
            else:
                label = "AB" if near(left, RED) and near(right, BLUE) else "?"
            shown.append((float(frame.time), label))
    return shown


async def test_two_peers_are_recorded_side_by_side_while_both_publish(
    rtk_server: ServerProcess, client: httpx.AsyncClient, account: Account
) -> None:
    r = await client.post(account.app("/meetings"), json={"title": "two"}, headers=account.headers)
    meeting_id = r.json()["data"]["id"]
    ada = await participant_token(client, account, meeting_id, "Ada")
    bob = await participant_token(client, account, meeting_id, "Bob", new_preset=False)
    r = await client.post(account.app("/recordings"), json={"meeting_id": meeting_id}, headers=account.headers)
    assert r.status_code == 201, r.text
    rec_url = account.app(f"/recordings/{r.json()['data']['id']}")
    room = f"rtk-{meeting_id}"
    with aiortc_producer(rtk_server.url, room, "--token", ada, "--audio", "--chroma", "90,240"):
        await poll(client, rec_url, account.headers, lambda d: d["status"] == "RECORDING", 20)
        await trio.sleep(1.5)
        with aiortc_producer(rtk_server.url, room, "--token", bob, "--audio", "--chroma", "240,110"):
            await trio.sleep(3)
        await trio.sleep(1.5)
        r = await client.put(rec_url, json={"action": "stop"}, headers=account.headers)
        assert r.status_code == 200, r.text
    done = await poll(client, rec_url, account.headers, lambda d: d["status"] in ("UPLOADED", "ERRORED"), 90)
    assert done["status"] == "UPLOADED", done
    mp4 = (await client.get(done["download_url"])).content
    shown = tiles(mp4)
    runs = [label for i, (_, label) in enumerate(shown) if i == 0 or label != shown[i - 1][1]]
    while runs and runs[0] == "-":  # black until Ada's first video frame (her audio may come first)
        runs.pop(0)
    while runs and runs[-1] == "-":
        runs.pop()
    assert runs == ["A", "AB", "A"], shown  # Ada alone, then both, then Ada alone again
    both = [t for t, label in shown if label == "AB"]
    assert 2.0 <= both[-1] - both[0] <= 4.0, both  # Bob's three seconds, within the SFU's and aiortc's delays
    counts = probe(mp4)
    assert counts["audio"] >= 100 and counts["errors"] == 0, counts
