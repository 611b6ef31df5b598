"""The recording server's disk and worker-protocol pieces (``media/recording.py``), and the composing worker run
as the process the server starts (``python -m altegon_rt.media.compose``) on damaged and audio-only tracks."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import av
import pytest
from hypothesis import given
from hypothesis import strategies as st

from altegon_rt.media.recording import (
    ComposeJob,
    FsyncPolicy,
    ReportReader,
    TrackEntry,
    TrackFile,
    add_to_manifest,
    folder_size,
    next_file_name,
    read_manifest,
    recording_folder,
    track_stem,
)
from tests.media.recording_clips import clip, probe_mp4


def test_fsync_policy_bounds_time_and_bytes() -> None:
    policy = FsyncPolicy(interval_s=2.0, max_bytes=1000)
    assert not policy.due(0.0)
    policy.wrote(10, now=5.0)
    assert not policy.due(6.9) and policy.due(7.0)  # 2 s after the first unsynced byte, not the last
    policy.synced()
    policy.wrote(600, now=8.0)
    assert not policy.due(8.0)
    policy.wrote(400, now=8.1)
    assert policy.due(8.1)  # 1000 bytes
    policy.synced()
    policy.wrote(0, now=20.0)
    assert not policy.due(100.0)  # nothing written, nothing to sync


def test_track_file_appends_in_order_and_syncs_by_the_policy(tmp_path: Path) -> None:
    path = tmp_path / "cam.webm"
    track = TrackFile(path, FsyncPolicy(interval_s=3600, max_bytes=100))
    assert track.open() == 0
    assert [track.append(bytes([i]) * 40) for i in range(3)] == [40, 80, 120]
    assert track.syncs == 1 and track.policy.unsynced == 0  # the third append crossed 100 bytes
    track.append(b"tail")
    track.close()
    assert track.syncs == 2  # close syncs what is left
    again = TrackFile(path, FsyncPolicy(1, 100))
    assert again.open() == 124  # reopened for append, as after a restart
    again.append(b"!")
    again.close()
    assert path.read_bytes() == bytes(40) + b"\x01" * 40 + b"\x02" * 40 + b"tail!"


def test_names_on_disk_never_come_from_client_text(tmp_path: Path) -> None:
    assert recording_folder(tmp_path, "1756364334628_738386") == tmp_path / "1756364334628_738386"
    hashed = recording_folder(tmp_path, "../../etc")
    assert hashed.parent == tmp_path and len(hashed.name) == 64
    assert track_stem("cam-1") == "cam-1"
    odd = track_stem("../screen 2/ü")
    assert odd.startswith("screen_2-") and "/" not in odd and track_stem("../screen 2/ü ") != odd
    entries = [TrackEntry("cam", "cam.webm", 1.0)]
    assert next_file_name(entries, "cam") == "cam.2.webm" and next_file_name(entries, "mic") == "mic.webm"


def test_manifest_keeps_creation_order_and_ignores_foreign_names(tmp_path: Path) -> None:
    folder = tmp_path / "rec"
    assert read_manifest(folder) == [] and folder_size(folder) == 0
    add_to_manifest(folder, TrackEntry("b", "b.webm", 2.0))
    add_to_manifest(folder, TrackEntry("a", "a.webm", 1.0))
    assert [e.video_id for e in read_manifest(folder)] == ["b", "a"]  # as created, not sorted
    raw = json.loads((folder / "tracks.json").read_text())
    raw["tracks"].append({"videoId": "x", "file": "../../secret", "created": 3})
    (folder / "tracks.json").write_text(json.dumps(raw))
    assert [e.file for e in read_manifest(folder)] == ["b.webm", "a.webm"]
    (folder / "a.webm").write_bytes(b"12345")
    (folder / "notes.txt").write_bytes(b"not a track")
    assert folder_size(folder) == 5
    (folder / "tracks.json").write_text("{broken")
    with pytest.raises(ValueError, match="not valid JSON"):
        read_manifest(folder)


REPORTS = [{"event": "progress", "percent": 5}, {"event": "done", "size": 10}]
WIRE = b"".join(json.dumps(r).encode() + b"\n" for r in REPORTS)


def test_report_reader_whole_byte_by_byte_and_with_trailing_bytes() -> None:
    assert ReportReader().feed(WIRE) == REPORTS
    reader = ReportReader()
    assert [r for i in range(len(WIRE)) for r in reader.feed(WIRE[i : i + 1])] == REPORTS
    reader = ReportReader()
    assert reader.feed(WIRE + b'{"event": "pro') == REPORTS and reader.feed(b'gress"}\n') == [{"event": "progress"}]


def test_report_reader_skips_what_is_not_a_report() -> None:
    reader = ReportReader()
    noise = b'plain text\n[1, 2]\n{"percent": 3}\n\n' + b"x" * 70_000 + b"\n" + WIRE
    assert reader.feed(noise) == REPORTS and reader.skipped == 4


@given(st.lists(st.binary(max_size=200), max_size=20))
def test_report_reader_never_raises_on_random_bytes(pieces: list[bytes]) -> None:
    reader = ReportReader()
    for piece in pieces:
        for report in reader.feed(piece):
            assert isinstance(report["event"], str)


def test_compose_job_round_trips() -> None:
    job = ComposeJob(tracks=[("cam", "/a/cam.webm")], output="/a/out.mp4", width=640, height=360, preset="ultrafast")
    assert ComposeJob.from_json(job.to_json()) == job
    grid = ComposeJob([("a", "/a/a.webm"), ("b", "/a/b.webm")], "/a/o.mp4", layout="grid", starts_ms=[0, 1500])
    assert ComposeJob.from_json(grid.to_json()) == grid


@pytest.mark.parametrize(("change", "message"), [
    ({"layout": "mosaic"}, "layout must be one of concat, grid, not 'mosaic'"),
    ({"starts_ms": [0]}, "starts_ms has 1 entries for 2 tracks"),
    ({"fps": 0}, "fps must be 1-60"),
])  # fmt: skip
def test_compose_job_refuses_what_the_worker_cannot_do(change: dict[str, object], message: str) -> None:
    raw = json.loads(ComposeJob([("a", "/a.webm"), ("b", "/b.webm")], "/o.mp4").to_json())
    with pytest.raises(ValueError) as caught:
        ComposeJob.from_json(json.dumps({**raw, **change}))
    assert str(caught.value) == message


def _run_worker(job: ComposeJob) -> tuple[int, list[dict[str, object]]]:
    done = subprocess.run([sys.executable, "-m", "altegon_rt.media.compose"], input=job.to_json(),
                          capture_output=True, timeout=120, check=False)  # fmt: skip
    return done.returncode, [json.loads(line) for line in done.stdout.splitlines()]


@pytest.mark.slow
def test_worker_uses_a_track_cut_by_a_crash_and_shows_black_for_audio_only(tmp_path: Path) -> None:
    whole = clip("libvpx", 192, 108, 2.0)
    cut = tmp_path / "cut.webm"
    cut.write_bytes(whole[: int(len(whole) * 0.6)])  # the server died mid-cluster
    voice = tmp_path / "voice.webm"
    voice.write_bytes(_audio_only(0.5))
    out = tmp_path / "out.mp4"
    job = ComposeJob([("cut", str(cut)), ("voice", str(voice))], str(out), preset="ultrafast", threads=1)
    status, reports = _run_worker(job)
    assert status == 0, reports
    started, done = reports[0], reports[-1]
    assert started["event"] == "started" and (started["width"], started["height"]) == (192, 108)
    assert 0.6 < started["tracks"][0]["durationMs"] / 1000 < 1.6  # what was on disk, not the whole clip
    assert done["event"] == "done" and done["size"] == out.stat().st_size
    probe = probe_mp4(out.read_bytes())
    assert abs(probe.duration_s - done["durationMs"] / 1000) < 0.1 and probe.codecs == ["aac", "h264"]
    assert probe.frames[-1][1] == 16  # the audio-only track shows black


def _audio_only(seconds: float) -> bytes:
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="webm") as out:
        stream = out.add_stream("libopus", rate=48000)
        for i in range(int(seconds * 50)):
            frame = av.AudioFrame(format="s16", layout="stereo", samples=960)
            frame.planes[0].update(bytes(frame.planes[0].buffer_size))
            frame.sample_rate, frame.pts = 48000, i * 960
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return buffer.getvalue()


def test_worker_reports_a_bad_job_and_unreadable_tracks(tmp_path: Path) -> None:
    bad = subprocess.run([sys.executable, "-m", "altegon_rt.media.compose"], input=b"{not json",
                         capture_output=True, timeout=60, check=False)  # fmt: skip
    assert bad.returncode == 2 and json.loads(bad.stdout)["code"] == "bad_job"
    junk = tmp_path / "junk.webm"
    junk.write_bytes(b"\x1a\x45\xdf\xa3" + os.urandom(2000))
    status, reports = _run_worker(ComposeJob([("junk", str(junk))], str(tmp_path / "o.mp4")))
    assert status == 1 and reports[-1]["code"] == "corrupt_track" and reports[-1]["videoId"] == "junk"
    status, reports = _run_worker(ComposeJob([("missing", str(tmp_path / "nope.webm"))], str(tmp_path / "o.mp4")))
    assert status == 1 and reports[-1]["code"] == "corrupt_track"
