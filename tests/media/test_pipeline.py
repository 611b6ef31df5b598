"""The media pipeline without the server: fMP4 fragments, the segmenter's cuts, and the worker run in-process
over WebM made by PyAV (VP8/Opus, VP9/Opus, H.264/Opus, AV1/Opus), its output decoded by PyAV (fragmented MP4
in: ``test_mp4_ingest.py``)."""

from __future__ import annotations

import io
import itertools
import struct
import tempfile
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from altegon_rt.media import FATAL_EXIT
from altegon_rt.media.fmp4 import Sample, TrackRun, boxes, fragment
from altegon_rt.media.playlist import MediaPlaylist
from altegon_rt.media.segmenter import AUDIO_GIVE_UP_S, AUDIO_WAIT_S, PartReady, Segmenter, SegmentReady
from altegon_rt.media.transcode import Transcoder, TranscodeSettings
from altegon_rt.rtc.depacketize import length_prefixed
from tests.media.fragments import read_fragments
from tests.media.hls_rules import check
from tests.media.webm import chunks, make_webm
from tests.media.worker_runs import check_hls_output, damage, run_worker


# -- fMP4 -------------------------------------------------------------------------------------------------------
def test_fragment_layout_points_each_run_at_its_bytes() -> None:
    video = [Sample(b"V" * 10, 0, 0, 512, True), Sample(b"v" * 7, 512, 1024, 512, False)]
    audio = [Sample(b"A" * 5, 0, 0, 1024, True)]
    data = fragment(9, [TrackRun(1, video), TrackRun(2, audio), TrackRun(3, [])])
    (moof_kind, moof), (mdat_kind, mdat) = list(boxes(data))
    assert (moof_kind, mdat_kind) == (b"moof", b"mdat") and len(moof) + len(mdat) == len(data)
    assert mdat[8:] == b"V" * 10 + b"v" * 7 + b"A" * 5
    assert struct.unpack_from(">I", moof, 20)[0] == 9  # mfhd sequence number
    offsets = [struct.unpack_from(">i", moof, i + 16)[0] for i in range(len(moof)) if moof[i + 4 : i + 8] == b"trun"]
    assert [data[o : o + 1] for o in offsets] == [b"V", b"A"]  # the empty run is left out
    assert b"\x00\x00\x02\x00" in moof  # the composition offset 512 of the second video sample
    with pytest.raises(ValueError, match="at least one sample"):
        fragment(1, [TrackRun(1, [])])


def test_boxes_stop_at_a_truncated_box() -> None:
    data = fragment(1, [TrackRun(1, [Sample(b"x" * 100, 0, 0, 1, True)])])
    assert [k for k, _ in boxes(data[:-1])] == [b"moof"]
    assert list(boxes(b"\x00\x00\x00\x04abcd")) == []


def test_annex_b_access_units_become_length_prefixed_nal_units() -> None:
    annex_b = b"\x00\x00\x00\x01\x67AB\x00\x00\x01\x68C\x00\x00\x00\x00\x01\x65DEF\x00\x00"
    assert length_prefixed(annex_b) == b"\x00\x00\x00\x03\x67AB\x00\x00\x00\x02\x68C\x00\x00\x00\x04\x65DEF"
    assert length_prefixed(b"junk\x00\x00\x01\x09\xf0") == b"\x00\x00\x00\x02\x09\xf0"
    assert length_prefixed(b"") == b"" and length_prefixed(b"\x00\x00\x01") == b""


def _escaped(payload: bytes) -> bytes:
    """``payload`` with H.264's emulation prevention: no 00 00 0x (x <= 3) inside, no trailing zero."""
    out = bytearray()
    for byte in payload:
        if len(out) >= 2 and out[-1] == 0 and out[-2] == 0 and byte <= 3:
            out.append(3)
        out.append(byte)
    return bytes(out) + (b"\x80" if out.endswith(b"\x00") else b"")


@given(st.lists(st.tuples(st.integers(1, 23), st.binary(max_size=40), st.booleans()), min_size=1, max_size=8))
def test_any_annex_b_stream_converts_back_to_its_nal_units(units: list[tuple[int, bytes, bool]]) -> None:
    nals = [bytes([0x60 | kind]) + _escaped(payload) for kind, payload, _ in units]
    stream = b"".join((b"\x00\x00\x00\x01" if long else b"\x00\x00\x01") + nal
                      for nal, (_, _, long) in zip(nals, units, strict=True))  # fmt: skip
    assert length_prefixed(stream) == b"".join(struct.pack(">I", len(nal)) + nal for nal in nals)


# -- segmenter --------------------------------------------------------------------------------------------------
def _feed(segmenter: Segmenter, frames: int, fps: int, gop: int, *, audio: bool = True, audio_lead_ms: int = 300,
          audio_until_ms: int | None = None, flush: bool = True) -> list[Any]:  # fmt: skip
    """Video frames (no durations, as WebM's) and AAC frames pushed ``audio_lead_ms`` ahead of the video (300:
    as Chrome's; negative: behind, as after the Opus → AAC encoder)."""
    out: list[Any] = []
    audio_next = 0
    for i in range(frames):
        t = i * 1000 // fps
        while audio and audio_next * 1024 * 1000 // 48000 <= min(t + audio_lead_ms, audio_until_ms or t + 10**6):
            out += segmenter.push_audio(Sample(b"a", audio_next * 1024, audio_next * 1024, 1024, True))
            audio_next += 1
        out += segmenter.push_video(Sample(b"v", t, t, 0, i % gop == 0))
    return out + segmenter.flush() if flush else out


def test_segments_cut_on_keyframes_at_the_target_and_parts_at_most_the_part_target() -> None:
    segmenter = Segmenter(video=(1, 1000), audio=(2, 48000), target_s=2.0, max_segment_s=2.49, part_s=0.5)
    out = _feed(segmenter, 30 * 7, 30, 60)
    segments = [o for o in out if isinstance(o, SegmentReady)]
    assert [round(s.duration_s, 2) for s in segments] == [2.0, 2.0, 2.0, 1.0]
    parts = [o for o in out if isinstance(o, PartReady)]
    assert all(0.49 <= p.duration_s <= 0.5 for p in parts) and len(parts) == 14
    assert [p.independent for p in parts if p.index == 0] == [True] * 4
    playlist = MediaPlaylist(target_duration=2, window=10, part_target=0.5, map_uri="init0.mp4")
    for o in out:
        if isinstance(o, PartReady):
            playlist.add_part(f"{o.msn}.{o.index}.m4s", o.duration_s, independent=o.independent)
        else:
            playlist.add_segment(f"{o.msn}.m4s", o.duration_s)
    playlist.end()
    check(playlist.render())


def test_parts_join_without_gaps_on_each_track() -> None:
    """WebM gives no sample durations: a part's last frame must last until the next part's first, or a browser's
    MSE sees a gap there and drops every frame up to the next keyframe (hls.js showed ~7 of 30 frames/s)."""
    segmenter = Segmenter(video=(1, 1000), audio=(2, 48000), target_s=2.0, max_segment_s=2.49, part_s=0.5)
    parts = [o for o in _feed(segmenter, 30 * 5, 30, 60) if isinstance(o, PartReady)]
    video = [run for part in parts for run in read_fragments(part.data) if run.track_id == 1]
    assert len(video) >= 10
    for before, after in itertools.pairwise(video):
        assert before.end_time == after.base_time, (before, after)
    assert all(d > 0 for run in video for d in run.durations)


def _track_ends(part: PartReady) -> dict[int, float]:
    """The end of each track's samples in the part, in seconds."""
    return {run.track_id: run.end_time / (1000, 48000)[run.track_id - 1] for run in read_fragments(part.data)}


def test_late_audio_is_waited_for_so_both_tracks_reach_each_parts_end() -> None:
    """Audio 40 ms behind the video (the Opus → AAC path): a part goes out once its audio reaches its end, so
    a browser's buffer (what both tracks cover) reaches the part's listed end."""
    segmenter = Segmenter(video=(1, 1000), audio=(2, 48000), target_s=2.0, max_segment_s=2.49, part_s=0.5)
    parts = [o for o in _feed(segmenter, 30 * 5, 30, 60, audio_lead_ms=-40) if isinstance(o, PartReady)]
    for part in parts[:-1]:
        ends = _track_ends(part)
        assert ends[2] >= ends[1] - 0.001, (part.msn, part.index, ends)
        assert ends[1] == pytest.approx(part.start_s + part.duration_s, abs=0.001)


def test_a_part_waits_for_audio_that_stops_only_so_long() -> None:
    segmenter = Segmenter(video=(1, 1000), audio=(2, 48000), target_s=2.0, max_segment_s=2.49, part_s=0.5)
    frames = 30 * 4
    out = _feed(segmenter, frames, 30, 60, audio_lead_ms=0, audio_until_ms=1000, flush=False)
    # While the source has more to give, parts wait (up to AUDIO_GIVE_UP_S) for the audio to catch up.
    assert max(o.start_s + o.duration_s for o in out if isinstance(o, PartReady)) <= 1.0 + 1e-9
    out += segmenter.idle()  # everything sent so far has been read: the audio is not coming
    parts = [o for o in out if isinstance(o, PartReady)]
    last_video_s = (frames - 1) / 30
    # Every part that ended AUDIO_WAIT_S before the last frame is out, with or without audio.
    assert parts and parts[-1].start_s + parts[-1].duration_s >= last_video_s - AUDIO_WAIT_S - 0.5
    assert 2 not in _track_ends(parts[-1])  # no audio after 1 s
    assert [o.msn for o in out if isinstance(o, SegmentReady)] == [0]
    more: list[Any] = []  # six more seconds of video, never idle: parts are given up on after AUDIO_GIVE_UP_S
    for i in range(frames, frames + 30 * 6):
        more += segmenter.push_video(Sample(b"v", i * 1000 // 30, i * 1000 // 30, 0, i % 60 == 0))
    published = [o.start_s + o.duration_s for o in more if isinstance(o, PartReady)]
    assert published and max(published) == pytest.approx((frames + 30 * 6 - 1) / 30 - AUDIO_GIVE_UP_S, abs=0.5)


def test_mp4_fragments_video_before_audio_still_make_parts_with_both() -> None:
    """A fragmented MP4 read in file order gives each fragment's video (here a second of it) before its audio:
    the parts wait for that audio, so each part's audio reaches its end."""
    segmenter = Segmenter(video=(1, 1000), audio=(2, 48000), target_s=2.0, max_segment_s=2.49, part_s=0.5)
    out: list[Any] = []
    audio_next = 0
    for second in range(6):
        for i in range(second * 30, second * 30 + 30):
            out += segmenter.push_video(Sample(b"v", i * 1000 // 30, i * 1000 // 30, 0, i % 60 == 0))
        while audio_next * 1024 < (second + 1) * 48000:
            out += segmenter.push_audio(Sample(b"a", audio_next * 1024, audio_next * 1024, 1024, True))
            audio_next += 1
        out += segmenter.idle()
    parts = [o for o in out + segmenter.flush() if isinstance(o, PartReady)]
    assert len(parts) == 12
    for part in parts:
        ends = _track_ends(part)
        assert ends[2] >= ends[1] - 0.001 and ends[1] == pytest.approx(part.start_s + part.duration_s, abs=0.001)


def test_sparse_source_keyframes_never_make_a_segment_longer_than_allowed() -> None:
    """H.264 passed through with a keyframe every 5 s: cut without one rather than break TARGETDURATION."""
    segmenter = Segmenter(video=(1, 1000), audio=None, target_s=2.0, max_segment_s=2.49, part_s=0.5)
    out = _feed(segmenter, 30 * 12, 30, 150, audio=False)
    segments = [o for o in out if isinstance(o, SegmentReady)]
    assert segments and all(s.duration_s < 2.5 for s in segments)
    first_parts = [o for o in out if isinstance(o, PartReady) and o.index == 0]
    # Keyframes at 0, 5 and 10 s; cuts at 0, ~2.47, ~4.93 (forced, just before the keyframe) and 5.0.
    assert [p.independent for p in first_parts][:4] == [True, False, False, True]
    assert all(p.independent == (round(p.start_s, 3) % 5 == 0) for p in first_parts)


def test_audio_only_stream_is_cut_on_audio_time() -> None:
    segmenter = Segmenter(video=None, audio=(1, 48000), target_s=2.0, max_segment_s=2.49, part_s=0.5)
    out: list[Any] = []
    for n in range(47 * 5):
        out += segmenter.push_audio(Sample(b"a", n * 1024, n * 1024, 1024, True))
    out += segmenter.flush()
    durations = [o.duration_s for o in out if isinstance(o, SegmentReady)]
    assert len(durations) == 3 and all(1.9 < d <= 2.01 for d in durations[:2])


# -- the worker, in-process -------------------------------------------------------------------------------------
@pytest.mark.parametrize("codec", ["vp8", "vp9", "h264", "av1"])
def test_worker_makes_ll_hls_from_webm(tmp_path: Path, codec: str) -> None:
    status, events = run_worker(tmp_path, make_webm(codec, 7.0))
    assert status == 0 and events[0] == {"type": "init", "uri": "init0.mp4", "passthrough": codec == "h264",
                                         "audio_passthrough": False}  # fmt: skip
    parsed = check_hls_output(tmp_path, events, 7.0)
    assert len(parsed.segments) == 4


def test_resumed_worker_skips_what_was_published(tmp_path: Path) -> None:
    status, events = run_worker(tmp_path, make_webm("vp8", 5.0), resume_after_s=2.0, first_msn=7, generation=1)
    assert status == 0 and events[0]["uri"] == "init1.mp4"
    parts = [e for e in events if e["type"] == "part"]
    assert parts[0]["msn"] == 7 and parts[0]["start"] >= 2.0 and parts[0]["independent"]


def test_garbage_is_a_fatal_media_error(tmp_path: Path) -> None:
    status, events = run_worker(tmp_path, b"\x1a\x45\xdf\xa3" + bytes(range(256)) * 40)
    assert status == FATAL_EXIT and events[-1]["type"] == "fatal" and events[-1]["code"] == "invalid_media"


def test_an_unknown_codec_id_is_a_fatal_media_error(tmp_path: Path) -> None:
    """A codec id FFmpeg does not know gives a stream without a codec context (found by the fuzz test below)."""
    webm = make_webm("vp8", 1.0, audio=False)
    assert webm.count(b"V_VP8") == 1
    status, events = run_worker(tmp_path, webm.replace(b"V_VP8", b"V^VP8"))
    assert status == FATAL_EXIT and events[-1]["type"] == "fatal" and events[-1]["code"] == "unsupported_codec"


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_damaged_streams_end_in_events_never_in_an_exception(tmp_path: Path, data: st.DataObject) -> None:
    webm = bytearray(make_webm("vp8", 2.0, audio=data.draw(st.booleans())))
    pieces = chunks(bytes(webm), 6)
    pieces = damage(pieces, data, header=200)
    directory = Path(tempfile.mkdtemp(dir=tmp_path))
    status, events = run_worker(directory, b"".join(pieces))
    assert status in (0, FATAL_EXIT)
    assert events and events[-1]["type"] in ("end", "fatal")
    assert all(e["type"] in ("init", "part", "segment", "error", "end", "fatal") for e in events)


def test_a_decoded_frame_without_a_time_base_is_timed_by_its_stream() -> None:
    """Found by the MP4 fuzz test: Opus's decoder, flushed at the end after damaged packets, gave a frame with
    a pts and no time base, which raised a TypeError out of the worker."""
    with av.open(io.BytesIO(make_webm("vp8", 0.5))) as container:
        transcoder = Transcoder(container, TranscodeSettings())
        frame = av.AudioFrame.from_ndarray(np.zeros((2, 960), np.float32), format="fltp", layout="stereo")
        frame.sample_rate, frame.pts = 48000, 48000
        assert frame.time_base is None
        transcoder._encode_audio(frame)
        assert frame.time_base == container.streams.audio[0].time_base
        picture = av.VideoFrame(320, 240, "yuv420p")
        picture.pts = 30
        transcoder._encode_video(picture)
        assert picture.time_base == container.streams.video[0].time_base
