"""Fragmented MP4 in (what Safari's and newer Chrome's MediaRecorder write with ``video/mp4``): the stream's
worker run in-process over MP4 made by PyAV (``frag_keyframe+empty_moov+default_base_moof``) and fed in
chunks, its LL-HLS output decoded by PyAV; and which ``mimeType`` s and first bytes a stream is taken with."""

from __future__ import annotations

import io
import json
import tempfile
import threading
from pathlib import Path
from typing import Any

import av
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from altegon_rt.media import FATAL_EXIT
from altegon_rt.media.ingest import GrowingFile
from altegon_rt.media.source import MP4, WEBM, parse_mime_type
from altegon_rt.media.worker import Events, StreamWorker
from tests.media.fragments import read_fragments
from tests.media.webm import chunks, make_mp4, make_webm
from tests.media.worker_runs import SETTINGS, check_hls_output, damage, run_worker


# -- mimeType and first bytes -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("mime", "source"),
    [("video/mp4", MP4), ("video/mp4;codecs=avc1,mp4a.40.2", MP4), ('video/mp4; codecs="avc1.42E01E, mp4a.40.2"', MP4),
     ("video/mp4;codecs=vp9,opus", MP4), ("video/mp4;codecs=vp09.00.10.08,opus", MP4), ("VIDEO/MP4;codecs=av01", MP4),
     ("audio/mp4;codecs=mp4a.40.2", MP4), ("audio/mp4;codecs=opus", MP4), ("video/mp4;codecs=h264,aac", MP4),
     ("video/mp4;codecs=avc3,opus", MP4),
     ("video/webm;codecs=vp8,opus", WEBM), ("video/x-matroska;codecs=avc1", WEBM), ("video/webm;codecs=av1", WEBM)],
)  # fmt: skip
def test_mime_types_name_the_container(mime: str, source: Any) -> None:
    assert parse_mime_type(mime) is source


@pytest.mark.parametrize(
    ("mime", "codec"),
    [("video/mp4;codecs=hvc1", "hvc1"), ("video/mp4;codecs=avc1,mp4a.40.34", "mp4a.40.34"),
     ("video/mp4;codecs=vp8", "vp8"), ("video/webm;codecs=vp8,mp4a.40.2", "mp4a.40.2")],
)  # fmt: skip
def test_codecs_we_cannot_ingest_are_named(mime: str, codec: str) -> None:
    with pytest.raises(ValueError, match=f"codec '{codec}'.*video/mp4 with avc1"):
        parse_mime_type(mime)
    with pytest.raises(ValueError, match="'video/quicktime' is not supported: send video/webm"):
        parse_mime_type("video/quicktime")


def test_a_stream_starts_with_its_containers_first_bytes_however_it_is_chunked() -> None:
    mp4, webm = make_mp4("h264", "aac", 0.2), make_webm("vp8", 0.2)
    assert mp4[4:8] == b"ftyp"
    for n in range(9):
        assert MP4.accepts_head(mp4[:n]) and WEBM.accepts_head(webm[:n])
    assert not MP4.accepts_head(webm[:8]) and not WEBM.accepts_head(mp4[:8])
    assert not MP4.accepts_head(b"\x00\x00\x00\x18moov") and not MP4.accepts_head(b"\x01")
    assert MP4.accepts_head(mp4[:8] + b"anything after")


# -- the worker over fragmented MP4 ------------------------------------------------------------------------------
@pytest.mark.parametrize(("video", "audio"), [("h264", "aac"), ("h264", "opus"), ("vp9", "opus"), ("av1", "opus")])
def test_worker_makes_ll_hls_from_fragmented_mp4(tmp_path: Path, video: str, audio: str) -> None:
    status, events = run_worker(tmp_path, make_mp4(video, audio, 7.0), pieces=12, format="mp4")
    assert status == 0 and events[0] == {"type": "init", "uri": "init0.mp4", "passthrough": video == "h264",
                                         "audio_passthrough": audio == "aac"}  # fmt: skip
    assert len(check_hls_output(tmp_path, events, 7.0).segments) == 4


def test_what_chromium_records_as_mp4_becomes_ll_hls(tmp_path: Path) -> None:
    """A real recording (tests/data/README.md): Opus before H.264 in each fragment, a 1/20000 video timescale."""
    recording = (Path(__file__).parents[1] / "data" / "chromium-avc1-opus.mp4").read_bytes()
    status, events = run_worker(tmp_path, recording, pieces=40, format="mp4")
    assert status == 0 and events[0] == {"type": "init", "uri": "init0.mp4", "passthrough": True,
                                         "audio_passthrough": False}  # fmt: skip
    parsed = check_hls_output(tmp_path, events, 4.2, max_span=2.49)
    assert [s.duration for s in parsed.segments] == pytest.approx([2.09, 2.1], abs=0.02)  # at its keyframes


def test_h264_and_aac_from_mp4_are_passed_through_sample_for_sample(tmp_path: Path) -> None:
    source = make_mp4("h264", "aac", 3.0)
    status, events = run_worker(tmp_path, source, format="mp4")
    assert status == 0
    with av.open(io.BytesIO(source)) as container:
        sent: dict[str, list[bytes]] = {"video": [], "audio": []}
        for packet in container.demux():
            if packet.dts is not None:
                sent[packet.stream.type].append(bytes(packet))
    made: dict[int, list[bytes]] = {1: [], 2: []}
    for event in events:
        if event["type"] == "segment":
            for run in read_fragments((tmp_path / event["uri"]).read_bytes()):
                made[run.track_id] += run.samples
    assert made[1] == sent["video"] and made[2] == sent["audio"]


@pytest.mark.parametrize(("video", "audio"), [(None, "aac"), ("h264", None)])
def test_mp4_with_one_track(tmp_path: Path, video: str | None, audio: str | None) -> None:
    status, events = run_worker(tmp_path, make_mp4(video, audio, 5.0), format="mp4")
    assert status == 0 and events[-1] == {"type": "end"}
    segments = [e for e in events if e["type"] == "segment"]
    assert sum(e["duration"] for e in segments) == pytest.approx(5.0, abs=0.05)
    if video:
        check_hls_output(tmp_path, events, 5.0, audio=False)
    init = (tmp_path / "init0.mp4").read_bytes()
    with av.open(io.BytesIO(init + (tmp_path / segments[0]["uri"]).read_bytes())) as container:
        assert [s.codec_context.name for s in container.streams] == [video or audio]
        assert sum(len(p.decode()) for p in container.demux() if p.dts is not None) >= 60


class _Lines(io.StringIO):
    """The worker's events as they are written, for a test that waits for one."""

    def __init__(self) -> None:
        super().__init__()
        self.events: list[dict[str, Any]] = []
        self.changed = threading.Condition()

    def write(self, text: str) -> int:
        with self.changed:
            self.events += [json.loads(line) for line in text.splitlines()]
            self.changed.notify_all()
        return len(text)


def test_parts_come_out_while_the_mp4_grows(tmp_path: Path) -> None:
    """The mp4 demuxer reads each fragment as it arrives (no seeking, no reading ahead to the end)."""
    pieces = chunks(make_mp4("h264", "aac", 6.0), 12)
    source = tmp_path / "source.mp4"
    source.write_bytes(b"")
    reader, lines = GrowingFile(source), _Lines()
    worker = threading.Thread(target=lambda: StreamWorker({**SETTINGS, "dir": str(tmp_path), "format": "mp4"},
                                                          Events(lines)).run(reader))  # fmt: skip
    worker.start()
    try:
        with source.open("ab") as fh:
            fh.write(b"".join(pieces[:6]))  # three seconds, about
        reader.grow(source.stat().st_size)
        with lines.changed:
            lines.changed.wait_for(lambda: any(e["type"] == "segment" for e in lines.events), timeout=20)
        published = [e for e in lines.events if e["type"] == "part"]
        assert published and published[-1]["start"] + published[-1]["duration"] >= 2.0, lines.events
        assert not any(e["type"] in ("end", "fatal") for e in lines.events)
        with source.open("ab") as fh:
            fh.write(b"".join(pieces[6:]))
        reader.grow(source.stat().st_size)
    finally:
        reader.finish()
        worker.join(timeout=30)
        reader.close()
    assert lines.events[-1] == {"type": "end"}
    assert sum(e["duration"] for e in lines.events if e["type"] == "segment") == pytest.approx(6.0, abs=0.05)


def test_hevc_in_mp4_is_a_fatal_unsupported_codec(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mp4", options={"movflags": "frag_keyframe+empty_moov"}) as out:
        stream = out.add_stream("libx265", rate=30, options={"x265-params": "log-level=none"})
        stream.width, stream.height, stream.pix_fmt = 64, 64, "yuv420p"
        for i in range(10):
            frame = av.VideoFrame(64, 64, "yuv420p")
            frame.pts = i
            out.mux(stream.encode(frame))
        out.mux(stream.encode())
    status, events = run_worker(tmp_path, buffer.getvalue(), format="mp4")
    assert status == FATAL_EXIT and events[-1]["code"] == "unsupported_codec", events
    assert "hevc is not VP8, VP9, AV1 or H.264" in events[-1]["message"]


def test_an_mp4_that_is_not_one_is_a_fatal_media_error(tmp_path: Path) -> None:
    status, events = run_worker(tmp_path, b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 40, format="mp4")
    assert status == FATAL_EXIT and events == [
        {"type": "fatal", "code": "invalid_media", "message": events[0]["message"]}
    ]
    assert events[0]["message"].startswith("not an MP4 stream")


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_damaged_mp4_ends_in_events_never_in_an_exception(tmp_path: Path, data: st.DataObject) -> None:
    pieces = chunks(make_mp4("h264", data.draw(st.sampled_from(["aac", "opus"])), 2.0), 6)
    pieces = damage(pieces, data, header=100)
    directory = Path(tempfile.mkdtemp(dir=tmp_path))
    status, events = run_worker(directory, b"".join(pieces), format="mp4")
    assert status in (0, FATAL_EXIT)
    assert events and events[-1]["type"] in ("end", "fatal")
    assert all(e["type"] in ("init", "part", "segment", "error", "end", "fatal") for e in events)
