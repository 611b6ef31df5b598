"""Running a stream's worker in-process over test media, and checking what it made the way a player would."""

from __future__ import annotations

import io
import json
import threading
from pathlib import Path
from typing import Any

import av
import pytest
from hypothesis import strategies as st

from altegon_rt.media.ingest import GrowingFile
from altegon_rt.media.playlist import MediaPlaylist
from altegon_rt.media.worker import Events, StreamWorker
from tests.media.fragments import nal_types, read_fragments
from tests.media.hls_rules import Playlist, check
from tests.media.webm import chunks

SETTINGS = {"target_s": 2.0, "max_segment_s": 2.49, "part_s": 0.5, "x264_preset": "ultrafast",
            "first_msn": 0, "generation": 0, "resume_after_s": -1.0}  # fmt: skip


def run_worker(tmp: Path, media: bytes, pieces: int = 8, **overrides: Any) -> tuple[int, list[dict[str, Any]]]:
    """Feed ``media`` in ``pieces`` from another thread, as the server does; the exit status and the events.
    ``format="mp4"`` (in ``overrides``) reads it as MP4, else it is WebM."""
    source = tmp / "source"
    source.write_bytes(b"")
    reader = GrowingFile(source)

    def feed() -> None:
        with source.open("ab") as fh:
            for piece in chunks(media, pieces):
                fh.write(piece)
                fh.flush()
                reader.grow(fh.tell())
        reader.finish()

    feeder = threading.Thread(target=feed)
    feeder.start()
    out = io.StringIO()
    try:
        status = StreamWorker({**SETTINGS, "dir": str(tmp), **overrides}, Events(out)).run(reader)
    finally:
        feeder.join()
        reader.close()
    return status, [json.loads(line) for line in out.getvalue().splitlines()]


def probe_segment(init: bytes, data: bytes) -> dict[str, Any]:
    """What a player finds in a segment: codecs, the video's span, and how many samples of each track decode."""
    with av.open(io.BytesIO(init + data)) as container:  # packets must not outlive their container
        codecs = sorted(s.codec_context.name for s in container.streams)
        found: dict[str, list[Any]] = {"video": [], "audio": []}
        decoded = {"video": 0, "audio": 0}
        for p in container.demux():
            if p.dts is not None:
                kind = p.stream.type
                found[kind].append((p.pts * p.time_base, p.duration * p.time_base, bool(p.is_keyframe)))
                decoded[kind] += len(p.decode())  # a player decodes: demuxing alone misses a bad sample format
    video = found["video"]
    (first, _, key_first), (last, last_duration, _) = (video[0], video[-1]) if video else ((0, 0, True),) * 2
    return {"codecs": codecs, "key_first": key_first, "span": float(last + last_duration - first),
            "audio": len(found["audio"]), "video": len(video), "decoded": decoded["video"],
            "decoded_audio": decoded["audio"]}  # fmt: skip


def check_hls_output(directory: Path, events: list[dict[str, Any]], seconds: float, *, audio: bool = True,
                     max_span: float = 2.04) -> Playlist:  # fmt: skip
    """The worker's parts and segments make an RFC 8216 playlist of ``seconds``; each segment is its parts, starts
    on an IDR picture, holds H.264 as MSE takes it (length-prefixed NAL units), and every sample decodes.
    ``max_span``: the longest segment expected (passed-through H.264 is cut on the sender's keyframes)."""
    assert events[-1] == {"type": "end"}, events[-3:]
    init = (directory / "init0.mp4").read_bytes()
    playlist = MediaPlaylist(target_duration=2, window=10, part_target=0.5, map_uri="init0.mp4")
    for event in events:
        if event["type"] == "part":
            playlist.add_part(event["uri"], event["duration"], independent=event["independent"])
            tracks = {run.track_id for run in read_fragments((directory / event["uri"]).read_bytes())}
            assert tracks == ({1, 2} if audio else {1}), event  # each part holds both tracks (MSE buffers both)
        elif event["type"] == "segment":
            playlist.add_segment(event["uri"], event["duration"])
            parts = b"".join((directory / f"{event['msn']}.{i}.m4s").read_bytes() for i in range(8)
                             if (directory / f"{event['msn']}.{i}.m4s").exists())  # fmt: skip
            data = (directory / event["uri"]).read_bytes()
            assert data == parts  # a segment is its parts
            probe = probe_segment(init, data)
            assert probe["codecs"] == (["aac", "h264"] if audio else ["h264"]) and probe["key_first"], probe
            # What a browser's MSE takes: H.264 as length-prefixed NAL units (FFmpeg's demuxer above would
            # also read start codes), a segment opening with an IDR picture (type 5).
            video = [run for run in read_fragments(data) if run.track_id == 1]
            framing = [nal_types(sample) for run in video for sample in run.samples]
            assert all(types for types in framing), framing
            assert 5 in framing[0] and all({1, 5} & set(types) for types in framing), framing
            assert probe["span"] <= max_span and (probe["audio"] > 0) == audio, probe
            assert probe["decoded"] == probe["video"], probe  # every sample decodes on its own segment
            assert probe["decoded_audio"] == probe["audio"], probe
    playlist.end()
    parsed = check(playlist.render())
    assert sum(s.duration for s in parsed.segments) == pytest.approx(seconds, abs=0.1)
    return parsed


def damage(pieces: list[bytes], data: Any, header: int) -> list[bytes]:
    """A stream's chunks damaged as hypothesis draws: one truncated, two swapped, random bytes inserted, or
    bits flipped anywhere after the first ``header`` bytes (which keep the stream recognisable)."""
    pieces = list(pieces)
    kind = data.draw(st.sampled_from(["truncate", "reorder", "random", "flip"]))
    if kind == "truncate":
        index = data.draw(st.integers(1, len(pieces) - 1))
        pieces[index] = pieces[index][: data.draw(st.integers(0, len(pieces[index])))]
    elif kind == "reorder":
        i, j = data.draw(st.integers(1, len(pieces) - 1)), data.draw(st.integers(1, len(pieces) - 1))
        pieces[i], pieces[j] = pieces[j], pieces[i]
    elif kind == "random":
        pieces.insert(data.draw(st.integers(1, len(pieces))), data.draw(st.binary(min_size=1, max_size=3000)))
    else:
        joined = bytearray(b"".join(pieces))
        for _ in range(data.draw(st.integers(1, 20))):
            joined[data.draw(st.integers(header, len(joined) - 1))] ^= data.draw(st.integers(1, 255))
        pieces = [bytes(joined)]
    return pieces
