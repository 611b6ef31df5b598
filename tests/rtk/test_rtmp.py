"""Independent livestreams: FFmpeg's RTMP client (through PyAV) publishes libx264 (with B-frames) and AAC to the
real server's RTMP ingest, viewers get LL-HLS that decodes; wrong keys, other codecs and garbage are refused
and the server goes on."""

from __future__ import annotations

import json
import os
import socket
import time
from fractions import Fraction
from typing import Any

import av
import av.error
import httpx
import numpy as np
import pytest
import trio

from altegon_rt.rtmp.connection import HANDSHAKE_SIZE
from altegon_rt.testing.process import ServerProcess
from tests.api.loopback_http import stop_http
from tests.media import hls_rules
from tests.rtk.conftest import Account
from tests.rtk.test_media import poll, probe
from tests.rtk.test_webhooks import Receiver
from tests.rtmp.client import C1, Publisher, c0c1, commands, recv_until_closed


def publish(url: str, seconds: float, *, realtime: bool = True) -> int:
    """Encode ``seconds`` of 320x240 video at 30 fps (libx264, B-frames) and AAC, publish them to ``url`` with
    FFmpeg's RTMP client, paced like a live source; the video frames sent."""
    out = av.open(url, "w", format="flv", options={"rw_timeout": "10000000"})
    try:
        video = out.add_stream("libx264", rate=30)
        video.width, video.height, video.pix_fmt = 320, 240, "yuv420p"
        video.codec_context.options = {"preset": "veryfast", "g": "30", "bf": "2", "tune": "fastdecode"}
        audio = out.add_stream("aac", rate=44100)
        audio.layout = "stereo"
        start, samples, frames = time.monotonic(), 0, int(seconds * 30)
        for i in range(frames):
            picture = np.zeros((240, 320, 3), np.uint8)
            picture[:, : (i * 4) % 320] = (200, 40, 40)
            frame = av.VideoFrame.from_ndarray(picture, format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, 30)
            out.mux(video.encode(frame))
            while samples < (i + 1) * 44100 / 30:
                t = (np.arange(1024) + samples) / 44100
                tone = (0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
                sound = av.AudioFrame.from_ndarray(np.stack([tone, tone]), format="fltp", layout="stereo")
                sound.sample_rate, sound.pts = 44100, samples
                out.mux(audio.encode(sound))
                samples += 1024
            if realtime:
                time.sleep(max(0.0, start + (i + 1) / 30 - time.monotonic()))
        out.mux(video.encode(None))
        out.mux(audio.encode(None))
    finally:
        out.close()
    return frames


async def create(client: httpx.AsyncClient, account: Account, name: str = "launch") -> dict[str, Any]:
    r = await client.post(account.app("/livestreams"), json={"name": name}, headers=account.headers)
    assert r.status_code == 201, r.text
    return r.json()["data"]  # type: ignore[no-any-return]


async def hls_counts(client: httpx.AsyncClient, playback_url: str) -> tuple[hls_rules.Playlist, dict[str, int]]:
    """The ended playlist (checked against the RFC's rules) and the frames its segments decode to."""
    text = ""
    with trio.fail_after(30):
        while "#EXT-X-ENDLIST" not in text:
            await trio.sleep(0.3)
            text = (await client.get(playback_url)).text
    playlist = hls_rules.check(text)
    base = playback_url.rsplit("/", 1)[0]
    init = (await client.get(f"{base}/{playlist.segments[0].map_uri or 'init0.mp4'}")).content
    media = b"".join([(await client.get(f"{base}/{s.uri}")).content for s in playlist.segments])
    return playlist, probe(init + media)


@pytest.mark.slow
async def test_an_rtmp_encoder_livestreams_to_hls(
    rtk_server: ServerProcess, client: httpx.AsyncClient, account: Account
) -> None:
    receiver = Receiver(failures=0)
    hook = {"name": "h", "url": receiver.url, "events": ["livestreaming.statusUpdate"]}
    r = await client.post(account.app("/webhooks"), json=hook, headers=account.headers)
    assert r.status_code == 201, r.text
    created = await create(client, account)
    assert created["status"] == "IDLE" and created["meeting_id"] is None and not created["disabled"]
    assert created["ingest_server"] == f"rtmp://127.0.0.1:{rtk_server.rtmp_port}/live"
    assert created["playback_url"] == f"/hls/{created['id']}/index.m3u8" and len(created["stream_key"]) >= 32
    url = account.app(f"/livestreams/{created['id']}")
    assert (await client.get(url, headers=account.headers)).json()["data"]["session"] == []
    target = f"{created['ingest_server']}/{created['stream_key']}"

    async with trio.open_nursery() as nursery:
        sent: list[int] = []
        nursery.start_soon(lambda: _publish_in_thread(target, 5.0, sent))
        live = await poll(client, url, account.headers, lambda d: d["livestream"]["status"] == "LIVE", 20)
        assert live["session"][0]["started_time"] and live["session"][0]["stopped_time"] is None
        active = await client.get(f"{url}/active-livestream-session", headers=account.headers)
        assert active.status_code == 200 and active.json()["data"]["session"]["id"] == live["session"][0]["id"]
    assert sent == [150]

    playlist, counts = await hls_counts(client, created["playback_url"])
    assert sum(s.duration for s in playlist.segments) == pytest.approx(5.0, abs=0.3)
    assert counts["video"] >= 145 and counts["audio"] >= 200 and counts["errors"] == 0, counts
    done = await poll(client, url, account.headers, lambda d: d["livestream"]["status"] == "IDLE", 10)
    session = done["session"][0]
    assert session["stopped_time"] and session["ingest_seconds"] >= 4 and session["err_message"] is None
    listed = await client.get(account.app("/livestreams"), params={"exclude_meetings": "true"}, headers=account.headers)
    assert [d["id"] for d in listed.json()["data"]] == [created["id"]]
    overall = await client.get(account.app("/analytics/livestreams/overall"), headers=account.headers)
    assert overall.json()["data"]["count"] == 1 and overall.json()["data"]["total_ingest_seconds"] >= 4
    bodies = [json.loads(r["body"]) for r in await receiver.wait_for(2)]
    assert [b["livestream"]["status"] for b in bodies[:2]] == ["LIVE", "IDLE"]
    assert all(b["event"] == "livestreaming.statusUpdate" and b["livestream"]["id"] == created["id"] for b in bodies)
    stop_http(receiver.server)


async def _publish_in_thread(url: str, seconds: float, sent: list[int]) -> None:
    sent.append(await trio.to_thread.run_sync(publish, url, seconds))


@pytest.mark.slow
async def test_wrong_keys_are_refused_and_a_livestream_is_published_again(
    rtk_server: ServerProcess, client: httpx.AsyncClient, account: Account
) -> None:
    created = await create(client, account, "twice")
    base = created["ingest_server"]
    for wrong in (created["stream_key"][:-1] + "x", "short", f"../{created['stream_key']}"):
        with pytest.raises(av.error.FFmpegError):
            await trio.to_thread.run_sync(lambda k=wrong: publish(f"{base}/{k}", 0.5, realtime=False))
    with pytest.raises(av.error.FFmpegError):  # the right key under another application
        await trio.to_thread.run_sync(
            lambda: publish(base.replace("/live", "/other") + "/" + created["stream_key"], 0.5)
        )
    url = account.app(f"/livestreams/{created['id']}")
    assert (await client.get(url, headers=account.headers)).json()["data"]["session"] == []
    assert rtk_server.wait_for_log("publish refused: no livestream has this stream key", 5) is not None

    for _ in range(2):  # the same key twice: two sessions, one playback URL
        await trio.to_thread.run_sync(lambda: publish(f"{base}/{created['stream_key']}", 2.0, realtime=False))
        await poll(client, url, account.headers, lambda d: d["livestream"]["status"] == "IDLE", 10)
    _, counts = await hls_counts(client, created["playback_url"])
    assert counts["video"] >= 55 and counts["errors"] == 0, counts
    sessions = (await client.get(url, headers=account.headers)).json()["data"]["session"]
    assert len(sessions) == 2 and all(s["stopped_time"] and s["err_message"] is None for s in sessions)


def _raw(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    return sock


def _publish_raw(port: int, key: str) -> tuple[socket.socket, Publisher, bytes]:
    """Handshake, connect and publish with exact bytes; what the server answered so far."""
    sock, client = _raw(port), Publisher()
    sock.sendall(c0c1())
    received = b""
    while len(received) < 1 + 2 * HANDSHAKE_SIZE:
        received += sock.recv(65536)
    sock.sendall(C1 + client.connect() + client.publish_sequence(key))
    return sock, client, received[1 + 2 * HANDSHAKE_SIZE :]


async def test_garbage_and_other_codecs_close_the_connection_and_the_server_goes_on(
    rtk_server: ServerProcess, client: httpx.AsyncClient, account: Account
) -> None:
    port = rtk_server.rtmp_port
    assert port
    for garbage in (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", os.urandom(5000), c0c1() + C1 + b"\xc3" * 40):
        with _raw(port) as sock:
            sock.sendall(garbage)
            recv_until_closed(sock)  # closed by the server (a timeout would raise)

    created = await create(client, account, "vp6")
    sock, publisher, early = await trio.to_thread.run_sync(_publish_raw, port, created["stream_key"])
    with sock:
        await trio.sleep(0.5)  # the publish is accepted before media comes
        sock.sendall(publisher.media("video", 0, b"\x14\x00" + bytes(50)))  # On2 VP6
        answers = publisher.answers(early + await trio.to_thread.run_sync(recv_until_closed, sock))
    statuses = [c[3] for c in commands(answers) if c[0] == "onStatus"]
    assert [s["code"] for s in statuses] == ["NetStream.Publish.Start", "NetStream.Publish.Rejected"], statuses
    assert statuses[1]["description"].startswith("video codec On2 VP6 is not supported: send H.264")
    url = account.app(f"/livestreams/{created['id']}")
    done = await poll(client, url, account.headers, lambda d: d["session"] and d["session"][0]["stopped_time"], 10)
    assert done["livestream"]["status"] == "ERRORED" and "On2 VP6" in done["session"][0]["err_message"]
    assert (await client.get("/readyz")).status_code == 200
    assert "Traceback" not in rtk_server.log_text()
