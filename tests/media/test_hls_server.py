"""Live streaming on the real server: python-socketio sends PyAV-made WebM or fragmented MP4 in chunks to
/stream/socket.io/, httpx plays /hls/{streamId}/ (LL-HLS blocking reload included), PyAV decodes the segments,
and the playlists are checked against RFC 8216's rules."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio

from altegon_rt.testing.process import ServerProcess
from tests.conftest import HIGH_LIMITS, make_user
from tests.media.hls_rules import Playlist, check, check_reload
from tests.media.webm import chunks, make_mp4, make_webm
from tests.media.worker_runs import probe_segment
from tests.realtime.test_meet import Peer

PATH = "/stream/socket.io/"
HLS_ENV = {**HIGH_LIMITS, "ALTEGON_HLS_X264_PRESET": "ultrafast", "ALTEGON_HLS_SENDER_TIMEOUT_S": "6",
           "ALTEGON_HLS_RELOAD_TIMEOUT_S": "5", "ALTEGON_HLS_MAX_STREAMS": "6"}  # fmt: skip
MIME = {"vp8": "video/webm;codecs=vp8,opus", "vp9": "video/webm;codecs=vp9,opus", "h264": "video/webm;codecs=h264,opus",
        "mp4-h264-aac": 'video/mp4;codecs="avc1.42E01E,mp4a.40.2"', "mp4-h264-opus": "video/mp4;codecs=avc1,opus",
        "mp4-vp9-opus": "video/mp4;codecs=vp9,opus"}  # fmt: skip


def make_media(codec: str, seconds: float) -> bytes:
    """What MediaRecorder made with ``MIME[codec]`` records."""
    if codec.startswith("mp4-"):
        _, video, audio = codec.split("-")
        return make_mp4(video, audio, seconds)
    return make_webm(codec, seconds)


pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def hls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    proc = ServerProcess(tmp_path_factory.mktemp("hls-server"), env=HLS_ENV)
    yield proc
    assert proc.terminate() == 0, proc.log_text()
    assert "Traceback" not in proc.log_text(), proc.log_text()


def broadcast(url: str, codec: str, seconds: float, token: str | None = None) -> tuple[Peer, str, list[bytes]]:
    pieces = chunks(make_media(codec, seconds), max(2, round(seconds)))  # before the stream's timeout starts
    peer = Peer(url, token, path=PATH)
    ack = peer.call("startStream", {"title": f"{codec} test", "mimeType": MIME[codec]})
    assert set(ack) == {"streamId"}, ack
    return peer, ack["streamId"], pieces


def send_all(peer: Peer, stream_id: str, pieces: list[bytes]) -> list[Any]:
    return [peer.call("videoBlob", {"streamId": stream_id, "data": piece}) for piece in pieces]


async def playlist(client: httpx.AsyncClient, stream_id: str, **query: int) -> tuple[httpx.Response, Playlist]:
    params = {f"_HLS_{k}": str(v) for k, v in query.items()}
    r = await client.get(f"/hls/{stream_id}/index.m3u8", params=params, timeout=15)
    assert r.status_code == 200, r.text
    return r, check(r.text)


async def until_ended(client: httpx.AsyncClient, stream_id: str) -> Playlist:
    for _ in range(20):
        _, parsed = await playlist(client, stream_id)
        if parsed.ended:
            return parsed
        await trio.sleep(0.5)
    raise AssertionError("the playlist never ended")


def probe(init: bytes, segment: bytes) -> dict[str, Any]:
    """The segment as a player takes it: every video and audio sample is decoded."""
    found = probe_segment(init, segment)
    assert found["decoded"] == found["video"] > 0 and found["audio"] > 0, found
    assert found["decoded_audio"] == found["audio"], found
    return found


@pytest.mark.parametrize("codec", ["vp8", "h264", "vp9", "mp4-h264-aac", "mp4-h264-opus", "mp4-vp9-opus"])
async def test_stream_plays_as_ll_hls(hls_server: ServerProcess, codec: str) -> None:
    peer, stream_id, pieces = await trio.to_thread.run_sync(broadcast, hls_server.url, codec, 6.0)
    viewer = await trio.to_thread.run_sync(Peer, hls_server.url, None, PATH)
    try:
        acks = await trio.to_thread.run_sync(send_all, peer, stream_id, pieces)
        assert acks == [{"success": True}] * len(pieces)
        async with httpx.AsyncClient(base_url=hls_server.url, timeout=15) as client:
            r, live = await playlist(client, stream_id, msn=1)  # blocks until segment 1 is listed
            assert r.headers["content-type"] == "application/vnd.apple.mpegurl"
            assert r.headers["access-control-allow-origin"] == "*"
            assert len(live.segments) >= 2 and live.can_block_reload and live.part_target == 0.5
            assert live.target_duration == 2 and not live.ended
            ended = await trio.to_thread.run_sync(peer.call, "endStream", {"streamId": stream_id})
            assert ended == {"streamId": stream_id}
            assert await trio.to_thread.run_sync(viewer.next, "endStream") == {"streamId": stream_id}
            final = await until_ended(client, stream_id)
            check_reload(live, final)
            assert sum(s.duration for s in final.segments) == pytest.approx(6.0, abs=0.1)
            init = await client.get(f"/hls/{stream_id}/{final.segments[0].map_uri}")
            assert init.headers["content-type"] == "video/mp4" and "immutable" in init.headers["cache-control"]
            for segment in final.segments:
                r = await client.get(f"/hls/{stream_id}/{segment.uri}")
                assert r.status_code == 200 and r.headers["access-control-allow-origin"] == "*"
                found = probe(init.content, r.content)
                assert found["codecs"] == ["aac", "h264"] and found["key_first"], found
                assert found["span"] <= final.target_duration + 0.05, found
        streams = await trio.to_thread.run_sync(viewer.call, "getStreams")
        assert {"streamId": stream_id, "title": f"{codec} test", "active": False} in streams
    finally:
        peer.close()
        viewer.close()


async def test_blocking_reload_waits_for_the_next_part(hls_server: ServerProcess) -> None:
    peer, stream_id, pieces = await trio.to_thread.run_sync(broadcast, hls_server.url, "vp8", 6.0)
    try:
        await trio.to_thread.run_sync(send_all, peer, stream_id, pieces[:3])
        async with httpx.AsyncClient(base_url=hls_server.url, timeout=15) as client:
            _, first = await playlist(client, stream_id, msn=0)
            assert first.segments, "three seconds of media make a segment"
            next_msn = first.media_sequence + len(first.segments) + 1
            results: dict[str, Any] = {}

            async def wait_for_it() -> None:
                started = trio.current_time()
                _, results["playlist"] = await playlist(client, stream_id, msn=next_msn, part=0)
                results["waited"] = trio.current_time() - started

            async with trio.open_nursery() as nursery:
                nursery.start_soon(wait_for_it)
                await trio.sleep(0.8)
                assert "playlist" not in results  # still held
                await trio.to_thread.run_sync(send_all, peer, stream_id, pieces[3:])
            after = results["playlist"]
            assert results["waited"] >= 0.8
            listed = after.media_sequence + len(after.segments)
            assert listed > next_msn or (listed == next_msn and after.open_parts), after
            check_reload(first, after)
            r = await client.get(f"/hls/{stream_id}/index.m3u8", params={"_HLS_msn": str(listed + 5)})
            assert r.status_code == 400 and r.json()["error"]["code"] == "hls_msn_too_far"
            r = await client.get(f"/hls/{stream_id}/..%2Fsource.webm")
            assert r.status_code in (400, 404)
            r = await client.get(f"/hls/{stream_id}/source.webm")
            assert r.status_code == 400
    finally:
        await trio.to_thread.run_sync(peer.call, "endStream", {"streamId": stream_id})
        peer.close()


def _ownership(url: str, owner_token: str, other_token: str) -> dict[str, Any]:
    owner = Peer(url, owner_token, path=PATH)
    same_user = Peer(url, owner_token, path=PATH)
    stranger = Peer(url, other_token, path=PATH)
    anonymous = Peer(url, None, path=PATH)
    try:
        stream_id = owner.call("startStream", {"title": "mine", "mimeType": "video/webm;codecs=vp8"})["streamId"]
        piece = chunks(make_webm("vp8", 1.0), 2)[0]
        return {
            "stranger_blob": stranger.call("videoBlob", {"streamId": stream_id, "data": piece}),
            "anonymous_end": anonymous.call("endStream", {"streamId": stream_id}),
            "same_user_blob": same_user.call("videoBlob", {"streamId": stream_id, "data": piece}),
            "bad_mime": owner.call("startStream", {"title": "x", "mimeType": "video/mp4;codecs=hevc"}),
            "unknown": owner.call("videoBlob", {"streamId": "nope", "data": piece}),
            "not_binary": owner.call("videoBlob", {"streamId": stream_id, "data": "text"}),
            "owner_end": owner.call("endStream", {"streamId": stream_id}),
            "again": owner.call("endStream", {"streamId": stream_id}),
        }
    finally:
        for peer in (owner, same_user, stranger, anonymous):
            peer.close()


async def test_only_the_owner_may_send_or_end(hls_server: ServerProcess) -> None:
    async with httpx.AsyncClient(base_url=hls_server.url) as client:
        alice, bob = await make_user(client), await make_user(client)
    result = await trio.to_thread.run_sync(_ownership, hls_server.url, alice.token, bob.token)
    assert result["stranger_blob"]["error"]["code"] == "forbidden"
    assert result["anonymous_end"]["error"]["code"] == "forbidden"
    assert result["same_user_blob"] == {"success": True}
    assert result["bad_mime"]["error"]["code"] == "unsupported_mime_type"
    assert result["unknown"]["error"]["code"] == "not_found"
    assert result["not_binary"]["error"]["code"] == "invalid_field"
    assert set(result["owner_end"]) == {"streamId"}
    assert result["again"]["error"]["code"] == "stream_ended"


def _corrupt_and_good(url: str) -> dict[str, Any]:
    good, good_id, good_pieces = broadcast(url, "vp8", 4.0)
    bad, bad_id, bad_pieces = broadcast(url, "vp8", 4.0)
    random = Peer(url, None, path=PATH)
    send_all(good, good_id, good_pieces[:1])
    try:
        random_id = random.call("startStream", {"title": "noise", "mimeType": "video/webm"})["streamId"]
        result: dict[str, Any] = {"ids": (good_id, bad_id)}
        result["random_first"] = random.call("videoBlob", {"streamId": random_id, "data": os.urandom(5000)})
        bad.call("videoBlob", {"streamId": bad_id, "data": bad_pieces[0][:200]})  # the header, cut short
        # Zero bytes are no valid EBML id or size, so the demuxer fails at once; random bytes could read as a
        # large element and leave it waiting for more (then the stream ends by the sender timeout instead).
        result["garbage"] = bad.call("videoBlob", {"streamId": bad_id, "data": bytes(20_000)})
        result["good"] = send_all(good, good_id, good_pieces[1:])
        result["bad_error"] = bad.next("error")
        result["good_end"] = good.call("endStream", {"streamId": good_id})
        random.call("endStream", {"streamId": random_id})
        return result
    finally:
        for peer in (good, bad, random):
            peer.close()


async def test_corrupt_chunks_get_an_error_and_other_streams_go_on(hls_server: ServerProcess) -> None:
    result = await trio.to_thread.run_sync(_corrupt_and_good, hls_server.url)
    good_id, bad_id = result["ids"]
    assert result["random_first"]["error"]["code"] == "invalid_media"
    assert result["garbage"] == {"success": True}  # stored; the worker finds it broken
    error = result["bad_error"]
    assert error["streamId"] == bad_id and error["code"] == "invalid_media" and error["message"]
    assert result["good"] == [{"success": True}] * 3
    async with httpx.AsyncClient(base_url=hls_server.url, timeout=15) as client:
        final = await until_ended(client, good_id)
        assert sum(s.duration for s in final.segments) == pytest.approx(4.0, abs=0.1)
        assert (await client.get("/healthz")).status_code == 200


def _byte_by_byte_start(url: str) -> dict[str, Any]:
    """Chromium's MediaRecorder with a 50 ms timeslice sends the EBML magic's first byte as its first chunk."""
    peer, stream_id, pieces = broadcast(url, "vp8", 2.0)
    other, other_id, _ = broadcast(url, "vp8", 2.0)
    try:
        first = pieces[0]
        acks = send_all(peer, stream_id, [first[:1], first[1:3], first[3:], *pieces[1:]])
        wrong = other.call("videoBlob", {"streamId": other_id, "data": b"\x1a\x45\x00"})
        other.call("endStream", {"streamId": other_id})
        ended = peer.call("endStream", {"streamId": stream_id})
        return {"acks": acks, "wrong": wrong, "ended": ended, "id": stream_id}
    finally:
        peer.close()
        other.close()


async def test_a_stream_may_start_with_a_chunk_shorter_than_the_ebml_magic(hls_server: ServerProcess) -> None:
    result = await trio.to_thread.run_sync(_byte_by_byte_start, hls_server.url)
    assert result["acks"] == [{"success": True}] * len(result["acks"])
    assert result["wrong"]["error"]["code"] == "invalid_media"
    async with httpx.AsyncClient(base_url=hls_server.url, timeout=15) as client:
        final = await until_ended(client, result["id"])
        assert sum(s.duration for s in final.segments) == pytest.approx(2.0, abs=0.1)


def _mp4_first_bytes(url: str) -> dict[str, Any]:
    """An MP4 stream starts with an ``ftyp`` box, however MediaRecorder chunks it; WebM sent to it is refused."""
    peer, stream_id, pieces = broadcast(url, "mp4-h264-aac", 2.0)
    other, other_id, _ = broadcast(url, "mp4-h264-aac", 2.0)
    try:
        first = pieces[0]
        acks = send_all(peer, stream_id, [first[:1], first[1:6], first[6:], *pieces[1:]])
        webm = other.call("videoBlob", {"streamId": other_id, "data": chunks(make_webm("vp8", 1.0), 2)[0]})
        other.call("endStream", {"streamId": other_id})
        ended = peer.call("endStream", {"streamId": stream_id})
        return {"acks": acks, "webm": webm, "ended": ended, "id": stream_id}
    finally:
        peer.close()
        other.close()


async def test_an_mp4_stream_must_start_with_ftyp_in_any_chunking(hls_server: ServerProcess) -> None:
    result = await trio.to_thread.run_sync(_mp4_first_bytes, hls_server.url)
    assert result["acks"] == [{"success": True}] * len(result["acks"])
    assert result["webm"]["error"] == {"code": "invalid_media", "message": "a stream must start with an MP4 'ftyp' "
                                       "box, as MediaRecorder's first chunk does"}  # fmt: skip
    async with httpx.AsyncClient(base_url=hls_server.url, timeout=15) as client:
        final = await until_ended(client, result["id"])
        assert sum(s.duration for s in final.segments) == pytest.approx(2.0, abs=0.1)


def _silent_sender(url: str) -> dict[str, Any]:
    sender, stream_id, pieces = broadcast(url, "vp8", 2.0)
    viewer = Peer(url, None, path=PATH)
    try:
        sender.call("videoBlob", {"streamId": stream_id, "data": pieces[0]})
        started = time.monotonic()
        error = sender.next("error")
        after = time.monotonic() - started
        ended = viewer.next("endStream")
        while ended["streamId"] != stream_id:  # other tests' streams end too
            ended = viewer.next("endStream")
        return {"id": stream_id, "error": error, "after": after, "ended": ended}
    finally:
        sender.close()
        viewer.close()


async def test_a_silent_sender_is_ended_after_the_timeout(hls_server: ServerProcess) -> None:
    result = await trio.to_thread.run_sync(_silent_sender, hls_server.url)
    assert result["error"]["code"] == "sender_timeout" and result["error"]["streamId"] == result["id"]
    assert 5.0 <= result["after"] <= 12.0
    assert result["ended"] == {"streamId": result["id"]}


def _worker_pids(data_dir: Path, stream_id: str) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if b"altegon_rt.media.worker" in cmdline and stream_id.encode() in cmdline:
                pids.append(int(entry.name))
    return pids


async def test_a_killed_worker_is_replaced_after_a_discontinuity(hls_server: ServerProcess) -> None:
    peer, stream_id, pieces = await trio.to_thread.run_sync(broadcast, hls_server.url, "vp8", 8.0)
    try:
        await trio.to_thread.run_sync(send_all, peer, stream_id, pieces[:4])
        async with httpx.AsyncClient(base_url=hls_server.url, timeout=15) as client:
            _, before = await playlist(client, stream_id, msn=1)
            pids = _worker_pids(hls_server.data_dir, stream_id)
            assert len(pids) == 1
            os.kill(pids[0], signal.SIGKILL)  # what a crash in the codec libraries looks like from outside
            await trio.to_thread.run_sync(send_all, peer, stream_id, pieces[4:])
            await trio.to_thread.run_sync(peer.call, "endStream", {"streamId": stream_id})
            final = await until_ended(client, stream_id)
            check_reload(before, final)
            restarted = [s for s in final.segments if s.discontinuity]
            assert len(restarted) == 1 and restarted[0].map_uri == "init1.mp4"
            assert final.segments[-1].msn > before.segments[-1].msn
            for segment in final.segments:
                init = (await client.get(f"/hls/{stream_id}/{segment.map_uri}")).content
                r = await client.get(f"/hls/{stream_id}/{segment.uri}")
                assert r.status_code == 200, (segment, r.text, final)
                found = probe(init, r.content)
                assert found["codecs"] == ["aac", "h264"] and found["span"] <= 2.05
    finally:
        peer.close()
