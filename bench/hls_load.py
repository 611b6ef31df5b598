"""Live broadcasters and LL-HLS viewers for bench/hls.py: N streams sent in real time, their playlists watched.

``python bench/hls_load.py URL CLIP.webm --streams N [--stagger-s 1]`` (runnable by hand against a running
server) starts N python-socketio clients on ``/stream/socket.io/``. Each sends the clip as MediaRecorder with
``timeslice`` 1000 would: chunk ``k`` (media second ``k``, see ``hls_clip.split_chunks``) at ``start + k + 1``
seconds, the streams' starts spread over ``--stagger-s``, then ``endStream``. Beside each sender, a viewer
(httpx) follows ``/hls/<streamId>/index.m3u8`` with LL-HLS blocking reloads (``_HLS_msn``/``_HLS_part`` of
the ``EXT-X-PRELOAD-HINT``), so it sees each part the moment the server lists it, and notes when it first saw
every part and segment.

For each part and segment, the **lag** is the time it was first listed minus the time the chunk holding its
last video frame was sent: what the pipeline adds to the broadcaster's own chunking. Media times come from
the playlist (the parts' durations, summed from the first). Prints one JSON object: per stream, the lags
of parts and segments (in media order), how late the sender was against its schedule, and errors.

Run in one asyncio process (the senders only write 1 s chunks and the viewers wait on long polls);
bench/hls.py raises its priority so that a busy machine delays the workers rather than the broadcasters.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import socketio
from hls_clip import FPS, Chunk, split_chunks

PATH = "/stream/socket.io/"
MIME = "video/webm;codecs=vp8,opus"
_PART = re.compile(r'#EXT-X-PART:DURATION=([0-9.]+),URI="(\d+)\.(\d+)\.m4s"')
_SEGMENT = re.compile(r"#EXTINF:([0-9.]+),\s*\n(\d+)\.m4s")
_HINT = re.compile(r'#EXT-X-PRELOAD-HINT:TYPE=PART,URI="(\d+)\.(\d+)\.m4s"')


@dataclass
class Watched:
    """What one viewer saw: parts ``(msn, index) -> (duration, first seen)``, segments ``msn -> ...``."""

    parts: dict[tuple[int, int], tuple[float, float]] = field(default_factory=dict)
    segments: dict[int, tuple[float, float]] = field(default_factory=dict)
    ended: bool = False
    requests: int = 0

    def read(self, text: str, now: float) -> tuple[int, int] | None:
        """Take in one playlist; the next part to wait for, from the preload hint."""
        for duration, msn, index in _PART.findall(text):
            self.parts.setdefault((int(msn), int(index)), (float(duration), now))
        for duration, msn in _SEGMENT.findall(text):
            self.segments.setdefault(int(msn), (float(duration), now))
        self.ended = "#EXT-X-ENDLIST" in text
        hint = _HINT.search(text)
        return (int(hint.group(1)), int(hint.group(2))) if hint else None


async def watch(client: httpx.AsyncClient, stream_id: str, seen: Watched, deadline: float) -> None:
    want: tuple[int, int] = (0, 0)
    while not seen.ended and time.monotonic() < deadline:
        params = {"_HLS_msn": str(want[0]), "_HLS_part": str(want[1])}
        r = await client.get(f"/hls/{stream_id}/index.m3u8", params=params)
        seen.requests += 1
        if r.status_code != 200:
            await asyncio.sleep(0.05)  # not listed yet (a playlist before the first part) or too far ahead
            continue
        hint = seen.read(r.text, time.monotonic())
        if hint is not None:
            want = hint
        elif not seen.ended:
            await asyncio.sleep(0.05)


def lags(seen: Watched, chunks: list[Chunk], sent: list[float]) -> dict[str, list[float]]:
    """Per part and per segment (media order): first listed minus the send time of the chunk holding its last
    frame. Parts of the first chunk (the worker starting) and of the last (closed by endStream) are left out."""
    frame_s = 1 / FPS

    def chunk_of(end_s: float) -> int | None:
        last_frame = end_s - frame_s - 0.005
        return next((c.index for c in chunks if c.last_frame_s >= last_frame), None)

    out: dict[str, list[float]] = {"part": [], "segment": [], "first_part": []}
    media = 0.0
    segment_end: dict[int, float] = {}
    for (msn, _), (duration, listed) in sorted(seen.parts.items()):
        media += duration
        segment_end[msn] = media
        k = chunk_of(media)
        if k is None or k >= len(sent):
            continue
        if not out["first_part"]:
            out["first_part"].append(listed - sent[0])
        if 0 < k < len(chunks) - 1:
            out["part"].append(listed - sent[k])
    for msn, (_, listed) in sorted(seen.segments.items()):
        k = chunk_of(segment_end.get(msn, -1.0))
        if k is not None and 0 < k < len(chunks) - 1 and k < len(sent):
            out["segment"].append(listed - sent[k])
    return out


async def broadcast(url: str, chunks: list[Chunk], offset_s: float, start: float, run_s: float) -> dict[str, Any]:
    errors: list[Any] = []
    sio = socketio.AsyncClient(reconnection=False)
    sio.on("error", lambda data: errors.append(data))
    await sio.connect(url, socketio_path=PATH, transports=["websocket"], wait_timeout=10)
    seen = Watched()
    sent: list[float] = []
    late: list[float] = []
    try:
        ack = await sio.call("startStream", {"title": "bench", "mimeType": MIME}, timeout=10)
        if "streamId" not in ack:
            return {"error": ack}
        stream_id = ack["streamId"]
        async with httpx.AsyncClient(base_url=url, timeout=20) as client:
            viewer = asyncio.create_task(watch(client, stream_id, seen, start + offset_s + run_s + 30))
            for chunk in chunks:
                due = start + offset_s + chunk.index + 1.0
                await asyncio.sleep(max(0.0, due - time.monotonic()))
                sent.append(time.monotonic())
                late.append(sent[-1] - due)
                answer = await sio.call("videoBlob", {"streamId": stream_id, "data": chunk.data}, timeout=20)
                if answer != {"success": True}:
                    errors.append(answer)
            await sio.call("endStream", {"streamId": stream_id}, timeout=20)
            await viewer
    finally:
        await sio.disconnect()
    return {"streamId": stream_id, "lags": lags(seen, chunks, sent), "late": late, "errors": errors[:5],
            "ended": seen.ended, "parts": len(seen.parts), "segments": len(seen.segments),
            "requests": seen.requests}  # fmt: skip


async def run(url: str, clip: Path, streams: int, stagger_s: float) -> list[dict[str, Any]]:
    chunks = split_chunks(clip.read_bytes())
    start = time.monotonic() + 1.0
    run_s = float(len(chunks))
    tasks = [broadcast(url, chunks, stagger_s * i / streams, start, run_s) for i in range(streams)]
    return list(await asyncio.gather(*tasks))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("clip", type=Path)
    parser.add_argument("--streams", type=int, default=1)
    parser.add_argument("--stagger-s", type=float, default=1.0)
    args = parser.parse_args()
    results = asyncio.run(run(args.url, args.clip, args.streams, args.stagger_s))
    json.dump(results, sys.stdout)
    print()


if __name__ == "__main__":
    main()
